/*
 * tb_add_s8.c - reference elementwise add of two int8 streams (the residual add).
 *
 * One 64-bit multiply-add per operand, the offset, then the floor shift and the clamp of every
 * requantization (tb_requantize64): the sum is rounded once, never each product on its own.
 */
#include <stddef.h>

#include "tb_kernels_s8.h"
#include "tb_kernels_internal.h"

int32_t tb_add_s8_get_buffer_size(const tb_add_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_add_s8(const tb_context *ctx, const tb_add_params *params, const int8_t *a, const int8_t *b,
                    int8_t *y)
{
    (void)ctx;
    TB_CHECK(params == NULL || a == NULL || b == NULL || y == NULL || params->size < 1 || params->shift < 0 ||
                     params->shift > TB_SHIFT_MAX
                 ? TB_ERR_ARG
                 : TB_OK);
    {
        const int64_t ma = params->mult_a, mb = params->mult_b;
        for (int32_t i = 0; i < params->size; i++)
            y[i] = tb_requantize64(a[i] * ma + b[i] * mb + params->offset, params->shift);
    }
    return TB_OK;
}
