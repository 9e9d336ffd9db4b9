/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_cnn_dynamo.onnx" (hash 5fe51488846afd78).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "node_conv2d" conv2d s8 x b1 -> bits */
#define TB_L0_NODE_CONV2D_FLIP_COUNT 1
#define TB_L0_NODE_CONV2D_THRESHOLDS_COUNT 24
#define TB_L0_NODE_CONV2D_WEIGHTS_COUNT 24
extern const uint32_t tb_l0_node_conv2d_flip[TB_L0_NODE_CONV2D_FLIP_COUNT];
extern const int32_t tb_l0_node_conv2d_thresholds[TB_L0_NODE_CONV2D_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_node_conv2d_weights[TB_L0_NODE_CONV2D_WEIGHTS_COUNT];

/* layer 1: "node_conv2d_1" conv2d b1 x b1 -> bits */
#define TB_L1_NODE_CONV2D_1_FLIP_COUNT 2
#define TB_L1_NODE_CONV2D_1_THRESHOLDS_COUNT 48
#define TB_L1_NODE_CONV2D_1_WEIGHTS_COUNT 840
extern const uint32_t tb_l1_node_conv2d_1_flip[TB_L1_NODE_CONV2D_1_FLIP_COUNT];
extern const int32_t tb_l1_node_conv2d_1_thresholds[TB_L1_NODE_CONV2D_1_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_node_conv2d_1_weights[TB_L1_NODE_CONV2D_1_WEIGHTS_COUNT];

/* layer 2: "node_conv2d_2" conv2d b1 x b1 -> bits */
#define TB_L2_NODE_CONV2D_2_FLIP_COUNT 2
#define TB_L2_NODE_CONV2D_2_THRESHOLDS_COUNT 48
#define TB_L2_NODE_CONV2D_2_WEIGHTS_COUNT 1512
extern const uint32_t tb_l2_node_conv2d_2_flip[TB_L2_NODE_CONV2D_2_FLIP_COUNT];
extern const int32_t tb_l2_node_conv2d_2_thresholds[TB_L2_NODE_CONV2D_2_THRESHOLDS_COUNT];
extern const uint32_t tb_l2_node_conv2d_2_weights[TB_L2_NODE_CONV2D_2_WEIGHTS_COUNT];

/* layer 4: "node_linear" dense b1 x b1 -> int32 */
#define TB_L4_NODE_LINEAR_WEIGHTS_COUNT 110
extern const uint32_t tb_l4_node_linear_weights[TB_L4_NODE_LINEAR_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
