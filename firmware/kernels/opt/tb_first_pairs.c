/*
 * tb_first_pairs.c - int8 first layers with int8 or int16 weights for every optimized family (portable C,
 * with the Arm DSP extension's dual 16-bit multiply-accumulate where the core has it).
 *
 * tb_conv2d_s8s8 / tb_conv2d_s8s16 / tb_dense_s8s8 / tb_dense_s8s16 compute acc = sum of w * (x - zero_point)
 * one product at a time. Here both operands are 16-bit pairs in 32-bit words: the weights re-encoded at convert
 * time (tb_pairs_encode_weights: [O][ceil(K / 2)] words, weight 2j in the low half, 2j + 1 in the high half,
 * a zero pad after an odd K), the column of (x - zero_point) gathered the same way into the scratch. One
 * dual multiply-accumulate (SMLAD) adds two products; the loop is blocked over two output pixels and two
 * output channels, so four loads feed four SMLADs (eight MACs). On cores without the DSP extension the same
 * loop runs with two multiplies per pair. Exact: the converter bounds K * max|w| * max|x - zero_point| below
 * 2^31, so no partial sum overflows. The output stage is the reference one (tb_store), except for an int8 or
 * int16 output of at most 32 channels whose constants allow the high-word requantization of tb_opt_requant_plan
 * for the largest |acc| these weights can reach (sum |w| * (128 + |zero_point|), computed once per call):
 * then one SMLAL and a saturation per value instead of a 64-bit floor shift.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define PAIR_MAC(a, b, acc) __smlad((int32_t)(a), (int32_t)(b), (acc))
#else
static int32_t lo16(uint32_t v)
{
    return (int32_t)(v & 0xFFFFu) - (int32_t)((v & 0x8000u) << 1);
}

static int32_t hi16(uint32_t v)
{
    return lo16(v >> 16);
}

#define PAIR_MAC(a, b, acc) ((acc) + lo16(a) * lo16(b) + hi16(a) * hi16(b))
#endif

int32_t tb_pairs_encoded_words(int32_t out_c, int32_t k_len)
{
    return out_c * ((k_len + 1) / 2);
}

void tb_pairs_encode_weights(const int16_t *weights, int32_t out_c, int32_t k_len, uint32_t *encoded)
{
    const int32_t nw = (k_len + 1) / 2;
    for (int32_t o = 0; o < out_c; o++) {
        for (int32_t j = 0; j < nw; j++) {
            const int32_t k = 2 * j;
            const uint32_t lo = (uint32_t)(uint16_t)weights[o * k_len + k];
            const uint32_t hi = k + 1 < k_len ? (uint32_t)(uint16_t)weights[o * k_len + k + 1] : 0u;
            encoded[o * nw + j] = lo | hi << 16;
        }
    }
}

/* value v (fits int16) at position k of a pair column, filled in increasing k */
static void put16(uint32_t *col, int32_t k, int32_t v)
{
    const uint32_t u = (uint32_t)v & 0xFFFFu;
    if (k & 1)
        col[k >> 1] |= u << 16;
    else
        col[k >> 1] = u;
}

static void column_conv(const tb_conv2d_params *p, const int8_t *input, int32_t pixel, uint32_t *col)
{
    const int32_t oy = pixel / p->out_w, ox = pixel % p->out_w;
    int32_t k = 0;
    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                const int8_t *x = input + (iy * p->in_w + ix) * p->in_c;
                for (int32_t c = 0; c < p->in_c; c++)
                    put16(col, k++, x[c] - p->input_zero_point);
            } else {
                for (int32_t c = 0; c < p->in_c; c++)
                    put16(col, k++, 0);
            }
        }
    }
    if (k & 1)
        put16(col, k, 0); /* the pad after an odd K */
}

/*
 * The plan of an int8 / int16 output of at most TB_OPT_RUN channels for these weights (nw pair words per
 * channel) and |x - zero_point| <= 128 + |zero_point| (channels it cannot take keep the reference
 * requantization); NULL when the reference output stage runs for every channel.
 */
static const tb_opt_rq *pairs_plan(const tb_out_params *out, int32_t out_c, int32_t nw, const uint32_t *w,
                                   int32_t zero_point, tb_opt_rq *q)
{
    const int32_t step = tb_opt_plan_begin(out, out_c, q);
    int64_t wmax = 0;
    if (step != TB_OPT_PLAN_BOUND)
        return step == TB_OPT_PLAN_DONE ? q : NULL;
    for (int32_t o = 0; o < out_c; o++) {
        int64_t sum = 0;
        for (int32_t j = 0; j < nw; j++) {
            const int32_t lo = (int16_t)(w[o * nw + j] & 0xFFFFu), hi = (int16_t)(w[o * nw + j] >> 16);
            sum += (lo < 0 ? -lo : lo) + (hi < 0 ? -hi : hi);
        }
        wmax = sum > wmax ? sum : wmax;
    }
    tb_opt_plan_bounded(out, out_c, wmax, 128 + (zero_point < 0 ? -(int64_t)zero_point : (int64_t)zero_point), q);
    return q;
}

/* Every output channel of one pixel (col0) or of two (col0, col1; pixel1 = pixel0 + 1). */
static inline TB_ALWAYS_INLINE void dot_body(const tb_out_params *out, void *output, int32_t out_c, int32_t nw,
                                             const uint32_t *w, const uint32_t *col0, const uint32_t *col1,
                                             int32_t pixel0, const tb_opt_rq *q)
{
    /* the output stage's kind and multipliers in locals: the stores may alias *out as far as the compiler knows */
    const tb_out_kind kind = out->kind;
    const int32_t *mult = out->multiplier;
    uint32_t word0 = 0u, word1 = 0u;
    int32_t o = 0;
    for (; o + 1 < out_c; o += 2) {
        const uint32_t *wa = w + o * nw, *wb = wa + nw;
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
        if (col1 != NULL) {
            for (int32_t j = 0; j < nw; j++) {
                const uint32_t c0 = col0[j], c1 = col1[j], x = wa[j], y = wb[j];
                a00 = PAIR_MAC(c0, x, a00);
                a01 = PAIR_MAC(c0, y, a01);
                a10 = PAIR_MAC(c1, x, a10);
                a11 = PAIR_MAC(c1, y, a11);
            }
            tb_opt_store_planned(out, output, pixel0 + 1, out_c, o, a10, &word1, q, kind, mult);
            tb_opt_store_planned(out, output, pixel0 + 1, out_c, o + 1, a11, &word1, q, kind, mult);
        } else {
            for (int32_t j = 0; j < nw; j++) {
                const uint32_t c0 = col0[j];
                a00 = PAIR_MAC(c0, wa[j], a00);
                a01 = PAIR_MAC(c0, wb[j], a01);
            }
        }
        tb_opt_store_planned(out, output, pixel0, out_c, o, a00, &word0, q, kind, mult);
        tb_opt_store_planned(out, output, pixel0, out_c, o + 1, a01, &word0, q, kind, mult);
    }
    if (o < out_c) { /* an odd last channel */
        const uint32_t *wa = w + o * nw;
        int32_t a0 = 0, a1 = 0;
        for (int32_t j = 0; j < nw; j++) {
            a0 = PAIR_MAC(col0[j], wa[j], a0);
            if (col1 != NULL)
                a1 = PAIR_MAC(col1[j], wa[j], a1);
        }
        tb_opt_store_planned(out, output, pixel0, out_c, o, a0, &word0, q, kind, mult);
        if (col1 != NULL)
            tb_opt_store_planned(out, output, pixel0 + 1, out_c, o, a1, &word1, q, kind, mult);
    }
}

/* dot_body with the reference output stage (q NULL: the planned one compiled out), and with a plan. */
static void dot_ref(const tb_out_params *out, void *output, int32_t out_c, int32_t nw, const uint32_t *w,
                    const uint32_t *col0, const uint32_t *col1, int32_t pixel0)
{
    dot_body(out, output, out_c, nw, w, col0, col1, pixel0, NULL);
}

static void dot_planned(const tb_out_params *out, void *output, int32_t out_c, int32_t nw, const uint32_t *w,
                        const uint32_t *col0, const uint32_t *col1, int32_t pixel0, const tb_opt_rq *q)
{
    dot_body(out, output, out_c, nw, w, col0, col1, pixel0, q);
}

static void dot_pixels(const tb_out_params *out, void *output, int32_t out_c, int32_t nw, const uint32_t *w,
                       const uint32_t *col0, const uint32_t *col1, int32_t pixel0, const tb_opt_rq *q)
{
    if (q != NULL)
        dot_planned(out, output, out_c, nw, w, col0, col1, pixel0, q);
    else
        dot_ref(out, output, out_c, nw, w, col0, col1, pixel0);
}

int32_t tb_conv2d_s8_pairs_get_buffer_size(const tb_conv2d_params *params)
{
    return 2 * 4 * ((params->kernel_h * params->kernel_w * params->in_c + 1) / 2);
}

tb_status tb_conv2d_s8_pairs(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                             const int8_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
    TB_CHECK(tb_check_conv2d_s8(ctx, params, tb_conv2d_s8_pairs_get_buffer_size(params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t nw = (p->kernel_h * p->kernel_w * p->in_c + 1) / 2;
        const int32_t pixels = p->out_h * p->out_w;
        uint32_t *col0 = (uint32_t *)ctx->buf, *col1 = col0 + nw;
        TB_OPT_PLAN(plan);
        const tb_opt_rq *q = pairs_plan(out, p->out_c, nw, weights, p->input_zero_point, plan);
        for (int32_t px = 0; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            column_conv(p, input, px, col0);
            if (two)
                column_conv(p, input, px + 1, col1);
            dot_pixels(out, output, p->out_c, nw, weights, col0, two ? col1 : NULL, px, q);
        }
    }
    return TB_OK;
}

int32_t tb_dense_s8_pairs_get_buffer_size(const tb_dense_params *params)
{
    return 4 * ((params->in_pixels * params->in_c + 1) / 2);
}

tb_status tb_dense_s8_pairs(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                            const int8_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
#if TB_KERNEL_CHECKS
    if (params->input_zero_point < TB_ZP_MIN || params->input_zero_point > TB_ZP_MAX)
        return TB_ERR_ARG;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < tb_dense_s8_pairs_get_buffer_size(params))
        return TB_ERR_SCRATCH;
    if (!tb_aligned4(ctx->buf))
        return TB_ERR_ALIGN;
#endif
    {
        const int32_t k_len = params->in_pixels * params->in_c;
        const int32_t nw = (k_len + 1) / 2;
        uint32_t *col = (uint32_t *)ctx->buf;
        TB_OPT_PLAN(plan);
        const tb_opt_rq *q = pairs_plan(out, params->out_c, nw, weights, params->input_zero_point, plan);
        for (int32_t k = 0; k < k_len; k++)
            put16(col, k, input[k] - params->input_zero_point);
        if (k_len & 1)
            put16(col, k_len, 0);
        dot_pixels(out, output, params->out_c, nw, weights, col, NULL, 0, q);
    }
    return TB_OK;
}
