/*
 * tb_binarize_s16.c - reference sign of an int16 stream, packed along the channels.
 *
 * As tb_binarize_s8: bit c = (x' < tau[c]), x' = ~x where bit c of the flip mask is set, the TB_OUT_BITS rule
 * of tb_store with the code as the accumulator.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_binarize_s16_get_buffer_size(const tb_binarize_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_binarize(const tb_binarize_params *p, const int16_t *input, const uint32_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->pixels < 1 || p->c < 1 || p->thresholds == NULL ||
        p->flip == NULL)
        return TB_ERR_ARG;
    if (!tb_aligned4(p->thresholds) || !tb_aligned4(p->flip) || !tb_aligned4(output) || !tb_aligned2(input))
        return TB_ERR_ALIGN;
    return TB_OK;
}
#endif

tb_status tb_binarize_s16(const tb_context *ctx, const tb_binarize_params *params, const int16_t *input,
                          uint32_t *output)
{
    (void)ctx;
    TB_CHECK(check_binarize(params, input, output));
    {
        const tb_binarize_params *p = params;
        const tb_out_params bits = {TB_OUT_BITS, p->thresholds, p->flip, NULL, NULL, NULL};
        for (int32_t px = 0; px < p->pixels; px++) {
            const int16_t *x = input + px * p->c;
            uint32_t word = 0u;
            for (int32_t c = 0; c < p->c; c++)
                tb_store(&bits, output, px, p->c, c, x[c], &word);
        }
    }
    return TB_OK;
}
