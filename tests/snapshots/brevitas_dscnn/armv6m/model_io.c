/*
 * model_io.c - the float boundary of the tinybnn model "brevitas_dscnn.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash ba4602c78998d13e.
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

/* Output affine step 0: y = y * scale[c] + bias[c]. */
static const double out0_scale[TB_MODEL_OUTPUT_SIZE] = {
    0.0002475739848837015, 0.00016990371130190507, 0.00024271957776579416, 0.00022815640218439996,
    0.0002864091045099768, 0.0002475739848837015, 0.0002694187368127109, 0.00030825387932515005,
    0.00021116603448713403, 0.00021359322660300574,
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
    -0.9391241669654846, -0.01942882128059864, 0.3135219216346741, -0.41390952467918396,
    -0.14682750403881073, 0.21153448522090912, -0.22884009778499603, -0.2449527233839035,
    0.805402398109436, 0.29958903789520264,
};

/* The quantizer's breakpoints as order keys, ascending: the code of a float y is -128 + the number of
 * keys <= input_key(y). */
static const int32_t input_keys[255] = {
    -1066892578, -1066814712, -1066736845, -1066658979, -1066581113, -1066503246, -1066425380, -1066347513,
    -1066269647, -1066191780, -1066113914, -1066036047, -1065958181, -1065880315, -1065802448, -1065724582,
    -1065646715, -1065568849, -1065490982, -1065413116, -1065317284, -1065161551, -1065005818, -1064850085,
    -1064694352, -1064538619, -1064382886, -1064227153, -1064071421, -1063915688, -1063759955, -1063604222,
    -1063448489, -1063292756, -1063137023, -1062981290, -1062825558, -1062669825, -1062514092, -1062358359,
    -1062202626, -1062046893, -1061891160, -1061735427, -1061579695, -1061423962, -1061268229, -1061112496,
    -1060956763, -1060801030, -1060645297, -1060489564, -1060333832, -1060178099, -1060022366, -1059866633,
    -1059710900, -1059555167, -1059399434, -1059243701, -1059087969, -1058932236, -1058776503, -1058620770,
    -1058465037, -1058309304, -1058153571, -1057997838, -1057842106, -1057686373, -1057530640, -1057374907,
    -1057219174, -1057063441, -1056850809, -1056539343, -1056227878, -1055916412, -1055604946, -1055293480,
    -1054982015, -1054670549, -1054359083, -1054047617, -1053736152, -1053424686, -1053113220, -1052801754,
    -1052490289, -1052178823, -1051867357, -1051555891, -1051244426, -1050932960, -1050621494, -1050310028,
    -1049998563, -1049687097, -1049375631, -1049064165, -1048752700, -1048306468, -1047683537, -1047060605,
    -1046437674, -1045814742, -1045191811, -1044568879, -1043945948, -1043323016, -1042700085, -1042077153,
    -1041454222, -1040831290, -1040208359, -1038983463, -1037737600, -1036491737, -1035245874, -1034000011,
    -1032754148, -1031217787, -1028726060, -1026234335, -1023742608, -1019091590, -1013194707, -999822648,
    999822649, 1013194708, 1019091591, 1023742609, 1026234336, 1028726061, 1031217788, 1032754149,
    1034000012, 1035245875, 1036491738, 1037737601, 1038983464, 1040208360, 1040831291, 1041454223,
    1042077154, 1042700086, 1043323017, 1043945949, 1044568880, 1045191812, 1045814743, 1046437675,
    1047060606, 1047683538, 1048306469, 1048752701, 1049064166, 1049375632, 1049687098, 1049998564,
    1050310029, 1050621495, 1050932961, 1051244427, 1051555892, 1051867358, 1052178824, 1052490290,
    1052801755, 1053113221, 1053424687, 1053736153, 1054047618, 1054359084, 1054670550, 1054982016,
    1055293481, 1055604947, 1055916413, 1056227879, 1056539344, 1056850810, 1057063442, 1057219175,
    1057374908, 1057530641, 1057686374, 1057842107, 1057997839, 1058153572, 1058309305, 1058465038,
    1058620771, 1058776504, 1058932237, 1059087970, 1059243702, 1059399435, 1059555168, 1059710901,
    1059866634, 1060022367, 1060178100, 1060333833, 1060489565, 1060645298, 1060801031, 1060956764,
    1061112497, 1061268230, 1061423963, 1061579696, 1061735428, 1061891161, 1062046894, 1062202627,
    1062358360, 1062514093, 1062669826, 1062825559, 1062981291, 1063137024, 1063292757, 1063448490,
    1063604223, 1063759956, 1063915689, 1064071422, 1064227154, 1064382887, 1064538620, 1064694353,
    1064850086, 1065005819, 1065161552, 1065317285, 1065413117, 1065490983, 1065568850, 1065646716,
    1065724583, 1065802449, 1065880316, 1065958182, 1066036048, 1066113915, 1066191781, 1066269648,
    1066347514, 1066425381, 1066503247, 1066581114, 1066658980, 1066736846, 1066814713,
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
        float x = input[i];
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
