/*
 * tb_conv2d_s16s8.c - reference conv2d reading an int16 stream: int16 input x int8 weights, zero padding.
 *
 * A full-precision layer inside a residual network (a 1x1 shortcut conv): per output pixel and channel the
 * dot product of the OHWI weights with (x - input_zero_point) over the valid taps, a padded tap contributing
 * 0. No scratch: x - zp can need 17 bits, so there is no int16 im2col column; the taps are read in place.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_conv2d_s16s8_get_buffer_size(const tb_conv2d_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_conv2d_s16s8(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                          const int16_t *input, const int8_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_conv2d_s16s8(params, out, input, weights, output));
    {
        const tb_conv2d_params *p = params;
        const int32_t zp = p->input_zero_point;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                for (int32_t o = 0; o < p->out_c; o++) {
                    const int8_t *w = weights + o * p->kernel_h * p->kernel_w * p->in_c;
                    int32_t acc = 0;
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++, w += p->in_c) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
                            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                                const int16_t *x = input + (iy * p->in_w + ix) * p->in_c;
                                for (int32_t c = 0; c < p->in_c; c++)
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
