/*
 * tb_concat_s8.c - reference channel concatenation of real-valued stream codes (int8 and int16), one input per
 * call: a copy of each pixel's in_c channels to output channels [offset_c, offset_c + in_c).
 */
#include <stddef.h>

#include "tb_kernels_concat.h"
#include "tb_kernels_internal.h"

int32_t tb_concat_s8_get_buffer_size(const tb_concat_params *params)
{
    (void)params;
    return 0;
}

int32_t tb_concat_s16_get_buffer_size(const tb_concat_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_args(const tb_concat_params *p, const void *input, const void *output)
{
    if (p == NULL || input == NULL || output == NULL)
        return TB_ERR_ARG;
    if (p->pixels < 1 || p->in_c < 1 || p->offset_c < 0 || p->out_c < p->in_c || p->offset_c > p->out_c - p->in_c)
        return TB_ERR_ARG;
    return TB_OK;
}
#endif

tb_status tb_concat_s8(const tb_context *ctx, const tb_concat_params *params, const int8_t *input, int8_t *output)
{
    (void)ctx;
    TB_CHECK(check_args(params, input, output));
    for (int32_t px = 0; px < params->pixels; px++) {
        const int8_t *x = input + px * params->in_c;
        int8_t *y = output + px * params->out_c + params->offset_c;
        for (int32_t c = 0; c < params->in_c; c++)
            y[c] = x[c];
    }
    return TB_OK;
}

tb_status tb_concat_s16(const tb_context *ctx, const tb_concat_params *params, const int16_t *input,
                        int16_t *output)
{
    (void)ctx;
    TB_CHECK(check_args(params, input, output));
#if TB_KERNEL_CHECKS
    if (((uintptr_t)input & 1u) != 0u || ((uintptr_t)output & 1u) != 0u)
        return TB_ERR_ALIGN;
#endif
    for (int32_t px = 0; px < params->pixels; px++) {
        const int16_t *x = input + px * params->in_c;
        int16_t *y = output + px * params->out_c + params->offset_c;
        for (int32_t c = 0; c < params->in_c; c++)
            y[c] = x[c];
    }
    return TB_OK;
}
