/*
 * tb_tree.c - carry-save tree kernels (armv7m variant): the encoding, the portable C kernels and the
 * conv2d/dense drivers of the kernels tinybnn renders for one dot-product length K (model_kernels.c and
 * model_kernels_armv7m.S; the generator and the derivation are in tinybnn/backend/armv7m_tree.py).
 *
 * For the K product words p = x ^ w of one output, pop(p_0) + ... + pop(p_K-1) is reduced by a tree of full
 * adders, level by level: the items of a level are taken three at a time, a + b + c = (a ^ b ^ c) + 2 maj(a,
 * b, c), the sums a ^ b ^ c form the next level (with what was left over), and two items left at the top make
 * a binary node, a + b = (a ^ b) + 2 (a & b). Every item is linear in x and w, so each node is stored
 * pre-XORed, identically for the weights (offline) and for a column (here, at run time): (a, a ^ b, a ^ c)
 * for a ternary node, (a, a ^ b) for the binary one. Then
 *     pop(x ^ w) = pop(S) + 2 * sum over the nodes of pop(carry)
 * with carry = p0 ^ (p1 & p2) (ternary) or p0 & ~p1 (binary) of the node's words p = xe ^ we, and S the
 * root: p0 ^ p1 ^ p2 (or p1) of the last node. tb_tree_encode is the specification of the encoding.
 *
 * The rendered kernels of one K read, per output channel, tb_tree_words(K) encoded weight words followed,
 * for a layer with a binary output, by the channel's popcount-domain threshold (tb_opt_internal.h). A conv
 * with zero padding and at least one pad has, after its channels, the popcounts of every tap of every
 * channel (tb_opt_encode_tap_pops): weight-only constants, computed offline instead of at every call.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

int32_t tb_tree_words(int32_t k_words)
{
    int32_t n = k_words, words = 0;
    while (n > 1) {
        const int32_t nodes = n / 3, left = n - 3 * nodes;
        words += 3 * nodes;
        if (left == 2 && nodes == 0) {
            words += 2;
            n = 1;
        } else {
            n = nodes + left;
        }
    }
    return words;
}

void tb_tree_encode(uint32_t *v, int32_t k_words, uint32_t *e)
{
    int32_t n = k_words;
    while (n > 1) {
        int32_t m = 0, i = 0;
        for (; n - i >= 3; i += 3) { /* a ternary node; its sum overwrites an item already read */
            const uint32_t a = v[i], b = v[i + 1], c = v[i + 2];
            *e++ = a;
            *e++ = a ^ b;
            *e++ = a ^ c;
            v[m++] = a ^ b ^ c;
        }
        if (n - i == 2 && m == 0) { /* two items at the top: the binary node */
            const uint32_t a = v[i], b = v[i + 1];
            *e++ = a;
            *e++ = a ^ b;
            v[m++] = a ^ b;
        } else {
            for (; i < n; i++)
                v[m++] = v[i];
        }
        n = m;
    }
}

void tb_tree_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, const uint32_t *T,
                            uint32_t *encoded, uint32_t *tmp)
{
    const int32_t ww = tb_tree_words(k_words), stride = ww + (T != NULL ? 1 : 0);
    for (int32_t o = 0; o < out_c; o++) {
        for (int32_t i = 0; i < k_words; i++)
            tmp[i] = weights[o * k_words + i];
        tb_tree_encode(tmp, k_words, encoded + o * stride);
        if (T != NULL)
            encoded[o * stride + ww] = T[o];
    }
}

/* pop(x ^ w) of one channel from the encodings (the arithmetic of the rendered kernels, with popcounts). */
static uint32_t tree_pop(const uint32_t *xe, const uint32_t *we, int32_t k_words)
{
    uint32_t carries = 0u, s = 0u;
    int32_t n = k_words, off = 0;
    while (n > 1) {
        const int32_t nodes = n / 3, left = n - 3 * nodes;
        for (int32_t j = 0; j < nodes; j++, off += 3) {
            const uint32_t p0 = xe[off] ^ we[off], p1 = xe[off + 1] ^ we[off + 1], p2 = xe[off + 2] ^ we[off + 2];
            carries += (uint32_t)tb_popcount32(p0 ^ (p1 & p2));
            s = p0 ^ p1 ^ p2;
        }
        if (left == 2 && nodes == 0) {
            const uint32_t p0 = xe[off] ^ we[off], p1 = xe[off + 1] ^ we[off + 1];
            carries += (uint32_t)tb_popcount32(p0 & ~p1);
            s = p1;
            off += 2;
            n = 1;
        } else {
            n = nodes + left;
        }
    }
    return (uint32_t)tb_popcount32(s) + 2u * carries;
}

void tb_tree_bits_c(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t out_c, uint32_t *q,
                    const uint32_t *flip)
{
    const int32_t stride = tb_tree_words(k_words) + 1;
    for (int32_t o0 = 0, j = 0; o0 < out_c; o0 += TB_WORD_BITS, j++) {
        const int32_t n = out_c - o0 < TB_WORD_BITS ? out_c - o0 : TB_WORD_BITS;
        uint32_t word = 0u;
        for (int32_t i = n - 1; i >= 0; i--) {
            const uint32_t *wo = w + (o0 + i) * stride;
            word = (word << 1) | (uint32_t)(tree_pop(xe, wo, k_words) >= wo[stride - 1]);
        }
        q[j] = (word ^ flip[j]) & (n == TB_WORD_BITS ? 0xFFFFFFFFu : ((uint32_t)1u << n) - 1u);
    }
}

void tb_tree_pops_c(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t stride, int32_t n, uint32_t *pop)
{
    for (int32_t o = 0; o < n; o++)
        pop[o] = tree_pop(xe, w + o * stride, k_words);
}

/* ------------------------------------------------------------------------------------- drivers --- */

/*
 * TB_TREE_PORTABLE: the drivers run the portable kernels and tb_tree_encode for a kernel's NULL functions.
 * On Thumb-2 the rendered kernels always have their assembly, so by default the fallback is not linked in
 * there (it would cost flash for nothing) and a NULL function is refused (TB_ERR_ARG).
 */
#ifndef TB_TREE_PORTABLE
#if defined(__thumb2__)
#define TB_TREE_PORTABLE 0
#else
#define TB_TREE_PORTABLE 1
#endif
#endif

/* Weight words per output channel of a kernel. */
static int32_t stride_of(const tb_tree_kernel *kern)
{
    return tb_tree_words(kern->k_words) + (kern->thresholds ? 1 : 0);
}

/* The kernel's functions, or the portable ones where it has none. */
static void run_bits(const tb_tree_kernel *kern, const uint32_t *xe, const uint32_t *w, int32_t out_c, uint32_t *q,
                     const uint32_t *flip)
{
#if TB_TREE_PORTABLE
    if (kern->bits == NULL) {
        tb_tree_bits_c(xe, w, kern->k_words, out_c, q, flip);
        return;
    }
#endif
    kern->bits(xe, w, out_c, q, flip);
}

static void run_pops(const tb_tree_kernel *kern, const uint32_t *xe, const uint32_t *w, int32_t n, uint32_t *pop)
{
#if TB_TREE_PORTABLE
    if (kern->pops == NULL) {
        tb_tree_pops_c(xe, w, kern->k_words, stride_of(kern), n, pop);
        return;
    }
#endif
    kern->pops(xe, w, n, pop);
}

/* The encoded column from a plain one (cols is overwritten). */
static void encode_column(const tb_tree_kernel *kern, uint32_t *cols, uint32_t *xe)
{
#if TB_TREE_PORTABLE
    if (kern->encode == NULL) {
        tb_tree_encode(cols, kern->k_words, xe);
        return;
    }
#endif
    kern->encode(cols, kern->run, xe);
}

/*
 * Zero-padded border pixels with a bits output. With zeros in the padded taps the popcount over every tap is
 * pop = pop_valid + corr[o], corr[o] = the popcounts of channel o's weights on the padded taps, so the output
 * bit is (pop >= Tv[o] + corr[o]) XOR flip, Tv the popcount-domain thresholds of the valid taps' kv bits
 * (tb_opt_pop_thresholds), corr[o] from the tap popcounts after the weights (tw). These thresholds depend on
 * the pixel's set of padded taps only: two such sets are kept (a row of the image alternates between its
 * left and its right border).
 */
typedef struct {
    int32_t *np;      /* [2] padded taps of the set in each slot (-1: empty) */
    int32_t *taps;    /* [2][taps] their indices */
    uint32_t *T;      /* [2][O] the thresholds */
    int32_t last;     /* the slot used last */
} border_cache;

static const uint32_t *border_thresholds(border_cache *bc, const tb_out_params *out, int32_t out_c, int32_t taps,
                                         int32_t in_c, const uint32_t *tw, const int32_t *padded, int32_t np)
{
    int32_t slot;
    for (slot = 0; slot < 2; slot++) {
        int32_t same = bc->np[slot] == np;
        for (int32_t m = 0; same && m < np; m++)
            same = bc->taps[slot * taps + m] == padded[m];
        if (same) {
            bc->last = slot;
            return bc->T + slot * out_c;
        }
    }
    slot = 1 - bc->last;
    {
        uint32_t *T = bc->T + slot * out_c;
        tb_opt_pop_thresholds(out, out_c, (taps - np) * in_c, T);
        for (int32_t o = 0; o < out_c; o++) {
            uint32_t c = 0u;
            for (int32_t m = 0; m < np; m++)
                c += tb_opt_tap_pop(tw, o * taps + padded[m]);
            T[o] += c;
        }
        for (int32_t m = 0; m < np; m++)
            bc->taps[slot * taps + m] = padded[m];
        bc->np[slot] = np;
        bc->last = slot;
        return T;
    }
}

static void border_bits(const tb_tree_kernel *kern, const tb_out_params *out, const uint32_t *xe,
                        const uint32_t *weights, int32_t out_c, const uint32_t *T, uint32_t *pop, uint32_t *q)
{
    const int32_t stride = stride_of(kern);
    for (int32_t o0 = 0, j = 0; o0 < out_c; o0 += TB_OPT_RUN, j++, T += TB_OPT_RUN) {
        const int32_t n = out_c - o0 < TB_OPT_RUN ? out_c - o0 : TB_OPT_RUN;
        uint32_t word = 0u;
        run_pops(kern, xe, weights + o0 * stride, n, pop);
        for (int32_t i = n - 1; i >= 0; i--)
            word = (word << 1) | (uint32_t)(pop[i] >= T[i]);
        q[j] = (word ^ out->flip[j]) & (n == TB_OPT_RUN ? 0xFFFFFFFFu : ((uint32_t)1u << n) - 1u);
    }
}

/*
 * Scratch (32-bit words, in this order): cols [K] (the plain column), xe [tb_tree_words(K)], pop [32],
 * corr [32], and with zero padding and pads, padded [taps] and the border cache: np [2], taps [2 * taps],
 * T [2 * O].
 */
static int32_t conv_with_taps(const tb_conv2d_params *p)
{
    return p->pad == TB_PAD_ZERO && (p->pad_top | p->pad_left | p->pad_bottom | p->pad_right) != 0;
}

static int32_t scratch_words(int32_t k, int32_t out_c, int32_t taps, int32_t with_taps)
{
    int32_t n = k + tb_tree_words(k) + 2 * TB_OPT_RUN;
    if (with_taps)
        n += taps + 2 + 2 * taps + 2 * out_c;
    return n;
}

int32_t tb_tree_conv2d_get_buffer_size(const tb_conv2d_params *params)
{
    const int32_t taps = params->kernel_h * params->kernel_w;
    return 4 * scratch_words(taps * TB_WORDS(params->in_c), params->out_c, taps, conv_with_taps(params));
}

int32_t tb_tree_dense_get_buffer_size(const tb_dense_params *params)
{
    return 4 * scratch_words(params->in_pixels * TB_WORDS(params->in_c), params->out_c, 0, 0);
}

#if TB_KERNEL_CHECKS
static tb_status check_tree(const tb_tree_kernel *kern, const tb_context *ctx, const tb_out_params *out,
                            int32_t out_c, int32_t k, const uint32_t *input, const uint32_t *weights,
                            const void *output, int32_t scratch)
{
    const tb_status status = tb_opt_check_common(ctx, out, out_c, input, weights, output, scratch);
    if (status != TB_OK)
        return status;
    /* the kernel is built for one K; its weights carry thresholds exactly when the output is bits */
    if (kern == NULL || k != kern->k_words || k < 2 || k > TB_TREE_MAX_K ||
        (out->kind == TB_OUT_BITS) != (kern->thresholds != 0) ||
        (kern->encode != NULL && (kern->run < 1 || k % kern->run != 0)))
        return TB_ERR_ARG;
#if !TB_TREE_PORTABLE
    if (kern->pops == NULL || kern->encode == NULL || (kern->thresholds && kern->bits == NULL))
        return TB_ERR_ARG; /* no portable fallback in this build */
#endif
    return TB_OK;
}
#endif

tb_status tb_tree_conv2d(const tb_tree_kernel *kern, const tb_context *ctx, const tb_conv2d_params *params,
                         const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(check_tree(kern, ctx, out, params->out_c, params->kernel_h * params->kernel_w * TB_WORDS(params->in_c),
                        input, weights, output, tb_tree_conv2d_get_buffer_size(params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t taps = p->kernel_h * p->kernel_w, words = TB_WORDS(p->in_c), k = taps * words;
        const int32_t stride = stride_of(kern), with_taps = conv_with_taps(p);
        uint32_t *cols = (uint32_t *)ctx->buf, *xe = cols + k, *pop = xe + tb_tree_words(k);
        int32_t *corr = (int32_t *)(pop + TB_OPT_RUN), *padded = corr + TB_OPT_RUN;
        const uint32_t *tw = with_taps ? weights + p->out_c * stride : NULL; /* the tap popcounts */
        border_cache bc = {NULL, NULL, NULL, 1};
        tb_opt_out s;
        TB_OPT_PLAN(rq);
        s.out = out;
        s.output = output;
        s.out_c = p->out_c;
        s.thresholds = NULL;
        s.rq = rq;
        s.acc_max = p->kernel_h * p->kernel_w * p->in_c;
        if (with_taps) {
            bc.np = padded + taps;
            bc.taps = bc.np + 2;
            bc.T = (uint32_t *)(bc.taps + 2 * taps);
            bc.np[0] = bc.np[1] = -1;
            bc.last = 1;
        }
        /* windows inside the input are encoded where they are when the kernel has an encoder for rows of
         * KW * words contiguous words; the others are gathered (padded taps filled) first */
        const int32_t in_place = kern->encode != NULL && p->dilation_w == 1 && kern->run == p->kernel_w * words;
        const int32_t span_h = (p->kernel_h - 1) * p->dilation_h, span_w = p->kernel_w - 1;
        const int32_t row_words = p->in_w * words, out_words = TB_WORDS(p->out_c);
        /* an int8 / int16 output runs one run of channels over the whole image at a time: the run's
         * requantization plan (rq) is then made once per call, not once per pixel and run */
        const int32_t run = out->kind == TB_OUT_BITS ? p->out_c : TB_OPT_RUN;
        for (int32_t r0 = 0; r0 < p->out_c; r0 += run) {
            const int32_t r1 = p->out_c - r0 < run ? p->out_c : r0 + run;
            int32_t pix = 0;
            for (int32_t oy = 0; oy < p->out_h; oy++) {
                const int32_t iy0 = oy * p->stride_h - p->pad_top;
                const int32_t rows_inside = in_place && iy0 >= 0 && iy0 + span_h < p->in_h;
                for (int32_t ox = 0; ox < p->out_w; ox++, pix++) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_left;
                    int32_t np = 0;
                    if (rows_inside && ix0 >= 0 && ix0 + span_w < p->in_w) {
                        kern->encode(input + iy0 * row_words + ix0 * words, row_words * p->dilation_h, xe);
                    } else {
                        np = tb_opt_column(p, input, oy, ox, cols, 1, with_taps ? padded : NULL);
                        if (p->pad != TB_PAD_ZERO)
                            np = 0; /* +1 / -1 padding is data: nothing to correct */
                        encode_column(kern, cols, xe);
                    }
                    if (out->kind == TB_OUT_BITS) {
                        uint32_t *q = (uint32_t *)output + pix * out_words;
                        if (np == 0) /* the fast path: bits straight into the output */
                            run_bits(kern, xe, weights, p->out_c, q, out->flip);
                        else
                            border_bits(kern, out, xe, weights, p->out_c,
                                        border_thresholds(&bc, out, p->out_c, taps, p->in_c, tw, padded, np), pop, q);
                        continue;
                    }
                    for (int32_t o0 = r0; o0 < r1; o0 += TB_OPT_RUN) {
                        const int32_t n = r1 - o0 < TB_OPT_RUN ? r1 - o0 : TB_OPT_RUN;
                        run_pops(kern, xe, weights + o0 * stride, n, pop);
                        for (int32_t i = 0; np != 0 && i < n; i++) { /* the padded taps' popcounts */
                            int32_t c = 0;
                            for (int32_t m = 0; m < np; m++)
                                c += (int32_t)tb_opt_tap_pop(tw, (o0 + i) * taps + padded[m]);
                            corr[i] = c;
                        }
                        tb_opt_finish_general(&s, pix, o0, n, pop, (taps - np) * p->in_c, np != 0 ? corr : NULL);
                    }
                }
            }
        }
    }
    return TB_OK;
}

tb_status tb_tree_dense(const tb_tree_kernel *kern, const tb_context *ctx, const tb_dense_params *params,
                        const tb_out_params *out, const uint32_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(check_tree(kern, ctx, out, params->out_c, params->in_pixels * TB_WORDS(params->in_c), input, weights,
                        output, tb_tree_dense_get_buffer_size(params)));
    {
        const int32_t k = params->in_pixels * TB_WORDS(params->in_c), stride = stride_of(kern);
        uint32_t *cols = (uint32_t *)ctx->buf, *xe = cols + k, *pop = xe + tb_tree_words(k);
        tb_opt_out s;
        TB_OPT_PLAN(rq);
        s.out = out;
        s.output = output;
        s.out_c = params->out_c;
        s.thresholds = NULL;
        s.rq = rq;
        s.acc_max = params->in_pixels * params->in_c;
        for (int32_t i = 0; i < k; i++)
            cols[i] = input[i];
        encode_column(kern, cols, xe);
        if (out->kind == TB_OUT_BITS) {
            run_bits(kern, xe, weights, params->out_c, (uint32_t *)output, out->flip);
            return TB_OK;
        }
        for (int32_t o0 = 0; o0 < params->out_c; o0 += TB_OPT_RUN) {
            const int32_t n = params->out_c - o0 < TB_OPT_RUN ? params->out_c - o0 : TB_OPT_RUN;
            run_pops(kern, xe, weights + o0 * stride, n, pop);
            tb_opt_finish_general(&s, 0, o0, n, pop, params->in_pixels * params->in_c, NULL);
        }
    }
    return TB_OK;
}
