/*
 * cm_runtime.c - Cortex-M start-up and core services shared by the emulated
 * Cortex-M port families (mps2, microbit).
 *
 * Provides: vector table (core exceptions only), Reset_Handler, fault
 * handler, SysTick-based tb_port_cycles(), semihosting tb_port_exit(),
 * stack painting and tb_port_stack_used().
 * The family file provides tb_port_init/putc/getc/write and must call
 * tb_cm_cycles_start() from tb_port_init().
 *
 * Linker symbols (see cortex-m-sections.ld):
 *   __data_load  .data image in flash      __data_start/__data_end  in RAM
 *   __bss_start/__bss_end                   __stack_limit/__stack_top
 */
#include "tb_port.h"
#include "cm_runtime.h"

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

void Reset_Handler(void);
void tb_cm_fault_handler(void);
void SysTick_Handler(void);

/* ---- vector table: core exceptions only, no device IRQ is enabled ---- */
typedef void (*tb_vector_t)(void);

__attribute__((section(".isr_vector"), used))
const tb_vector_t tb_cm_vectors[16] = {
    (tb_vector_t)(uintptr_t)__stack_top, /* 0  initial MSP */
    Reset_Handler,                       /* 1  reset */
    tb_cm_fault_handler,                 /* 2  NMI */
    tb_cm_fault_handler,                 /* 3  HardFault */
    tb_cm_fault_handler,                 /* 4  MemManage */
    tb_cm_fault_handler,                 /* 5  BusFault */
    tb_cm_fault_handler,                 /* 6  UsageFault */
    tb_cm_fault_handler,                 /* 7  SecureFault (v8-M) */
    0, 0, 0,                             /* 8-10 reserved */
    tb_cm_fault_handler,                 /* 11 SVCall */
    tb_cm_fault_handler,                 /* 12 DebugMonitor */
    0,                                   /* 13 reserved */
    tb_cm_fault_handler,                 /* 14 PendSV */
    SysTick_Handler,                     /* 15 SysTick */
};

/* ---- start-up ----
 * The loops use volatile pointers so that gcc cannot turn them into
 * memcpy/memset calls (-ftree-loop-distribute-patterns). */
void Reset_Handler(void)
{
    volatile uint32_t *dst;
    const volatile uint32_t *src;
    uint32_t sp;

    for (src = __data_load, dst = __data_start; dst < __data_end;)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end;)
        *dst++ = 0u;

    /* Paint the stack below the current frame (keep a 64-byte margin). */
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (dst = __stack_limit; (uintptr_t)dst < sp - 64u;)
        *dst++ = TB_STACK_PAINT;

#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Stack overflow faults instead of silently corrupting .bss. */
    __asm volatile("msr msplim, %0" : : "r"(__stack_limit));
#endif
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU, MVE) before any FP code. */
    TB_CM_REG(0xE000ED88u) |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif

    tb_port_init();
    tb_port_exit(tb_main());
}

void tb_cm_fault_handler(void)
{
    static const char msg[] = "\ntb: fault\n";
    tb_port_write((const uint8_t *)msg, sizeof msg - 1u);
    tb_port_exit(TB_EXIT_FAULT);
}

/* ---- cycle counter: 24-bit SysTick extended in software ---- */
#define SYST_CSR TB_CM_REG(0xE000E010u)
#define SYST_RVR TB_CM_REG(0xE000E014u)
#define SYST_CVR TB_CM_REG(0xE000E018u)
#define SYST_MAX 0x00FFFFFFu

static volatile uint32_t tb_systick_wraps;

void SysTick_Handler(void) { tb_systick_wraps++; }

void tb_cm_cycles_start(void)
{
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* ENABLE | TICKINT | CLKSOURCE = core clock */
    /* The first tick only loads RVR into CVR (no wrap is counted): wait for
     * it so that every later reading lies on one monotonic count. */
    while (SYST_CVR == 0u) {
    }
}

static uint64_t tb_systick_ticks(void)
{
    uint32_t w, v;
    do {
        w = tb_systick_wraps;
        v = SYST_CVR;
    } while (w != tb_systick_wraps);
    return ((uint64_t)w << 24) + (SYST_MAX - v);
}

#if TB_EMULATED
/* QEMU -icount shift=0: one instruction = 1 ns of virtual time. */
const char tb_port_cycles_kind[] = "instructions";
uint32_t tb_port_cycles(void)
{
    return (uint32_t)(tb_systick_ticks() * (uint64_t)TB_TICK_NS_NUM /
                      (uint64_t)TB_TICK_NS_DEN);
}
#else
const char tb_port_cycles_kind[] = "cycles";
uint32_t tb_port_cycles(void) { return (uint32_t)tb_systick_ticks(); }
#endif

/* ---- stack high-water mark ---- */
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

/* ---- exit: semihosting SYS_EXIT_EXTENDED (0x20) ---- */
void tb_port_exit(int code)
{
    static volatile uint32_t block[2];
    block[0] = 0x20026u; /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    {
        register uint32_t r0 __asm("r0") = 0x20u;
        register volatile uint32_t *r1 __asm("r1") = block;
        __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    }
    for (;;) {
    }
}
