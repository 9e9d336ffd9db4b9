/*
 * tb_print.h - minimal text output over the port's serial line (no printf, no libc formatting).
 * Portable C99: everything goes through tb_port_write().
 */
#ifndef TB_PRINT_H
#define TB_PRINT_H

#include <stdint.h>

void tb_print(const char *s);
void tb_print_u32(uint32_t v);
void tb_print_i32(int32_t v);

#endif /* TB_PRINT_H */
