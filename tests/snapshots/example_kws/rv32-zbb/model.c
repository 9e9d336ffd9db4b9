/*
 * model.c - tinybnn model generated from "kws_bnn.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 49f17d135eaa6e2a.
 *
 * Layers (device layout HWC; bits are packed 32-bit words along the channels):
 *    0  /1/Conv      tb_conv2d_s8b1_ss       conv2d s8 x b1 -> bits
 *    1  /3/MaxPool   tb_maxpool_b1_opt       maxpool b1 (AND)
 *    2  /5/Conv      tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> bits
 *    3  /7/MaxPool   tb_maxpool_b1_opt       maxpool b1 (AND)
 *    4  /9/Conv      tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> bits
 *    5  /11/MaxPool  tb_maxpool_b1_opt       maxpool b1 (AND)
 *    6  /13/Conv     tb_conv2d_b1b1_rv32zbb  conv2d b1 x b1 -> bits
 *    7  /15/MaxPool  tb_maxpool_b1_opt       maxpool b1 (AND)
 *    8  /18/MatMul   tb_dense_b1b1_rv32zbb   dense b1 x b1 -> int32
 *
 * Memory plan (greedy), arena 3340 bytes (lower bound 3340):
 *   offset   bytes  buffer        live at layers
 *        0    2064  L0.scratch    0..0
 *        0    2176  L2.scratch    2..2
 *        0    2176  L4.scratch    4..4
 *        0    2176  L6.scratch    6..6
 *        0     356  L8.scratch    8..8
 *      356      48  L7.out        7..8
 *     2064     784  L0.out        0..1
 *     2176     384  L2.out        2..3
 *     2176     192  L4.out        4..5
 *     2176      96  L6.out        6..7
 *     2368      96  L5.out        5..6
 *     2560     192  L3.out        3..4
 *     2848     384  L1.out        1..2
 *     2848     492  input         0..0
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
#define INPUT_OFFSET 2848u
#define L0_OUT_OFFSET 2064u
#define L0_OUT_BYTES 784u
#define L0_SCRATCH_OFFSET 0u
#define L0_SCRATCH_BYTES 2064
#define L1_OUT_OFFSET 2848u
#define L1_OUT_BYTES 384u
#define L2_OUT_OFFSET 2176u
#define L2_OUT_BYTES 384u
#define L2_SCRATCH_OFFSET 0u
#define L2_SCRATCH_BYTES 2176
#define L3_OUT_OFFSET 2560u
#define L3_OUT_BYTES 192u
#define L4_OUT_OFFSET 2176u
#define L4_OUT_BYTES 192u
#define L4_SCRATCH_OFFSET 0u
#define L4_SCRATCH_BYTES 2176
#define L5_OUT_OFFSET 2368u
#define L5_OUT_BYTES 96u
#define L6_OUT_OFFSET 2176u
#define L6_OUT_BYTES 96u
#define L6_SCRATCH_OFFSET 0u
#define L6_SCRATCH_BYTES 2176
#define L7_OUT_OFFSET 356u
#define L7_OUT_BYTES 48u
#define L8_OUT_BYTES TB_MODEL_OUTPUT_BYTES
#define L8_SCRATCH_OFFSET 0u
#define L8_SCRATCH_BYTES 356

/* ---- layer parameters ------------------------------------------------------------------------ */

/* layer 0: "/1/Conv", conv2d s8 x b1 -> bits
 * 49x1x10 -> 49x1x128, kernel 5x1, stride 1x1, dilation 1x1, pads t2 l0 b2 r0 (zero), input zero point 0 */
static const tb_conv2d_params l0_params = {
    .in_h = 49,
    .in_w = 1,
    .in_c = 10,
    .out_h = 49,
    .out_w = 1,
    .out_c = 128,
    .kernel_h = 5,
    .kernel_w = 1,
    .stride_h = 1,
    .stride_w = 1,
    .dilation_h = 1,
    .dilation_w = 1,
    .pad_top = 2,
    .pad_left = 0,
    .pad_bottom = 2,
    .pad_right = 0,
    .pad = TB_PAD_ZERO,
    .input_zero_point = 0,
};
static const tb_out_params l0_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l0_1_conv_thresholds,
    .flip = tb_l0_1_conv_flip,
};

/* layer 1: "/3/MaxPool", maxpool b1 (AND)
 * 49x1x128 -> 24x1x128, kernel 2x1, stride 2x1, pads t0 l0 b0 r0 (ignored) */
static const tb_maxpool_params l1_params = {
    .in_h = 49,
    .in_w = 1,
    .c = 128,
    .out_h = 24,
    .out_w = 1,
    .kernel_h = 2,
    .kernel_w = 1,
    .stride_h = 2,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .or_mask = NULL,
};

/* layer 2: "/5/Conv", conv2d b1 x b1 -> bits
 * 24x1x128 -> 24x1x128, kernel 3x1, stride 1x1, dilation 1x1, pads t1 l0 b1 r0 (zero) */
static const tb_conv2d_params l2_params = {
    .in_h = 24,
    .in_w = 1,
    .in_c = 128,
    .out_h = 24,
    .out_w = 1,
    .out_c = 128,
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
    .kind = TB_OUT_BITS,
    .thresholds = tb_l2_5_conv_thresholds,
    .flip = tb_l2_5_conv_flip,
};

/* layer 3: "/7/MaxPool", maxpool b1 (AND)
 * 24x1x128 -> 12x1x128, kernel 2x1, stride 2x1, pads t0 l0 b0 r0 (ignored) */
static const tb_maxpool_params l3_params = {
    .in_h = 24,
    .in_w = 1,
    .c = 128,
    .out_h = 12,
    .out_w = 1,
    .kernel_h = 2,
    .kernel_w = 1,
    .stride_h = 2,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .or_mask = NULL,
};

/* layer 4: "/9/Conv", conv2d b1 x b1 -> bits
 * 12x1x128 -> 12x1x128, kernel 3x1, stride 1x1, dilation 1x1, pads t1 l0 b1 r0 (zero) */
static const tb_conv2d_params l4_params = {
    .in_h = 12,
    .in_w = 1,
    .in_c = 128,
    .out_h = 12,
    .out_w = 1,
    .out_c = 128,
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
static const tb_out_params l4_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l4_9_conv_thresholds,
    .flip = tb_l4_9_conv_flip,
};

/* layer 5: "/11/MaxPool", maxpool b1 (AND)
 * 12x1x128 -> 6x1x128, kernel 2x1, stride 2x1, pads t0 l0 b0 r0 (ignored) */
static const tb_maxpool_params l5_params = {
    .in_h = 12,
    .in_w = 1,
    .c = 128,
    .out_h = 6,
    .out_w = 1,
    .kernel_h = 2,
    .kernel_w = 1,
    .stride_h = 2,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .or_mask = NULL,
};

/* layer 6: "/13/Conv", conv2d b1 x b1 -> bits
 * 6x1x128 -> 6x1x128, kernel 3x1, stride 1x1, dilation 1x1, pads t1 l0 b1 r0 (zero) */
static const tb_conv2d_params l6_params = {
    .in_h = 6,
    .in_w = 1,
    .in_c = 128,
    .out_h = 6,
    .out_w = 1,
    .out_c = 128,
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
static const tb_out_params l6_out = {
    .kind = TB_OUT_BITS,
    .thresholds = tb_l6_13_conv_thresholds,
    .flip = tb_l6_13_conv_flip,
};

/* layer 7: "/15/MaxPool", maxpool b1 (AND)
 * 6x1x128 -> 3x1x128, kernel 2x1, stride 2x1, pads t0 l0 b0 r0 (ignored) */
static const tb_maxpool_params l7_params = {
    .in_h = 6,
    .in_w = 1,
    .c = 128,
    .out_h = 3,
    .out_w = 1,
    .kernel_h = 2,
    .kernel_w = 1,
    .stride_h = 2,
    .stride_w = 1,
    .pad_top = 0,
    .pad_left = 0,
    .pad_bottom = 0,
    .pad_right = 0,
    .or_mask = NULL,
};

/* layer 8: "/18/MatMul", dense b1 x b1 -> int32
 * 3x128 -> 12 (a flattened 3-pixel tensor) */
static const tb_dense_params l8_params = {
    .in_pixels = 3,
    .in_c = 128,
    .out_c = 12,
    .input_zero_point = 0,
};
static const tb_out_params l8_out = {
    .kind = TB_OUT_S32,
    .thresholds = NULL,
    .flip = NULL,
};

/* ---- tables ---------------------------------------------------------------------------------- */

const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS] = {
    "/1/Conv",
    "/3/MaxPool",
    "/5/Conv",
    "/7/MaxPool",
    "/9/Conv",
    "/11/MaxPool",
    "/13/Conv",
    "/15/MaxPool",
    "/18/MatMul",
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

    /* layer 0: "/1/Conv" */
    ctx.buf = ARENA_AT(L0_SCRATCH_OFFSET);
    ctx.size = L0_SCRATCH_BYTES;
    status = tb_conv2d_s8b1_ss(&ctx, &l0_params, &l0_out, (const int8_t *)ARENA_AT(INPUT_OFFSET),
        tb_l0_1_conv_weights, ARENA_AT(L0_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(0, ARENA_AT(L0_OUT_OFFSET), L0_OUT_BYTES, hook_ctx);

    /* layer 1: "/3/MaxPool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_maxpool_b1_opt(&ctx, &l1_params, (const uint32_t *)ARENA_AT(L0_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L1_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(1, ARENA_AT(L1_OUT_OFFSET), L1_OUT_BYTES, hook_ctx);

    /* layer 2: "/5/Conv" */
    ctx.buf = ARENA_AT(L2_SCRATCH_OFFSET);
    ctx.size = L2_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l2_params, &l2_out, (const uint32_t *)ARENA_AT(L1_OUT_OFFSET),
        tb_l2_5_conv_weights, ARENA_AT(L2_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(2, ARENA_AT(L2_OUT_OFFSET), L2_OUT_BYTES, hook_ctx);

    /* layer 3: "/7/MaxPool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_maxpool_b1_opt(&ctx, &l3_params, (const uint32_t *)ARENA_AT(L2_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L3_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(3, ARENA_AT(L3_OUT_OFFSET), L3_OUT_BYTES, hook_ctx);

    /* layer 4: "/9/Conv" */
    ctx.buf = ARENA_AT(L4_SCRATCH_OFFSET);
    ctx.size = L4_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l4_params, &l4_out, (const uint32_t *)ARENA_AT(L3_OUT_OFFSET),
        tb_l4_9_conv_weights, ARENA_AT(L4_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(4, ARENA_AT(L4_OUT_OFFSET), L4_OUT_BYTES, hook_ctx);

    /* layer 5: "/11/MaxPool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_maxpool_b1_opt(&ctx, &l5_params, (const uint32_t *)ARENA_AT(L4_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L5_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(5, ARENA_AT(L5_OUT_OFFSET), L5_OUT_BYTES, hook_ctx);

    /* layer 6: "/13/Conv" */
    ctx.buf = ARENA_AT(L6_SCRATCH_OFFSET);
    ctx.size = L6_SCRATCH_BYTES;
    status = tb_conv2d_b1b1_rv32zbb(&ctx, &l6_params, &l6_out, (const uint32_t *)ARENA_AT(L5_OUT_OFFSET),
        tb_l6_13_conv_weights, ARENA_AT(L6_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(6, ARENA_AT(L6_OUT_OFFSET), L6_OUT_BYTES, hook_ctx);

    /* layer 7: "/15/MaxPool" */
    ctx.buf = NULL;
    ctx.size = 0;
    status = tb_maxpool_b1_opt(&ctx, &l7_params, (const uint32_t *)ARENA_AT(L6_OUT_OFFSET),
        (uint32_t *)ARENA_AT(L7_OUT_OFFSET));
    if (status != TB_OK)
        return (int)status;
    if (hook != NULL)
        hook(7, ARENA_AT(L7_OUT_OFFSET), L7_OUT_BYTES, hook_ctx);

    /* layer 8: "/18/MatMul" */
    ctx.buf = ARENA_AT(L8_SCRATCH_OFFSET);
    ctx.size = L8_SCRATCH_BYTES;
    status = tb_dense_b1b1_rv32zbb(&ctx, &l8_params, &l8_out, (const uint32_t *)ARENA_AT(L7_OUT_OFFSET),
        tb_l8_18_matmul_weights, output);
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
