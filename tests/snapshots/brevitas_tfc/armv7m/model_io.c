/*
 * model_io.c - the float boundary of the tinybnn model "brevitas_tfc.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash bca03d274c8a1c84.
 *
 * tb_model_quantize computes the int8 codes exactly as tinybnn's host quantization does.
 * The preprocessing runs in float32, as NumPy does: each product is rounded to float32 in a volatile, so
 * that no fused multiply-add skips a rounding.
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

/* Preprocessing step 0 (float32): x = x * scale[c] + bias[c] per channel c. */
static const float pre0_scale[64] = {
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f, 2.0f, 2.0f,
    2.0f, 2.0f, 2.0f, 2.0f,
};
static const float pre0_bias[64] = {
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f,
};

/* Preprocessing step 1 (float32): x = x * scale[c] + bias[c] per channel c. */
static const float pre1_scale[64] = {
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f,
};
static const float pre1_bias[64] = {
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f,
    -1.0f, -1.0f, -1.0f, -1.0f,
};

/* Output affine step 0: y = y * scale[c] + bias[c]. */
static const double out0_scale[TB_MODEL_OUTPUT_SIZE] = {
    0.20526817440986633, 0.17477385699748993, 0.1896628588438034, 0.17565013468265533,
    0.19956812262535095, 0.19063569605350494, 0.20227614045143127, 0.2014552652835846,
    0.17121897637844086, 0.16334548592567444,
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
    -0.13905158638954163, 0.016748184338212013, -0.03739747405052185, -0.02514328807592392,
    -0.1081090122461319, 0.025872904807329178, -0.09606144577264786, -0.05714619159698486,
    0.19172492623329163, 0.06581565737724304,
};

int tb_model_quantize(const float *input, int8_t *codes)
{
    int i;

    if (input == NULL || codes == NULL)
        return TB_MODEL_ERR_ARG;
    for (i = 0; i < TB_MODEL_INPUT_SIZE; ++i) {
        float x = input[i];
        double v;
        {
            const int c = i % 64;
            volatile float p = x * pre0_scale[c];

            x = p + pre0_bias[c];
        }
        {
            const int c = i % 64;
            volatile float p = x * pre1_scale[c];

            x = p + pre1_bias[c];
        }
        if (isnan(x))
            return TB_MODEL_ERR_INPUT;
        (void)v;
        codes[i] = (int8_t)(x >= 0.0f ? 1 : -1);
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
