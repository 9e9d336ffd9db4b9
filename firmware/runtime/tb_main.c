/*
 * tb_main.c - the device application: a boot self-test, then (when built with TB_APP_SERVE) the
 * serial protocol of tinybnn validate.
 *
 * Self-test: runs the model once on the sample input built into the firmware (model_sample.c, chosen
 * by `tinybnn build`), prints one line per fact, and returns 0 when the output equals the golden
 * model's output for that sample, 1 otherwise. The host reads:
 *
 *   tinybnn selftest board=<id> hash=<model hash>
 *   output <o0> <o1> ...
 *   count <n> <instructions|cycles>
 *   stack <bytes used> of <bytes>
 *   selftest pass|fail
 */
#include <stdint.h>

#include "model.h"
#include "model_sample.h"
#include "tb_port.h"
#include "tb_print.h"

#ifdef TB_APP_SERVE
int tb_serve(void);
#endif

#ifndef TB_BOARD_ID
#define TB_BOARD_ID "unknown"
#endif

static int32_t output[TB_MODEL_OUTPUT_SIZE];

static int selftest(void)
{
    uint32_t t0, t1;
    int rc, i, same = 1;

    tb_print("tinybnn selftest board=" TB_BOARD_ID " hash=" TB_MODEL_HASH "\n");
    t0 = tb_port_cycles();
    rc = tb_model_run(tb_sample_input, output);
    t1 = tb_port_cycles();
    if (rc != TB_MODEL_OK) {
        tb_print("error tb_model_run ");
        tb_print_i32(rc);
        tb_print("\n");
        return 1;
    }
    tb_print("output");
    for (i = 0; i < TB_MODEL_OUTPUT_SIZE; i++) {
        tb_print(" ");
        tb_print_i32(output[i]);
        same &= (output[i] == tb_sample_expected[i]);
    }
    tb_print("\ncount ");
    tb_print_u32(t1 - t0);
    tb_print(" ");
    tb_print(tb_port_cycles_kind);
    tb_print("\nstack ");
    tb_print_u32(tb_port_stack_used());
    tb_print(" of ");
    tb_print_u32(tb_port_stack_size());
    tb_print(same ? "\nselftest pass\n" : "\nselftest fail\n");
    return same ? 0 : 1;
}

int tb_main(void)
{
    int rc = selftest();
#ifdef TB_APP_SERVE
    (void)rc;
    return tb_serve();
#else
    return rc;
#endif
}
