/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_bireal_legacy.onnx" (hash d052fc2e851604ce).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "/stem/Conv" conv2d s8 x s16 -> int16 */
#define TB_L0_STEM_CONV_MULTIPLIER_COUNT 16
#define TB_L0_STEM_CONV_OFFSET_COUNT 16
#define TB_L0_STEM_CONV_SHIFT_COUNT 16
#define TB_L0_STEM_CONV_WEIGHTS_COUNT 144
extern const int32_t tb_l0_stem_conv_multiplier[TB_L0_STEM_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l0_stem_conv_offset[TB_L0_STEM_CONV_OFFSET_COUNT];
extern const int32_t tb_l0_stem_conv_shift[TB_L0_STEM_CONV_SHIFT_COUNT];
extern const int16_t tb_l0_stem_conv_weights[TB_L0_STEM_CONV_WEIGHTS_COUNT];

/* layer 1: "/Where" binarize int16 -> bits */
#define TB_L1_WHERE_FLIP_COUNT 1
#define TB_L1_WHERE_THRESHOLDS_COUNT 16
extern const uint32_t tb_l1_where_flip[TB_L1_WHERE_FLIP_COUNT];
extern const int32_t tb_l1_where_thresholds[TB_L1_WHERE_THRESHOLDS_COUNT];

/* layer 2: "/conv_a/Conv" conv2d b1 x b1 -> int16 */
#define TB_L2_CONV_A_CONV_MULTIPLIER_COUNT 16
#define TB_L2_CONV_A_CONV_OFFSET_COUNT 16
#define TB_L2_CONV_A_CONV_SHIFT_COUNT 16
#define TB_L2_CONV_A_CONV_WEIGHTS_COUNT 144
extern const int32_t tb_l2_conv_a_conv_multiplier[TB_L2_CONV_A_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l2_conv_a_conv_offset[TB_L2_CONV_A_CONV_OFFSET_COUNT];
extern const int32_t tb_l2_conv_a_conv_shift[TB_L2_CONV_A_CONV_SHIFT_COUNT];
extern const uint32_t tb_l2_conv_a_conv_weights[TB_L2_CONV_A_CONV_WEIGHTS_COUNT];

/* layer 5: "/Where_1" binarize int16 -> bits */
#define TB_L5_WHERE_1_FLIP_COUNT 1
#define TB_L5_WHERE_1_THRESHOLDS_COUNT 16
extern const uint32_t tb_l5_where_1_flip[TB_L5_WHERE_1_FLIP_COUNT];
extern const int32_t tb_l5_where_1_thresholds[TB_L5_WHERE_1_THRESHOLDS_COUNT];

/* layer 6: "/conv_b/Conv" conv2d b1 x b1 -> int16 */
#define TB_L6_CONV_B_CONV_MULTIPLIER_COUNT 16
#define TB_L6_CONV_B_CONV_OFFSET_COUNT 16
#define TB_L6_CONV_B_CONV_SHIFT_COUNT 16
#define TB_L6_CONV_B_CONV_WEIGHTS_COUNT 144
extern const int32_t tb_l6_conv_b_conv_multiplier[TB_L6_CONV_B_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l6_conv_b_conv_offset[TB_L6_CONV_B_CONV_OFFSET_COUNT];
extern const int32_t tb_l6_conv_b_conv_shift[TB_L6_CONV_B_CONV_SHIFT_COUNT];
extern const uint32_t tb_l6_conv_b_conv_weights[TB_L6_CONV_B_CONV_WEIGHTS_COUNT];

/* layer 8: "/Where_2" binarize int16 -> bits */
#define TB_L8_WHERE_2_FLIP_COUNT 1
#define TB_L8_WHERE_2_THRESHOLDS_COUNT 16
extern const uint32_t tb_l8_where_2_flip[TB_L8_WHERE_2_FLIP_COUNT];
extern const int32_t tb_l8_where_2_thresholds[TB_L8_WHERE_2_THRESHOLDS_COUNT];

/* layer 9: "/conv_c/Conv" conv2d b1 x b1 -> int16 */
#define TB_L9_CONV_C_CONV_MULTIPLIER_COUNT 16
#define TB_L9_CONV_C_CONV_OFFSET_COUNT 16
#define TB_L9_CONV_C_CONV_SHIFT_COUNT 16
#define TB_L9_CONV_C_CONV_WEIGHTS_COUNT 144
extern const int32_t tb_l9_conv_c_conv_multiplier[TB_L9_CONV_C_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l9_conv_c_conv_offset[TB_L9_CONV_C_CONV_OFFSET_COUNT];
extern const int32_t tb_l9_conv_c_conv_shift[TB_L9_CONV_C_CONV_SHIFT_COUNT];
extern const uint32_t tb_l9_conv_c_conv_weights[TB_L9_CONV_C_CONV_WEIGHTS_COUNT];

/* layer 12: "/fc/Gemm" dense s16 x s8 -> int32 */
#define TB_L12_FC_GEMM_WEIGHTS_COUNT 160
extern const int8_t tb_l12_fc_gemm_weights[TB_L12_FC_GEMM_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
