/*
 * model.c - tinybnn model generated from "brevitas_tfc.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash bca03d274c8a1c84.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  Gemm_0  tb_dense_s8b1_ss     dense s8 x b1 -> bits
 *    1  Gemm_1  tb_dense_b1b1_short  dense b1 x b1 -> bits
 *    2  Gemm_2  tb_dense_b1b1_short  dense b1 x b1 -> bits
 *    3  Gemm_3  tb_dense_b1b1_short  dense b1 x b1 -> int32
 *
 * Memory plan (greedy), arena 1864 bytes (lower bound 1864):
 *   offset   bytes  buffer        live at layers
 *        0    1792  L0.scratch    0..0
 *        0       8  L1.out        1..2
 *        8       8  L2.out        2..3
 *     1792      64  input         0..0
 *     1856       8  L0.out        0..1
 * The model output is not in the arena: the last layer writes to the caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "model_weights.h"
#include "tb_kernels.h"
#include "tb_kernels_opt.h"

/* ---- activation arena ------------------------------------------------------------------------ */

#define ARENA_WORDS (TB_MODEL_ARENA_BYTES / sizeof(uint32_t))
static uint32_t arena[ARENA_WORDS];
#define ARENA_AT(offset) ((void *)((uint8_t *)arena + (offset)))

/* Byte offsets and sizes of the buffers in the arena (see the memory plan above). */
#define INPUT_OFFSET 1792u
#define L0_OUT_OFFSET 1856u
#define L0_OUT_BYTES 8u
#define L0_SCRATCH_OFFSET 0u
#define L0_SCRATCH_BYTES 1792
#define L1_OUT_OFFSET 0u
#define L1_OUT_BYTES 8u
#define L2_OUT_OFFSET 8u
#define L2_OUT_BYTES 8u
#define L3_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "Gemm_0", dense s8 x b1 -> bits
 * 1x64 -> 64, input zero point 0 */
static const tb_dense_params l0_params = {
    .in_pixels = 1,
    .in_c = 64,
    .out_c = 64,
    .input_zero_point = 0,
};
static const tb_out_params l0_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l0_gemm_0_thresholds,
    .flip = tb_l0_gemm_0_flip,
};

/* layer 1: "Gemm_1", dense b1 x b1 -> bits
 * 1x64 -> 64 */
static const tb_dense_params l1_params = {
    .in_pixels = 1,
    .in_c = 64,
    .out_c = 64,
    .input_zero_point = 0,
};
static const tb_out_params l1_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l1_gemm_1_thresholds,
    .flip = tb_l1_gemm_1_flip,
};

/* layer 2: "Gemm_2", dense b1 x b1 -> bits
 * 1x64 -> 64 */
static const tb_dense_params l2_params = {
    .in_pixels = 1,
    .in_c = 64,
    .out_c = 64,
    .input_zero_point = 0,
};
static const tb_out_params l2_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l2_gemm_2_thresholds,
    .flip = tb_l2_gemm_2_flip,
};

/* layer 3: "Gemm_3", dense b1 x b1 -> int32
 * 1x64 -> 10 */
static const tb_dense_params l3_params = {
    .in_pixels = 1,
    .in_c = 64,
    .out_c = 10,
    .input_zero_point = 0,
};
static const tb_out_params l3_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "Gemm_0",
    "Gemm_1",
    "Gemm_2",
    "Gemm_3",
};

const uint32_t tb_model_layer_output_bytes[TB_MODEL_NUM_LAYERS] = {
    L0_OUT_BYTES,
    L1_OUT_BYTES,
    L2_OUT_BYTES,
    L3_OUT_BYTES,
};

/* ---- the layer sequence ---------------------------------------------------------------------- */

int tb_model_run_hooked(const int8_t *input, int32_t *output, tb_layer_hook hook, void *hook_ctx)
{
    tb_context ctx;
    tb_status status;

    if (input == NULL || output == NULL)
        return TB_MODEL_ERR_ARG;
    memcpy(ARENA_AT(INPUT_OFFSET), input, TB_MODEL_INPUT_BYTES);

    /* layer 0: "Gemm_0" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_dense_s8b1_ss(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_gemm_0_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "Gemm_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_b1b1_short(&ctx, &l1_params, &l1_out, (const uint32_t *)ARENA_AT(L0_OUT_OFFSET),
        tb_l1_gemm_1_weights, ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "Gemm_2" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_b1b1_short(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_gemm_2_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "Gemm_3" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_b1b1_short(&ctx, &l3_params, &l3_out, (const uint32_t *)ARENA_AT(L2_OUT_OFFSET),
        tb_l3_gemm_3_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, output, L3_OUT_BYTES, hook_ctx);
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
