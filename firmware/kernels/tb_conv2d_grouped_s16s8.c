/*
 * tb_conv2d_grouped_s16s8.c - reference grouped (and depthwise) conv2d of an int16 stream: int16 input x int8
 * weights, zero padding.
 *
 * The sum of tb_conv2d_grouped_s8s8 on int16 codes (a depthwise conv on an int16 real-valued stream): output
 * channel o of group g dots its OHWI filter (C/G channels per tap) with (x - zero_point) on the input channels
 * [g * C/G, (g + 1) * C/G) of each valid tap; a padded tap contributes 0. x - zp can need 17 bits: int32.
 */
#include <stddef.h>

#include "tb_kernels_grouped.h"
#include "tb_kernels_internal.h"

int32_t tb_conv2d_grouped_s16s8_get_buffer_size(const tb_grouped_conv2d_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_grouped_s16s8(const tb_grouped_conv2d_params *params, const tb_out_params *out,
                                     const int16_t *input, const int8_t *weights, const void *output)
{
    tb_status status;
    if (params == NULL)
        return TB_ERR_ARG;
    status = tb_check_conv2d(&params->conv);
    if (status != TB_OK)
        return status;
    if (params->groups < 1 || params->conv.in_c % params->groups != 0 || params->conv.out_c % params->groups != 0)
        return TB_ERR_ARG;
    /* any int16 zero point: x - zp fits int32 */
    if (params->conv.pad != TB_PAD_ZERO || params->conv.input_zero_point < INT16_MIN ||
        params->conv.input_zero_point > INT16_MAX)
        return TB_ERR_ARG;
    status = tb_check_operands(out, params->conv.out_c, output, input, weights, 0u);
    if (status != TB_OK)
        return status;
    return ((uintptr_t)input & 1u) == 0u ? TB_OK : TB_ERR_ALIGN; /* int16 codes: 2-byte aligned */
}
#endif

tb_status tb_conv2d_grouped_s16s8(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                  const tb_out_params *out, const int16_t *input, const int8_t *weights,
                                  void *output)
{
    (void)ctx;
    TB_CHECK(check_grouped_s16s8(params, out, input, weights, output));
    {
        const tb_conv2d_params *p = &params->conv;
        const int32_t group_c = p->in_c / params->groups;   /* C/G channels per filter tap */
        const int32_t group_o = p->out_c / params->groups;  /* O/G outputs per group */
        const int32_t filter_len = p->kernel_h * p->kernel_w * group_c;
        const int32_t zp = p->input_zero_point;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                for (int32_t o = 0; o < p->out_c; o++) {
                    const int32_t first = (o / group_o) * group_c; /* the group's first input channel */
                    const int8_t *w = weights + o * filter_len;
                    int32_t acc = 0;
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++, w += group_c) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
                            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                                const int16_t *x = input + (iy * p->in_w + ix) * p->in_c + first;
                                for (int32_t c = 0; c < group_c; c++)
                                    acc += (int32_t)w[c] * ((int32_t)x[c] - zp);
                            }
                        }
                    }
                    tb_store(out, output, pixel, p->out_c, o, acc, &word);
                }
            }
        }
    }
    return TB_OK;
}
