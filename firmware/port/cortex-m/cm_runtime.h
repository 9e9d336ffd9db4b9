/* cm_runtime.h - internal helpers shared by the Cortex-M port families. */
#ifndef TB_CM_RUNTIME_H
#define TB_CM_RUNTIME_H

#include <stdint.h>

#ifndef TB_EMULATED
#define TB_EMULATED 0
#endif
#ifndef TB_TICK_NS_NUM
#error "TB_TICK_NS_NUM/TB_TICK_NS_DEN must come from the board file"
#endif

#define TB_CM_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Start the SysTick counter behind tb_port_cycles(); call from tb_port_init. */
void tb_cm_cycles_start(void);

#endif /* TB_CM_RUNTIME_H */
