/*
 * model_io.h - the float boundary of the tinybnn model "brevitas_dscnn.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash ba4602c78998d13e.
 *
 * A float sample in, the class and the scores out, as `tinybnn predict` computes them on the host
 * (model_io.c). Not reentrant, as tb_model_run.
 */
#ifndef TB_MODEL_IO_H
#define TB_MODEL_IO_H

#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Quantize one float sample to the model's int8 input codes, exactly as the host does.
 * @param input  TB_MODEL_INPUT_SIZE floats, the sample in the model's own input layout
 *               [1][8][8] (what `tinybnn predict` takes, flattened)
 * @param codes  int8_t[TB_MODEL_INPUT_SIZE] in the device layout (tb_model_run's input)
 * @return TB_MODEL_OK, TB_MODEL_ERR_ARG for a NULL pointer, TB_MODEL_ERR_INPUT for a NaN
 */
int tb_model_quantize(const float *input, int8_t *codes);

/**
 * The output affine and the class: scores (may be NULL) receives TB_MODEL_OUTPUT_SIZE floats (the same as
 * `tinybnn predict`, within float rounding); returns the class (the first maximum) or TB_MODEL_ERR_ARG.
 */
int tb_model_dequantize(const int32_t *output, float *scores);

/**
 * tb_model_quantize, tb_model_run and tb_model_dequantize in a row (static buffers of TB_MODEL_INPUT_SIZE
 * int8 codes and TB_MODEL_OUTPUT_SIZE int32 outputs): the class, or TB_MODEL_ERR_ARG, TB_MODEL_ERR_INPUT or
 * TB_MODEL_ERR_RUN.
 */
int tb_model_classify(const float *input, float *scores);

#ifdef __cplusplus
}
#endif

#endif /* TB_MODEL_IO_H */
