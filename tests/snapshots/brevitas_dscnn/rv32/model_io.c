/*
 * model_io.c - the float boundary of the tinybnn model "brevitas_dscnn.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash ba4602c78998d13e.
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
        float x = input[i];
        double v;
        if (isnan(x))
            return TB_MODEL_ERR_INPUT;
        /* q = round(clip(x / scale + zero_point, -128, 127)) - 0 (ROUND) */
        v = (double)x / 0.009282402694225311;
        if (v > 127.0)
            v = 127.0;
        else if (v < -128.0)
            v = -128.0;
        v = round_half_even(v);
        codes[i] = (int8_t)((long)v - 0L);
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
