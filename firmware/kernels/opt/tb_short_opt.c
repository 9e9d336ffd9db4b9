/*
 * tb_short_opt.c - binary conv2d / dense with short dot products, for every optimized family (portable C):
 * tb_conv2d_b1b1_short (1x1 kernels without padding) and tb_dense_b1b1_short, rows of at most
 * TB_SHORT_MAX_WORDS packed words (up to 64 input channels).
 *
 * Same params, weights ([O][K] packed, unchanged), output stage and statuses as the reference tb_conv2d_b1b1 /
 * tb_dense_b1b1. The families' kernels for longer dot products spend a per-call and per-channel set-up (the
 * column gather, encodings, scratch) that one or two words never win back, and the reference walks the whole
 * tap nest (bounds, padding, a word loop) for every output channel. Here an output channel of a one-word row
 * costs a load of its weight word, an XOR and a SWAR popcount (the core's popcount instruction where it has
 * one); a bits output compares in the popcount domain (tb_opt_pop_thresholds, computed once per call for each
 * run of 32 channels, on the stack) and packs 32 channels in a register before one XOR with the flip mask.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#if defined(__ARM_FEATURE_SIMD32) && defined(__GNUC__) && !defined(__clang__)
#include <arm_acle.h>
#define TB_SHORT_USAD8 1 /* the four byte counts summed by one USAD8 */
#endif

int32_t tb_conv2d_b1b1_short_get_buffer_size(const tb_conv2d_params *params)
{
    (void)params;
    return 0;
}

int32_t tb_dense_b1b1_short_get_buffer_size(const tb_dense_params *params)
{
    (void)params;
    return 0;
}

/* popcount(x XOR w) over kw (1 or 2) words plus c (mod 2^32): the 2-bit and nibble stages per word, the
 * nibbles of both words added (at most 8 each), bytes (at most 16), then the four bytes summed with c (one
 * USADA8 on cores with the SIMD32 extension). */
static inline TB_ALWAYS_INLINE uint32_t short_pop(const uint32_t *x, const uint32_t *w, int32_t kw, uint32_t c)
{
#if defined(__riscv_zbb) && defined(__GNUC__)
    uint32_t p = (uint32_t)__builtin_popcount(x[0] ^ w[0]) + c; /* cpop */
    if (kw == 2)
        p += (uint32_t)__builtin_popcount(x[1] ^ w[1]);
    return p;
#else
    uint32_t a = x[0] ^ w[0];
    a = a - ((a >> 1) & 0x55555555u);
    a = (a & 0x33333333u) + ((a >> 2) & 0x33333333u);
    if (kw == 2) {
        uint32_t b = x[1] ^ w[1];
        b = b - ((b >> 1) & 0x55555555u);
        b = (b & 0x33333333u) + ((b >> 2) & 0x33333333u);
        a = a + b;
        a = (a & 0x0F0F0F0Fu) + ((a >> 4) & 0x0F0F0F0Fu);
    } else {
        a = (a + (a >> 4)) & 0x0F0F0F0Fu;
    }
#if defined(TB_SHORT_USAD8)
    return __usada8(a, 0u, c);
#else
    return ((a * 0x01010101u) >> 24) + c;
#endif
#endif
}

/* The complemented bits of n (<= 32) channels of one output pixel: bit o = (pop_o < T[o]), the sign of
 * pop_o - T[o] (negT[o] = -T[o], |pop - T| <= k_bits + 1 < 2^31); channels from the last one so that channel o
 * ends in bit o (the caller applies the complement and the flip mask in one XOR). */
static inline TB_ALWAYS_INLINE uint32_t short_bits(const uint32_t *x, const uint32_t *w, const uint32_t *negT,
                                                   int32_t n, int32_t kw)
{
    const uint32_t *t = negT + n;
    uint32_t word = 0u;
    w += n * kw;
    do {
        w -= kw;
        t--;
        word = (word << 1) | (short_pop(x, w, kw, *t) >> 31);
    } while (t != negT);
    return word;
}

/* The bits of n (<= 32) channels of a single output pixel compared as the reference does, (a < tau[o]) with
 * a = ~acc where flip bit o is set: for one pixel, the popcount-domain thresholds would cost more than they
 * save. Channels from the last one (flip bit n - 1 moved to bit 31 first). */
static inline TB_ALWAYS_INLINE uint32_t short_bits_direct(const uint32_t *x, const uint32_t *w, const int32_t *tau,
                                                          uint32_t flip, int32_t n, int32_t kw, int32_t k_bits)
{
    const int32_t *t = tau + n;
    uint32_t f = flip << (TB_WORD_BITS - n), word = 0u;
    w += n * kw;
    do {
        int32_t a;
        w -= kw;
        t--;
        a = k_bits - 2 * (int32_t)short_pop(x, w, kw, 0u);
        a = (f & 0x80000000u) ? ~a : a;
        f <<= 1;
        word = (word << 1) | (uint32_t)(a < *t);
    } while (t != tau);
    return word;
}

/*
 * One layer: out_h x out_w output pixels, pixel (oy, ox) reading the kw words at input pixel
 * (oy * stride_h, ox * stride_w) of an in_w-wide input (a dense layer: one pixel), k_bits = the dot product's
 * length in bits (acc = k_bits - 2 * pop).
 */
static inline TB_ALWAYS_INLINE void short_layer(const tb_out_params *out, const uint32_t *input, int32_t in_w,
                                                int32_t stride_h, int32_t stride_w, int32_t out_h, int32_t out_w,
                                                int32_t out_c, int32_t k_bits, const uint32_t *weights,
                                                void *output, int32_t kw)
{
    if (out->kind == TB_OUT_BITS) {
        const int32_t wo = TB_WORDS(out_c);
        for (int32_t b = 0; b < wo; b++) {
            const int32_t n = out_c - b * TB_WORD_BITS < TB_WORD_BITS ? out_c - b * TB_WORD_BITS : TB_WORD_BITS;
            const uint32_t mask = tb_tail_mask(n, 0), flip = ~out->flip[b] & mask; /* and the complement */
            const uint32_t *w = weights + b * TB_WORD_BITS * kw;
            uint32_t T[TB_WORD_BITS];
            uint32_t *y = (uint32_t *)output + b;
            tb_out_params run = *out;
            if (out_h * out_w == 1) { /* a dense layer (or a 1x1 image): compared in the accumulator domain */
                *y = short_bits_direct(input, w, out->thresholds + b * TB_WORD_BITS, out->flip[b], n, kw, k_bits);
                continue;
            }
            run.thresholds = out->thresholds + b * TB_WORD_BITS;
            run.flip = out->flip + b;
            tb_opt_pop_thresholds(&run, n, k_bits, T);
            for (int32_t o = 0; o < n; o++)
                T[o] = 0u - T[o];
            for (int32_t oy = 0; oy < out_h; oy++) {
                const uint32_t *x = input + oy * stride_h * in_w * kw;
                for (int32_t ox = 0; ox < out_w; ox++, x += stride_w * kw, y += wo)
                    *y = short_bits(x, w, T, n, kw) ^ flip;
            }
        }
        return;
    }
    if (out->kind == TB_OUT_S32) {
        for (int32_t oy = 0; oy < out_h; oy++) {
            const uint32_t *x = input + oy * stride_h * in_w * kw;
            for (int32_t ox = 0; ox < out_w; ox++, x += stride_w * kw) {
                int32_t *y = (int32_t *)output + (oy * out_w + ox) * out_c;
                for (int32_t o = 0; o < out_c; o++)
                    y[o] = k_bits - 2 * (int32_t)short_pop(x, weights + o * kw, kw, 0u);
            }
        }
        return;
    }
    /* TB_OUT_S8 / TB_OUT_S16 (tb_check_out accepts no other kind): runs of 32 channels over every pixel, each
     * run's requantization planned once (tb_opt_requant_plan, |acc| <= k_bits) */
    for (int32_t o0 = 0; o0 < out_c; o0 += TB_OPT_RUN) {
        const int32_t n = out_c - o0 < TB_OPT_RUN ? out_c - o0 : TB_OPT_RUN;
        const int32_t *m = out->multiplier + o0, *shift = out->shift + o0;
        const int64_t *offset = out->offset + o0;
        const uint32_t *w = weights + o0 * kw;
        TB_OPT_PLAN(q); /* NULL with TB_OPT_STREAM_PLAN=0: the reference requantization for every channel */
        const int32_t fast = q != NULL ? tb_opt_requant_plan(out, o0, n, k_bits, q) : 0;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const uint32_t *x = input + oy * stride_h * in_w * kw;
            for (int32_t ox = 0; ox < out_w; ox++, x += stride_w * kw) {
                const int32_t at = (oy * out_w + ox) * out_c + o0;
                /* the input words in locals: the int8 stores may alias them as far as the compiler knows */
                const uint32_t xv[TB_SHORT_MAX_WORDS] = {x[0], kw == 2 ? x[1] : 0u};
                if (out->kind == TB_OUT_S8) {
                    int8_t *y = (int8_t *)output + at;
                    if (fast)
                        for (int32_t i = 0; i < n; i++)
                            y[i] = TB_OPT_SAT8(tb_opt_requant_fast(q, i, m[i],
                                                                   k_bits - 2 * (int32_t)short_pop(xv, w + i * kw, kw, 0u)));
                    else
                        for (int32_t i = 0; i < n; i++) {
                            const int32_t acc = k_bits - 2 * (int32_t)short_pop(xv, w + i * kw, kw, 0u);
                            y[i] = q != NULL && q->scale[i] != 0 ? TB_OPT_SAT8(tb_opt_requant_fast(q, i, m[i], acc))
                                                   : tb_requantize(acc, m[i], offset[i], shift[i]);
                        }
                } else {
                    int16_t *y = (int16_t *)output + at;
                    if (fast)
                        for (int32_t i = 0; i < n; i++)
                            y[i] = TB_OPT_SAT16(tb_opt_requant_fast(q, i, m[i],
                                                                    k_bits - 2 * (int32_t)short_pop(xv, w + i * kw, kw, 0u)));
                    else
                        for (int32_t i = 0; i < n; i++) {
                            const int32_t acc = k_bits - 2 * (int32_t)short_pop(xv, w + i * kw, kw, 0u);
                            y[i] = q != NULL && q->scale[i] != 0 ? TB_OPT_SAT16(tb_opt_requant_fast(q, i, m[i], acc))
                                                   : tb_requantize_s16(acc, m[i], offset[i], shift[i]);
                        }
                }
            }
        }
    }
}

tb_status tb_conv2d_b1b1_short(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS));
#if TB_KERNEL_CHECKS
    if (params->kernel_h != 1 || params->kernel_w != 1 || params->pad_top != 0 || params->pad_left != 0 ||
        params->pad_bottom != 0 || params->pad_right != 0 || TB_WORDS(params->in_c) > TB_SHORT_MAX_WORDS)
        return TB_ERR_ARG;
#endif
    {
        const tb_conv2d_params *p = params;
        if (TB_WORDS(p->in_c) == 1)
            short_layer(out, input, p->in_w, p->stride_h, p->stride_w, p->out_h, p->out_w, p->out_c, p->in_c,
                        weights, output, 1);
        else
            short_layer(out, input, p->in_w, p->stride_h, p->stride_w, p->out_h, p->out_w, p->out_c, p->in_c,
                        weights, output, 2);
    }
    return TB_OK;
}

tb_status tb_dense_b1b1_short(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                              const uint32_t *input, const uint32_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS));
#if TB_KERNEL_CHECKS
    if (params->in_pixels > TB_SHORT_MAX_WORDS || TB_WORDS(params->in_c) > TB_SHORT_MAX_WORDS / params->in_pixels)
        return TB_ERR_ARG;
#endif
    {
        const int32_t kw = params->in_pixels * TB_WORDS(params->in_c), k_bits = params->in_pixels * params->in_c;
        if (kw == 1)
            short_layer(out, input, 1, 1, 1, 1, 1, params->out_c, k_bits, weights, output, 1);
        else
            short_layer(out, input, 1, 1, 1, 1, 1, params->out_c, k_bits, weights, output, 2);
    }
    return TB_OK;
}
