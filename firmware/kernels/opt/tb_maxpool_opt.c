/*
 * tb_maxpool_opt.c - bit max-pool for every optimized family (portable C): tb_maxpool_b1_opt.
 *
 * Same params, outputs and statuses as the reference tb_maxpool_b1. The reference tests every tap against
 * the input's bounds inside the word loop; here each output pixel clips its window once, then walks the
 * taps row by row with the words innermost: an AND-channel word costs a load, an AND and the loop (about
 * four instructions per word per tap on Thumb-2), the OR mask is applied once per output word, not per tap.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"
#include "tb_kernels_opt.h"

int32_t tb_maxpool_b1_opt_get_buffer_size(const tb_maxpool_params *params)
{
    (void)params;
    return 0;
}

/* [lo, hi) of the kernel taps of output index o that fall inside [0, in). */
static void clip(int32_t o, int32_t stride, int32_t pad, int32_t kernel, int32_t in, int32_t *lo, int32_t *hi)
{
    const int32_t start = o * stride - pad;
    *lo = start < 0 ? -start : 0;
    *hi = start + kernel > in ? in - start : kernel;
}

tb_status tb_maxpool_b1_opt(const tb_context *ctx, const tb_maxpool_params *params, const uint32_t *input,
                            uint32_t *output)
{
    (void)ctx;
    TB_CHECK(tb_check_maxpool(params, input, output));
    {
        const tb_maxpool_params *p = params;
        const int32_t words = TB_WORDS(p->c);
        const uint32_t tail = tb_tail_mask(p->c, words - 1);
        const uint32_t *m = p->or_mask;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            int32_t y0, y1;
            clip(oy, p->stride_h, p->pad_top, p->kernel_h, p->in_h, &y0, &y1);
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                uint32_t *y = output + (oy * p->out_w + ox) * words;
                int32_t x0, x1, first = 1;
                clip(ox, p->stride_w, p->pad_left, p->kernel_w, p->in_w, &x0, &x1);
                for (int32_t ky = y0; ky < y1; ky++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                    for (int32_t kx = x0; kx < x1; kx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                        const uint32_t *x = input + (iy * p->in_w + ix) * words;
                        int32_t i;
                        if (first) {
                            for (i = 0; i < words; i++)
                                y[i] = x[i] ^ (m != NULL ? m[i] : 0u);
                            first = 0;
                        } else if (m == NULL) {
                            for (i = 0; i < words; i++)
                                y[i] &= x[i];
                        } else {
                            for (i = 0; i < words; i++)
                                y[i] &= x[i] ^ m[i];
                        }
                    }
                }
                if (first) { /* no valid tap: as the reference, the AND of nothing */
                    for (int32_t i = 0; i < words; i++)
                        y[i] = 0xFFFFFFFFu;
                }
                if (m != NULL) {
                    for (int32_t i = 0; i < words; i++)
                        y[i] ^= m[i];
                }
                y[words - 1] &= tail;
            }
        }
    }
    return TB_OK;
}
