/*
 * tb_kernels_opt_stream.h - optimized kernels of the real-valued streams, every family (portable C).
 *
 * Same params, outputs, statuses and buffer rules as the reference kernels of tb_kernels_stream.h (whose params
 * structs they take); copied into a model only when it runs them. No scratch (ctx may be NULL).
 */
#ifndef TB_KERNELS_OPT_STREAM_H
#define TB_KERNELS_OPT_STREAM_H

#include <stdint.h>

#include "tb_kernels.h"
#include "tb_kernels_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * tb_add_s8 / tb_add_s16, bit for bit: y[i] = clamp(floor((a[i] * mult_a + b[i] * mult_b + offset) / 2^shift)).
 * When 16 <= shift and the sum times 2^k (k = 32 - shift when shift < 32, else 0) provably fits 63 bits, the
 * inputs are scaled by 2^k before the multiply-accumulate so that the floor shift is the high word of the
 * 64-bit sum (two SMLAL and one saturation per element on Thumb-2); other constants take the reference loop.
 * y may be a or b.
 */
tb_status tb_add_s8_opt(const tb_context *ctx, const tb_add_params *params, const int8_t *a, const int8_t *b,
                        int8_t *y);
tb_status tb_add_s16_opt(const tb_context *ctx, const tb_add_params *params, const int16_t *a, const int16_t *b,
                         int16_t *y);

/**
 * tb_binarize_s8 / tb_binarize_s16, bit for bit: bit c of pixel p = (x' < tau[c]) with x' = ~x where flip[c],
 * computed as (x < t[c]) XOR flip[c] with the thresholds folded with the flips once per call (t = tau, or -tau
 * where flip, tau clamped to the codes' range first); each output word built in a register and stored once.
 */
tb_status tb_binarize_s8_opt(const tb_context *ctx, const tb_binarize_params *params, const int8_t *input,
                             uint32_t *output);
tb_status tb_binarize_s16_opt(const tb_context *ctx, const tb_binarize_params *params, const int16_t *input,
                              uint32_t *output);

/**
 * tb_avgpool_s8 / tb_avgpool_s16, bit for bit: the window clipped once per output pixel, and, when 16 <= shift
 * and every window sum times 2^k (k = 32 - shift, or 0) fits an int32 with the whole sum within 62 bits, the
 * requantization as the high word of one SMLAL (the reference's 64-bit floor shift otherwise).
 */
tb_status tb_avgpool_s8_opt(const tb_context *ctx, const tb_avgpool_params *params, const int8_t *input,
                            int8_t *output);
tb_status tb_avgpool_s16_opt(const tb_context *ctx, const tb_avgpool_params *params, const int16_t *input,
                             int16_t *output);

/**
 * tb_prelu_s8 / tb_prelu_s16, bit for bit: channel by channel with the pixels inner, each channel's constants
 * planned once (the high-word requantization where they allow it, as tb_add_s16_opt). output may be input.
 */
tb_status tb_prelu_s8_opt(const tb_context *ctx, const tb_prelu_params *params, const int8_t *input,
                          int8_t *output);
tb_status tb_prelu_s16_opt(const tb_context *ctx, const tb_prelu_params *params, const int16_t *input,
                           int16_t *output);

/** Scratch bytes needed by tb_conv2d_s16s8_opt / tb_dense_s16s8_opt: always 0. */
int32_t tb_conv2d_s16s8_opt_get_buffer_size(const tb_conv2d_params *params);
int32_t tb_dense_s16s8_opt_get_buffer_size(const tb_dense_params *params);

/**
 * tb_conv2d_s16s8 / tb_dense_s16s8, bit for bit (tb_s16s8_opt.c): acc = sum w * x - input_zero_point * sum w
 * over the valid taps in wrapping 32-bit sums (exact under the reference's bound), two inputs per 32-bit load,
 * two output channels per input load; with the DSP extension (SIMD32) two SMLAD per 4 products and two for
 * sum w. Weights as the reference's (int8, OHWI); the reference output stage.
 */
tb_status tb_conv2d_s16s8_opt(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                              const int16_t *input, const int8_t *weights, void *output);
tb_status tb_dense_s16s8_opt(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                             const int16_t *input, const int8_t *weights, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_OPT_STREAM_H */
