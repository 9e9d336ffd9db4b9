/*
 * tb_port_microbit.c - BBC micro:bit v1 (nRF51822, Cortex-M0) under QEMU:
 * nRF51 UART0.  Start-up, cycles and exit are in ../cortex-m/cm_runtime.c.
 */
#include "tb_port.h"
#include "../cortex-m/cm_runtime.h"

#define UART0 0x40002000u
#define UART_STARTRX TB_CM_REG(UART0 + 0x000u)
#define UART_STARTTX TB_CM_REG(UART0 + 0x008u)
#define UART_RXDRDY TB_CM_REG(UART0 + 0x108u)
#define UART_TXDRDY TB_CM_REG(UART0 + 0x11Cu)
#define UART_ENABLE TB_CM_REG(UART0 + 0x500u)
#define UART_PSELTXD TB_CM_REG(UART0 + 0x50Cu)
#define UART_PSELRXD TB_CM_REG(UART0 + 0x514u)
#define UART_RXD TB_CM_REG(UART0 + 0x518u)
#define UART_TXD TB_CM_REG(UART0 + 0x51Cu)
#define UART_BAUDRATE TB_CM_REG(UART0 + 0x524u)

void tb_port_init(void)
{
    UART_PSELTXD = 24u;         /* micro:bit v1 USB-serial TX pin */
    UART_PSELRXD = 25u;         /* RX pin */
    UART_BAUDRATE = 0x01D7E000u; /* 115200 */
    UART_ENABLE = 4u;
    UART_TXDRDY = 0u;
    UART_STARTTX = 1u;
    UART_STARTRX = 1u;
    tb_cm_cycles_start();
}

void tb_port_putc(uint8_t c)
{
    UART_TXDRDY = 0u;
    UART_TXD = c;
    while (UART_TXDRDY == 0u) {
    }
}

int tb_port_getc(void)
{
    if (UART_RXDRDY) {
        UART_RXDRDY = 0u;
        return (int)(UART_RXD & 0xFFu);
    }
    return -1;
}

void tb_port_write(const uint8_t *buf, size_t n)
{
    while (n--)
        tb_port_putc(*buf++);
}
