/*
 * tb_stream_opt.c - residual add and binarize of the real-valued streams for every optimized family (portable C):
 * tb_add_s8_opt, tb_add_s16_opt, tb_binarize_s8_opt, tb_binarize_s16_opt, tb_avgpool_s8_opt, tb_avgpool_s16_opt,
 * tb_prelu_s8_opt, tb_prelu_s16_opt.
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
 * Average pool: the window clipped once per output pixel, its taps summed channel-innermost into 32 local
 * sums, then the same high-word requantization of each window sum v (v * 2^k must fit an int32 for every
 * window, checked once per call from the window size and the zero point); other constants take the
 * reference's 64-bit floor shift.
 *
 * PReLU: channel by channel (the constants of a channel planned once), the pixels inner: each piece's
 * multiplier and pre-scaled offset chosen by the breakpoint, the high-word requantization where the channel's
 * constants allow it, else the reference's.
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

#if TB_KERNEL_CHECKS
static tb_status check_avgpool(const tb_avgpool_params *p, const void *input, const void *output, int wide)
{
    tb_maxpool_params g;
    if (p == NULL || input == NULL || output == NULL)
        return TB_ERR_ARG;
    g.in_h = p->in_h, g.in_w = p->in_w, g.c = p->c, g.out_h = p->out_h, g.out_w = p->out_w;
    g.kernel_h = p->kernel_h, g.kernel_w = p->kernel_w, g.stride_h = p->stride_h, g.stride_w = p->stride_w;
    g.pad_top = p->pad_top, g.pad_left = p->pad_left, g.pad_bottom = p->pad_bottom, g.pad_right = p->pad_right;
    g.or_mask = NULL;
    if (tb_check_pool_geometry(&g) != TB_OK || p->shift < 0 || p->shift > TB_SHIFT_MAX)
        return TB_ERR_ARG;
    if (wide ? p->input_zero_point < TB_ZP16_MIN || p->input_zero_point > TB_ZP16_MAX
             : p->input_zero_point < TB_ZP_MIN || p->input_zero_point > TB_ZP_MAX)
        return TB_ERR_ARG;
    if (wide && (!tb_aligned2(input) || !tb_aligned2(output)))
        return TB_ERR_ALIGN;
    return TB_OK;
}
#endif

/*
 * The fast requantization of a pool's window sums |v| <= vmax: y = floor((v * 2^k * multiplier + offset * 2^k)
 * / 2^32) floor-shifted by r (k = 32 - shift, r = 0; or k = 0, r = shift - 32). 1 when exact for these
 * constants (v * 2^k fits an int32, the sum times 2^k fits 62 bits), else 0.
 */
static int pool_plan(const tb_avgpool_params *p, int64_t vmax, int32_t *scale, int64_t *offset, int32_t *r)
{
    const int32_t k = p->shift >= 32 ? 0 : 32 - p->shift;
    const uint64_t m = p->multiplier < 0 ? (uint64_t)0 - (uint64_t)p->multiplier : (uint64_t)p->multiplier;
    const uint64_t off = p->offset < 0 ? (uint64_t)0 - (uint64_t)p->offset : (uint64_t)p->offset;
    if (p->shift < 16 || vmax >= ((int64_t)1 << (31 - k)) || off >= ((uint64_t)1 << 62))
        return 0;
    if ((uint64_t)vmax * m + off >= ((uint64_t)1 << (62 - k))) /* vmax < 2^31, m <= 2^31: no wrap */
        return 0;
    *scale = (int32_t)1 << k;
    *offset = p->offset * ((int64_t)1 << k);
    *r = p->shift >= 32 ? p->shift - 32 : 0;
    return 1;
}

/* The body of tb_avgpool_s8_opt / tb_avgpool_s16_opt: T the code type, HI its largest value, SAT its clamp,
 * REQUANT the reference requantization. */
#define TB_AVGPOOL_BODY(T, HI, SAT, REQUANT)                                                                     \
    do {                                                                                                             \
        const tb_avgpool_params *p = params;                                                                         \
        const int32_t C = p->c, row = p->in_w * C;                                                                   \
        const int32_t zp = p->input_zero_point, zabs = zp < 0 ? -zp : zp;                                            \
        int32_t scale = 1, r = 0;                                                                                    \
        int64_t offset = 0;                                                                                          \
        const int64_t vmax = (int64_t)p->kernel_h * p->kernel_w * ((HI) + 1 + zabs);                                 \
        const int fast = pool_plan(p, vmax, &scale, &offset, &r);                                                    \
        for (int32_t oy = 0; oy < p->out_h; oy++) {                                                                  \
            int32_t ky0, ky1;                                                                                        \
            tb_pool_window(oy, p->stride_h, p->pad_top, p->kernel_h, p->in_h, &ky0, &ky1);                           \
            for (int32_t ox = 0; ox < p->out_w; ox++) {                                                              \
                int32_t kx0, kx1;                                                                                    \
                tb_pool_window(ox, p->stride_w, p->pad_left, p->kernel_w, p->in_w, &kx0, &kx1);                      \
                const int32_t rows = ky1 - ky0, cols = kx1 - kx0, zsum = rows * cols * zp;                           \
                const T *first = rows > 0 && cols > 0 ? input + (ky0 * p->in_w + kx0) * C : input;                   \
                T *y = output + (oy * p->out_w + ox) * C;                                                            \
                for (int32_t c0 = 0; c0 < C; c0 += TB_WORD_BITS) { /* 32 channels' sums in a local array */          \
                    const int32_t n = C - c0 < TB_WORD_BITS ? C - c0 : TB_WORD_BITS;                                 \
                    int32_t acc[TB_WORD_BITS];                                                                       \
                    const T *x = first + c0;                                                                         \
                    for (int32_t c = 0; c < n; c++)                                                                  \
                        acc[c] = -zsum;                                                                              \
                    for (int32_t iy = 0; iy < rows; iy++, x += row)                                                  \
                        for (int32_t ix = 0; ix < cols; ix++) {                                                      \
                            const T *px = x + ix * C;                                                                \
                            for (int32_t c = 0; c < n; c++)                                                          \
                                acc[c] += px[c];                                                                     \
                        }                                                                                            \
                    if (!fast)                                                                                       \
                        for (int32_t c = 0; c < n; c++)                                                              \
                            y[c0 + c] = REQUANT(acc[c], p->multiplier, p->offset, p->shift);                         \
                    else if (r == 0) /* shift <= 32: the high word is the result */                                  \
                        for (int32_t c = 0; c < n; c++)                                                              \
                            y[c0 + c] = SAT(high_word(offset + (int64_t)(acc[c] * scale) * p->multiplier));          \
                    else                                                                                             \
                        for (int32_t c = 0; c < n; c++)                                                              \
                            y[c0 + c] = SAT(floor_shift32(high_word(offset + (int64_t)acc[c] * p->multiplier), r));  \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

tb_status tb_avgpool_s16_opt(const tb_context *ctx, const tb_avgpool_params *params, const int16_t *input,
                             int16_t *output)
{
    (void)ctx;
    TB_CHECK(check_avgpool(params, input, output, 1));
    TB_AVGPOOL_BODY(int16_t, INT16_MAX, TB_SAT16, tb_requantize_s16);
    return TB_OK;
}

tb_status tb_avgpool_s8_opt(const tb_context *ctx, const tb_avgpool_params *params, const int8_t *input,
                            int8_t *output)
{
    (void)ctx;
    TB_CHECK(check_avgpool(params, input, output, 0));
    TB_AVGPOOL_BODY(int8_t, INT8_MAX, TB_SAT8, tb_requantize);
    return TB_OK;
}

#if TB_KERNEL_CHECKS
static tb_status check_prelu(const tb_prelu_params *p, const void *input, const void *output, int wide)
{
    if (p == NULL || input == NULL || output == NULL || p->pixels < 1 || p->c < 1 || p->breakpoint == NULL ||
        p->mult_pos == NULL || p->offset_pos == NULL || p->mult_neg == NULL || p->offset_neg == NULL ||
        p->shift == NULL)
        return TB_ERR_ARG;
    if (!tb_aligned4(p->breakpoint) || !tb_aligned4(p->mult_pos) || !tb_aligned4(p->offset_pos) ||
        !tb_aligned4(p->mult_neg) || !tb_aligned4(p->offset_neg) || !tb_aligned4(p->shift) ||
        (wide && (!tb_aligned2(input) || !tb_aligned2(output))))
        return TB_ERR_ALIGN;
    for (int32_t c = 0; c < p->c; c++)
        if (p->shift[c] < 0 || p->shift[c] > TB_SHIFT_MAX)
            return TB_ERR_ARG;
    return TB_OK;
}
#endif

static uint64_t abs64(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/*
 * The fast requantization of channel c of a PReLU on codes |x| <= xmax: both pieces' offsets times 2^k, the
 * scale 2^k and the final shift r (as add_plan). 1 when exact for the channel's constants, else 0.
 */
static int prelu_plan(const tb_prelu_params *p, int32_t c, int32_t xmax, int32_t *scale, int64_t *off_pos,
                      int64_t *off_neg, int32_t *r)
{
    const int32_t s = p->shift[c], k = s >= 32 ? 0 : 32 - s;
    const uint64_t mp = abs64(p->mult_pos[c]), mn = abs64(p->mult_neg[c]);
    const uint64_t op = abs64(p->offset_pos[c]), on = abs64(p->offset_neg[c]);
    const uint64_t m = mp > mn ? mp : mn, o = op > on ? op : on;
    if (s < 16 || o >= ((uint64_t)1 << 62) || (uint64_t)xmax * m + o >= ((uint64_t)1 << (62 - k)))
        return 0; /* |x| * 2^k <= 2^31 needs k <= 16; the sums times 2^k within 62 bits */
    *scale = (int32_t)1 << k;
    *off_pos = p->offset_pos[c] * ((int64_t)1 << k);
    *off_neg = p->offset_neg[c] * ((int64_t)1 << k);
    *r = s >= 32 ? s - 32 : 0;
    return 1;
}

/* The body of tb_prelu_s8_opt / tb_prelu_s16_opt: T the code type, XMAX its largest magnitude, SAT its clamp,
 * REQUANT64 the reference floor shift and clamp. */
#define TB_PRELU_BODY(T, XMAX, SAT, REQUANT64)                                                                       \
    do {                                                                                                             \
        const tb_prelu_params *p = params;                                                                           \
        const int32_t C = p->c, P = p->pixels;                                                                       \
        for (int32_t c = 0; c < C; c++) {                                                                            \
            const int32_t bp = p->breakpoint[c], mp = p->mult_pos[c], mn = p->mult_neg[c];                           \
            const T *x = input + c;                                                                                  \
            T *y = output + c;                                                                                       \
            int32_t scale, r;                                                                                        \
            int64_t op, on;                                                                                          \
            if (!prelu_plan(p, c, XMAX, &scale, &op, &on, &r)) {                                                     \
                for (int32_t i = 0; i < P; i++, x += C, y += C)                                                      \
                    *y = REQUANT64(tb_prelu_sum(*x, bp, mp, p->offset_pos[c], mn, p->offset_neg[c]), p->shift[c]);   \
            } else if (r == 0) { /* shift <= 32: the high word is the result */                                      \
                for (int32_t i = 0; i < P; i++, x += C, y += C) {                                                    \
                    const int32_t v = *x * scale;                                                                    \
                    *y = SAT(high_word(*x >= bp ? op + (int64_t)v * mp : on + (int64_t)v * mn));                     \
                }                                                                                                    \
            } else {                                                                                                 \
                for (int32_t i = 0; i < P; i++, x += C, y += C) {                                                    \
                    const int32_t v = *x;                                                                            \
                    *y = SAT(floor_shift32(high_word(v >= bp ? op + (int64_t)v * mp : on + (int64_t)v * mn), r));    \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

tb_status tb_prelu_s16_opt(const tb_context *ctx, const tb_prelu_params *params, const int16_t *input,
                           int16_t *output)
{
    (void)ctx;
    TB_CHECK(check_prelu(params, input, output, 1));
    TB_PRELU_BODY(int16_t, 32768, TB_SAT16, tb_requantize64_s16);
    return TB_OK;
}

tb_status tb_prelu_s8_opt(const tb_context *ctx, const tb_prelu_params *params, const int8_t *input,
                          int8_t *output)
{
    (void)ctx;
    TB_CHECK(check_prelu(params, input, output, 0));
    TB_PRELU_BODY(int8_t, 128, TB_SAT8, tb_requantize64);
    return TB_OK;
}
