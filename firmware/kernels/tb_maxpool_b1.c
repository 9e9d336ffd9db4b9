/*
 * tb_maxpool_b1.c - reference bit max-pool.
 *
 * The max of +-1 values is +1 (bit 0) unless every value is -1: the AND of the bits. Channels in or_mask
 * take the min instead (the OR of the bits), computed as the AND of inverted bits: out = ~AND(~x) there,
 * i.e. XOR with the mask before and after. Padded taps are ignored.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int32_t tb_maxpool_b1_get_buffer_size(const tb_maxpool_params *params)
{
    (void)params;
    return 0;
}

tb_status tb_maxpool_b1(const tb_context *ctx, const tb_maxpool_params *params, const uint32_t *input,
                        uint32_t *output)
{
    (void)ctx;
    TB_CHECK(tb_check_maxpool(params, input, output));
    {
        const tb_maxpool_params *p = params;
        const int32_t words = TB_WORDS(p->c);
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                uint32_t *y = output + (oy * p->out_w + ox) * words;
                for (int32_t i = 0; i < words; i++) {
                    const uint32_t m = p->or_mask != NULL ? p->or_mask[i] : 0u;
                    uint32_t r = 0xFFFFFFFFu;
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh;
                        if (iy < 0 || iy >= p->in_h)
                            continue;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw;
                            if (ix < 0 || ix >= p->in_w)
                                continue;
                            r &= input[(iy * p->in_w + ix) * words + i] ^ m;
                        }
                    }
                    y[i] = (r ^ m) & tb_tail_mask(p->c, i);
                }
            }
        }
    }
    return TB_OK;
}
