/*
 * tb_kernels_opt_grouped.h - optimized grouped / depthwise kernels of every family (portable C).
 *
 * Copied into a model only when it runs them, beside tb_kernels_grouped.h (whose params struct they take).
 */
#ifndef TB_KERNELS_OPT_GROUPED_H
#define TB_KERNELS_OPT_GROUPED_H

#include <stdint.h>

#include "tb_kernels.h"
#include "tb_kernels_grouped.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest kernel_h * kernel_w tb_conv2d_grouped_b1b1_dw takes (its bit-sliced counters have 6 planes). */
#define TB_DW_MAX_TAPS 62

/** Words of the weights of tb_conv2d_grouped_b1b1_dw: kernel_h * kernel_w * TB_WORDS(channels) weight words,
 * then for a TB_OUT_BITS output (taps + 1) * planes * TB_WORDS(channels) threshold words, planes = the bit
 * length of taps + 1. */
int32_t tb_dw_b1b1_encoded_words(int32_t channels, int32_t taps, tb_out_kind kind);

/**
 * The weights of tb_conv2d_grouped_b1b1_dw from the reference depthwise weights of tb_conv2d_grouped_b1b1
 * (uint32_t[channels][taps][1], one used bit per word) and the layer's output stage (the specification of
 * tinybnn.backend.stream_kernels.encode_dw_b1b1):
 *   - uint32_t[taps][TB_WORDS(channels)]: bit o of tap t's words = bit 0 of reference word o * taps + t;
 *   - TB_OUT_BITS only, then uint32_t[taps + 1][TB_WORDS(channels)][planes]: for each count n of valid taps,
 *     bit i of channel o's popcount-domain threshold T(n, o) at bit o % 32 of plane i of word o / 32, where
 *     output bit o = (pop >= T(n, o)) XOR flip[o] for pop mismatches over n taps (tau clamped to [-n-2, n+2],
 *     T = floor((n - tau) / 2) + 1, or floor((n + tau) / 2) + 1 where flip, at most n + 1).
 * Tail bits 0.
 */
void tb_dw_b1b1_encode_weights(const uint32_t *weights, const tb_out_params *out, int32_t channels, int32_t taps,
                               uint32_t *encoded);

/** Scratch bytes needed by tb_conv2d_grouped_b1b1_dw: always 0. */
int32_t tb_conv2d_grouped_b1b1_dw_get_buffer_size(const tb_grouped_conv2d_params *params);

/**
 * Depthwise binary conv2d (groups == in_c == out_c): the outputs of tb_conv2d_grouped_b1b1, bit for bit,
 * 32 channels per word at a time.
 *
 * Each output word is counted bit-sliced: per valid tap (every tap for TB_PAD_ONE / TB_PAD_MINUS_ONE) the
 * 32 channels' mismatches x XOR w are added to a per-channel counter held in bit planes; a TB_OUT_BITS output
 * is then one bit-sliced comparison of the counters with the popcount-domain thresholds the weights carry
 * for that many valid taps (out->thresholds and out->flip are encoded there; the flip mask is read again),
 * other outputs take the count channel by channel through the reference output stage.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  as tb_conv2d_grouped_b1b1, with groups == conv.in_c == conv.out_c and
 *                kernel_h * kernel_w <= TB_DW_MAX_TAPS
 * @param out     output stage (bits with thresholds and flip mask, int32, or a requantized code); a TB_OUT_BITS
 *                stage must be the one the weights were encoded with
 * @param input   uint32_t[in_h][in_w][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param weights tb_dw_b1b1_encoded_words() words from tb_dw_b1b1_encode_weights, 4-byte aligned
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG (as the reference, or not depthwise, or too many taps) or TB_ERR_ALIGN
 */
tb_status tb_conv2d_grouped_b1b1_dw(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                    const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                                    void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_OPT_GROUPED_H */
