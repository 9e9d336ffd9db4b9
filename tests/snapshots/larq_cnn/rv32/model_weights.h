/*
 * model_weights.h - constant arrays of the tinybnn model generated from "larq_cnn.onnx" (hash 3fe8e941d1ce816f).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "larq_cnn/quant_conv2d/QuantConv2D" conv2d s8 x b1 -> bits */
#define TB_L0_LARQ_CNN_QUANT_CONV2D_QU_FLIP_COUNT 1
#define TB_L0_LARQ_CNN_QUANT_CONV2D_QU_THRESHOLDS_COUNT 16
#define TB_L0_LARQ_CNN_QUANT_CONV2D_QU_WEIGHTS_COUNT 16
extern const uint32_t tb_l0_larq_cnn_quant_conv2d_qu_flip[TB_L0_LARQ_CNN_QUANT_CONV2D_QU_FLIP_COUNT];
extern const int32_t tb_l0_larq_cnn_quant_conv2d_qu_thresholds[TB_L0_LARQ_CNN_QUANT_CONV2D_QU_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_larq_cnn_quant_conv2d_qu_weights[TB_L0_LARQ_CNN_QUANT_CONV2D_QU_WEIGHTS_COUNT];

/* layer 1: "larq_cnn/quant_conv2d_1/QuantConv2D" conv2d b1 x b1 -> bits */
#define TB_L1_LARQ_CNN_QUANT_CONV2D_1_FLIP_COUNT 1
#define TB_L1_LARQ_CNN_QUANT_CONV2D_1_THRESHOLDS_COUNT 32
#define TB_L1_LARQ_CNN_QUANT_CONV2D_1_WEIGHTS_COUNT 416
extern const uint32_t tb_l1_larq_cnn_quant_conv2d_1_flip[TB_L1_LARQ_CNN_QUANT_CONV2D_1_FLIP_COUNT];
extern const int32_t tb_l1_larq_cnn_quant_conv2d_1_thresholds[TB_L1_LARQ_CNN_QUANT_CONV2D_1_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_larq_cnn_quant_conv2d_1_weights[TB_L1_LARQ_CNN_QUANT_CONV2D_1_WEIGHTS_COUNT];

/* layer 3: "larq_cnn/quant_conv2d_2/QuantConv2D" conv2d b1 x b1 -> bits */
#define TB_L3_LARQ_CNN_QUANT_CONV2D_2_FLIP_COUNT 1
#define TB_L3_LARQ_CNN_QUANT_CONV2D_2_THRESHOLDS_COUNT 32
#define TB_L3_LARQ_CNN_QUANT_CONV2D_2_WEIGHTS_COUNT 416
extern const uint32_t tb_l3_larq_cnn_quant_conv2d_2_flip[TB_L3_LARQ_CNN_QUANT_CONV2D_2_FLIP_COUNT];
extern const int32_t tb_l3_larq_cnn_quant_conv2d_2_thresholds[TB_L3_LARQ_CNN_QUANT_CONV2D_2_THRESHOLDS_COUNT];
extern const uint32_t tb_l3_larq_cnn_quant_conv2d_2_weights[TB_L3_LARQ_CNN_QUANT_CONV2D_2_WEIGHTS_COUNT];

/* layer 4: "larq_cnn/quant_dense/MatMul" dense b1 x b1 -> int32 */
#define TB_L4_LARQ_CNN_QUANT_DENSE_MAT_WEIGHTS_COUNT 80
extern const uint32_t tb_l4_larq_cnn_quant_dense_mat_weights[TB_L4_LARQ_CNN_QUANT_DENSE_MAT_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
