/*
 * tb_port_riscv_virt.c - QEMU riscv32 "virt" machine (stand-in for the
 * ESP32-C3 RV32IMC core): NS16550A UART at 0x10000000, minstret/mcycle,
 * exit through the sifive_test device at 0x100000.
 *
 * Compile with -march=rv32imc_zicsr (csrr), link with -march=rv32imc so
 * that gcc picks the rv32im/ilp32 multilib.
 */
#include "tb_port.h"

#ifndef TB_EMULATED
#define TB_EMULATED 0
#endif

#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))
#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

#define UART 0x10000000u
#define UART_RBR REG8(UART + 0u) /* read  */
#define UART_THR REG8(UART + 0u) /* write */
#define UART_DLL REG8(UART + 0u) /* DLAB=1 */
#define UART_IER REG8(UART + 1u)
#define UART_DLM REG8(UART + 1u) /* DLAB=1 */
#define UART_LCR REG8(UART + 3u)
#define UART_LSR REG8(UART + 5u) /* b0 data ready, b5 THR empty */

#define SIFIVE_TEST REG32(0x00100000u)

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

void tb_rv_start(void);
void tb_rv_trap(void);

/* Called from start.S with sp/gp/mtvec set.  Volatile pointers keep gcc
 * from turning the loops into memcpy/memset calls. */
void tb_rv_start(void)
{
    volatile uint32_t *dst;
    const volatile uint32_t *src;
    uint32_t sp;

    for (src = __data_load, dst = __data_start; dst < __data_end;)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end;)
        *dst++ = 0u;
    __asm volatile("mv %0, sp" : "=r"(sp));
    for (dst = __stack_limit; (uintptr_t)dst < sp - 64u;)
        *dst++ = TB_STACK_PAINT;

    tb_port_init();
    tb_port_exit(tb_main());
}

__attribute__((aligned(4))) void tb_rv_trap(void)
{
    static const char msg[] = "\ntb: fault\n";
    tb_port_write((const uint8_t *)msg, sizeof msg - 1u);
    tb_port_exit(TB_EXIT_FAULT);
}

void tb_port_init(void)
{
    UART_IER = 0x00u;
    UART_LCR = 0x80u; /* DLAB */
    UART_DLL = 0x01u;
    UART_DLM = 0x00u;
    UART_LCR = 0x03u; /* 8N1 */
    /* FCR is left alone (FIFO off, as after reset): in QEMU, changing the
     * FIFO-enable bit clears the receiver and would drop a byte the host sent
     * before this point.  Without FIFO QEMU holds further input back. */
}

void tb_port_putc(uint8_t c)
{
    while ((UART_LSR & 0x20u) == 0u) {
    }
    UART_THR = c;
}

int tb_port_getc(void)
{
    if (UART_LSR & 0x01u)
        return (int)UART_RBR;
    return -1;
}

void tb_port_write(const uint8_t *buf, size_t n)
{
    while (n--)
        tb_port_putc(*buf++);
}

#if TB_EMULATED
/* QEMU -icount shift=0: minstret is the exact retired-instruction count. */
const char tb_port_cycles_kind[] = "instructions";
uint32_t tb_port_cycles(void)
{
    uint32_t v;
    __asm volatile("csrr %0, minstret" : "=r"(v));
    return v;
}
#else
const char tb_port_cycles_kind[] = "cycles";
uint32_t tb_port_cycles(void)
{
    uint32_t v;
    __asm volatile("csrr %0, mcycle" : "=r"(v));
    return v;
}
#endif

uint32_t tb_port_stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == TB_STACK_PAINT)
        p++;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

uint32_t tb_port_stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
}

void tb_port_exit(int code)
{
    /* sifive_test: 0x5555 = pass (QEMU exits 0), (code << 16) | 0x3333 =
     * fail (QEMU exits with code). */
    SIFIVE_TEST = code == 0 ? 0x5555u : (((uint32_t)code << 16) | 0x3333u);
    for (;;) {
    }
}
