/*
 * tb_dense_s8b1.c - reference int8 dense (first layer): int8 input x binary (+-1) weights.
 *
 * acc[o] = sum_k (+-1) * (x[k] - input_zero_point): weight bit 0 adds the input, bit 1 subtracts it.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int32_t tb_dense_s8b1_get_buffer_size(const tb_dense_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_dense_s8b1(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                        const int8_t *input, const uint32_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_dense(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
    {
        const int32_t k_len = params->in_pixels * params->in_c;
        const int32_t row_words = TB_WORDS(k_len);
        const int32_t zp = params->input_zero_point;
        uint32_t word = 0u;
        for (int32_t o = 0; o < params->out_c; o++) {
            const uint32_t *w = weights + o * row_words;
            int32_t acc = 0;
            for (int32_t k = 0; k < k_len; k++) {
                const int32_t v = (int32_t)input[k] - zp;
                acc += tb_bit(w, k) ? -v : v;
            }
            tb_store(out, output, 0, params->out_c, o, acc, &word);
        }
    }
    return TB_OK;
}
