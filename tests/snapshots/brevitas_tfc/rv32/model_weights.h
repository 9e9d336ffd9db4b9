/*
 * model_weights.h - constant arrays of the tinybnn model generated from "brevitas_tfc.onnx" (hash bca03d274c8a1c84).
 * Do not edit: regenerate with `tinybnn convert`. Defined in model_weights.c; const, so they stay in flash.
 */
#ifndef TB_MODEL_WEIGHTS_H
#define TB_MODEL_WEIGHTS_H

#include <stdint.h>

/* layer 0: "Gemm_0" dense s8 x b1 -> bits */
#define TB_L0_GEMM_0_FLIP_COUNT 2
#define TB_L0_GEMM_0_THRESHOLDS_COUNT 64
#define TB_L0_GEMM_0_WEIGHTS_COUNT 256
extern const uint32_t tb_l0_gemm_0_flip[TB_L0_GEMM_0_FLIP_COUNT];
extern const int32_t tb_l0_gemm_0_thresholds[TB_L0_GEMM_0_THRESHOLDS_COUNT];
extern const uint32_t tb_l0_gemm_0_weights[TB_L0_GEMM_0_WEIGHTS_COUNT];

/* layer 1: "Gemm_1" dense b1 x b1 -> bits */
#define TB_L1_GEMM_1_FLIP_COUNT 2
#define TB_L1_GEMM_1_THRESHOLDS_COUNT 64
#define TB_L1_GEMM_1_WEIGHTS_COUNT 128
extern const uint32_t tb_l1_gemm_1_flip[TB_L1_GEMM_1_FLIP_COUNT];
extern const int32_t tb_l1_gemm_1_thresholds[TB_L1_GEMM_1_THRESHOLDS_COUNT];
extern const uint32_t tb_l1_gemm_1_weights[TB_L1_GEMM_1_WEIGHTS_COUNT];

/* layer 2: "Gemm_2" dense b1 x b1 -> bits */
#define TB_L2_GEMM_2_FLIP_COUNT 2
#define TB_L2_GEMM_2_THRESHOLDS_COUNT 64
#define TB_L2_GEMM_2_WEIGHTS_COUNT 128
extern const uint32_t tb_l2_gemm_2_flip[TB_L2_GEMM_2_FLIP_COUNT];
extern const int32_t tb_l2_gemm_2_thresholds[TB_L2_GEMM_2_THRESHOLDS_COUNT];
extern const uint32_t tb_l2_gemm_2_weights[TB_L2_GEMM_2_WEIGHTS_COUNT];

/* layer 3: "Gemm_3" dense b1 x b1 -> int32 */
#define TB_L3_GEMM_3_WEIGHTS_COUNT 20
extern const uint32_t tb_l3_gemm_3_weights[TB_L3_GEMM_3_WEIGHTS_COUNT];

#endif /* TB_MODEL_WEIGHTS_H */
