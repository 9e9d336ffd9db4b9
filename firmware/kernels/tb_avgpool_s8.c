/*
 * tb_avgpool_s8.c - reference average pool of an int8 stream.
 *
 * The window sum of (x - input_zero_point) over the valid taps (a padded tap is a real zero, ONNX's
 * count_include_pad=1), requantized once: the divisor KH * KW is part of the multiplier, so the mean is
 * rounded once, with the output's zero point and rounding half in the offset.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_avgpool_s8_get_buffer_size(const tb_avgpool_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_avgpool(const tb_avgpool_params *p, const int8_t *input, const int8_t *output)
{
    tb_maxpool_params g;
    if (p == NULL || input == NULL || output == NULL)
        return TB_ERR_ARG;
    g.in_h = p->in_h, g.in_w = p->in_w, g.c = p->c, g.out_h = p->out_h, g.out_w = p->out_w;
    g.kernel_h = p->kernel_h, g.kernel_w = p->kernel_w, g.stride_h = p->stride_h, g.stride_w = p->stride_w;
    g.pad_top = p->pad_top, g.pad_left = p->pad_left, g.pad_bottom = p->pad_bottom, g.pad_right = p->pad_right;
    g.or_mask = NULL;
    if (tb_check_pool_geometry(&g) != TB_OK || p->input_zero_point < TB_ZP_MIN || p->input_zero_point > TB_ZP_MAX ||
        p->shift < 0 || p->shift > TB_SHIFT_MAX)
        return TB_ERR_ARG;
    return TB_OK;
}
#endif

tb_status tb_avgpool_s8(const tb_context *ctx, const tb_avgpool_params *params, const int8_t *input,
                        int8_t *output)
{
    (void)ctx;
    TB_CHECK(check_avgpool(params, input, output));
    {
        const tb_avgpool_params *p = params;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            int32_t ky0, ky1;
            tb_pool_window(oy, p->stride_h, p->pad_top, p->kernel_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                int32_t kx0, kx1;
                tb_pool_window(ox, p->stride_w, p->pad_left, p->kernel_w, p->in_w, &kx0, &kx1);
                const int32_t taps = (ky1 - ky0) * (kx1 - kx0);
                int8_t *y = output + (oy * p->out_w + ox) * p->c;
                for (int32_t c = 0; c < p->c; c++) {
                    int32_t v = 0;
                    for (int32_t iy = ky0; iy < ky1; iy++)
                        for (int32_t ix = kx0; ix < kx1; ix++)
                            v += input[(iy * p->in_w + ix) * p->c + c];
                    v -= taps * p->input_zero_point;
                    y[c] = tb_requantize(v, p->multiplier, p->offset, p->shift);
                }
            }
        }
    }
    return TB_OK;
}
