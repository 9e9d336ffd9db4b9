/*
 * tb_port_mps2.c - ARM MPS2/MPS3 FPGA boards under QEMU (mps2-an385/386/500,
 * mps2-an505, mps3-an547): CMSDK APB UART0.  Start-up, cycles and exit are
 * in ../cortex-m/cm_runtime.c.
 *
 * TB_MPS2_UART0 (board file "defines") is the UART0 base address; on the
 * TrustZone machines (an505, an547) the secure alias is used because the
 * core starts in secure state.
 */
#include "tb_port.h"
#include "../cortex-m/cm_runtime.h"

#ifndef TB_MPS2_UART0
#error "TB_MPS2_UART0 must come from the board file"
#endif

#define UART_DATA TB_CM_REG(TB_MPS2_UART0 + 0x00u)
#define UART_STATE TB_CM_REG(TB_MPS2_UART0 + 0x04u) /* b0 TX full, b1 RX full */
#define UART_CTRL TB_CM_REG(TB_MPS2_UART0 + 0x08u)  /* b0 TX en, b1 RX en */
#define UART_BAUDDIV TB_CM_REG(TB_MPS2_UART0 + 0x10u)

void tb_port_init(void)
{
    UART_BAUDDIV = 16u; /* any value >= 16; QEMU ignores the rate */
    UART_CTRL = 3u;     /* TX and RX enable: without it nothing moves */
    tb_cm_cycles_start();
}

void tb_port_putc(uint8_t c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = c;
}

int tb_port_getc(void)
{
    if (UART_STATE & 2u)
        return (int)(UART_DATA & 0xFFu);
    return -1;
}

void tb_port_write(const uint8_t *buf, size_t n)
{
    while (n--)
        tb_port_putc(*buf++);
}
