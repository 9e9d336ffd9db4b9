/*
 * model_io.c - the float boundary of the tinybnn model "torch_xnor_tcn_legacy.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 8e08be39b2e9923c.
 *
 * tb_model_quantize computes the int8 codes exactly as tinybnn's host quantization does.
 * The quantizer is a table: a code is a non-decreasing function of its float, so it is -128 plus the
 * number of breakpoints at or below the float, found by a binary search over their order keys (integer
 * compares, no float arithmetic; tinybnn computed the breakpoints with the host's own rule).
 * tb_model_dequantize applies the output affine in double, rounds each score to float and returns the first
 * maximum (NumPy's argmax).
 * tb_model_classify is the three steps in a row; `tinybnn build` firmwares answer the serial CLASSIFY
 * command with the same three functions.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "model_io.h"

/* The sample index of each device input element (the model's layout -> the device's HWC). */
static const uint16_t input_index[TB_MODEL_INPUT_SIZE] = {
    0, 8, 16, 24, 32, 40, 48, 56, 1, 9, 17, 25, 33, 41, 49, 57,
    2, 10, 18, 26, 34, 42, 50, 58, 3, 11, 19, 27, 35, 43, 51, 59,
    4, 12, 20, 28, 36, 44, 52, 60, 5, 13, 21, 29, 37, 45, 53, 61,
    6, 14, 22, 30, 38, 46, 54, 62, 7, 15, 23, 31, 39, 47, 55, 63,
};

/* Output affine step 0: y = y * scale[c] + bias[c]. */
static const double out0_scale[TB_MODEL_OUTPUT_SIZE] = {
    1.3772170396409598e-06, 1.0357833089822295e-06, 9.762517214925073e-07, 1.23240695820968e-06,
    1.0067604566883125e-06, 1.0952141303011866e-06, 9.892997907850876e-07, 1.374173253202684e-06,
    8.520344195959816e-07, 9.655637129919664e-07,
};
static const double out0_bias[TB_MODEL_OUTPUT_SIZE] = {
    0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0,
    0.0, 0.0,
};

/* Output affine step 1: y = y * scale[c] + bias[c]. */
static const double out1_scale[TB_MODEL_OUTPUT_SIZE] = {
    1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0,
    1.0, 1.0,
};
static const double out1_bias[TB_MODEL_OUTPUT_SIZE] = {
    -0.05194030702114105, 0.019618237391114235, 0.19702117145061493, -0.223210871219635,
    0.1552457958459854, 0.035451676696538925, 0.09428025037050247, 0.11169786006212234,
    0.0640609860420227, 0.14143601059913635,
};

/* The quantizer's breakpoints as order keys, ascending: the code of a float y is -128 + the number of
 * keys <= input_key(y). */
static const int32_t input_keys[255] = {
    1023410177, 1035993088, 1042284545, 1046478848, 1049624577, 1051721728, 1053818881, 1055916032,
    1057488897, 1058537472, 1059586049, 1060634624, 1061683201, 1062731776, 1063780353, 1064828928,
    1065615361, 1066139648, 1066663937, 1067188224, 1067712513, 1068236800, 1068761089, 1069285376,
    1069809665, 1070333952, 1070858241, 1071382528, 1071906817, 1072431104, 1072955393, 1073479680,
    1073872897, 1074135040, 1074397185, 1074659328, 1074921473, 1075183616, 1075445761, 1075707904,
    1075970049, 1076232192, 1076494337, 1076756480, 1077018625, 1077280768, 1077542913, 1077805056,
    1078067201, 1078329344, 1078591489, 1078853632, 1079115777, 1079377920, 1079640065, 1079902208,
    1080164353, 1080426496, 1080688641, 1080950784, 1081212929, 1081475072, 1081737217, 1081999360,
    1082195969, 1082327040, 1082458113, 1082589184, 1082720257, 1082851328, 1082982401, 1083113472,
    1083244545, 1083375616, 1083506689, 1083637760, 1083768833, 1083899904, 1084030977, 1084162048,
    1084293121, 1084424192, 1084555265, 1084686336, 1084817409, 1084948480, 1085079553, 1085210624,
    1085341697, 1085472768, 1085603841, 1085734912, 1085865985, 1085997056, 1086128129, 1086259200,
    1086390273, 1086521344, 1086652417, 1086783488, 1086914561, 1087045632, 1087176705, 1087307776,
    1087438849, 1087569920, 1087700993, 1087832064, 1087963137, 1088094208, 1088225281, 1088356352,
    1088487425, 1088618496, 1088749569, 1088880640, 1089011713, 1089142784, 1089273857, 1089404928,
    1089536001, 1089667072, 1089798145, 1089929216, 1090060289, 1090191360, 1090322433, 1090453504,
    1090551809, 1090617344, 1090682881, 1090748416, 1090813953, 1090879488, 1090945025, 1091010560,
    1091076097, 1091141632, 1091207169, 1091272704, 1091338241, 1091403776, 1091469313, 1091534848,
    1091600385, 1091665920, 1091731457, 1091796992, 1091862529, 1091928064, 1091993601, 1092059136,
    1092124673, 1092190208, 1092255745, 1092321280, 1092386817, 1092452352, 1092517889, 1092583424,
    1092648961, 1092714496, 1092780033, 1092845568, 1092911105, 1092976640, 1093042177, 1093107712,
    1093173249, 1093238784, 1093304321, 1093369856, 1093435393, 1093500928, 1093566465, 1093632000,
    1093697537, 1093763072, 1093828609, 1093894144, 1093959681, 1094025216, 1094090753, 1094156288,
    1094221825, 1094287360, 1094352897, 1094418432, 1094483969, 1094549504, 1094615041, 1094680576,
    1094746113, 1094811648, 1094877185, 1094942720, 1095008257, 1095073792, 1095139329, 1095204864,
    1095270401, 1095335936, 1095401473, 1095467008, 1095532545, 1095598080, 1095663617, 1095729152,
    1095794689, 1095860224, 1095925761, 1095991296, 1096056833, 1096122368, 1096187905, 1096253440,
    1096318977, 1096384512, 1096450049, 1096515584, 1096581121, 1096646656, 1096712193, 1096777728,
    1096843265, 1096908800, 1096974337, 1097039872, 1097105409, 1097170944, 1097236481, 1097302016,
    1097367553, 1097433088, 1097498625, 1097564160, 1097629697, 1097695232, 1097760769, 1097826304,
    1097891841, 1097957376, 1098022913, 1098088448, 1098153985, 1098219520, 1098285057, 1098350592,
    1098416129, 1098481664, 1098547201, 1098612736, 1098678273, 1098743808, 1098809345,
};

/* The order key of a float: its bits as an int32 that orders like the floats (-0.0 and +0.0 both 0). */
static int32_t input_key(float y)
{
    union {
        float f;
        uint32_t u;
    } b;

    b.f = y;
    return (b.u & 0x80000000u) != 0u ? -(int32_t)(b.u & 0x7FFFFFFFu) : (int32_t)b.u;
}

/* The number of input_keys at or below key (a binary search: 8 compares). */
static int keys_at_or_below(int32_t key)
{
    int lo = 0, n = 255;

    while (n > 0) {
        const int half = n / 2;

        if (key >= input_keys[lo + half]) {
            lo += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    return lo;
}

int tb_model_quantize(const float *input, int8_t *codes)
{
    int i;

    if (input == NULL || codes == NULL)
        return TB_MODEL_ERR_ARG;
    for (i = 0; i < TB_MODEL_INPUT_SIZE; ++i) {
        float x = input[input_index[i]];
        if (isnan(x))
            return TB_MODEL_ERR_INPUT;
        codes[i] = (int8_t)(-128 + keys_at_or_below(input_key(x)));
    }
    return TB_MODEL_OK;
}

int tb_model_dequantize(const int32_t *output, float *scores)
{
    int c, best = 0;
    float best_score = 0.0f;

    if (output == NULL)
        return TB_MODEL_ERR_ARG;
    for (c = 0; c < TB_MODEL_OUTPUT_SIZE; ++c) {
        double y = (double)output[c];
        float s;
        y = y * out0_scale[c] + out0_bias[c];
        y = y * out1_scale[c] + out1_bias[c];
        s = (float)y;
        if (scores != NULL)
            scores[c] = s;
        if (c == 0 || s > best_score) { /* ties: the first maximum, as NumPy's argmax */
            best = c;
            best_score = s;
        }
    }
    return best;
}

int tb_model_classify(const float *input, float *scores)
{
    static int8_t codes[TB_MODEL_INPUT_SIZE];
    static int32_t output[TB_MODEL_OUTPUT_SIZE];
    int rc;

    rc = tb_model_quantize(input, codes);
    if (rc != TB_MODEL_OK)
        return rc;
    if (tb_model_run(codes, output) != TB_MODEL_OK)
        return TB_MODEL_ERR_RUN;
    return tb_model_dequantize(output, scores);
}
