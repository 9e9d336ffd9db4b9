/*
 * tb_conv2d_grouped_b1b1_dw.c - depthwise binary conv2d for every optimized family (portable C):
 * tb_conv2d_grouped_b1b1_dw.
 *
 * Same params, outputs and statuses as the reference tb_conv2d_grouped_b1b1 on a depthwise layer (groups ==
 * in_c == out_c). The reference gathers one input bit per output channel and tap and popcounts a word that
 * holds it (31 of 32 bits of each weight word unused); here the weights are tap-major, one bit per channel
 * (tb_dw_b1b1_encode_weights), and 32 channels advance together:
 *
 *   - per valid tap, m = x XOR w marks the channels whose input and weight differ; m is added to counters
 *     kept in bit planes (plane i holds bit i of every channel's mismatch count), a ripple carry that
 *     stops as soon as it is 0 (two planes on average);
 *   - a TB_OUT_BITS output is then one bit-sliced comparison of the counts with the popcount-domain
 *     thresholds: acc = n - 2 * pop over n valid taps, and (acc' < tau) with acc' = ~acc where flip is
 *     (pop >= T) XOR flip with T = floor((n - tau) / 2) + 1, or floor((n + tau) / 2) + 1 where flip, clamped
 *     to [0, n + 1] (tinybnn.backend.kernels.pop_thresholds). T depends on the weights' layer only: the
 *     encoder stores the T of every n in [0, taps] in planes after the weight bits (flash, no work per call);
 *   - other outputs read each channel's count from the planes and take the reference output stage.
 *
 * The counters are six named locals (counts up to 63, TB_DW_MAX_TAPS = 62), so that they stay in registers;
 * zero padding clips each window once (no test per tap), +1 / -1 padding counts every tap.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_opt_grouped.h"

/* Bit planes of a count in [0, taps + 1]. */
static int32_t planes_of(int32_t taps)
{
    int32_t p = 0;
    while ((taps + 1) >> p)
        p++;
    return p;
}

int32_t tb_dw_b1b1_encoded_words(int32_t channels, int32_t taps, tb_out_kind kind)
{
    const int32_t thresholds = kind == TB_OUT_BITS ? (taps + 1) * planes_of(taps) : 0;
    return (taps + thresholds) * TB_WORDS(channels);
}

/* The popcount-domain thresholds T(n, o) of n valid taps, in planes: t[j * planes + i] holds bit i of T(n, o)
 * for the channels o of word j (T <= n + 1 < 64: six planes at most). tau is clamped to [-n - 2, n + 2] first
 * (acc' is in [-n - 1, n], so the comparison does not change), which keeps every sum small and non-negative
 * before its halving. */
static void encode_thresholds(const int32_t *thresholds, const uint32_t *flip, int32_t channels, int32_t n,
                              int32_t planes, uint32_t *t)
{
    for (int32_t i = 0; i < TB_WORDS(channels) * planes; i++)
        t[i] = 0u;
    for (int32_t o = 0; o < channels; o++) {
        const int32_t tau0 = thresholds[o];
        const int32_t tau = tau0 < -n - 2 ? -n - 2 : (tau0 > n + 2 ? n + 2 : tau0);
        const int32_t v = (flip[o / TB_WORD_BITS] >> (o % TB_WORD_BITS)) & 1u ? n + tau : n - tau; /* >= -2 */
        const int32_t T0 = (v + 2) / 2; /* floor(v / 2) + 1 */
        const int32_t T = T0 > n + 1 ? n + 1 : T0;
        for (int32_t i = 0; i < planes; i++)
            t[(o / TB_WORD_BITS) * planes + i] |= (uint32_t)((T >> i) & 1) << (o % TB_WORD_BITS);
    }
}

void tb_dw_b1b1_encode_weights(const uint32_t *weights, const tb_out_params *out, int32_t channels, int32_t taps,
                               uint32_t *encoded)
{
    const int32_t words = TB_WORDS(channels), planes = planes_of(taps);
    for (int32_t i = 0; i < taps * words; i++)
        encoded[i] = 0u;
    for (int32_t o = 0; o < channels; o++)
        for (int32_t t = 0; t < taps; t++)
            encoded[t * words + o / TB_WORD_BITS] |= (weights[o * taps + t] & 1u) << (o % TB_WORD_BITS);
    if (out->kind == TB_OUT_BITS)
        for (int32_t n = 0; n <= taps; n++)
            encode_thresholds(out->thresholds, out->flip, channels, n, planes,
                              encoded + (taps + n * planes) * words);
}

int32_t tb_conv2d_grouped_b1b1_dw_get_buffer_size(const tb_grouped_conv2d_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_dw(const tb_grouped_conv2d_params *params, const tb_out_params *out, const uint32_t *input,
                          const uint32_t *weights, const void *output)
{
    tb_status status;
    if (params == NULL)
        return TB_ERR_ARG;
    status = tb_check_conv2d(&params->conv);
    if (status != TB_OK)
        return status;
    if (params->groups != params->conv.in_c || params->conv.out_c != params->conv.in_c ||
        params->conv.kernel_h * params->conv.kernel_w > TB_DW_MAX_TAPS)
        return TB_ERR_ARG;
    return tb_check_operands(out, params->conv.out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS);
}
#endif

/* p += m channel by channel (a ripple carry over the six planes, stopping when it is 0) */
#define TB_DW_ADD(m)                                                                                        \
    do {                                                                                                    \
        uint32_t c_ = p0 & (m), d_;                                                                         \
        p0 ^= (m);                                                                                          \
        if (c_ == 0u) break;                                                                                \
        d_ = p1 & c_, p1 ^= c_;                                                                             \
        if (d_ == 0u) break;                                                                                \
        c_ = p2 & d_, p2 ^= d_;                                                                             \
        if (c_ == 0u) break;                                                                                \
        d_ = p3 & c_, p3 ^= c_;                                                                             \
        if (d_ == 0u) break;                                                                                \
        c_ = p4 & d_, p4 ^= d_;                                                                             \
        p5 ^= c_;                                                                                           \
    } while (0)

/* one plane of the comparison pop >= T, most significant first */
#define TB_DW_CMP(a, b)                                                                                     \
    do {                                                                                                    \
        gt |= eq & (a) & ~(b);                                                                              \
        eq &= ~((a) ^ (b));                                                                                 \
    } while (0)

/* [lo, hi) of the taps k of output index o whose input index o * stride - pad + k * dilation is in [0, in) */
static void clip(int32_t o, int32_t stride, int32_t pad, int32_t kernel, int32_t dilation, int32_t in,
                 int32_t *lo, int32_t *hi)
{
    const int32_t start = o * stride - pad;
    int32_t k0 = start < 0 ? (-start + dilation - 1) / dilation : 0;
    int32_t k1 = start + (kernel - 1) * dilation < in ? kernel : (in - 1 - start) / dilation + 1;
    if (start > in - 1)
        k1 = 0;
    *lo = k0;
    *hi = k1 > k0 ? k1 : k0;
}

tb_status tb_conv2d_grouped_b1b1_dw(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                    const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                                    void *output)
{
    (void)ctx;
    TB_CHECK(check_dw(params, out, input, weights, output));
    {
        const tb_conv2d_params *p = &params->conv;
        const int32_t C = p->out_c, words = TB_WORDS(C);
        const int32_t taps = p->kernel_h * p->kernel_w, planes = planes_of(taps);
        const int bits = out->kind == TB_OUT_BITS;
        const int zero_pad = p->pad == TB_PAD_ZERO;
        const int32_t row_step = p->dilation_h * p->in_w * words, col_step = p->dilation_w * words;
        const uint32_t *thr = weights + taps * words; /* TB_OUT_BITS: the thresholds after the weight bits */
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            int32_t y0 = 0, y1 = p->kernel_h;
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            if (zero_pad)
                clip(oy, p->stride_h, p->pad_top, p->kernel_h, p->dilation_h, p->in_h, &y0, &y1);
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t x0 = 0, x1 = p->kernel_w, n;
                if (zero_pad)
                    clip(ox, p->stride_w, p->pad_left, p->kernel_w, p->dilation_w, p->in_w, &x0, &x1);
                n = (y1 - y0) * (x1 - x0); /* zero padding: the valid taps; else every tap */
                for (int32_t j = 0; j < words; j++) {
                    const uint32_t tail = tb_tail_mask(C, j);
                    uint32_t p0 = 0u, p1 = 0u, p2 = 0u, p3 = 0u, p4 = 0u, p5 = 0u;
                    if (zero_pad && n > 0) {
                        const uint32_t *row = input + ((iy0 + y0 * p->dilation_h) * p->in_w +
                                                       ix0 + x0 * p->dilation_w) * words + j;
                        for (int32_t kh = y0; kh < y1; kh++, row += row_step) {
                            const uint32_t *x = row;
                            const uint32_t *w = weights + (kh * p->kernel_w + x0) * words + j;
                            for (int32_t kw = x0; kw < x1; kw++, x += col_step, w += words) {
                                const uint32_t m = *x ^ *w;
                                TB_DW_ADD(m);
                            }
                        }
                    } else if (!zero_pad) { /* a +1 pixel has every bit 0, a -1 pixel every channel bit 1 */
                        const uint32_t pad = p->pad == TB_PAD_MINUS_ONE ? tail : 0u;
                        const uint32_t *w = weights + j;
                        for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                            const int32_t iy = iy0 + kh * p->dilation_h;
                            const int row_in = iy >= 0 && iy < p->in_h;
                            for (int32_t kw = 0; kw < p->kernel_w; kw++, w += words) {
                                const int32_t ix = ix0 + kw * p->dilation_w;
                                const uint32_t x = row_in && ix >= 0 && ix < p->in_w ?
                                                       input[(iy * p->in_w + ix) * words + j] : pad;
                                const uint32_t m = x ^ *w;
                                TB_DW_ADD(m);
                            }
                        }
                    }
                    if (bits) {
                        const uint32_t *T = thr + (n * words + j) * planes;
                        uint32_t gt = 0u, eq = 0xFFFFFFFFu;
                        switch (planes) { /* the planes a count of these taps has, most significant first */
                        case 6:
                            TB_DW_CMP(p5, T[5]); /* fall through */
                        case 5:
                            TB_DW_CMP(p4, T[4]); /* fall through */
                        case 4:
                            TB_DW_CMP(p3, T[3]); /* fall through */
                        case 3:
                            TB_DW_CMP(p2, T[2]); /* fall through */
                        case 2:
                            TB_DW_CMP(p1, T[1]); /* fall through */
                        default:
                            TB_DW_CMP(p0, T[0]);
                        }
                        ((uint32_t *)output)[pixel * words + j] = ((gt | eq) ^ out->flip[j]) & tail;
                    } else {
                        const int32_t last = C - j * TB_WORD_BITS < TB_WORD_BITS ? C - j * TB_WORD_BITS : TB_WORD_BITS;
                        uint32_t unused = 0u;
                        for (int32_t b = 0; b < last; b++) {
                            const int32_t pop = (int32_t)(((p0 >> b) & 1u) | (((p1 >> b) & 1u) << 1) |
                                                          (((p2 >> b) & 1u) << 2) | (((p3 >> b) & 1u) << 3) |
                                                          (((p4 >> b) & 1u) << 4) | (((p5 >> b) & 1u) << 5));
                            tb_store(out, output, pixel, C, j * TB_WORD_BITS + b, n - 2 * pop, &unused);
                        }
                    }
                }
            }
        }
    }
    return TB_OK;
}
