/*
 * tb_conv2d_grouped_b1b1.c - reference grouped (and depthwise) binary conv2d: packed input x packed weights.
 *
 * Output channel o of group g dots its filter with the C/G channel bits [g * C/G, (g + 1) * C/G) of each
 * input pixel. Those bits start anywhere in the pixel's words, so they are gathered word by word into the
 * packing of the filter (bit 0 = the group's first channel, tail bits 0) and compared with XOR-popcount:
 * a C/G-channel dot product of +-1 values is C/G - 2 * popcount(x_g XOR w).
 */
#include <stddef.h>

#include "tb_kernels_grouped.h"
#include "tb_kernels_internal.h"

int32_t tb_conv2d_grouped_b1b1_get_buffer_size(const tb_grouped_conv2d_params *params)
{
    (void)params;
    return 0;
}

#if TB_KERNEL_CHECKS
static tb_status check_grouped_b1b1(const tb_grouped_conv2d_params *params, const tb_out_params *out,
                                    const uint32_t *input, const uint32_t *weights, const void *output)
{
    tb_status status;
    if (params == NULL)
        return TB_ERR_ARG;
    status = tb_check_conv2d(&params->conv);
    if (status != TB_OK)
        return status;
    if (params->groups < 1 || params->conv.in_c % params->groups != 0 || params->conv.out_c % params->groups != 0)
        return TB_ERR_ARG;
    return tb_check_operands(out, params->conv.out_c, output, input, weights, TB_WORD_INPUT | TB_WORD_WEIGHTS);
}
#endif

/*
 * Word i of the n-bit field of packed pixel x that starts at bit `first` (bits first + 32 i ... of x, as bit
 * 0 ...), tail bits past the field 0. Reads only words that hold bits of the field.
 */
static uint32_t field_word(const uint32_t *x, int32_t first, int32_t n, int32_t i)
{
    const int32_t bit = first + i * TB_WORD_BITS;
    const int32_t word = bit / TB_WORD_BITS, shift = bit % TB_WORD_BITS;
    const int32_t used = n - i * TB_WORD_BITS < TB_WORD_BITS ? n - i * TB_WORD_BITS : TB_WORD_BITS;
    uint32_t v = x[word] >> shift;
    if (shift != 0 && used > TB_WORD_BITS - shift)
        v |= x[word + 1] << (TB_WORD_BITS - shift);
    return v & tb_tail_mask(n, i);
}

tb_status tb_conv2d_grouped_b1b1(const tb_context *ctx, const tb_grouped_conv2d_params *params,
                                 const tb_out_params *out, const uint32_t *input, const uint32_t *weights,
                                 void *output)
{
    (void)ctx;
    TB_CHECK(check_grouped_b1b1(params, out, input, weights, output));
    {
        const tb_conv2d_params *p = &params->conv;
        const int32_t group_c = p->in_c / params->groups;   /* C/G channels per filter */
        const int32_t group_o = p->out_c / params->groups;  /* O/G outputs per group */
        const int32_t in_words = TB_WORDS(p->in_c);
        const int32_t tap_words = TB_WORDS(group_c);
        const int32_t filter_words = p->kernel_h * p->kernel_w * tap_words;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                const int32_t pixel = oy * p->out_w + ox;
                uint32_t word = 0u;
                for (int32_t o = 0; o < p->out_c; o++) {
                    const int32_t first = (o / group_o) * group_c; /* the group's first input channel */
                    const uint32_t *w_o = weights + o * filter_words;
                    int32_t acc = 0;
                    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
                        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
                            const uint32_t *w_tap = w_o + (kh * p->kernel_w + kw) * tap_words;
                            int32_t pop = 0;
                            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                                const uint32_t *x = input + (iy * p->in_w + ix) * in_words;
                                for (int32_t i = 0; i < tap_words; i++)
                                    pop += tb_popcount32(field_word(x, first, group_c, i) ^ w_tap[i]);
                            } else if (p->pad == TB_PAD_ZERO) {
                                continue; /* a zero tap contributes nothing */
                            } else { /* a +1 pixel has all bits 0, a -1 pixel all the group's C/G bits 1 */
                                for (int32_t i = 0; i < tap_words; i++) {
                                    const uint32_t pad = p->pad == TB_PAD_MINUS_ONE ? tb_tail_mask(group_c, i) : 0u;
                                    pop += tb_popcount32(pad ^ w_tap[i]);
                                }
                            }
                            acc += group_c - 2 * pop;
                        }
                    }
                    tb_store(out, output, pixel, p->out_c, o, acc, &word);
                }
            }
        }
    }
    return TB_OK;
}
