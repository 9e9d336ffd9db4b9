/*
 * tb_first_check.c - the optimized int8 first-layer kernels against the reference kernels, on random layers.
 *
 * Portable C99 with static buffers only: the same file runs on the host (tests/test_first_layer_kernels.py,
 * built with -DTB_CHECK_HOST) and as a firmware on the emulated cores (tb_main, output through tb_print).
 * Each case draws an int8 x binary conv2d (kernels 1..5 per axis, strides 1..3, dilations 1..2, asymmetric
 * zero paddings up to the kernel's reach, 1..40 input channels, 1..80 outputs, zero points from the whole
 * allowed range so that both the two-pixel and the one-pixel paths run) or dense layer (K up to 1,200, so
 * several blocks of 16 tables), a bits output (thresholds around the accumulators' range), an int32 one, or
 * an int8 / int16 one (TB_OUT_S8 / TB_OUT_S16: random per-channel multipliers, offsets and shifts, see draw_out),
 * runs the reference kernel, encodes the weights with tb_ss_encode_weights, runs the subset-sum kernel and
 * compares statuses and the whole output buffers (plus a guard word after them). A short scratch must be
 * refused. The pair kernels (tb_conv2d_s8_pairs, tb_dense_s8_pairs) are checked the same way against
 * tb_conv2d_s8s8 / tb_dense_s8s8 (int8 weights) and tb_conv2d_s8s16 / tb_dense_s8s16 (int16 weights, magnitudes
 * drawn so that K * max|w| * max|x - zero_point| stays below 2^31, as the converter guarantees), with weights
 * encoded by tb_pairs_encode_weights. Build-time settings: TB_CHECK_CASES, TB_CHECK_SEED, TB_CHECK_ARENA_WORDS, TB_CHECK_CORRUPT (flip
 * a bit of every optimized output: proves the comparison fails). Output: "family ss_conv2d cases <n> failed
 * <f>", the same for ss_dense, pairs_conv2d_s8, pairs_dense_s8, pairs_conv2d_s16, pairs_dense_s16, then "tb_first_check pass" or "tb_first_check fail"; exit code 0 on pass.
 */
#include <stdint.h>

#include "tb_kernels.h"
#include "tb_kernels_opt.h"
#include "tb_kernels_s16.h"

#ifndef TB_CHECK_CASES
#define TB_CHECK_CASES 300
#endif
#ifndef TB_CHECK_SEED
#define TB_CHECK_SEED 20250611u
#endif
#ifndef TB_CHECK_ARENA_WORDS
#define TB_CHECK_ARENA_WORDS 16384
#endif
#define GUARD 0x5AA5C33Cu

#ifdef TB_CHECK_HOST
#include <stdio.h>
#include <stdlib.h>
static void put_str(const char *s)
{
    fputs(s, stdout);
}
static void put_i32(int32_t v)
{
    printf("%ld", (long)v);
}
#else
#include "tb_print.h"
static void put_str(const char *s)
{
    tb_print(s);
}
static void put_i32(int32_t v)
{
    tb_print_i32(v);
}
#endif

static uint32_t rng_state;

static uint32_t rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* uniform in [lo, hi] */
static int32_t uni(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* 8-byte aligned: the requantized outputs' int64 offsets are taken from it */
static uint64_t arena64[(TB_CHECK_ARENA_WORDS + 1) / 2];
#define arena ((uint32_t *)arena64)

/* A bump allocator over the arena: n words, or NULL when they (or an earlier request) do not fit. */
static uint32_t *take(int32_t *used, int32_t n)
{
    uint32_t *p;
    if (n < 0 || *used + n > TB_CHECK_ARENA_WORDS) {
        *used = TB_CHECK_ARENA_WORDS + 1; /* every later request fails too */
        return 0;
    }
    p = arena + *used;
    *used += n;
    return p;
}

typedef struct {
    int is_conv;
    tb_conv2d_params cp;
    tb_dense_params dp;
} layer;

static int32_t zero_point(void)
{
    switch (uni(0, 5)) {
    case 0: return 0;
    case 1: return uni(-128, 127);
    case 2: return uni(-600, 600);
    case 3: return uni(-32640, 32639);
    case 4: return -32640 + uni(0, 1) * (32639 + 32640);
    default: return uni(-3, 3);
    }
}

/* Draw a layer; returns 0 when it does not fit the arena (the caller draws again). */
static int draw(layer *l, int is_conv)
{
    l->is_conv = is_conv;
    if (is_conv) {
        tb_conv2d_params *p = &l->cp;
        p->kernel_h = uni(1, 5);
        p->kernel_w = uni(1, 5);
        p->dilation_h = uni(1, 4) == 1 ? 2 : 1;
        p->dilation_w = uni(1, 4) == 1 ? 2 : 1;
        p->stride_h = uni(1, 3);
        p->stride_w = uni(1, 3);
        p->in_c = uni(0, 3) == 0 ? uni(1, 40) : uni(1, 12);
        p->in_h = uni(1, 12);
        p->in_w = uni(1, 12);
        p->pad_top = uni(0, (p->kernel_h - 1) * p->dilation_h);
        p->pad_bottom = uni(0, (p->kernel_h - 1) * p->dilation_h);
        p->pad_left = uni(0, (p->kernel_w - 1) * p->dilation_w);
        p->pad_right = uni(0, (p->kernel_w - 1) * p->dilation_w);
        {
            const int32_t eh = p->in_h + p->pad_top + p->pad_bottom - p->dilation_h * (p->kernel_h - 1) - 1;
            const int32_t ew = p->in_w + p->pad_left + p->pad_right - p->dilation_w * (p->kernel_w - 1) - 1;
            if (eh < 0 || ew < 0)
                return 0;
            p->out_h = eh / p->stride_h + 1;
            p->out_w = ew / p->stride_w + 1;
        }
        p->out_c = uni(0, 2) == 0 ? uni(1, 80) : uni(1, 40);
        p->pad = TB_PAD_ZERO;
        p->input_zero_point = zero_point();
    } else {
        tb_dense_params *p = &l->dp;
        p->in_pixels = uni(1, 4) == 1 ? uni(2, 12) : 1;
        p->in_c = uni(0, 2) == 0 ? uni(1, 300) : uni(1, 70);
        p->out_c = uni(1, 70);
        p->input_zero_point = zero_point();
    }
    return 1;
}

/* The output stage of a case, drawn: bits (thresholds, flips), raw int32, or requantized int8 / int16 with a
 * random multiplier, offset and shift per channel inside the contract (|acc * multiplier| + |offset| < 2^62,
 * shift in [0, 62]), near the scale that maps the largest accumulator onto the output range so that values,
 * not only saturation, are compared. The size of the output in words, or -1 when the arena is full. */
static int32_t draw_out(tb_out_params *out, int32_t *used, int32_t out_c, int32_t pixels, int64_t acc_max,
                        const uint32_t *thr, const uint32_t *flip)
{
    const int kind = uni(0, 3);
    int32_t *mult, *shift;
    int64_t *offset;
    int64_t mmax = ((int64_t)1 << 61) / (acc_max > 0 ? acc_max : 1);
    const int wide = kind == 3;
    out->thresholds = (const int32_t *)thr;
    out->flip = flip;
    out->multiplier = 0;
    out->offset = 0;
    out->shift = 0;
    if (kind == 0) {
        out->kind = TB_OUT_BITS;
        return pixels * TB_WORDS(out_c);
    }
    if (kind == 1) {
        out->kind = TB_OUT_S32;
        return pixels * out_c;
    }
    if (mmax > 0x7FFFFFFF)
        mmax = 0x7FFFFFFF;
    *used += *used % 2; /* the int64 offsets on an 8-byte boundary */
    offset = (int64_t *)(void *)take(used, 2 * out_c);
    mult = (int32_t *)take(used, out_c);
    shift = (int32_t *)take(used, out_c);
    if (!shift)
        return -1;
    for (int32_t o = 0; o < out_c; o++) {
        const int r = uni(0, 9);
        const int32_t m = r == 0 ? (int32_t)mmax : r == 1 ? -(int32_t)mmax : r == 2 ? 0  /* uniform in [-mmax, mmax] */
                        : (int32_t)((int64_t)(rnd() % (uint32_t)(2 * mmax + 1)) - mmax);
        const int64_t prod = acc_max * (m < 0 ? -(int64_t)m : m);
        int bits = 0, sh;
        int64_t span;
        while (bits < 62 && ((int64_t)1 << bits) <= prod)
            bits++;
        sh = bits - (wide ? 15 : 7) + uni(-2, 2);
        sh = sh < 0 ? 0 : sh > 62 ? 62 : sh;
        span = sh + 9 >= 61 ? ((int64_t)1 << 61) - 1 : (int64_t)1 << (sh + 9);
        mult[o] = m;
        shift[o] = sh;
        {
            const int64_t v = (int64_t)(((uint64_t)rnd() << 32 | rnd()) % (uint64_t)span);
            const int e = uni(0, 9);
            offset[o] = e == 0 ? ((int64_t)1 << 61) - 1 : e == 1 ? -(((int64_t)1 << 61) - 1) : uni(0, 1) ? v : -v;
        }
    }
    out->kind = wide ? TB_OUT_S16 : TB_OUT_S8;
    out->multiplier = mult;
    out->offset = offset;
    out->shift = shift;
    return (pixels * out_c * (wide ? 2 : 1) + 3) / 4;
}

static int32_t check_case(layer *l, int short_scratch)
{
    int32_t used = 0, k_len, out_c, in_n, out_n, pixels, ref_scratch, opt_scratch, enc_words;
    uint32_t *input, *weights, *enc, *thr, *flip, *ref_out, *opt_out, *scratch;
    tb_out_params out;
    tb_status rs, os;
    tb_context rctx, octx;
    int32_t xmax;
    if (l->is_conv) {
        const tb_conv2d_params *p = &l->cp;
        k_len = p->kernel_h * p->kernel_w * p->in_c;
        out_c = p->out_c;
        in_n = p->in_h * p->in_w * p->in_c;
        pixels = p->out_h * p->out_w;
        ref_scratch = tb_conv2d_s8b1_get_buffer_size(p);
        opt_scratch = tb_conv2d_s8b1_ss_get_buffer_size(p);
        xmax = l->cp.input_zero_point;
    } else {
        const tb_dense_params *p = &l->dp;
        k_len = p->in_pixels * p->in_c;
        out_c = p->out_c;
        in_n = k_len;
        pixels = 1;
        ref_scratch = tb_dense_s8b1_get_buffer_size(p);
        opt_scratch = tb_dense_s8b1_ss_get_buffer_size(p);
        xmax = l->dp.input_zero_point;
    }
    xmax = (xmax < 0 ? -xmax : xmax) + 128;
    enc_words = tb_ss_encoded_words(out_c, k_len);
    input = take(&used, (in_n + 3) / 4);
    weights = take(&used, out_c * TB_WORDS(k_len));
    enc = take(&used, enc_words);
    thr = take(&used, out_c);
    flip = take(&used, TB_WORDS(out_c));
    if (!flip)
        return -1; /* does not fit: draw again */
    out_n = draw_out(&out, &used, out_c, pixels, (int64_t)k_len * xmax, thr, flip);
    ref_out = take(&used, out_n + 1);
    opt_out = take(&used, out_n + 1);
    scratch = take(&used, (ref_scratch > opt_scratch ? ref_scratch : opt_scratch) / 4 + 1);
    if (out_n < 0 || !scratch)
        return -1; /* does not fit: draw again */
    {
        int8_t *x = (int8_t *)input;
        const int mode = uni(0, 3); /* 0: full range, 1: extremes only, 2: small values, 3: constant */
        const int8_t cst = (int8_t)uni(-128, 127);
        for (int32_t i = 0; i < in_n; i++)
            x[i] = mode == 0 ? (int8_t)uni(-128, 127) : mode == 1 ? (int8_t)(uni(0, 1) ? 127 : -128)
                 : mode == 2 ? (int8_t)uni(-3, 3) : cst;
    }
    for (int32_t o = 0; o < out_c; o++) {
        const int dense = uni(0, 5);
        for (int32_t w = 0; w < TB_WORDS(k_len); w++) {
            uint32_t v = dense == 0 ? 0u : dense == 1 ? 0xFFFFFFFFu : rnd();
            const int32_t used_bits = k_len - 32 * w;
            if (used_bits < 32)
                v &= ((uint32_t)1u << used_bits) - 1u;
            weights[o * TB_WORDS(k_len) + w] = v;
        }
        {
            const int32_t range = k_len * xmax;
            const int r = uni(0, 9);
            thr[o] = (uint32_t)(r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : r < 5 ? uni(-range, range) : uni(-50, 50));
        }
    }
    for (int32_t w = 0; w < TB_WORDS(out_c); w++)
        flip[w] = rnd() & (w == TB_WORDS(out_c) - 1 && out_c % 32 ? ((uint32_t)1u << (out_c % 32)) - 1u : 0xFFFFFFFFu);
    for (int32_t i = 0; i <= out_n; i++)
        ref_out[i] = GUARD, opt_out[i] = GUARD;
    tb_ss_encode_weights(weights, out_c, k_len, enc);
    rctx.buf = scratch;
    rctx.size = ref_scratch;
    octx.buf = scratch;
    octx.size = short_scratch ? opt_scratch - 4 : opt_scratch;
    if (l->is_conv) {
        rs = tb_conv2d_s8b1(&rctx, &l->cp, &out, (const int8_t *)input, weights, ref_out);
        os = tb_conv2d_s8b1_ss(&octx, &l->cp, &out, (const int8_t *)input, enc, opt_out);
    } else {
        rs = tb_dense_s8b1(&rctx, &l->dp, &out, (const int8_t *)input, weights, ref_out);
        os = tb_dense_s8b1_ss(&octx, &l->dp, &out, (const int8_t *)input, enc, opt_out);
    }
    if (short_scratch)
        return os == TB_ERR_SCRATCH ? 0 : 1;
#ifdef TB_CHECK_CORRUPT
    opt_out[0] ^= 1u;
#endif
    if (rs != TB_OK || os != rs)
        return 1;
    for (int32_t i = 0; i <= out_n; i++)
        if (ref_out[i] != opt_out[i])
            return 1;
    return 0;
}

/* The pair kernels against the int8- or int16-weight reference kernels; wide: int16 weights. */
static int32_t check_pairs_case(layer *l, int wide, int short_scratch)
{
    int32_t used = 0, k_len, out_c, in_n, out_n, pixels, ref_scratch, opt_scratch, zp, wmax;
    uint32_t *input, *weights, *enc, *thr, *flip, *ref_out, *opt_out, *scratch;
    tb_out_params out;
    tb_status rs, os;
    tb_context rctx, octx;
    if (l->is_conv) {
        const tb_conv2d_params *p = &l->cp;
        k_len = p->kernel_h * p->kernel_w * p->in_c;
        out_c = p->out_c;
        in_n = p->in_h * p->in_w * p->in_c;
        pixels = p->out_h * p->out_w;
        ref_scratch = wide ? tb_conv2d_s8s16_get_buffer_size(p) : tb_conv2d_s8s8_get_buffer_size(p);
        opt_scratch = tb_conv2d_s8_pairs_get_buffer_size(p);
        zp = p->input_zero_point;
    } else {
        const tb_dense_params *p = &l->dp;
        k_len = p->in_pixels * p->in_c;
        out_c = p->out_c;
        in_n = k_len;
        pixels = 1;
        ref_scratch = 0;
        opt_scratch = tb_dense_s8_pairs_get_buffer_size(p);
        zp = p->input_zero_point;
    }
    {
        const int64_t xmax = (zp < 0 ? -(int64_t)zp : zp) + 128;
        const int64_t lim = (int64_t)0x7FFFFFFF / ((int64_t)k_len * xmax);
        wmax = (int32_t)(lim < 1 ? 1 : lim > (wide ? 32767 : 127) ? (wide ? 32767 : 127) : lim);
        if (lim < 1)
            return -1; /* no weights keep this layer inside int32: draw again */
    }
    input = take(&used, (in_n + 3) / 4);
    weights = take(&used, (out_c * k_len * 2 + 3) / 4); /* int16 (int8 weights use the first half) */
    enc = take(&used, tb_pairs_encoded_words(out_c, k_len));
    thr = take(&used, out_c);
    flip = take(&used, TB_WORDS(out_c));
    if (!flip)
        return -1;
    out_n = draw_out(&out, &used, out_c, pixels, (int64_t)k_len * ((zp < 0 ? -(int64_t)zp : zp) + 128) * wmax,
                     thr, flip);
    ref_out = take(&used, out_n + 1);
    opt_out = take(&used, out_n + 1);
    scratch = take(&used, (ref_scratch > opt_scratch ? ref_scratch : opt_scratch) / 4 + 1);
    if (out_n < 0 || !scratch)
        return -1;
    {
        int8_t *x = (int8_t *)input;
        const int mode = uni(0, 3);
        const int8_t cst = (int8_t)uni(-128, 127);
        for (int32_t i = 0; i < in_n; i++)
            x[i] = mode == 0 ? (int8_t)uni(-128, 127) : mode == 1 ? (int8_t)(uni(0, 1) ? 127 : -128)
                 : mode == 2 ? (int8_t)uni(-3, 3) : cst;
    }
    {
        int16_t *w16 = (int16_t *)weights;
        int8_t *w8 = (int8_t *)weights;
        const int mode = uni(0, 3); /* 0: full range, 1: extremes, 2: small, 3: sparse */
        for (int32_t i = 0; i < out_c * k_len; i++) {
            const int32_t v = mode == 0 ? uni(-wmax, wmax) : mode == 1 ? (uni(0, 1) ? wmax : -wmax)
                            : mode == 2 ? uni(-2, 2) : (uni(0, 7) == 0 ? uni(-wmax, wmax) : 0);
            if (wide)
                w16[i] = (int16_t)v;
            else
                w8[i] = (int8_t)v;
        }
    }
    {
        /* the encoder takes int16 weights: widen int8 ones into the scratch first (it is free until the run) */
        int16_t *w16 = (int16_t *)weights;
        if (!wide) {
            int16_t *tmp = (int16_t *)take(&used, (out_c * k_len * 2 + 3) / 4);
            if (!tmp)
                return -1;
            for (int32_t i = 0; i < out_c * k_len; i++)
                tmp[i] = ((const int8_t *)weights)[i];
            w16 = tmp;
        }
        tb_pairs_encode_weights(w16, out_c, k_len, enc);
    }
    for (int32_t o = 0; o < out_c; o++) {
        const int32_t range = k_len * 128 * wmax;
        const int r = uni(0, 9);
        thr[o] = (uint32_t)(r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : r < 5 ? uni(-range / 2, range / 2) : uni(-50, 50));
    }
    for (int32_t w = 0; w < TB_WORDS(out_c); w++)
        flip[w] = rnd() & (w == TB_WORDS(out_c) - 1 && out_c % 32 ? ((uint32_t)1u << (out_c % 32)) - 1u : 0xFFFFFFFFu);
    for (int32_t i = 0; i <= out_n; i++)
        ref_out[i] = GUARD, opt_out[i] = GUARD;
    rctx.buf = scratch;
    rctx.size = ref_scratch;
    octx.buf = scratch;
    octx.size = short_scratch ? opt_scratch - 4 : opt_scratch;
    if (l->is_conv && wide)
        rs = tb_conv2d_s8s16(&rctx, &l->cp, &out, (const int8_t *)input, (const int16_t *)weights, ref_out);
    else if (l->is_conv)
        rs = tb_conv2d_s8s8(&rctx, &l->cp, &out, (const int8_t *)input, (const int8_t *)weights, ref_out);
    else if (wide)
        rs = tb_dense_s8s16(&rctx, &l->dp, &out, (const int8_t *)input, (const int16_t *)weights, ref_out);
    else
        rs = tb_dense_s8s8(&rctx, &l->dp, &out, (const int8_t *)input, (const int8_t *)weights, ref_out);
    if (l->is_conv)
        os = tb_conv2d_s8_pairs(&octx, &l->cp, &out, (const int8_t *)input, enc, opt_out);
    else
        os = tb_dense_s8_pairs(&octx, &l->dp, &out, (const int8_t *)input, enc, opt_out);
    if (short_scratch)
        return os == TB_ERR_SCRATCH ? 0 : 1;
#ifdef TB_CHECK_CORRUPT
    opt_out[0] ^= 1u;
#endif
    if (rs != TB_OK || os != rs)
        return 1;
    for (int32_t i = 0; i <= out_n; i++)
        if (ref_out[i] != opt_out[i])
            return 1;
    return 0;
}

static void describe(const layer *l)
{
    if (l->is_conv) {
        const tb_conv2d_params *p = &l->cp;
        put_str("  conv in "), put_i32(p->in_h), put_str("x"), put_i32(p->in_w), put_str("x"), put_i32(p->in_c);
        put_str(" out "), put_i32(p->out_h), put_str("x"), put_i32(p->out_w), put_str("x"), put_i32(p->out_c);
        put_str(" kernel "), put_i32(p->kernel_h), put_str("x"), put_i32(p->kernel_w);
        put_str(" stride "), put_i32(p->stride_h), put_str("x"), put_i32(p->stride_w);
        put_str(" dilation "), put_i32(p->dilation_h), put_str("x"), put_i32(p->dilation_w);
        put_str(" pads "), put_i32(p->pad_top), put_str(" "), put_i32(p->pad_left), put_str(" ");
        put_i32(p->pad_bottom), put_str(" "), put_i32(p->pad_right);
        put_str(" zp "), put_i32(p->input_zero_point), put_str("\n");
    } else {
        put_str("  dense "), put_i32(l->dp.in_pixels), put_str("x"), put_i32(l->dp.in_c);
        put_str(" -> "), put_i32(l->dp.out_c), put_str(" zp "), put_i32(l->dp.input_zero_point), put_str("\n");
    }
}

static int run(uint32_t seed, int32_t cases)
{
    int32_t failed_total = 0;
    static const char *const names[] = {"ss_conv2d", "ss_dense", "pairs_conv2d_s8", "pairs_dense_s8",
                                        "pairs_conv2d_s16", "pairs_dense_s16"};
    for (int fam = 0; fam < 6; fam++) {
        int32_t failed = 0;
        rng_state = seed ^ (0x9E3779B9u * (uint32_t)(fam + 1));
        if (rng_state == 0u)
            rng_state = 1u;
        for (int32_t c = 0; c < cases + 8; c++) {
            layer l;
            int32_t r;
            do {
                while (!draw(&l, fam % 2 == 0))
                    ;
                r = fam < 2 ? check_case(&l, c >= cases) : check_pairs_case(&l, fam >= 4, c >= cases);
            } while (r < 0);
            if (r) {
                failed++;
                if (failed <= 5) {
                    put_str(c >= cases ? "short scratch accepted:\n" : "mismatch:\n");
                    describe(&l);
                }
            }
        }
        put_str("family "), put_str(names[fam]), put_str(" cases "), put_i32(cases);
        put_str(" failed "), put_i32(failed), put_str("\n");
        failed_total += failed;
    }
    put_str(failed_total ? "tb_first_check fail\n" : "tb_first_check pass\n");
    return failed_total ? 1 : 0;
}

#ifdef TB_CHECK_HOST
int main(int argc, char **argv)
{
    const uint32_t seed = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 0) : TB_CHECK_SEED;
    const int32_t cases = argc > 2 ? (int32_t)strtol(argv[2], 0, 0) : TB_CHECK_CASES;
    return run(seed, cases);
}
#else
int tb_main(void)
{
    return run(TB_CHECK_SEED, TB_CHECK_CASES);
}
#endif
