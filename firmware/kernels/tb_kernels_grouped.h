/*
 * tb_kernels_grouped.h - tinybnn portable C99 REFERENCE kernels of grouped and depthwise convolutions.
 *
 * A grouped conv splits the C input and O output channels into G groups: output channel o sees only the
 * C/G input channels of its group g = o / (O/G), [g * C/G, (g + 1) * C/G). G = 1 is the ordinary conv
 * (tb_conv2d_b1b1, tb_conv2d_s8s8 give the same outputs); G = C is the depthwise conv of DS-CNN (the MLPerf
 * Tiny keyword-spotting model) and MobileNet-style networks, each output reading one input channel.
 *
 * Conventions are those of tb_kernels.h: layout HWC per sample, geometry and padding as tb_conv2d_params
 * (in_c and out_c are the whole layer's channels), the fused output stage of tb_out_params, packed binary
 * tensors and word buffers 4-byte aligned, int8 buffers any alignment, int16 ones 2-byte aligned. Weights are
 * OHWI over the group's channels only: each output's filter is KH x KW taps of C/G channels. No scratch
 * (<fn>_get_buffer_size() returns 0, ctx may be NULL), a tb_status return: TB_ERR_ARG for a NULL pointer, an
 * inconsistent geometry, groups < 1 or not dividing both in_c and out_c, an unsupported option; TB_ERR_ALIGN
 * for a misaligned buffer. Inputs, weights and outputs must not overlap.
 */
#ifndef TB_KERNELS_GROUPED_H
#define TB_KERNELS_GROUPED_H

#include <stdint.h>

#include "tb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Parameters of the grouped conv2d family (tb_conv2d_grouped_b1b1, _s8s8, _s16s8). */
typedef struct {
    tb_conv2d_params conv; /**< geometry, padding, input zero point; in_c = C and out_c = O are the WHOLE
                                layer's channels */
    int32_t groups;        /**< G >= 1, divides in_c and out_c; output o reads input channels
                                [g * C/G, (g + 1) * C/G) with g = o / (O / G) */
} tb_grouped_conv2d_params;

/** Scratch bytes needed by tb_conv2d_grouped_b1b1: always 0. */
int32_t tb_conv2d_grouped_b1b1_get_buffer_size(const tb_grouped_conv2d_params *params);

/**
 * Grouped binary conv2d: packed binary input x packed binary weights (XNOR-popcount within each group).
 *
 * acc[oy][ox][o] = sum over taps of (C/G - 2 * popcount(x_g XOR w_tap)), x_g the C/G channel bits of group g
 * of the input pixel (starting at bit g * C/G, in general not at a word boundary). Padded taps as in
 * tb_conv2d_b1b1: skipped (TB_PAD_ZERO), +1 on every channel (TB_PAD_ONE), -1 on the group's C/G channels
 * (TB_PAD_MINUS_ONE).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry (params->conv.pad selects the padding value) and groups
 * @param out     output stage (bits with thresholds and flip mask, int32, or a requantized code)
 * @param input   uint32_t[in_h][in_w][TB_WORDS(in_c)]: all C channels packed per pixel, 4-byte aligned, tail
 *                bits 0
 * @param weights uint32_t[out_c][kernel_h][kernel_w][TB_WORDS(in_c / groups)]: each tap's C/G bits packed from
 *                bit 0, 4-byte aligned, tail bits 0
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_conv2d_grouped_b1b1(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                 const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                                 void *output);

/** Scratch bytes needed by tb_conv2d_grouped_s8s8: always 0 (no im2col column). */
int32_t tb_conv2d_grouped_s8s8_get_buffer_size(const tb_grouped_conv2d_params *params);

/**
 * Grouped int8 conv2d: int8 input x int8 weights.
 *
 * acc[oy][ox][o] = sum over valid taps and the group's C/G channels c of w * (x[g * C/G + c] -
 * input_zero_point); padded taps contribute 0. Accumulates in int32: the caller guarantees
 * kernel_h * kernel_w * (in_c / groups) * 128 * max|x - zp| < 2^31.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry, input_zero_point in [-32640, 32639] and groups; params->conv.pad must be
 *                TB_PAD_ZERO
 * @param out     output stage
 * @param input   int8_t[in_h][in_w][in_c]
 * @param weights int8_t[out_c][kernel_h][kernel_w][in_c / groups]
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_conv2d_grouped_s8s8(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                 const tb_out_params *out, const int8_t *input, const int8_t *weights,
                                 void *output);

/** Scratch bytes needed by tb_conv2d_grouped_s16s8: always 0. */
int32_t tb_conv2d_grouped_s16s8_get_buffer_size(const tb_grouped_conv2d_params *params);

/**
 * Grouped conv2d of an int16 stream: int16 input x int8 weights (a depthwise conv on an int16 real-valued
 * stream), the sum of tb_conv2d_grouped_s8s8 on int16 codes.
 *
 * acc[oy][ox][o] = sum over valid taps and the group's C/G channels c of w * (x[g * C/G + c] -
 * input_zero_point); padded taps contribute 0. Accumulates in int32: the caller guarantees
 * kernel_h * kernel_w * (in_c / groups) * 128 * max|x - zp| < 2^31.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry, input_zero_point (any int16 value) and groups; params->conv.pad must be
 *                TB_PAD_ZERO
 * @param out     output stage
 * @param input   int16_t[in_h][in_w][in_c], 2-byte aligned
 * @param weights int8_t[out_c][kernel_h][kernel_w][in_c / groups]
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_conv2d_grouped_s16s8(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                  const tb_out_params *out, const int16_t *input, const int8_t *weights,
                                  void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_GROUPED_H */
