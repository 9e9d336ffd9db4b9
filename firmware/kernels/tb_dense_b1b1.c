/*
 * tb_dense_b1b1.c - reference binary dense: packed binary input x packed binary weights.
 *
 * acc[o] = K - 2 * popcount(x XOR w[o]) over all words; K = in_pixels * in_c (tail bits are 0 in both).
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int32_t tb_dense_b1b1_get_buffer_size(const tb_dense_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_dense_b1b1(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                        const uint32_t *input, const uint32_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS));
    {
        const int32_t row_words = params->in_pixels * TB_WORDS(params->in_c);
        const int32_t k_len = params->in_pixels * params->in_c;
        uint32_t word = 0u;
        for (int32_t o = 0; o < params->out_c; o++) {
            const uint32_t *w = weights + o * row_words;
            int32_t pop = 0;
            for (int32_t i = 0; i < row_words; i++)
                pop += tb_popcount32(input[i] ^ w[i]);
            tb_store(out, output, 0, params->out_c, o, k_len - 2 * pop, &word);
        }
    }
    return TB_OK;
}
