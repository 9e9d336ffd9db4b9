/*
 * model.c - tinybnn model generated from "torch_bireal_legacy.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash d052fc2e851604ce.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  /stem/Conv              tb_conv2d_s8_pairs      conv2d s8 x s16 -> int16
 *    1  /Where                  tb_binarize_s16_opt     binarize int16 -> bits
 *    2  /conv_a/Conv            tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> int16
 *    3  /Add                    tb_add_s16_opt          add int16
 *    4  /pool_b/AveragePool     tb_avgpool_s16_opt      avgpool int16
 *    5  /Where_1                tb_binarize_s16_opt     binarize int16 -> bits
 *    6  /conv_b/Conv            tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> int16
 *    7  /Add_1                  tb_add_s16_opt          add int16
 *    8  /Where_2                tb_binarize_s16_opt     binarize int16 -> bits
 *    9  /conv_c/Conv            tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> int16
 *   10  /Add_2                  tb_add_s16_opt          add int16
 *   11  /gap/GlobalAveragePool  tb_avgpool_s16          avgpool int16
 *   12  /fc/Gemm                tb_dense_s16s8_opt      dense s16 x s8 -> int32
 *
 * Memory plan (greedy), arena 5648 bytes (lower bound 5648):
 *   offset   bytes  buffer        live at layers
 *        0    2048  L0.out        0..5
 *        0      32  L11.out       11..12
 *        0    2048  L3.out        3..5  (in place of L0.out)
 *        0    1296  L6.scratch    6..6
 *        0    1296  L9.scratch    9..9
 *     1296     512  L6.out        6..7
 *     1296     512  L9.out        9..10
 *     1808      64  L8.out        8..9
 *     2048     512  L10.out       10..11  (in place of L4.out)
 *     2048    2048  L2.out        2..3
 *     2048     512  L4.out        4..11
 *     2048     512  L7.out        7..10  (in place of L4.out)
 *     2048      64  input         0..0
 *     2112      40  L0.scratch    0..0
 *     2560     256  L5.out        5..6
 *     4096    1296  L2.scratch    2..2
 *     5392     256  L1.out        1..2
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
#define INPUT_OFFSET 2048u
#define L0_OUT_OFFSET 0u
#define L0_OUT_BYTES 2048u
#define L0_SCRATCH_OFFSET 2112u
#define L0_SCRATCH_BYTES 40
#define L1_OUT_OFFSET 5392u
#define L1_OUT_BYTES 256u
#define L2_OUT_OFFSET 2048u
#define L2_OUT_BYTES 2048u
#define L2_SCRATCH_OFFSET 4096u
#define L2_SCRATCH_BYTES 1296
#define L3_OUT_OFFSET 0u
#define L3_OUT_BYTES 2048u
#define L4_OUT_OFFSET 2048u
#define L4_OUT_BYTES 512u
#define L5_OUT_OFFSET 2560u
#define L5_OUT_BYTES 256u
#define L6_OUT_OFFSET 1296u
#define L6_OUT_BYTES 512u
#define L6_SCRATCH_OFFSET 0u
#define L6_SCRATCH_BYTES 1296
#define L7_OUT_OFFSET 2048u
#define L7_OUT_BYTES 512u
#define L8_OUT_OFFSET 1808u
#define L8_OUT_BYTES 64u
#define L9_OUT_OFFSET 1296u
#define L9_OUT_BYTES 512u
#define L9_SCRATCH_OFFSET 0u
#define L9_SCRATCH_BYTES 1296
#define L10_OUT_OFFSET 2048u
#define L10_OUT_BYTES 512u
#define L11_OUT_OFFSET 0u
#define L11_OUT_BYTES 32u
#define L12_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "/stem/Conv", conv2d s8 x s16 -> int16
 * reads the input
 * 8x8x1 -> 8x8x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero), input zero point -128 */
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
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l1_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l1_where_thresholds,
    .flip = tb_l1_where_flip,
};

/* layer 2: "/conv_a/Conv", conv2d b1 x b1 -> int16
 * reads layer 1 ("/Where")
 * 8x8x16 -> 8x8x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l2_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 16,
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
static const tb_out_params l2_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l2_conv_a_conv_multiplier,
    .offset = tb_l2_conv_a_conv_offset,
    .shift = tb_l2_conv_a_conv_shift,
};

/* layer 3: "/Add", add int16
 * reads layer 0 ("/stem/Conv"), layer 2 ("/conv_a/Conv")
 * 8x8x16 + 8x8x16 -> int16 stream (scale 0.000256884, zero point 381) */
static const tb_add_params l3_params = {
    .size = 1024,
    .mult_a = 677708903,
    .mult_b = 725295178,
    .offset = INT64_C(1413257015463),
    .shift = 30,
};

/* layer 4: "/pool_b/AveragePool", avgpool int16
 * reads layer 3 ("/Add")
 * 8x8x16 -> 4x4x16, kernel 2x2, stride 2x2, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000175778, zero point 2682) */
static const tb_avgpool_params l4_params = {
    .in_h = 8,
    .in_w = 8,
    .c = 16,
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
    .input_zero_point = 381,
    .multiplier = 784591827,
    .offset = INT64_C(5760624885760),
    .shift = 31,
};

/* layer 5: "/Where_1", binarize int16 -> bits
 * reads layer 3 ("/Add")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l5_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l5_where_1_thresholds,
    .flip = tb_l5_where_1_flip,
};

/* layer 6: "/conv_b/Conv", conv2d b1 x b1 -> int16
 * reads layer 5 ("/Where_1")
 * 8x8x16 -> 4x4x16, kernel 3x3, stride 2x2, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l6_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 16,
    .out_h = 4,
    .out_w = 4,
    .out_c = 16,
    .kernel_h = 3,
    .kernel_w = 3,
    .stride_h = 2,
    .stride_w = 2,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 1,
    .pad_left = 1,
    .pad_bottom = 1,
    .pad_right = 1,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l6_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l6_conv_b_conv_multiplier,
    .offset = tb_l6_conv_b_conv_offset,
    .shift = tb_l6_conv_b_conv_shift,
};

/* layer 7: "/Add_1", add int16
 * reads layer 4 ("/pool_b/AveragePool"), layer 6 ("/conv_b/Conv")
 * 4x4x16 + 4x4x16 -> int16 stream (scale 0.00028309, zero point 1082) */
static const tb_add_params l7_params = {
    .size = 256,
    .mult_a = 666713373,
    .mult_b = 750719861,
    .offset = INT64_C(-1278175299721),
    .shift = 30,
};

/* layer 8: "/Where_2", binarize int16 -> bits
 * reads layer 7 ("/Add_1")
 * 4x4x16: bit = (x' < tau) per channel */
static const tb_binarize_params l8_params = {
    .pixels = 16,
    .c = 16,
    .thresholds = tb_l8_where_2_thresholds,
    .flip = tb_l8_where_2_flip,
};

/* layer 9: "/conv_c/Conv", conv2d b1 x b1 -> int16
 * reads layer 8 ("/Where_2")
 * 4x4x16 -> 4x4x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l9_params = {
    .in_h = 4,
    .in_w = 4,
    .in_c = 16,
    .out_h = 4,
    .out_w = 4,
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
static const tb_out_params l9_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l9_conv_c_conv_multiplier,
    .offset = tb_l9_conv_c_conv_offset,
    .shift = tb_l9_conv_c_conv_shift,
};

/* layer 10: "/Add_2", add int16
 * reads layer 7 ("/Add_1"), layer 9 ("/conv_c/Conv")
 * 4x4x16 + 4x4x16 -> int16 stream (scale 0.00039101, zero point -1491) */
static const tb_add_params l10_params = {
    .size = 256,
    .mult_a = 777385196,
    .mult_b = 626292479,
    .offset = INT64_C(-1877253447096),
    .shift = 30,
};

/* layer 11: "/gap/GlobalAveragePool", avgpool int16
 * reads layer 10 ("/Add_2")
 * 4x4x16 -> 1x1x16, kernel 4x4, stride 1x1, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000151109, zero point -1885) */
static const tb_avgpool_params l11_params = {
    .in_h = 4,
    .in_w = 4,
    .c = 16,
    .out_h = 1,
    .out_w = 1,
    .kernel_h = 4,
    .kernel_w = 4,
    .stride_h = 1,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .input_zero_point = -1491,
    .multiplier = 694605250,
    .offset = INT64_C(-8093865869312),
    .shift = 32,
};

/* layer 12: "/fc/Gemm", dense s16 x s8 -> int32
 * reads layer 11 ("/gap/GlobalAveragePool")
 * 1x16 -> 10, input zero point -1885 */
static const tb_dense_params l12_params = {
    .in_pixels = 1,
    .in_c = 16,
    .out_c = 10,
    .input_zero_point = -1885,
};
static const tb_out_params l12_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "/stem/Conv",
    "/Where",
    "/conv_a/Conv",
    "/Add",
    "/pool_b/AveragePool",
    "/Where_1",
    "/conv_b/Conv",
    "/Add_1",
    "/Where_2",
    "/conv_c/Conv",
    "/Add_2",
    "/gap/GlobalAveragePool",
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
    L9_OUT_BYTES,
    L10_OUT_BYTES,
    L11_OUT_BYTES,
    L12_OUT_BYTES,
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

    /* layer 2: "/conv_a/Conv" */
    ctx.buf = ARENA_AT(L2_SCRATCH_OFFSET);
    ctx.size = L2_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_conv_a_conv_weights, ARENA_AT(L2_OUT_OFFSET));
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

    /* layer 4: "/pool_b/AveragePool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l4_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (int16_t *)ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "/Where_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l5_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "/conv_b/Conv" */
    ctx.buf = ARENA_AT(L6_SCRATCH_OFFSET);
    ctx.size = L6_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l6_params, &l6_out, (const uint32_t *)ARENA_AT(L5_OUT_OFFSET),
        tb_l6_conv_b_conv_weights, ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "/Add_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l7_params, (const int16_t *)ARENA_AT(L4_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L6_OUT_OFFSET), (int16_t *)ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "/Where_2" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l8_params, (const int16_t *)ARENA_AT(L7_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L8_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(8, ARENA_AT(L8_OUT_OFFSET), L8_OUT_BYTES, hook_ctx);

    /* layer 9: "/conv_c/Conv" */
    ctx.buf = ARENA_AT(L9_SCRATCH_OFFSET);
    ctx.size = L9_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l9_params, &l9_out, (const uint32_t *)ARENA_AT(L8_OUT_OFFSET),
        tb_l9_conv_c_conv_weights, ARENA_AT(L9_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(9, ARENA_AT(L9_OUT_OFFSET), L9_OUT_BYTES, hook_ctx);

    /* layer 10: "/Add_2" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l10_params, (const int16_t *)ARENA_AT(L7_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L9_OUT_OFFSET), (int16_t *)ARENA_AT(L10_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(10, ARENA_AT(L10_OUT_OFFSET), L10_OUT_BYTES, hook_ctx);

    /* layer 11: "/gap/GlobalAveragePool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16(&ctx, &l11_params, (const int16_t *)ARENA_AT(L10_OUT_OFFSET),
        (int16_t *)ARENA_AT(L11_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(11, ARENA_AT(L11_OUT_OFFSET), L11_OUT_BYTES, hook_ctx);

    /* layer 12: "/fc/Gemm" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_s16s8_opt(&ctx, &l12_params, &l12_out, (const int16_t *)ARENA_AT(L11_OUT_OFFSET),
        tb_l12_fc_gemm_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(12, output, L12_OUT_BYTES, hook_ctx);
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
