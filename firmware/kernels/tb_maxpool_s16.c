/*
 * tb_maxpool_s16.c - reference max pool of an int16 stream.
 *
 * As tb_maxpool_s8: one scale and zero point for the whole tensor, so the pool compares codes and copies
 * the largest. Padded taps are ignored; the pads are smaller than the kernel, so every window holds at least
 * one valid tap.
 */
#include <stddef.h>

#include "tb_kernels_stream.h"
#include "tb_kernels_internal.h"

int32_t tb_maxpool_s16_get_buffer_size(const tb_maxpool_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_maxpool_s16(const tb_maxpool_params *p, const int16_t *input, const int16_t *output)
{
    const tb_status status = tb_check_pool_geometry(p);
    if (status != TB_OK)
        return status;
    if (input == NULL || output == NULL || p->or_mask != NULL || p->pad_top >= p->kernel_h ||
        p->pad_bottom >= p->kernel_h || p->pad_left >= p->kernel_w || p->pad_right >= p->kernel_w)
        return TB_ERR_ARG;
    if (!tb_aligned2(input) || !tb_aligned2(output))
        return TB_ERR_ALIGN;
    return TB_OK;
}
#endif

tb_status tb_maxpool_s16(const tb_context *ctx, const tb_maxpool_params *params, const int16_t *input,
                         int16_t *output)
{
    (void)ctx;
    TB_CHECK(check_maxpool_s16(params, input, output));
    {
        const tb_maxpool_params *p = params;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            int32_t ky0, ky1;
            tb_pool_window(oy, p->stride_h, p->pad_top, p->kernel_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                int32_t kx0, kx1;
                tb_pool_window(ox, p->stride_w, p->pad_left, p->kernel_w, p->in_w, &kx0, &kx1);
                int16_t *y = output + (oy * p->out_w + ox) * p->c;
                for (int32_t c = 0; c < p->c; c++) {
                    int16_t m = INT16_MIN;
                    for (int32_t iy = ky0; iy < ky1; iy++)
                        for (int32_t ix = kx0; ix < kx1; ix++) {
                            const int16_t x = input[(iy * p->in_w + ix) * p->c + c];
                            m = x > m ? x : m;
                        }
                    y[c] = m;
                }
            }
        }
    }
    return TB_OK;
}
