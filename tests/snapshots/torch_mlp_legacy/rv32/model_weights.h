/*
 * model_weights.h - constant arrays of the tinybnn model generated from "torch_mlp_legacy.onnx" (hash 7674986afca8dca9).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "/1/MatMul" dense s8 x b1 -> bits */
#define TB_L0_1_MATMUL_FLIP_COUNT 8
#define TB_L0_1_MATMUL_THRESHOLDS_COUNT 256
#define TB_L0_1_MATMUL_WEIGHTS_COUNT 1024
extern const uint32_t tb_l0_1_matmul_flip[TB_L0_1_MATMUL_FLIP_COUNT];
extern const int32_t tb_l0_1_matmul_thresholds[TB_L0_1_MATMUL_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_1_matmul_weights[TB_L0_1_MATMUL_WEIGHTS_COUNT];

/* layer 1: "/4/MatMul" dense b1 x b1 -> bits */
#define TB_L1_4_MATMUL_FLIP_COUNT 4
#define TB_L1_4_MATMUL_THRESHOLDS_COUNT 128
#define TB_L1_4_MATMUL_WEIGHTS_COUNT 1536
extern const uint32_t tb_l1_4_matmul_flip[TB_L1_4_MATMUL_FLIP_COUNT];
extern const int32_t tb_l1_4_matmul_thresholds[TB_L1_4_MATMUL_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_4_matmul_weights[TB_L1_4_MATMUL_WEIGHTS_COUNT];

/* layer 2: "/7/MatMul" dense b1 x b1 -> int32 */
#define TB_L2_7_MATMUL_WEIGHTS_COUNT 80
extern const uint32_t tb_l2_7_matmul_weights[TB_L2_7_MATMUL_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
