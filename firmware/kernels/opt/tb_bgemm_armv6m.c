/*
 * tb_bgemm_armv6m.c - binary conv2d/dense for Cortex-M0/M0+ (ARMv6-M, Thumb-1).
 *
 * Thumb-1 has eight low registers for data, two-operand ALU instructions, no shifted operands and no
 * 32-bit immediates, so the pre-encoded carry-save scheme of the ARMv7-M family costs more moves than it
 * saves. This family keeps the weights in the reference layout (no encoding) and defers the count:
 *   per word: the 2-bit counts of x ^ w, added into two running sums (see pop_channel);
 *   per three words: one correction gives nibble counts (<= 12), folded into a byte accumulator (<= 24);
 *   per thirty words (or the end): the four bytes summed (<= 240 each) into the channel's count.
 * The masks live in registers across the whole loop (the compiler hoists them).
 */
#include <stddef.h>

#include "tb_kernels_opt.h"
#include "tb_opt_internal.h"

#define CHUNK_WORDS 30 /* 10 folds of <= 24 per byte: no byte overflows */

/* 2-bit counts of x (fields <= 2). */
static inline uint32_t pairs(uint32_t x)
{
    return x - ((x >> 1) & 0x55555555u);
}

/* Per byte: the sum of its two nibbles. */
static inline uint32_t fold_bytes(uint32_t n)
{
    return (n & 0x0F0F0F0Fu) + ((n >> 4) & 0x0F0F0F0Fu);
}

/* Sum of the four bytes (each <= 255). */
static inline uint32_t sum_bytes(uint32_t b)
{
    b = (b & 0x00FF00FFu) + ((b >> 8) & 0x00FF00FFu);
    return (b * 0x00010001u) >> 16;
}

/*
 * Three words: with s = the sum of their 2-bit count words and h = the sum of their high fields
 * ((p >> 2) & 0x33333333 per word), the per-nibble counts are s - 3h (each nibble <= 12). Fields of s may
 * carry into their neighbours, but the identity is exact modulo 2^32 and its result fits, so only two
 * running sums per word are needed and one correction per three words.
 */
static uint32_t pop_channel(const uint32_t *x, const uint32_t *w, int32_t k_words)
{
    uint32_t total = 0u;
    int32_t k = 0;
    while (k < k_words) {
        const int32_t end = k_words - k > CHUNK_WORDS ? k + CHUNK_WORDS : k_words;
        uint32_t acc = 0u;
        for (; k + 3 <= end; k += 3) {
            const uint32_t p0 = pairs(x[k] ^ w[k]), p1 = pairs(x[k + 1] ^ w[k + 1]), p2 = pairs(x[k + 2] ^ w[k + 2]);
            const uint32_t s = p0 + p1 + p2;
            const uint32_t h = ((p0 >> 2) & 0x33333333u) + ((p1 >> 2) & 0x33333333u) + ((p2 >> 2) & 0x33333333u);
            acc += fold_bytes(s - 3u * h);
        }
        for (; k < end; k++) {
            const uint32_t p = pairs(x[k] ^ w[k]);
            acc += fold_bytes(p - 3u * ((p >> 2) & 0x33333333u));
        }
        total += sum_bytes(acc);
    }
    return total;
}

static void pops(const uint32_t *x, const uint32_t *w, int32_t k_words, int32_t n, uint32_t *pop)
{
    for (int32_t o = 0; o < n; o++, w += k_words)
        pop[o] = pop_channel(x, w, k_words);
}

/* ------------------------------------------------------------------------------------ encoding --- */

static int32_t weight_words(int32_t k_words)
{
    return k_words;
}

int32_t tb_armv6m_encoded_words(int32_t out_c, int32_t k_words)
{
    return out_c * k_words;
}

void tb_armv6m_encode_weights(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded)
{
    for (int32_t i = 0; i < out_c * k_words; i++)
        encoded[i] = weights[i];
}

static uint32_t word(const uint32_t *weights, int32_t k_words, int32_t o, int32_t k)
{
    return weights[o * k_words + k];
}

static int32_t column_words(int32_t k_words, int32_t columns)
{
    (void)k_words;
    (void)columns;
    return 0;
}

/* ------------------------------------------------------------------------------------- kernels --- */

static const tb_opt_family family = {.pixels = 1, .weight_words = weight_words, .column_words = column_words,
                                     .pops = pops, .pops1 = pops, .word = word};

int32_t tb_conv2d_b1b1_armv6m_get_buffer_size(const tb_conv2d_params *params)
{
    return tb_opt_conv2d_scratch(&family, params);
}

tb_status tb_conv2d_b1b1_armv6m(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                                const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_conv2d(&family, ctx, params, out, input, weights, output);
}

int32_t tb_dense_b1b1_armv6m_get_buffer_size(const tb_dense_params *params)
{
    return tb_opt_dense_scratch(&family, params);
}

tb_status tb_dense_b1b1_armv6m(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                               const uint32_t *input, const uint32_t *weights, void *output)
{
    return tb_opt_dense(&family, ctx, params, out, input, weights, output);
}
