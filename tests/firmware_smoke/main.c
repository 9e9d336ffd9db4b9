/*
 * Smoke firmware for every emulated board (tests/test_firmware_smoke.py).
 * Portable C99: talks to the device only through tb_port.h.
 *
 * Output:
 *   tinybnn smoke <board> cycles=<n>          n = tb_port_cycles() around work()
 *   kind=<cycles kind> stack=<used>/<size> r=<result of work()>
 *   echo=<first byte received, or "none">
 * then exit code 0.
 *
 * -D SMOKE_FAULT=1: execute a trapping instruction (expects exit TB_EXIT_FAULT).
 * -D SMOKE_HANG=1:  never exit (the runner must time out and kill QEMU).
 */
#include "tb_port.h"

#ifndef TB_BOARD_ID
#define TB_BOARD_ID "unknown"
#endif

static void put_str(const char *s)
{
    while (*s)
        tb_port_putc((uint8_t)*s++);
}

static void put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    put_str(&buf[i]);
}

/* noinline/noipa keep the measured work between the two counter reads. */
__attribute__((noinline, noipa)) static uint32_t work(uint32_t n)
{
    uint32_t acc = 0x12345678u;
    uint32_t i;
    for (i = 0; i < n; i++)
        acc = (acc ^ i) * 2654435761u + (acc >> 7);
    return acc;
}

static int wait_byte(uint32_t polls)
{
    while (polls--) {
        int c = tb_port_getc();
        if (c >= 0)
            return c;
    }
    return -1;
}

int tb_main(void)
{
    uint32_t t0, t1, r;
    int c;

    t0 = tb_port_cycles();
    r = work(10000u);
    t1 = tb_port_cycles();

    put_str("tinybnn smoke " TB_BOARD_ID " cycles=");
    put_u32(t1 - t0);
    put_str("\nkind=");
    put_str(tb_port_cycles_kind);
    put_str(" stack=");
    put_u32(tb_port_stack_used());
    put_str("/");
    put_u32(tb_port_stack_size());
    put_str(" r=");
    put_u32(r);
    put_str("\n");

#if defined(SMOKE_FAULT) && SMOKE_FAULT
    __builtin_trap();
#endif
#if defined(SMOKE_HANG) && SMOKE_HANG
    for (;;) {
    }
#endif

    c = wait_byte(20000000u); /* the host sends the byte at once; QEMU may
                                 * deliver it late when the machine is busy */
    put_str("echo=");
    if (c < 0) {
        put_str("none");
    } else {
        tb_port_putc((uint8_t)c);
    }
    put_str("\n");
    return 0;
}
