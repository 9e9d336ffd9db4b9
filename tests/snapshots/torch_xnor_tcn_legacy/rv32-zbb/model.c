/*
 * model.c - tinybnn model generated from "torch_xnor_tcn_legacy.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 8e08be39b2e9923c.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  /stem/Conv   tb_conv2d_s8_pairs   conv2d s8 x s16 -> int16
 *    1  /Where       tb_binarize_s16_opt  binarize int16 -> bits
 *    2  /conv1/Conv  tb_conv2d_b1b1       conv2d b1 x b1 -> int16
 *    3  /Add         tb_add_s16_opt       add int16
 *    4  /Where_1     tb_binarize_s16_opt  binarize int16 -> bits
 *    5  /conv2/Conv  tb_conv2d_b1b1       conv2d b1 x b1 -> int16
 *    6  /Add_1       tb_add_s16_opt       add int16
 *    7  /ReduceMean  tb_avgpool_s16_opt   avgpool int16
 *    8  /fc/Gemm     tb_dense_s16s8_opt   dense s16 x s8 -> int32
 *
 * Memory plan (greedy), arena 1056 bytes (lower bound 1056):
 *   offset   bytes  buffer        live at layers
 *        0     512  L0.out        0..7
 *        0     512  L3.out        3..6  (in place of L0.out)
 *        0     512  L6.out        6..7  (in place of L0.out)
 *      512      96  L0.scratch    0..0
 *      512     512  L2.out        2..3
 *      512     512  L5.out        5..6
 *      512      64  L7.out        7..8
 *      608      64  input         0..0
 *     1024      32  L1.out        1..2
 *     1024      32  L4.out        4..5
 * The model output is not in the arena: the last layer writes to the caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "model_weights.h"
#include "tb_kernels.h"
#include "tb_kernels_stream.h"
#include "tb_kernels_opt.h"
#include "tb_kernels_opt_stream.h"

/* ---- activation arena ------------------------------------------------------------------------ */

#define ARENA_WORDS (TB_MODEL_ARENA_BYTES / sizeof(uint32_t))
static uint32_t arena[ARENA_WORDS];
#define ARENA_AT(offset) ((void *)((uint8_t *)arena + (offset)))

/* Byte offsets and sizes of the buffers in the arena (see the memory plan above). */
#define INPUT_OFFSET 608u
#define L0_OUT_OFFSET 0u
#define L0_OUT_BYTES 512u
#define L0_SCRATCH_OFFSET 512u
#define L0_SCRATCH_BYTES 96
#define L1_OUT_OFFSET 1024u
#define L1_OUT_BYTES 32u
#define L2_OUT_OFFSET 512u
#define L2_OUT_BYTES 512u
#define L3_OUT_OFFSET 0u
#define L3_OUT_BYTES 512u
#define L4_OUT_OFFSET 1024u
#define L4_OUT_BYTES 32u
#define L5_OUT_OFFSET 512u
#define L5_OUT_BYTES 512u
#define L6_OUT_OFFSET 0u
#define L6_OUT_BYTES 512u
#define L7_OUT_OFFSET 512u
#define L7_OUT_BYTES 64u
#define L8_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "/stem/Conv", conv2d s8 x s16 -> int16
 * reads the input
 * 8x1x8 -> 8x1x32, kernel 3x1, stride 1x1, dilation 1x1, pads t1 l0 b1 r0 (zero), input zero point -128 */
static const tb_conv2d_params l0_params = {
    .in_h = 8,
    .in_w = 1,
    .in_c = 8,
    .out_h = 8,
    .out_w = 1,
    .out_c = 32,
    .kernel_h = 3,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 1,
    .pad_left = 0,
    .pad_bottom = 1,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = -128,
};
static const tb_out_params l0_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l0_stem_conv_multiplier,
    .offset = tb_l0_stem_conv_offset,
    .shift = tb_l0_stem_conv_shift,
};

/* layer 1: "/Where", binarize int16 -> bits
 * reads layer 0 ("/stem/Conv")
 * 8x1x32: bit = (x' < tau) per channel */
static const tb_binarize_params l1_params = {
    .pixels = 8,
    .c = 32,
    .thresholds = tb_l1_where_thresholds,
    .flip = tb_l1_where_flip,
};

/* layer 2: "/conv1/Conv", conv2d b1 x b1 -> int16
 * reads layer 1 ("/Where")
 * 8x1x32 -> 8x1x32, kernel 3x1, stride 1x1, dilation 1x1, pads t1 l0 b1 r0 (zero) */
static const tb_conv2d_params l2_params = {
    .in_h = 8,
    .in_w = 1,
    .in_c = 32,
    .out_h = 8,
    .out_w = 1,
    .out_c = 32,
    .kernel_h = 3,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 1,
    .pad_left = 0,
    .pad_bottom = 1,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l2_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l2_conv1_conv_multiplier,
    .offset = tb_l2_conv1_conv_offset,
    .shift = tb_l2_conv1_conv_shift,
};

/* layer 3: "/Add", add int16
 * reads layer 0 ("/stem/Conv"), layer 2 ("/conv1/Conv")
 * 8x1x32 + 8x1x32 -> int16 stream (scale 0.000242656, zero point -974) */
static const tb_add_params l3_params = {
    .size = 256,
    .mult_a = 831614112,
    .mult_b = 702336142,
    .offset = INT64_C(-2648271942628),
    .shift = 30,
};

/* layer 4: "/Where_1", binarize int16 -> bits
 * reads layer 3 ("/Add")
 * 8x1x32: bit = (x' < tau) per channel */
static const tb_binarize_params l4_params = {
    .pixels = 8,
    .c = 32,
    .thresholds = tb_l4_where_1_thresholds,
    .flip = tb_l4_where_1_flip,
};

/* layer 5: "/conv2/Conv", conv2d b1 x b1 -> int16
 * reads layer 4 ("/Where_1")
 * 8x1x32 -> 8x1x32, kernel 3x1, stride 1x1, dilation 2x1, pads t2 l0 b2 r0 (zero) */
static const tb_conv2d_params l5_params = {
    .in_h = 8,
    .in_w = 1,
    .in_c = 32,
    .out_h = 8,
    .out_w = 1,
    .out_c = 32,
    .kernel_h = 3,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 2,
    .dilation_w = 1,
    .pad_top = 2,
    .pad_left = 0,
    .pad_bottom = 2,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l5_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l5_conv2_conv_multiplier,
    .offset = tb_l5_conv2_conv_offset,
    .shift = tb_l5_conv2_conv_shift,
};

/* layer 6: "/Add_1", add int16
 * reads layer 3 ("/Add"), layer 5 ("/conv2/Conv")
 * 8x1x32 + 8x1x32 -> int16 stream (scale 0.000380416, zero point -738) */
static const tb_add_params l6_params = {
    .size = 256,
    .mult_a = 684907519,
    .mult_b = 771798315,
    .offset = INT64_C(2930764859405),
    .shift = 30,
};

/* layer 7: "/ReduceMean", avgpool int16
 * reads layer 6 ("/Add_1")
 * 8x1x32 -> 1x1x32, kernel 8x1, stride 1x1, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000222721, zero point 1329) */
static const tb_avgpool_params l7_params = {
    .in_h = 8,
    .in_w = 1,
    .c = 32,
    .out_h = 1,
    .out_w = 1,
    .kernel_h = 8,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .input_zero_point = -738,
    .multiplier = 916994940,
    .offset = INT64_C(5710159020032),
    .shift = 32,
};

/* layer 8: "/fc/Gemm", dense s16 x s8 -> int32
 * reads layer 7 ("/ReduceMean")
 * 1x32 -> 10, input zero point 1329 */
static const tb_dense_params l8_params = {
    .in_pixels = 1,
    .in_c = 32,
    .out_c = 10,
    .input_zero_point = 1329,
};
static const tb_out_params l8_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "/stem/Conv",
    "/Where",
    "/conv1/Conv",
    "/Add",
    "/Where_1",
    "/conv2/Conv",
    "/Add_1",
    "/ReduceMean",
    "/fc/Gemm",
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

    /* layer 0: "/stem/Conv" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_conv2d_s8_pairs(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_stem_conv_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "/Where" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l1_params, (const int16_t *)ARENA_AT(L0_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "/conv1/Conv" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_conv1_conv_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "/Add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l3_params, (const int16_t *)ARENA_AT(L0_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L2_OUT_OFFSET), (int16_t *)ARENA_AT(L3_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, ARENA_AT(L3_OUT_OFFSET), L3_OUT_BYTES, hook_ctx);

    /* layer 4: "/Where_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l4_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "/conv2/Conv" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1(&ctx, &l5_params, &l5_out, (const uint32_t *)ARENA_AT(L4_OUT_OFFSET),
        tb_l5_conv2_conv_weights, ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "/Add_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l6_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L5_OUT_OFFSET), (int16_t *)ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "/ReduceMean" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l7_params, (const int16_t *)ARENA_AT(L6_OUT_OFFSET),
        (int16_t *)ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "/fc/Gemm" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_s16s8_opt(&ctx, &l8_params, &l8_out, (const int16_t *)ARENA_AT(L7_OUT_OFFSET),
        tb_l8_fc_gemm_weights, output);
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
