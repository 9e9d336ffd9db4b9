/*
 * tb_kernels_s16.h - tinybnn portable C99 REFERENCE kernels of a first layer with int16 weights.
 *
 * A float first layer whose weights lose decisions when rounded to int8 keeps 16-bit weights (tinybnn
 * decides per layer at convert time from the calibration data). The input stays int8; the contracts, the
 * params and the output stage are those of tb_kernels.h. On cores with a 16-bit SIMD multiply-accumulate
 * the int8 path widens to 16 bits anyway, so int16 weights cost flash, not instructions.
 *
 * Weights are int16_t[O][KH][KW][C] (OHWI), 2-byte aligned. int32 accumulation: the caller guarantees
 * K * max|w| * max|x - input_zero_point| < 2^31 (tinybnn checks it at convert time).
 */
#ifndef TB_KERNELS_S16_H
#define TB_KERNELS_S16_H

#include <stdint.h>

#include "tb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Scratch bytes needed by tb_conv2d_s8s16: one int16 im2col column, 2 * kernel_h * kernel_w * in_c. */
int32_t tb_conv2d_s8s16_get_buffer_size(const tb_conv2d_params *params);

/**
 * conv2d (first layer): int8 input x int16 weights.
 *
 * acc[oy][ox][o] = sum over valid taps and channels of w * (x - input_zero_point); padding is zero.
 *
 * @param ctx     scratch of tb_conv2d_s8s16_get_buffer_size() bytes, 4-byte aligned
 * @param params  geometry and input_zero_point; params->pad must be TB_PAD_ZERO
 * @param out     output stage
 * @param input   int8_t[in_h][in_w][in_c]
 * @param weights int16_t[out_c][kernel_h][kernel_w][in_c], 2-byte aligned
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG, TB_ERR_ALIGN or TB_ERR_SCRATCH
 */
tb_status tb_conv2d_s8s16(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                          const int8_t *input, const int16_t *weights, void *output);

/** Scratch bytes needed by tb_dense_s8s16: always 0. */
int32_t tb_dense_s8s16_get_buffer_size(const tb_dense_params *params);

/**
 * dense (first layer): acc[o] = sum_k w[o][k] * (x[k] - input_zero_point), k over K = P * C, int16 weights.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  in_pixels, in_c, out_c, input_zero_point
 * @param out     output stage
 * @param input   int8_t[in_pixels * in_c]
 * @param weights int16_t[out_c][in_pixels * in_c], 2-byte aligned
 * @param output  as for tb_dense_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_dense_s8s16(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                         const int8_t *input, const int16_t *weights, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_S16_H */
