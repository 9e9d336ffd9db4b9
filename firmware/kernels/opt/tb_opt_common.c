/*
 * tb_opt_common.c - the column gather, the popcount-domain output stage and the argument checks shared by
 * the optimized binary kernels (see tb_opt_internal.h for the derivations).
 */
#include <stddef.h>

#include "tb_opt_internal.h"

/* floor(a / 2) for any int64 a, without relying on the implementation-defined >> of negative values. */
static int64_t floor_half(int64_t a)
{
    return (a - (a & 1)) / 2;
}

void tb_opt_pop_thresholds(const tb_out_params *out, int32_t out_c, int32_t k_bits, uint32_t *T)
{
    if (k_bits < 0x40000000) {
        /* T is clamped to [0, K + 1], so tau can be clamped to [-K - 2, K + 2] first without changing it;
         * then K +- tau fits 32 bits and floor(a / 2) of a >= -2 is (a + 2) / 2 - 1 */
        uint32_t flips = 0u;
        for (int32_t o = 0; o < out_c; o++) {
            const int32_t t0 = out->thresholds[o];
            const int32_t tau = t0 < -k_bits - 2 ? -k_bits - 2 : t0 > k_bits + 2 ? k_bits + 2 : t0;
            int32_t t;
            if (o % TB_WORD_BITS == 0)
                flips = out->flip[o / TB_WORD_BITS];
            t = (flips & 1u) ? k_bits + tau : k_bits - tau;
            flips >>= 1;
            t = (t + 2) / 2; /* floor(a / 2) + 1 */
            T[o] = t < 0 ? 0u : t > k_bits + 1 ? (uint32_t)k_bits + 1u : (uint32_t)t;
        }
        return;
    }
    for (int32_t o = 0; o < out_c; o++) {
        const int64_t tau = out->thresholds[o];
        const int64_t t = tb_bit(out->flip, o) ? floor_half((int64_t)k_bits + tau) + 1
                                               : floor_half((int64_t)k_bits - tau) + 1;
        T[o] = t < 0 ? 0u : t > (int64_t)k_bits + 1 ? (uint32_t)k_bits + 1u : (uint32_t)t;
    }
}

int32_t tb_opt_column(const tb_conv2d_params *p, const uint32_t *input, int32_t oy, int32_t ox, uint32_t *col,
                      int32_t step, int32_t *padded)
{
    const int32_t words = TB_WORDS(p->in_c);
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t npad = 0;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + (p->kernel_h - 1) * p->dilation_h < p->in_h &&
        ix0 + (p->kernel_w - 1) * p->dilation_w < p->in_w) {
        /* the whole window is inside: copy rows (a row of taps is contiguous without dilation) */
        const int32_t run = p->dilation_w == 1 ? p->kernel_w * words : words;
        const int32_t runs = p->dilation_w == 1 ? 1 : p->kernel_w;
        for (int32_t kh = 0; kh < p->kernel_h; kh++) {
            const uint32_t *row = input + ((iy0 + kh * p->dilation_h) * p->in_w + ix0) * words;
            for (int32_t r = 0; r < runs; r++, row += p->dilation_w * words)
                for (int32_t i = 0; i < run; i++, col += step)
                    *col = row[i];
        }
        return 0;
    }
    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
            uint32_t *dst = col + (kh * p->kernel_w + kw) * words * step;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                const uint32_t *x = input + (iy * p->in_w + ix) * words;
                for (int32_t i = 0; i < words; i++)
                    dst[i * step] = x[i];
            } else {
                for (int32_t i = 0; i < words; i++)
                    dst[i * step] = p->pad == TB_PAD_MINUS_ONE ? tb_tail_mask(p->in_c, i) : 0u;
                if (padded != NULL)
                    padded[npad] = kh * p->kernel_w + kw;
                npad++;
            }
        }
    }
    return npad;
}

void tb_opt_tap_pops(const uint32_t *weights, int32_t out_c, int32_t taps, int32_t words, tb_opt_word_fn word,
                     uint16_t *pops)
{
    const int32_t k_words = taps * words;
    for (int32_t o = 0; o < out_c; o++)
        for (int32_t t = 0; t < taps; t++) {
            int32_t n = 0;
            for (int32_t i = 0; i < words; i++)
                n += tb_popcount32(word(weights, k_words, o, t * words + i));
            pops[o * taps + t] = (uint16_t)n;
        }
}

int32_t tb_opt_tap_words(int32_t out_c, int32_t taps)
{
    return (out_c * taps + 1) / 2;
}

void tb_opt_encode_tap_pops(const uint32_t *weights, int32_t out_c, int32_t taps, int32_t words, uint32_t *out)
{
    for (int32_t i = 0; i < tb_opt_tap_words(out_c, taps); i++)
        out[i] = 0u;
    for (int32_t i = 0; i < out_c * taps; i++) { /* i = o * taps + t: words i * words .. of the weights */
        uint32_t c = 0u;
        for (int32_t j = 0; j < words; j++)
            c += (uint32_t)tb_popcount32(weights[i * words + j]);
        out[i / 2] |= c << (16 * (i % 2));
    }
}

/* tb_opt_pad_correction from tap popcounts in flash (tb_opt_encode_tap_pops). */
static void pad_correction_words(const uint32_t *tw, int32_t taps, const int32_t *padded, int32_t npadded,
                                 int32_t o0, int32_t n, int32_t *corr)
{
    for (int32_t i = 0; i < n; i++) {
        int32_t c = 0;
        for (int32_t j = 0; j < npadded; j++)
            c += (int32_t)tb_opt_tap_pop(tw, (o0 + i) * taps + padded[j]);
        corr[i] = c;
    }
}

void tb_opt_pad_correction(const uint16_t *tap_pops, int32_t taps, const int32_t *padded, int32_t npadded,
                           int32_t o0, int32_t n, int32_t *corr)
{
    for (int32_t i = 0; i < n; i++) {
        const uint16_t *tp = tap_pops + (o0 + i) * taps;
        int32_t c = 0;
        for (int32_t j = 0; j < npadded; j++)
            c += tp[padded[j]];
        corr[i] = c;
    }
}

void tb_opt_store_bits(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, uint32_t bits)
{
    ((uint32_t *)s->output)[pixel * TB_WORDS(s->out_c) + o0 / TB_WORD_BITS] =
        (bits ^ s->out->flip[o0 / TB_WORD_BITS]) & (n == TB_WORD_BITS ? 0xFFFFFFFFu : ((uint32_t)1u << n) - 1u);
}

void tb_opt_finish_fast(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, const uint32_t *pop)
{
    const uint32_t *T = s->thresholds + o0;
    uint32_t word = 0u;
    /* bit i = (pop[i] >= T[i]); built from the top channel down so each step is a shift and an add */
    for (int32_t i = n - 1; i >= 0; i--)
        word = (word << 1) + (uint32_t)(pop[i] >= T[i]);
    tb_opt_store_bits(s, pixel, o0, n, word);
}

int32_t tb_opt_requant_plan(const tb_out_params *out, int32_t o0, int32_t n, int32_t acc_max, tb_opt_rq *q)
{
    q->o0 = o0;
    q->n = n;
    q->acc_max = acc_max;
    q->fast = 1;
    for (int32_t i = 0; i < n; i++) {
        const int32_t shift = out->shift[o0 + i], k = shift >= 32 ? 0 : 32 - shift;
        const int64_t off = out->offset[o0 + i];
        const uint64_t mag = off < 0 ? (uint64_t)0 - (uint64_t)off : (uint64_t)off;
        q->r[i] = shift > 32 ? shift - 32 : 0;
        if (shift < 32 && (acc_max < 0 || shift < 1 || (int64_t)acc_max >= ((int64_t)1 << (shift - 1)) ||
                           mag >= ((uint64_t)1 << (62 - k)))) {
            q->scale[i] = 0;
            q->offset[i] = 0;
            q->fast = 0;
            continue;
        }
        q->scale[i] = (int32_t)((uint32_t)1u << k);
        q->offset[i] = off * ((int64_t)1 << k);
    }
    return q->fast;
}

int32_t tb_opt_plan_begin(const tb_out_params *out, int32_t out_c, tb_opt_rq *q)
{
    int32_t wide_shifts = 1;
    if (q == NULL || (out->kind != TB_OUT_S8 && out->kind != TB_OUT_S16) || out_c > TB_OPT_RUN)
        return TB_OPT_PLAN_NONE;
    for (int32_t o = 0; o < out_c; o++)
        wide_shifts &= out->shift[o] >= 32;
    if (!wide_shifts)
        return TB_OPT_PLAN_BOUND;
    tb_opt_requant_plan(out, 0, out_c, -1, q); /* shifts >= 32 need no accumulator bound */
    return TB_OPT_PLAN_DONE;
}

void tb_opt_plan_bounded(const tb_out_params *out, int32_t out_c, int64_t wsum_max, int64_t x_max, tb_opt_rq *q)
{
    const int64_t bound = wsum_max * x_max;
    tb_opt_requant_plan(out, 0, out_c, bound > INT32_MAX ? -1 : (int32_t)bound, q); /* -1: shifts >= 32 only */
}

void tb_opt_finish_general(const tb_opt_out *s, int32_t pixel, int32_t o0, int32_t n, const uint32_t *pop,
                           int32_t k_bits, const int32_t *correction)
{
    uint32_t word = 0u;
    const tb_out_kind kind = s->out->kind;
    if (s->rq != NULL && (kind == TB_OUT_S8 || kind == TB_OUT_S16)) {
        tb_opt_rq *q = s->rq;
        const int32_t bound = s->acc_max > k_bits ? s->acc_max : k_bits;
        if (q->n != n || q->o0 != o0 || q->acc_max < bound)
            tb_opt_requant_plan(s->out, o0, n, bound, q);
        {
            const int32_t *m = s->out->multiplier + o0;
            for (int32_t i = 0; i < n; i++) {
                const int32_t pv = (int32_t)pop[i] - (correction != NULL ? correction[i] : 0);
                const int32_t acc = k_bits - 2 * pv;
                if (q->scale[i] == 0) { /* constants outside the fast path's range */
                    tb_store(s->out, s->output, pixel, s->out_c, o0 + i, acc, &word);
                    continue;
                }
                if (kind == TB_OUT_S8)
                    ((int8_t *)s->output)[pixel * s->out_c + o0 + i] = TB_OPT_SAT8(tb_opt_requant_fast(q, i, m[i], acc));
                else
                    ((int16_t *)s->output)[pixel * s->out_c + o0 + i] = TB_OPT_SAT16(tb_opt_requant_fast(q, i, m[i], acc));
            }
            return;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t pv = (int32_t)pop[i] - (correction != NULL ? correction[i] : 0);
        tb_store(s->out, s->output, pixel, s->out_c, o0 + i, k_bits - 2 * pv, &word);
    }
}

#if TB_KERNEL_CHECKS
tb_status tb_opt_check_common(const tb_context *ctx, const tb_out_params *out, int32_t out_c, const uint32_t *input,
                              const uint32_t *weights, const void *output, int32_t scratch)
{
    const tb_status status = tb_check_operands(out, out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS);
    if (status != TB_OK)
        return status;
    if (scratch > 0) {
        if (ctx == NULL || ctx->buf == NULL || ctx->size < scratch)
            return TB_ERR_SCRATCH;
        if (!tb_aligned4(ctx->buf))
            return TB_ERR_ALIGN;
    }
    return TB_OK;
}
#endif

/*
 * Scratch of a call (32-bit words, in this order):
 *   cols [pixels * K]   the plain columns of a block of output pixels (convs only)
 *   xe   [column_words] the same in the inner loop's layout (families that encode)
 *   T    [O]            popcount-domain thresholds
 *   pop  [pixels * 32]  popcounts of one run of channels
 *   corr [32]           zero-padding corrections of one pixel and run
 *   npad [pixels]       padded taps per pixel
 *   padded [pixels * taps], tap_pops [O * taps] (uint16): only for zero padding with pads (tap_pops only
 *   when the family's weights do not carry them: flash_taps)
 */
typedef struct {
    uint32_t *cols, *xe, *T, *pop;
    int32_t *corr, *npad, *padded;
    uint16_t *tap_pops;
    const uint32_t *tap_words; /* the tap popcounts after the weights (flash_taps), or NULL */
} scratch_map;

static int32_t conv_with_taps(const tb_conv2d_params *p)
{
    return p->pad == TB_PAD_ZERO && (p->pad_top | p->pad_left | p->pad_bottom | p->pad_right) != 0;
}

static int32_t scratch_words(const tb_opt_family *f, int32_t pixels, int32_t cols, int32_t k_words, int32_t out_c,
                             int32_t taps, int32_t with_taps)
{
    int32_t n = cols + f->column_words(k_words, pixels) + out_c + pixels * TB_OPT_RUN + TB_OPT_RUN + pixels;
    if (with_taps)
        n += pixels * taps + (f->flash_taps ? 0 : (out_c * taps + 1) / 2);
    return n;
}

static scratch_map map_scratch(const tb_opt_family *f, void *buf, int32_t pixels, int32_t cols, int32_t k_words,
                               int32_t out_c, int32_t taps, int32_t with_taps)
{
    scratch_map m;
    m.cols = (uint32_t *)buf;
    m.xe = m.cols + cols;
    m.T = m.xe + f->column_words(k_words, pixels);
    m.pop = m.T + out_c;
    m.corr = (int32_t *)(m.pop + pixels * TB_OPT_RUN);
    m.npad = m.corr + TB_OPT_RUN;
    m.padded = with_taps ? m.npad + pixels : NULL;
    m.tap_pops = with_taps && !f->flash_taps ? (uint16_t *)(m.padded + pixels * taps) : NULL;
    m.tap_words = NULL;
    return m;
}

/* Words of plain columns a conv call needs (none when the family gathers straight into its layout). */
static int32_t conv_cols(const tb_opt_family *f, int32_t k_words)
{
    return f->interleaved ? 0 : f->pixels * k_words;
}

int32_t tb_opt_conv2d_scratch(const tb_opt_family *f, const tb_conv2d_params *p)
{
    const int32_t taps = p->kernel_h * p->kernel_w, k_words = taps * TB_WORDS(p->in_c);
    return 4 * scratch_words(f, f->pixels, conv_cols(f, k_words), k_words, p->out_c, taps, conv_with_taps(p));
}

int32_t tb_opt_dense_scratch(const tb_opt_family *f, const tb_dense_params *p)
{
    return 4 * scratch_words(f, 1, 0, p->in_pixels * TB_WORDS(p->in_c), p->out_c, 0, 0);
}

/* Output stage of `pixel` for channels [o0, o0 + n) from pop; skip = its taps that contribute nothing. */
static void finish(const tb_opt_out *s, const scratch_map *m, int32_t taps, int32_t in_c, int32_t pixel, int32_t o0,
                   int32_t n, const uint32_t *pop, int32_t skip, const int32_t *padded)
{
    if (s->out->kind == TB_OUT_BITS && skip == 0) {
        tb_opt_finish_fast(s, pixel, o0, n, pop);
        return;
    }
    if (skip != 0 && m->tap_words != NULL)
        pad_correction_words(m->tap_words, taps, padded, skip, o0, n, m->corr);
    else if (skip != 0)
        tb_opt_pad_correction(m->tap_pops, taps, padded, skip, o0, n, m->corr);
    tb_opt_finish_general(s, pixel, o0, n, pop, (taps - skip) * in_c, skip != 0 ? m->corr : NULL);
}

tb_status tb_opt_conv2d(const tb_opt_family *f, const tb_context *ctx, const tb_conv2d_params *params,
                        const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_opt_check_common(ctx, out, params->out_c, input, weights, output, tb_opt_conv2d_scratch(f, params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t taps = p->kernel_h * p->kernel_w, k_words = taps * TB_WORDS(p->in_c);
        const int32_t ww = f->weight_words(k_words), npix = p->out_h * p->out_w;
        const int32_t with_taps = conv_with_taps(p);
        /* a model smaller than one block of pixels runs column by column */
        const int32_t block = npix >= f->pixels ? f->pixels : 1;
        scratch_map m = map_scratch(f, ctx->buf, f->pixels, conv_cols(f, k_words), k_words, p->out_c, taps,
                                    with_taps);
        const uint32_t *xe = f->encode_columns != NULL || f->interleaved ? m.xe : m.cols;
        tb_opt_out s;
        TB_OPT_PLAN(rq);
        s.out = out;
        s.output = output;
        s.out_c = p->out_c;
        s.thresholds = m.T;
        s.rq = rq;
        s.acc_max = taps * p->in_c;
        if (out->kind == TB_OUT_BITS)
            tb_opt_pop_thresholds(out, p->out_c, taps * p->in_c, m.T);
        if (with_taps && f->flash_taps)
            m.tap_words = weights + p->out_c * ww;
        else if (with_taps)
            tb_opt_tap_pops(weights, p->out_c, taps, TB_WORDS(p->in_c), f->word, m.tap_pops);
        /* an int8 / int16 output runs one run of channels over the whole image at a time: the run's
         * requantization plan (rq) is then made once per call, not once per block of pixels and run */
        const int32_t run = out->kind == TB_OUT_BITS ? p->out_c : TB_OPT_RUN;
        for (int32_t r0 = 0; r0 < p->out_c; r0 += run) {
            const int32_t r1 = p->out_c - r0 < run ? p->out_c : r0 + run;
            for (int32_t pix0 = 0; pix0 < npix; pix0 += block) {
                /* the last block may run past the image: its extra columns are copies of the last pixel */
                int32_t skips = 0;
                for (int32_t j = 0; j < block; j++) {
                    const int32_t pix = pix0 + j < npix ? pix0 + j : npix - 1;
                    uint32_t *col = f->interleaved ? m.xe + j : m.cols + j * k_words;
                    const int32_t np = tb_opt_column(p, input, pix / p->out_w, pix % p->out_w, col,
                                                     f->interleaved ? block : 1,
                                                     with_taps ? m.padded + j * taps : NULL);
                    m.npad[j] = p->pad == TB_PAD_ZERO ? np : 0;
                    skips += m.npad[j];
                }
                if (f->encode_columns != NULL)
                    f->encode_columns(m.cols, block, k_words, m.xe);
                for (int32_t o0 = r0; o0 < r1; o0 += TB_OPT_RUN) {
                    const int32_t n = r1 - o0 < TB_OPT_RUN ? r1 - o0 : TB_OPT_RUN;
                    const uint32_t *w = weights + o0 * ww;
                    if (out->kind == TB_OUT_BITS && skips == 0) {
                        if (block == 1 && f->bits1 != NULL) {
                            tb_opt_store_bits(&s, pix0, o0, n, f->bits1(xe, w, k_words, n, m.T + o0));
                            continue;
                        }
                        if (block > 1 && f->lt_block != NULL) {
                            f->lt_block(xe, w, k_words, n, m.T + o0, m.pop);
                            for (int32_t j = 0; j < block && pix0 + j < npix; j++)
                                tb_opt_store_bits(&s, pix0 + j, o0, n, ~m.pop[j]);
                            continue;
                        }
                    }
                    (block > 1 ? f->pops : f->pops1)(xe, w, k_words, n, m.pop);
                    for (int32_t j = 0; j < block && pix0 + j < npix; j++)
                        finish(&s, &m, taps, p->in_c, pix0 + j, o0, n, m.pop + j * TB_OPT_RUN, m.npad[j],
                               with_taps ? m.padded + j * taps : NULL);
                }
            }
        }
    }
    return TB_OK;
}

tb_status tb_opt_conv2d_begin(const tb_opt_family *f, const tb_context *ctx, const tb_conv2d_params *params,
                              const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                              const void *output, const uint32_t **T)
{
    (void)f; /* f, input, weights and output are only checked here */
    (void)input;
    (void)weights;
    (void)output;
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_opt_check_common(ctx, out, params->out_c, input, weights, output, tb_opt_conv2d_scratch(f, params)));
    *T = NULL;
    if (out->kind == TB_OUT_BITS) {
        uint32_t *t = (uint32_t *)ctx->buf; /* the start of the scratch: no other part is used */
        tb_opt_pop_thresholds(out, params->out_c, params->kernel_h * params->kernel_w * params->in_c, t);
        *T = t;
    }
    return TB_OK;
}

tb_status tb_opt_dense(const tb_opt_family *f, const tb_context *ctx, const tb_dense_params *params,
                       const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_opt_check_common(ctx, out, params->out_c, input, weights, output, tb_opt_dense_scratch(f, params)));
    {
        const int32_t k_words = params->in_pixels * TB_WORDS(params->in_c);
        const int32_t k_bits = params->in_pixels * params->in_c, ww = f->weight_words(k_words);
        const scratch_map m = map_scratch(f, ctx != NULL ? ctx->buf : NULL, 1, 0, k_words, params->out_c, 0, 0);
        const uint32_t *xe = input;
        tb_opt_out s;
        TB_OPT_PLAN(rq);
        s.out = out;
        s.output = output;
        s.out_c = params->out_c;
        s.thresholds = m.T;
        s.rq = rq;
        s.acc_max = k_bits;
        if (out->kind == TB_OUT_BITS)
            tb_opt_pop_thresholds(out, params->out_c, k_bits, m.T);
        if (f->encode_columns != NULL) {
            f->encode_columns(input, 1, k_words, m.xe);
            xe = m.xe;
        }
        for (int32_t o0 = 0; o0 < params->out_c; o0 += TB_OPT_RUN) {
            const int32_t n = params->out_c - o0 < TB_OPT_RUN ? params->out_c - o0 : TB_OPT_RUN;
            if (out->kind == TB_OUT_BITS && f->bits1 != NULL) {
                tb_opt_store_bits(&s, 0, o0, n, f->bits1(xe, weights + o0 * ww, k_words, n, m.T + o0));
                continue;
            }
            f->pops1(xe, weights + o0 * ww, k_words, n, m.pop);
            if (out->kind == TB_OUT_BITS)
                tb_opt_finish_fast(&s, 0, o0, n, m.pop);
            else
                tb_opt_finish_general(&s, 0, o0, n, m.pop, k_bits, NULL);
        }
    }
    return TB_OK;
}
