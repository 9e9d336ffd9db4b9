/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_reactnet_dynamo.onnx" (hash 3bdac96476c25b66).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "node_Conv_83" conv2d s8 x s16 -> int16 */
#define TB_L0_NODE_CONV_83_MULTIPLIER_COUNT 16
#define TB_L0_NODE_CONV_83_OFFSET_COUNT 16
#define TB_L0_NODE_CONV_83_SHIFT_COUNT 16
#define TB_L0_NODE_CONV_83_WEIGHTS_COUNT 80
extern const int32_t tb_l0_node_conv_83_multiplier[TB_L0_NODE_CONV_83_MULTIPLIER_COUNT];
extern const int64_t tb_l0_node_conv_83_offset[TB_L0_NODE_CONV_83_OFFSET_COUNT];
extern const int32_t tb_l0_node_conv_83_shift[TB_L0_NODE_CONV_83_SHIFT_COUNT];
extern const uint32_t tb_l0_node_conv_83_weights[TB_L0_NODE_CONV_83_WEIGHTS_COUNT];

/* layer 1: "node_add" binarize int16 -> bits */
#define TB_L1_NODE_ADD_FLIP_COUNT 1
#define TB_L1_NODE_ADD_THRESHOLDS_COUNT 16
extern const uint32_t tb_l1_node_add_flip[TB_L1_NODE_ADD_FLIP_COUNT];
extern const int32_t tb_l1_node_add_thresholds[TB_L1_NODE_ADD_THRESHOLDS_COUNT];

/* layer 2: "node_Conv_85" conv2d b1 x b1 -> int16 */
#define TB_L2_NODE_CONV_85_MULTIPLIER_COUNT 16
#define TB_L2_NODE_CONV_85_OFFSET_COUNT 16
#define TB_L2_NODE_CONV_85_SHIFT_COUNT 16
#define TB_L2_NODE_CONV_85_WEIGHTS_COUNT 280
extern const int32_t tb_l2_node_conv_85_multiplier[TB_L2_NODE_CONV_85_MULTIPLIER_COUNT];
extern const int64_t tb_l2_node_conv_85_offset[TB_L2_NODE_CONV_85_OFFSET_COUNT];
extern const int32_t tb_l2_node_conv_85_shift[TB_L2_NODE_CONV_85_SHIFT_COUNT];
extern const uint32_t tb_l2_node_conv_85_weights[TB_L2_NODE_CONV_85_WEIGHTS_COUNT];

/* layer 4: "node_sub" prelu int16 */
#define TB_L4_NODE_SUB_BREAKPOINT_COUNT 16
#define TB_L4_NODE_SUB_MULT_NEG_COUNT 16
#define TB_L4_NODE_SUB_MULT_POS_COUNT 16
#define TB_L4_NODE_SUB_OFFSET_NEG_COUNT 16
#define TB_L4_NODE_SUB_OFFSET_POS_COUNT 16
#define TB_L4_NODE_SUB_SHIFT_COUNT 16
extern const int32_t tb_l4_node_sub_breakpoint[TB_L4_NODE_SUB_BREAKPOINT_COUNT];
extern const int32_t tb_l4_node_sub_mult_neg[TB_L4_NODE_SUB_MULT_NEG_COUNT];
extern const int32_t tb_l4_node_sub_mult_pos[TB_L4_NODE_SUB_MULT_POS_COUNT];
extern const int64_t tb_l4_node_sub_offset_neg[TB_L4_NODE_SUB_OFFSET_NEG_COUNT];
extern const int64_t tb_l4_node_sub_offset_pos[TB_L4_NODE_SUB_OFFSET_POS_COUNT];
extern const int32_t tb_l4_node_sub_shift[TB_L4_NODE_SUB_SHIFT_COUNT];

/* layer 6: "node_add_3" binarize int16 -> bits */
#define TB_L6_NODE_ADD_3_FLIP_COUNT 1
#define TB_L6_NODE_ADD_3_THRESHOLDS_COUNT 16
extern const uint32_t tb_l6_node_add_3_flip[TB_L6_NODE_ADD_3_FLIP_COUNT];
extern const int32_t tb_l6_node_add_3_thresholds[TB_L6_NODE_ADD_3_THRESHOLDS_COUNT];

/* layer 7: "node_Conv_87" conv2d b1 x b1 -> int16 */
#define TB_L7_NODE_CONV_87_MULTIPLIER_COUNT 16
#define TB_L7_NODE_CONV_87_OFFSET_COUNT 16
#define TB_L7_NODE_CONV_87_SHIFT_COUNT 16
#define TB_L7_NODE_CONV_87_WEIGHTS_COUNT 280
extern const int32_t tb_l7_node_conv_87_multiplier[TB_L7_NODE_CONV_87_MULTIPLIER_COUNT];
extern const int64_t tb_l7_node_conv_87_offset[TB_L7_NODE_CONV_87_OFFSET_COUNT];
extern const int32_t tb_l7_node_conv_87_shift[TB_L7_NODE_CONV_87_SHIFT_COUNT];
extern const uint32_t tb_l7_node_conv_87_weights[TB_L7_NODE_CONV_87_WEIGHTS_COUNT];

/* layer 9: "node_Conv_89" conv2d b1 x b1 -> int16 */
#define TB_L9_NODE_CONV_89_MULTIPLIER_COUNT 16
#define TB_L9_NODE_CONV_89_OFFSET_COUNT 16
#define TB_L9_NODE_CONV_89_SHIFT_COUNT 16
#define TB_L9_NODE_CONV_89_WEIGHTS_COUNT 280
extern const int32_t tb_l9_node_conv_89_multiplier[TB_L9_NODE_CONV_89_MULTIPLIER_COUNT];
extern const int64_t tb_l9_node_conv_89_offset[TB_L9_NODE_CONV_89_OFFSET_COUNT];
extern const int32_t tb_l9_node_conv_89_shift[TB_L9_NODE_CONV_89_SHIFT_COUNT];
extern const uint32_t tb_l9_node_conv_89_weights[TB_L9_NODE_CONV_89_WEIGHTS_COUNT];

/* layer 12: "node_sub_1" prelu int16 */
#define TB_L12_NODE_SUB_1_BREAKPOINT_COUNT 32
#define TB_L12_NODE_SUB_1_MULT_NEG_COUNT 32
#define TB_L12_NODE_SUB_1_MULT_POS_COUNT 32
#define TB_L12_NODE_SUB_1_OFFSET_NEG_COUNT 32
#define TB_L12_NODE_SUB_1_OFFSET_POS_COUNT 32
#define TB_L12_NODE_SUB_1_SHIFT_COUNT 32
extern const int32_t tb_l12_node_sub_1_breakpoint[TB_L12_NODE_SUB_1_BREAKPOINT_COUNT];
extern const int32_t tb_l12_node_sub_1_mult_neg[TB_L12_NODE_SUB_1_MULT_NEG_COUNT];
extern const int32_t tb_l12_node_sub_1_mult_pos[TB_L12_NODE_SUB_1_MULT_POS_COUNT];
extern const int64_t tb_l12_node_sub_1_offset_neg[TB_L12_NODE_SUB_1_OFFSET_NEG_COUNT];
extern const int64_t tb_l12_node_sub_1_offset_pos[TB_L12_NODE_SUB_1_OFFSET_POS_COUNT];
extern const int32_t tb_l12_node_sub_1_shift[TB_L12_NODE_SUB_1_SHIFT_COUNT];

/* layer 13: "node_add_7" binarize int16 -> bits */
#define TB_L13_NODE_ADD_7_FLIP_COUNT 1
#define TB_L13_NODE_ADD_7_THRESHOLDS_COUNT 32
extern const uint32_t tb_l13_node_add_7_flip[TB_L13_NODE_ADD_7_FLIP_COUNT];
extern const int32_t tb_l13_node_add_7_thresholds[TB_L13_NODE_ADD_7_THRESHOLDS_COUNT];

/* layer 14: "node_Conv_91" conv2d b1 x b1 -> int16 */
#define TB_L14_NODE_CONV_91_MULTIPLIER_COUNT 32
#define TB_L14_NODE_CONV_91_OFFSET_COUNT 32
#define TB_L14_NODE_CONV_91_SHIFT_COUNT 32
#define TB_L14_NODE_CONV_91_WEIGHTS_COUNT 32
extern const int32_t tb_l14_node_conv_91_multiplier[TB_L14_NODE_CONV_91_MULTIPLIER_COUNT];
extern const int64_t tb_l14_node_conv_91_offset[TB_L14_NODE_CONV_91_OFFSET_COUNT];
extern const int32_t tb_l14_node_conv_91_shift[TB_L14_NODE_CONV_91_SHIFT_COUNT];
extern const uint32_t tb_l14_node_conv_91_weights[TB_L14_NODE_CONV_91_WEIGHTS_COUNT];

/* layer 16: "node_sub_2" prelu int16 */
#define TB_L16_NODE_SUB_2_BREAKPOINT_COUNT 32
#define TB_L16_NODE_SUB_2_MULT_NEG_COUNT 32
#define TB_L16_NODE_SUB_2_MULT_POS_COUNT 32
#define TB_L16_NODE_SUB_2_OFFSET_NEG_COUNT 32
#define TB_L16_NODE_SUB_2_OFFSET_POS_COUNT 32
#define TB_L16_NODE_SUB_2_SHIFT_COUNT 32
extern const int32_t tb_l16_node_sub_2_breakpoint[TB_L16_NODE_SUB_2_BREAKPOINT_COUNT];
extern const int32_t tb_l16_node_sub_2_mult_neg[TB_L16_NODE_SUB_2_MULT_NEG_COUNT];
extern const int32_t tb_l16_node_sub_2_mult_pos[TB_L16_NODE_SUB_2_MULT_POS_COUNT];
extern const int64_t tb_l16_node_sub_2_offset_neg[TB_L16_NODE_SUB_2_OFFSET_NEG_COUNT];
extern const int64_t tb_l16_node_sub_2_offset_pos[TB_L16_NODE_SUB_2_OFFSET_POS_COUNT];
extern const int32_t tb_l16_node_sub_2_shift[TB_L16_NODE_SUB_2_SHIFT_COUNT];

/* layer 18: "node_linear" dense s16 x s8 -> int32 */
#define TB_L18_NODE_LINEAR_WEIGHTS_COUNT 320
extern const int8_t tb_l18_node_linear_weights[TB_L18_NODE_LINEAR_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
