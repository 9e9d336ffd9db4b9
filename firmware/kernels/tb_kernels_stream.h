/*
 * tb_kernels_stream.h - tinybnn portable C99 REFERENCE kernels of the real-valued (int8, int16) stream.
 *
 * Modern BNNs (Bi-Real Net, ReActNet, QuickNet) carry a real-valued tensor beside the binary one: the
 * residual stream, the shortcuts' average pools, the PReLU/RPReLU activations. tinybnn keeps it as int8
 * codes, or int16 ones where int8 would flip decisions (the converter decides per network), the real value
 * being scale * (q - zero_point) per tensor. Every kernel here that writes such a code ends in the one
 * requantization rule (tinybnn/ir/requant.py, tb_requantize in tb_kernels_internal.h):
 *
 *     y = clamp(floor((v * multiplier + offset) / 2^shift), lo, hi)
 *
 * with v the op's exact integer sum, computed in 64 bits with a floor shift, and [lo, hi] = [-128, 127] for
 * the int8 kernels (_s8), [-32768, 32767] for their int16 twins (_s16), which take the same params structs
 * and compute the same sums. The converter chooses the
 * constants so that |v * multiplier| + |offset| < 2^62 (|a * mult_a| + |b * mult_b| + |offset| for the add)
 * and shift in [0, 62]; the kernels check the shift range, not the bound.
 *
 * Conventions are those of tb_kernels.h: layout HWC per sample, int8 tensors int8_t[H][W][C] (or [P][C],
 * P pixels) with no alignment requirement, int16 tensors int16_t[H][W][C] 2-byte aligned, packed bits
 * uint32_t[P][TB_WORDS(C)] and per-channel int32 / int64 constants 4-byte aligned, no scratch
 * (<fn>_get_buffer_size() returns 0, ctx may be NULL), a tb_status return (TB_ERR_ARG for a NULL pointer, a
 * non-positive size, an inconsistent shape or a shift out of [0, 62]; TB_ERR_ALIGN for a misaligned word or
 * int16 buffer). Inputs and outputs must not overlap (tb_add_s8 / tb_add_s16: y may be a or b; tb_prelu_s8 /
 * tb_prelu_s16: output may be input).
 *
 * The full-precision layers that read an int16 stream (tb_conv2d_s16s8, tb_dense_s16s8: a 1x1 shortcut conv,
 * the head Gemm after a global pool) are declared here too; their params and output stage are tb_kernels.h's.
 */
#ifndef TB_KERNELS_STREAM_H
#define TB_KERNELS_STREAM_H

#include <stdint.h>

#include "tb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parameters of tb_add_s8 / tb_add_s16 (as CMSIS-NN's arm_elementwise_add_s8): the two inputs' steps over
 * the output's scale are mult_a / 2^shift and mult_b / 2^shift; their zero points, the output's and the
 * rounding half are folded into offset.
 */
typedef struct {
    int32_t size;   /**< n >= 1 elements */
    int32_t mult_a; /**< multiplier of a */
    int32_t mult_b; /**< multiplier of b */
    int64_t offset; /**< added to the 64-bit sum of the products */
    int32_t shift;  /**< in [0, 62] */
} tb_add_params;

/**
 * Parameters of tb_avgpool_s8 / tb_avgpool_s16. out = (in + pad_before + pad_after - kernel) / stride + 1 per axis (the
 * formula of tb_maxpool_params). A global average pool is kernel_h = in_h, kernel_w = in_w, no pads.
 */
typedef struct {
    int32_t in_h, in_w, c;           /**< input shape (H, W, C), all >= 1 */
    int32_t out_h, out_w;            /**< output shape (OH, OW, C) */
    int32_t kernel_h, kernel_w;      /**< >= 1 */
    int32_t stride_h, stride_w;      /**< >= 1 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /**< >= 0 */
    int32_t input_zero_point;        /**< in [-32640, 32639] (s8), any int16 value (s16) */
    int32_t multiplier;              /**< per tensor: the real step of the window sum, 1 / (KH * KW) included */
    int64_t offset;                  /**< per tensor: output zero point and rounding half, times 2^shift */
    int32_t shift;                   /**< in [0, 62] */
} tb_avgpool_params;

/**
 * Parameters of tb_binarize_s8 / tb_binarize_s16: the sign of the stream after any monotonic per-channel map,
 * as thresholds.
 */
typedef struct {
    int32_t pixels;            /**< P >= 1 */
    int32_t c;                 /**< C >= 1 */
    const int32_t *thresholds; /**< [C] tau: bit = (x' < tau[c]) */
    const uint32_t *flip;      /**< [TB_WORDS(C)] packed: bit c set => x' = ~x (= -x - 1) for channel c */
} tb_binarize_params;

/**
 * Parameters of tb_prelu_s8 / tb_prelu_s16: a per-channel piecewise affine map of the codes, two pieces split at
 * breakpoint[c]. Equal pieces make it a plain per-channel affine map (a BN on the stream).
 */
typedef struct {
    int32_t pixels;             /**< P >= 1 */
    int32_t c;                  /**< C >= 1 */
    const int32_t *breakpoint;  /**< [C] x >= breakpoint[c] takes the pos piece, else the neg piece */
    const int32_t *mult_pos;    /**< [C] */
    const int64_t *offset_pos;  /**< [C] */
    const int32_t *mult_neg;    /**< [C] */
    const int64_t *offset_neg;  /**< [C] */
    const int32_t *shift;       /**< [C] in [0, 62] */
} tb_prelu_params;

/* ------------------------------------------------------------------------------------------------ */

/** Scratch bytes needed by tb_add_s8: always 0. */
int32_t tb_add_s8_get_buffer_size(const tb_add_params *params);

/**
 * Elementwise add of two int8 streams (the residual add):
 * y[i] = clamp(floor(((int64) a[i] * mult_a + (int64) b[i] * mult_b + offset) / 2^shift), -128, 127).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  size, multipliers, offset, shift
 * @param a       int8_t[size]
 * @param b       int8_t[size]
 * @param y       int8_t[size]; may be a or b (each element is read before it is written)
 * @return TB_OK or TB_ERR_ARG
 */
tb_status tb_add_s8(const tb_context *ctx, const tb_add_params *params, const int8_t *a, const int8_t *b,
                    int8_t *y);

/** Scratch bytes needed by tb_avgpool_s8: always 0. */
int32_t tb_avgpool_s8_get_buffer_size(const tb_avgpool_params *params);

/**
 * Average pool of an int8 stream: per output pixel and channel, v = sum over the window's valid taps of
 * (x - input_zero_point), padded taps contributing 0 (ONNX count_include_pad=1: the divisor KH * KW is in
 * the multiplier), then y = requantize(v, multiplier, offset, shift). int32 sums: the caller guarantees
 * KH * KW * (128 + |input_zero_point|) < 2^31.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry, input zero point, requantization constants
 * @param input   int8_t[in_h][in_w][c]
 * @param output  int8_t[out_h][out_w][c]
 * @return TB_OK or TB_ERR_ARG
 */
tb_status tb_avgpool_s8(const tb_context *ctx, const tb_avgpool_params *params, const int8_t *input,
                        int8_t *output);

/** Scratch bytes needed by tb_maxpool_s8: always 0. */
int32_t tb_maxpool_s8_get_buffer_size(const tb_maxpool_params *params);

/**
 * Max pool of an int8 stream: per output pixel and channel the largest code over the window's valid taps
 * (padded taps are ignored, as ONNX's -inf padding). Every window holds a valid tap: the pads must be
 * smaller than the kernel on their axis. The codes share one scale and zero point, so the max of the codes is
 * the code of the max: no requantization.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry of tb_maxpool_b1; params->or_mask must be NULL
 * @param input   int8_t[in_h][in_w][c]
 * @param output  int8_t[out_h][out_w][c]
 * @return TB_OK or TB_ERR_ARG
 */
tb_status tb_maxpool_s8(const tb_context *ctx, const tb_maxpool_params *params, const int8_t *input,
                        int8_t *output);

/** Scratch bytes needed by tb_binarize_s8: always 0. */
int32_t tb_binarize_s8_get_buffer_size(const tb_binarize_params *params);

/**
 * Sign of an int8 stream, packed: bit c of pixel p = (x' < thresholds[c]) with x' = ~x when bit c of flip is
 * set, else x (x the code): the TB_OUT_BITS rule of the conv/dense output stage with the code as the
 * accumulator. A sign after a per-channel affine map (ReActNet's RSign, a BN) is such a threshold.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  pixels, channels, thresholds and flip mask (4-byte aligned)
 * @param input   int8_t[pixels][c]
 * @param output  uint32_t[pixels][TB_WORDS(c)], 4-byte aligned; tail bits written as 0
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_binarize_s8(const tb_context *ctx, const tb_binarize_params *params, const int8_t *input,
                         uint32_t *output);

/** Scratch bytes needed by tb_prelu_s8: always 0. */
int32_t tb_prelu_s8_get_buffer_size(const tb_prelu_params *params);

/**
 * Per-channel piecewise affine map of an int8 stream (PReLU; ReActNet's RPReLU shift-slope-shift; a plain
 * affine map when both pieces are equal): for the code x of channel c,
 * y = requantize(x, mult_pos[c], offset_pos[c], shift[c]) when x >= breakpoint[c], else
 * requantize(x, mult_neg[c], offset_neg[c], shift[c]).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  pixels, channels and the per-channel constants (4-byte aligned)
 * @param input   int8_t[pixels][c]
 * @param output  int8_t[pixels][c]; may be input (each element is read before it is written)
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_prelu_s8(const tb_context *ctx, const tb_prelu_params *params, const int8_t *input, int8_t *output);

/* ------------------------------------------------------------------------------------------------ */
/* int16 streams: the twins of the int8 kernels above, the same params, the codes clamped to int16.  */

/** Scratch bytes needed by tb_add_s16: always 0. */
int32_t tb_add_s16_get_buffer_size(const tb_add_params *params);

/**
 * Elementwise add of two int16 streams (the residual add):
 * y[i] = clamp(floor(((int64) a[i] * mult_a + (int64) b[i] * mult_b + offset) / 2^shift), -32768, 32767).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  size, multipliers, offset, shift
 * @param a       int16_t[size], 2-byte aligned
 * @param b       int16_t[size], 2-byte aligned
 * @param y       int16_t[size], 2-byte aligned; may be a or b (each element is read before it is written)
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_add_s16(const tb_context *ctx, const tb_add_params *params, const int16_t *a, const int16_t *b,
                     int16_t *y);

/** Scratch bytes needed by tb_avgpool_s16: always 0. */
int32_t tb_avgpool_s16_get_buffer_size(const tb_avgpool_params *params);

/**
 * Average pool of an int16 stream: v = sum over the window's valid taps of (x - input_zero_point), padded
 * taps contributing 0, then y = clamp(floor((v * multiplier + offset) / 2^shift), -32768, 32767).
 * input_zero_point may be any int16 value. int32 sums: the caller guarantees
 * KH * KW * (32768 + |input_zero_point|) < 2^31 (for any zero point: a window of at most 32767 taps).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry, input zero point, requantization constants
 * @param input   int16_t[in_h][in_w][c], 2-byte aligned
 * @param output  int16_t[out_h][out_w][c], 2-byte aligned
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_avgpool_s16(const tb_context *ctx, const tb_avgpool_params *params, const int16_t *input,
                         int16_t *output);

/** Scratch bytes needed by tb_maxpool_s16: always 0. */
int32_t tb_maxpool_s16_get_buffer_size(const tb_maxpool_params *params);

/**
 * Max pool of an int16 stream: per output pixel and channel the largest code over the window's valid taps
 * (padded taps ignored; the pads must be smaller than the kernel on their axis). No requantization.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry of tb_maxpool_b1; params->or_mask must be NULL
 * @param input   int16_t[in_h][in_w][c], 2-byte aligned
 * @param output  int16_t[out_h][out_w][c], 2-byte aligned
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_maxpool_s16(const tb_context *ctx, const tb_maxpool_params *params, const int16_t *input,
                         int16_t *output);

/** Scratch bytes needed by tb_binarize_s16: always 0. */
int32_t tb_binarize_s16_get_buffer_size(const tb_binarize_params *params);

/**
 * Sign of an int16 stream, packed: bit c of pixel p = (x' < thresholds[c]) with x' = ~x when bit c of flip is
 * set, else x (x the code), as tb_binarize_s8.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  pixels, channels, thresholds and flip mask (4-byte aligned)
 * @param input   int16_t[pixels][c], 2-byte aligned
 * @param output  uint32_t[pixels][TB_WORDS(c)], 4-byte aligned; tail bits written as 0
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_binarize_s16(const tb_context *ctx, const tb_binarize_params *params, const int16_t *input,
                          uint32_t *output);

/** Scratch bytes needed by tb_prelu_s16: always 0. */
int32_t tb_prelu_s16_get_buffer_size(const tb_prelu_params *params);

/**
 * Per-channel piecewise affine map of an int16 stream, as tb_prelu_s8 with the int16 clamp:
 * y = requantize(x, mult_pos[c], offset_pos[c], shift[c]) when x >= breakpoint[c], else
 * requantize(x, mult_neg[c], offset_neg[c], shift[c]).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  pixels, channels and the per-channel constants (4-byte aligned)
 * @param input   int16_t[pixels][c], 2-byte aligned
 * @param output  int16_t[pixels][c], 2-byte aligned; may be input (each element is read before it is written)
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_prelu_s16(const tb_context *ctx, const tb_prelu_params *params, const int16_t *input,
                       int16_t *output);

/* ------------------------------------------------------------------------------------------------ */
/* Full-precision layers reading an int16 stream (int8 weights).                                     */

/** Scratch bytes needed by tb_conv2d_s16s8: always 0 (no im2col column). */
int32_t tb_conv2d_s16s8_get_buffer_size(const tb_conv2d_params *params);

/**
 * conv2d of an int16 stream: int16 input x int8 weights (a shortcut conv of a residual network).
 *
 * acc[oy][ox][o] = sum over valid taps and channels of w * (x - input_zero_point); padded taps contribute 0.
 * input_zero_point may be any int16 value. Accumulates in int32: the caller guarantees
 * kernel_h * kernel_w * in_c * 127 * max|x - zp| < 2^31.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry and input_zero_point; params->pad must be TB_PAD_ZERO
 * @param out     output stage (bits, int32, int8 or int16)
 * @param input   int16_t[in_h][in_w][in_c], 2-byte aligned
 * @param weights int8_t[out_c][kernel_h][kernel_w][in_c]
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_conv2d_s16s8(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                          const int16_t *input, const int8_t *weights, void *output);

/** Scratch bytes needed by tb_dense_s16s8: always 0. */
int32_t tb_dense_s16s8_get_buffer_size(const tb_dense_params *params);

/**
 * dense of an int16 stream: acc[o] = sum_k w[o][k] * (x[k] - input_zero_point), k over K = P * C, int8
 * weights (the head Gemm after a global pool). input_zero_point may be any int16 value; the caller
 * guarantees K * 127 * max|x - zp| < 2^31.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  in_pixels, in_c, out_c, input_zero_point
 * @param out     output stage (bits, int32, int8 or int16)
 * @param input   int16_t[in_pixels * in_c], 2-byte aligned
 * @param weights int8_t[out_c][in_pixels * in_c]
 * @param output  as for tb_dense_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_dense_s16s8(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                         const int16_t *input, const int8_t *weights, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_STREAM_H */
