/*
 * model.c - tinybnn model generated from "brevitas_cnn.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash f495e4f506e1dbf7.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  Conv_0     tb_conv2d_s8b1_ss      conv2d s8 x b1 -> bits
 *    1  Conv_1     tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> bits
 *    2  MaxPool_0  tb_maxpool_b1_opt      maxpool b1 (AND)
 *    3  Gemm_0     tb_dense_b1b1_armv6m   dense b1 x b1 -> int32
 *
 * Memory plan (greedy), arena 1548 bytes (lower bound 1548):
 *   offset   bytes  buffer        live at layers
 *        0     368  L0.scratch    0..0
 *        0    1036  L1.scratch    1..1
 *        0     300  L3.scratch    3..3
 *      300      64  L2.out        2..3
 *      368      64  input         0..0
 *     1036     256  L0.out        0..1
 *     1292     256  L1.out        1..2
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
#define INPUT_OFFSET 368u
#define L0_OUT_OFFSET 1036u
#define L0_OUT_BYTES 256u
#define L0_SCRATCH_OFFSET 0u
#define L0_SCRATCH_BYTES 368
#define L1_OUT_OFFSET 1292u
#define L1_OUT_BYTES 256u
#define L1_SCRATCH_OFFSET 0u
#define L1_SCRATCH_BYTES 1036
#define L2_OUT_OFFSET 300u
#define L2_OUT_BYTES 64u
#define L3_OUT_BYTES TB_MODEL_OUTPUT_BYTES
#define L3_SCRATCH_OFFSET 0u
#define L3_SCRATCH_BYTES 300

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "Conv_0", conv2d s8 x b1 -> bits
 * 8x8x1 -> 8x8x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero), input zero point 0 */
static const tb_conv2d_params l0_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 1,
    .out_h = 8,
    .out_w = 8,
    .out_c = 16,
    .kernel_h = 3,
    .kernel_w = 3,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 1,
    .pad_left = 1,
    .pad_bottom = 1,
    .pad_right = 1,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l0_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l0_conv_0_thresholds,
    .flip = tb_l0_conv_0_flip,
};

/* layer 1: "Conv_1", conv2d b1 x b1 -> bits
 * 8x8x16 -> 8x8x32, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l1_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 16,
    .out_h = 8,
    .out_w = 8,
    .out_c = 32,
    .kernel_h = 3,
    .kernel_w = 3,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 1,
    .pad_left = 1,
    .pad_bottom = 1,
    .pad_right = 1,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l1_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l1_conv_1_thresholds,
    .flip = tb_l1_conv_1_flip,
};

/* layer 2: "MaxPool_0", maxpool b1 (AND)
 * 8x8x32 -> 4x4x32, kernel 2x2, stride 2x2, pads t0 l0 b0 r0 (ignored) */
static const tb_maxpool_params l2_params = {
    .in_h = 8,
    .in_w = 8,
    .c = 32,
    .out_h = 4,
    .out_w = 4,
    .kernel_h = 2,
    .kernel_w = 2,
    .stride_h = 2,
    .stride_w = 2,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .or_mask = NULL,
};

/* layer 3: "Gemm_0", dense b1 x b1 -> int32
 * 16x32 -> 10 (a flattened 16-pixel tensor) */
static const tb_dense_params l3_params = {
    .in_pixels = 16,
    .in_c = 32,
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
    "Conv_0",
    "Conv_1",
    "MaxPool_0",
    "Gemm_0",
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

    /* layer 0: "Conv_0" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_conv2d_s8b1_ss(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_conv_0_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "Conv_1" */
    ctx.buf = ARENA_AT(L1_SCRATCH_OFFSET);
    ctx.size = L1_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l1_params, &l1_out, (const uint32_t *)ARENA_AT(L0_OUT_OFFSET),
        tb_l1_conv_1_weights, ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "MaxPool_0" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_maxpool_b1_opt(&ctx, &l2_params, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "Gemm_0" */
    ctx.buf = ARENA_AT(L3_SCRATCH_OFFSET);
    ctx.size = L3_SCRATCH_BYTES;
    status = tb_dense_b1b1_armv6m(&ctx, &l3_params, &l3_out, (const uint32_t *)ARENA_AT(L2_OUT_OFFSET),
        tb_l3_gemm_0_weights, output);
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
