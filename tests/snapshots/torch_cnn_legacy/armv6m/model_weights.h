/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_cnn_legacy.onnx" (hash 10d0aaa33a74263f).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "/0/Conv" conv2d s8 x s16 -> bits */
#define TB_L0_0_CONV_FLIP_COUNT 1
#define TB_L0_0_CONV_THRESHOLDS_COUNT 16
#define TB_L0_0_CONV_WEIGHTS_COUNT 80
extern const uint32_t tb_l0_0_conv_flip[TB_L0_0_CONV_FLIP_COUNT];
extern const int32_t tb_l0_0_conv_thresholds[TB_L0_0_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_0_conv_weights[TB_L0_0_CONV_WEIGHTS_COUNT];

/* layer 1: "/3/Conv" conv2d b1 x b1 -> bits */
#define TB_L1_3_CONV_FLIP_COUNT 1
#define TB_L1_3_CONV_THRESHOLDS_COUNT 32
#define TB_L1_3_CONV_WEIGHTS_COUNT 288
extern const uint32_t tb_l1_3_conv_flip[TB_L1_3_CONV_FLIP_COUNT];
extern const int32_t tb_l1_3_conv_thresholds[TB_L1_3_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_3_conv_weights[TB_L1_3_CONV_WEIGHTS_COUNT];

/* layer 3: "/7/Conv" conv2d b1 x b1 -> bits */
#define TB_L3_7_CONV_FLIP_COUNT 2
#define TB_L3_7_CONV_THRESHOLDS_COUNT 40
#define TB_L3_7_CONV_WEIGHTS_COUNT 360
extern const uint32_t tb_l3_7_conv_flip[TB_L3_7_CONV_FLIP_COUNT];
extern const int32_t tb_l3_7_conv_thresholds[TB_L3_7_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l3_7_conv_weights[TB_L3_7_CONV_WEIGHTS_COUNT];

/* layer 4: "/11/MatMul" dense b1 x b1 -> int32 */
#define TB_L4_11_MATMUL_WEIGHTS_COUNT 80
extern const uint32_t tb_l4_11_matmul_weights[TB_L4_11_MATMUL_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
