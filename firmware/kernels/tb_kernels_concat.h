/*
 * tb_kernels_concat.h - tinybnn portable C99 REFERENCE kernels joining branches: channel concatenation of packed
 * bits (binary branches) and of real-valued stream codes (int8, int16) of one quantization.
 *
 * A graph that branches (one tensor read by several layers) joins its branches again by concatenating
 * their channels. Like CMSIS-NN's arm_concatenation_s8_z, the kernel copies ONE input into the output at a
 * channel offset; a join of k inputs is k calls on the same output. Only models with a join include this
 * header (chains never do).
 */
#ifndef TB_KERNELS_CONCAT_H
#define TB_KERNELS_CONCAT_H

#include <stdint.h>

#include "tb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Parameters of one tb_concat_b1 call: where one input's channels go in the output. */
typedef struct {
    int32_t pixels;   /**< H * W of the input and of the output (1 for a flat tensor), >= 1 */
    int32_t in_c;     /**< channels of this input, >= 1 */
    int32_t out_c;    /**< channels of the output, >= offset_c + in_c */
    int32_t offset_c; /**< first output channel this input fills, >= 0 */
} tb_concat_params;

/** Scratch bytes needed by tb_concat_b1: always 0. */
int32_t tb_concat_b1_get_buffer_size(const tb_concat_params *params);

/**
 * Channel concatenation of packed bits: output channels [offset_c, offset_c + in_c) of every pixel are the
 * input's channels; no other output bit changes, except that the call whose input ends the output
 * (offset_c + in_c == out_c) writes the output's tail bits as 0. The calls of one join, one per input, cover
 * every output channel, so together they write the whole output, in any order.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  sizes and the channel offset
 * @param input   uint32_t[pixels][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param output  uint32_t[pixels][TB_WORDS(out_c)], 4-byte aligned; must not overlap input
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_concat_b1(const tb_context *ctx, const tb_concat_params *params, const uint32_t *input,
                       uint32_t *output);

/** Scratch bytes needed by tb_concat_s8 and tb_concat_s16: always 0. */
int32_t tb_concat_s8_get_buffer_size(const tb_concat_params *params);
int32_t tb_concat_s16_get_buffer_size(const tb_concat_params *params);

/**
 * Channel concatenation of real-valued stream codes that share one quantization (the converter gives every
 * part of a concat the concat's scale and zero point): output channels [offset_c, offset_c + in_c) of every
 * pixel are a copy of the input's channels; no other output element changes.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  sizes and the channel offset
 * @param input   int8_t[pixels][in_c] (tb_concat_s8) or int16_t[pixels][in_c] (tb_concat_s16, 2-byte aligned)
 * @param output  int8_t / int16_t [pixels][out_c]; must not overlap input
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_concat_s8(const tb_context *ctx, const tb_concat_params *params, const int8_t *input, int8_t *output);
tb_status tb_concat_s16(const tb_context *ctx, const tb_concat_params *params, const int16_t *input,
                        int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_CONCAT_H */
