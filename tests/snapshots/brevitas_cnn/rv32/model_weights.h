/*
 * model_weights.h - constant arrays of the tinybnn model generated from "brevitas_cnn.onnx" (hash f495e4f506e1dbf7).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "Conv_0" conv2d s8 x b1 -> bits */
#define TB_L0_CONV_0_FLIP_COUNT 1
#define TB_L0_CONV_0_THRESHOLDS_COUNT 16
#define TB_L0_CONV_0_WEIGHTS_COUNT 16
extern const uint32_t tb_l0_conv_0_flip[TB_L0_CONV_0_FLIP_COUNT];
extern const int32_t tb_l0_conv_0_thresholds[TB_L0_CONV_0_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_conv_0_weights[TB_L0_CONV_0_WEIGHTS_COUNT];

/* layer 1: "Conv_1" conv2d b1 x b1 -> bits */
#define TB_L1_CONV_1_FLIP_COUNT 1
#define TB_L1_CONV_1_THRESHOLDS_COUNT 32
#define TB_L1_CONV_1_WEIGHTS_COUNT 560
extern const uint32_t tb_l1_conv_1_flip[TB_L1_CONV_1_FLIP_COUNT];
extern const int32_t tb_l1_conv_1_thresholds[TB_L1_CONV_1_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_conv_1_weights[TB_L1_CONV_1_WEIGHTS_COUNT];

/* layer 3: "Gemm_0" dense b1 x b1 -> int32 */
#define TB_L3_GEMM_0_WEIGHTS_COUNT 250
extern const uint32_t tb_l3_gemm_0_weights[TB_L3_GEMM_0_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
