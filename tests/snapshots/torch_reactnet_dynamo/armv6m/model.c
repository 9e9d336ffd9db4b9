/*
 * model.c - tinybnn model generated from "torch_reactnet_dynamo.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 3bdac96476c25b66.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  node_Conv_83     tb_conv2d_s8_pairs     conv2d s8 x s16 -> int16
 *    1  node_add         tb_binarize_s16_opt    binarize int16 -> bits
 *    2  node_Conv_85     tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *    3  node_add_1       tb_add_s16_opt         add int16
 *    4  node_sub         tb_prelu_s16_opt       prelu int16
 *    5  node_avg_pool2d  tb_avgpool_s16_opt     avgpool int16
 *    6  node_add_3       tb_binarize_s16_opt    binarize int16 -> bits
 *    7  node_Conv_87     tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *    8  node_add_4       tb_add_s16_opt         add int16
 *    9  node_Conv_89     tb_conv2d_b1b1_armv6m  conv2d b1 x b1 -> int16
 *   10  node_add_5       tb_add_s16_opt         add int16
 *   11  node_cat         tb_concat_s16          concat int16 (2 inputs)
 *   12  node_sub_1       tb_prelu_s16_opt       prelu int16
 *   13  node_add_7       tb_binarize_s16_opt    binarize int16 -> bits
 *   14  node_Conv_91     tb_conv2d_b1b1_short   conv2d b1 x b1 -> int16
 *   15  node_add_8       tb_add_s16_opt         add int16
 *   16  node_sub_2       tb_prelu_s16_opt       prelu int16
 *   17  node_mean        tb_avgpool_s16_opt     avgpool int16
 *   18  node_linear      tb_dense_s16s8_opt     dense s16 x s8 -> int32
 *
 * Memory plan (greedy), arena 5036 bytes (lower bound 5036):
 *   offset   bytes  buffer        live at layers
 *        0    2048  L0.out        0..3
 *        0    1024  L11.out       11..15
 *        0    1024  L12.out       12..15  (in place of L11.out)
 *        0      64  L17.out       17..18
 *        0     684  L7.scratch    7..7
 *        0     684  L9.scratch    9..9
 *      684     512  L5.out        5..10
 *     1024    1024  L14.out       14..17
 *     1024    1024  L15.out       15..16  (in place of L14.out)
 *     1024    1024  L16.out       16..17  (in place of L14.out)
 *     1196     512  L7.out        7..11
 *     1196     512  L8.out        8..11  (in place of L7.out)
 *     1708     512  L10.out       10..11  (in place of L9.out)
 *     1708     512  L9.out        9..11
 *     2048      64  L13.out       13..14
 *     2048    2048  L2.out        2..6
 *     2048    2048  L3.out        3..4  (in place of L2.out)
 *     2048    2048  L4.out        4..6  (in place of L2.out)
 *     2048      64  input         0..0
 *     2112      40  L0.scratch    0..0
 *     4096     684  L2.scratch    2..2
 *     4096     256  L6.out        6..9
 *     4780     256  L1.out        1..2
 * The model output is not in the arena: the last layer writes to the caller's buffer.
 */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "model_weights.h"
#include "tb_kernels.h"
#include "tb_kernels_concat.h"
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
#define L1_OUT_OFFSET 4780u
#define L1_OUT_BYTES 256u
#define L2_OUT_OFFSET 2048u
#define L2_OUT_BYTES 2048u
#define L2_SCRATCH_OFFSET 4096u
#define L2_SCRATCH_BYTES 684
#define L3_OUT_OFFSET 2048u
#define L3_OUT_BYTES 2048u
#define L4_OUT_OFFSET 2048u
#define L4_OUT_BYTES 2048u
#define L5_OUT_OFFSET 684u
#define L5_OUT_BYTES 512u
#define L6_OUT_OFFSET 4096u
#define L6_OUT_BYTES 256u
#define L7_OUT_OFFSET 1196u
#define L7_OUT_BYTES 512u
#define L7_SCRATCH_OFFSET 0u
#define L7_SCRATCH_BYTES 684
#define L8_OUT_OFFSET 1196u
#define L8_OUT_BYTES 512u
#define L9_OUT_OFFSET 1708u
#define L9_OUT_BYTES 512u
#define L9_SCRATCH_OFFSET 0u
#define L9_SCRATCH_BYTES 684
#define L10_OUT_OFFSET 1708u
#define L10_OUT_BYTES 512u
#define L11_OUT_OFFSET 0u
#define L11_OUT_BYTES 1024u
#define L12_OUT_OFFSET 0u
#define L12_OUT_BYTES 1024u
#define L13_OUT_OFFSET 2048u
#define L13_OUT_BYTES 64u
#define L14_OUT_OFFSET 1024u
#define L14_OUT_BYTES 1024u
#define L15_OUT_OFFSET 1024u
#define L15_OUT_BYTES 1024u
#define L16_OUT_OFFSET 1024u
#define L16_OUT_BYTES 1024u
#define L17_OUT_OFFSET 0u
#define L17_OUT_BYTES 64u
#define L18_OUT_BYTES TB_MODEL_OUTPUT_BYTES

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "node_Conv_83", conv2d s8 x s16 -> int16
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
    .multiplier = tb_l0_node_conv_83_multiplier,
    .offset = tb_l0_node_conv_83_offset,
    .shift = tb_l0_node_conv_83_shift,
};

/* layer 1: "node_add", binarize int16 -> bits
 * reads layer 0 ("node_Conv_83")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l1_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l1_node_add_thresholds,
    .flip = tb_l1_node_add_flip,
};

/* layer 2: "node_Conv_85", conv2d b1 x b1 -> int16
 * reads layer 1 ("node_add")
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
    .multiplier = tb_l2_node_conv_85_multiplier,
    .offset = tb_l2_node_conv_85_offset,
    .shift = tb_l2_node_conv_85_shift,
};

/* layer 3: "node_add_1", add int16
 * reads layer 2 ("node_Conv_85"), layer 0 ("node_Conv_83")
 * 8x8x16 + 8x8x16 -> int16 stream (scale 0.000288532, zero point -2200) */
static const tb_add_params l3_params = {
    .size = 1024,
    .mult_a = 743284399,
    .mult_b = 686109248,
    .offset = INT64_C(-2599089902323),
    .shift = 30,
};

/* layer 4: "node_sub", prelu int16
 * reads layer 3 ("node_add_1")
 * 8x8x16, two affine pieces per channel -> int16 stream (scale 0.000222007, zero point -13255) */
static const tb_prelu_params l4_params = {
    .pixels = 64,
    .c = 16,
    .breakpoint = tb_l4_node_sub_breakpoint,
    .mult_pos = tb_l4_node_sub_mult_pos,
    .offset_pos = tb_l4_node_sub_offset_pos,
    .mult_neg = tb_l4_node_sub_mult_neg,
    .offset_neg = tb_l4_node_sub_offset_neg,
    .shift = tb_l4_node_sub_shift,
};

/* layer 5: "node_avg_pool2d", avgpool int16
 * reads layer 4 ("node_sub")
 * 8x8x16 -> 4x4x16, kernel 2x2, stride 2x2, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000131266, zero point -13611) */
static const tb_avgpool_params l5_params = {
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
    .input_zero_point = -13255,
    .multiplier = 907993345,
    .offset = INT64_C(-29228326191104),
    .shift = 31,
};

/* layer 6: "node_add_3", binarize int16 -> bits
 * reads layer 4 ("node_sub")
 * 8x8x16: bit = (x' < tau) per channel */
static const tb_binarize_params l6_params = {
    .pixels = 64,
    .c = 16,
    .thresholds = tb_l6_node_add_3_thresholds,
    .flip = tb_l6_node_add_3_flip,
};

/* layer 7: "node_Conv_87", conv2d b1 x b1 -> int16
 * reads layer 6 ("node_add_3")
 * 8x8x16 -> 4x4x16, kernel 3x3, stride 2x2, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l7_params = {
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
static const tb_out_params l7_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l7_node_conv_87_multiplier,
    .offset = tb_l7_node_conv_87_offset,
    .shift = tb_l7_node_conv_87_shift,
};

/* layer 8: "node_add_4", add int16
 * reads layer 7 ("node_Conv_87"), layer 5 ("node_avg_pool2d")
 * 4x4x16 + 4x4x16 -> int16 stream (scale 0.000303585, zero point -5734) */
static const tb_add_params l8_params = {
    .size = 256,
    .mult_a = 820918958,
    .mult_b = 464272365,
    .offset = INT64_C(2077295422669),
    .shift = 30,
};

/* layer 9: "node_Conv_89", conv2d b1 x b1 -> int16
 * reads layer 6 ("node_add_3")
 * 8x8x16 -> 4x4x16, kernel 3x3, stride 2x2, dilation 1x1, pads t1 l1 b1 r1 (zero) */
static const tb_conv2d_params l9_params = {
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
static const tb_out_params l9_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l9_node_conv_89_multiplier,
    .offset = tb_l9_node_conv_89_offset,
    .shift = tb_l9_node_conv_89_shift,
};

/* layer 10: "node_add_5", add int16
 * reads layer 9 ("node_Conv_89"), layer 5 ("node_avg_pool2d")
 * 4x4x16 + 4x4x16 -> int16 stream (scale 0.000303585, zero point -5734) */
static const tb_add_params l10_params = {
    .size = 256,
    .mult_a = 850310033,
    .mult_b = 464272365,
    .offset = INT64_C(500485496132),
    .shift = 30,
};

/* layer 11: "node_cat", concat int16 (2 inputs)
 * reads layer 8 ("node_add_4"), layer 10 ("node_add_5")
 * 4x4x16 + 4x4x16 -> 4x4x32, channels laid end to end */
static const tb_concat_params l11_params[2] = {
    { .pixels = 16, .in_c = 16, .out_c = 32, .offset_c = 0 }, /* layer 8 ("node_add_4") */
    { .pixels = 16, .in_c = 16, .out_c = 32, .offset_c = 16 }, /* layer 10 ("node_add_5") */
};

/* layer 12: "node_sub_1", prelu int16
 * reads layer 11 ("node_cat")
 * 4x4x32, two affine pieces per channel -> int16 stream (scale 0.000266124, zero point -11758) */
static const tb_prelu_params l12_params = {
    .pixels = 16,
    .c = 32,
    .breakpoint = tb_l12_node_sub_1_breakpoint,
    .mult_pos = tb_l12_node_sub_1_mult_pos,
    .offset_pos = tb_l12_node_sub_1_offset_pos,
    .mult_neg = tb_l12_node_sub_1_mult_neg,
    .offset_neg = tb_l12_node_sub_1_offset_neg,
    .shift = tb_l12_node_sub_1_shift,
};

/* layer 13: "node_add_7", binarize int16 -> bits
 * reads layer 12 ("node_sub_1")
 * 4x4x32: bit = (x' < tau) per channel */
static const tb_binarize_params l13_params = {
    .pixels = 16,
    .c = 32,
    .thresholds = tb_l13_node_add_7_thresholds,
    .flip = tb_l13_node_add_7_flip,
};

/* layer 14: "node_Conv_91", conv2d b1 x b1 -> int16
 * reads layer 13 ("node_add_7")
 * 4x4x32 -> 4x4x32, kernel 1x1, stride 1x1, dilation 1x1, pads t0 l0 b0 r0 (zero) */
static const tb_conv2d_params l14_params = {
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
static const tb_out_params l14_out = {
    .kind = TB_OUT_S16,
    .thresholds = NULL,
    .flip = NULL,
    .multiplier = tb_l14_node_conv_91_multiplier,
    .offset = tb_l14_node_conv_91_offset,
    .shift = tb_l14_node_conv_91_shift,
};

/* layer 15: "node_add_8", add int16
 * reads layer 14 ("node_Conv_91"), layer 12 ("node_sub_1")
 * 4x4x32 + 4x4x32 -> int16 stream (scale 0.000417667, zero point -7714) */
static const tb_add_params l15_params = {
    .size = 512,
    .mult_a = 564927415,
    .mult_b = 684153135,
    .offset = INT64_C(1292918299492),
    .shift = 30,
};

/* layer 16: "node_sub_2", prelu int16
 * reads layer 15 ("node_add_8")
 * 4x4x32, two affine pieces per channel -> int16 stream (scale 0.000397494, zero point -9600) */
static const tb_prelu_params l16_params = {
    .pixels = 16,
    .c = 32,
    .breakpoint = tb_l16_node_sub_2_breakpoint,
    .mult_pos = tb_l16_node_sub_2_mult_pos,
    .offset_pos = tb_l16_node_sub_2_offset_pos,
    .mult_neg = tb_l16_node_sub_2_mult_neg,
    .offset_neg = tb_l16_node_sub_2_offset_neg,
    .shift = tb_l16_node_sub_2_shift,
};

/* layer 17: "node_mean", avgpool int16
 * reads layer 16 ("node_sub_2")
 * 4x4x32 -> 1x1x32, kernel 4x4, stride 1x1, pads t0 l0 b0 r0 (zeros), -> int16 stream (scale 0.000149389, zero point -6336) */
static const tb_avgpool_params l17_params = {
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
    .input_zero_point = -9600,
    .multiplier = 714252703,
    .offset = INT64_C(-27210765303808),
    .shift = 32,
};

/* layer 18: "node_linear", dense s16 x s8 -> int32
 * reads layer 17 ("node_mean")
 * 1x32 -> 10, input zero point -6336 */
static const tb_dense_params l18_params = {
    .in_pixels = 1,
    .in_c = 32,
    .out_c = 10,
    .input_zero_point = -6336,
};
static const tb_out_params l18_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "node_Conv_83",
    "node_add",
    "node_Conv_85",
    "node_add_1",
    "node_sub",
    "node_avg_pool2d",
    "node_add_3",
    "node_Conv_87",
    "node_add_4",
    "node_Conv_89",
    "node_add_5",
    "node_cat",
    "node_sub_1",
    "node_add_7",
    "node_Conv_91",
    "node_add_8",
    "node_sub_2",
    "node_mean",
    "node_linear",
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
    L17_OUT_BYTES,
    L18_OUT_BYTES,
};

/* ---- the layer sequence ---------------------------------------------------------------------- */

int tb_model_run_hooked(const int8_t *input, int32_t *output, tb_layer_hook hook, void *hook_ctx)
{
    tb_context ctx;
    tb_status status;

    if (input == NULL || output == NULL)
        return TB_MODEL_ERR_ARG;
    memcpy(ARENA_AT(INPUT_OFFSET), input, TB_MODEL_INPUT_BYTES);

    /* layer 0: "node_Conv_83" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_conv2d_s8_pairs(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_node_conv_83_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "node_add" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l1_params, (const int16_t *)ARENA_AT(L0_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "node_Conv_85" */
    ctx.buf = ARENA_AT(L2_SCRATCH_OFFSET);
    ctx.size = L2_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_node_conv_85_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "node_add_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l3_params, (const int16_t *)ARENA_AT(L2_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L0_OUT_OFFSET), (int16_t *)ARENA_AT(L3_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, ARENA_AT(L3_OUT_OFFSET), L3_OUT_BYTES, hook_ctx);

    /* layer 4: "node_sub" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_prelu_s16_opt(&ctx, &l4_params, (const int16_t *)ARENA_AT(L3_OUT_OFFSET),
        (int16_t *)ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "node_avg_pool2d" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l5_params, (const int16_t *)ARENA_AT(L4_OUT_OFFSET),
        (int16_t *)ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "node_add_3" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l6_params, (const int16_t *)ARENA_AT(L4_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "node_Conv_87" */
    ctx.buf = ARENA_AT(L7_SCRATCH_OFFSET);
    ctx.size = L7_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l7_params, &l7_out, (const uint32_t *)ARENA_AT(L6_OUT_OFFSET),
        tb_l7_node_conv_87_weights, ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "node_add_4" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l8_params, (const int16_t *)ARENA_AT(L7_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L5_OUT_OFFSET), (int16_t *)ARENA_AT(L8_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(8, ARENA_AT(L8_OUT_OFFSET), L8_OUT_BYTES, hook_ctx);

    /* layer 9: "node_Conv_89" */
    ctx.buf = ARENA_AT(L9_SCRATCH_OFFSET);
    ctx.size = L9_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_armv6m(&ctx, &l9_params, &l9_out, (const uint32_t *)ARENA_AT(L6_OUT_OFFSET),
        tb_l9_node_conv_89_weights, ARENA_AT(L9_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(9, ARENA_AT(L9_OUT_OFFSET), L9_OUT_BYTES, hook_ctx);

    /* layer 10: "node_add_5" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l10_params, (const int16_t *)ARENA_AT(L9_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L5_OUT_OFFSET), (int16_t *)ARENA_AT(L10_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(10, ARENA_AT(L10_OUT_OFFSET), L10_OUT_BYTES, hook_ctx);

    /* layer 11: "node_cat" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_concat_s16(&ctx, &l11_params[0], (const int16_t *)ARENA_AT(L8_OUT_OFFSET),
        (int16_t *)ARENA_AT(L11_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    status = tb_concat_s16(&ctx, &l11_params[1], (const int16_t *)ARENA_AT(L10_OUT_OFFSET),
        (int16_t *)ARENA_AT(L11_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(11, ARENA_AT(L11_OUT_OFFSET), L11_OUT_BYTES, hook_ctx);

    /* layer 12: "node_sub_1" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_prelu_s16_opt(&ctx, &l12_params, (const int16_t *)ARENA_AT(L11_OUT_OFFSET),
        (int16_t *)ARENA_AT(L12_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(12, ARENA_AT(L12_OUT_OFFSET), L12_OUT_BYTES, hook_ctx);

    /* layer 13: "node_add_7" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_binarize_s16_opt(&ctx, &l13_params, (const int16_t *)ARENA_AT(L12_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L13_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(13, ARENA_AT(L13_OUT_OFFSET), L13_OUT_BYTES, hook_ctx);

    /* layer 14: "node_Conv_91" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_conv2d_b1b1_short(&ctx, &l14_params, &l14_out, (const uint32_t *)ARENA_AT(L13_OUT_OFFSET),
        tb_l14_node_conv_91_weights, ARENA_AT(L14_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(14, ARENA_AT(L14_OUT_OFFSET), L14_OUT_BYTES, hook_ctx);

    /* layer 15: "node_add_8" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_add_s16_opt(&ctx, &l15_params, (const int16_t *)ARENA_AT(L14_OUT_OFFSET),
        (const int16_t *)ARENA_AT(L12_OUT_OFFSET), (int16_t *)ARENA_AT(L15_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(15, ARENA_AT(L15_OUT_OFFSET), L15_OUT_BYTES, hook_ctx);

    /* layer 16: "node_sub_2" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_prelu_s16_opt(&ctx, &l16_params, (const int16_t *)ARENA_AT(L15_OUT_OFFSET),
        (int16_t *)ARENA_AT(L16_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(16, ARENA_AT(L16_OUT_OFFSET), L16_OUT_BYTES, hook_ctx);

    /* layer 17: "node_mean" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_avgpool_s16_opt(&ctx, &l17_params, (const int16_t *)ARENA_AT(L16_OUT_OFFSET),
        (int16_t *)ARENA_AT(L17_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(17, ARENA_AT(L17_OUT_OFFSET), L17_OUT_BYTES, hook_ctx);

    /* layer 18: "node_linear" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_dense_s16s8_opt(&ctx, &l18_params, &l18_out, (const int16_t *)ARENA_AT(L17_OUT_OFFSET),
        tb_l18_node_linear_weights, output);
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(18, output, L18_OUT_BYTES, hook_ctx);
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
