/*
 * tb_kernels_internal.h - helpers shared by the reference kernels (not part of the public API).
 */
#ifndef TB_KERNELS_INTERNAL_H
#define TB_KERNELS_INTERNAL_H

#include "tb_kernels.h"

/* Largest |input_zero_point| for which x - zp (x an int8) fits the int16 im2col column. */
#define TB_ZP_MIN (-32640)
#define TB_ZP_MAX 32639

/* The input_zero_point range of an int16 stream input: any int16 value (x - zp fits int32). */
#define TB_ZP16_MIN (-32768)
#define TB_ZP16_MAX 32767

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
 * floor(x / 2^shift) clamped to [lo, hi], for shift in [0, 62]: the last step of every requantization (int8
 * codes: [-128, 127]; int16 codes: [-32768, 32767]).
 * C99 leaves the right shift of a negative value implementation-defined (6.5.7), so a negative x is shifted
 * as its complement: ~x = -x - 1 >= 0 and ~(~x >> s) = -floor((-x - 1) / 2^s) - 1 = floor(x / 2^s).
 */
static inline int32_t tb_floor_shift_clamp(int64_t x, int32_t shift, int32_t lo, int32_t hi)
{
    const int64_t y = x >= 0 ? x >> shift : ~(~x >> shift);
    return (int32_t)(y < lo ? lo : y > hi ? hi : y);
}

/* The int8 clamp of tb_floor_shift_clamp. */
static inline int8_t tb_requantize64(int64_t x, int32_t shift)
{
    return (int8_t)tb_floor_shift_clamp(x, shift, INT8_MIN, INT8_MAX);
}

/* The int16 clamp of tb_floor_shift_clamp. */
static inline int16_t tb_requantize64_s16(int64_t x, int32_t shift)
{
    return (int16_t)tb_floor_shift_clamp(x, shift, INT16_MIN, INT16_MAX);
}

/*
 * The requantization rule of the real-valued streams, the C twin of tinybnn/ir/requant.py (requantize):
 *   y = clamp(floor((v * multiplier + offset) / 2^shift), lo, hi)
 * with one 64-bit multiply-add and a floor shift; [lo, hi] = [-128, 127] (tb_requantize) or [-32768, 32767]
 * (tb_requantize_s16). The converter chooses the constants so that |v * multiplier| + |offset| < 2^62 and
 * shift is in [0, 62]: nothing overflows.
 */
static inline int8_t tb_requantize(int32_t v, int32_t multiplier, int64_t offset, int32_t shift)
{
    return tb_requantize64((int64_t)v * multiplier + offset, shift);
}

static inline int16_t tb_requantize_s16(int32_t v, int32_t multiplier, int64_t offset, int32_t shift)
{
    return tb_requantize64_s16((int64_t)v * multiplier + offset, shift);
}

/* GCC and Clang inline on request only what they judge small; tb_store, called per output value in the
 * kernels' loops, must be inlined whatever its output stages weigh (a call per value costs more). */
#if defined(__GNUC__)
#define TB_ALWAYS_INLINE __attribute__((always_inline))
#else
#define TB_ALWAYS_INLINE
#endif

/*
 * The fused output stage for output channel o of pixel `pixel` (channels are visited in increasing order):
 * TB_OUT_S32 stores acc; TB_OUT_S8 / TB_OUT_S16 store acc requantized with channel o's constants to an int8 /
 * int16 code; TB_OUT_BITS sets bit o of *word to (a' < tau[o]) (a' = ~acc where flip[o]) and stores *word
 * when it is full or o is the last channel. int32_t is two's complement (C99 7.18.1.1), so ~acc == -acc - 1
 * for every acc, without overflow.
 */
static inline TB_ALWAYS_INLINE void tb_store(const tb_out_params *out, void *output, int32_t pixel,
                                             int32_t out_c, int32_t o, int32_t acc, uint32_t *word)
{
    if (out->kind == TB_OUT_BITS) { /* first: the hidden layers of a binary network */
        const int32_t a = tb_bit(out->flip, o) ? ~acc : acc;
        if (a < out->thresholds[o])
            *word |= (uint32_t)1u << (o % TB_WORD_BITS);
        if (o % TB_WORD_BITS == TB_WORD_BITS - 1 || o == out_c - 1) {
            ((uint32_t *)output)[pixel * TB_WORDS(out_c) + o / TB_WORD_BITS] = *word;
            *word = 0u;
        }
#if TB_STREAM_OUTPUTS
    } else if (out->kind == TB_OUT_S32) {
        ((int32_t *)output)[pixel * out_c + o] = acc;
    } else if (out->kind == TB_OUT_S8) {
        ((int8_t *)output)[pixel * out_c + o] = tb_requantize(acc, out->multiplier[o], out->offset[o], out->shift[o]);
    } else { /* TB_OUT_S16 (tb_check_out accepts no other kind) */
        ((int16_t *)output)[pixel * out_c + o] =
            tb_requantize_s16(acc, out->multiplier[o], out->offset[o], out->shift[o]);
    }
#else
    } else { /* TB_OUT_S32: built without the stream stages, tb_check_out accepts no other kind */
        ((int32_t *)output)[pixel * out_c + o] = acc;
    }
#endif
}

/*
 * The per-element steps shared by the int8 and int16 stream kernels (tb_kernels_stream.h): the same sums in
 * the same width, only the clamp of the code they end in differs.
 */

/* The 64-bit sum a * mult_a + b * mult_b + offset of tb_add_s8 / tb_add_s16 (each product exact). */
static inline int64_t tb_add_sum(int32_t a, int32_t b, int64_t mult_a, int64_t mult_b, int64_t offset)
{
    return a * mult_a + b * mult_b + offset;
}

/* The 64-bit sum of tb_prelu_s8 / tb_prelu_s16 for a code x: the piece x falls in (x >= breakpoint: pos). */
static inline int64_t tb_prelu_sum(int32_t x, int32_t breakpoint, int32_t mult_pos, int64_t offset_pos,
                                   int32_t mult_neg, int64_t offset_neg)
{
    return x >= breakpoint ? (int64_t)x * mult_pos + offset_pos : (int64_t)x * mult_neg + offset_neg;
}

/*
 * The valid input range [*first, *last) along one axis of the pool window of output index o (padded taps
 * ignored); empty (first >= last) when the window holds only padding.
 */
static inline void tb_pool_window(int32_t o, int32_t stride, int32_t pad_before, int32_t kernel, int32_t in,
                                  int32_t *first, int32_t *last)
{
    const int32_t i0 = o * stride - pad_before, i1 = i0 + kernel;
    *first = i0 < 0 ? 0 : i0;
    *last = i1 > in ? in : i1;
    if (*last < *first)
        *last = *first;
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

/* 1 when p is 2-byte aligned (an int16 buffer). */
int tb_aligned2(const void *p);

/* TB_OK when the output stage and its buffer are usable for out_c channels (for TB_OUT_S8 / TB_OUT_S16: the
 * constants present and aligned, every shift in [0, 62]; an int8 output needs no alignment, an int16 one 2
 * bytes; TB_ERR_ARG when built with TB_STREAM_OUTPUTS=0). */
tb_status tb_check_out(const tb_out_params *out, int32_t out_c, const void *output);

/* TB_OK when the conv geometry is consistent (sizes positive, output size matches the formula). */
tb_status tb_check_conv2d(const tb_conv2d_params *p);

/* TB_OK when the int8 conv arguments (zero point, zero padding, scratch) are usable. */
tb_status tb_check_conv2d_s8(const tb_context *ctx, const tb_conv2d_params *p, int32_t scratch_bytes);

/* TB_OK when the dense sizes are positive. */
tb_status tb_check_dense(const tb_dense_params *p);

/* TB_OK when the arguments of a conv / dense reading an int16 stream with int8 weights (tb_*_s16s8 and their
 * _opt twins) are usable: geometry, operands, an int16 zero point, zero padding, a 2-byte aligned input. */
tb_status tb_check_conv2d_s16s8(const tb_conv2d_params *p, const tb_out_params *out, const int16_t *input,
                                const int8_t *weights, const void *output);
tb_status tb_check_dense_s16s8(const tb_dense_params *p, const tb_out_params *out, const int16_t *input,
                               const int8_t *weights, const void *output);

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
