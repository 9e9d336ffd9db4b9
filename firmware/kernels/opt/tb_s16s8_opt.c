/*
 * tb_s16s8_opt.c - the full-precision layers reading an int16 stream (a residual network's 1x1 shortcut conv,
 * its head dense) for every optimized family: tb_conv2d_s16s8_opt, tb_dense_s16s8_opt (portable C, with the Arm
 * DSP extension's dual 16-bit multiply-accumulate where the core has it).
 *
 * Same params, outputs and statuses as the reference kernels (tb_kernels_stream.h); the weights as they are.
 *
 * The reference adds w * (x - zero_point) one product at a time. x - zero_point can need 17 bits; the codes x
 * themselves are 16-bit, so two of them already lie in one 32-bit word of the input. Here
 * acc = sum w * x - zero_point * sum w over the same (valid) taps, both sums modulo 2^32: the caller's bound
 * keeps the true acc inside int32, so the wrapped result is acc exactly. With the DSP extension, per 4
 * channels of a tap: the inputs re-paired (x0, x2) and (x1, x3) once for two output channels, and per output
 * channel its 4 int8 weights loaded as one word and sign-extended into (w0, w2) and (w1, w3) (SXTB16), two
 * SMLAD for sum w * x and two against (1, 1) for sum w. Without it, the same loop one product at a time, two
 * output channels per input load. The output stage is the reference one (tb_store).
 */
#include <stddef.h>
#include <string.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_opt_stream.h"
#include "tb_opt_internal.h"

#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32
#include <arm_acle.h>
#define TB_S16S8_DSP 1
#else
#define TB_S16S8_DSP 0
#endif

int32_t tb_conv2d_s16s8_opt_get_buffer_size(const tb_conv2d_params *params)
{
    (void)params;
    return 0;
}

int32_t tb_dense_s16s8_opt_get_buffer_size(const tb_dense_params *params)
{
    (void)params;
    return 0;
}

/* The running sums of one or two output channels: sum w * x and sum w, modulo 2^32. */
typedef struct {
    uint32_t wx0, w0, wx1, w1;
} sums;

static inline TB_ALWAYS_INLINE uint32_t load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4u); /* one LDR where the core allows unaligned words */
    return v;
}

#if TB_S16S8_DSP
/* One channel's 4 int8 weights w (one word) against the inputs (x0, x2) and (x1, x3): sign-extended into
 * (w0, w2) and (w1, w3) (SXTB16), *wx += sum w * x and *ws += sum w, two SMLAD each. */
static inline TB_ALWAYS_INLINE void mac4(uint32_t w, int32_t xe, int32_t xo, int32_t *wx, int32_t *ws)
{
    const int32_t ones = 0x00010001;
    const int32_t we = __sxtb16((int32_t)w), wo = __sxtb16((int32_t)((w >> 8) | (w << 24)));
    *wx = __smlad(wo, xo, __smlad(we, xe, *wx));
    *ws = __smlad(wo, ones, __smlad(we, ones, *ws));
}
#endif

/* Adds the products of n channels of one tap: inputs x, the weights of channel a (and of channel b when b != NULL). */
static inline TB_ALWAYS_INLINE void dot(const int16_t *x, const int8_t *a, const int8_t *b, int32_t n, sums *s)
{
    int32_t i = 0;
#if TB_S16S8_DSP
    int32_t wx0 = (int32_t)s->wx0, w0 = (int32_t)s->w0, wx1 = (int32_t)s->wx1, w1 = (int32_t)s->w1;
    for (; i + 4 <= n; i += 4) {
        const uint32_t x01 = load32(x + i), x23 = load32(x + i + 2);
        const int32_t xe = (int32_t)((x01 & 0xFFFFu) | (x23 << 16));     /* (x0, x2) */
        const int32_t xo = (int32_t)((x23 & 0xFFFF0000u) | (x01 >> 16)); /* (x1, x3) */
        mac4(load32(a + i), xe, xo, &wx0, &w0);
        if (b != NULL)
            mac4(load32(b + i), xe, xo, &wx1, &w1);
    }
    s->wx0 = (uint32_t)wx0, s->w0 = (uint32_t)w0, s->wx1 = (uint32_t)wx1, s->w1 = (uint32_t)w1;
#endif
    for (; i < n; i++) {
        const uint32_t xi = (uint32_t)(int32_t)x[i];
        s->wx0 += (uint32_t)(int32_t)a[i] * xi;
        s->w0 += (uint32_t)(int32_t)a[i];
        if (b != NULL) {
            s->wx1 += (uint32_t)(int32_t)b[i] * xi;
            s->w1 += (uint32_t)(int32_t)b[i];
        }
    }
}

/* The plan of an int8 / int16 output of at most TB_OPT_RUN channels (NULL: the reference stage for all). */
static const tb_opt_rq *s16s8_plan(const tb_out_params *out, int32_t out_c, int32_t k_len, const int8_t *w,
                                   int32_t zero_point, tb_opt_rq *q)
{
    const int32_t step = tb_opt_plan_begin(out, out_c, q);
    int64_t wmax = 0;
    if (step != TB_OPT_PLAN_BOUND)
        return step == TB_OPT_PLAN_DONE ? q : NULL;
    for (int32_t o = 0; o < out_c; o++) {
        int64_t sum = 0;
        for (int32_t k = 0; k < k_len; k++)
            sum += w[o * k_len + k] < 0 ? -(int32_t)w[o * k_len + k] : w[o * k_len + k];
        wmax = sum > wmax ? sum : wmax;
    }
    tb_opt_plan_bounded(out, out_c, wmax, 32768 + (zero_point < 0 ? -(int64_t)zero_point : (int64_t)zero_point), q);
    return q;
}

/* acc = sum w * x - zero_point * sum w, exact when it fits int32 (the caller's bound). */
static inline TB_ALWAYS_INLINE int32_t finish(uint32_t wx, uint32_t w, int32_t zero_point)
{
    const uint32_t v = wx - (uint32_t)zero_point * w;
    return v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1; /* two's complement, without UB */
}

tb_status tb_conv2d_s16s8_opt(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                              const int16_t *input, const int8_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_conv2d_s16s8(params, out, input, weights, output));
    {
        const tb_conv2d_params *p = params;
        const int32_t taps = p->kernel_h * p->kernel_w, k_len = taps * p->in_c, zp = p->input_zero_point;
        TB_OPT_PLAN(rq);
        const tb_opt_rq *q = s16s8_plan(out, p->out_c, k_len, weights, zp, rq);
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                for (int32_t o = 0; o < p->out_c; o += 2) {
                    const int32_t pair = o + 1 < p->out_c;
                    const int8_t *wa = weights + o * k_len;
                    sums s = {0u, 0u, 0u, 0u};
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
                        if (iy < 0 || iy >= p->in_h)
                            continue;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
                            const int32_t t = (kh * p->kernel_w + kw) * p->in_c;
                            if (ix >= 0 && ix < p->in_w)
                                dot(input + (iy * p->in_w + ix) * p->in_c, wa + t, pair ? wa + k_len + t : NULL,
                                    p->in_c, &s);
                        }
                    }
                    tb_opt_store_planned(out, output, pixel, p->out_c, o, finish(s.wx0, s.w0, zp),
                                         &word, q, out->kind, out->multiplier);
                    if (pair)
                        tb_opt_store_planned(out, output, pixel, p->out_c, o + 1, finish(s.wx1, s.w1, zp),
                                             &word, q, out->kind, out->multiplier);
                }
            }
        }
    }
    return TB_OK;
}

tb_status tb_dense_s16s8_opt(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                             const int16_t *input, const int8_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_dense_s16s8(params, out, input, weights, output));
    {
        const int32_t k_len = params->in_pixels * params->in_c, zp = params->input_zero_point;
        TB_OPT_PLAN(rq);
        const tb_opt_rq *q = s16s8_plan(out, params->out_c, k_len, weights, zp, rq);
        uint32_t word = 0u;
        for (int32_t o = 0; o < params->out_c; o += 2) {
            const int32_t pair = o + 1 < params->out_c;
            const int8_t *wa = weights + o * k_len;
            sums s = {0u, 0u, 0u, 0u};
            dot(input, wa, pair ? wa + k_len : NULL, k_len, &s);
            tb_opt_store_planned(out, output, 0, params->out_c, o, finish(s.wx0, s.w0, zp),
                                 &word, q, out->kind, out->multiplier);
            if (pair)
                tb_opt_store_planned(out, output, 0, params->out_c, o + 1, finish(s.wx1, s.w1, zp),
                                     &word, q, out->kind, out->multiplier);
        }
    }
    return TB_OK;
}
