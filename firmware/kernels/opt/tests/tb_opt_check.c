/*
 * tb_opt_check.c - every optimized kernel family against the reference kernels, on random layers.
 *
 * Portable C99 with static buffers only, so the same file runs on the host (tests/test_opt_kernels.py,
 * built with -DTB_CHECK_HOST) and as a firmware on the emulated cores (tb_main, output through tb_print).
 * For each case it draws a binary conv2d or dense layer (channels that are and are not multiples of 32,
 * kernels 1..3 and 5, strides, dilations, asymmetric paddings of every kind, bits or int32 output, extreme
 * thresholds), runs the reference kernel, encodes the weights with each family's C encoder, runs the
 * family's kernel and compares the statuses and the whole output buffers (plus a guard word after them).
 *
 * Outputs are bits, int32, or int8 / int16 codes with random per-channel multipliers, offsets and shifts inside
 * the contract, near the scale that maps the largest accumulator onto the code range (values compared, not only
 * saturation; the high-word requantization of tb_opt_requant_plan taken where the constants allow it).
 * The "short" family (tb_conv2d_b1b1_short / tb_dense_b1b1_short, the reference's weights) gets layers of its
 * domain: 1x1 convs without padding over at most 64 channels, dense rows of at most 2 words.
 * The "tree" family is the armv7m tree kernels tinybnn renders per dot-product length (tb_tree.c): layers
 * with K of 2..TB_CHECK_TREE_MAX_K words, weights encoded with their thresholds; with TB_CHECK_TREE_TABLE the
 * rendered kernels (assembly on Thumb-2, generated column encoders) come from tb_tree_check_kernel() (layers
 * it has no kernel for are redrawn), else the portable C of tb_tree.c runs.
 *
 * Build-time settings: TB_CHECK_CASES (random layers per family), TB_CHECK_SEED, TB_CHECK_ARENA_WORDS
 * (the buffer pool; layers that do not fit are redrawn), TB_CHECK_FAMILIES (bit mask: 1 armv7m, 2 armv6m,
 * 4 rv32zbb, 8 tree, 16 rv32, 32 short), TB_CHECK_CORRUPT (flip a bit of every optimized output: proves the comparison fails).
 * Output: one line per family "family <name> cases <n> failed <f>", then "tb_opt_check pass" or
 * "tb_opt_check fail"; exit code 0 on pass. The host build takes "seed cases" arguments.
 */
#include <stdint.h>

#include "tb_kernels.h"
#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#ifdef TB_CHECK_TREE_TABLE
/* generated (tests/test_opt_kernels.py): the rendered tree kernels of every K and run, as in a model */
const tb_tree_kernel *tb_tree_check_kernel(int32_t k, int32_t run, int32_t thresholds);
#endif
#ifndef TB_CHECK_TREE_MAX_K
#define TB_CHECK_TREE_MAX_K 160
#endif

#ifndef TB_CHECK_CASES
#define TB_CHECK_CASES 300
#endif
#ifndef TB_CHECK_SEED
#define TB_CHECK_SEED 20250611u
#endif
#ifndef TB_CHECK_ARENA_WORDS
#define TB_CHECK_ARENA_WORDS 16384
#endif
#ifndef TB_CHECK_FAMILIES
#define TB_CHECK_FAMILIES 63
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

/* ------------------------------------------------------------------------------------ families --- */

typedef struct {
    const char *name;
    int32_t (*encoded_words)(int32_t out_c, int32_t k_words);
    void (*encode)(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
    int32_t (*conv_scratch)(const tb_conv2d_params *p);
    tb_status (*conv)(const tb_context *, const tb_conv2d_params *, const tb_out_params *, const uint32_t *,
                      const uint32_t *, void *);
    int32_t (*dense_scratch)(const tb_dense_params *p);
    tb_status (*dense)(const tb_context *, const tb_dense_params *, const tb_out_params *, const uint32_t *,
                       const uint32_t *, void *);
    int tree; /* 1: the tree kernels, whose weights and kernel depend on the layer (see check_case) */
    int flash_taps; /* 1: a zero-padded conv's weights end with the tap popcounts (tb_opt_encode_tap_pops) */
    int short_dots; /* 1: layers of tb_*_b1b1_short's domain only (see draw_layer) */
} family;

/* ---- the short kernels read the reference weights */
static int32_t plain_words(int32_t out_c, int32_t k_words)
{
    return out_c * k_words;
}

static void plain_encode(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded)
{
    for (int32_t i = 0; i < out_c * k_words; i++)
        encoded[i] = weights[i];
}

/* ---- the tree kernels: the kernel of the layer being checked */
static const tb_tree_kernel *tree_kern;

static const tb_tree_kernel *tree_kernel(int32_t k, int32_t run, int32_t thresholds)
{
#ifdef TB_CHECK_TREE_TABLE
    return tb_tree_check_kernel(k, run, thresholds);
#else
    static tb_tree_kernel portable;
    (void)run;
    portable.k_words = k;
    portable.thresholds = thresholds;
    portable.bits = 0;
    portable.pops = 0;
    portable.encode = 0;
    portable.run = 0;
    return &portable;
#endif
}

static int32_t tree_words(int32_t out_c, int32_t k_words)
{
    return out_c * (tb_tree_words(k_words) + 1);
}

static tb_status tree_conv(const tb_context *ctx, const tb_conv2d_params *p, const tb_out_params *out,
                           const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_tree_conv2d(tree_kern, ctx, p, out, input, weights, output);
}

static tb_status tree_dense(const tb_context *ctx, const tb_dense_params *p, const tb_out_params *out,
                            const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_tree_dense(tree_kern, ctx, p, out, input, weights, output);
}

typedef struct layer_s layer;
struct layer_s {
    int is_conv;
    tb_conv2d_params cp;
    tb_dense_params dp;
    tb_out_params out;
    int32_t k_words, k_bits, in_words, out_words;
    uint32_t *input, *weights, *thresholds, *flip;
    int32_t *multiplier, *shift;
    int64_t *offset;
};

#define N_FAMILIES 6
static const family FAMILIES[N_FAMILIES] = {
    {"armv7m", tb_armv7m_encoded_words, tb_armv7m_encode_weights, tb_conv2d_b1b1_armv7m_get_buffer_size,
     tb_conv2d_b1b1_armv7m, tb_dense_b1b1_armv7m_get_buffer_size, tb_dense_b1b1_armv7m, 0, 0, 0},
    {"armv6m", tb_armv6m_encoded_words, tb_armv6m_encode_weights, tb_conv2d_b1b1_armv6m_get_buffer_size,
     tb_conv2d_b1b1_armv6m, tb_dense_b1b1_armv6m_get_buffer_size, tb_dense_b1b1_armv6m, 0, 0, 0},
    {"rv32zbb", tb_rv32zbb_encoded_words, tb_rv32zbb_encode_weights, tb_conv2d_b1b1_rv32zbb_get_buffer_size,
     tb_conv2d_b1b1_rv32zbb, tb_dense_b1b1_rv32zbb_get_buffer_size, tb_dense_b1b1_rv32zbb, 0, 0, 0},
    {"tree", tree_words, 0, tb_tree_conv2d_get_buffer_size, tree_conv, tb_tree_dense_get_buffer_size, tree_dense, 1, 0, 0},
    {"rv32", tb_rv32_encoded_words, tb_rv32_encode_weights, tb_conv2d_b1b1_rv32_get_buffer_size, tb_conv2d_b1b1_rv32,
     tb_dense_b1b1_rv32_get_buffer_size, tb_dense_b1b1_rv32, 0, 1, 0},
    {"short", plain_words, plain_encode, tb_conv2d_b1b1_short_get_buffer_size, tb_conv2d_b1b1_short,
     tb_dense_b1b1_short_get_buffer_size, tb_dense_b1b1_short, 0, 0, 1},
};

/* 1 for a conv with zero padding and pads: the tree and rv32 weights end with the tap popcounts */
static int zero_padded(const layer *L)
{
    const tb_conv2d_params *p = &L->cp;
    return L->is_conv && p->pad == TB_PAD_ZERO && (p->pad_top | p->pad_left | p->pad_bottom | p->pad_right) != 0;
}

/* Words of the tree weights of a layer (+ T and tmp while encoding). */
static int32_t tree_enc_words(const layer *L, int32_t out_c)
{
    return tree_words(out_c, L->k_words) +
           (zero_padded(L) ? tb_opt_tap_words(out_c, L->cp.kernel_h * L->cp.kernel_w) : 0) + out_c + L->k_words;
}

/* The tree kernel of a layer and its weights: the channels (with the popcount-domain thresholds of a bits
 * output), then the tap popcounts of a zero-padded conv. */
static void tree_encode(const layer *L, int32_t out_c, uint32_t *enc)
{
    const int32_t bits = L->out.kind == TB_OUT_BITS;
    const int32_t run = L->is_conv ? L->cp.kernel_w * TB_WORDS(L->cp.in_c) : L->k_words;
    const int32_t stride = tb_tree_words(L->k_words) + bits, taps = L->cp.kernel_h * L->cp.kernel_w;
    uint32_t *tw = enc + out_c * stride;
    uint32_t *T = tw + (zero_padded(L) ? tb_opt_tap_words(out_c, taps) : 0), *tmp = T + out_c;
    if (bits)
        tb_opt_pop_thresholds(&L->out, out_c, L->k_bits, T);
    tb_tree_encode_weights(L->weights, out_c, L->k_words, bits ? T : 0, enc, tmp);
    if (zero_padded(L))
        tb_opt_encode_tap_pops(L->weights, out_c, taps, TB_WORDS(L->cp.in_c), tw);
    tree_kern = tree_kernel(L->k_words, run, bits);
}

/* Words of a family's weights for a layer, and the weights (encoded, then the tap popcounts if it reads them). */
static int32_t enc_words_of(const family *f, const layer *L, int32_t out_c)
{
    if (f->tree)
        return tree_enc_words(L, out_c);
    return f->encoded_words(out_c, L->k_words) +
           (f->flash_taps && zero_padded(L) ? tb_opt_tap_words(out_c, L->cp.kernel_h * L->cp.kernel_w) : 0);
}

static void encode_for(const family *f, const layer *L, int32_t out_c, uint32_t *enc)
{
    if (f->tree) {
        tree_encode(L, out_c, enc);
        return;
    }
    f->encode(L->weights, out_c, L->k_words, enc);
    if (f->flash_taps && zero_padded(L))
        tb_opt_encode_tap_pops(L->weights, out_c, L->cp.kernel_h * L->cp.kernel_w, TB_WORDS(L->cp.in_c),
                               enc + f->encoded_words(out_c, L->k_words));
}

/* 1 when the tree family has a kernel for the layer (K in range and, with a table, rendered for it) */
static int tree_has(const layer *L)
{
    const int32_t run = L->is_conv ? L->cp.kernel_w * TB_WORDS(L->cp.in_c) : L->k_words;
    return L->k_words >= 2 && L->k_words <= TB_CHECK_TREE_MAX_K &&
           tree_kernel(L->k_words, run, L->out.kind == TB_OUT_BITS) != 0;
}

/* -------------------------------------------------------------------------------------- random --- */

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
static int32_t rint_in(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static int32_t pick(const int32_t *v, int32_t n)
{
    return v[rnd() % (uint32_t)n];
}

/* a channel count: often around the multiples of 32 */
static int32_t channels(int32_t hi)
{
    static const int32_t edges[] = {1, 2, 3, 31, 32, 33, 63, 64, 65, 95, 96, 97};
    if (rnd() % 2u)
        return rint_in(1, hi);
    {
        int32_t c = pick(edges, (int32_t)(sizeof edges / sizeof edges[0]));
        return c > hi ? rint_in(1, hi) : c;
    }
}

/* packed random bits with the tail bits of every `c`-channel pixel zero */
static void random_bits(uint32_t *dst, int32_t pixels, int32_t c)
{
    const int32_t words = TB_WORDS(c);
    for (int32_t p = 0; p < pixels; p++)
        for (int32_t i = 0; i < words; i++) {
            const int32_t used = c - i * 32;
            dst[p * words + i] = rnd() & (used >= 32 ? 0xFFFFFFFFu : ((uint32_t)1u << used) - 1u);
        }
}

/* ------------------------------------------------------------------------------------ the pool --- */

static uint32_t arena[TB_CHECK_ARENA_WORDS];
static int32_t arena_used;

static uint32_t *take(int32_t words)
{
    uint32_t *p;
    if (words < 1)
        words = 1;
    if (arena_used + words > TB_CHECK_ARENA_WORDS)
        return (uint32_t *)0;
    p = arena + arena_used;
    arena_used += words;
    return p;
}

/* ------------------------------------------------------------------------------------- a case --- */


static void draw_thresholds(layer *L, int32_t out_c)
{
    int32_t *tau = (int32_t *)L->thresholds;
    for (int32_t o = 0; o < out_c; o++) {
        const uint32_t r = rnd() % 16u;
        tau[o] = r == 0u ? INT32_MIN : r == 1u ? INT32_MAX : r == 2u ? -L->k_bits - 1 : r == 3u ? L->k_bits + 1
                                                                                               : rint_in(-L->k_bits - 2, L->k_bits + 2);
    }
    for (int32_t i = 0; i < TB_WORDS(out_c); i++)
        L->flip[i] = rnd();
}

/*
 * The requantization constants of an int8 / int16 output (wide: int16): per channel a random multiplier (at
 * most 2^61 / k_bits in magnitude: the contract's |acc * multiplier| + |offset| < 2^62), the shift that maps
 * the largest accumulator near the code range (+-2), and an offset up to 2^9 codes, or +-(2^61 - 1) now and
 * then. 0 when the pool is full.
 */
static int draw_requant(layer *L, int32_t out_c, int wide)
{
    int64_t mmax = ((int64_t)1 << 61) / (L->k_bits > 0 ? L->k_bits : 1);
    arena_used += arena_used % 2; /* the int64 offsets on an 8-byte boundary */
    L->offset = (int64_t *)(void *)take(2 * out_c);
    L->multiplier = (int32_t *)take(out_c);
    L->shift = (int32_t *)take(out_c);
    if (L->offset == 0 || L->multiplier == 0 || L->shift == 0)
        return 0;
    if (mmax > 0x7FFFFFFF)
        mmax = 0x7FFFFFFF;
    for (int32_t o = 0; o < out_c; o++) {
        const uint32_t r = rnd() % 10u;
        const int32_t m = r == 0u ? (int32_t)mmax : r == 1u ? -(int32_t)mmax : r == 2u ? 0
                        : (int32_t)((int64_t)(rnd() % (uint32_t)(2 * mmax + 1)) - mmax);
        const int64_t prod = (int64_t)L->k_bits * (m < 0 ? -(int64_t)m : m);
        int32_t bits = 0, sh;
        int64_t span;
        while (bits < 62 && ((int64_t)1 << bits) <= prod)
            bits++;
        sh = bits - (wide ? 15 : 7) + rint_in(-2, 2);
        sh = sh < 0 ? 0 : sh > 62 ? 62 : sh;
        span = sh + 9 >= 61 ? ((int64_t)1 << 61) - 1 : (int64_t)1 << (sh + 9);
        L->multiplier[o] = m;
        L->shift[o] = sh;
        {
            const int64_t v = (int64_t)(((uint64_t)rnd() << 32 | rnd()) % (uint64_t)span);
            const uint32_t e = rnd() % 10u;
            L->offset[o] = e == 0u ? ((int64_t)1 << 61) - 1 : e == 1u ? -(((int64_t)1 << 61) - 1) : rnd() % 2u ? v : -v;
        }
    }
    L->out.multiplier = L->multiplier;
    L->out.offset = L->offset;
    L->out.shift = L->shift;
    return 1;
}

/* Draws a layer that fits the pool (with room for `extra` more words); 0 when it does not. short_dots: a
 * layer of tb_*_b1b1_short's domain (1x1 conv without pads over at most 64 channels, dense rows of at most
 * 2 words). */
static int draw_layer(layer *L, int32_t extra, int short_dots)
{
    int32_t out_c;
    arena_used = 0;
    L->is_conv = rnd() % 3u != 0u;
    if (L->is_conv) {
        static const int32_t kernels[] = {1, 1, 2, 3, 3, 3, 5};
        tb_conv2d_params *p = &L->cp;
        p->in_c = channels(100);
        p->out_c = out_c = channels(70);
        p->kernel_h = pick(kernels, 7);
        p->kernel_w = rnd() % 4u ? p->kernel_h : pick(kernels, 7);
        p->stride_h = rint_in(1, 2);
        p->stride_w = rnd() % 4u ? p->stride_h : rint_in(1, 3);
        p->dilation_h = rnd() % 4u ? 1 : 2;
        p->dilation_w = rnd() % 4u ? p->dilation_h : rint_in(1, 2);
        p->pad_top = rint_in(0, 2);
        p->pad_bottom = rnd() % 2u ? p->pad_top : rint_in(0, 2);
        p->pad_left = rint_in(0, 2);
        p->pad_right = rnd() % 2u ? p->pad_left : rint_in(0, 2);
        p->pad = (tb_pad_kind)rint_in(0, 2);
        p->in_h = rint_in(1, 7);
        p->in_w = rint_in(1, 7);
        if (short_dots) {
            p->in_c = channels(64);
            p->kernel_h = p->kernel_w = 1;
            p->pad_top = p->pad_left = p->pad_bottom = p->pad_right = 0;
        }
        p->input_zero_point = 0;
        {
            const int32_t sh = p->in_h + p->pad_top + p->pad_bottom - p->dilation_h * (p->kernel_h - 1) - 1;
            const int32_t sw = p->in_w + p->pad_left + p->pad_right - p->dilation_w * (p->kernel_w - 1) - 1;
            if (sh < 0 || sw < 0)
                return 0;
            p->out_h = sh / p->stride_h + 1;
            p->out_w = sw / p->stride_w + 1;
        }
        L->k_words = p->kernel_h * p->kernel_w * TB_WORDS(p->in_c);
        L->k_bits = p->kernel_h * p->kernel_w * p->in_c;
        L->in_words = p->in_h * p->in_w * TB_WORDS(p->in_c);
    } else {
        tb_dense_params *p = &L->dp;
        p->in_pixels = rnd() % 3u ? 1 : rint_in(2, 4);
        p->in_c = channels(300);
        p->out_c = out_c = channels(70);
        p->input_zero_point = 0;
        if (short_dots) {
            p->in_c = channels(64);
            if (p->in_c > 32)
                p->in_pixels = 1;
            else if (p->in_pixels > 2)
                p->in_pixels = 2;
        }
        L->k_words = p->in_pixels * TB_WORDS(p->in_c);
        L->k_bits = p->in_pixels * p->in_c;
        L->in_words = L->k_words;
    }
    {
        const uint32_t r = rnd() % 8u;
        L->out.kind = r < 4u ? TB_OUT_BITS : r < 6u ? TB_OUT_S32 : r == 6u ? TB_OUT_S8 : TB_OUT_S16;
    }
    {
        const int32_t pixels = L->is_conv ? L->cp.out_h * L->cp.out_w : 1;
        L->out_words = L->out.kind == TB_OUT_BITS ? pixels * TB_WORDS(out_c)
                     : L->out.kind == TB_OUT_S32  ? pixels * out_c
                     : (pixels * out_c * (L->out.kind == TB_OUT_S16 ? 2 : 1) + 3) / 4;
    }
    L->out.multiplier = 0;
    L->out.offset = 0;
    L->out.shift = 0;
    if ((L->out.kind == TB_OUT_S8 || L->out.kind == TB_OUT_S16) && !draw_requant(L, out_c, L->out.kind == TB_OUT_S16))
        return 0;
    L->input = take(L->in_words);
    L->weights = take(out_c * L->k_words);
    L->thresholds = take(out_c);
    L->flip = take(TB_WORDS(out_c));
    if (L->input == 0 || L->weights == 0 || L->thresholds == 0 || L->flip == 0 ||
        arena_used + extra > TB_CHECK_ARENA_WORDS)
        return 0;
    if (L->is_conv) {
        random_bits(L->input, L->cp.in_h * L->cp.in_w, L->cp.in_c);
        random_bits(L->weights, out_c * L->cp.kernel_h * L->cp.kernel_w, L->cp.in_c);
    } else {
        random_bits(L->input, L->dp.in_pixels, L->dp.in_c);
        random_bits(L->weights, out_c * L->dp.in_pixels, L->dp.in_c);
    }
    draw_thresholds(L, out_c);
    L->out.thresholds = (const int32_t *)L->thresholds;
    L->out.flip = L->flip;
    return 1;
}

static void describe(const layer *L)
{
    if (L->is_conv) {
        const tb_conv2d_params *p = &L->cp;
        put_str("conv in ");
        put_i32(p->in_h), put_str("x"), put_i32(p->in_w), put_str("x"), put_i32(p->in_c);
        put_str(" out_c "), put_i32(p->out_c);
        put_str(" k "), put_i32(p->kernel_h), put_str("x"), put_i32(p->kernel_w);
        put_str(" s "), put_i32(p->stride_h), put_str("x"), put_i32(p->stride_w);
        put_str(" d "), put_i32(p->dilation_h), put_str("x"), put_i32(p->dilation_w);
        put_str(" pads "), put_i32(p->pad_top), put_str(","), put_i32(p->pad_left), put_str(",");
        put_i32(p->pad_bottom), put_str(","), put_i32(p->pad_right);
        put_str(" pad "), put_i32((int32_t)p->pad);
    } else {
        put_str("dense pixels "), put_i32(L->dp.in_pixels), put_str(" in_c "), put_i32(L->dp.in_c);
        put_str(" out_c "), put_i32(L->dp.out_c);
    }
    put_str(L->out.kind == TB_OUT_BITS ? " bits\n" : L->out.kind == TB_OUT_S32 ? " int32\n"
            : L->out.kind == TB_OUT_S8 ? " int8\n" : " int16\n");
}

#if !TB_STREAM_OUTPUTS
static int32_t stream_refused; /* cases whose TB_OUT_S8 / TB_OUT_S16 stage both kernels refused */
#endif

/* One case for one family: 0 on agreement. */
static int check_case(const family *f, uint32_t seed)
{
    layer L;
    uint32_t *ref, *got, *enc, *scratch;
    int32_t out_c, enc_words, scratch_bytes, scratch_words;
    tb_status st_ref, st_got;
    tb_context ctx;
    rng_state = seed;
    for (;;) {
        /* redraw until it fits: outputs x2 with guards, encoded weights, scratch */
        if (!draw_layer(&L, 0, f->short_dots))
            continue;
        if (f->tree && !tree_has(&L))
            continue;
        out_c = L.is_conv ? L.cp.out_c : L.dp.out_c;
        enc_words = enc_words_of(f, &L, out_c);
        scratch_bytes = L.is_conv ? f->conv_scratch(&L.cp) : f->dense_scratch(&L.dp);
        scratch_words = (scratch_bytes + 3) / 4;
        ref = take(L.out_words + 1);
        got = take(L.out_words + 1);
        enc = take(enc_words);
        scratch = take(scratch_words);
        if (ref != 0 && got != 0 && enc != 0 && scratch != 0)
            break;
    }
    for (int32_t i = 0; i <= L.out_words; i++)
        ref[i] = got[i] = GUARD;
    encode_for(f, &L, out_c, enc);
    ctx.buf = (void *)0;
    ctx.size = 0;
    if (L.is_conv) {
        st_ref = tb_conv2d_b1b1(&ctx, &L.cp, &L.out, L.input, L.weights, ref);
        ctx.buf = scratch;
        ctx.size = scratch_bytes;
        st_got = f->conv(&ctx, &L.cp, &L.out, L.input, enc, got);
    } else {
        st_ref = tb_dense_b1b1(&ctx, &L.dp, &L.out, L.input, L.weights, ref);
        ctx.buf = scratch;
        ctx.size = scratch_bytes;
        st_got = f->dense(&ctx, &L.dp, &L.out, L.input, enc, got);
    }
#ifdef TB_CHECK_CORRUPT
    got[0] ^= 1u; /* the test of this test: every case must now fail */
#endif
#if !TB_STREAM_OUTPUTS
    if (L.out.kind == TB_OUT_S8 || L.out.kind == TB_OUT_S16) { /* stages built out: both must refuse them */
        if (st_ref == TB_ERR_ARG && st_got == TB_ERR_ARG) {
            stream_refused++;
            return 0;
        }
        put_str("stream stage not refused: status ref "), put_i32((int32_t)st_ref), put_str(" opt ");
        put_i32((int32_t)st_got), put_str(": ");
        describe(&L);
        return 1;
    }
#endif
    if (st_ref != TB_OK || st_got != TB_OK) {
        put_str("status ref "), put_i32((int32_t)st_ref), put_str(" opt "), put_i32((int32_t)st_got), put_str(": ");
        describe(&L);
        return 1;
    }
    for (int32_t i = 0; i <= L.out_words; i++)
        if (ref[i] != got[i]) {
            put_str(f->name), put_str(": word "), put_i32(i), put_str(" of "), put_i32(L.out_words);
            put_str(" ref "), put_i32((int32_t)ref[i]), put_str(" opt "), put_i32((int32_t)got[i]), put_str(": ");
            describe(&L);
            return 1;
        }
    return 0;
}

/* Too little scratch must be refused (the reference needs none, so this is the families' own check). */
static int check_short_scratch(const family *f, uint32_t seed)
{
    layer L;
    uint32_t *got, *enc, *scratch;
    int32_t out_c, bytes;
    tb_context ctx;
    tb_status st;
    rng_state = seed;
    while (!draw_layer(&L, 0, f->short_dots) || (f->tree && !tree_has(&L))
           || (!TB_STREAM_OUTPUTS && (L.out.kind == TB_OUT_S8 || L.out.kind == TB_OUT_S16)))
        ;
    out_c = L.is_conv ? L.cp.out_c : L.dp.out_c;
    bytes = L.is_conv ? f->conv_scratch(&L.cp) : f->dense_scratch(&L.dp);
    got = take(L.out_words);
    enc = take(enc_words_of(f, &L, out_c));
    scratch = take(bytes / 4 + 1);
    if (got == 0 || enc == 0 || scratch == 0)
        return 0;
    encode_for(f, &L, out_c, enc);
    ctx.buf = scratch;
    ctx.size = bytes - 4;
    st = L.is_conv ? f->conv(&ctx, &L.cp, &L.out, L.input, enc, got) : f->dense(&ctx, &L.dp, &L.out, L.input, enc, got);
    if (bytes > 0 && st != TB_ERR_SCRATCH) {
        put_str(f->name), put_str(": short scratch gave status "), put_i32((int32_t)st), put_str("\n");
        return 1;
    }
    return 0;
}

static int run(uint32_t seed, int32_t cases)
{
    int failed_total = 0;
    for (int32_t fi = 0; fi < N_FAMILIES; fi++) {
        int32_t failed = 0;
        if (!((TB_CHECK_FAMILIES >> fi) & 1))
            continue;
        for (int32_t c = 0; c < cases; c++)
            failed += check_case(&FAMILIES[fi], seed + 7919u * (uint32_t)c + 1u);
        for (int32_t c = 0; c < 8; c++)
            failed += check_short_scratch(&FAMILIES[fi], seed ^ (0x9E3779B9u * (uint32_t)(c + 1)));
        put_str("family "), put_str(FAMILIES[fi].name), put_str(" cases "), put_i32(cases);
        put_str(" failed "), put_i32(failed), put_str("\n");
        failed_total += failed;
    }
#if !TB_STREAM_OUTPUTS
    put_str("stream stages refused "), put_i32(stream_refused), put_str("\n");
#endif
    put_str(failed_total ? "tb_opt_check fail\n" : "tb_opt_check pass\n");
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
