/*
 * tb_stream_check.c - the optimized grouped / stream kernels against their reference kernels, on random layers.
 *
 * Portable C99 with static buffers only, so the same file runs on the host (tests/test_stream_opt_kernels.py,
 * built with -DTB_CHECK_HOST, also sanitized) and as a firmware on the emulated cores (tb_main, output through
 * tb_print). Kernels checked:
 *
 *   dw_b1b1  tb_conv2d_grouped_b1b1_dw against tb_conv2d_grouped_b1b1 (groups = C = O): channels on and off
 *            multiples of 32, kernels 1..5 and 1xK / Kx1 up to 9 taps in a row, strides 1..3, dilations 1..2,
 *            pads up to the kernel on each side (windows with no valid tap included), the three pad kinds,
 *            bits (thresholds near the window's range and at INT32_MIN / INT32_MAX, random flips), int32, int8
 *            and int16 outputs (random multipliers, offsets, shifts: saturating codes included); weights
 *            encoded with tb_dw_b1b1_encode_weights; output buffers prefilled with different garbage and a
 *            guard word after them; no scratch (ctx NULL).
 *
 *   add_s16, add_s8            tb_add_s16_opt / tb_add_s8_opt against tb_add_s16 / tb_add_s8: every shift (the fast
 *                              path's 16..40 most often), multipliers up to INT32_MIN / INT32_MAX, offsets up to
 *                              2^61, codes at the range's ends (saturation), in place (y = a) too;
 *   binarize_s16, binarize_s8  tb_binarize_s16_opt / _s8_opt against tb_binarize_s16 / _s8: channels 1..100,
 *                              thresholds at and beyond the codes' range, INT32_MIN / INT32_MAX, random flips;
 *   avgpool_s16, avgpool_s8    tb_avgpool_s16_opt / _s8_opt against tb_avgpool_s16 / _s8: windows 1..4 and global,
 *                              strides, pads, zero points over their range, every shift, saturating codes;
 *   prelu_s16, prelu_s8        tb_prelu_s16_opt / _s8_opt against tb_prelu_s16 / _s8: per-channel breakpoints,
 *                              multipliers up to INT32_MIN / INT32_MAX, offsets up to 2^61, every shift, in place;
 *   conv_s16s8, dense_s16s8    tb_conv2d_s16s8_opt / tb_dense_s16s8_opt against tb_conv2d_s16s8 / tb_dense_s16s8:
 *                              channels on and off multiples of 4, kernels 1..3, strides, dilations, zero pads,
 *                              zero points over the int16 range with codes as far from them as the int32 bound
 *                              allows, inputs on and off 4-byte alignment, every output kind.
 *
 * Build-time settings: TB_CHECK_CASES, TB_CHECK_SEED, TB_CHECK_MAX_WORDS (the buffers; layers that do not fit
 * are redrawn), TB_CHECK_CORRUPT (flip a bit of every optimized output: proves the comparison fails). Output:
 * "kernel <name> cases <n> failed <f>" per kernel, then "tb_stream_check pass" or "tb_stream_check fail";
 * exit code 0 on pass. The host build takes "seed cases" arguments, or "enc" (the C
 * encoder, for its Python mirror: see dump()).
 */
#include <stdint.h>
#include <string.h>

#include "tb_kernels.h"
#include "tb_kernels_grouped.h"
#include "tb_kernels_opt_grouped.h"
#include "tb_kernels_opt_stream.h"
#include "tb_kernels_stream.h"

#ifndef TB_CHECK_CASES
#define TB_CHECK_CASES 300
#endif
#ifndef TB_CHECK_SEED
#define TB_CHECK_SEED 20261203u
#endif
#ifndef TB_KERNEL_CHECKS
#define TB_KERNEL_CHECKS 1
#endif
#define GUARD 0x5AA5C33Cu
#define MAX_C 100
#ifndef TB_CHECK_MAX_WORDS
#define TB_CHECK_MAX_WORDS 2048
#endif
#define MAX_WORDS TB_CHECK_MAX_WORDS /* input / output words; layers that do not fit are redrawn */

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

static uint32_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int32_t pick(int32_t lo, int32_t hi) /* [lo, hi] */
{
    return (int32_t)((uint32_t)lo + next() % ((uint32_t)hi - (uint32_t)lo + 1u));
}

static uint32_t input[MAX_WORDS], weights[2 * MAX_WORDS], encoded[MAX_WORDS], out_ref[MAX_WORDS + 1],
    out_opt[MAX_WORDS + 1], flip[4];
static int32_t thresholds[MAX_C], multiplier[MAX_C], shift[MAX_C];
static int64_t offset[MAX_C];

static int32_t out_words(tb_out_kind kind, int32_t pixels, int32_t c)
{
    if (kind == TB_OUT_BITS)
        return pixels * TB_WORDS(c);
    if (kind == TB_OUT_S32)
        return pixels * c;
    return kind == TB_OUT_S8 ? (pixels * c + 3) / 4 : (pixels * c + 1) / 2;
}

static void report(const tb_grouped_conv2d_params *g, tb_out_kind kind, tb_status s1, tb_status s2)
{
    const tb_conv2d_params *p = &g->conv;
    put_str("mismatch dw_b1b1: c "), put_i32(p->in_c), put_str(" in "), put_i32(p->in_h), put_str("x"),
        put_i32(p->in_w), put_str(" kernel "), put_i32(p->kernel_h), put_str("x"), put_i32(p->kernel_w),
        put_str(" stride "), put_i32(p->stride_h), put_str("x"), put_i32(p->stride_w), put_str(" dilation "),
        put_i32(p->dilation_h), put_str("x"), put_i32(p->dilation_w), put_str(" pads t"), put_i32(p->pad_top),
        put_str(" l"), put_i32(p->pad_left), put_str(" b"), put_i32(p->pad_bottom), put_str(" r"),
        put_i32(p->pad_right), put_str(" pad "), put_i32((int32_t)p->pad), put_str(" out "), put_i32((int32_t)kind),
        put_str(": status "), put_i32((int32_t)s1), put_str(" "), put_i32((int32_t)s2), put_str("\n");
}

/* One random depthwise layer: 1 when checked (0 when the drawn geometry is redrawn), *failed set on a mismatch. */
static int32_t dw_case(int32_t *failed)
{
    static const int32_t channels[] = {1, 5, 31, 32, 33, 48, 64, 65, 100};
    tb_grouped_conv2d_params g;
    tb_conv2d_params *p = &g.conv;
    tb_out_params out;
    int32_t words, taps, span_h, span_w, n_out;
    tb_status s1, s2;
    memset(&g, 0, sizeof(g));
    memset(&out, 0, sizeof(out));
    p->in_c = p->out_c = g.groups = channels[next() % 9];
    if (next() % 8 == 0) { /* large kernels, up to TB_DW_MAX_TAPS taps */
        p->kernel_h = pick(1, 7), p->kernel_w = pick(1, 7);
        if (next() % 2)
            p->kernel_h = 1, p->kernel_w = pick(1, 62);
    } else if (next() % 4 == 0) { /* a row or a column (1-D convs) */
        p->kernel_h = 1, p->kernel_w = pick(1, 9);
        if (next() % 2) {
            p->kernel_h = p->kernel_w;
            p->kernel_w = 1;
        }
    } else {
        p->kernel_h = pick(1, 5), p->kernel_w = pick(1, 5);
    }
    p->stride_h = pick(1, 3), p->stride_w = pick(1, 3);
    p->dilation_h = next() % 4 == 0 ? 2 : 1, p->dilation_w = next() % 4 == 0 ? 2 : 1;
    p->in_h = pick(1, 10), p->in_w = pick(1, 10);
    span_h = p->dilation_h * (p->kernel_h - 1) + 1;
    span_w = p->dilation_w * (p->kernel_w - 1) + 1;
    p->pad_top = pick(0, span_h), p->pad_bottom = pick(0, span_h);
    p->pad_left = pick(0, span_w), p->pad_right = pick(0, span_w);
    if (p->in_h + p->pad_top + p->pad_bottom < span_h || p->in_w + p->pad_left + p->pad_right < span_w)
        return 0;
    p->out_h = (p->in_h + p->pad_top + p->pad_bottom - span_h) / p->stride_h + 1;
    p->out_w = (p->in_w + p->pad_left + p->pad_right - span_w) / p->stride_w + 1;
    p->pad = (tb_pad_kind)(next() % 3);
    words = TB_WORDS(p->in_c);
    taps = p->kernel_h * p->kernel_w;
    n_out = p->out_h * p->out_w;
    out.kind = (tb_out_kind)(next() % 4);
    if (p->in_h * p->in_w * words > MAX_WORDS || out_words(out.kind, n_out, p->out_c) > MAX_WORDS ||
        p->out_c * taps > 2 * MAX_WORDS || tb_dw_b1b1_encoded_words(p->out_c, taps, out.kind) > MAX_WORDS)
        return 0;
    for (int32_t i = 0; i < p->in_h * p->in_w * words; i++) {
        input[i] = next() % 8 == 0 ? (next() % 2 ? 0u : 0xFFFFFFFFu) : next();
        if (i % words == words - 1 && p->in_c % 32)
            input[i] &= (1u << (p->in_c % 32)) - 1u; /* tail bits 0 */
    }
    for (int32_t i = 0; i < p->out_c * taps; i++)
        weights[i] = next() & 1u; /* [O][KH][KW][1 word]: the channel's one bit */
    for (int32_t i = 0; i < words; i++)
        flip[i] = next() % 3 == 0 ? 0u : next();
    for (int32_t o = 0; o < p->out_c; o++) {
        const int32_t r = (int32_t)(next() % 16);
        thresholds[o] = r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : pick(-taps - 3, taps + 3);
        multiplier[o] = next() % 4 == 0 ? (int32_t)next() : pick(-70000, 70000);
        shift[o] = pick(0, 24);
        offset[o] = (int64_t)(int32_t)next() * ((int64_t)1 << (next() % 16)) + pick(-1000, 1000);
    }
    out.thresholds = thresholds, out.flip = flip, out.multiplier = multiplier, out.offset = offset;
    out.shift = shift;
    tb_dw_b1b1_encode_weights(weights, &out, p->out_c, taps, encoded);
    {
        const int32_t ow = out_words(out.kind, n_out, p->out_c);
        for (int32_t i = 0; i < ow; i++) {
            out_ref[i] = 0xA5A5A5A5u;
            out_opt[i] = next();
        }
        out_opt[ow] = GUARD;
        s1 = tb_conv2d_grouped_b1b1(NULL, &g, &out, input, weights, out_ref);
        s2 = tb_conv2d_grouped_b1b1_dw(NULL, &g, &out, input, encoded, out_opt);
#ifdef TB_CHECK_CORRUPT
        out_opt[0] ^= 1u;
#endif
        if (s1 != TB_OK || s2 != TB_OK || out_opt[ow] != GUARD) {
            *failed = 1;
        } else if (out.kind == TB_OUT_BITS || out.kind == TB_OUT_S32) {
            *failed = memcmp(out_ref, out_opt, (size_t)ow * 4u) != 0;
        } else { /* int8 / int16 codes: the bytes written, not the padding of the last word */
            const size_t bytes = (size_t)(n_out * p->out_c) * (out.kind == TB_OUT_S8 ? 1u : 2u);
            *failed = memcmp(out_ref, out_opt, bytes) != 0;
        }
        if (*failed)
            report(&g, out.kind, s1, s2);
    }
    return 1;
}

#if TB_KERNEL_CHECKS
/* The argument checks the optimized kernel adds to the reference's: not depthwise, too many taps. */
static int32_t dw_rejects(void)
{
    tb_grouped_conv2d_params g;
    tb_out_params out;
    int32_t bad = 0;
    memset(&g, 0, sizeof(g));
    memset(&out, 0, sizeof(out));
    g.conv.in_h = g.conv.in_w = g.conv.out_h = g.conv.out_w = 4;
    g.conv.in_c = g.conv.out_c = g.groups = 8;
    g.conv.kernel_h = g.conv.kernel_w = 1;
    g.conv.stride_h = g.conv.stride_w = g.conv.dilation_h = g.conv.dilation_w = 1;
    out.kind = TB_OUT_BITS, out.thresholds = thresholds, out.flip = flip;
    bad += tb_conv2d_grouped_b1b1_dw(NULL, &g, &out, input, encoded, out_opt) != TB_OK;
    bad += tb_conv2d_grouped_b1b1_dw(NULL, &g, &out, input, (const uint32_t *)((uintptr_t)encoded + 2u), out_opt)
           != TB_ERR_ALIGN;
    g.groups = 4; /* grouped, not depthwise */
    bad += tb_conv2d_grouped_b1b1_dw(NULL, &g, &out, input, encoded, out_opt) != TB_ERR_ARG;
    g.groups = 8;
    g.conv.in_w = 66, g.conv.out_w = 3, g.conv.kernel_w = 64; /* 64 taps */
    bad += tb_conv2d_grouped_b1b1_dw(NULL, &g, &out, input, encoded, out_opt) != TB_ERR_ARG;
    return bad;
}
#endif

/* A random int64 of about `bits` bits, either sign. */
static int64_t rand_i64(int32_t bits)
{
    const uint64_t v = ((uint64_t)next() << 32 | next()) >> (64 - bits);
    return next() % 2 ? -(int64_t)v : (int64_t)v;
}

static int16_t a16[MAX_WORDS], b16[MAX_WORDS], y_ref16[MAX_WORDS + 2], y_opt16[MAX_WORDS + 2];

/* A random residual add (int16 when wide, else int8): saturating codes, every shift, the fast path's edges. */
static int32_t add_case(int wide)
{
    tb_add_params p;
    tb_status s1, s2;
    int32_t failed;
    const int32_t lim = wide ? 32768 : 128;
    int8_t *a8 = (int8_t *)a16, *b8 = (int8_t *)b16;
    p.size = pick(1, next() % 4 ? 64 : MAX_WORDS);
    p.mult_a = next() % 8 == 0 ? (int32_t)next() : pick(-(1 << 30), 1 << 30);
    p.mult_b = next() % 8 == 0 ? (next() % 2 ? INT32_MIN : INT32_MAX) : pick(-(1 << 30), 1 << 30);
    p.shift = next() % 4 == 0 ? pick(0, 62) : pick(14, 40);
    p.offset = rand_i64(pick(1, next() % 8 ? 48 : 61));
    for (int32_t i = 0; i < p.size; i++) {
        const int32_t r = (int32_t)(next() % 8);
        const int32_t va = r == 0 ? -lim : r == 1 ? lim - 1 : pick(-lim, lim - 1);
        const int32_t vb = r == 2 ? -lim : r == 3 ? lim - 1 : pick(-lim, lim - 1);
        if (wide)
            a16[i] = (int16_t)va, b16[i] = (int16_t)vb;
        else
            a8[i] = (int8_t)va, b8[i] = (int8_t)vb;
    }
    for (int32_t i = 0; i < p.size + 2; i++)
        y_ref16[i] = (int16_t)0x5AA5, y_opt16[i] = (int16_t)0x5AA5;
    if (wide) {
        s1 = tb_add_s16(NULL, &p, a16, b16, y_ref16);
        s2 = tb_add_s16_opt(NULL, &p, a16, b16, y_opt16);
    } else {
        s1 = tb_add_s8(NULL, &p, a8, b8, (int8_t *)y_ref16);
        s2 = tb_add_s8_opt(NULL, &p, a8, b8, (int8_t *)y_opt16);
    }
#ifdef TB_CHECK_CORRUPT
    y_opt16[0] ^= 1;
#endif
    failed = s1 != TB_OK || s2 != TB_OK || memcmp(y_ref16, y_opt16, (size_t)(p.size + 2) * 2u) != 0;
    if (!failed && (next() % 4 == 0)) { /* in place: y = a */
        if (wide) {
            memcpy(y_opt16, a16, (size_t)p.size * 2u);
            s2 = tb_add_s16_opt(NULL, &p, y_opt16, b16, y_opt16);
        } else {
            memcpy(y_opt16, a8, (size_t)p.size);
            s2 = tb_add_s8_opt(NULL, &p, (int8_t *)y_opt16, b8, (int8_t *)y_opt16);
        }
        failed = s2 != TB_OK || memcmp(y_ref16, y_opt16, (size_t)p.size * (wide ? 2u : 1u)) != 0;
    }
    if (failed) {
        put_str(wide ? "mismatch add_s16: size " : "mismatch add_s8: size "), put_i32(p.size);
        put_str(" mult_a "), put_i32(p.mult_a), put_str(" mult_b "), put_i32(p.mult_b), put_str(" shift "),
            put_i32(p.shift), put_str(" offset hi "), put_i32((int32_t)(p.offset / 4294967296)), put_str("\n");
    }
    return failed;
}

/* A random binarize: thresholds inside, at and beyond the code range, INT32_MIN / INT32_MAX, random flips. */
static int32_t binarize_case(int wide)
{
    tb_binarize_params p;
    tb_status s1, s2;
    int32_t failed, ow;
    const int32_t lim = wide ? 32768 : 128;
    int8_t *x8 = (int8_t *)a16;
    p.c = next() % 3 ? pick(1, 40) : pick(1, MAX_C);
    p.pixels = pick(1, 12);
    if (p.pixels * p.c > MAX_WORDS)
        p.pixels = MAX_WORDS / p.c;
    for (int32_t i = 0; i < TB_WORDS(p.c); i++)
        flip[i] = next() % 4 == 0 ? 0u : next();
    for (int32_t c = 0; c < p.c; c++) {
        const int32_t r = (int32_t)(next() % 16);
        thresholds[c] = r == 0 ? INT32_MIN : r == 1 ? INT32_MAX : r == 2 ? -lim : r == 3 ? lim
                                                                             : pick(-lim - 2, lim + 2);
    }
    p.thresholds = thresholds, p.flip = flip;
    for (int32_t i = 0; i < p.pixels * p.c; i++) {
        const int32_t v = next() % 8 == 0 ? (next() % 2 ? -lim : lim - 1) : pick(-lim, lim - 1);
        if (wide)
            a16[i] = (int16_t)v;
        else
            x8[i] = (int8_t)v;
    }
    ow = p.pixels * TB_WORDS(p.c);
    for (int32_t i = 0; i < ow; i++)
        out_ref[i] = 0xA5A5A5A5u, out_opt[i] = next();
    out_opt[ow] = GUARD;
    if (wide) {
        s1 = tb_binarize_s16(NULL, &p, a16, out_ref);
        s2 = tb_binarize_s16_opt(NULL, &p, a16, out_opt);
    } else {
        s1 = tb_binarize_s8(NULL, &p, x8, out_ref);
        s2 = tb_binarize_s8_opt(NULL, &p, x8, out_opt);
    }
#ifdef TB_CHECK_CORRUPT
    out_opt[0] ^= 1u;
#endif
    failed = s1 != TB_OK || s2 != TB_OK || out_opt[ow] != GUARD || memcmp(out_ref, out_opt, (size_t)ow * 4u) != 0;
    if (failed) {
        put_str(wide ? "mismatch binarize_s16: c " : "mismatch binarize_s8: c "), put_i32(p.c);
        put_str(" pixels "), put_i32(p.pixels), put_str("\n");
    }
    return failed;
}

/* A random average pool: windows, strides, pads smaller than the kernel, zero points, every shift. */
static int32_t avgpool_case(int wide)
{
    tb_avgpool_params p;
    tb_status s1, s2;
    int32_t failed, n_out;
    const int32_t lim = wide ? 32768 : 128;
    int8_t *x8 = (int8_t *)a16;
    memset(&p, 0, sizeof(p));
    p.c = next() % 2 ? pick(1, 20) : pick(1, 70);
    p.in_h = pick(1, 9), p.in_w = pick(1, 9);
    p.kernel_h = pick(1, 4), p.kernel_w = pick(1, 4);
    p.stride_h = pick(1, 3), p.stride_w = pick(1, 3);
    p.pad_top = pick(0, p.kernel_h - 1), p.pad_bottom = pick(0, p.kernel_h - 1);
    p.pad_left = pick(0, p.kernel_w - 1), p.pad_right = pick(0, p.kernel_w - 1);
    if (next() % 4 == 0) { /* a global average pool */
        p.kernel_h = p.in_h, p.kernel_w = p.in_w, p.stride_h = p.stride_w = 1;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
    }
    if (p.in_h + p.pad_top + p.pad_bottom < p.kernel_h || p.in_w + p.pad_left + p.pad_right < p.kernel_w)
        return -1;
    p.out_h = (p.in_h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
    n_out = p.out_h * p.out_w * p.c;
    if (p.in_h * p.in_w * p.c > MAX_WORDS || n_out > MAX_WORDS)
        return -1;
    p.input_zero_point = next() % 4 == 0 ? 0 : wide ? pick(-32768, 32767) : pick(-200, 200);
    p.multiplier = next() % 8 == 0 ? (int32_t)next() : pick(1, 1 << 30);
    p.shift = next() % 4 == 0 ? pick(0, 62) : pick(14, 40);
    p.offset = rand_i64(pick(1, next() % 8 ? 40 : 61));
    for (int32_t i = 0; i < p.in_h * p.in_w * p.c; i++) {
        const int32_t v = next() % 8 == 0 ? (next() % 2 ? -lim : lim - 1) : pick(-lim, lim - 1);
        if (wide)
            a16[i] = (int16_t)v;
        else
            x8[i] = (int8_t)v;
    }
    for (int32_t i = 0; i < n_out + 2; i++)
        y_ref16[i] = (int16_t)0x5AA5, y_opt16[i] = (int16_t)0x5AA5;
    if (wide) {
        s1 = tb_avgpool_s16(NULL, &p, a16, y_ref16);
        s2 = tb_avgpool_s16_opt(NULL, &p, a16, y_opt16);
    } else {
        s1 = tb_avgpool_s8(NULL, &p, x8, (int8_t *)y_ref16);
        s2 = tb_avgpool_s8_opt(NULL, &p, x8, (int8_t *)y_opt16);
    }
#ifdef TB_CHECK_CORRUPT
    y_opt16[0] ^= 1;
#endif
    failed = s1 != TB_OK || s2 != TB_OK || memcmp(y_ref16, y_opt16, (size_t)(n_out + 2) * 2u) != 0;
    if (failed) {
        put_str(wide ? "mismatch avgpool_s16: c " : "mismatch avgpool_s8: c "), put_i32(p.c), put_str(" in "),
            put_i32(p.in_h), put_str("x"), put_i32(p.in_w), put_str(" kernel "), put_i32(p.kernel_h), put_str("x"),
            put_i32(p.kernel_w), put_str(" shift "), put_i32(p.shift), put_str(" status "), put_i32((int32_t)s1),
            put_str(" "), put_i32((int32_t)s2), put_str("\n");
    }
    return failed;
}

static int32_t mn_c[MAX_C]; /* with thresholds (breakpoints), multiplier, offset and shift of the dw cases */
static int64_t on_c[MAX_C];

/* A random PReLU: breakpoints over the codes' range, multipliers up to INT32_MIN / INT32_MAX, every shift. */
static int32_t prelu_case(int wide)
{
    tb_prelu_params p;
    tb_status s1, s2;
    int32_t failed, n;
    const int32_t lim = wide ? 32768 : 128;
    int8_t *x8 = (int8_t *)a16;
    p.c = next() % 2 ? pick(1, 20) : pick(1, MAX_C);
    p.pixels = pick(1, 16);
    if (p.pixels * p.c > MAX_WORDS)
        p.pixels = MAX_WORDS / p.c;
    n = p.pixels * p.c;
    for (int32_t c = 0; c < p.c; c++) {
        thresholds[c] = next() % 4 == 0 ? (next() % 2 ? -lim : lim) : pick(-lim - 1, lim + 1);
        multiplier[c] = next() % 8 == 0 ? (int32_t)next() : pick(-(1 << 30), 1 << 30);
        mn_c[c] = next() % 8 == 0 ? (next() % 2 ? INT32_MIN : INT32_MAX) : pick(-(1 << 30), 1 << 30);
        shift[c] = next() % 4 == 0 ? pick(0, 62) : pick(14, 40);
        offset[c] = rand_i64(pick(1, next() % 8 ? 46 : 61));
        on_c[c] = rand_i64(pick(1, next() % 8 ? 46 : 61));
    }
    p.breakpoint = thresholds, p.mult_pos = multiplier, p.offset_pos = offset, p.mult_neg = mn_c, p.offset_neg = on_c;
    p.shift = shift;
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = next() % 8 == 0 ? (next() % 2 ? -lim : lim - 1) : pick(-lim, lim - 1);
        if (wide)
            a16[i] = (int16_t)v;
        else
            x8[i] = (int8_t)v;
    }
    for (int32_t i = 0; i < n + 2; i++)
        y_ref16[i] = (int16_t)0x5AA5, y_opt16[i] = (int16_t)0x5AA5;
    if (wide) {
        s1 = tb_prelu_s16(NULL, &p, a16, y_ref16);
        s2 = tb_prelu_s16_opt(NULL, &p, a16, y_opt16);
    } else {
        s1 = tb_prelu_s8(NULL, &p, x8, (int8_t *)y_ref16);
        s2 = tb_prelu_s8_opt(NULL, &p, x8, (int8_t *)y_opt16);
    }
#ifdef TB_CHECK_CORRUPT
    y_opt16[0] ^= 1;
#endif
    failed = s1 != TB_OK || s2 != TB_OK || memcmp(y_ref16, y_opt16, (size_t)(n + 2) * 2u) != 0;
    if (!failed && next() % 4 == 0) { /* in place */
        if (wide) {
            s2 = tb_prelu_s16_opt(NULL, &p, a16, a16);
            failed = s2 != TB_OK || memcmp(y_ref16, a16, (size_t)n * 2u) != 0;
        } else {
            s2 = tb_prelu_s8_opt(NULL, &p, x8, x8);
            failed = s2 != TB_OK || memcmp(y_ref16, x8, (size_t)n) != 0;
        }
    }
    if (failed) {
        put_str(wide ? "mismatch prelu_s16: c " : "mismatch prelu_s8: c "), put_i32(p.c), put_str(" pixels "),
            put_i32(p.pixels), put_str("\n");
    }
    return failed;
}

/* Random int16 codes within max_dev of the zero point (the reference's int32 bound) and int8 weights. */
static void s16s8_operands(int16_t *x, int32_t n_x, int8_t *w, int32_t n_w, int32_t zp, int32_t max_dev)
{
    const int32_t lo = zp - max_dev < -32768 ? -32768 : zp - max_dev, hi = zp + max_dev > 32767 ? 32767 : zp + max_dev;
    for (int32_t i = 0; i < n_x; i++)
        x[i] = (int16_t)(next() % 8 == 0 ? (next() % 2 ? lo : hi) : pick(lo, hi));
    for (int32_t i = 0; i < n_w; i++)
        w[i] = (int8_t)(next() % 8 == 0 ? (next() % 2 ? -127 : 127) : pick(-127, 127));
}

/* The output stage of an s16s8 case: any kind, constants for accumulators up to 2^31. */
static void s16s8_out(tb_out_params *out, int32_t out_c)
{
    memset(out, 0, sizeof(*out));
    out->kind = (tb_out_kind)(next() % 4);
    for (int32_t i = 0; i < TB_WORDS(out_c); i++)
        flip[i] = next() % 3 == 0 ? 0u : next();
    for (int32_t o = 0; o < out_c; o++) {
        thresholds[o] = next() % 16 == 0 ? (next() % 2 ? INT32_MIN : INT32_MAX) : (int32_t)next() >> pick(0, 30);
        multiplier[o] = pick(-(1 << 30), 1 << 30) >> pick(0, 20);
        shift[o] = pick(0, 50);
        offset[o] = rand_i64(pick(1, 60));
    }
    out->thresholds = thresholds, out->flip = flip, out->multiplier = multiplier, out->offset = offset;
    out->shift = shift;
}

/* Compares the outputs of an s16s8 case (bytes written only; a guard word after the optimized one). */
static int32_t s16s8_compare(const tb_out_params *out, int32_t pixels, int32_t out_c, tb_status s1, tb_status s2)
{
    const int32_t ow = out_words(out->kind, pixels, out_c);
    if (s1 != TB_OK || s2 != TB_OK || out_opt[ow] != GUARD)
        return 1;
    if (out->kind == TB_OUT_BITS || out->kind == TB_OUT_S32)
        return memcmp(out_ref, out_opt, (size_t)ow * 4u) != 0;
    return memcmp(out_ref, out_opt, (size_t)(pixels * out_c) * (out->kind == TB_OUT_S8 ? 1u : 2u)) != 0;
}

static void s16s8_prefill(const tb_out_params *out, int32_t pixels, int32_t out_c)
{
    const int32_t ow = out_words(out->kind, pixels, out_c);
    for (int32_t i = 0; i < ow; i++)
        out_ref[i] = 0xA5A5A5A5u, out_opt[i] = next();
    out_opt[ow] = GUARD;
}

/* A random conv reading an int16 stream: 1 when checked, -1 when the drawn geometry is redrawn. */
static int32_t conv_s16s8_case(void)
{
    tb_conv2d_params p;
    tb_out_params out;
    tb_status s1, s2;
    int32_t span_h, span_w, k_len, failed;
    int16_t *x;
    int8_t *w = (int8_t *)weights;
    memset(&p, 0, sizeof(p));
    p.in_c = next() % 2 ? 4 * pick(1, 12) : pick(1, 40);
    p.out_c = pick(1, 9);
    p.kernel_h = pick(1, 3), p.kernel_w = pick(1, 3);
    p.stride_h = pick(1, 2), p.stride_w = pick(1, 2);
    p.dilation_h = next() % 4 == 0 ? 2 : 1, p.dilation_w = next() % 4 == 0 ? 2 : 1;
    p.in_h = pick(1, 6), p.in_w = pick(1, 6);
    span_h = p.dilation_h * (p.kernel_h - 1) + 1;
    span_w = p.dilation_w * (p.kernel_w - 1) + 1;
    p.pad_top = pick(0, span_h - 1), p.pad_bottom = pick(0, span_h - 1);
    p.pad_left = pick(0, span_w - 1), p.pad_right = pick(0, span_w - 1);
    if (p.in_h + p.pad_top + p.pad_bottom < span_h || p.in_w + p.pad_left + p.pad_right < span_w)
        return -1;
    p.out_h = (p.in_h + p.pad_top + p.pad_bottom - span_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + p.pad_right - span_w) / p.stride_w + 1;
    p.pad = TB_PAD_ZERO;
    p.input_zero_point = next() % 4 == 0 ? (next() % 2 ? -32768 : 32767) : pick(-32768, 32767);
    k_len = p.kernel_h * p.kernel_w * p.in_c;
    s16s8_out(&out, p.out_c);
    if (p.in_h * p.in_w * p.in_c + 1 > MAX_WORDS || p.out_c * k_len > 8 * MAX_WORDS ||
        out_words(out.kind, p.out_h * p.out_w, p.out_c) > MAX_WORDS)
        return -1;
    x = a16 + next() % 2; /* an input that is not 4-byte aligned: the pair loads of the fast kernel */
    s16s8_operands(x, p.in_h * p.in_w * p.in_c, w, p.out_c * k_len, p.input_zero_point,
                   (int32_t)(0x7FFFFFFF / (127 * (int64_t)k_len) < 65535 ? 0x7FFFFFFF / (127 * (int64_t)k_len) : 65535));
    s16s8_prefill(&out, p.out_h * p.out_w, p.out_c);
    s1 = tb_conv2d_s16s8(NULL, &p, &out, x, w, out_ref);
    s2 = tb_conv2d_s16s8_opt(NULL, &p, &out, x, w, out_opt);
#ifdef TB_CHECK_CORRUPT
    out_opt[0] ^= 1u;
#endif
    failed = s16s8_compare(&out, p.out_h * p.out_w, p.out_c, s1, s2);
    if (failed) {
        put_str("mismatch conv_s16s8: c "), put_i32(p.in_c), put_str(" o "), put_i32(p.out_c), put_str(" in "),
            put_i32(p.in_h), put_str("x"), put_i32(p.in_w), put_str(" kernel "), put_i32(p.kernel_h), put_str("x"),
            put_i32(p.kernel_w), put_str(" zp "), put_i32(p.input_zero_point), put_str(" out "),
            put_i32((int32_t)out.kind), put_str(" status "), put_i32((int32_t)s1), put_str(" "), put_i32((int32_t)s2),
            put_str("\n");
    }
    return failed;
}

/* A random dense reading an int16 stream. */
static int32_t dense_s16s8_case(void)
{
    tb_dense_params p;
    tb_out_params out;
    tb_status s1, s2;
    int32_t k_len, failed;
    int16_t *x;
    int8_t *w = (int8_t *)weights;
    memset(&p, 0, sizeof(p));
    p.in_pixels = next() % 2 ? 1 : pick(1, 8);
    p.in_c = next() % 2 ? 4 * pick(1, 16) : pick(1, 70);
    p.out_c = pick(1, 40);
    p.input_zero_point = next() % 4 == 0 ? (next() % 2 ? -32768 : 32767) : pick(-32768, 32767);
    k_len = p.in_pixels * p.in_c;
    if (k_len + 1 > MAX_WORDS || p.out_c * k_len > 8 * MAX_WORDS)
        p.out_c = 1;
    s16s8_out(&out, p.out_c);
    x = a16 + next() % 2;
    s16s8_operands(x, k_len, w, p.out_c * k_len, p.input_zero_point,
                   (int32_t)(0x7FFFFFFF / (127 * (int64_t)k_len) < 65535 ? 0x7FFFFFFF / (127 * (int64_t)k_len) : 65535));
    s16s8_prefill(&out, 1, p.out_c);
    s1 = tb_dense_s16s8(NULL, &p, &out, x, w, out_ref);
    s2 = tb_dense_s16s8_opt(NULL, &p, &out, x, w, out_opt);
#ifdef TB_CHECK_CORRUPT
    out_opt[0] ^= 1u;
#endif
    failed = s16s8_compare(&out, 1, p.out_c, s1, s2);
    if (failed) {
        put_str("mismatch dense_s16s8: k "), put_i32(k_len), put_str(" o "), put_i32(p.out_c), put_str(" zp "),
            put_i32(p.input_zero_point), put_str(" out "), put_i32((int32_t)out.kind), put_str(" status "),
            put_i32((int32_t)s1), put_str(" "), put_i32((int32_t)s2), put_str("\n");
    }
    return failed;
}

static void line(const char *kernel, int32_t cases, int32_t failed)
{
    put_str("kernel "), put_str(kernel), put_str(" cases "), put_i32(cases), put_str(" failed "), put_i32(failed);
    put_str("\n");
}

static int run(uint32_t seed, int32_t cases)
{
    int32_t done = 0, failed = 0, rejects, total;
    int32_t f_add16 = 0, f_add8 = 0, f_bin16 = 0, f_bin8 = 0, f_pool16 = 0, f_pool8 = 0, f_pr16 = 0, f_pr8 = 0;
    int32_t f_conv = 0, f_dense = 0;
    rng_state = seed | 1u;
    while (done < cases) {
        int32_t f = 0;
        if (dw_case(&f)) {
            done++;
            failed += f;
        }
    }
    for (int32_t i = 0; i < cases; i++) {
        f_add16 += add_case(1);
        f_add8 += add_case(0);
        f_bin16 += binarize_case(1);
        f_bin8 += binarize_case(0);
        f_pr16 += prelu_case(1);
        f_pr8 += prelu_case(0);
        f_dense += dense_s16s8_case();
    }
    for (int32_t i = 0; i < cases;) { /* redrawn geometries do not count */
        const int32_t f = conv_s16s8_case();
        if (f >= 0) {
            f_conv += f;
            i++;
        }
    }
    for (int32_t i = 0; i < cases;) { /* redrawn geometries do not count */
        const int32_t f16 = avgpool_case(1), f8 = f16 < 0 ? -1 : avgpool_case(0);
        if (f16 >= 0 && f8 >= 0) {
            f_pool16 += f16, f_pool8 += f8;
            i++;
        }
    }
#if TB_KERNEL_CHECKS
    rejects = dw_rejects();
#else
    rejects = 0;
#endif
    line("dw_b1b1", done, failed);
    line("add_s16", cases, f_add16);
    line("add_s8", cases, f_add8);
    line("binarize_s16", cases, f_bin16);
    line("binarize_s8", cases, f_bin8);
    line("avgpool_s16", cases, f_pool16);
    line("avgpool_s8", cases, f_pool8);
    line("prelu_s16", cases, f_pr16);
    line("prelu_s8", cases, f_pr8);
    line("conv_s16s8", cases, f_conv);
    line("dense_s16s8", cases, f_dense);
    put_str("kernel dw_b1b1 argument checks failed "), put_i32(rejects), put_str("\n");
    total = failed + rejects + f_add16 + f_add8 + f_bin16 + f_bin8 + f_pool16 + f_pool8 + f_pr16 + f_pr8 +
            f_conv + f_dense;
    put_str(total ? "tb_stream_check fail\n" : "tb_stream_check pass\n");
    return total ? 1 : 0;
}

#ifdef TB_CHECK_HOST
/* "enc": lines "C taps kind w... [tau... flip...]" (kind 0 = TB_OUT_BITS, 1 = TB_OUT_S32; the reference words
 * and flip words in hex, the thresholds in decimal, for bits only) -> the encoded words (hex)
 * (tests/test_stream_opt_kernels.py compares them and tb_dw_b1b1_encoded_words with the Python mirror). */
static int dump(void)
{
    long C, taps, kind;
    while (scanf("%ld %ld %ld", &C, &taps, &kind) == 3) {
        tb_out_params out;
        unsigned long v;
        long t;
        if (C < 1 || C > MAX_C || taps < 1 || taps > TB_DW_MAX_TAPS || C * taps > 2 * MAX_WORDS ||
            tb_dw_b1b1_encoded_words((int32_t)C, (int32_t)taps, TB_OUT_BITS) > MAX_WORDS)
            return 2;
        memset(&out, 0, sizeof(out));
        out.kind = kind == 0 ? TB_OUT_BITS : TB_OUT_S32;
        out.thresholds = thresholds, out.flip = flip;
        for (long i = 0; i < C * taps; i++) {
            if (scanf("%lx", &v) != 1)
                return 2;
            weights[i] = (uint32_t)v;
        }
        for (long i = 0; kind == 0 && i < C; i++) {
            if (scanf("%ld", &t) != 1)
                return 2;
            thresholds[i] = (int32_t)t;
        }
        for (long i = 0; kind == 0 && i < TB_WORDS(C); i++) {
            if (scanf("%lx", &v) != 1)
                return 2;
            flip[i] = (uint32_t)v;
        }
        tb_dw_b1b1_encode_weights(weights, &out, (int32_t)C, (int32_t)taps, encoded);
        for (int32_t i = 0; i < tb_dw_b1b1_encoded_words((int32_t)C, (int32_t)taps, out.kind); i++)
            printf(i ? " %lx" : "%lx", (unsigned long)encoded[i]);
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "enc") == 0)
        return dump();
    {
        const uint32_t seed = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 0) : TB_CHECK_SEED;
        const int32_t cases = argc > 2 ? (int32_t)strtol(argv[2], 0, 0) : TB_CHECK_CASES;
        return run(seed, cases);
    }
}
#else
int tb_main(void)
{
    return run(TB_CHECK_SEED, TB_CHECK_CASES);
}
#endif
