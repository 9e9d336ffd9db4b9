/*
 * tb_concat_b1.c - reference channel concatenation of packed bits (one input per call).
 *
 * Input channel c goes to output bit offset_c + c of the same pixel: word (offset_c + c) / 32, bit
 * (offset_c + c) % 32. Output words the input covers only in part are read, masked and written back, so the
 * other inputs' channels in them survive; the call that ends the output clears the tail bits.
 */
#include <stddef.h>

#include "tb_kernels_concat.h"
#include "tb_kernels_internal.h"

int32_t tb_concat_b1_get_buffer_size(const tb_concat_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_args(const tb_concat_params *p, const uint32_t *input, const uint32_t *output)
{
    if (p == NULL || input == NULL || output == NULL)
        return TB_ERR_ARG;
    if (p->pixels < 1 || p->in_c < 1 || p->offset_c < 0 || p->out_c < p->in_c || p->offset_c > p->out_c - p->in_c)
        return TB_ERR_ARG;
    return tb_aligned4(input) && tb_aligned4(output) ? TB_OK : TB_ERR_ALIGN;
}
#endif

/* Bits [lo, lo + n) of a word, 0 < n, lo + n <= 32. */
static uint32_t bit_range(int32_t lo, int32_t n)
{
    const uint32_t ones = n >= TB_WORD_BITS ? 0xFFFFFFFFu : ((1u << (uint32_t)n) - 1u);
    return ones << (uint32_t)lo;
}

tb_status tb_concat_b1(const tb_context *ctx, const tb_concat_params *params, const uint32_t *input,
                       uint32_t *output)
{
    (void)ctx;
    TB_CHECK(check_args(params, input, output));
    {
        const tb_concat_params *p = params;
        const int32_t in_words = TB_WORDS(p->in_c);
        const int32_t out_words = TB_WORDS(p->out_c);
        const int32_t shift = p->offset_c % TB_WORD_BITS;
        const int32_t first = p->offset_c / TB_WORD_BITS;
        const int ends_output = p->offset_c + p->in_c == p->out_c;
        for (int32_t px = 0; px < p->pixels; px++) {
            const uint32_t *x = input + px * in_words;
            uint32_t *y = output + px * out_words;
            /* input bits [32 i, 32 i + n) -> output bits [offset_c + 32 i, ...) */
            for (int32_t i = 0; i < in_words; i++) {
                const int32_t n = p->in_c - i * TB_WORD_BITS < TB_WORD_BITS ? p->in_c - i * TB_WORD_BITS
                                                                            : TB_WORD_BITS;
                const uint32_t v = x[i] & bit_range(0, n);
                const int32_t w = first + i;
                const int32_t lo_n = n < TB_WORD_BITS - shift ? n : TB_WORD_BITS - shift; /* bits into word w */
                const uint32_t lo_mask = bit_range(shift, lo_n);
                y[w] = (y[w] & ~lo_mask) | ((v << (uint32_t)shift) & lo_mask);
                if (n > lo_n) { /* the rest spills into word w + 1 (only when shift > 0) */
                    const uint32_t hi_mask = bit_range(0, n - lo_n);
                    y[w + 1] = (y[w + 1] & ~hi_mask) | ((v >> (uint32_t)(TB_WORD_BITS - shift)) & hi_mask);
                }
            }
            if (ends_output)
                y[out_words - 1] &= tb_tail_mask(p->out_c, out_words - 1);
        }
    }
    return TB_OK;
}
