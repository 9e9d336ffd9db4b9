/*
 * tb_common.c - argument checks and the int8 im2col column shared by the reference kernels.
 */
#include <stddef.h>

#include "tb_kernels_internal.h"

int tb_aligned4(const void *p)
{
    return ((uintptr_t)p & 3u) == 0u;
}

int tb_aligned2(const void *p)
{
    return ((uintptr_t)p & 1u) == 0u;
}

tb_status tb_check_out(const tb_out_params *out, int32_t out_c, const void *output)
{
    if (out == NULL || output == NULL || out_c < 1)
        return TB_ERR_ARG;
    if (out->kind == TB_OUT_BITS) {
        if (out->thresholds == NULL || out->flip == NULL)
            return TB_ERR_ARG;
        if (!tb_aligned4(out->thresholds) || !tb_aligned4(out->flip))
            return TB_ERR_ALIGN;
    } else if ((out->kind == TB_OUT_S8 || out->kind == TB_OUT_S16) && TB_STREAM_OUTPUTS) {
        if (out->multiplier == NULL || out->offset == NULL || out->shift == NULL)
            return TB_ERR_ARG;
        if (!tb_aligned4(out->multiplier) || !tb_aligned4(out->offset) || !tb_aligned4(out->shift))
            return TB_ERR_ALIGN;
        for (int32_t o = 0; o < out_c; o++)
            if (out->shift[o] < 0 || out->shift[o] > TB_SHIFT_MAX)
                return TB_ERR_ARG;
        if (out->kind == TB_OUT_S16) /* int16 codes: 2 bytes */
            return tb_aligned2(output) ? TB_OK : TB_ERR_ALIGN;
        return TB_OK; /* int8 codes: no alignment */
    } else if (out->kind != TB_OUT_S32) {
        return TB_ERR_ARG;
    }
    return tb_aligned4(output) ? TB_OK : TB_ERR_ALIGN;
}

tb_status tb_check_operands(const tb_out_params *out, int32_t out_c, const void *output, const void *input,
                            const void *weights, unsigned words)
{
    const tb_status status = tb_check_out(out, out_c, output);
    if (status != TB_OK)
        return status;
    if (input == NULL || weights == NULL)
        return TB_ERR_ARG;
    if (((words & TB_WORD_INPUT) && !tb_aligned4(input)) || ((words & TB_WORD_WEIGHTS) && !tb_aligned4(weights)))
        return TB_ERR_ALIGN;
    return TB_OK;
}

/* The output size along one axis, or -1 when the window does not fit the padded input. */
static int32_t out_size(int32_t in, int32_t pad_before, int32_t pad_after, int32_t kernel, int32_t stride,
                        int32_t dilation)
{
    const int32_t span = in + pad_before + pad_after - dilation * (kernel - 1) - 1;
    return span < 0 ? -1 : span / stride + 1;
}

tb_status tb_check_conv2d(const tb_conv2d_params *p)
{
    if (p == NULL)
        return TB_ERR_ARG;
    if (p->in_h < 1 || p->in_w < 1 || p->in_c < 1 || p->out_c < 1 || p->kernel_h < 1 || p->kernel_w < 1 ||
        p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1)
        return TB_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
        return TB_ERR_ARG;
    if (p->pad != TB_PAD_ZERO && p->pad != TB_PAD_ONE && p->pad != TB_PAD_MINUS_ONE)
        return TB_ERR_ARG;
    if (p->out_h < 1 || p->out_w < 1 ||
        p->out_h != out_size(p->in_h, p->pad_top, p->pad_bottom, p->kernel_h, p->stride_h, p->dilation_h) ||
        p->out_w != out_size(p->in_w, p->pad_left, p->pad_right, p->kernel_w, p->stride_w, p->dilation_w))
        return TB_ERR_ARG;
    return TB_OK;
}

tb_status tb_check_conv2d_s8(const tb_context *ctx, const tb_conv2d_params *p, int32_t scratch_bytes)
{
    if (p->pad != TB_PAD_ZERO || p->input_zero_point < TB_ZP_MIN || p->input_zero_point > TB_ZP_MAX)
        return TB_ERR_ARG;
    if (ctx == NULL || ctx->buf == NULL || ctx->size < scratch_bytes)
        return TB_ERR_SCRATCH;
    return tb_aligned4(ctx->buf) ? TB_OK : TB_ERR_ALIGN;
}

tb_status tb_check_dense(const tb_dense_params *p)
{
    if (p == NULL || p->in_pixels < 1 || p->in_c < 1 || p->out_c < 1)
        return TB_ERR_ARG;
    return TB_OK;
}

/* The operand, zero-point and alignment checks of tb_check_conv2d_s16s8 / tb_check_dense_s16s8 (after their
 * geometry checks): zero_pad = the layer pads with zeros (a dense layer has no padding). */
static tb_status check_s16s8(const tb_out_params *out, int32_t out_c, const void *output, const int16_t *input,
                             const int8_t *weights, int32_t zero_point, int zero_pad)
{
    const tb_status status = tb_check_operands(out, out_c, output, input, weights, 0u);
    if (status != TB_OK)
        return status;
    if (!zero_pad || zero_point < TB_ZP16_MIN || zero_point > TB_ZP16_MAX)
        return TB_ERR_ARG;
    return tb_aligned2(input) ? TB_OK : TB_ERR_ALIGN;
}

tb_status tb_check_conv2d_s16s8(const tb_conv2d_params *p, const tb_out_params *out, const int16_t *input,
                                const int8_t *weights, const void *output)
{
    const tb_status status = tb_check_conv2d(p);
    return status != TB_OK ? status : check_s16s8(out, p->out_c, output, input, weights, p->input_zero_point,
                                                  p->pad == TB_PAD_ZERO);
}

tb_status tb_check_dense_s16s8(const tb_dense_params *p, const tb_out_params *out, const int16_t *input,
                               const int8_t *weights, const void *output)
{
    const tb_status status = tb_check_dense(p);
    return status != TB_OK ? status : check_s16s8(out, p->out_c, output, input, weights, p->input_zero_point, 1);
}

void tb_im2col_s8(const tb_conv2d_params *p, const int8_t *input, int32_t oy, int32_t ox, int16_t *col)
{
    int32_t k = 0;
    for (int32_t kh = 0; kh < p->kernel_h; kh++) {
        const int32_t iy = oy * p->stride_h - p->pad_top + kh * p->dilation_h;
        for (int32_t kw = 0; kw < p->kernel_w; kw++) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kw * p->dilation_w;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                const int8_t *x = input + (iy * p->in_w + ix) * p->in_c;
                for (int32_t c = 0; c < p->in_c; c++)
                    col[k++] = (int16_t)(x[c] - p->input_zero_point);
            } else {
                for (int32_t c = 0; c < p->in_c; c++)
                    col[k++] = 0;
            }
        }
    }
}

static int32_t pool_out_size(int32_t in, int32_t pad_before, int32_t pad_after, int32_t kernel, int32_t stride)
{
    const int32_t span = in + pad_before + pad_after - kernel;
    return span < 0 ? -1 : span / stride + 1;
}

tb_status tb_check_pool_geometry(const tb_maxpool_params *p)
{
    if (p == NULL || p->in_h < 1 || p->in_w < 1 || p->c < 1 || p->kernel_h < 1 || p->kernel_w < 1 ||
        p->stride_h < 1 || p->stride_w < 1)
        return TB_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0)
        return TB_ERR_ARG;
    if (p->out_h < 1 || p->out_w < 1 ||
        p->out_h != pool_out_size(p->in_h, p->pad_top, p->pad_bottom, p->kernel_h, p->stride_h) ||
        p->out_w != pool_out_size(p->in_w, p->pad_left, p->pad_right, p->kernel_w, p->stride_w))
        return TB_ERR_ARG;
    return TB_OK;
}

tb_status tb_check_maxpool(const tb_maxpool_params *p, const uint32_t *input, const uint32_t *output)
{
    const tb_status status = tb_check_pool_geometry(p);
    if (status != TB_OK)
        return status;
    if (input == NULL || output == NULL)
        return TB_ERR_ARG;
    if ((p->or_mask != NULL && !tb_aligned4(p->or_mask)) || !tb_aligned4(input) || !tb_aligned4(output))
        return TB_ERR_ALIGN;
    return TB_OK;
}
