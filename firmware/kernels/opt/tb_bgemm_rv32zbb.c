/*
 * tb_bgemm_rv32zbb.c - binary conv2d/dense for RV32 cores with the Zbb extension (cpop).
 *
 * With a one-instruction popcount the cost per word is xor + cpop + add, so the kernel is a register-
 * blocked binary GEMM (CMSIS-NN / LCE style): 4 output pixels x 4 output channels of accumulators live in
 * registers, and each loaded word is used 4 times. The activations of a block of pixels are gathered straight
 * into interleaved columns xe[k][p]; the weights are stored channel-interleaved w[o / 4][k][o % 4], the last
 * block padded with zero channels (same words per channel as the reference, plus at most 3 channels).
 * Dense layers (one column) use the same weights one column at a time. With a binary output the compare with
 * the popcount-domain thresholds happens in the block, so the 16 sums never leave the registers.
 *
 * cpop comes from __builtin_popcount, which GCC compiles to `cpop` with -march=..._zbb; without Zbb (the
 * host tests, other cores) it is the compiler's portable popcount, so the same C is tested everywhere.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#define NP 4 /* pixels per block */
#define NC 4 /* channels per block */

#if defined(__GNUC__)
#define cpop(x) ((uint32_t)__builtin_popcount(x))
#else
#define cpop(x) ((uint32_t)tb_popcount32(x))
#endif

/* a<p><c> += pop(x<p> ^ w<c>) for the 4 x 4 block, written out so that the 16 sums stay in registers */
#define ROW(p)                                                                                                \
    a##p##0 += cpop(x##p ^ w0);                                                                             \
    a##p##1 += cpop(x##p ^ w1);                                                                             \
    a##p##2 += cpop(x##p ^ w2);                                                                             \
    a##p##3 += cpop(x##p ^ w3)
#define STEP(x, wk)                                                                                           \
    do {                                                                                                      \
        const uint32_t x0 = (x)[0], x1 = (x)[1], x2 = (x)[2], x3 = (x)[3];                                   \
        const uint32_t w0 = (wk)[0], w1 = (wk)[1], w2 = (wk)[2], w3 = (wk)[3];                               \
        ROW(0);                                                                                               \
        ROW(1);                                                                                               \
        ROW(2);                                                                                               \
        ROW(3);                                                                                               \
    } while (0)
#define DECLARE_SUMS                                                                                          \
    uint32_t a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;                         \
    uint32_t a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0
/* the K loop (unrolling it lets GCC reassociate the sums and spill them) */
#define K_LOOP                                                                                                \
    {                                                                                                         \
        const uint32_t *x = xe, *wk = w, *end = w + NC * k_words;                                             \
        for (; wk != end; x += NP, wk += NC)                                                                  \
            STEP(x, wk);                                                                                      \
    }
/* bits of pixel p for channels c0..c0+3: (a < T), placed at c0 */
#define LT4(p) (((uint32_t)(a##p##0 < t0) | (uint32_t)(a##p##1 < t1) << 1 | (uint32_t)(a##p##2 < t2) << 2 |     \
                 (uint32_t)(a##p##3 < t3) << 3) << c0)

/* 4 interleaved columns x 4 channels, for the runs of 4 channels in [0, n). GCC's pre-allocation scheduler
 * would hoist all 16 XORs of a step ahead of their cpops and spill half the sums: it is off here. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
static void pops_block(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop)
{
    for (int32_t c0 = 0; c0 < n; c0 += NC, w += NC * k_words) {
        DECLARE_SUMS;
        K_LOOP
        pop[c0] = a00, pop[c0 + 1] = a01, pop[c0 + 2] = a02, pop[c0 + 3] = a03;
        pop[TB_OPT_RUN + c0] = a10, pop[TB_OPT_RUN + c0 + 1] = a11, pop[TB_OPT_RUN + c0 + 2] = a12;
        pop[TB_OPT_RUN + c0 + 3] = a13;
        pop[2 * TB_OPT_RUN + c0] = a20, pop[2 * TB_OPT_RUN + c0 + 1] = a21, pop[2 * TB_OPT_RUN + c0 + 2] = a22;
        pop[2 * TB_OPT_RUN + c0 + 3] = a23;
        pop[3 * TB_OPT_RUN + c0] = a30, pop[3 * TB_OPT_RUN + c0 + 1] = a31, pop[3 * TB_OPT_RUN + c0 + 2] = a32;
        pop[3 * TB_OPT_RUN + c0 + 3] = a33;
    }
}

/* The same block with the output stage folded in: bits[p] bit i = (pop < T[i]). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
static void lt_block(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, const uint32_t *T,
                     uint32_t *bits)
{
    bits[0] = bits[1] = bits[2] = bits[3] = 0u;
    for (int32_t c0 = 0; c0 < n; c0 += NC, w += NC * k_words) {
        DECLARE_SUMS;
        K_LOOP
        {
            const uint32_t t0 = T[c0], t1 = c0 + 1 < n ? T[c0 + 1] : 0u, t2 = c0 + 2 < n ? T[c0 + 2] : 0u,
                           t3 = c0 + 3 < n ? T[c0 + 3] : 0u;
            bits[0] |= LT4(0);
            bits[1] |= LT4(1);
            bits[2] |= LT4(2);
            bits[3] |= LT4(3);
        }
    }
}

/* One column x 4 channels. */
static void pops_one(const uint32_t *x, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop)
{
    for (int32_t c0 = 0; c0 < n; c0 += NC, w += NC * k_words) {
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const uint32_t *wk = w;
        for (int32_t k = 0; k < k_words; k++, wk += NC) {
            const uint32_t xv = x[k];
            a0 += cpop(xv ^ wk[0]);
            a1 += cpop(xv ^ wk[1]);
            a2 += cpop(xv ^ wk[2]);
            a3 += cpop(xv ^ wk[3]);
        }
        pop[c0] = a0;
        pop[c0 + 1] = a1;
        pop[c0 + 2] = a2;
        pop[c0 + 3] = a3;
    }
}

/* ------------------------------------------------------------------------------------ encoding --- */

int32_t tb_rv32zbb_encoded_words(int32_t out_c, int32_t k_words)
{
    return (out_c + NC - 1) / NC * NC * k_words;
}

void tb_rv32zbb_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded)
{
    const int32_t padded = (out_c + NC - 1) / NC * NC;
    for (int32_t o = 0; o < padded; o++)
        for (int32_t k = 0; k < k_words; k++)
            encoded[(o / NC) * NC * k_words + k * NC + o % NC] = o < out_c ? weights[o * k_words + k] : 0u;
}

static int32_t weight_words(int32_t k_words)
{
    return k_words;
}

static uint32_t word(const uint32_t *weights, int32_t k_words, int32_t o, int32_t k)
{
    return weights[(o / NC) * NC * k_words + k * NC + o % NC];
}

static int32_t column_words(int32_t k_words, int32_t columns)
{
    return columns * k_words;
}

/* ------------------------------------------------------------------------------------- kernels --- */

static const tb_opt_family family = {.pixels = NP, .weight_words = weight_words, .column_words = column_words,
                                     .interleaved = 1, .pops = pops_block, .lt_block = lt_block, .pops1 = pops_one,
                                     .word = word};

tb_status tb_rv32zbb_conv2d_begin(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                  const uint32_t *input, const uint32_t *weights, const void *output,
                                  const uint32_t **T)
{
    return tb_opt_conv2d_begin(&family, ctx, params, out, input, weights, output, T);
}

int32_t tb_conv2d_b1b1_rv32zbb_get_buffer_size(const tb_conv2d_params *params)
{
    return tb_opt_conv2d_scratch(&family, params);
}

tb_status tb_conv2d_b1b1_rv32zbb(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                 const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_conv2d(&family, ctx, params, out, input, weights, output);
}

int32_t tb_dense_b1b1_rv32zbb_get_buffer_size(const tb_dense_params *params)
{
    return tb_opt_dense_scratch(&family, params);
}

tb_status tb_dense_b1b1_rv32zbb(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_dense(&family, ctx, params, out, input, weights, output);
}
