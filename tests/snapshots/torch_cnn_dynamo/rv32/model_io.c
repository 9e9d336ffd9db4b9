/*
 * model_io.c - the float boundary of the tinybnn model "torch_cnn_dynamo.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 5fe51488846afd78.
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
