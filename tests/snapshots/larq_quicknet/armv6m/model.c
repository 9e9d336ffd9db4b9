/*
 * model.c - tinybnn model generated from "larq_quicknet.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash bf113101e8d058d1.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  larq_quicknet/stem_conv/Conv2D               tb_conv2d_s8_pairs     conv2d s8 x s16 -> int16
 *    1  larq_quicknet/block1_conv/ste_sign_1/Sign_1  tb_binarize_s16_opt    binarize int16 -> bits
 *    2  larq_quicknet/block1_conv/QuantConv2D        tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *    3  larq_quicknet/block1_add/add                 tb_add_s16_opt         add int16
 *    4  larq_quicknet/block2_conv/ste_sign_3/Sign_1  tb_binarize_s16_opt    binarize int16 -> bits
 *    5  larq_quicknet/block2_conv/QuantConv2D        tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *    6  larq_quicknet/block2_add/add                 tb_add_s16_opt         add int16
 *    7  larq_quicknet/trans_pool/AvgPool             tb_avgpool_s16_opt     avgpool int16
 *    8  larq_quicknet/trans_sc_conv/Conv2D           tb_conv2d_s16s8_opt    conv2d s16 x s8 -> int16
 *    9  larq_quicknet/trans_conv/ste_sign_5/Sign_1   tb_binarize_s16_opt    binarize int16 -> bits
 *   10  larq_quicknet/trans_conv/QuantConv2D         tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *   11  larq_quicknet/trans_add/add                  tb_add_s16_opt         add int16
 *   12  larq_quicknet/block3_conv/ste_sign_7/Sign_1  tb_binarize_s16_opt    binarize int16 -> bits
 *   13  larq_quicknet/block3_conv/QuantConv2D        tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *   14  larq_quicknet/block3_add/add                 tb_add_s16_opt         add int16
 *   15  larq_quicknet/gap/Mean                       tb_avgpool_s16_opt     avgpool int16
 *   16  larq_quicknet/fc/MatMul                      tb_dense_s16s8_opt     dense s16 x s8 -> int32
 *
 * Memory plan (greedy), arena 4712 bytes (lower bound 4712):
 *   offset   bytes  buffer        live at layers
 *        0    2048  L0.out        0..9
 *        0    1024  L10.out       10..11
 *        0    1024  L13.out       13..14
 *        0      64  L15.out       15..16
 *        0    2048  L3.out        3..6  (in place of L0.out)
 *        0    2048  L6.out        6..9  (in place of L0.out)
 *     1024     424  L10.scratch   10..10
 *     1024     424  L13.scratch   13..13
 *     1448      64  L12.out       12..13
 *     2048    1024  L11.out       11..14  (in place of L8.out)
 *     2048    1024  L14.out       14..15  (in place of L8.out)
 *     2048    2048  L2.out        2..3
 *     2048    2048  L5.out        5..6
 *     2048    1024  L8.out        8..15
 *     2048      64  input         0..0
 *     2112      40  L0.scratch    0..0
 *     3072     512  L7.out        7..8
 *     3072     256  L9.out        9..10
 *     3584      32  L8.scratch    8..8
 *     4096     360  L2.scratch    2..2
 *     4096     360  L5.scratch    5..5
 *     4456     256  L1.out        1..2
 *     4456     256  L4.out        4..5
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
#define L1_OUT_OFFSET 4456u
#define L1_OUT_BYTES 256u
#define L2_OUT_OFFSET 2048u
#define L2_OUT_BYTES 2048u
#define L2_SCRATCH_OFFSET 4096u
#define L2_SCRATCH_BYTES 360
#define L3_OUT_OFFSET 0u
#define L3_OUT_BYTES 2048u
#define L4_OUT_OFFSET 4456u
#define L4_OUT_BYTES 256u
#define L5_OUT_OFFSET 2048u
#define L5_OUT_BYTES 2048u
#define L5_SCRATCH_OFFSET 4096u
#define L5_SCRATCH_BYTES 360
#define L6_OUT_OFFSET 0u
#define L6_OUT_BYTES 2048u
#define L7_OUT_OFFSET 3072u
#define L7_OUT_BYTES 512u
#define L8_OUT_OFFSET 2048u
#define L8_OUT_BYTES 1024u
#define L8_SCRATCH_OFFSET 3584u
#define L8_SCRATCH_BYTES 32
#define L9_OUT_OFFSET 3072u
#define L9_OUT_BYTES 256u
#define L10_OUT_OFFSET 0u
#define L10_OUT_BYTES 1024u
#define L10_SCRATCH_OFFSET 1024u
#define L10_SCRATCH_BYTES 424
#define L11_OUT_OFFSET 2048u
#define L11_OUT_BYTES 1024u
#define L12_OUT_OFFSET 1448u
#define L12_OUT_BYTES 64u
#define L13_OUT_OFFSET 0u
#define L13_OUT_BYTES 1024u
#define L13_SCRATCH_OFFSET 1024u
#define L13_SCRATCH_BYTES 424
#define L14_OUT_OFFSET 2048u
#define L14_OUT_BYTES 1024u
#define L15_OUT_OFFSET 0u
#define L15_OUT_BYTES 64u
#define L16_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "larq_quicknet/stem_conv/Conv2D", conv2d s8 x s16 -> int16
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
    .multiplier = tb_l0_larq_quicknet_stem_conv_multiplier,
    .offset = tb_l0_larq_quicknet_stem_conv_offset,
    .shift = tb_l0_larq_quicknet_stem_conv_shift,
};

/* layer 1: "larq_quicknet/block1_conv/ste_sign_1/Sign_1", binarize int16 -> bits
 * reads layer 0 ("larq_quicknet/stem_conv/Conv2D")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l1_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l1_larq_quicknet_block1_con_thresholds,
    .flip = tb_l1_larq_quicknet_block1_con_flip,
};

/* layer 2: "larq_quicknet/block1_conv/QuantConv2D", conv2d b1 x b1 -> int16
 * reads layer 1 ("larq_quicknet/block1_conv/ste_sign_1/Sign_1")
 * 8x8x16 -> 8x8x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (one) */
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
    .pad = TB_PAD_ONE,
    .input_zero_point = 0,
};
static const tb_out_params l2_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l2_larq_quicknet_block1_con_multiplier,
    .offset = tb_l2_larq_quicknet_block1_con_offset,
    .shift = tb_l2_larq_quicknet_block1_con_shift,
};

/* layer 3: "larq_quicknet/block1_add/add", add int16
 * reads layer 0 ("larq_quicknet/stem_conv/Conv2D"), layer 2 ("larq_quicknet/block1_conv/QuantConv2D")
 * 8x8x16 + 8x8x16 -> int16 stream (scale 0.000196705, zero point 803) */
static const tb_add_params l3_params = {
    .size = 1024,
    .mult_a = 804327386,
    .mult_b = 608168848,
    .offset = INT64_C(654046532012),
    .shift = 30,
};

/* layer 4: "larq_quicknet/block2_conv/ste_sign_3/Sign_1", binarize int16 -> bits
 * reads layer 3 ("larq_quicknet/block1_add/add")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l4_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l4_larq_quicknet_block2_con_thresholds,
    .flip = tb_l4_larq_quicknet_block2_con_flip,
};

/* layer 5: "larq_quicknet/block2_conv/QuantConv2D", conv2d b1 x b1 -> int16
 * reads layer 4 ("larq_quicknet/block2_conv/ste_sign_3/Sign_1")
 * 8x8x16 -> 8x8x16, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (one) */
static const tb_conv2d_params l5_params = {
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
    .pad = TB_PAD_ONE,
    .input_zero_point = 0,
};
static const tb_out_params l5_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l5_larq_quicknet_block2_con_multiplier,
    .offset = tb_l5_larq_quicknet_block2_con_offset,
    .shift = tb_l5_larq_quicknet_block2_con_shift,
};

/* layer 6: "larq_quicknet/block2_add/add", add int16
 * reads layer 3 ("larq_quicknet/block1_add/add"), layer 5 ("larq_quicknet/block2_conv/QuantConv2D")
 * 8x8x16 + 8x8x16 -> int16 stream (scale 0.000246953, zero point -179) */
static const tb_add_params l6_params = {
    .size = 1024,
    .mult_a = 855266626,
    .mult_b = 546323449,
    .offset = INT64_C(-1275072840082),
    .shift = 30,
};

/* layer 7: "larq_quicknet/trans_pool/AvgPool", avgpool int16
 * reads layer 6 ("larq_quicknet/block2_add/add")
 * 8x8x16 -> 4x4x16, kernel 2x2, stride 2x2, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000151655, zero point 1355) */
static const tb_avgpool_params l7_params = {
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
    .input_zero_point = -179,
    .multiplier = 874233067,
    .offset = INT64_C(2910914084864),
    .shift = 31,
};

/* layer 8: "larq_quicknet/trans_sc_conv/Conv2D", conv2d s16 x s8 -> int16
 * reads layer 7 ("larq_quicknet/trans_pool/AvgPool")
 * 4x4x16 -> 4x4x32, kernel 1x1, stride 1x1, dilation 1x1, pads t0 l0 b0 r0 (zero), input zero point 1355 */
static const tb_conv2d_params l8_params = {
    .in_h = 4,
    .in_w = 4,
    .in_c = 16,
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
    .input_zero_point = 1355,
};
static const tb_out_params l8_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l8_larq_quicknet_trans_sc_c_multiplier,
    .offset = tb_l8_larq_quicknet_trans_sc_c_offset,
    .shift = tb_l8_larq_quicknet_trans_sc_c_shift,
};

/* layer 9: "larq_quicknet/trans_conv/ste_sign_5/Sign_1", binarize int16 -> bits
 * reads layer 6 ("larq_quicknet/block2_add/add")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l9_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l9_larq_quicknet_trans_conv_thresholds,
    .flip = tb_l9_larq_quicknet_trans_conv_flip,
};

/* layer 10: "larq_quicknet/trans_conv/QuantConv2D", conv2d b1 x b1 -> int16
 * reads layer 9 ("larq_quicknet/trans_conv/ste_sign_5/Sign_1")
 * 8x8x16 -> 4x4x32, kernel 3x3, stride 2x2, dilation 1x1, pads t0 l0 b1 r1 (one) */
static const tb_conv2d_params l10_params = {
    .in_h = 8,
    .in_w = 8,
    .in_c = 16,
    .out_h = 4,
    .out_w = 4,
    .out_c = 32,
    .kernel_h = 3,
    .kernel_w = 3,
    .stride_h = 2,
    .stride_w = 2,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 1,
    .pad_right = 1,
    .pad = TB_PAD_ONE,
    .input_zero_point = 0,
};
static const tb_out_params l10_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l10_larq_quicknet_trans_conv_multiplier,
    .offset = tb_l10_larq_quicknet_trans_conv_offset,
    .shift = tb_l10_larq_quicknet_trans_conv_shift,
};

/* layer 11: "larq_quicknet/trans_add/add", add int16
 * reads layer 8 ("larq_quicknet/trans_sc_conv/Conv2D"), layer 10 ("larq_quicknet/trans_conv/QuantConv2D")
 * 4x4x32 + 4x4x32 -> int16 stream (scale 0.000243776, zero point 199) */
static const tb_add_params l11_params = {
    .size = 512,
    .mult_a = 691303405,
    .mult_b = 673458993,
    .offset = INT64_C(102320706247),
    .shift = 30,
};

/* layer 12: "larq_quicknet/block3_conv/ste_sign_7/Sign_1", binarize int16 -> bits
 * reads layer 11 ("larq_quicknet/trans_add/add")
 * 4x4x32: bit = (x' < tau) per channel */
static const tb_binarize_params l12_params = {
    .pixels = 16,
    .c = 32,
    .thresholds = tb_l12_larq_quicknet_block3_con_thresholds,
    .flip = tb_l12_larq_quicknet_block3_con_flip,
};

/* layer 13: "larq_quicknet/block3_conv/QuantConv2D", conv2d b1 x b1 -> int16
 * reads layer 12 ("larq_quicknet/block3_conv/ste_sign_7/Sign_1")
 * 4x4x32 -> 4x4x32, kernel 3x3, stride 1x1, dilation 1x1, pads t1 l1 b1 r1 (one) */
static const tb_conv2d_params l13_params = {
    .in_h = 4,
    .in_w = 4,
    .in_c = 32,
    .out_h = 4,
    .out_w = 4,
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
    .pad = TB_PAD_ONE,
    .input_zero_point = 0,
};
static const tb_out_params l13_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l13_larq_quicknet_block3_con_multiplier,
    .offset = tb_l13_larq_quicknet_block3_con_offset,
    .shift = tb_l13_larq_quicknet_block3_con_shift,
};

/* layer 14: "larq_quicknet/block3_add/add", add int16
 * reads layer 11 ("larq_quicknet/trans_add/add"), layer 13 ("larq_quicknet/block3_conv/QuantConv2D")
 * 4x4x32 + 4x4x32 -> int16 stream (scale 0.000348013, zero point -169) */
static const tb_add_params l14_params = {
    .size = 512,
    .mult_a = 752132539,
    .mult_b = 623006724,
    .offset = INT64_C(666210886017),
    .shift = 30,
};

/* layer 15: "larq_quicknet/gap/Mean", avgpool int16
 * reads layer 14 ("larq_quicknet/block3_add/add")
 * 4x4x32 -> 1x1x32, kernel 4x4, stride 1x1, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000119595, zero point 1280) */
static const tb_avgpool_params l15_params = {
    .in_h = 4,
    .in_w = 4,
    .c = 32,
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
    .input_zero_point = -169,
    .multiplier = 781131554,
    .offset = INT64_C(5499705622528),
    .shift = 32,
};

/* layer 16: "larq_quicknet/fc/MatMul", dense s16 x s8 -> int32
 * reads layer 15 ("larq_quicknet/gap/Mean")
 * 1x32 -> 10, input zero point 1280 */
static const tb_dense_params l16_params = {
    .in_pixels = 1,
    .in_c = 32,
    .out_c = 10,
    .input_zero_point = 1280,
};
static const tb_out_params l16_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "larq_quicknet/stem_conv/Conv2D",
    "larq_quicknet/block1_conv/ste_sign_1/Sign_1",
    "larq_quicknet/block1_conv/QuantConv2D",
    "larq_quicknet/block1_add/add",
    "larq_quicknet/block2_conv/ste_sign_3/Sign_1",
    "larq_quicknet/block2_conv/QuantConv2D",
    "larq_quicknet/block2_add/add",
    "larq_quicknet/trans_pool/AvgPool",
    "larq_quicknet/trans_sc_conv/Conv2D",
    "larq_quicknet/trans_conv/ste_sign_5/Sign_1",
    "larq_quicknet/trans_conv/QuantConv2D",
    "larq_quicknet/trans_add/add",
    "larq_quicknet/block3_conv/ste_sign_7/Sign_1",
    "larq_quicknet/block3_conv/QuantConv2D",
    "larq_quicknet/block3_add/add",
    "larq_quicknet/gap/Mean",
    "larq_quicknet/fc/MatMul",
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
    L13_OUT_BYTES,
    L14_OUT_BYTES,
    L15_OUT_BYTES,
    L16_OUT_BYTES,
};

/* ---- the layer sequence ---------------------------------------------------------------------- */

int tb_model_run_hooked(const int8_t *input, int32_t *output, tb_layer_hook hook, void *hook_ctx)
{
    tb_context ctx;
    tb_status status;

    if (input == NULL || output == NULL)
        return TB_MODEL_ERR_ARG;
    memcpy(ARENA_AT(INPUT_OFFSET), input, TB_MODEL_INPUT_BYTES);

    /* layer 0: "larq_quicknet/stem_conv/Conv2D" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_conv2d_s8_pairs(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_larq_quicknet_stem_conv_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "larq_quicknet/block1_conv/ste_sign_1/Sign_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l1_params, (const int16_t *)ARENA_AT(L0_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "larq_quicknet/block1_conv/QuantConv2D" */
    ctx.buf = ARENA_AT(L2_SCRATCH_OFFSET);
    ctx.size = L2_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_larq_quicknet_block1_con_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "larq_quicknet/block1_add/add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l3_params, (const int16_t *)ARENA_AT(L0_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L2_OUT_OFFSET), (int16_t *)ARENA_AT(L3_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, ARENA_AT(L3_OUT_OFFSET), L3_OUT_BYTES, hook_ctx);

    /* layer 4: "larq_quicknet/block2_conv/ste_sign_3/Sign_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l4_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "larq_quicknet/block2_conv/QuantConv2D" */
    ctx.buf = ARENA_AT(L5_SCRATCH_OFFSET);
    ctx.size = L5_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l5_params, &l5_out, (const uint32_t *)ARENA_AT(L4_OUT_OFFSET),
        tb_l5_larq_quicknet_block2_con_weights, ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "larq_quicknet/block2_add/add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l6_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L5_OUT_OFFSET), (int16_t *)ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "larq_quicknet/trans_pool/AvgPool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l7_params, (const int16_t *)ARENA_AT(L6_OUT_OFFSET),
        (int16_t *)ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "larq_quicknet/trans_sc_conv/Conv2D" */
    ctx.buf = ARENA_AT(L8_SCRATCH_OFFSET);
    ctx.size = L8_SCRATCH_BYTES;
    status = tb_conv2d_s16s8_opt(&ctx, &l8_params, &l8_out, (const int16_t *)ARENA_AT(L7_OUT_OFFSET),
        tb_l8_larq_quicknet_trans_sc_c_weights, ARENA_AT(L8_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(8, ARENA_AT(L8_OUT_OFFSET), L8_OUT_BYTES, hook_ctx);

    /* layer 9: "larq_quicknet/trans_conv/ste_sign_5/Sign_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l9_params, (const int16_t *)ARENA_AT(L6_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L9_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(9, ARENA_AT(L9_OUT_OFFSET), L9_OUT_BYTES, hook_ctx);

    /* layer 10: "larq_quicknet/trans_conv/QuantConv2D" */
    ctx.buf = ARENA_AT(L10_SCRATCH_OFFSET);
    ctx.size = L10_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l10_params, &l10_out, (const uint32_t *)ARENA_AT(L9_OUT_OFFSET),
        tb_l10_larq_quicknet_trans_conv_weights, ARENA_AT(L10_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(10, ARENA_AT(L10_OUT_OFFSET), L10_OUT_BYTES, hook_ctx);

    /* layer 11: "larq_quicknet/trans_add/add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l11_params, (const int16_t *)ARENA_AT(L8_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L10_OUT_OFFSET), (int16_t *)ARENA_AT(L11_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(11, ARENA_AT(L11_OUT_OFFSET), L11_OUT_BYTES, hook_ctx);

    /* layer 12: "larq_quicknet/block3_conv/ste_sign_7/Sign_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l12_params, (const int16_t *)ARENA_AT(L11_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L12_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(12, ARENA_AT(L12_OUT_OFFSET), L12_OUT_BYTES, hook_ctx);

    /* layer 13: "larq_quicknet/block3_conv/QuantConv2D" */
    ctx.buf = ARENA_AT(L13_SCRATCH_OFFSET);
    ctx.size = L13_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l13_params, &l13_out, (const uint32_t *)ARENA_AT(L12_OUT_OFFSET),
        tb_l13_larq_quicknet_block3_con_weights, ARENA_AT(L13_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(13, ARENA_AT(L13_OUT_OFFSET), L13_OUT_BYTES, hook_ctx);

    /* layer 14: "larq_quicknet/block3_add/add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l14_params, (const int16_t *)ARENA_AT(L11_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L13_OUT_OFFSET), (int16_t *)ARENA_AT(L14_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(14, ARENA_AT(L14_OUT_OFFSET), L14_OUT_BYTES, hook_ctx);

    /* layer 15: "larq_quicknet/gap/Mean" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l15_params, (const int16_t *)ARENA_AT(L14_OUT_OFFSET),
        (int16_t *)ARENA_AT(L15_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(15, ARENA_AT(L15_OUT_OFFSET), L15_OUT_BYTES, hook_ctx);

    /* layer 16: "larq_quicknet/fc/MatMul" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_s16s8_opt(&ctx, &l16_params, &l16_out, (const int16_t *)ARENA_AT(L15_OUT_OFFSET),
        tb_l16_larq_quicknet_fc_matmul_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(16, output, L16_OUT_BYTES, hook_ctx);
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
