/*
 * tb_kernels_internal.h - helpers shared by the reference kernels (not part of the public API).
 */
#ifndef TB_KERNELS_INTERNAL_H
#define TB_KERNELS_INTERNAL_H

#include "tb_kernels.h"

/* Largest |input_zero_point| for which x - zp (x an int8) fits the int16 im2col column. */
#define TB_ZP_MIN (-32640)
#define TB_ZP_MAX 32639

/*
 * Portable SWAR popcount (Hacker's Delight, fig. 5-2): no builtin, no table, branch-free.
 * Optimized kernels use the core's own instruction (CNT, CPOP, ...) and are tested against this one.
 */
static inline int32_t tb_popcount32(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int32_t)((x * 0x01010101u) >> 24);
}

/* Mask of the real channels in word `word` of a packed C-channel pixel (all ones except the last word). */
static inline uint32_t tb_tail_mask(int32_t c, int32_t word)
{
    const int32_t used = c - word * TB_WORD_BITS;
    return used >= TB_WORD_BITS ? 0xFFFFFFFFu : ((uint32_t)1u << used) - 1u;
}

/* Bit `i` of a packed bit vector. */
static inline uint32_t tb_bit(const uint32_t *bits, int32_t i)
{
    return (bits[i / TB_WORD_BITS] >> (i % TB_WORD_BITS)) & 1u;
}

/*
 * floor(x / 2^shift) clamped to [-128, 127], for shift in [0, 62]: the last step of every requantization.
 * C99 leaves the right shift of a negative value implementation-defined (6.5.7), so a negative x is shifted
 * as its complement: ~x = -x - 1 >= 0 and ~(~x >> s) = -floor((-x - 1) / 2^s) - 1 = floor(x / 2^s).
 */
static inline int8_t tb_requantize64(int64_t x, int32_t shift)
{
    const int64_t y = x >= 0 ? x >> shift : ~(~x >> shift);
    return (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
}

/*
 * The requantization rule of the int8 streams, the C twin of tinybnn/ir/requant.py (requantize):
 *   y = clamp(floor((v * multiplier + offset) / 2^shift), -128, 127)
 * with one 64-bit multiply-add and a floor shift. The converter chooses the constants so that
 * |v * multiplier| + |offset| < 2^62 and shift is in [0, 62]: nothing overflows.
 */
static inline int8_t tb_requantize(int32_t v, int32_t multiplier, int64_t offset, int32_t shift)
{
    return tb_requantize64((int64_t)v * multiplier + offset, shift);
}

/*
 * The fused output stage for output channel o of pixel `pixel` (channels are visited in increasing order):
 * TB_OUT_S32 stores acc; TB_OUT_S8 stores acc requantized with channel o's constants; TB_OUT_BITS sets bit
 * o of *word to (a' < tau[o]) (a' = ~acc where flip[o]) and stores *word when it is full or o is the last
 * channel. int32_t is two's complement (C99 7.18.1.1), so ~acc == -acc - 1 for every acc, without overflow.
 */
static inline void tb_store(const tb_out_params *out, void *output, int32_t pixel, int32_t out_c, int32_t o,
                            int32_t acc, uint32_t *word)
{
    if (out->kind == TB_OUT_S32) {
        ((int32_t *)output)[pixel * out_c + o] = acc;
        return;
    }
    if (out->kind == TB_OUT_S8) {
        ((int8_t *)output)[pixel * out_c + o] = tb_requantize(acc, out->multiplier[o], out->offset[o], out->shift[o]);
        return;
    }
    {
        const int32_t a = tb_bit(out->flip, o) ? ~acc : acc;
        if (a < out->thresholds[o])
            *word |= (uint32_t)1u << (o % TB_WORD_BITS);
        if (o % TB_WORD_BITS == TB_WORD_BITS - 1 || o == out_c - 1) {
            ((uint32_t *)output)[pixel * TB_WORDS(out_c) + o / TB_WORD_BITS] = *word;
            *word = 0u;
        }
    }
}

/*
 * Argument checks. Every kernel validates its parameters and operands and returns a tb_status, unless it is
 * built with TB_KERNEL_CHECKS=0: generated models pass constant parameters that the converter has already
 * validated, so firmware built by `tinybnn build` compiles the checks out (saving their flash and time).
 */
#ifndef TB_KERNEL_CHECKS
#define TB_KERNEL_CHECKS 1
#endif
#if TB_KERNEL_CHECKS
#define TB_CHECK(expr)                                                                                       \
    do {                                                                                                     \
        const tb_status tb_check_status_ = (expr);                                                           \
        if (tb_check_status_ != TB_OK)                                                                       \
            return tb_check_status_;                                                                         \
    } while (0)
#else
#define TB_CHECK(expr) ((void)0)
#endif

/* Which operands of tb_check_operands are uint32_t word arrays that must be 4-byte aligned. */
#define TB_WORD_INPUT 1u
#define TB_WORD_WEIGHTS 2u

/* TB_OK when the output stage suits out_c channels and input/weights are present (and aligned per `words`). */
tb_status tb_check_operands(const tb_out_params *out, int32_t out_c, const void *output, const void *input,
                            const void *weights, unsigned words);

/* 1 when p is 4-byte aligned. */
int tb_aligned4(const void *p);

/* TB_OK when the output stage and its buffer are usable for out_c channels (for TB_OUT_S8: the constants
 * present and aligned, every shift in [0, 62]; the output needs no alignment). */
tb_status tb_check_out(const tb_out_params *out, int32_t out_c, const void *output);

/* TB_OK when the conv geometry is consistent (sizes positive, output size matches the formula). */
tb_status tb_check_conv2d(const tb_conv2d_params *p);

/* TB_OK when the int8 conv arguments (zero point, zero padding, scratch) are usable. */
tb_status tb_check_conv2d_s8(const tb_context *ctx, const tb_conv2d_params *p, int32_t scratch_bytes);

/* TB_OK when the dense sizes are positive. */
tb_status tb_check_dense(const tb_dense_params *p);

/* TB_OK when the max-pool geometry is consistent and the buffers (and OR mask) are present and aligned. */
tb_status tb_check_maxpool(const tb_maxpool_params *p, const uint32_t *input, const uint32_t *output);

/* TB_OK when the pool geometry of p is consistent (sizes positive, output size matches the formula). */
tb_status tb_check_pool_geometry(const tb_maxpool_params *p);

/* Largest right shift of a requantization. */
#define TB_SHIFT_MAX 62

/*
 * The int16 im2col column of output pixel (oy, ox) of an int8 conv: col[(kh*KW + kw)*C + c] =
 * x[iy][ix][c] - zero_point for a valid tap, 0 for a padded one (zero padding of the real value).
 */
void tb_im2col_s8(const tb_conv2d_params *p, const int8_t *input, int32_t oy, int32_t ox, int16_t *col);

#endif /* TB_KERNELS_INTERNAL_H */
