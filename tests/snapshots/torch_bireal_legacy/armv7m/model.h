/*
 * model.h - tinybnn model generated from "torch_bireal_legacy.onnx" by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash d052fc2e851604ce.
 *
 * Input:  int8 [8][8][1] (HWC): real = scale * (q - zero_point),
 *         mode "calibrated", scale 0.0625, zero point -128 (see manifest.json),
 *         quantized on the host or by tb_model_quantize (model_io.h) from a float sample.
 * Output: int32 accumulators [10] (F); the per-channel
 *         dequantization (scale, bias) is applied on the host (manifest.json "output") or by
 *         tb_model_dequantize.
 *
 * Not reentrant: the activations live in one static arena of TB_MODEL_ARENA_BYTES bytes.
 */
#ifndef TB_MODEL_H
#define TB_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** sha256 of the structure, weights and quantization parameters, truncated to 64 bits (hex). */
#define TB_MODEL_HASH "d052fc2e851604ce"

#define TB_MODEL_NUM_LAYERS 13

/** Input: int8 elements, shape and zero point (real = scale * (q - TB_MODEL_INPUT_ZERO_POINT)). */
#define TB_MODEL_INPUT_SIZE 64
#define TB_MODEL_INPUT_BYTES 64
#define TB_MODEL_INPUT_RANK 3
#define TB_MODEL_INPUT_SHAPE { 8, 8, 1 }
#define TB_MODEL_INPUT_ZERO_POINT (-128)
/* TB_MODEL_INPUT_SCALE is 0.0625 (host side only) */

/** Output: int32 elements and shape. */
#define TB_MODEL_OUTPUT_SIZE 10
#define TB_MODEL_OUTPUT_BYTES 40
#define TB_MODEL_OUTPUT_RANK 1
#define TB_MODEL_OUTPUT_SHAPE { 10 }

/** RAM of the activation arena (the input is copied in; the output is written to the caller's buffer). */
#define TB_MODEL_ARENA_BYTES 4936u
/** Flash of the constant arrays (packed weights, thresholds, masks); code not included. */
#define TB_MODEL_WEIGHT_BYTES 4876u

/** Return value of tb_model_run on success; a failing kernel's tb_status (< 0) otherwise. */
#define TB_MODEL_OK 0
#define TB_MODEL_ERR_ARG (-1)
/** Errors of the float boundary: an input value is NaN; tb_model_run failed inside tb_model_classify. */
#define TB_MODEL_ERR_INPUT (-16)
#define TB_MODEL_ERR_RUN (-17)

/** Layer names (the original ONNX node names), indexed by layer. */
extern const char *const tb_model_layer_names[TB_MODEL_NUM_LAYERS];
/** Bytes of each layer's output (packed bits: uint32 words; the last layer: int32 accumulators). */
extern const uint32_t tb_model_layer_output_bytes[TB_MODEL_NUM_LAYERS];

/**
 * Called after each layer with its output in device representation (bits packed in uint32 words,
 * HWC; the last layer's int32 accumulators). The data is only valid during the call.
 */
typedef void (*tb_layer_hook)(int layer_index, const void *data, uint32_t bytes, void *ctx);

/**
 * Run the model on one sample.
 * @param input  int8_t[TB_MODEL_INPUT_SIZE] (copied into the arena; any alignment)
 * @param output int32_t[TB_MODEL_OUTPUT_SIZE]
 * @return TB_MODEL_OK, TB_MODEL_ERR_ARG for a NULL pointer, or a kernel's negative tb_status
 */
int tb_model_run(const int8_t *input, int32_t *output);

/** tb_model_run calling hook(layer, output, bytes, hook_ctx) after every layer (hook may be NULL). */
int tb_model_run_hooked(const int8_t *input, int32_t *output, tb_layer_hook hook, void *hook_ctx);

/**
 * The activation arena (TB_MODEL_ARENA_BYTES bytes, 4-byte aligned). Free between two runs, e.g. to stage a
 * float sample for tb_model_quantize; the next run overwrites it.
 */
void *tb_model_arena(void);

/** The float boundary on the device: tb_model_quantize, tb_model_dequantize, tb_model_classify (model_io.h). */
#define TB_MODEL_HAS_CLASSIFY 1

#ifdef __cplusplus
}
#endif

#endif /* TB_MODEL_H */
