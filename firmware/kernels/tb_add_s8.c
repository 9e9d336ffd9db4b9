/*
 * tb_add_s8.c - reference elementwise add of two int8 streams (the residual add).
 *
 * One 64-bit multiply-add per operand, the offset (tb_add_sum), then the floor shift and the clamp of every
 * requantization (tb_requantize64): the sum is rounded once, never each product on its own.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_add_s8_get_buffer_size(const tb_add_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_add(const tb_add_params *p, const int8_t *a, const int8_t *b, const int8_t *y)
{
    if (p == NULL || a == NULL || b == NULL || y == NULL || p->size < 1 || p->shift < 0 || p->shift > TB_SHIFT_MAX)
        return TB_ERR_ARG;
    return TB_OK;
}
#endif

tb_status tb_add_s8(const tb_context *ctx, const tb_add_params *params, const int8_t *a, const int8_t *b,
                    int8_t *y)
{
    (void)ctx;
    TB_CHECK(check_add(params, a, b, y));
    {
        /* int8 * int64: each product is exact in 64 bits, as is their sum with the offset (< 2^62) */
        const int64_t ma = params->mult_a, mb = params->mult_b;
        for (int32_t i = 0; i < params->size; i++)
            y[i] = tb_requantize64(tb_add_sum(a[i], b[i], ma, mb, params->offset), params->shift);
    }
    return TB_OK;
}
