/*
 * model_weights.h - constant arrays of the tinybnn model generated from "larq_pool_bn.onnx" (hash 03e91daf0f44bfda).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "larq_pool_bn/conv1/QuantConv2D" conv2d s8 x b1 -> bits */
#define TB_L0_LARQ_POOL_BN_CONV1_QUANT_FLIP_COUNT 1
#define TB_L0_LARQ_POOL_BN_CONV1_QUANT_THRESHOLDS_COUNT 16
#define TB_L0_LARQ_POOL_BN_CONV1_QUANT_WEIGHTS_COUNT 16
extern const uint32_t tb_l0_larq_pool_bn_conv1_quant_flip[TB_L0_LARQ_POOL_BN_CONV1_QUANT_FLIP_COUNT];
extern const int32_t tb_l0_larq_pool_bn_conv1_quant_thresholds[TB_L0_LARQ_POOL_BN_CONV1_QUANT_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_larq_pool_bn_conv1_quant_weights[TB_L0_LARQ_POOL_BN_CONV1_QUANT_WEIGHTS_COUNT];

/* layer 1: "larq_pool_bn/conv2/QuantConv2D" conv2d b1 x b1 -> bits */
#define TB_L1_LARQ_POOL_BN_CONV2_QUANT_FLIP_COUNT 1
#define TB_L1_LARQ_POOL_BN_CONV2_QUANT_THRESHOLDS_COUNT 32
#define TB_L1_LARQ_POOL_BN_CONV2_QUANT_WEIGHTS_COUNT 256
extern const uint32_t tb_l1_larq_pool_bn_conv2_quant_flip[TB_L1_LARQ_POOL_BN_CONV2_QUANT_FLIP_COUNT];
extern const int32_t tb_l1_larq_pool_bn_conv2_quant_thresholds[TB_L1_LARQ_POOL_BN_CONV2_QUANT_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_larq_pool_bn_conv2_quant_weights[TB_L1_LARQ_POOL_BN_CONV2_QUANT_WEIGHTS_COUNT];

/* layer 2: "larq_pool_bn/pool2/MaxPool" maxpool b1 (AND/OR) */
#define TB_L2_LARQ_POOL_BN_POOL2_MAXPO_OR_MASK_COUNT 1
extern const uint32_t tb_l2_larq_pool_bn_pool2_maxpo_or_mask[TB_L2_LARQ_POOL_BN_POOL2_MAXPO_OR_MASK_COUNT];

/* layer 3: "larq_pool_bn/fc/MatMul" dense b1 x b1 -> int32 */
#define TB_L3_LARQ_POOL_BN_FC_MATMUL_WEIGHTS_COUNT 130
extern const uint32_t tb_l3_larq_pool_bn_fc_matmul_weights[TB_L3_LARQ_POOL_BN_FC_MATMUL_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
