/*
 * tb_prelu_s16.c - reference per-channel piecewise affine map of an int16 stream (PReLU, RPReLU, affine).
 *
 * The sum of tb_prelu_s8 (tb_prelu_sum: the piece the code falls in, one 64-bit multiply-add), requantized
 * once to an int16 code.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_prelu_s16_get_buffer_size(const tb_prelu_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_prelu(const tb_prelu_params *p, const int16_t *input, const int16_t *output)
{
    if (p == NULL || input == NULL || output == NULL || p->pixels < 1 || p->c < 1 || p->breakpoint == NULL ||
        p->mult_pos == NULL || p->offset_pos == NULL || p->mult_neg == NULL || p->offset_neg == NULL ||
        p->shift == NULL)
        return TB_ERR_ARG;
    if (!tb_aligned4(p->breakpoint) || !tb_aligned4(p->mult_pos) || !tb_aligned4(p->offset_pos) ||
        !tb_aligned4(p->mult_neg) || !tb_aligned4(p->offset_neg) || !tb_aligned4(p->shift) ||
        !tb_aligned2(input) || !tb_aligned2(output))
        return TB_ERR_ALIGN;
    for (int32_t c = 0; c < p->c; c++)
        if (p->shift[c] < 0 || p->shift[c] > TB_SHIFT_MAX)
            return TB_ERR_ARG;
    return TB_OK;
}
#endif

tb_status tb_prelu_s16(const tb_context *ctx, const tb_prelu_params *params, const int16_t *input,
                       int16_t *output)
{
    (void)ctx;
    TB_CHECK(check_prelu(params, input, output));
    {
        const tb_prelu_params *p = params;
        for (int32_t px = 0; px < p->pixels; px++) {
            const int16_t *x = input + px * p->c;
            int16_t *y = output + px * p->c;
            for (int32_t c = 0; c < p->c; c++)
                y[c] = tb_requantize64_s16(tb_prelu_sum(x[c], p->breakpoint[c], p->mult_pos[c], p->offset_pos[c],
                                                        p->mult_neg[c], p->offset_neg[c]),
                                           p->shift[c]);
        }
    }
    return TB_OK;
}
