/*
 * Test-only application for tests/test_device.py and benchmarks/bench_link.py:
 * prints boot text (the host must ignore it) and serves the protocol.
 * The real application is firmware/runtime/tb_main.c.
 */
#include "tb_port.h"
#include "tb_protocol.h"
#include "model.h"

#ifndef TB_BOARD_ID
#define TB_BOARD_ID "unknown"
#endif

static void put_str(const char *s)
{
    while (*s)
        tb_port_putc((uint8_t)*s++);
}

int tb_main(void)
{
    put_str("tinybnn test device app on " TB_BOARD_ID ", model " TB_MODEL_HASH "\r\n");
    put_str("boot: self-test skipped; serving the protocol");
    return tb_serve();
}
