/*
 * model_io.c - the float boundary of the tinybnn model "torch_reactnet_dynamo.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 3bdac96476c25b66.
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
    7.295887420417604e-07, 9.532962413782177e-07, 8.522636533279909e-07, 7.991204897178e-07,
    6.945780003344205e-07, 7.564014406979917e-07, 7.864341255435994e-07, 8.745324316570156e-07,
    1.0162935751522478e-06, 7.815814298129609e-07,
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
    -0.11069109290838242, -0.03911416605114937, -0.10623940080404282, 0.021102838218212128,
    -0.07794588804244995, -0.05725787207484245, -0.03831977769732475, 0.10827139019966125,
    0.07732809334993362, -0.1729513257741928,
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
