/*
 * tb_maxpool_opt.c - bit max-pool for every optimized family (portable C): tb_maxpool_b1_opt.
 *
 * Same params, outputs and statuses as the reference tb_maxpool_b1. The reference tests every tap against
 * the input's bounds inside the word loop; here each output pixel clips its window once, then walks the
 * taps row by row with the words innermost (up to 32 channels without an OR mask: in one register), and
 * the OR mask is applied once per output word, not per tap.
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
        const int32_t row_words = p->in_w * words;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            int32_t y0, y1;
            clip(oy, p->stride_h, p->pad_top, p->kernel_h, p->in_h, &y0, &y1);
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                uint32_t *y = output + (oy * p->out_w + ox) * words;
                int32_t x0, x1;
                clip(ox, p->stride_w, p->pad_left, p->kernel_w, p->in_w, &x0, &x1);
                {
                    /* the window's first valid tap; rows of x1 - x0 taps, y1 - y0 of them */
                    const uint32_t *first = input + ((oy * p->stride_h - p->pad_top + y0) * p->in_w +
                                                     (ox * p->stride_w - p->pad_left + x0)) * words;
                    const int32_t taps_w = x1 - x0, taps = (y1 - y0) * taps_w;
                    if (words == 1) { /* up to 32 channels: the window's AND in one register */
                        const uint32_t m0 = m != NULL ? m[0] : 0u;
                        uint32_t r = 0xFFFFFFFFu; /* the AND of nothing: a window with no valid tap stays so */
                        for (int32_t ky = y0; ky < y1; ky++, first += row_words)
                            for (int32_t kx = 0; kx < taps_w; kx++)
                                r &= first[kx] ^ m0;
                        y[0] = (r ^ m0) & tail;
                        continue;
                    }
                    if (taps == 0) {
                        for (int32_t i = 0; i < words; i++)
                            y[i] = 0xFFFFFFFFu ^ (m != NULL ? m[i] : 0u); /* AND of nothing, then the mask */
                    } else {
                        /* tap by tap, the words innermost: the first tap copied, the others ANDed in */
                        int32_t t = 0;
                        for (int32_t ky = y0; ky < y1; ky++, first += row_words) {
                            const uint32_t *x = first;
                            for (int32_t kx = 0; kx < taps_w; kx++, x += words, t++) {
                                if (t == 0 && m == NULL) {
                                    for (int32_t i = 0; i < words; i++)
                                        y[i] = x[i];
                                } else if (t == 0) {
                                    for (int32_t i = 0; i < words; i++)
                                        y[i] = x[i] ^ m[i];
                                } else if (m == NULL) {
                                    for (int32_t i = 0; i < words; i++)
                                        y[i] &= x[i];
                                } else {
                                    for (int32_t i = 0; i < words; i++)
                                        y[i] &= x[i] ^ m[i];
                                }
                            }
                        }
                        if (m != NULL) {
                            for (int32_t i = 0; i < words; i++)
                                y[i] ^= m[i];
                        }
                    }
                    y[words - 1] &= tail;
                }
            }
        }
    }
    return TB_OK;
}
