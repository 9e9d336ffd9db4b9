/*
 * tb_first_ss.c - int8 first layers with binary weights by subset sums (tb_conv2d_s8b1_ss, tb_dense_s8b1_ss).
 *
 * The contract is that of tb_conv2d_s8b1 / tb_dense_s8b1 (tb_kernels.h), bit for bit, with the weights
 * encoded by tb_ss_encode_weights. Portable C99 (plain ADD, no DSP instruction), fast on any 32-bit core.
 *
 * With the column x[k] (x - input_zero_point, zero on padded taps) and weight bits b[k] (bit 1 = -1),
 *   acc = sum_k (1 - 2 b[k]) x[k].
 * The K taps are cut into groups of 4; for each group g a table of the 16 signed sums
 *   T_g[i] = sum_{j < 4} (bit j of i ? -x[4g + j] : +x[4g + j])
 * is built once per column (11 additions, 16 stores) and shared by every output channel, so that each
 * output channel costs one table lookup and one addition per 4 taps: acc = sum_g T_g[nibble_g(o)].
 *
 * In the code the tables hold the plain subset sums U_g[i] = sum_{bit j of i} x[4g + j] (U_g[0] = 0),
 * the kernel accumulates u = sum_g U_g[nibble_g] and emits acc = S - 2 u with S = sum_k x[k]: the same
 * value, since acc = S - 2 * (sum of the taps whose weight is -1).
 *
 * The weights (tb_ss_encode_weights) are one byte per group, (g % 16) << 4 | nibble, four per word: the
 * byte indexes the 256 entries of the 16 tables of its block of 16 groups directly; padding bytes are 0
 * and select U_0[0] = 0.
 *
 * Two output pixels per pass (conv2d): when |acc| < 2^15 for every possible input (K * max|x - zp| <=
 * 32767), each table entry holds the subset sums of two pixels' columns in one word, u0 + 65536 * u1
 * (mod 2^32): one addition accumulates both pixels, and the two halves are separated exactly at the end
 * (each lies in [-32767, 32767]). Otherwise one pixel per pass with int32 entries.
 *
 * Scratch (tb_conv2d_s8b1_ss_get_buffer_size): two int16 columns padded to whole groups, 16 table words per
 * group of a block (at most 256), one accumulator word per output channel.
 *
 * Bits outputs have their own fused stage (ss_pair_bits, ss_pair_out, ss_emit); int32 and requantized int8
 * outputs (TB_OUT_S32, TB_OUT_S8) go through the reference one, tb_store, accumulator by accumulator.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_kernels_internal.h"

#define SS_GROUP 4    /* taps per table */
#define SS_BLOCK 16   /* tables per block (one index byte: 4 bits of group, 4 bits of subset) */

static int32_t ss_groups(int32_t k_len)
{
    return (k_len + SS_GROUP - 1) / SS_GROUP;
}

int32_t tb_ss_encoded_words(int32_t out_c, int32_t k_len)
{
    return out_c * TB_WORDS(8 * ss_groups(k_len));
}

void tb_ss_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_len, uint32_t *encoded)
{
    const int32_t groups = ss_groups(k_len), row = TB_WORDS(8 * groups), in_row = TB_WORDS(k_len);
    for (int32_t o = 0; o < out_c; o++) {
        const uint32_t *w = weights + o * in_row;
        uint32_t *e = encoded + o * row;
        for (int32_t i = 0; i < row; i++)
            e[i] = 0u;
        for (int32_t g = 0; g < groups; g++) {
            const uint32_t nibble = (w[g / 8] >> (4 * (g % 8))) & 0xFu;
            e[g / 4] |= ((uint32_t)(g % SS_BLOCK) << 4 | nibble) << (8 * (g % 4));
        }
    }
}

/* Scratch words: two int16 columns of whole groups, the tables of one block, two words per output channel. */
static int32_t ss_scratch_words(int32_t k_len, int32_t out_c)
{
    const int32_t groups = ss_groups(k_len);
    const int32_t tables = groups < SS_BLOCK ? groups : SS_BLOCK;
    return groups * SS_GROUP + 16 * tables + 2 * out_c;
}

/* The 16 subset sums of each group of a block: t[16 j + i] = sum over bits of i of v(4 (g0 + j) + bit). */
static void ss_tables(const int16_t *c0, const int16_t *c1, int32_t g0, int32_t n, uint32_t *t)
{
    for (int32_t j = 0; j < n; j++, t += 16) {
        const int32_t k = 4 * (g0 + j);
        uint32_t a = (uint32_t)(int32_t)c0[k], b = (uint32_t)(int32_t)c0[k + 1];
        uint32_t c = (uint32_t)(int32_t)c0[k + 2], d = (uint32_t)(int32_t)c0[k + 3];
        if (c1 != NULL) {
            a += (uint32_t)(int32_t)c1[k] << 16;
            b += (uint32_t)(int32_t)c1[k + 1] << 16;
            c += (uint32_t)(int32_t)c1[k + 2] << 16;
            d += (uint32_t)(int32_t)c1[k + 3] << 16;
        }
        t[0] = 0u;
        t[1] = a;
        t[2] = b;
        t[3] = a + b;
        t[4] = c;
        t[5] = c + a;
        t[6] = c + b;
        t[7] = t[3] + c;
        for (int32_t i = 0; i < 8; i++)
            t[8 + i] = t[i] + d;
    }
}

/*
 * The lookups of one output channel in the tables of a block: `full` whole index words, then `rem` (0..3)
 * index bytes of the next word.
 */
static inline uint32_t ss_dot(const uint32_t *t, const uint32_t *w, int32_t full, int32_t rem)
{
    uint32_t s = 0u;
    for (int32_t i = 0; i < full; i++) {
        const uint32_t x = w[i];
        s += t[x & 0xFFu] + t[(x >> 8) & 0xFFu] + t[(x >> 16) & 0xFFu] + t[x >> 24];
    }
    if (rem) {
        const uint32_t x = w[full];
        s += t[x & 0xFFu];
        if (rem > 1)
            s += t[(x >> 8) & 0xFFu];
        if (rem > 2)
            s += t[(x >> 16) & 0xFFu];
    }
    return s;
}

/*
 * Every block of the columns c0 (and c1) but the last: tables, then u[o] += lookups of channel o (mod 2^32);
 * then the tables of the last block. Returns the first group of the last block; *total receives the
 * column sum S (the sums of the groups' full subsets).
 */
static int32_t ss_blocks(const int16_t *c0, const int16_t *c1, int32_t groups, int32_t out_c,
                         const uint32_t *weights, uint32_t *t, uint32_t *u, uint32_t *total)
{
    const int32_t row = TB_WORDS(8 * groups);
    uint32_t sum = 0u;
    int32_t g0 = 0;
    for (; groups - g0 > SS_BLOCK; g0 += SS_BLOCK) {
        const uint32_t *w = weights + g0 / 4;
        ss_tables(c0, c1, g0, SS_BLOCK, t);
        for (int32_t j = 0; j < SS_BLOCK; j++)
            sum += t[16 * j + 15];
        for (int32_t o = 0; o < out_c; o++, w += row)
            u[o] = (g0 ? u[o] : 0u) + ss_dot(t, w, SS_BLOCK / 4, 0);
    }
    ss_tables(c0, c1, g0, groups - g0, t);
    for (int32_t j = 0; j < groups - g0; j++)
        sum += t[16 * j + 15];
    *total = sum;
    return g0;
}

/* The signed value of the low 16 bits of v. */
static int32_t ss_low16(uint32_t v)
{
    const int32_t lo = (int32_t)(v & 0xFFFFu);
    return lo >= 0x8000 ? lo - 0x10000 : lo;
}

/*
 * The output stage of one pixel from its accumulators acc[o]: tb_store for int32 and int8 outputs, its
 * semantics one word at a time for bits.
 */
static void ss_emit(const tb_out_params *out, void *output, int32_t pixel, int32_t out_c, const int32_t *acc)
{
    if (out->kind != TB_OUT_BITS) {
        uint32_t word = 0u; /* not used by the int32 and int8 stages */
        for (int32_t o = 0; o < out_c; o++)
            tb_store(out, output, pixel, out_c, o, acc[o], &word);
        return;
    }
    {
        uint32_t *y = (uint32_t *)output + pixel * TB_WORDS(out_c);
        for (int32_t o0 = 0; o0 < out_c; o0 += TB_WORD_BITS) {
            const int32_t n = out_c - o0 < TB_WORD_BITS ? out_c - o0 : TB_WORD_BITS;
            const uint32_t f = out->flip[o0 / TB_WORD_BITS];
            const int32_t *tau = out->thresholds + o0;
            uint32_t word = 0u;
            for (int32_t j = 0; j < n; j++) {
                const int32_t a = ((f >> j) & 1u) ? ~acc[o0 + j] : acc[o0 + j];
                word |= (uint32_t)(a < tau[j]) << j;
            }
            y[o0 / TB_WORD_BITS] = word;
        }
    }
}

/* 1 when every accumulator of a layer with k_len taps and this zero point fits 16 signed bits. */
static int ss_fits16(int32_t k_len, int32_t zp)
{
    const int32_t lo = -128 - zp < 0 ? zp + 128 : -128 - zp, hi = 127 - zp < 0 ? zp - 127 : 127 - zp;
    const int32_t xmax = lo > hi ? lo : hi;
    return k_len <= 32767 / (xmax > 0 ? xmax : 1);
}

int32_t tb_conv2d_s8b1_ss_get_buffer_size(const tb_conv2d_params *params)
{
    return 4 * ss_scratch_words(params->kernel_h * params->kernel_w * params->in_c, params->out_c);
}

/*
 * Two pixels (px, and px + 1 when `two`): the last block's lookups of every channel, acc = S - 2 u split
 * into its two halves and the output stage, fused. For a bits output, tb2[o] is the threshold with the
 * flip folded in (bit = (acc < tau2) XOR flip, since ~acc < tau <=> !(acc < -tau)), clamped to
 * [-32768, 32768] and biased by 32768 (ss_pair_thresholds): exact, as |acc| < 2^15 here.
 */
static void ss_pair_out(const uint32_t *t, const uint32_t *weights, int32_t groups, int32_t g0,
                        const uint32_t *u, uint32_t total, const tb_out_params *out, const int32_t *tb2,
                        int32_t out_c, void *output, int32_t px, int two)
{
    const int32_t row = TB_WORDS(8 * groups), full = (groups - g0) / 4, rem = (groups - g0) % 4;
    const uint32_t *w = weights + g0 / 4;
    if (out->kind != TB_OUT_BITS) { /* int32 or int8: the reference output stage, per channel */
        uint32_t word = 0u;         /* not used by these stages */
        for (int32_t o = 0; o < out_c; o++, w += row) {
            const uint32_t v = total - 2u * ((g0 ? u[o] : 0u) + ss_dot(t, w, full, rem));
            const int32_t lo = ss_low16(v);
            tb_store(out, output, px, out_c, o, lo, &word);
            if (two)
                tb_store(out, output, px + 1, out_c, o, ss_low16((v - (uint32_t)lo) >> 16), &word);
        }
        return;
    }
    {
        const int32_t wo = TB_WORDS(out_c);
        uint32_t *y0 = (uint32_t *)output + px * wo, *y1 = y0 + wo;
        for (int32_t o0 = 0; o0 < out_c; o0 += TB_WORD_BITS) {
            const int32_t n = out_c - o0 < TB_WORD_BITS ? out_c - o0 : TB_WORD_BITS;
            uint32_t b0 = 0u, b1 = 0u;
            for (int32_t j = 0; j < n; j++, w += row) {
                const int32_t o = o0 + j;
                const uint32_t v = total - 2u * ((g0 ? u[o] : 0u) + ss_dot(t, w, full, rem));
                const int32_t lo = ss_low16(v), hi = ss_low16((v - (uint32_t)lo) >> 16);
                b0 |= (uint32_t)(lo + 32768 < tb2[o]) << j;
                b1 |= (uint32_t)(hi + 32768 < tb2[o]) << j;
            }
            y0[o0 / TB_WORD_BITS] = b0 ^ out->flip[o0 / TB_WORD_BITS];
            if (two)
                y1[o0 / TB_WORD_BITS] = b1 ^ out->flip[o0 / TB_WORD_BITS];
        }
    }
}

/* One pixel (accumulators that may need 32 bits): the last block's lookups, acc = S - 2 u, the output stage. */
static void ss_single_out(const uint32_t *t, const uint32_t *weights, int32_t groups, int32_t g0,
                          const uint32_t *u, uint32_t total, const tb_out_params *out, int32_t *acc,
                          int32_t out_c, void *output, int32_t px)
{
    const int32_t row = TB_WORDS(8 * groups), full = (groups - g0) / 4, rem = (groups - g0) % 4;
    const uint32_t *w = weights + g0 / 4;
    for (int32_t o = 0; o < out_c; o++, w += row)
        acc[o] = (int32_t)(total - 2u * ((g0 ? u[o] : 0u) + ss_dot(t, w, full, rem)));
    ss_emit(out, output, px, out_c, acc);
}

/* The four lookups of one index word. */
static inline uint32_t ss_word(const uint32_t *t, uint32_t x)
{
    return t[x & 0xFFu] + t[(x >> 8) & 0xFFu] + t[(x >> 16) & 0xFFu] + t[x >> 24];
}

/*
 * The common case, fused and unrolled: one block (at most 16 groups), two pixels, a bits output, nw index
 * words per channel (padding bytes select U_0[0] = 0). With S' = S + 0x80008000, v = S' - 2 u holds
 * acc0 + 32768 in its low half and acc1 + 32768 in its high half, both in [1, 65535]; bit = (acc + 32768 <
 * tb2) is the sign of the difference, shifted in from the top (channel j ends at bit j).
 */
static inline void ss_pair_bits(const uint32_t *t, const uint32_t *w, int32_t row, const int32_t *tb2,
                                const uint32_t *flip, uint32_t total, int32_t out_c, uint32_t *y0, int two,
                                const int32_t nw)
{
    const uint32_t s_biased = total + 0x80008000u;
    const int32_t wo = TB_WORDS(out_c);
    for (int32_t o0 = 0; o0 < out_c; o0 += TB_WORD_BITS) {
        const int32_t n = out_c - o0 < TB_WORD_BITS ? out_c - o0 : TB_WORD_BITS;
        uint32_t b0 = 0u, b1 = 0u;
        for (int32_t j = 0; j < n; j++, w += row) {
            uint32_t u = ss_word(t, w[0]); /* unrolled: nw is a constant here */
            if (nw > 1)
                u += ss_word(t, w[1]);
            if (nw > 2)
                u += ss_word(t, w[2]);
            if (nw > 3)
                u += ss_word(t, w[3]);
            {
                const uint32_t v = s_biased - 2u * u, tj = (uint32_t)tb2[o0 + j];
                b0 = (b0 >> 1) | (((v & 0xFFFFu) - tj) & 0x80000000u);
                b1 = (b1 >> 1) | (((v >> 16) - tj) & 0x80000000u);
            }
        }
        y0[o0 / TB_WORD_BITS] = (b0 >> (TB_WORD_BITS - n)) ^ flip[o0 / TB_WORD_BITS];
        if (two)
            y0[wo + o0 / TB_WORD_BITS] = (b1 >> (TB_WORD_BITS - n)) ^ flip[o0 / TB_WORD_BITS];
    }
}

tb_status tb_conv2d_s8b1_ss(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                            const int8_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
    TB_CHECK(tb_check_conv2d_s8(ctx, params, tb_conv2d_s8b1_ss_get_buffer_size(params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t k_len = p->kernel_h * p->kernel_w * p->in_c, groups = ss_groups(k_len);
        const int32_t padded = groups * SS_GROUP, out_c = p->out_c, pixels = p->out_h * p->out_w;
        const int32_t tables = groups < SS_BLOCK ? groups : SS_BLOCK;
        const int pair = ss_fits16(k_len, p->input_zero_point);
        int16_t *c0 = (int16_t *)ctx->buf, *c1 = c0 + padded;
        uint32_t *t = (uint32_t *)ctx->buf + padded, *u = t + 16 * tables;
        int32_t *acc = (int32_t *)(u + out_c); /* one pixel: the accumulators; two: the thresholds tau2 */
        for (int32_t k = k_len; k < padded; k++)
            c0[k] = 0, c1[k] = 0;
        const int fast = pair && out->kind == TB_OUT_BITS && groups <= SS_BLOCK;
        if (pair && out->kind == TB_OUT_BITS)
            for (int32_t o = 0; o < out_c; o++) { /* tb2: see ss_pair_out */
                const int32_t tau = out->thresholds[o];
                const int32_t c = tau < -32768 ? -32768 : tau > 32768 ? 32768 : tau;
                acc[o] = (tb_bit(out->flip, o) ? -c : c) + 32768;
            }
        for (int32_t px = 0; px < pixels; px += 1 + pair) {
            const int two = pair && px + 1 < pixels;
            uint32_t total;
            int32_t g0;
            tb_im2col_s8(p, input, px / p->out_w, px % p->out_w, c0);
            if (two)
                tb_im2col_s8(p, input, (px + 1) / p->out_w, (px + 1) % p->out_w, c1);
            g0 = ss_blocks(c0, two ? c1 : NULL, groups, out_c, weights, t, u, &total);
            if (fast) {
                uint32_t *y = (uint32_t *)output + px * TB_WORDS(out_c);
                const int32_t row = TB_WORDS(8 * groups);
                switch (row) { /* the word count as a constant: the lookups unrolled */
                case 1: ss_pair_bits(t, weights, row, acc, out->flip, total, out_c, y, two, 1); break;
                case 2: ss_pair_bits(t, weights, row, acc, out->flip, total, out_c, y, two, 2); break;
                case 3: ss_pair_bits(t, weights, row, acc, out->flip, total, out_c, y, two, 3); break;
                default: ss_pair_bits(t, weights, row, acc, out->flip, total, out_c, y, two, 4); break;
                }
            } else if (pair)
                ss_pair_out(t, weights, groups, g0, u, total, out, acc, out_c, output, px, two);
            else
                ss_single_out(t, weights, groups, g0, u, total, out, acc, out_c, output, px);
        }
    }
    return TB_OK;
}

int32_t tb_dense_s8b1_ss_get_buffer_size(const tb_dense_params *params)
{
    return 4 * ss_scratch_words(params->in_pixels * params->in_c, params->out_c);
}

tb_status tb_dense_s8b1_ss(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                           const int8_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
    TB_CHECK(params->input_zero_point < -32640 || params->input_zero_point > 32639 ? TB_ERR_ARG : TB_OK);
    TB_CHECK(ctx == NULL || ctx->buf == NULL || ctx->size < tb_dense_s8b1_ss_get_buffer_size(params)
                 ? TB_ERR_SCRATCH : (tb_aligned4(ctx->buf) ? TB_OK : TB_ERR_ALIGN));
    {
        const int32_t k_len = params->in_pixels * params->in_c, groups = ss_groups(k_len), padded = groups * SS_GROUP;
        const int32_t tables = groups < SS_BLOCK ? groups : SS_BLOCK, zp = params->input_zero_point;
        int16_t *c0 = (int16_t *)ctx->buf;
        uint32_t *t = (uint32_t *)ctx->buf + padded, *u = t + 16 * tables;
        int32_t *acc = (int32_t *)(u + params->out_c);
        for (int32_t k = 0; k < padded; k++)
            c0[k] = (int16_t)(k < k_len ? input[k] - zp : 0);
        {
            uint32_t total;
            const int32_t g0 = ss_blocks(c0, NULL, groups, params->out_c, weights, t, u, &total);
            ss_single_out(t, weights, groups, g0, u, total, out, acc, params->out_c, output, 0);
        }
    }
    return TB_OK;
}
