/*
 * model_weights.h - constant arrays of the tinybnn model generated from "larq_quicknet.onnx" (hash bf113101e8d058d1).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "larq_quicknet/stem_conv/Conv2D" conv2d s8 x s16 -> int16 */
#define TB_L0_LARQ_QUICKNET_STEM_CONV_MULTIPLIER_COUNT 16
#define TB_L0_LARQ_QUICKNET_STEM_CONV_OFFSET_COUNT 16
#define TB_L0_LARQ_QUICKNET_STEM_CONV_SHIFT_COUNT 16
#define TB_L0_LARQ_QUICKNET_STEM_CONV_WEIGHTS_COUNT 80
extern const int32_t tb_l0_larq_quicknet_stem_conv_multiplier[TB_L0_LARQ_QUICKNET_STEM_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l0_larq_quicknet_stem_conv_offset[TB_L0_LARQ_QUICKNET_STEM_CONV_OFFSET_COUNT];
extern const int32_t tb_l0_larq_quicknet_stem_conv_shift[TB_L0_LARQ_QUICKNET_STEM_CONV_SHIFT_COUNT];
extern const uint32_t tb_l0_larq_quicknet_stem_conv_weights[TB_L0_LARQ_QUICKNET_STEM_CONV_WEIGHTS_COUNT];

/* layer 1: "larq_quicknet/block1_conv/ste_sign_1/Sign_1" binarize int16 -> bits */
#define TB_L1_LARQ_QUICKNET_BLOCK1_CON_FLIP_COUNT 1
#define TB_L1_LARQ_QUICKNET_BLOCK1_CON_THRESHOLDS_COUNT 16
extern const uint32_t tb_l1_larq_quicknet_block1_con_flip[TB_L1_LARQ_QUICKNET_BLOCK1_CON_FLIP_COUNT];
extern const int32_t tb_l1_larq_quicknet_block1_con_thresholds[TB_L1_LARQ_QUICKNET_BLOCK1_CON_THRESHOLDS_COUNT];

/* layer 2: "larq_quicknet/block1_conv/QuantConv2D" conv2d b1 x b1 -> int16 */
#define TB_L2_LARQ_QUICKNET_BLOCK1_CON_MULTIPLIER_COUNT 16
#define TB_L2_LARQ_QUICKNET_BLOCK1_CON_OFFSET_COUNT 16
#define TB_L2_LARQ_QUICKNET_BLOCK1_CON_SHIFT_COUNT 16
#define TB_L2_LARQ_QUICKNET_BLOCK1_CON_WEIGHTS_COUNT 144
extern const int32_t tb_l2_larq_quicknet_block1_con_multiplier[TB_L2_LARQ_QUICKNET_BLOCK1_CON_MULTIPLIER_COUNT];
extern const int64_t tb_l2_larq_quicknet_block1_con_offset[TB_L2_LARQ_QUICKNET_BLOCK1_CON_OFFSET_COUNT];
extern const int32_t tb_l2_larq_quicknet_block1_con_shift[TB_L2_LARQ_QUICKNET_BLOCK1_CON_SHIFT_COUNT];
extern const uint32_t tb_l2_larq_quicknet_block1_con_weights[TB_L2_LARQ_QUICKNET_BLOCK1_CON_WEIGHTS_COUNT];

/* layer 4: "larq_quicknet/block2_conv/ste_sign_3/Sign_1" binarize int16 -> bits */
#define TB_L4_LARQ_QUICKNET_BLOCK2_CON_FLIP_COUNT 1
#define TB_L4_LARQ_QUICKNET_BLOCK2_CON_THRESHOLDS_COUNT 16
extern const uint32_t tb_l4_larq_quicknet_block2_con_flip[TB_L4_LARQ_QUICKNET_BLOCK2_CON_FLIP_COUNT];
extern const int32_t tb_l4_larq_quicknet_block2_con_thresholds[TB_L4_LARQ_QUICKNET_BLOCK2_CON_THRESHOLDS_COUNT];

/* layer 5: "larq_quicknet/block2_conv/QuantConv2D" conv2d b1 x b1 -> int16 */
#define TB_L5_LARQ_QUICKNET_BLOCK2_CON_MULTIPLIER_COUNT 16
#define TB_L5_LARQ_QUICKNET_BLOCK2_CON_OFFSET_COUNT 16
#define TB_L5_LARQ_QUICKNET_BLOCK2_CON_SHIFT_COUNT 16
#define TB_L5_LARQ_QUICKNET_BLOCK2_CON_WEIGHTS_COUNT 144
extern const int32_t tb_l5_larq_quicknet_block2_con_multiplier[TB_L5_LARQ_QUICKNET_BLOCK2_CON_MULTIPLIER_COUNT];
extern const int64_t tb_l5_larq_quicknet_block2_con_offset[TB_L5_LARQ_QUICKNET_BLOCK2_CON_OFFSET_COUNT];
extern const int32_t tb_l5_larq_quicknet_block2_con_shift[TB_L5_LARQ_QUICKNET_BLOCK2_CON_SHIFT_COUNT];
extern const uint32_t tb_l5_larq_quicknet_block2_con_weights[TB_L5_LARQ_QUICKNET_BLOCK2_CON_WEIGHTS_COUNT];

/* layer 8: "larq_quicknet/trans_sc_conv/Conv2D" conv2d s16 x s8 -> int16 */
#define TB_L8_LARQ_QUICKNET_TRANS_SC_C_MULTIPLIER_COUNT 32
#define TB_L8_LARQ_QUICKNET_TRANS_SC_C_OFFSET_COUNT 32
#define TB_L8_LARQ_QUICKNET_TRANS_SC_C_SHIFT_COUNT 32
#define TB_L8_LARQ_QUICKNET_TRANS_SC_C_WEIGHTS_COUNT 512
extern const int32_t tb_l8_larq_quicknet_trans_sc_c_multiplier[TB_L8_LARQ_QUICKNET_TRANS_SC_C_MULTIPLIER_COUNT];
extern const int64_t tb_l8_larq_quicknet_trans_sc_c_offset[TB_L8_LARQ_QUICKNET_TRANS_SC_C_OFFSET_COUNT];
extern const int32_t tb_l8_larq_quicknet_trans_sc_c_shift[TB_L8_LARQ_QUICKNET_TRANS_SC_C_SHIFT_COUNT];
extern const int8_t tb_l8_larq_quicknet_trans_sc_c_weights[TB_L8_LARQ_QUICKNET_TRANS_SC_C_WEIGHTS_COUNT];

/* layer 9: "larq_quicknet/trans_conv/ste_sign_5/Sign_1" binarize int16 -> bits */
#define TB_L9_LARQ_QUICKNET_TRANS_CONV_FLIP_COUNT 1
#define TB_L9_LARQ_QUICKNET_TRANS_CONV_THRESHOLDS_COUNT 16
extern const uint32_t tb_l9_larq_quicknet_trans_conv_flip[TB_L9_LARQ_QUICKNET_TRANS_CONV_FLIP_COUNT];
extern const int32_t tb_l9_larq_quicknet_trans_conv_thresholds[TB_L9_LARQ_QUICKNET_TRANS_CONV_THRESHOLDS_COUNT];

/* layer 10: "larq_quicknet/trans_conv/QuantConv2D" conv2d b1 x b1 -> int16 */
#define TB_L10_LARQ_QUICKNET_TRANS_CONV_MULTIPLIER_COUNT 32
#define TB_L10_LARQ_QUICKNET_TRANS_CONV_OFFSET_COUNT 32
#define TB_L10_LARQ_QUICKNET_TRANS_CONV_SHIFT_COUNT 32
#define TB_L10_LARQ_QUICKNET_TRANS_CONV_WEIGHTS_COUNT 288
extern const int32_t tb_l10_larq_quicknet_trans_conv_multiplier[TB_L10_LARQ_QUICKNET_TRANS_CONV_MULTIPLIER_COUNT];
extern const int64_t tb_l10_larq_quicknet_trans_conv_offset[TB_L10_LARQ_QUICKNET_TRANS_CONV_OFFSET_COUNT];
extern const int32_t tb_l10_larq_quicknet_trans_conv_shift[TB_L10_LARQ_QUICKNET_TRANS_CONV_SHIFT_COUNT];
extern const uint32_t tb_l10_larq_quicknet_trans_conv_weights[TB_L10_LARQ_QUICKNET_TRANS_CONV_WEIGHTS_COUNT];

/* layer 12: "larq_quicknet/block3_conv/ste_sign_7/Sign_1" binarize int16 -> bits */
#define TB_L12_LARQ_QUICKNET_BLOCK3_CON_FLIP_COUNT 1
#define TB_L12_LARQ_QUICKNET_BLOCK3_CON_THRESHOLDS_COUNT 32
extern const uint32_t tb_l12_larq_quicknet_block3_con_flip[TB_L12_LARQ_QUICKNET_BLOCK3_CON_FLIP_COUNT];
extern const int32_t tb_l12_larq_quicknet_block3_con_thresholds[TB_L12_LARQ_QUICKNET_BLOCK3_CON_THRESHOLDS_COUNT];

/* layer 13: "larq_quicknet/block3_conv/QuantConv2D" conv2d b1 x b1 -> int16 */
#define TB_L13_LARQ_QUICKNET_BLOCK3_CON_MULTIPLIER_COUNT 32
#define TB_L13_LARQ_QUICKNET_BLOCK3_CON_OFFSET_COUNT 32
#define TB_L13_LARQ_QUICKNET_BLOCK3_CON_SHIFT_COUNT 32
#define TB_L13_LARQ_QUICKNET_BLOCK3_CON_WEIGHTS_COUNT 288
extern const int32_t tb_l13_larq_quicknet_block3_con_multiplier[TB_L13_LARQ_QUICKNET_BLOCK3_CON_MULTIPLIER_COUNT];
extern const int64_t tb_l13_larq_quicknet_block3_con_offset[TB_L13_LARQ_QUICKNET_BLOCK3_CON_OFFSET_COUNT];
extern const int32_t tb_l13_larq_quicknet_block3_con_shift[TB_L13_LARQ_QUICKNET_BLOCK3_CON_SHIFT_COUNT];
extern const uint32_t tb_l13_larq_quicknet_block3_con_weights[TB_L13_LARQ_QUICKNET_BLOCK3_CON_WEIGHTS_COUNT];

/* layer 16: "larq_quicknet/fc/MatMul" dense s16 x s8 -> int32 */
#define TB_L16_LARQ_QUICKNET_FC_MATMUL_WEIGHTS_COUNT 320
extern const int8_t tb_l16_larq_quicknet_fc_matmul_weights[TB_L16_LARQ_QUICKNET_FC_MATMUL_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
