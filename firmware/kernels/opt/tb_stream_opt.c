/*
 * tb_stream_opt.c - residual add and binarize of the real-valued streams for every optimized family (portable C):
 * tb_add_s8_opt, tb_add_s16_opt, tb_binarize_s8_opt, tb_binarize_s16_opt.
 *
 * Same params, outputs and statuses as the reference kernels (tb_kernels_stream.h).
 *
 * Add: the reference computes x = a * mult_a + b * mult_b + offset in 64 bits and floor-shifts it by a variable
 * shift (a 64-bit shift, then a 64-bit clamp). With 16 <= shift <= 32 the inputs are first multiplied by 2^k,
 * k = 32 - shift (|a| * 2^k <= 2^31: still an int32), and the offset by 2^k, so that floor(x / 2^shift) is
 * floor(x * 2^k / 2^32): the high word of the 64-bit sum; with shift > 32 it is that high word floor-shifted
 * by shift - 32. This is exact as long as x * 2^k fits 63 bits, which the kernel checks once per call from the
 * constants (|x| <= 32768 (|mult_a| + |mult_b|) + |offset|); otherwise, and for shift < 16, it runs the
 * reference loop. On Thumb-2 the element is two SMLAL on (lo, hi) and a saturation.
 *
 * Binarize: the reference goes through the generic output stage per element (its kind, the flip bit read
 * from memory, the word store test); here, per run of 32 channels, the thresholds are folded with the flips
 * once (fold_thresholds), then each pixel's output word is shifted in channel by channel from the sign bit
 * of x - t (a subtract, a shift, an OR with shifted operand), XORed with the flip word and stored once.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_opt_stream.h"

#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
#include <arm_acle.h>
#define TB_SAT16(v) ((int16_t)__ssat((v), 16))
#define TB_SAT8(v) ((int8_t)__ssat((v), 8))
#else
#define TB_SAT16(v) ((int16_t)((v) < INT16_MIN ? INT16_MIN : (v) > INT16_MAX ? INT16_MAX : (v)))
#define TB_SAT8(v) ((int8_t)((v) < INT8_MIN ? INT8_MIN : (v) > INT8_MAX ? INT8_MAX : (v)))
#endif

#if TB_KERNEL_CHECKS
static tb_status check_add(const tb_add_params *p, const void *a, const void *b, const void *y, int wide)
{
    if (p == NULL || a == NULL || b == NULL || y == NULL || p->size < 1 || p->shift < 0 || p->shift > TB_SHIFT_MAX)
        return TB_ERR_ARG;
    if (wide && (!tb_aligned2(a) || !tb_aligned2(b) || !tb_aligned2(y)))
        return TB_ERR_ALIGN;
    return TB_OK;
}

static tb_status check_binarize(const tb_binarize_params *p, const void *input, const uint32_t *output, int wide)
{
    if (p == NULL || input == NULL || output == NULL || p->pixels < 1 || p->c < 1 || p->thresholds == NULL ||
        p->flip == NULL)
        return TB_ERR_ARG;
    if (!tb_aligned4(p->thresholds) || !tb_aligned4(p->flip) || !tb_aligned4(output) || (wide && !tb_aligned2(input)))
        return TB_ERR_ALIGN;
    return TB_OK;
}
#endif

/* floor(v / 2^s) of an int32 (C99 leaves the shift of a negative value implementation-defined) */
static inline int32_t floor_shift32(int32_t v, int32_t s)
{
    return v >= 0 ? v >> s : ~(~v >> s);
}

/* The high word of a 64-bit sum: floor(x / 2^32). */
static inline int32_t high_word(int64_t x)
{
    return (int32_t)(x >= 0 ? x >> 32 : ~(~x >> 32));
}

/*
 * The scale 2^k of the fast path of an add (k = 32 - shift, or 0 when shift > 32), its offset and its final
 * shift r: 1 when it is exact for these constants, else 0 (the reference loop runs).
 */
static int add_plan(const tb_add_params *p, int32_t *scale, int64_t *offset, int32_t *r)
{
    const int32_t k = p->shift >= 32 ? 0 : 32 - p->shift;
    const uint64_t ma = p->mult_a < 0 ? (uint64_t)0 - (uint64_t)p->mult_a : (uint64_t)p->mult_a;
    const uint64_t mb = p->mult_b < 0 ? (uint64_t)0 - (uint64_t)p->mult_b : (uint64_t)p->mult_b;
    const uint64_t off = p->offset < 0 ? (uint64_t)0 - (uint64_t)p->offset : (uint64_t)p->offset;
    uint64_t bound;
    if (p->shift < 16)
        return 0;
    if (off >= ((uint64_t)1 << 62))
        return 0;
    bound = 32768u * (ma + mb) + off; /* >= |x|, < 2^48 + 2^62 */
    if (bound >= ((uint64_t)1 << (62 - k)))
        return 0; /* x * 2^k might not fit: |x * 2^k| < 2^62 is required */
    *scale = (int32_t)1 << k;
    *offset = p->offset * ((int64_t)1 << k);
    *r = p->shift >= 32 ? p->shift - 32 : 0;
    return 1;
}

tb_status tb_add_s16_opt(const tb_context *ctx, const tb_add_params *params, const int16_t *a, const int16_t *b,
                         int16_t *y)
{
    int32_t scale, r;
    int64_t offset;
    (void)ctx;
    TB_CHECK(check_add(params, a, b, y, 1));
    if (!add_plan(params, &scale, &offset, &r)) {
        const int64_t ma = params->mult_a, mb = params->mult_b;
        for (int32_t i = 0; i < params->size; i++)
            y[i] = tb_requantize64_s16(tb_add_sum(a[i], b[i], ma, mb, params->offset), params->shift);
        return TB_OK;
    }
    {
        const int32_t ma = params->mult_a, mb = params->mult_b, n = params->size;
        if (r == 0) { /* shift <= 32: the high word is the result */
            for (int32_t i = 0; i < n; i++) {
                const int32_t v = high_word(offset + (int64_t)(a[i] * scale) * ma + (int64_t)(b[i] * scale) * mb);
                y[i] = TB_SAT16(v);
            }
        } else {
            for (int32_t i = 0; i < n; i++) {
                const int32_t v = high_word(offset + (int64_t)a[i] * ma + (int64_t)b[i] * mb);
                y[i] = TB_SAT16(floor_shift32(v, r));
            }
        }
    }
    return TB_OK;
}

tb_status tb_add_s8_opt(const tb_context *ctx, const tb_add_params *params, const int8_t *a, const int8_t *b,
                        int8_t *y)
{
    int32_t scale, r;
    int64_t offset;
    (void)ctx;
    TB_CHECK(check_add(params, a, b, y, 0));
    if (!add_plan(params, &scale, &offset, &r)) {
        const int64_t ma = params->mult_a, mb = params->mult_b;
        for (int32_t i = 0; i < params->size; i++)
            y[i] = tb_requantize64(tb_add_sum(a[i], b[i], ma, mb, params->offset), params->shift);
        return TB_OK;
    }
    {
        const int32_t ma = params->mult_a, mb = params->mult_b, n = params->size;
        if (r == 0) { /* shift <= 32: the high word is the result */
            for (int32_t i = 0; i < n; i++) {
                const int32_t v = high_word(offset + (int64_t)(a[i] * scale) * ma + (int64_t)(b[i] * scale) * mb);
                y[i] = TB_SAT8(v);
            }
        } else {
            for (int32_t i = 0; i < n; i++) {
                const int32_t v = high_word(offset + (int64_t)a[i] * ma + (int64_t)b[i] * mb);
                y[i] = TB_SAT8(floor_shift32(v, r));
            }
        }
    }
    return TB_OK;
}

/*
 * The thresholds of up to 32 channels folded with their flips, for codes x in [-lim, lim): bit = (x < t) XOR flip
 * with t = tau, or -tau where flip (~x < tau <=> x >= -tau). tau is clamped to [-lim - 1, lim] first (the
 * comparisons do not change over the codes), so that -tau cannot overflow.
 */
static void fold_thresholds(const int32_t *tau, uint32_t flip, int32_t n, int32_t lim, int32_t *t)
{
    for (int32_t b = 0; b < n; b++) {
        const int32_t v = tau[b] < -lim - 1 ? -lim - 1 : tau[b] > lim ? lim : tau[b];
        t[b] = (flip >> b) & 1u ? -v : v;
    }
}

tb_status tb_binarize_s16_opt(const tb_context *ctx, const tb_binarize_params *params, const int16_t *input,
                              uint32_t *output)
{
    (void)ctx;
    TB_CHECK(check_binarize(params, input, output, 1));
    {
        const int32_t C = params->c, words = TB_WORDS(C);
        for (int32_t j = 0; j < words; j++) {
            const int32_t n = C - j * TB_WORD_BITS < TB_WORD_BITS ? C - j * TB_WORD_BITS : TB_WORD_BITS;
            const uint32_t flip = params->flip[j];
            int32_t t[TB_WORD_BITS];
            fold_thresholds(params->thresholds + j * TB_WORD_BITS, flip, n, 32768, t);
            for (int32_t px = 0; px < params->pixels; px++) {
                const int16_t *x = input + px * C + j * TB_WORD_BITS;
                uint32_t word = 0u;
                for (int32_t b = n - 1; b >= 0; b--) /* the sign of x - t (no overflow: |t| <= lim + 1) */
                    word = (word << 1) | ((uint32_t)((int32_t)x[b] - t[b]) >> 31);
                output[px * words + j] = (word ^ flip) & tb_tail_mask(C, j);
            }
        }
    }
    return TB_OK;
}

tb_status tb_binarize_s8_opt(const tb_context *ctx, const tb_binarize_params *params, const int8_t *input,
                             uint32_t *output)
{
    (void)ctx;
    TB_CHECK(check_binarize(params, input, output, 0));
    {
        const int32_t C = params->c, words = TB_WORDS(C);
        for (int32_t j = 0; j < words; j++) {
            const int32_t n = C - j * TB_WORD_BITS < TB_WORD_BITS ? C - j * TB_WORD_BITS : TB_WORD_BITS;
            const uint32_t flip = params->flip[j];
            int32_t t[TB_WORD_BITS];
            fold_thresholds(params->thresholds + j * TB_WORD_BITS, flip, n, 128, t);
            for (int32_t px = 0; px < params->pixels; px++) {
                const int8_t *x = input + px * C + j * TB_WORD_BITS;
                uint32_t word = 0u;
                for (int32_t b = n - 1; b >= 0; b--) /* the sign of x - t (no overflow: |t| <= lim + 1) */
                    word = (word << 1) | ((uint32_t)((int32_t)x[b] - t[b]) >> 31);
                output[px * words + j] = (word ^ flip) & tb_tail_mask(C, j);
            }
        }
    }
    return TB_OK;
}
