/*
 * tb_dense_s16s8.c - reference dense reading an int16 stream: int16 input x int8 weights (the head Gemm after
 * a global pool).
 *
 * acc[o] = sum_k w[o][k] * (x[k] - input_zero_point), k over the P * C flattened inputs.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_dense_s16s8_get_buffer_size(const tb_dense_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_dense_s16s8(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                         const int16_t *input, const int8_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_dense_s16s8(params, out, input, weights, output));
    {
        const int32_t k_len = params->in_pixels * params->in_c;
        const int32_t zp = params->input_zero_point;
        uint32_t word = 0u;
        for (int32_t o = 0; o < params->out_c; o++) {
            const int8_t *w = weights + o * k_len;
            int32_t acc = 0;
            for (int32_t k = 0; k < k_len; k++)
                acc += (int32_t)w[k] * ((int32_t)input[k] - zp);
            tb_store(out, output, 0, params->out_c, o, acc, &word);
        }
    }
    return TB_OK;
}
