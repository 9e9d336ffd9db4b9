/*
 * model_io.c - the float boundary of the tinybnn model "brevitas_cnn.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash f495e4f506e1dbf7.
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
    0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612,
    0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612,
    0.10000000149011612, 0.10000000149011612,
};
static const double out0_bias[TB_MODEL_OUTPUT_SIZE] = {
    0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0,
    0.0, 0.0,
};

/* Output affine step 1: y = y * scale[c] + bias[c]. */
static const double out1_scale[TB_MODEL_OUTPUT_SIZE] = {
    0.3633162741250148, 0.5098252522182245, 0.4025392451336769, 0.5043089334866505,
    0.4352439587089112, 0.46666482664982656, 0.4289920324837999, 0.43198086640689437,
    0.5224223655288465, 0.5432611027601143,
};
static const double out1_bias[TB_MODEL_OUTPUT_SIZE] = {
    -2.3873883003545897, 1.137933306823198, 0.007782680718269229, -1.4960064833479938,
    -0.2745380818083073, -0.4955207372561006, 0.050551014889923696, -0.6509234862523152,
    -4.862897896918312, -0.28563422449012477,
};

/* The quantizer's breakpoints as order keys, ascending: the code of a float y is -128 + the number of
 * keys <= input_key(y). */
static const int32_t input_keys[255] = {
    -1065471859, -1065405135, -1065323608, -1065190161, -1065056714, -1064923267, -1064789819, -1064656372,
    -1064522925, -1064389478, -1064256031, -1064122584, -1063989137, -1063855690, -1063722243, -1063588796,
    -1063455349, -1063321902, -1063188455, -1063055007, -1062921560, -1062788113, -1062654666, -1062521219,
    -1062387772, -1062254325, -1062120878, -1061987431, -1061853984, -1061720537, -1061587090, -1061453643,
    -1061320195, -1061186748, -1061053301, -1060919854, -1060786407, -1060652960, -1060519513, -1060386066,
    -1060252619, -1060119172, -1059985725, -1059852278, -1059718831, -1059585383, -1059451936, -1059318489,
    -1059185042, -1059051595, -1058918148, -1058784701, -1058651254, -1058517807, -1058384360, -1058250913,
    -1058117466, -1057984019, -1057850571, -1057717124, -1057583677, -1057450230, -1057316783, -1057183336,
    -1057049889, -1056868276, -1056601382, -1056334488, -1056067594, -1055800700, -1055533805, -1055266911,
    -1055000017, -1054733123, -1054466229, -1054199335, -1053932441, -1053665546, -1053398652, -1053131758,
    -1052864864, -1052597970, -1052331076, -1052064181, -1051797287, -1051530393, -1051263499, -1050996605,
    -1050729711, -1050462817, -1050195922, -1049929028, -1049662134, -1049395240, -1049128346, -1048861452,
    -1048594557, -1048079327, -1047545539, -1047011750, -1046477962, -1045944174, -1045410385, -1044876597,
    -1044342809, -1043809021, -1043275232, -1042741444, -1042207656, -1041673867, -1041140079, -1040606291,
    -1039957613, -1038890037, -1037822460, -1036754883, -1035687307, -1034619730, -1033552153, -1032484577,
    -1031035217, -1028900064, -1026764910, -1024629757, -1021579032, -1017308726, -1011055271, -998396357,
    998396358, 1011055272, 1017308727, 1021579033, 1024629758, 1026764911, 1028900065, 1031035218,
    1032484578, 1033552154, 1034619731, 1035687308, 1036754884, 1037822461, 1038890038, 1039957614,
    1040606292, 1041140080, 1041673868, 1042207657, 1042741445, 1043275233, 1043809022, 1044342810,
    1044876598, 1045410386, 1045944175, 1046477963, 1047011751, 1047545540, 1048079328, 1048594558,
    1048861453, 1049128347, 1049395241, 1049662135, 1049929029, 1050195923, 1050462818, 1050729712,
    1050996606, 1051263500, 1051530394, 1051797288, 1052064182, 1052331077, 1052597971, 1052864865,
    1053131759, 1053398653, 1053665547, 1053932442, 1054199336, 1054466230, 1054733124, 1055000018,
    1055266912, 1055533806, 1055800701, 1056067595, 1056334489, 1056601383, 1056868277, 1057049890,
    1057183337, 1057316784, 1057450231, 1057583678, 1057717125, 1057850572, 1057984020, 1058117467,
    1058250914, 1058384361, 1058517808, 1058651255, 1058784702, 1058918149, 1059051596, 1059185043,
    1059318490, 1059451937, 1059585384, 1059718832, 1059852279, 1059985726, 1060119173, 1060252620,
    1060386067, 1060519514, 1060652961, 1060786408, 1060919855, 1061053302, 1061186749, 1061320196,
    1061453644, 1061587091, 1061720538, 1061853985, 1061987432, 1062120879, 1062254326, 1062387773,
    1062521220, 1062654667, 1062788114, 1062921561, 1063055008, 1063188456, 1063321903, 1063455350,
    1063588797, 1063722244, 1063855691, 1063989138, 1064122585, 1064256032, 1064389479, 1064522926,
    1064656373, 1064789820, 1064923268, 1065056715, 1065190162, 1065323609, 1065405136,
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
