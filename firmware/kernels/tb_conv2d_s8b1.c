/*
 * tb_conv2d_s8b1.c - reference int8 conv2d (first layer): int8 input x binary (+-1) weights, zero padding.
 *
 * Same im2col column as tb_conv2d_s8s8; each weight bit (0 = +1, 1 = -1, in (kh, kw, c) order) adds or
 * subtracts its column entry, so no multiplication is needed.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int32_t tb_conv2d_s8b1_get_buffer_size(const tb_conv2d_params *params)
{
    return (int32_t)sizeof(int16_t) * params->kernel_h * params->kernel_w * params->in_c;
}

tb_status tb_conv2d_s8b1(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                         const int8_t *input, const uint32_t *weights, void *output)
{
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_WEIGHTS));
    TB_CHECK(tb_check_conv2d_s8(ctx, params, tb_conv2d_s8b1_get_buffer_size(params)));
    {
        const tb_conv2d_params *p = params;
        const int32_t k_len = p->kernel_h * p->kernel_w * p->in_c;
        const int32_t filter_words = TB_WORDS(k_len);
        int16_t *col = (int16_t *)ctx->buf;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                tb_im2col_s8(p, input, oy, ox, col);
                for (int32_t o = 0; o < p->out_c; o++) {
                    const uint32_t *w = weights + o * filter_words;
                    int32_t acc = 0;
                    for (int32_t k = 0; k < k_len; k++)
                        acc += tb_bit(w, k) ? -(int32_t)col[k] : (int32_t)col[k];
                    tb_store(out, output, pixel, p->out_c, o, acc, &word);
                }
            }
        }
    }
    return TB_OK;
}
