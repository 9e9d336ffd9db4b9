/*
 * model_weights.c - constant arrays of the tinybnn model generated from "larq_pool_bn.onnx" (hash 03e91daf0f44bfda).
 * Do not edit: regenerate with `tinybnn convert`. 1340 bytes.
 *
 * Bits: 32-bit words, LSB first along the channel axis, bit 0 = +1, bit 1 = -1, tail bits 0.
 */
#include "model_weights.h"

/* layer 0 "larq_pool_bn/conv1/QuantConv2D": packed binary weights [O][words(K)] = [16, 1], taps in (kh, kw, c) order, encoded for the subset-sum kernel (one byte per 4 taps: table index): 16 words */
const uint32_t tb_l0_larq_pool_bn_conv1_quant_weights[TB_L0_LARQ_POOL_BN_CONV1_QUANT_WEIGHTS_COUNT] = {
    0x0020170Eu, 0x00211E0Du, 0x00201007u, 0x00211303u, 0x00211809u, 0x00211E01u, 0x00211F00u, 0x00211200u,
    0x00211808u, 0x00201C0Cu, 0x0021170Au, 0x00201F02u, 0x0021150Au, 0x00211F0Du, 0x00211801u, 0x00211901u,
};

/* layer 0 "larq_pool_bn/conv1/QuantConv2D": thresholds tau[O]: bit = (a' < tau) */
const int32_t tb_l0_larq_pool_bn_conv1_quant_thresholds[TB_L0_LARQ_POOL_BN_CONV1_QUANT_THRESHOLDS_COUNT] = {
    -15, -21, 15, -1, -2, 0, -6, 24,
    11, 16, -12, -1, -5, -28, 12, 3,
};

/* layer 0 "larq_pool_bn/conv1/QuantConv2D": flip mask [words(O)]: a' = ~acc on 0 of 16 channels */
const uint32_t tb_l0_larq_pool_bn_conv1_quant_flip[TB_L0_LARQ_POOL_BN_CONV1_QUANT_FLIP_COUNT] = {
    0x00000000u,
};

/* layer 1 "larq_pool_bn/conv2/QuantConv2D": packed binary weights [O][KH][KW][words(C)] = [32, 2, 2, 1], encoded for the kernel specialized to this layer (model_kernels.c): per 4 channels the interleaved words then their popcount-domain thresholds, 160 words */
const uint32_t tb_l1_larq_pool_bn_conv2_quant_weights[TB_L1_LARQ_POOL_BN_CONV2_QUANT_WEIGHTS_COUNT] = {
    0x00002E8Du, 0x00008F72u, 0x00001519u, 0x00002B07u, 0x0000350Du, 0x0000AE43u, 0x0000E8FEu, 0x0000D6C5u,
    0x0000082Cu, 0x0000220Du, 0x0000417Au, 0x0000F578u, 0x0000D227u, 0x0000901Du, 0x00008A45u, 0x0000FD7Bu,
    0x0000001Bu, 0x0000001Au, 0x0000001Bu, 0x0000001Bu, 0x00001BE1u, 0x00001CE9u, 0x0000E372u, 0x0000F772u,
    0x000083AAu, 0x0000A95Bu, 0x00000207u, 0x00006F41u, 0x0000D3F6u, 0x0000012Fu, 0x0000D84Cu, 0x0000F87Au,
    0x0000F5F3u, 0x0000E80Du, 0x00006578u, 0x00002267u, 0x0000001Cu, 0x0000001Cu, 0x0000001Bu, 0x0000001Bu,
    0x0000D754u, 0x0000060Du, 0x0000D3A0u, 0x0000FCE3u, 0x000042A6u, 0x00007C4Fu, 0x00000362u, 0x00009304u,
    0x0000BC72u, 0x0000A127u, 0x0000F9FAu, 0x0000301Fu, 0x00003772u, 0x0000201Du, 0x0000F972u, 0x0000DA34u,
    0x0000001Bu, 0x0000001Cu, 0x00000019u, 0x0000001Cu, 0x00007CC3u, 0x000089F3u, 0x00003E0Du, 0x0000E17Eu,
    0x0000B67Bu, 0x00003E41u, 0x00001201u, 0x00009B40u, 0x0000A40Bu, 0x0000A305u, 0x0000930Cu, 0x00008EE3u,
    0x00002CEBu, 0x0000032Du, 0x0000D11Eu, 0x0000BFF9u, 0x0000001Au, 0x0000001Au, 0x0000001Bu, 0x0000001Bu,
    0x0000EFF2u, 0x0000385Fu, 0x0000E9C9u, 0x0000F4BCu, 0x00006B60u, 0x0000D578u, 0x00003236u, 0x00003DDBu,
    0x0000F47Au, 0x00000E61u, 0x0000FCC8u, 0x0000307Fu, 0x000017C1u, 0x0000040Du, 0x00007316u, 0x0000F862u,
    0x0000001Au, 0x0000001Bu, 0x0000001Bu, 0x0000001Cu, 0x0000459Du, 0x00009738u, 0x00001E01u, 0x000060BFu,
    0x00002094u, 0x00006BE2u, 0x000003B8u, 0x00003845u, 0x0000E9FAu, 0x0000DD7Cu, 0x000013D8u, 0x00006463u,
    0x00004BC7u, 0x0000CFF2u, 0x0000C5BAu, 0x0000BD41u, 0x0000001Bu, 0x0000001Cu, 0x0000001Bu, 0x00000019u,
    0x00000E4Du, 0x00000AE2u, 0x0000C19Cu, 0x000085FEu, 0x00000615u, 0x00003A85u, 0x0000C1FDu, 0x0000C9CCu,
    0x0000653Au, 0x0000D3E4u, 0x0000CBAAu, 0x0000C5FBu, 0x0000E92Cu, 0x00000A36u, 0x0000E3D3u, 0x0000C905u,
    0x0000001Bu, 0x0000001Cu, 0x0000001Bu, 0x0000001Bu, 0x0000420Fu, 0x0000B7A1u, 0x000067F2u, 0x0000C13Cu,
    0x00001C0Du, 0x0000D5FAu, 0x00002E41u, 0x0000104Fu, 0x0000C1ACu, 0x0000F57Au, 0x00008E87u, 0x00005A2Cu,
    0x0000808Fu, 0x00006862u, 0x0000128Du, 0x00004284u, 0x0000001Du, 0x0000001Au, 0x0000001Au, 0x0000001Du,
};

/* layer 1 "larq_pool_bn/conv2/QuantConv2D": thresholds tau[O]: bit = (a' < tau) */
const int32_t tb_l1_larq_pool_bn_conv2_quant_thresholds[TB_L1_LARQ_POOL_BN_CONV2_QUANT_THRESHOLDS_COUNT] = {
    12, 13, 11, -11, 9, 9, 12, -12,
    12, 9, 15, -10, 14, 13, 12, -12,
    14, 12, 11, -9, 12, 10, 12, -16,
    11, 10, 12, -11, 8, 14, 14, -8,
};

/* layer 1 "larq_pool_bn/conv2/QuantConv2D": flip mask [words(O)]: a' = ~acc on 8 of 32 channels */
const uint32_t tb_l1_larq_pool_bn_conv2_quant_flip[TB_L1_LARQ_POOL_BN_CONV2_QUANT_FLIP_COUNT] = {
    0x88888888u,
};

/* layer 2 "larq_pool_bn/pool2/MaxPool": OR mask, 8 of 32 channels take the OR (min) */
const uint32_t tb_l2_larq_pool_bn_pool2_maxpo_or_mask[TB_L2_LARQ_POOL_BN_POOL2_MAXPO_OR_MASK_COUNT] = {
    0x88888888u,
};

/* layer 3 "larq_pool_bn/fc/MatMul": packed binary weights [O][P][words(C)] = [10, 9, 1], encoded for the rv32-zbb kernels (channels interleaved by 4, zero channels up to a multiple of 4): 108 words */
const uint32_t tb_l3_larq_pool_bn_fc_matmul_weights[TB_L3_LARQ_POOL_BN_FC_MATMUL_WEIGHTS_COUNT] = {
    0x699218C4u, 0xE2173E27u, 0x9F544978u, 0x000910D8u, 0xA58841F4u, 0xEF9E72E7u, 0xBA550821u, 0xC6A70D50u,
    0xD45A788Du, 0x2BF666F7u, 0x78327E87u, 0x1FA00CE1u, 0xAA5A5FE1u, 0xCE7F1FC1u, 0x928482ECu, 0xFE863FA3u,
    0xF1133C26u, 0x271B7D55u, 0xCAACB18Au, 0xA9AFC710u, 0xEAD1031Bu, 0x7F337E77u, 0xBD891F73u, 0x10069AAAu,
    0xAEF9FD16u, 0xE4B36737u, 0x571C03C9u, 0xA500E02Eu, 0x971326ABu, 0x63BF6557u, 0x1B8E83E9u, 0xC0C4708Au,
    0xB9E09FF5u, 0x5873766Fu, 0x5A06D2EBu, 0x15F86C91u, 0x961C3AB8u, 0x4EF26557u, 0xD29F3812u, 0xE4054D01u,
    0x8B8AC3ABu, 0xA4781AECu, 0x89A29A60u, 0x647D3958u, 0x3A02922Bu, 0xA0250D1Cu, 0xE8C32765u, 0x06FF65E4u,
    0x1B80CBDEu, 0x0699A91Cu, 0xFA7F6743u, 0xE2271A88u, 0x9CB45F0Bu, 0xF678A84Du, 0xCA68A3CEu, 0x6A038EF6u,
    0x198CC7EAu, 0xF51E6ACFu, 0xC06EE82Cu, 0x0B6881BCu, 0x57108258u, 0x960490ABu, 0x81EF6555u, 0xE0AB0582u,
    0x8EC441F0u, 0x8204AAF2u, 0x1F5291BCu, 0xBDA89DD4u, 0xA0201DF4u, 0xB9A41E77u, 0x5FCCE85Bu, 0xA8050D10u,
    0xA7CBF819u, 0x0FDEFF51u, 0x00000000u, 0x00000000u, 0x55D051A9u, 0x5952843Bu, 0x00000000u, 0x00000000u,
    0x9758B889u, 0x57DBEFE3u, 0x00000000u, 0x00000000u, 0xCDE910B6u, 0x7571C137u, 0x00000000u, 0x00000000u,
    0x355AC699u, 0x047412DCu, 0x00000000u, 0x00000000u, 0xB0B49EF8u, 0xA2C82550u, 0x00000000u, 0x00000000u,
    0x9FEA7D81u, 0x75028026u, 0x00000000u, 0x00000000u, 0x5EF14DB9u, 0xC8041844u, 0x00000000u, 0x00000000u,
    0xF5D8FA83u, 0x6EC9947Au, 0x00000000u, 0x00000000u,
};

