/*
 * model.c - tinybnn model generated from "torch_mlp_legacy.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 7674986afca8dca9.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  /1/MatMul  tb_dense_s8b1  dense s8 x b1 -> bits
 *    1  /4/MatMul  tb_dense_b1b1  dense b1 x b1 -> bits
 *    2  /7/MatMul  tb_dense_b1b1  dense b1 x b1 -> int32
 *
 * Memory plan (greedy), arena 96 bytes (lower bound 96):
 *   offset   bytes  buffer        live at layers
 *        0      16  L1.out        1..2
 *        0      64  input         0..0
 *       64      32  L0.out        0..1
 * The model output is not in the arena: the last layer writes to the caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "model_weights.h"
#include "tb_kernels.h"

/* ---- activation arena ------------------------------------------------------------------------ */

#define ARENA_WORDS (TB_MODEL_ARENA_BYTES / sizeof(uint32_t))
static uint32_t arena[ARENA_WORDS];
#define ARENA_AT(offset) ((void *)((uint8_t *)arena + (offset)))

/* Byte offsets and sizes of the buffers in the arena (see the memory plan above). */
#define INPUT_OFFSET 0u
#define L0_OUT_OFFSET 64u
#define L0_OUT_BYTES 32u
#define L1_OUT_OFFSET 0u
#define L1_OUT_BYTES 16u
#define L2_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "/1/MatMul", dense s8 x b1 -> bits
 * 1x64 -> 256, input zero point -128 */
static const tb_dense_params l0_params = {
    .in_pixels = 1,
    .in_c = 64,
    .out_c = 256,
    .input_zero_point = -128,
};
static const tb_out_params l0_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l0_1_matmul_thresholds,
    .flip = tb_l0_1_matmul_flip,
};

/* layer 1: "/4/MatMul", dense b1 x b1 -> bits
 * 1x256 -> 128 */
static const tb_dense_params l1_params = {
    .in_pixels = 1,
    .in_c = 256,
    .out_c = 128,
    .input_zero_point = 0,
};
static const tb_out_params l1_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l1_4_matmul_thresholds,
    .flip = tb_l1_4_matmul_flip,
};

/* layer 2: "/7/MatMul", dense b1 x b1 -> int32
 * 1x128 -> 10 */
static const tb_dense_params l2_params = {
    .in_pixels = 1,
    .in_c = 128,
    .out_c = 10,
    .input_zero_point = 0,
};
static const tb_out_params l2_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "/1/MatMul",
    "/4/MatMul",
    "/7/MatMul",
};

const uint32_t tb_model_layer_output_bytes[TB_MODEL_NUM_LAYERS] = {
    L0_OUT_BYTES,
    L1_OUT_BYTES,
    L2_OUT_BYTES,
};

/* ---- the layer sequence ---------------------------------------------------------------------- */

int tb_model_run_hooked(const int8_t *input, int32_t *output, tb_layer_hook hook, void *hook_ctx)
{
    tb_context ctx;
    tb_status status;

    if (input == NULL || output == NULL)
        return TB_MODEL_ERR_ARG;
    memcpy(ARENA_AT(INPUT_OFFSET), input, TB_MODEL_INPUT_BYTES);

    /* layer 0: "/1/MatMul" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_s8b1(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_1_matmul_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "/4/MatMul" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_b1b1(&ctx, &l1_params, &l1_out, (const uint32_t *)ARENA_AT(L0_OUT_OFFSET),
        tb_l1_4_matmul_weights, ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "/7/MatMul" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_b1b1(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_7_matmul_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, output, L2_OUT_BYTES, hook_ctx);
    return TB_MODEL_OK;
}

int tb_model_run(const int8_t *input, int32_t *output)
{
    return tb_model_run_hooked(input, output, NULL, NULL);
}

void *tb_model_arena(void)
{
    return arena;
}
