/*
 * tb_add_s16.c - reference elementwise add of two int16 streams (the residual add).
 *
 * The sum of tb_add_s8 (tb_add_sum: one 64-bit multiply-add per operand and the offset), clamped to the int16
 * codes: the sum is rounded once, never each product on its own.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_add_s16_get_buffer_size(const tb_add_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_add(const tb_add_params *p, const int16_t *a, const int16_t *b, const int16_t *y)
{
    if (p == NULL || a == NULL || b == NULL || y == NULL || p->size < 1 || p->shift < 0 || p->shift > TB_SHIFT_MAX)
        return TB_ERR_ARG;
    if (!tb_aligned2(a) || !tb_aligned2(b) || !tb_aligned2(y))
        return TB_ERR_ALIGN;
    return TB_OK;
}
#endif

tb_status tb_add_s16(const tb_context *ctx, const tb_add_params *params, const int16_t *a, const int16_t *b,
                     int16_t *y)
{
    (void)ctx;
    TB_CHECK(check_add(params, a, b, y));
    {
        /* int16 * int64: each product is exact in 64 bits, as is their sum with the offset (< 2^62) */
        const int64_t ma = params->mult_a, mb = params->mult_b;
        for (int32_t i = 0; i < params->size; i++)
            y[i] = tb_requantize64_s16(tb_add_sum(a[i], b[i], ma, mb, params->offset), params->shift);
    }
    return TB_OK;
}
