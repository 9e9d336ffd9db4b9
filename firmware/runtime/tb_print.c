/* tb_print.c - minimal text output (see tb_print.h). */
#include "tb_print.h"

#include <stddef.h>

#include "tb_port.h"

void tb_print(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    tb_port_write((const uint8_t *)s, n);
}

void tb_print_u32(uint32_t v)
{
    char buf[10]; /* 4294967295 has 10 digits */
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u && i > 0);
    tb_port_write((const uint8_t *)&buf[i], (size_t)((int)sizeof buf - i));
}

void tb_print_i32(int32_t v)
{
    if (v < 0) {
        tb_port_putc((uint8_t)'-');
        /* -(v + 1) + 1 avoids overflowing on INT32_MIN */
        tb_print_u32((uint32_t)(-(v + 1)) + 1u);
    } else {
        tb_print_u32((uint32_t)v);
    }
}
