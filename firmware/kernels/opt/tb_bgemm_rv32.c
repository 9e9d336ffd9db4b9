/*
 * tb_bgemm_rv32.c - binary conv2d/dense for RV32 cores without a popcount instruction (RV32IMC, no Zbb:
 * the ESP32-C3 class).
 *
 * The counting is the carry-save scheme of tb_bgemm_armv7m.c (the derivation is there): product words in
 * blocks of nine, stored pre-encoded so that a full adder costs two operations after the XORs, each block
 * reduced to S + 2 K + 2 C2 + 4 C4 and counted with SWAR nibble sums. The encoding is that family's too,
 * word for word (13 words per 9, 4 per 3 left over, about +44% weight bytes): tb_rv32_encode_weights is the
 * specification and tinybnn/backend/kernels.py writes the same words for both families. What is RV32-specific is
 * the inner loop:
 *   - two output channels per pass: RV32 has no load-multiple, every load is an instruction, so each word
 *     of the (encoded) column is loaded once for two channels (the 31 registers hold both channels' block
 *     state, the SWAR masks and the pointers; only three column words are live at a time);
 *   - the per-byte sums of a block (<= 72) are widened to halfwords once per block and accumulated there;
 *     the two halfwords are added once per channel;
 *   - with a binary output the two popcounts are compared with their thresholds in the loop;
 *   - a conv with zero padding and pads reads its tap popcounts from flash, after the weights
 *     (tb_opt_encode_tap_pops), instead of counting them at every call.
 * On RV32 the pair loop is tb_bgemm_rv32_core.S (below: TB_RV32_ASM); the C here is its specification and
 * what runs on the host tests and any other core.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#define BLOCK_WORDS 9
#define BLOCK_ENC 13
#define GROUP_WORDS 3
#define GROUP_ENC 4
/* Blocks whose halfword sums (<= 144 each) are added before widening to 32 bits: with the groups
 * (<= 144 per halfword), the two halfwords' sum stays below 2^16. Longer dot products (K > 1808 words) take
 * a slower path; the tests set it low (-DTB_RV32_BLOCKS_PER_SUM=2) to run that path on small layers. */
#ifdef TB_RV32_BLOCKS_PER_SUM
#define BLOCKS_PER_SUM TB_RV32_BLOCKS_PER_SUM
#else
#define BLOCKS_PER_SUM 200
#endif

#ifndef TB_RV32_PORTABLE
#define TB_RV32_PORTABLE 0
#endif

#if defined(__GNUC__)
#define TB_RV32_INLINE static inline __attribute__((always_inline))
#else
#define TB_RV32_INLINE static inline
#endif

/* GCC's pre-allocation scheduler hoists the loads of a block ahead of their uses and runs out of registers
 * (RV32: spills in the inner loop): it is off here, as in tb_bgemm_rv32zbb.c. */
#if defined(__GNUC__) && !defined(__clang__)
#define TB_RV32_LOOP __attribute__((optimize("no-schedule-insns")))
#else
#define TB_RV32_LOOP
#endif

/* ------------------------------------------------------------------------------------ encoding --- */

static int32_t n_blocks(int32_t k_words)
{
    return k_words / BLOCK_WORDS;
}

static int32_t n_groups(int32_t k_words)
{
    return (k_words - BLOCK_WORDS * n_blocks(k_words) + GROUP_WORDS - 1) / GROUP_WORDS;
}

static int32_t weight_words(int32_t k_words)
{
    return BLOCK_ENC * n_blocks(k_words) + GROUP_ENC * n_groups(k_words);
}

int32_t tb_rv32_encoded_words(int32_t out_c, int32_t k_words)
{
    return out_c * weight_words(k_words);
}

/* One vector of k_words words -> weight_words(k_words) words. */
static void encode_vector(const uint32_t *v, int32_t k_words, uint32_t *e)
{
    const int32_t nb = n_blocks(k_words);
    int32_t k = 0;
    for (int32_t b = 0; b < nb; b++, k += BLOCK_WORDS, e += BLOCK_ENC) {
        const uint32_t sa = v[k] ^ v[k + 1] ^ v[k + 2];
        const uint32_t sb = v[k + 3] ^ v[k + 4] ^ v[k + 5];
        const uint32_t sg = v[k + 6] ^ v[k + 7] ^ v[k + 8];
        e[0] = sa;
        e[1] = sa ^ sb;
        e[2] = sa ^ sg;
        e[3] = sa ^ sb ^ sg;
        for (int32_t g = 0; g < 3; g++) {
            const uint32_t *x = v + k + GROUP_WORDS * g;
            e[4 + 3 * g] = x[0];
            e[5 + 3 * g] = x[0] ^ x[1];
            e[6 + 3 * g] = x[0] ^ x[2];
        }
    }
    for (; k < k_words; k += GROUP_WORDS, e += GROUP_ENC) {
        const uint32_t v0 = v[k], v1 = k + 1 < k_words ? v[k + 1] : 0u, v2 = k + 2 < k_words ? v[k + 2] : 0u;
        e[0] = v0;
        e[1] = v0 ^ v1;
        e[2] = v0 ^ v2;
        e[3] = v0 ^ v1 ^ v2;
    }
}

void tb_rv32_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded)
{
    const int32_t n = weight_words(k_words);
    for (int32_t o = 0; o < out_c; o++)
        encode_vector(weights + o * k_words, k_words, encoded + o * n);
}

/* Word k of channel o in the reference layout, decoded from the encoding (for the tap popcounts). */
static uint32_t decode_word(const uint32_t *enc, int32_t k_words, int32_t o, int32_t k)
{
    const uint32_t *e = enc + o * weight_words(k_words);
    const int32_t nb = n_blocks(k_words);
    int32_t j;
    if (k < BLOCK_WORDS * nb) {
        e += BLOCK_ENC * (k / BLOCK_WORDS) + 4 + 3 * ((k % BLOCK_WORDS) / GROUP_WORDS);
        j = k % GROUP_WORDS;
        return j == 0 ? e[0] : e[0] ^ e[j];
    }
    k -= BLOCK_WORDS * nb;
    e += BLOCK_ENC * nb + GROUP_ENC * (k / GROUP_WORDS);
    j = k % GROUP_WORDS;
    return j == 0 ? e[0] : e[0] ^ e[j];
}

/* ----------------------------------------------------------------------------- SWAR counting --- */

/* 2-bit counts of x (each 2-bit field <= 2). */
TB_RV32_INLINE uint32_t pairs(uint32_t x)
{
    return x - ((x >> 1) & 0x55555555u);
}

/* Per nibble: pop(s) + 2 pop(k), <= 12 (tb_bgemm_armv7m.c). */
TB_RV32_INLINE uint32_t nibbles(uint32_t s, uint32_t k)
{
    const uint32_t s2 = pairs(s), k2 = pairs(k);
    const uint32_t u = s2 + (k2 << 1);
    const uint32_t v = ((s2 & 0xCCCCCCCCu) >> 1) + (k2 & 0xCCCCCCCCu);
    return u - v - (v >> 1);
}

/* Per byte: the sum of its two nibbles. */
TB_RV32_INLINE uint32_t bytes(uint32_t n)
{
    return (n & 0x0F0F0F0Fu) + ((n >> 4) & 0x0F0F0F0Fu);
}

/* Per halfword: the sum of its two bytes. */
TB_RV32_INLINE uint32_t halves(uint32_t b)
{
    return (b & 0x00FF00FFu) + ((b >> 8) & 0x00FF00FFu);
}

/* The sum of the two halfwords of h (< 2^16). */
TB_RV32_INLINE uint32_t sum_halves(uint32_t h)
{
    return (h + (h << 16)) >> 16;
}

/* ---------------------------------------------------------------------------- the inner loop --- */

/* The carry of the full adder of a pre-encoded group of three words (x ^ w at i, i + 1, i + 2). */
#define CARRY(x0, x1, x2, w, i) (((x0) ^ (w)[i]) ^ (((x1) ^ (w)[(i) + 1]) & ((x2) ^ (w)[(i) + 2])))

/*
 * *h0, *h1 = the per-halfword sums of nb blocks of (column XOR channel) for the encoded channels w0, w1,
 * from x on. Each column word is loaded once for both channels.
 */
TB_RV32_INLINE void blocks_pair(const uint32_t *x, const uint32_t *w0, const uint32_t *w1, int32_t nb, uint32_t *h0,
                                uint32_t *h1)
{
    uint32_t s0 = 0u, s1 = 0u; /* <= 144 per block and halfword */
    for (int32_t b = nb; b > 0; b--, x += BLOCK_ENC, w0 += BLOCK_ENC, w1 += BLOCK_ENC) {
        uint32_t ma0, ma1, mb0, mb1, mg0, mg1;
        {
            const uint32_t a = x[4], c = x[5], d = x[6];
            ma0 = CARRY(a, c, d, w0, 4);
            ma1 = CARRY(a, c, d, w1, 4);
        }
        {
            const uint32_t a = x[7], c = x[8], d = x[9];
            mb0 = CARRY(a, c, d, w0, 7);
            mb1 = CARRY(a, c, d, w1, 7);
        }
        {
            const uint32_t a = x[10], c = x[11], d = x[12];
            mg0 = CARRY(a, c, d, w0, 10);
            mg1 = CARRY(a, c, d, w1, 10);
        }
        {
            const uint32_t a = x[0], c = x[1], d = x[2], e = x[3];
            const uint32_t S0 = e ^ w0[3], K0 = CARRY(a, c, d, w0, 0);
            const uint32_t S1 = e ^ w1[3], K1 = CARRY(a, c, d, w1, 0);
            const uint32_t t0 = ma0 ^ mb0, t1 = ma1 ^ mb1;
            const uint32_t C20 = t0 ^ mg0, C40 = ma0 ^ (t0 & (ma0 ^ mg0));
            const uint32_t C21 = t1 ^ mg1, C41 = ma1 ^ (t1 & (ma1 ^ mg1));
            s0 += halves(bytes(nibbles(S0, K0)) + (bytes(nibbles(C20, C40)) << 1));
            s1 += halves(bytes(nibbles(S1, K1)) + (bytes(nibbles(C21, C41)) << 1));
        }
    }
    *h0 = s0;
    *h1 = s1;
}

/*
 * *p0, *p1 = pop(column XOR channel) for the encoded column xe and the encoded channels w0, w1 (nb <=
 * BLOCKS_PER_SUM blocks, then ng <= 3 groups: <= 24 per byte each).
 */
TB_RV32_INLINE void pops_pair(const uint32_t *xe, const uint32_t *w0, const uint32_t *w1, int32_t nb, int32_t ng,
                              uint32_t *p0, uint32_t *p1)
{
    const uint32_t *x = xe + BLOCK_ENC * nb;
    uint32_t h0, h1, s0 = 0u, s1 = 0u;
    blocks_pair(xe, w0, w1, nb, &h0, &h1);
    w0 += BLOCK_ENC * nb;
    w1 += BLOCK_ENC * nb;
    for (int32_t g = 0; g < ng; g++, x += GROUP_ENC, w0 += GROUP_ENC, w1 += GROUP_ENC) {
        const uint32_t a = x[0], c = x[1], d = x[2], e = x[3];
        s0 += bytes(nibbles(e ^ w0[3], CARRY(a, c, d, w0, 0)));
        s1 += bytes(nibbles(e ^ w1[3], CARRY(a, c, d, w1, 0)));
    }
    *p0 = sum_halves(h0 + halves(s0));
    *p1 = sum_halves(h1 + halves(s1));
}

/* pops for dot products of more than BLOCKS_PER_SUM blocks (ww words per channel): the blocks by runs of
 * BLOCKS_PER_SUM, each run's sums widened to 32 bits. */
__attribute__((noinline)) static void pops_long(const uint32_t *xe, const uint32_t *w, int32_t ww, int32_t nb,
                                                int32_t ng, int32_t n, uint32_t *pop)
{
    for (int32_t i = 0; i < n; i += 2, w += 2 * ww) {
        const uint32_t *w1 = i + 1 < n ? w + ww : w; /* an odd channel left: counted twice, kept once */
        uint32_t acc0 = 0u, acc1 = 0u, p0, p1;
        int32_t b = nb;
        for (; b > BLOCKS_PER_SUM; b -= BLOCKS_PER_SUM) {
            const int32_t off = BLOCK_ENC * (nb - b);
            uint32_t h0, h1;
            blocks_pair(xe + off, w + off, w1 + off, BLOCKS_PER_SUM, &h0, &h1);
            acc0 += sum_halves(h0);
            acc1 += sum_halves(h1);
        }
        pops_pair(xe + BLOCK_ENC * (nb - b), w + BLOCK_ENC * (nb - b), w1 + BLOCK_ENC * (nb - b), b, ng, &p0, &p1);
        pop[i] = acc0 + p0;
        if (i + 1 < n)
            pop[i + 1] = acc1 + p1;
    }
}

/*
 * On RV32 (not RV32E) the pair loop below is tb_bgemm_rv32_core.S: the same arithmetic with every value in a
 * register (-DTB_RV32_PORTABLE=1 builds the C instead). shape = nb | ng << 16, nb <= BLOCKS_PER_SUM.
 */
#if defined(__riscv) && __riscv_xlen == 32 && !defined(__riscv_32e) && !TB_RV32_PORTABLE
#define TB_RV32_ASM 1
uint32_t tb_rv32_lt(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, const uint32_t *T);
void tb_rv32_pops(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, uint32_t *pop);
#else
#define TB_RV32_ASM 0
#endif

/*
 * The family's inner loops (tb_opt_family.pops / pops1 / bits1). They have external linkage although only
 * the family table below refers to them: tinybnn's static stack analysis (tinybnn/targets/footprint.py) resolves
 * the drivers' indirect calls to functions by their symbol names, which a static function's call-graph
 * node does not carry.
 */
void tb_rv32_run_pops(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop);
uint32_t tb_rv32_run_bits(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, const uint32_t *T);

/* The bits of tb_rv32_run_bits for dot products of more than BLOCKS_PER_SUM blocks. */
__attribute__((noinline)) static uint32_t bits_long(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n,
                                                    const uint32_t *T)
{
    const int32_t ww = weight_words(k_words);
    uint32_t lt = 0u;
    for (int32_t i = 0; i < n; i += 2) { /* two channels at a time: a small frame */
        uint32_t pop[2];
        pops_long(xe, w + i * ww, ww, n_blocks(k_words), n_groups(k_words), n - i < 2 ? 1 : 2, pop);
        lt |= (uint32_t)(pop[0] < T[i]) << i;
        if (i + 1 < n)
            lt |= (uint32_t)(pop[1] < T[i + 1]) << (i + 1);
    }
    return ~lt;
}

/* pop[i] = pop(column XOR channel i) for i < n, channels from w on (weight_words(k_words) words each). */
TB_RV32_LOOP void tb_rv32_run_pops(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop)
{
    const int32_t ww = weight_words(k_words), nb = n_blocks(k_words), ng = n_groups(k_words);
    int32_t i = 0;
    if (nb > BLOCKS_PER_SUM) {
        pops_long(xe, w, ww, nb, ng, n, pop);
        return;
    }
#if TB_RV32_ASM
    (void)i;
    tb_rv32_pops(xe, w, (uint32_t)nb | (uint32_t)ng << 16, n, pop);
#else
    for (; i + 1 < n; i += 2, w += 2 * ww)
        pops_pair(xe, w, w + ww, nb, ng, pop + i, pop + i + 1);
    if (i < n) { /* an odd channel left: counted twice, kept once */
        uint32_t unused;
        pops_pair(xe, w, w, nb, ng, pop + i, &unused);
    }
#endif
}

/* The n output bits (pop[i] >= T[i]) in bits 0..n-1 (bits at and above n unspecified). */
TB_RV32_LOOP uint32_t tb_rv32_run_bits(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n,
                                       const uint32_t *T)
{
    const int32_t ww = weight_words(k_words), nb = n_blocks(k_words), ng = n_groups(k_words);
    if (nb > BLOCKS_PER_SUM)
        return bits_long(xe, w, k_words, n, T);
#if TB_RV32_ASM
    (void)ww;
    return ~tb_rv32_lt(xe, w, (uint32_t)nb | (uint32_t)ng << 16, n, T);
#else
    uint32_t lt = 0u; /* bit i: pop[i] < T[i], the complement */
    int32_t i = 0;
    for (; i + 1 < n; i += 2, w += 2 * ww) {
        uint32_t p0, p1;
        pops_pair(xe, w, w + ww, nb, ng, &p0, &p1);
        lt |= ((uint32_t)(p0 < T[i]) | (uint32_t)(p1 < T[i + 1]) << 1) << i;
    }
    if (i < n) {
        uint32_t p0, unused;
        pops_pair(xe, w, w, nb, ng, &p0, &unused);
        lt |= (uint32_t)(p0 < T[i]) << i;
    }
    return ~lt;
#endif
}

/* ------------------------------------------------------------------------------------- kernels --- */

static int32_t column_words(int32_t k_words, int32_t columns)
{
    return columns * weight_words(k_words);
}

static void encode_columns(const uint32_t *cols, int32_t columns, int32_t k_words, uint32_t *xe)
{
    tb_rv32_encode_weights(cols, columns, k_words, xe);
}

static const tb_opt_family family = {.pixels = 1, .weight_words = weight_words, .column_words = column_words,
                                     .encode_columns = encode_columns, .pops = tb_rv32_run_pops,
                                     .pops1 = tb_rv32_run_pops, .bits1 = tb_rv32_run_bits,
                                     .word = decode_word, .flash_taps = 1};

int32_t tb_conv2d_b1b1_rv32_get_buffer_size(const tb_conv2d_params *params)
{
    return tb_opt_conv2d_scratch(&family, params);
}

tb_status tb_conv2d_b1b1_rv32(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                              const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_conv2d(&family, ctx, params, out, input, weights, output);
}

int32_t tb_dense_b1b1_rv32_get_buffer_size(const tb_dense_params *params)
{
    return tb_opt_dense_scratch(&family, params);
}

tb_status tb_dense_b1b1_rv32(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                             const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_dense(&family, ctx, params, out, input, weights, output);
}
