/*
 * model_io.c - the float boundary of the tinybnn model "torch_xnor_tcn_legacy.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 8e08be39b2e9923c.
 *
 * tb_model_quantize computes the int8 codes exactly as tinybnn's host quantization does: float32 for the
 * preprocessing (each step rounded to float32, as NumPy does), double for the division by the input scale
 * and round half to even. Double arithmetic of float32 operands followed by a cast to float is exactly the
 * float32 operation, so no contraction (FMA) can change a code. tb_model_dequantize applies the output
 * affine in double, rounds each score to float and returns the first maximum (NumPy's argmax).
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

/* Round to the nearest integer, ties to even (NumPy's round), for |v| < 2^30. */
static double round_half_even(double v)
{
    double t = (double)(long)v; /* toward zero */
    double frac = v - t;

    if (frac > 0.5 || (frac >= 0.5 && ((long)t & 1L))) /* above a half, or a half to an odd t */
        t += 1.0;
    else if (frac < -0.5 || (frac <= -0.5 && ((long)t & 1L)))
        t -= 1.0;
    return t;
}

int tb_model_quantize(const float *input, int8_t *codes)
{
    int i;

    if (input == NULL || codes == NULL)
        return TB_MODEL_ERR_ARG;
    for (i = 0; i < TB_MODEL_INPUT_SIZE; ++i) {
        float x = input[input_index[i]];
        double v;
        if (isnan(x))
            return TB_MODEL_ERR_INPUT;
        /* q = clip(round(x / scale) + zero_point, -128, 127) */
        v = (double)x / 0.0625;
        if (v > 1e9)
            v = 1e9;
        else if (v < -1e9)
            v = -1e9;
        v = round_half_even(v) - 128.0;
        if (v > 127.0)
            v = 127.0;
        else if (v < -128.0)
            v = -128.0;
        codes[i] = (int8_t)(long)v;
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
