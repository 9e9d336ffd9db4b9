/*
 * model_weights.h - constant arrays of the tinybnn model generated from "brevitas_dscnn.onnx" (hash ba4602c78998d13e).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "Conv_0" conv2d s8 x s8 -> bits */
#define TB_L0_CONV_0_FLIP_COUNT 1
#define TB_L0_CONV_0_THRESHOLDS_COUNT 32
#define TB_L0_CONV_0_WEIGHTS_COUNT 160
extern const uint32_t tb_l0_conv_0_flip[TB_L0_CONV_0_FLIP_COUNT];
extern const int32_t tb_l0_conv_0_thresholds[TB_L0_CONV_0_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_conv_0_weights[TB_L0_CONV_0_WEIGHTS_COUNT];

/* layer 1: "Conv_1" conv2d grouped (32 groups) b1 x b1 -> bits */
#define TB_L1_CONV_1_FLIP_COUNT 1
#define TB_L1_CONV_1_THRESHOLDS_COUNT 32
#define TB_L1_CONV_1_WEIGHTS_COUNT 49
extern const uint32_t tb_l1_conv_1_flip[TB_L1_CONV_1_FLIP_COUNT];
extern const int32_t tb_l1_conv_1_thresholds[TB_L1_CONV_1_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_conv_1_weights[TB_L1_CONV_1_WEIGHTS_COUNT];

/* layer 2: "Conv_2" conv2d b1 x b1 -> bits */
#define TB_L2_CONV_2_FLIP_COUNT 1
#define TB_L2_CONV_2_THRESHOLDS_COUNT 32
#define TB_L2_CONV_2_WEIGHTS_COUNT 32
extern const uint32_t tb_l2_conv_2_flip[TB_L2_CONV_2_FLIP_COUNT];
extern const int32_t tb_l2_conv_2_thresholds[TB_L2_CONV_2_THRESHOLDS_COUNT];
extern const uint32_t tb_l2_conv_2_weights[TB_L2_CONV_2_WEIGHTS_COUNT];

/* layer 3: "Conv_3" conv2d grouped (32 groups) b1 x b1 -> bits */
#define TB_L3_CONV_3_FLIP_COUNT 1
#define TB_L3_CONV_3_THRESHOLDS_COUNT 32
#define TB_L3_CONV_3_WEIGHTS_COUNT 49
extern const uint32_t tb_l3_conv_3_flip[TB_L3_CONV_3_FLIP_COUNT];
extern const int32_t tb_l3_conv_3_thresholds[TB_L3_CONV_3_THRESHOLDS_COUNT];
extern const uint32_t tb_l3_conv_3_weights[TB_L3_CONV_3_WEIGHTS_COUNT];

/* layer 4: "Conv_4" conv2d b1 x b1 -> bits */
#define TB_L4_CONV_4_FLIP_COUNT 1
#define TB_L4_CONV_4_THRESHOLDS_COUNT 32
#define TB_L4_CONV_4_WEIGHTS_COUNT 32
extern const uint32_t tb_l4_conv_4_flip[TB_L4_CONV_4_FLIP_COUNT];
extern const int32_t tb_l4_conv_4_thresholds[TB_L4_CONV_4_THRESHOLDS_COUNT];
extern const uint32_t tb_l4_conv_4_weights[TB_L4_CONV_4_WEIGHTS_COUNT];

/* layer 5: "Conv_5" conv2d grouped (32 groups) b1 x b1 -> bits */
#define TB_L5_CONV_5_FLIP_COUNT 1
#define TB_L5_CONV_5_THRESHOLDS_COUNT 32
#define TB_L5_CONV_5_WEIGHTS_COUNT 49
extern const uint32_t tb_l5_conv_5_flip[TB_L5_CONV_5_FLIP_COUNT];
extern const int32_t tb_l5_conv_5_thresholds[TB_L5_CONV_5_THRESHOLDS_COUNT];
extern const uint32_t tb_l5_conv_5_weights[TB_L5_CONV_5_WEIGHTS_COUNT];

/* layer 6: "Conv_6" conv2d b1 x b1 -> int8 */
#define TB_L6_CONV_6_MULTIPLIER_COUNT 32
#define TB_L6_CONV_6_OFFSET_COUNT 32
#define TB_L6_CONV_6_SHIFT_COUNT 32
#define TB_L6_CONV_6_WEIGHTS_COUNT 32
extern const int32_t tb_l6_conv_6_multiplier[TB_L6_CONV_6_MULTIPLIER_COUNT];
extern const int64_t tb_l6_conv_6_offset[TB_L6_CONV_6_OFFSET_COUNT];
extern const int32_t tb_l6_conv_6_shift[TB_L6_CONV_6_SHIFT_COUNT];
extern const uint32_t tb_l6_conv_6_weights[TB_L6_CONV_6_WEIGHTS_COUNT];

/* layer 8: "Gemm_0" dense s8 x s8 -> int32 */
#define TB_L8_GEMM_0_WEIGHTS_COUNT 160
extern const uint32_t tb_l8_gemm_0_weights[TB_L8_GEMM_0_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
