/*
 * tb_kernels_opt.h - optimized binary conv2d/dense kernels, one family per class of core.
 *
 * Every function here has the contract of the reference kernel of the same operator (tb_kernels.h):
 * same params, output stage, layouts, alignment rules and statuses, bit for bit the same outputs. They
 * differ in two ways only:
 *   - weights: each family takes its own ENCODING of the reference weights uint32_t[O][K] (K = KH*KW*words
 *     for a conv, in_pixels*words for a dense), produced offline by tinybnn/backend/kernels.py; the C encoder of
 *     each family below is the specification (and is used by the on-device tests);
 *   - scratch: they need the caller-owned scratch of <fn>_get_buffer_size() (the reference needs none).
 * Binary-input layers have optimized kernels per family, int8 x binary first layers the subset-sum kernels
 * (tb_first_ss.c, below; on armv7m, armv6m and rv32-zbb); other int8 first layers and max-pools run the reference kernels.
 * Which family a board uses is its board file's "kernel_variant".
 *
 *   family   cores                          weights                                  inner loop
 *   armv7m   Cortex-M3/M4/M7/M33/M55        2-level full-adder encoding, +44%       carry-save + SWAR (asm)
 *   (tree)   the same, K <= 64 words        tree encoding + threshold, ~+45%         rendered per K (tb_tree.c)
 *   armv6m   Cortex-M0/M0+                  reference layout                         SWAR, deferred sums
 *   rv32zbb  RV32 with Zbb (cpop)           channel-interleaved by 4, zero-padded   4x4 register-blocked
 *   rv32     RV32 without Zbb (RV32IMC)     the armv7m encoding, word for word       carry-save + SWAR, 2 channels
 */
#ifndef TB_KERNELS_OPT_H
#define TB_KERNELS_OPT_H

#include <stdint.h>

#include "tb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- shared: the tap popcounts of zero-padded convs ------------------------------------------------ */

/*
 * A conv with TB_PAD_ZERO and at least one pad subtracts, for each padded tap of a border pixel, that tap's
 * popcount of each channel's weights: weight-only constants that the tree and rv32 kernels read from flash,
 * after the layer's weights, in this layout (the other families compute it per call, in their scratch).
 */
/** Words of the tap popcounts of out_c channels of taps taps: one uint16 entry per channel and tap, two per word. */
int32_t tb_opt_tap_words(int32_t out_c, int32_t taps);
/** Those words from the reference weights [out_c][taps][words]: entry i = o * taps + t (the popcount of tap
 *  t of channel o) in bits 16 * (i % 2) .. +15 of word i / 2 (a tap of at most 2047 words). */
void tb_opt_encode_tap_pops(const uint32_t *weights, int32_t out_c, int32_t taps, int32_t words, uint32_t *out);

/* ---- armv7m: Cortex-M3/M4/M7/M33/M55 ----------------------------------------------------------- */

/** Encoded weight words of out_c channels of k_words packed words each (13 per 9 words, 4 per 3 left). */
int32_t tb_armv7m_encoded_words(int32_t out_c, int32_t k_words);
/** Encode reference weights uint32_t[out_c][k_words] into tb_armv7m_encoded_words() words. */
void tb_armv7m_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_b1b1_armv7m: columns, thresholds, popcounts (+ tap popcounts, zero padding). */
int32_t tb_conv2d_b1b1_armv7m_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_b1b1 with weights encoded by tb_armv7m_encode_weights and the scratch above. */
tb_status tb_conv2d_b1b1_armv7m(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_b1b1_armv7m. */
int32_t tb_dense_b1b1_armv7m_get_buffer_size(const tb_dense_params *params);
/** tb_dense_b1b1 with weights encoded by tb_armv7m_encode_weights and the scratch above. */
tb_status tb_dense_b1b1_armv7m(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output);

/* ---- armv7m tree kernels: one dot-product length K, rendered per model (tb_tree.c) ------------------ */

/*
 * The kernels tinybnn renders for the binary layers of a model whose K (packed words per output) is at most
 * 64 (tinybnn/backend/armv7m_tree.py): a tree of full adders over the whole dot product, one SWAR count per channel.
 * Their weights: per output channel, tb_tree_words(K) words encoded by tb_tree_encode, then (binary output
 * only) the channel's popcount-domain threshold (tb_opt_internal.h). The generated functions of one K:
 *   bits(xe, w, out_c, q, flip): one output pixel of a binary layer, q[j] = the bits (pop >= T) of channels
 *     32 j .. 32 j + 31 XOR flip[j], tail bits 0 (q: TB_WORDS(out_c) words);
 *   pops(xe, w, n, pop): pop[o] = popcount(column XOR channel o) for o < n (n >= 1).
 * xe is the column encoded by tb_tree_encode. A NULL function stands for the portable tb_tree_bits_c /
 * tb_tree_pops_c / tb_tree_encode, which compute the same with popcounts (what a model runs on other targets
 * than Thumb-2); on Thumb-2 that fallback is only built with -DTB_TREE_PORTABLE=1 (tb_tree.c).
 */
#define TB_TREE_MAX_K 2047 /* a tap's popcount (<= 32 K) fits the 16-bit entries of tb_opt_encode_tap_pops */
typedef struct {
    int32_t k_words;    /**< K: the kernel computes dot products of exactly K packed words */
    int32_t thresholds; /**< 1: each channel's weights end with its threshold (the layer's output is bits) */
    void (*bits)(const uint32_t *xe, const uint32_t *w, int32_t out_c, uint32_t *q, const uint32_t *flip); /**< NULL: portable */
    void (*pops)(const uint32_t *xe, const uint32_t *w, int32_t n, uint32_t *pop); /**< NULL: portable */
    /** tb_tree_encode of the K words found as K / run runs of run words, stride words apart (a window of a
     *  conv read in place: run = KW * words); NULL: the driver gathers the column and calls tb_tree_encode */
    void (*encode)(const uint32_t *src, int32_t stride, uint32_t *xe);
    int32_t run; /**< words per run of encode (a divisor of K) */
} tb_tree_kernel;

/** Encoded words of one vector of k_words >= 2 words. */
int32_t tb_tree_words(int32_t k_words);
/** Encode v[k_words] (overwritten: it holds the levels' sums) into e[tb_tree_words(k_words)]. */
void tb_tree_encode(uint32_t *v, int32_t k_words, uint32_t *e);
/** Encode reference weights [out_c][k_words], each channel followed by T[o] when T != NULL; tmp: k_words words. */
void tb_tree_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, const uint32_t *T,
                            uint32_t *encoded, uint32_t *tmp);
/** Portable bits/pops of the tree kernels (weights with thresholds for bits; stride = words per channel). */
void tb_tree_bits_c(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t out_c, uint32_t *q,
                    const uint32_t *flip);
void tb_tree_pops_c(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t stride, int32_t n, uint32_t *pop);
/** Scratch bytes of tb_tree_conv2d / tb_tree_dense. */
int32_t tb_tree_conv2d_get_buffer_size(const tb_conv2d_params *params);
int32_t tb_tree_dense_get_buffer_size(const tb_dense_params *params);
/**
 * tb_conv2d_b1b1 / tb_dense_b1b1 through the tree kernel `kern` (its K must be the layer's, and its
 * thresholds flag set exactly for a TB_OUT_BITS output, else TB_ERR_ARG). out->thresholds is not read (the
 * weights carry them); the flip mask is. A conv with TB_PAD_ZERO and at least one pad reads the tap
 * popcounts (tb_opt_encode_tap_pops) right after the last channel's weights. Same statuses and outputs as
 * the reference kernels.
 */
tb_status tb_tree_conv2d(const tb_tree_kernel *kern, const tb_context *ctx, const tb_conv2d_params *params,
                         const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output);
tb_status tb_tree_dense(const tb_tree_kernel *kern, const tb_context *ctx, const tb_dense_params *params,
                        const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output);

/* ---- armv6m: Cortex-M0/M0+ ------------------------------------------------------------------------ */

/** Weight words of out_c channels (the reference layout: out_c * k_words). */
int32_t tb_armv6m_encoded_words(int32_t out_c, int32_t k_words);
/** The identity (a copy): this family reads the reference weights. */
void tb_armv6m_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_b1b1_armv6m. */
int32_t tb_conv2d_b1b1_armv6m_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_b1b1 (reference weights) with the scratch above. */
tb_status tb_conv2d_b1b1_armv6m(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_b1b1_armv6m. */
int32_t tb_dense_b1b1_armv6m_get_buffer_size(const tb_dense_params *params);
/** tb_dense_b1b1 (reference weights) with the scratch above. */
tb_status tb_dense_b1b1_armv6m(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output);

/* ---- rv32zbb: RV32 with Zbb ----------------------------------------------------------------------- */

/** Encoded weight words: out_c rounded up to a multiple of 4 channels, times k_words. */
int32_t tb_rv32zbb_encoded_words(int32_t out_c, int32_t k_words);
/** Channel-interleave reference weights: encoded[(o / 4) * 4 * K + k * 4 + o % 4], zero-padded channels. */
void tb_rv32zbb_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_b1b1_rv32zbb. */
int32_t tb_conv2d_b1b1_rv32zbb_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_b1b1 with weights encoded by tb_rv32zbb_encode_weights and the scratch above. */
tb_status tb_conv2d_b1b1_rv32zbb(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                 const uint32_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_b1b1_rv32zbb. */
int32_t tb_dense_b1b1_rv32zbb_get_buffer_size(const tb_dense_params *params);
/**
 * For the per-layer kernels tinybnn renders for this family (model_kernels.c): the checks of
 * tb_conv2d_b1b1_rv32zbb, then the popcount-domain thresholds of a binary output in the scratch (*T; NULL
 * for an int32 output). A per-layer kernel needs the scratch of tb_conv2d_b1b1_rv32zbb_get_buffer_size().
 */
tb_status tb_rv32zbb_conv2d_begin(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                  const uint32_t *input, const uint32_t *weights, const void *output,
                                  const uint32_t **T);
/** tb_dense_b1b1 with weights encoded by tb_rv32zbb_encode_weights and the scratch above. */
tb_status tb_dense_b1b1_rv32zbb(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output);

/* ---- rv32: RV32 without Zbb (RV32IMC, ESP32-C3 class) --------------------------------------------- */

/** Encoded weight words (the armv7m encoding: 13 per 9 words, 4 per 3 left over). */
int32_t tb_rv32_encoded_words(int32_t out_c, int32_t k_words);
/** Encode reference weights uint32_t[out_c][k_words]: the same words as tb_armv7m_encode_weights. */
void tb_rv32_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_b1b1_rv32: encoded column, thresholds, popcounts (+ padded taps, zero padding). */
int32_t tb_conv2d_b1b1_rv32_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_b1b1 with weights encoded by tb_rv32_encode_weights and the scratch above; with TB_PAD_ZERO and
 *  at least one pad, the weights are followed by the tap popcounts (tb_opt_encode_tap_pops). */
tb_status tb_conv2d_b1b1_rv32(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                              const uint32_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_b1b1_rv32. */
int32_t tb_dense_b1b1_rv32_get_buffer_size(const tb_dense_params *params);
/** tb_dense_b1b1 with weights encoded by tb_rv32_encode_weights and the scratch above. */
tb_status tb_dense_b1b1_rv32(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                             const uint32_t *input, const uint32_t *weights, void *output);

/* ---- int8 first layers with binary weights by subset sums (tb_first_ss.c): portable C ------------ */

/*
 * tb_conv2d_s8b1 / tb_dense_s8b1 with 16-entry tables of subset sums of every group of 4 taps of the column,
 * shared by all output channels (two output pixels per table when every accumulator fits 16 bits). Weights:
 * per output channel one byte per group of 4 taps, (group % 16) << 4 | the group's 4 weight bits, four
 * bytes per word from the least significant, tb_ss_encoded_words() words in all (tb_ss_encode_weights).
 */
/** Encoded weight words of out_c channels of k_len taps (K = KH * KW * C, or P * C for a dense). */
int32_t tb_ss_encoded_words(int32_t out_c, int32_t k_len);
/** Encode reference weights uint32_t[out_c][TB_WORDS(k_len)] into tb_ss_encoded_words() words. */
void tb_ss_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_len, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_s8b1_ss: 4 * (4 * ceil(K / 4) + 16 * min(ceil(K / 4), 16) + 2 * out_c). */
int32_t tb_conv2d_s8b1_ss_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_s8b1 with weights encoded by tb_ss_encode_weights and the scratch above. */
tb_status tb_conv2d_s8b1_ss(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                            const int8_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_s8b1_ss (as for the conv, with K = in_pixels * in_c). */
int32_t tb_dense_s8b1_ss_get_buffer_size(const tb_dense_params *params);
/** tb_dense_s8b1 with weights encoded by tb_ss_encode_weights and the scratch above. */
tb_status tb_dense_s8b1_ss(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                           const int8_t *input, const uint32_t *weights, void *output);

/* ---- int8 first layers with int8 or int16 weights (tb_first_pairs.c): portable C, SMLAD with DSP ---- */

/*
 * tb_conv2d_s8s8 / tb_conv2d_s8s16 and tb_dense_s8s8 / tb_dense_s8s16 with the weights as 16-bit pairs in
 * 32-bit words (tb_pairs_encode_weights: [O][ceil(K / 2)], weight 2j low, 2j + 1 high, 0 after an odd K) and
 * the column likewise in the scratch; blocked over 2 output pixels x 2 output channels, one SMLAD per pair on
 * cores with the DSP extension. Same params, output stage and statuses as the reference kernels.
 */
/** Encoded weight words of out_c channels of k_len weights. */
int32_t tb_pairs_encoded_words(int32_t out_c, int32_t k_len);
/** Encode weights int16_t[out_c][k_len] (int8 weights widened) into tb_pairs_encoded_words() words. */
void tb_pairs_encode_weights(const int16_t *weights, int32_t out_c, int32_t k_len, uint32_t *encoded);
/** Scratch bytes of tb_conv2d_s8_pairs: two pair columns, 8 * ceil(K / 2). */
int32_t tb_conv2d_s8_pairs_get_buffer_size(const tb_conv2d_params *params);
/** tb_conv2d_s8s8 / tb_conv2d_s8s16 with weights encoded by tb_pairs_encode_weights and the scratch above. */
tb_status tb_conv2d_s8_pairs(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                             const int8_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_s8_pairs: one pair column, 4 * ceil(in_pixels * in_c / 2). */
int32_t tb_dense_s8_pairs_get_buffer_size(const tb_dense_params *params);
/** tb_dense_s8s8 / tb_dense_s8s16 with weights encoded by tb_pairs_encode_weights and the scratch above. */
tb_status tb_dense_s8_pairs(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                            const int8_t *input, const uint32_t *weights, void *output);

/* ---- bit max-pool for every family (tb_maxpool_opt.c): portable C ------------------------------ */

/** Scratch bytes of tb_maxpool_b1_opt: always 0. */
int32_t tb_maxpool_b1_opt_get_buffer_size(const tb_maxpool_params *params);
/** tb_maxpool_b1 with each window clipped once per output pixel and the words innermost. */
tb_status tb_maxpool_b1_opt(const tb_context *ctx, const tb_maxpool_params *params, const uint32_t *input,
                            uint32_t *output);

/* ---- short binary dot products for every family (tb_short_opt.c): portable C -------------------- */

/** Longest dot product (packed words per output) tb_conv2d_b1b1_short / tb_dense_b1b1_short take. */
#define TB_SHORT_MAX_WORDS 2

/** Scratch bytes of tb_conv2d_b1b1_short: always 0. */
int32_t tb_conv2d_b1b1_short_get_buffer_size(const tb_conv2d_params *params);
/**
 * tb_conv2d_b1b1 (same params, weights [O][K], output stage, statuses) for 1x1 kernels without padding
 * (pads all 0, any stride) and in_c <= 32 * TB_SHORT_MAX_WORDS: each output channel one XOR and one SWAR
 * popcount per word, a bits output compared in the popcount domain and packed 32 channels at a time.
 * Other geometries return TB_ERR_ARG (when built with TB_KERNEL_CHECKS).
 */
tb_status tb_conv2d_b1b1_short(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output);
/** Scratch bytes of tb_dense_b1b1_short: always 0. */
int32_t tb_dense_b1b1_short_get_buffer_size(const tb_dense_params *params);
/**
 * tb_dense_b1b1 (same params, weights, output stage, statuses) for rows of in_pixels * TB_WORDS(in_c) <=
 * TB_SHORT_MAX_WORDS words; longer rows return TB_ERR_ARG (when built with TB_KERNEL_CHECKS).
 */
tb_status tb_dense_b1b1_short(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                              const uint32_t *input, const uint32_t *weights, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_OPT_H */
