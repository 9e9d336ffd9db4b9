/*
 * tb_kernels.h - tinybnn portable C99 REFERENCE kernels (public API).
 *
 * These kernels define what every optimized kernel must compute, bit for bit; they are the oracle the
 * optimized variants are tested against and they stay forever. They match tinybnn/ir/golden.py exactly.
 *
 * Conventions (the contract is tinybnn/ir/layers.py):
 *   - Layout is HWC per sample (one sample per call), no batch axis. Dense inputs are (P, C): P pixels of C
 *     channels, i.e. a flattened (H, W, C) tensor keeps its per-pixel word packing.
 *   - Binary tensors ("b1") are packed along the channel axis into 32-bit words, LSB first:
 *     bit j of word w holds channel 32*w + j; bit 0 means +1, bit 1 means -1; tail bits past the last
 *     channel are 0 (inputs must satisfy this, outputs always do). A (H, W, C) binary tensor is
 *     uint32_t[H][W][TB_WORDS(C)].
 *   - int8 tensors ("s8") are plain int8_t[H][W][C]; the real value is scale * (q - input_zero_point).
 *   - Weights are OHWI: binary uint32_t[O][KH][KW][TB_WORDS(C)]; int8 int8_t[O][KH][KW][C]; int8 input
 *     with binary weights packs the whole (kh, kw, c) tap axis: uint32_t[O][TB_WORDS(KH*KW*C)].
 *   - Output stage (tb_out_params): TB_OUT_S32 writes the int32 accumulators int32_t[OH][OW][O];
 *     TB_OUT_BITS fuses threshold-and-pack: bit[o] = (a' < thresholds[o]) with a' = ~acc (= -acc - 1) when
 *     bit o of the packed flip mask is set, else acc; written as uint32_t[OH][OW][TB_WORDS(O)];
 *     TB_OUT_S8 requantizes each accumulator to an int8 code of a real-valued stream,
 *     y = clamp(floor((acc * multiplier[o] + offset[o]) / 2^shift[o]), -128, 127) (tinybnn/ir/requant.py),
 *     written as int8_t[OH][OW][O]; TB_OUT_S16 is the same rule with the clamp [-32768, 32767], written as
 *     int16_t[OH][OW][O]. Built with TB_STREAM_OUTPUTS=0 (tinybnn does so for a model whose conv/dense
 *     layers write no real-valued stream) the kernels leave the TB_OUT_S8 / TB_OUT_S16 stages out of their
 *     code and refuse those kinds with TB_ERR_ARG (when built with their argument checks).
 *   - Every word buffer (binary tensors, int32 outputs, packed weights, thresholds, masks, per-channel
 *     constants) must be 4-byte aligned. int8 buffers (an int8 input, a TB_OUT_S8 output) need no alignment;
 *     int16 ones (int16 weights or input, a TB_OUT_S16 output) must be 2-byte aligned.
 *     Scratch (tb_context.buf) must be 4-byte aligned.
 *   - No malloc, no float, no VLA, no recursion, no static or global state: the caller owns all memory
 *     (CMSIS-NN style: query <fn>_get_buffer_size(), pass the scratch in a tb_context).
 *   - Inputs, weights and outputs must not overlap.
 */
#ifndef TB_KERNELS_H
#define TB_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1: the TB_OUT_S8 / TB_OUT_S16 output stages are built in; 0: left out (smaller code, see above). */
#ifndef TB_STREAM_OUTPUTS
#define TB_STREAM_OUTPUTS 1
#endif

/** Bits per packed word. */
#define TB_WORD_BITS 32
/** Number of 32-bit words holding n bits (n >= 0). */
#define TB_WORDS(n) (((n) + (TB_WORD_BITS - 1)) / TB_WORD_BITS)

/** Status returned by every kernel. */
typedef enum {
    TB_OK = 0,           /**< success */
    TB_ERR_ARG = -1,     /**< NULL pointer, non-positive size, inconsistent shapes or unsupported option */
    TB_ERR_ALIGN = -2,   /**< a word buffer (or the scratch) is not 4-byte aligned */
    TB_ERR_SCRATCH = -3  /**< scratch missing or smaller than <fn>_get_buffer_size() */
} tb_status;

/** Caller-owned scratch memory (like cmsis_nn_context). buf may be NULL when the size needed is 0. */
typedef struct {
    void *buf;    /**< 4-byte aligned scratch */
    int32_t size; /**< bytes available at buf */
} tb_context;

/** What a conv/dense layer writes. */
typedef enum {
    TB_OUT_BITS = 0, /**< thresholded, packed bits uint32_t[..][TB_WORDS(O)] */
    TB_OUT_S32 = 1,  /**< raw int32 accumulators int32_t[..][O] (the output layer) */
    TB_OUT_S8 = 2,   /**< requantized int8 codes int8_t[..][O] (a real-valued stream) */
    TB_OUT_S16 = 3   /**< requantized int16 codes int16_t[..][O] (a real-valued stream), 2-byte aligned */
} tb_out_kind;

/**
 * Output stage of a conv/dense layer. thresholds/flip are used (and required) with TB_OUT_BITS only;
 * multiplier/offset/shift with TB_OUT_S8 and TB_OUT_S16 only: y[o] = clamp(floor((acc * multiplier[o] +
 * offset[o]) / 2^shift[o]), lo, hi), [lo, hi] = [-128, 127] (S8) or [-32768, 32767] (S16), computed in 64
 * bits; the caller guarantees |acc * multiplier[o]| + |offset[o]| < 2^62 and shift[o] in [0, 62]. The fields
 * after the first three may be left out of an initializer.
 */
typedef struct {
    tb_out_kind kind;
    const int32_t *thresholds; /**< [O] tau: bit = (a' < tau[o]) */
    const uint32_t *flip;      /**< [TB_WORDS(O)] packed: bit o set => a' = ~acc for channel o */
    const int32_t *multiplier; /**< [O] TB_OUT_S8/S16: the int32 multiplier of channel o */
    const int64_t *offset;     /**< [O] TB_OUT_S8/S16: bias, output zero point and rounding half, times 2^shift */
    const int32_t *shift;      /**< [O] TB_OUT_S8/S16: the right shift of channel o, in [0, 62] */
} tb_out_params;

/** How a binary conv fills taps outside the input (int8 convs always pad with zero). */
typedef enum {
    TB_PAD_ZERO = 0,     /**< padded taps are skipped: they contribute 0 (only valid taps count) */
    TB_PAD_ONE = 1,      /**< padded taps are +1 on every channel (bits 0) */
    TB_PAD_MINUS_ONE = 2 /**< padded taps are -1 on every real channel (bits 1, tail bits 0) */
} tb_pad_kind;

/**
 * Parameters of the conv2d family (tb_conv2d_b1b1, tb_conv2d_s8s8, tb_conv2d_s8b1).
 * Output size must equal (in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride + 1 per axis.
 * Input pixel of output (oy, ox), tap (kh, kw): (oy * stride_h - pad_top + kh * dilation_h,
 * ox * stride_w - pad_left + kw * dilation_w).
 */
typedef struct {
    int32_t in_h, in_w, in_c;        /**< input shape (H, W, C), all >= 1 */
    int32_t out_h, out_w, out_c;     /**< output shape (OH, OW, O), all >= 1 */
    int32_t kernel_h, kernel_w;      /**< >= 1 */
    int32_t stride_h, stride_w;      /**< >= 1 */
    int32_t dilation_h, dilation_w;  /**< >= 1 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /**< >= 0 */
    tb_pad_kind pad;                 /**< b1b1 only; must be TB_PAD_ZERO for s8 and s16 inputs */
    int32_t input_zero_point;        /**< s8 inputs: in [-32640, 32639] (x - zp must fit int16); s16 inputs
                                          (tb_conv2d_s16s8): any int16 value */
} tb_conv2d_params;

/** Parameters of the dense family (tb_dense_b1b1, tb_dense_s8s8, tb_dense_s8b1). K = in_pixels * in_c. */
typedef struct {
    int32_t in_pixels;        /**< P >= 1 (1 unless the input is a flattened (H, W, C) tensor) */
    int32_t in_c;             /**< C >= 1 */
    int32_t out_c;            /**< O >= 1 */
    int32_t input_zero_point; /**< s8 and s16 inputs only (s16: any int16 value) */
} tb_dense_params;

/**
 * Parameters of tb_maxpool_b1. out = (in + pad_before + pad_after - kernel) / stride + 1 per axis;
 * padded taps are ignored (a window with no valid tap yields -1, the AND of nothing, or +1 on OR channels).
 */
typedef struct {
    int32_t in_h, in_w, c;           /**< input shape (H, W, C), all >= 1 */
    int32_t out_h, out_w;            /**< output shape (OH, OW, C) */
    int32_t kernel_h, kernel_w;      /**< >= 1 */
    int32_t stride_h, stride_w;      /**< >= 1 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /**< >= 0 */
    const uint32_t *or_mask;         /**< [TB_WORDS(C)] packed; set bits take the OR (min of +-1) instead of
                                          the AND (max of +-1); NULL = AND on every channel */
} tb_maxpool_params;

/* ------------------------------------------------------------------------------------------------ */

/** Scratch bytes needed by tb_conv2d_b1b1: always 0. */
int32_t tb_conv2d_b1b1_get_buffer_size(const tb_conv2d_params *params);

/**
 * Binary conv2d: binary input x binary weights (XNOR-popcount).
 *
 * acc[oy][ox][o] = sum over taps of (C - 2 * popcount(x_tap XOR w_tap)), where a tap outside the input is
 * skipped (TB_PAD_ZERO) or replaced by an all +1 (TB_PAD_ONE) / all -1 (TB_PAD_MINUS_ONE) pixel.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry; params->pad selects the padding value
 * @param out     output stage (bits with thresholds and flip mask, int32, or requantized int8 / int16)
 * @param input   uint32_t[in_h][in_w][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param weights uint32_t[out_c][kernel_h][kernel_w][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param output  uint32_t[out_h][out_w][TB_WORDS(out_c)] (TB_OUT_BITS) or int32_t[out_h][out_w][out_c]
 *                (TB_OUT_S32), 4-byte aligned; or int8_t[out_h][out_w][out_c] (TB_OUT_S8), any alignment; or
 *                int16_t[out_h][out_w][out_c] (TB_OUT_S16), 2-byte aligned
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_conv2d_b1b1(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                         const uint32_t *input, const uint32_t *weights, void *output);

/** Scratch bytes needed by tb_conv2d_s8s8: one int16 im2col column, 2 * kernel_h * kernel_w * in_c. */
int32_t tb_conv2d_s8s8_get_buffer_size(const tb_conv2d_params *params);

/**
 * int8 conv2d (first layer): int8 input x int8 weights.
 *
 * acc[oy][ox][o] = sum over valid taps and channels of w * (x - input_zero_point); padding is zero.
 * Accumulates in int32: the caller guarantees kernel_h * kernel_w * in_c * 127 * max|x - zp| < 2^31.
 *
 * @param ctx     scratch of tb_conv2d_s8s8_get_buffer_size() bytes, 4-byte aligned
 * @param params  geometry and input_zero_point; params->pad must be TB_PAD_ZERO
 * @param out     output stage
 * @param input   int8_t[in_h][in_w][in_c]
 * @param weights int8_t[out_c][kernel_h][kernel_w][in_c]
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG, TB_ERR_ALIGN or TB_ERR_SCRATCH
 */
tb_status tb_conv2d_s8s8(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                         const int8_t *input, const int8_t *weights, void *output);

/** Scratch bytes needed by tb_conv2d_s8b1: one int16 im2col column, 2 * kernel_h * kernel_w * in_c. */
int32_t tb_conv2d_s8b1_get_buffer_size(const tb_conv2d_params *params);

/**
 * int8 conv2d (first layer): int8 input x binary (+-1) weights.
 *
 * acc[oy][ox][o] = sum over valid taps and channels of w * (x - input_zero_point), w = +1 (bit 0) or -1
 * (bit 1); padding is zero.
 *
 * @param ctx     scratch of tb_conv2d_s8b1_get_buffer_size() bytes, 4-byte aligned
 * @param params  geometry and input_zero_point; params->pad must be TB_PAD_ZERO
 * @param out     output stage
 * @param input   int8_t[in_h][in_w][in_c]
 * @param weights uint32_t[out_c][TB_WORDS(kernel_h * kernel_w * in_c)]: bits in (kh, kw, c) order,
 *                4-byte aligned, tail bits 0
 * @param output  as for tb_conv2d_b1b1
 * @return TB_OK, TB_ERR_ARG, TB_ERR_ALIGN or TB_ERR_SCRATCH
 */
tb_status tb_conv2d_s8b1(const tb_context *ctx, const tb_conv2d_params *params, const tb_out_params *out,
                         const int8_t *input, const uint32_t *weights, void *output);

/* ------------------------------------------------------------------------------------------------ */

/** Scratch bytes needed by tb_dense_b1b1: always 0. */
int32_t tb_dense_b1b1_get_buffer_size(const tb_dense_params *params);

/**
 * Binary dense: acc[o] = K - 2 * popcount(x XOR w[o]) over all P * TB_WORDS(C) words, K = P * C.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  in_pixels, in_c, out_c
 * @param out     output stage
 * @param input   uint32_t[in_pixels][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param weights uint32_t[out_c][in_pixels][TB_WORDS(in_c)], 4-byte aligned, tail bits 0
 * @param output  uint32_t[TB_WORDS(out_c)] (TB_OUT_BITS) or int32_t[out_c] (TB_OUT_S32), 4-byte aligned; or
 *                int8_t[out_c] (TB_OUT_S8), any alignment; or int16_t[out_c] (TB_OUT_S16), 2-byte aligned
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_dense_b1b1(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                        const uint32_t *input, const uint32_t *weights, void *output);

/** Scratch bytes needed by tb_dense_s8s8: always 0. */
int32_t tb_dense_s8s8_get_buffer_size(const tb_dense_params *params);

/**
 * int8 dense (first layer): acc[o] = sum_k w[o][k] * (x[k] - input_zero_point), k over K = P * C.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  in_pixels, in_c, out_c, input_zero_point
 * @param out     output stage
 * @param input   int8_t[in_pixels * in_c]
 * @param weights int8_t[out_c][in_pixels * in_c]
 * @param output  as for tb_dense_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_dense_s8s8(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                        const int8_t *input, const int8_t *weights, void *output);

/** Scratch bytes needed by tb_dense_s8b1: always 0. */
int32_t tb_dense_s8b1_get_buffer_size(const tb_dense_params *params);

/**
 * int8 dense (first layer) with binary weights: acc[o] = sum_k (+-1) * (x[k] - input_zero_point).
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  in_pixels, in_c, out_c, input_zero_point
 * @param out     output stage
 * @param input   int8_t[in_pixels * in_c]
 * @param weights uint32_t[out_c][TB_WORDS(in_pixels * in_c)], 4-byte aligned, tail bits 0
 * @param output  as for tb_dense_b1b1
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_dense_s8b1(const tb_context *ctx, const tb_dense_params *params, const tb_out_params *out,
                        const int8_t *input, const uint32_t *weights, void *output);

/* ------------------------------------------------------------------------------------------------ */

/** Scratch bytes needed by tb_maxpool_b1: always 0. */
int32_t tb_maxpool_b1_get_buffer_size(const tb_maxpool_params *params);

/**
 * Bit max-pool: per channel the AND of the window's valid bits (max of +-1), or the OR where or_mask is
 * set (min of +-1, for channels whose sign flips after the pool). Padded taps are ignored.
 *
 * @param ctx     scratch (unused; may be NULL)
 * @param params  geometry and OR mask
 * @param input   uint32_t[in_h][in_w][TB_WORDS(c)], 4-byte aligned, tail bits 0
 * @param output  uint32_t[out_h][out_w][TB_WORDS(c)], 4-byte aligned; tail bits written as 0
 * @return TB_OK, TB_ERR_ARG or TB_ERR_ALIGN
 */
tb_status tb_maxpool_b1(const tb_context *ctx, const tb_maxpool_params *params, const uint32_t *input,
                        uint32_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_KERNELS_H */
