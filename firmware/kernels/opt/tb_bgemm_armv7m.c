/*
 * tb_bgemm_armv7m.c - binary conv2d/dense for Cortex-M3/M4/M7/M33/M55 (ARMv7-M / ARMv8-M mainline).
 *
 * There is no popcount instruction on these cores, so the kernel counts with carry-save adders and a SWAR
 * (SIMD within a register) bit count, deferring the count over nine XORed words at a time.
 *
 * Full adder with pre-encoded operands. For three product words a = x0^w0, b = x1^w1, c = x2^w2,
 * pop(a) + pop(b) + pop(c) = pop(s) + 2 pop(m) with s = a^b^c and m = maj(a, b, c) = a ^ ((a^b) & (a^c)).
 * Since s = (x0^x1^x2) ^ (w0^w1^w2) and a^b = (x0^x1) ^ (w0^w1), both sides are stored pre-encoded as
 * {v0, v0^v1, v0^v2, v0^v1^v2}: then s costs one XOR and m four operations (3 XOR, AND, XOR).
 *
 * Two levels (a block of nine words). Groups A, B, G of three words give sums sA, sB, sG and carries
 * mA, mB, mG. The sums enter a second full adder, again pre-encoded: S = sA^sB^sG, K = maj(sA, sB, sG) =
 * sA ^ ((sA^sB) & (sA^sG)); the carries enter a plain carry-save adder: C2 = mA^mB^mG, C4 = maj(mA, mB, mG).
 * pop of the nine products = pop(S) + 2 pop(K) + 2 pop(C2) + 4 pop(C4). A block is stored as 13 words:
 *   [sA, sA^sB, sA^sG, sA^sB^sG,  a0, a0^a1, a0^a2,  b0, b0^b1, b0^b2,  g0, g0^g1, g0^g2]
 * (sX = x0^x1^x2 of group X; the sums of B and G themselves are never needed).
 * The words left after the blocks (K mod 9) form groups of three (zero-padded) stored as 4 words each.
 * The same encoding is applied to the weights (offline: tinybnn/backend/kernels.py, +44% weight bytes) and to each
 * pixel's column (at run time, in the scratch buffer), since it is linear: enc(x) ^ enc(w) = enc(x ^ w).
 *
 * SWAR count of pop(S) + 2 pop(K) per nibble (<= 12), from the 2-bit counts s, k (fields <= 2):
 *   u = s + 2k; v = ((s & 0xCCCCCCCC) >> 1) + (k & 0xCCCCCCCC) = 2 * (high fields of s + 2k)
 *   nib = u - v - v/2   (= u - 3 * high fields: each nibble's two fields added; exact modulo 2^32)
 * then bytes (<= 72 per block), summed into the accumulator (USADA8 where the DSP extension exists).
 *
 * On Thumb-2 targets the inner loop (tb_armv7m_pops) is tb_bgemm_armv7m_core.S (LDM loads, shifted operands,
 * modified immediates); elsewhere (the host tests, other ISAs) the portable C below computes the same.
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#define BLOCK_WORDS 9
#define BLOCK_ENC 13
#define GROUP_WORDS 3
#define GROUP_ENC 4

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

int32_t tb_armv7m_encoded_words(int32_t out_c, int32_t k_words)
{
    return out_c * weight_words(k_words);
}

static void encode_group(uint32_t v0, uint32_t v1, uint32_t v2, uint32_t *e)
{
    e[0] = v0;
    e[1] = v0 ^ v1;
    e[2] = v0 ^ v2;
    e[3] = v0 ^ v1 ^ v2;
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
    for (; k < k_words; k += GROUP_WORDS, e += GROUP_ENC)
        encode_group(v[k], k + 1 < k_words ? v[k + 1] : 0u, k + 2 < k_words ? v[k + 2] : 0u, e);
}

void tb_armv7m_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded)
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

/* ---------------------------------------------------------------------------- the inner loop --- */

/*
 * pop[o] = popcount of (column XOR channel o) for o < n, from the encoded column xe and the encoded
 * weights w of n consecutive channels; shape = blocks | groups << 16.
 */
void tb_armv7m_pops(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, uint32_t *pop);

/* The bits (pop[o] >= T[o]) of n <= 32 channels in bits 32 - n .. 31 (channel 0 lowest). */
uint32_t tb_armv7m_bits(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, const uint32_t *T);

#if !defined(__thumb2__)
/* 2-bit counts of x (each 2-bit field <= 2). */
static inline uint32_t pairs(uint32_t x)
{
    return x - ((x >> 1) & 0x55555555u);
}

/* Per nibble: pop(s) + 2 pop(k), <= 12. */
static inline uint32_t nibbles(uint32_t s, uint32_t k)
{
    const uint32_t s2 = pairs(s), k2 = pairs(k);
    const uint32_t u = s2 + (k2 << 1);
    const uint32_t v = ((s2 & 0xCCCCCCCCu) >> 1) + (k2 & 0xCCCCCCCCu);
    return u - v - (v >> 1);
}

/* Per byte: the sum of its two nibbles. */
static inline uint32_t bytes(uint32_t n)
{
    return (n & 0x0F0F0F0Fu) + ((n >> 4) & 0x0F0F0F0Fu);
}

/* Sum of the four bytes. */
static inline uint32_t sum_bytes(uint32_t b)
{
    b = (b & 0x00FF00FFu) + ((b >> 8) & 0x00FF00FFu);
    return (b + (b >> 16)) & 0xFFFFu;
}

void tb_armv7m_pops(const uint32_t *xe, const uint32_t *we, uint32_t shape, int32_t n, uint32_t *pop)
{
    const int32_t nb = (int32_t)(shape & 0xFFFFu), ng = (int32_t)(shape >> 16);
    for (int32_t o = 0; o < n; o++) {
        const uint32_t *x = xe;
        uint32_t acc = 0u;
        for (int32_t b = 0; b < nb; b++, x += BLOCK_ENC, we += BLOCK_ENC) {
            const uint32_t sa = x[0] ^ we[0];
            const uint32_t S = x[3] ^ we[3];
            const uint32_t K = sa ^ ((x[1] ^ we[1]) & (x[2] ^ we[2]));
            const uint32_t ma = (x[4] ^ we[4]) ^ ((x[5] ^ we[5]) & (x[6] ^ we[6]));
            const uint32_t mb = (x[7] ^ we[7]) ^ ((x[8] ^ we[8]) & (x[9] ^ we[9]));
            const uint32_t mg = (x[10] ^ we[10]) ^ ((x[11] ^ we[11]) & (x[12] ^ we[12]));
            const uint32_t t = ma ^ mb;
            const uint32_t C2 = t ^ mg, C4 = ma ^ (t & (ma ^ mg));
            acc += sum_bytes(bytes(nibbles(S, K)) + (bytes(nibbles(C2, C4)) << 1));
        }
        for (int32_t g = 0; g < ng; g++, x += GROUP_ENC, we += GROUP_ENC) {
            const uint32_t a = x[0] ^ we[0];
            const uint32_t s = x[3] ^ we[3];
            const uint32_t m = a ^ ((x[1] ^ we[1]) & (x[2] ^ we[2]));
            acc += sum_bytes(bytes(nibbles(s, m)));
        }
        pop[o] = acc;
    }
}
uint32_t tb_armv7m_bits(const uint32_t *xe, const uint32_t *w, uint32_t shape, int32_t n, const uint32_t *T)
{
    uint32_t pop[TB_OPT_RUN], word = 0u;
    tb_armv7m_pops(xe, w, shape, n, pop);
    for (int32_t i = n - 1; i >= 0; i--)
        word = (word << 1) + (uint32_t)(pop[i] >= T[i]);
    return word << (TB_OPT_RUN - n);
}
#endif /* !__thumb2__: tb_bgemm_armv7m_core.S otherwise */

/* ------------------------------------------------------------------------------------- kernels --- */

static int32_t column_words(int32_t k_words, int32_t columns)
{
    return columns * weight_words(k_words);
}

static void encode_columns(const uint32_t *cols, int32_t columns, int32_t k_words, uint32_t *xe)
{
    tb_armv7m_encode_weights(cols, columns, k_words, xe);
}

static void pops(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop)
{
    tb_armv7m_pops(xe, w, (uint32_t)n_blocks(k_words) | ((uint32_t)n_groups(k_words) << 16), n, pop);
}

static uint32_t bits(const uint32_t *xe, const uint32_t *w, int32_t k_words, int32_t n, const uint32_t *T)
{
    return tb_armv7m_bits(xe, w, (uint32_t)n_blocks(k_words) | ((uint32_t)n_groups(k_words) << 16), n, T) >>
           (TB_OPT_RUN - n);
}

static const tb_opt_family family = {.pixels = 1, .weight_words = weight_words, .column_words = column_words,
                                     .encode_columns = encode_columns, .pops = pops, .pops1 = pops,
                                     .bits1 = bits, .word = decode_word};

int32_t tb_conv2d_b1b1_armv7m_get_buffer_size(const tb_conv2d_params *params)
{
    return tb_opt_conv2d_scratch(&family, params);
}

tb_status tb_conv2d_b1b1_armv7m(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_conv2d(&family, ctx, params, out, input, weights, output);
}

int32_t tb_dense_b1b1_armv7m_get_buffer_size(const tb_dense_params *params)
{
    return tb_opt_dense_scratch(&family, params);
}

tb_status tb_dense_b1b1_armv7m(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_dense(&family, ctx, params, out, input, weights, output);
}
