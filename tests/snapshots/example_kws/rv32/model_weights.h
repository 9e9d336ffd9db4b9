/*
 * model_weights.h - constant arrays of the tinybnn model generated from "kws_bnn.onnx" (hash 49f17d135eaa6e2a).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "/1/Conv" conv2d s8 x b1 -> bits */
#define TB_L0_1_CONV_FLIP_COUNT 4
#define TB_L0_1_CONV_THRESHOLDS_COUNT 128
#define TB_L0_1_CONV_WEIGHTS_COUNT 512
extern const uint32_t tb_l0_1_conv_flip[TB_L0_1_CONV_FLIP_COUNT];
extern const int32_t tb_l0_1_conv_thresholds[TB_L0_1_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_1_conv_weights[TB_L0_1_CONV_WEIGHTS_COUNT];

/* layer 2: "/5/Conv" conv2d b1 x b1 -> bits */
#define TB_L2_5_CONV_FLIP_COUNT 4
#define TB_L2_5_CONV_THRESHOLDS_COUNT 128
#define TB_L2_5_CONV_WEIGHTS_COUNT 2368
extern const uint32_t tb_l2_5_conv_flip[TB_L2_5_CONV_FLIP_COUNT];
extern const int32_t tb_l2_5_conv_thresholds[TB_L2_5_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l2_5_conv_weights[TB_L2_5_CONV_WEIGHTS_COUNT];

/* layer 4: "/9/Conv" conv2d b1 x b1 -> bits */
#define TB_L4_9_CONV_FLIP_COUNT 4
#define TB_L4_9_CONV_THRESHOLDS_COUNT 128
#define TB_L4_9_CONV_WEIGHTS_COUNT 2368
extern const uint32_t tb_l4_9_conv_flip[TB_L4_9_CONV_FLIP_COUNT];
extern const int32_t tb_l4_9_conv_thresholds[TB_L4_9_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l4_9_conv_weights[TB_L4_9_CONV_WEIGHTS_COUNT];

/* layer 6: "/13/Conv" conv2d b1 x b1 -> bits */
#define TB_L6_13_CONV_FLIP_COUNT 4
#define TB_L6_13_CONV_THRESHOLDS_COUNT 128
#define TB_L6_13_CONV_WEIGHTS_COUNT 2368
extern const uint32_t tb_l6_13_conv_flip[TB_L6_13_CONV_FLIP_COUNT];
extern const int32_t tb_l6_13_conv_thresholds[TB_L6_13_CONV_THRESHOLDS_COUNT];
extern const uint32_t tb_l6_13_conv_weights[TB_L6_13_CONV_WEIGHTS_COUNT];

/* layer 8: "/18/MatMul" dense b1 x b1 -> int32 */
#define TB_L8_18_MATMUL_WEIGHTS_COUNT 204
extern const uint32_t tb_l8_18_matmul_weights[TB_L8_18_MATMUL_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
