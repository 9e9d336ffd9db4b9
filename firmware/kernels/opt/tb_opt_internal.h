/*
 * tb_opt_internal.h - helpers shared by the optimized binary kernels (not part of the public API).
 *
 * Every optimized family computes, for one output pixel and a run of output channels, the popcounts
 * pop[o] = popcount(column XOR w[o]) over the pixel's K packed words (the column is the receptive field,
 * padded taps filled with the padding value), then hands them to tb_opt_finish(), the one output stage.
 *
 * The output stage works in the popcount domain. With acc = K_bits - 2 * pop (K_bits = KH * KW * C):
 *   flip clear: bit = (acc < tau)   <=>  pop >= floor((K_bits - tau) / 2) + 1
 *   flip set:   bit = (~acc < tau)  <=>  acc >= -tau  <=>  pop < floor((K_bits + tau) / 2) + 1
 * so with T[o] the right-hand side clamped to [0, K_bits + 1], bit = (pop >= T[o]) XOR flip[o]: one unsigned
 * compare per channel and one XOR with the packed flip mask per 32 channels (tb_opt_pop_thresholds).
 *
 * Zero padding (TB_PAD_ZERO) skips padded taps: acc = sum over valid taps of (C - 2 * pop_tap). The column
 * then holds zero words on padded taps, so pop counts popcount(w_tap) there; the kernels subtract it with a
 * per-channel table of tap popcounts (tb_opt_tap_pops) and use the generic output stage for such pixels.
 */
#ifndef TB_OPT_INTERNAL_H
#define TB_OPT_INTERNAL_H

#include <stddef.h>

#include "tb_kernels_internal.h"

/* Output channels handled per run (one packed output word). */
#define TB_OPT_RUN 32

/*
 * The requantization of a TB_OUT_S8 / TB_OUT_S16 output stage planned for a run of channels [o0, o0 + n)
 * and accumulators |acc| <= acc_max. The reference computes floor((acc * m + offset) / 2^shift) in 64 bits
 * and floor-shifts by a variable amount. With 1 <= shift <= 32, k = 32 - shift, acc_max < 2^(shift - 1) and
 * |offset| < 2^(62 - k), the same value is the high word of (acc * 2^k) * m + offset * 2^k: acc * 2^k fits
 * an int32, the product 62 bits, the sum 63 (one SMLAL and a saturation on Thumb-2). With shift > 32 it is
 * the high word of acc * m + offset (exact: the contract bounds that sum by 2^62) floor-shifted by shift - 32.
 * scale[i] = 0 marks a channel that does not qualify (the reference requantization runs for it); fast = 1
 * when every channel of the run qualifies (tb_opt_requant_plan).
 */
typedef struct {
    int64_t offset[TB_OPT_RUN]; /* offset[o0 + i] * 2^k */
    int32_t scale[TB_OPT_RUN];  /* 2^k, or 0: the reference requantization */
    int32_t r[TB_OPT_RUN];      /* the floor shift after the high word: shift - 32, or 0 */
    int32_t o0, n, acc_max;     /* the run planned and the bound; n = 0: nothing planned yet */
    int32_t fast;
} tb_opt_rq;

/* Plan the run [o0, o0 + n) (n <= TB_OPT_RUN) of a TB_OUT_S8 / TB_OUT_S16 stage for |acc| <= acc_max;
 * returns q->fast. */
int32_t tb_opt_requant_plan(const tb_out_params *out, int32_t o0, int32_t n, int32_t acc_max, tb_opt_rq *q);

/*
 * The plan of a whole int8 / int16 output of at most TB_OPT_RUN channels, for a first-layer kernel whose
 * |acc| <= wsum_max * x_max (wsum_max: the largest sum of |w| over a channel's weights). In two steps, so
 * that a kernel reads its weights only when the plan needs that bound: tb_opt_plan_begin returns
 *   TB_OPT_PLAN_NONE   no plan (q is NULL, not an int8 / int16 output, or more than TB_OPT_RUN channels):
 *                      the reference output stage runs for every channel;
 *   TB_OPT_PLAN_DONE   q is planned (every shift >= 32 needs no bound);
 *   TB_OPT_PLAN_BOUND  the kernel computes wsum_max and calls tb_opt_plan_bounded, which plans q.
 */
enum { TB_OPT_PLAN_NONE, TB_OPT_PLAN_DONE, TB_OPT_PLAN_BOUND };
int32_t tb_opt_plan_begin(const tb_out_params *out, int32_t out_c, tb_opt_rq *q);
void tb_opt_plan_bounded(const tb_out_params *out, int32_t out_c, int64_t wsum_max, int64_t x_max, tb_opt_rq *q);

/*
 * TB_OPT_STREAM_PLAN=0 leaves the requantization plan (a tb_opt_rq, over 500 bytes of stack) out of every
 * kernel call: an int8 / int16 output then takes the reference's requantization, the same values, slower.
 * tinybnn's firmware build sets it for a model without int8 / int16 outputs (a chain of binary layers),
 * whose layers never use the plan; the stack its worst case reserves shrinks by the plan's size.
 * TB_OPT_PLAN(name) declares `tb_opt_rq *const name`: a plan on the caller's stack (n = 0), or NULL.
 */
#ifndef TB_OPT_STREAM_PLAN
#define TB_OPT_STREAM_PLAN 1
#endif
#if TB_OPT_STREAM_PLAN
#define TB_OPT_PLAN(name)                                                                                            \
    tb_opt_rq name##_plan;                                                                                           \
    tb_opt_rq *const name = (name##_plan.n = 0, &name##_plan)
#else
#define TB_OPT_PLAN(name) tb_opt_rq *const name = NULL
#endif

/* floor(x / 2^32), the high word of a 64-bit value (C99 leaves the shift of a negative value
 * implementation-defined). */
static inline int32_t tb_opt_high_word(int64_t x)
{
    return (int32_t)(x >= 0 ? x >> 32 : ~(~x >> 32));
}

#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
#include <arm_acle.h>
#define TB_OPT_SAT8(v) ((int8_t)__ssat((v), 8))
#define TB_OPT_SAT16(v) ((int16_t)__ssat((v), 16))
#else
#define TB_OPT_SAT8(v) ((int8_t)((v) < INT8_MIN ? INT8_MIN : (v) > INT8_MAX ? INT8_MAX : (v)))
#define TB_OPT_SAT16(v) ((int16_t)((v) < INT16_MIN ? INT16_MIN : (v) > INT16_MAX ? INT16_MAX : (v)))
#endif

/* The planned requantization of channel o0 + i (q->scale[i] != 0). */
static inline int32_t tb_opt_requant_fast(const tb_opt_rq *q, int32_t i, int32_t multiplier, int32_t acc)
{
    const int32_t v = tb_opt_high_word(q->offset[i] + (int64_t)(acc * q->scale[i]) * multiplier);
    return v >= 0 ? v >> q->r[i] : ~(~v >> q->r[i]); /* floor(v / 2^r) */
}

/* The output stage of channel o of a kernel that planned its whole output once (q from tb_opt_plan_begin /
 * tb_opt_plan_bounded): the planned requantization where q has it, else the reference's (tb_store). kind and
 * mult are out->kind and out->multiplier, read once by the caller. */
static inline TB_ALWAYS_INLINE void tb_opt_store_planned(const tb_out_params *out, void *output, int32_t pixel,
                                                         int32_t out_c, int32_t o, int32_t acc, uint32_t *word,
                                                         const tb_opt_rq *q, tb_out_kind kind, const int32_t *mult)
{
    if (q != NULL && q->scale[o] != 0) {
        const int32_t v = tb_opt_requant_fast(q, o, mult[o], acc);
        if (kind == TB_OUT_S8)
            ((int8_t *)output)[pixel * out_c + o] = TB_OPT_SAT8(v);
        else
            ((int16_t *)output)[pixel * out_c + o] = TB_OPT_SAT16(v);
    } else {
        tb_store(out, output, pixel, out_c, o, acc, word);
    }
}

/* The output stage of one layer call. */
typedef struct {
    const tb_out_params *out;
    void *output;
    int32_t out_c;
    const uint32_t *thresholds; /* [out_c] popcount-domain thresholds (TB_OUT_BITS), see above */
    tb_opt_rq *rq;              /* NULL, or a plan cache for TB_OUT_S8 / TB_OUT_S16 (n = 0 when set up) */
    int32_t acc_max;            /* the layer's largest |acc| (its K_bits), the bound the plan is made for */
} tb_opt_out;

/* Floor division for b > 0 (C99 '/' truncates toward zero). */
static inline int32_t tb_opt_floordiv(int32_t a, int32_t b)
{
    const int32_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/*
 * The popcount-domain thresholds T[o] of an output stage with K_bits = k_bits (see the top of this file).
 * Computed in int64 arithmetic through clamping, so every int32 tau is exact.
 */
void tb_opt_pop_thresholds(const tb_out_params *out, int32_t out_c, int32_t k_bits, uint32_t *T);

/*
 * Gather the column of output pixel (oy, ox) of a binary conv: col[((kh * KW + kw) * words + i) * step], the
 * input words of each tap (step > 1 interleaves the columns of several pixels), or the padding value of a tap outside the input (0 for TB_PAD_ZERO and TB_PAD_ONE,
 * the real-channel mask for TB_PAD_MINUS_ONE). Returns the number of padded taps; when `padded` is not
 * NULL it receives their tap indices (kh * KW + kw) in increasing order.
 */
int32_t tb_opt_column(const tb_conv2d_params *p, const uint32_t *input, int32_t oy, int32_t ox, uint32_t *col,
                      int32_t step, int32_t *padded);

/*
 * Popcount of every tap of every output channel: pops[o * taps + t] = popcount(w[o][t][..]) where `word`
 * returns word k (0 <= k < taps * words) of channel o in the reference layout (each family decodes its own
 * weight encoding).
 */
typedef uint32_t (*tb_opt_word_fn)(const uint32_t *weights, int32_t k_words, int32_t o, int32_t k);
void tb_opt_tap_pops(const uint32_t *weights, int32_t out_c, int32_t taps, int32_t words, tb_opt_word_fn word,
                     uint16_t *pops);

/*
 * The output stage for channels [o0, o0 + n) of pixel `pixel` (o0 a multiple of 32, n <= 32, so one output
 * word), from their popcounts pop[0..n).
 *   fast: TB_OUT_BITS with the popcount-domain thresholds of s->thresholds (K_bits of the whole layer).
 *   general (k_bits >= 0 and/or correction != NULL): acc = k_bits - 2 * (pop - correction[o]) then the
 *   reference output stage (thresholds, flip, or int32) - used for TB_OUT_S32 and zero-padded pixels.
 */
void tb_opt_finish_fast(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, const uint32_t *pop);
/* Store the output word of channels [o0, o0 + n) from their compare bits (pop >= T): XOR the flip mask,
 * clear the bits at and above n. */
void tb_opt_store_bits(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, uint32_t bits);
void tb_opt_finish_general(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, const uint32_t *pop,
                           int32_t k_bits, const int32_t *correction);

/*
 * Per-channel corrections of a zero-padded pixel: corr[i] = sum over its padded taps of the tap popcount of
 * channel o0 + i (from tb_opt_tap_pops).
 */
void tb_opt_pad_correction(const uint16_t *tap_pops, int32_t taps, const int32_t *padded, int32_t npadded,
                           int32_t o0, int32_t n, int32_t *corr);

/*
 * A kernel family: its weight/column encoding and its inner loop. The conv2d and dense drivers below do the
 * rest (checks, column gather, scratch, output stage), identically for every family.
 */
typedef struct {
    int32_t pixels; /* columns per call of pops (a block of consecutive output pixels of a conv) */
    /* encoded weight words per output channel for K packed words: the weights of channel o start at
     * weights + o * weight_words(K) when o is a multiple of 32 (a family may interleave channels inside
     * runs of 32, or pad the last run with zero channels: see its encoder) */
    int32_t (*weight_words)(int32_t k_words);
    /* scratch words of the column block in the inner loop's layout; 0: it reads the plain columns */
    int32_t (*column_words)(int32_t k_words, int32_t columns);
    /* plain columns cols[columns][K] -> xe (NULL when column_words is 0) */
    void (*encode_columns)(const uint32_t *cols, int32_t columns, int32_t k_words, uint32_t *xe);
    /* 1: the columns of a block are gathered straight into xe, interleaved (xe[k * pixels + p]), and
     * encode_columns is NULL; 0: plain columns, then encode_columns (or read as they are when NULL) */
    int32_t interleaved;
    /* pop[p * 32 + i] = popcount(column p XOR channel i) for i < n <= 32 and every p < pixels, channels
     * from w on; pops1: the same for one column (dense layers, and convs with fewer pixels than a block) */
    void (*pops)(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop);
    /* optional (NULL: pops and tb_opt_finish_fast): bits[p] bit i = (pop < T[i]) for the block's pixels,
     * channels i < n (bits at and above n are unspecified) - the complement of the output before the flip */
    void (*lt_block)(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, const uint32_t *T,
                     uint32_t *bits);
    void (*pops1)(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop);
    /* optional (NULL: pops1 and tb_opt_finish_fast): one column, the n output bits (pop[i] >= T[i]) in
     * bits 0..n-1, before the flip mask */
    uint32_t (*bits1)(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, const uint32_t *T);
    tb_opt_word_fn word; /* word k of channel o in the reference layout */
    /* 1: a conv with zero padding and pads reads the tap popcounts after the weights (weights + out_c *
     * weight_words(K), tb_opt_encode_tap_pops); 0: tb_opt_tap_pops computes them into the scratch */
    int32_t flash_taps;
} tb_opt_family;

/* Entry i of tap popcounts in the layout of tb_opt_encode_tap_pops. */
static inline uint32_t tb_opt_tap_pop(const uint32_t *tw, int32_t i)
{
    const uint32_t u = (uint32_t)i; /* i >= 0: unsigned halving and parity, no sign fix-ups */
    return (tw[u >> 1] >> ((u & 1u) << 4)) & 0xFFFFu;
}

#if TB_KERNEL_CHECKS
/* The operand checks of the reference kernels, plus `scratch` bytes of 4-byte aligned scratch (none if 0). */
tb_status tb_opt_check_common(const tb_context *ctx, const tb_out_params *out, int32_t out_c, const uint32_t *input,
                              const uint32_t *weights, const void *output, int32_t scratch);
#endif

/*
 * For kernels specialized to one layer (rendered per layer by tinybnn/backend/kernels.py): the checks of the
 * family's conv2d (same statuses, same scratch size), then the popcount-domain thresholds of a binary
 * output in the scratch; returns them through *T (NULL for an int32 output).
 */
tb_status tb_opt_conv2d_begin(const tb_opt_family *f, const tb_context *ctx, const tb_conv2d_params *params,
                              const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                              const void *output, const uint32_t **T);

/* The scratch bytes and the kernels of a family (same contracts and statuses as the reference kernels). */
int32_t tb_opt_conv2d_scratch(const tb_opt_family *f, const tb_conv2d_params *p);
tb_status tb_opt_conv2d(const tb_opt_family *f, const tb_context *ctx, const tb_conv2d_params *params,
                        const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output);
int32_t tb_opt_dense_scratch(const tb_opt_family *f, const tb_dense_params *p);
tb_status tb_opt_dense(const tb_opt_family *f, const tb_context *ctx, const tb_dense_params *params,
                       const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output);

#endif /* TB_OPT_INTERNAL_H */
