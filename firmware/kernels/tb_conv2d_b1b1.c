/*
 * tb_conv2d_b1b1.c - reference binary conv2d: packed binary input x packed binary weights.
 *
 * With +-1 values coded as bits (0 = +1, 1 = -1), the product of two values is +1 where the bits agree and
 * -1 where they differ, so a C-channel dot product is C - 2 * popcount(x XOR w) (tail bits are 0 in both).
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int32_t tb_conv2d_b1b1_get_buffer_size(const tb_conv2d_params *params)
{
    (void)params;
    return 0;
}

/* popcount(pad_pixel XOR w) for a padded tap: the pad pixel is all 0 (+1) or all real channels 1 (-1). */
static int32_t padded_tap_popcount(tb_pad_kind pad, int32_t c, const uint32_t *w, int32_t words)
{
    int32_t pop = 0;
    for (int32_t i = 0; i < words; i++) {
        const uint32_t pad_word = pad == TB_PAD_MINUS_ONE ? tb_tail_mask(c, i) : 0u;
        pop += tb_popcount32(pad_word ^ w[i]);
    }
    return pop;
}

tb_status tb_conv2d_b1b1(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                         const uint32_t *input, const uint32_t *weights, void *output)
{
    (void)ctx;
    TB_CHECK(tb_check_conv2d(params));
    TB_CHECK(tb_check_operands(out, params->out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS));
    {
        const tb_conv2d_params *p = params;
        const int32_t words = TB_WORDS(p->in_c);
        const int32_t filter_words = p->kernel_h * p->kernel_w * words;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                for (int32_t o = 0; o < p->out_c; o++) {
                    const uint32_t *w_o = weights + o * filter_words;
                    int32_t acc = 0;
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
                            const uint32_t *w_tap = w_o + (kh * p->kernel_w + kw) * words;
                            int32_t pop = 0;
                            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                                const uint32_t *x = input + (iy * p->in_w + ix) * words;
                                for (int32_t i = 0; i < words; i++)
                                    pop += tb_popcount32(x[i] ^ w_tap[i]);
                            } else if (p->pad == TB_PAD_ZERO) {
                                continue; /* a zero tap contributes nothing */
                            } else {
                                pop = padded_tap_popcount(p->pad, p->in_c, w_tap, words);
                            }
                            acc += p->in_c - 2 * pop;
                        }
                    }
                    tb_store(out, output, pixel, p->out_c, o, acc, &word);
                }
            }
        }
    }
    return TB_OK;
}
