/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_xnor_tcn_legacy.onnx" (hash 8e08be39b2e9923c).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "/stem/Conv" conv2d s8 x s16 -> int16 */
#define TB_L0_STEM_CONV_MULTIPLIER_COUNT 32
#define TB_L0_STEM_CONV_OFFSET_COUNT 32
#define TB_L0_STEM_CONV_SHIFT_COUNT 32
#define TB_L0_STEM_CONV_WEIGHTS_COUNT 384
extern const int32_t tb_l0_stem_conv_multiplier[TB_L0_STEM_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l0_stem_conv_offset[TB_L0_STEM_CONV_OFFSET_COUNT];
extern const int32_t tb_l0_stem_conv_shift[TB_L0_STEM_CONV_SHIFT_COUNT];
extern const uint32_t tb_l0_stem_conv_weights[TB_L0_STEM_CONV_WEIGHTS_COUNT];

/* layer 1: "/Where" binarize int16 -> bits */
#define TB_L1_WHERE_FLIP_COUNT 1
#define TB_L1_WHERE_THRESHOLDS_COUNT 32
extern const uint32_t tb_l1_where_flip[TB_L1_WHERE_FLIP_COUNT];
extern const int32_t tb_l1_where_thresholds[TB_L1_WHERE_THRESHOLDS_COUNT];

/* layer 2: "/conv1/Conv" conv2d b1 x b1 -> int16 */
#define TB_L2_CONV1_CONV_MULTIPLIER_COUNT 32
#define TB_L2_CONV1_CONV_OFFSET_COUNT 32
#define TB_L2_CONV1_CONV_SHIFT_COUNT 32
#define TB_L2_CONV1_CONV_WEIGHTS_COUNT 96
extern const int32_t tb_l2_conv1_conv_multiplier[TB_L2_CONV1_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l2_conv1_conv_offset[TB_L2_CONV1_CONV_OFFSET_COUNT];
extern const int32_t tb_l2_conv1_conv_shift[TB_L2_CONV1_CONV_SHIFT_COUNT];
extern const uint32_t tb_l2_conv1_conv_weights[TB_L2_CONV1_CONV_WEIGHTS_COUNT];

/* layer 4: "/Where_1" binarize int16 -> bits */
#define TB_L4_WHERE_1_FLIP_COUNT 1
#define TB_L4_WHERE_1_THRESHOLDS_COUNT 32
extern const uint32_t tb_l4_where_1_flip[TB_L4_WHERE_1_FLIP_COUNT];
extern const int32_t tb_l4_where_1_thresholds[TB_L4_WHERE_1_THRESHOLDS_COUNT];

/* layer 5: "/conv2/Conv" conv2d b1 x b1 -> int16 */
#define TB_L5_CONV2_CONV_MULTIPLIER_COUNT 32
#define TB_L5_CONV2_CONV_OFFSET_COUNT 32
#define TB_L5_CONV2_CONV_SHIFT_COUNT 32
#define TB_L5_CONV2_CONV_WEIGHTS_COUNT 96
extern const int32_t tb_l5_conv2_conv_multiplier[TB_L5_CONV2_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l5_conv2_conv_offset[TB_L5_CONV2_CONV_OFFSET_COUNT];
extern const int32_t tb_l5_conv2_conv_shift[TB_L5_CONV2_CONV_SHIFT_COUNT];
extern const uint32_t tb_l5_conv2_conv_weights[TB_L5_CONV2_CONV_WEIGHTS_COUNT];

/* layer 8: "/fc/Gemm" dense s16 x s8 -> int32 */
#define TB_L8_FC_GEMM_WEIGHTS_COUNT 320
extern const int8_t tb_l8_fc_gemm_weights[TB_L8_FC_GEMM_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
