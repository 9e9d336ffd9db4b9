/*
 * model.c - tinybnn model generated from "brevitas_dscnn.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash ba4602c78998d13e.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  Conv_0         tb_conv2d_s8_pairs         conv2d s8 x s8 -> bits
 *    1  Conv_1         tb_conv2d_grouped_b1b1_dw  conv2d grouped (32 groups) b1 x b1 -> bits
 *    2  Conv_2         tb_conv2d_b1b1_short       conv2d b1 x b1 -> bits
 *    3  Conv_3         tb_conv2d_grouped_b1b1_dw  conv2d grouped (32 groups) b1 x b1 -> bits
 *    4  Conv_4         tb_conv2d_b1b1_short       conv2d b1 x b1 -> bits
 *    5  Conv_5         tb_conv2d_grouped_b1b1_dw  conv2d grouped (32 groups) b1 x b1 -> bits
 *    6  Conv_6         tb_conv2d_b1b1_short       conv2d b1 x b1 -> int8
 *    7  AveragePool_0  tb_avgpool_s8_opt          avgpool int8
 *    8  Gemm_0         tb_dense_s8_pairs          dense s8 x s8 -> int32
 *
 * Memory plan (greedy), arena 576 bytes (lower bound 576):
 *   offset   bytes  buffer        live at layers
 *        0     256  L0.out        0..1
 *        0     256  L2.out        2..3
 *        0      64  L4.out        4..5
 *        0     512  L6.out        6..7
 *        0      64  L8.scratch    8..8
 *      256     256  L1.out        1..2
 *      256      64  L3.out        3..4
 *      256      64  input         0..0
 *      320      40  L0.scratch    0..0
 *      512      64  L5.out        5..6
 *      512      32  L7.out        7..8
 * The model output is not in the arena: the last layer writes to the caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "model_weights.h"
#include "tb_kernels.h"
#include "tb_kernels_stream.h"
#include "tb_kernels_grouped.h"
#include "tb_kernels_opt.h"
#include "tb_kernels_opt_grouped.h"
#include "tb_kernels_opt_stream.h"

/* ---- activation arena ------------------------------------------------------------------------ */

#define ARENA_WORDS (TB_MODEL_ARENA_BYTES / sizeof(uint32_t))
static uint32_t arena[ARENA_WORDS];
#define ARENA_AT(offset) ((void *)((uint8_t *)arena + (offset)))

/* Byte offsets and sizes of the buffers in the arena (see the memory plan above). */
#define INPUT_OFFSET 256u
#define L0_OUT_OFFSET 0u
#define L0_OUT_BYTES 256u
#define L0_SCRATCH_OFFSET 320u
#define L0_SCRATCH_BYTES 40
#define L1_OUT_OFFSET 256u
#define L1_OUT_BYTES 256u
#define L2_OUT_OFFSET 0u
#define L2_OUT_BYTES 256u
#define L3_OUT_OFFSET 256u
#define L3_OUT_BYTES 64u
#define L4_OUT_OFFSET 0u
#define L4_OUT_BYTES 64u
#define L5_OUT_OFFSET 512u
#define L5_OUT_BYTES 64u
#define L6_OUT_OFFSET 0u
#define L6_OUT_BYTES 512u
#define L7_OUT_OFFSET 512u
#define L7_OUT_BYTES 32u
#define L8_OUT_BYTES TB_MODEL_OUTPUT_BYTES
#define L8_SCRATCH_OFFSET 0u
#define L8_SCRATCH_BYTES 64

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "Conv_0", conv2d s8 x s8 -> bits
 * 8x8x1 -> 8x8x32, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero), input zero point 0 */
static const tb_conv2d_params l0_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 1,
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
static const tb_out_params l0_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l0_conv_0_thresholds,
    .flip = tb_l0_conv_0_flip,
};

/* layer 1: "Conv_1", conv2d grouped (32 groups) b1 x b1 -> bits
 * 8x8x32 -> 8x8x32, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero), 32 groups of 1 channels */
static const tb_grouped_conv2d_params l1_params = {
    .conv.in_h = 8,
    .conv.in_w = 8,
    .conv.in_c = 32,
    .conv.out_h = 8,
    .conv.out_w = 8,
    .conv.out_c = 32,
    .conv.kernel_h = 3,
    .conv.kernel_w = 3,
    .conv.stride_h = 1,
    .conv.stride_w = 1,
    .conv.dilation_h = 1,
    .conv.dilation_w = 1,
    .conv.pad_top = 1,
    .conv.pad_left = 1,
    .conv.pad_bottom = 1,
    .conv.pad_right = 1,
    .conv.pad = TB_PAD_ZERO,
    .conv.input_zero_point = 0,
    .groups = 32,
};
static const tb_out_params l1_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l1_conv_1_thresholds,
    .flip = tb_l1_conv_1_flip,
};

/* layer 2: "Conv_2", conv2d b1 x b1 -> bits
 * 8x8x32 -> 8x8x32, kernel 1x1, stride 1x1, dilation 1x1, pads t0 l0 b0 r0 (zero) */
static const tb_conv2d_params l2_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 32,
    .out_h = 8,
    .out_w = 8,
    .out_c = 32,
    .kernel_h = 1,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l2_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l2_conv_2_thresholds,
    .flip = tb_l2_conv_2_flip,
};

/* layer 3: "Conv_3", conv2d grouped (32 groups) b1 x b1 -> bits
 * 8x8x32 -> 4x4x32, kernel 3x3, stride 2x2, dilation 1x1, pads t1 l1 b1 r1 (zero), 32 groups of 1 channels */
static const tb_grouped_conv2d_params l3_params = {
    .conv.in_h = 8,
    .conv.in_w = 8,
    .conv.in_c = 32,
    .conv.out_h = 4,
    .conv.out_w = 4,
    .conv.out_c = 32,
    .conv.kernel_h = 3,
    .conv.kernel_w = 3,
    .conv.stride_h = 2,
    .conv.stride_w = 2,
    .conv.dilation_h = 1,
    .conv.dilation_w = 1,
    .conv.pad_top = 1,
    .conv.pad_left = 1,
    .conv.pad_bottom = 1,
    .conv.pad_right = 1,
    .conv.pad = TB_PAD_ZERO,
    .conv.input_zero_point = 0,
    .groups = 32,
};
static const tb_out_params l3_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l3_conv_3_thresholds,
    .flip = tb_l3_conv_3_flip,
};

/* layer 4: "Conv_4", conv2d b1 x b1 -> bits
 * 4x4x32 -> 4x4x32, kernel 1x1, stride 1x1, dilation 1x1, pads t0 l0 b0 r0 (zero) */
static const tb_conv2d_params l4_params = {
    .in_h = 4,
    .in_w = 4,
    .in_c = 32,
    .out_h = 4,
    .out_w = 4,
    .out_c = 32,
    .kernel_h = 1,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l4_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l4_conv_4_thresholds,
    .flip = tb_l4_conv_4_flip,
};

/* layer 5: "Conv_5", conv2d grouped (32 groups) b1 x b1 -> bits
 * 4x4x32 -> 4x4x32, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero), 32 groups of 1 channels */
static const tb_grouped_conv2d_params l5_params = {
    .conv.in_h = 4,
    .conv.in_w = 4,
    .conv.in_c = 32,
    .conv.out_h = 4,
    .conv.out_w = 4,
    .conv.out_c = 32,
    .conv.kernel_h = 3,
    .conv.kernel_w = 3,
    .conv.stride_h = 1,
    .conv.stride_w = 1,
    .conv.dilation_h = 1,
    .conv.dilation_w = 1,
    .conv.pad_top = 1,
    .conv.pad_left = 1,
    .conv.pad_bottom = 1,
    .conv.pad_right = 1,
    .conv.pad = TB_PAD_ZERO,
    .conv.input_zero_point = 0,
    .groups = 32,
};
static const tb_out_params l5_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l5_conv_5_thresholds,
    .flip = tb_l5_conv_5_flip,
};

/* layer 6: "Conv_6", conv2d b1 x b1 -> int8
 * 4x4x32 -> 4x4x32, kernel 1x1, stride 1x1, dilation 1x1, pads t0 l0 b0 r0 (zero) */
static const tb_conv2d_params l6_params = {
    .in_h = 4,
    .in_w = 4,
    .in_c = 32,
    .out_h = 4,
    .out_w = 4,
    .out_c = 32,
    .kernel_h = 1,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l6_out = {
    .kind = TB_OUT_S8,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l6_conv_6_multiplier,
    .offset = tb_l6_conv_6_offset,
    .shift = tb_l6_conv_6_shift,
};

/* layer 7: "AveragePool_0", avgpool int8
 * 4x4x32 -> 1x1x32, kernel 4x4, stride 4x4, pads t0 l0 b0 r0 (zeros), -> int8 stream (scale 0.0243818, zero point 12) */
static const tb_avgpool_params l7_params = {
    .in_h = 4,
    .in_w = 4,
    .c = 32,
    .out_h = 1,
    .out_w = 1,
    .kernel_h = 4,
    .kernel_w = 4,
    .stride_h = 4,
    .stride_w = 4,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .input_zero_point = 14,
    .multiplier = 632581689,
    .offset = INT64_C(53687091200),
    .shift = 32,
};

/* layer 8: "Gemm_0", dense s8 x s8 -> int32
 * 1x32 -> 10, input zero point 12 */
static const tb_dense_params l8_params = {
    .in_pixels = 1,
    .in_c = 32,
    .out_c = 10,
    .input_zero_point = 12,
};
static const tb_out_params l8_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "Conv_0",
    "Conv_1",
    "Conv_2",
    "Conv_3",
    "Conv_4",
    "Conv_5",
    "Conv_6",
    "AveragePool_0",
    "Gemm_0",
};

const uint32_t tb_model_layer_output_bytes[TB_MODEL_NUM_LAYERS] = {
    L0_OUT_BYTES,
    L1_OUT_BYTES,
    L2_OUT_BYTES,
    L3_OUT_BYTES,
    L4_OUT_BYTES,
    L5_OUT_BYTES,
    L6_OUT_BYTES,
    L7_OUT_BYTES,
    L8_OUT_BYTES,
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
    status = tb_conv2d_s8_pairs(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_conv_0_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "Conv_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_grouped_b1b1_dw(&ctx, &l1_params, &l1_out, (const uint32_t *)ARENA_AT(L0_OUT_OFFSET),
        tb_l1_conv_1_weights, ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "Conv_2" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1_short(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_conv_2_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "Conv_3" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_grouped_b1b1_dw(&ctx, &l3_params, &l3_out, (const uint32_t *)ARENA_AT(L2_OUT_OFFSET),
        tb_l3_conv_3_weights, ARENA_AT(L3_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, ARENA_AT(L3_OUT_OFFSET), L3_OUT_BYTES, hook_ctx);

    /* layer 4: "Conv_4" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1_short(&ctx, &l4_params, &l4_out, (const uint32_t *)ARENA_AT(L3_OUT_OFFSET),
        tb_l4_conv_4_weights, ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "Conv_5" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_grouped_b1b1_dw(&ctx, &l5_params, &l5_out, (const uint32_t *)ARENA_AT(L4_OUT_OFFSET),
        tb_l5_conv_5_weights, ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "Conv_6" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1_short(&ctx, &l6_params, &l6_out, (const uint32_t *)ARENA_AT(L5_OUT_OFFSET),
        tb_l6_conv_6_weights, ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "AveragePool_0" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s8_opt(&ctx, &l7_params, (const int8_t *)ARENA_AT(L6_OUT_OFFSET),
        (int8_t *)ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "Gemm_0" */
    ctx.buf = ARENA_AT(L8_SCRATCH_OFFSET);
    ctx.size = L8_SCRATCH_BYTES;
    status = tb_dense_s8_pairs(&ctx, &l8_params, &l8_out, (const int8_t *)ARENA_AT(L7_OUT_OFFSET),
        tb_l8_gemm_0_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(8, output, L8_OUT_BYTES, hook_ctx);
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
