/*
 * tb_conv2d_s8s16.c - reference conv2d (first layer): int8 input x int16 weights, zero padding.
 *
 * Per output pixel the receptive field is gathered once into an int16 im2col column of (x - zero_point)
 * (0 on padded taps) in the scratch buffer, then dotted with each output channel's OHWI weights.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_s16.h"

int32_t tb_conv2d_s8s16_get_buffer_size(const tb_conv2d_params *params)
{
    return (int32_t)sizeof(int16_t) * params->kernel_h * params->kernel_w * params->in_c;
}

tb_status tb_conv2d_s8s16(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                          const int8_t *input, const int16_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, 0u));
    TB_CHECK(((uintptr_t)weights & 1u) == 0u ? TB_OK : TB_ERR_ALIGN);
    TB_CHECK(tb_check_conv2d_s8(ctx, params, tb_conv2d_s8s16_get_buffer_size(params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t k_len = p->kernel_h * p->kernel_w * p->in_c;
        int16_t *col = (int16_t *)ctx->buf;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                tb_im2col_s8(p, input, oy, ox, col);
                for (int32_t o = 0; o < p->out_c; o++) {
                    const int16_t *w = weights + o * k_len;
                    int32_t acc = 0;
                    for (int32_t k = 0; k < k_len; k++)
                        acc += (int32_t)w[k] * col[k];
                    tb_store(out, output, pixel, p->out_c, o, acc, &word);
                }
            }
        }
    }
    return TB_OK;
}
