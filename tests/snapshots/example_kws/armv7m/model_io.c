/*
 * model_io.c - the float boundary of the tinybnn model "kws_bnn.onnx" on the device, by tinybnn 0.1.0.
 * Do not edit: regenerate with `tinybnn convert`. Model hash 49f17d135eaa6e2a.
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
    0, 49, 98, 147, 196, 245, 294, 343, 392, 441, 1, 50, 99, 148, 197, 246,
    295, 344, 393, 442, 2, 51, 100, 149, 198, 247, 296, 345, 394, 443, 3, 52,
    101, 150, 199, 248, 297, 346, 395, 444, 4, 53, 102, 151, 200, 249, 298, 347,
    396, 445, 5, 54, 103, 152, 201, 250, 299, 348, 397, 446, 6, 55, 104, 153,
    202, 251, 300, 349, 398, 447, 7, 56, 105, 154, 203, 252, 301, 350, 399, 448,
    8, 57, 106, 155, 204, 253, 302, 351, 400, 449, 9, 58, 107, 156, 205, 254,
    303, 352, 401, 450, 10, 59, 108, 157, 206, 255, 304, 353, 402, 451, 11, 60,
    109, 158, 207, 256, 305, 354, 403, 452, 12, 61, 110, 159, 208, 257, 306, 355,
    404, 453, 13, 62, 111, 160, 209, 258, 307, 356, 405, 454, 14, 63, 112, 161,
    210, 259, 308, 357, 406, 455, 15, 64, 113, 162, 211, 260, 309, 358, 407, 456,
    16, 65, 114, 163, 212, 261, 310, 359, 408, 457, 17, 66, 115, 164, 213, 262,
    311, 360, 409, 458, 18, 67, 116, 165, 214, 263, 312, 361, 410, 459, 19, 68,
    117, 166, 215, 264, 313, 362, 411, 460, 20, 69, 118, 167, 216, 265, 314, 363,
    412, 461, 21, 70, 119, 168, 217, 266, 315, 364, 413, 462, 22, 71, 120, 169,
    218, 267, 316, 365, 414, 463, 23, 72, 121, 170, 219, 268, 317, 366, 415, 464,
    24, 73, 122, 171, 220, 269, 318, 367, 416, 465, 25, 74, 123, 172, 221, 270,
    319, 368, 417, 466, 26, 75, 124, 173, 222, 271, 320, 369, 418, 467, 27, 76,
    125, 174, 223, 272, 321, 370, 419, 468, 28, 77, 126, 175, 224, 273, 322, 371,
    420, 469, 29, 78, 127, 176, 225, 274, 323, 372, 421, 470, 30, 79, 128, 177,
    226, 275, 324, 373, 422, 471, 31, 80, 129, 178, 227, 276, 325, 374, 423, 472,
    32, 81, 130, 179, 228, 277, 326, 375, 424, 473, 33, 82, 131, 180, 229, 278,
    327, 376, 425, 474, 34, 83, 132, 181, 230, 279, 328, 377, 426, 475, 35, 84,
    133, 182, 231, 280, 329, 378, 427, 476, 36, 85, 134, 183, 232, 281, 330, 379,
    428, 477, 37, 86, 135, 184, 233, 282, 331, 380, 429, 478, 38, 87, 136, 185,
    234, 283, 332, 381, 430, 479, 39, 88, 137, 186, 235, 284, 333, 382, 431, 480,
    40, 89, 138, 187, 236, 285, 334, 383, 432, 481, 41, 90, 139, 188, 237, 286,
    335, 384, 433, 482, 42, 91, 140, 189, 238, 287, 336, 385, 434, 483, 43, 92,
    141, 190, 239, 288, 337, 386, 435, 484, 44, 93, 142, 191, 240, 289, 338, 387,
    436, 485, 45, 94, 143, 192, 241, 290, 339, 388, 437, 486, 46, 95, 144, 193,
    242, 291, 340, 389, 438, 487, 47, 96, 145, 194, 243, 292, 341, 390, 439, 488,
    48, 97, 146, 195, 244, 293, 342, 391, 440, 489,
};

/* Preprocessing step 0 (float32): x = x * scale[c] + bias[c] per channel c. */
static const float pre0_scale[10] = {
    0.03942485526204109f, 0.13996769487857819f, 0.4074135422706604f, 0.3859786093235016f, 0.41573479771614075f, 0.5079153776168823f,
    0.5327897071838379f, 0.5973314046859741f, 0.7253276705741882f, 0.8296209573745728f,
};
static const float pre0_bias[10] = {
    0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    0.0f, 0.0f, 0.0f, 0.0f,
};

/* Preprocessing step 1 (float32): x = x * scale[c] + bias[c] per channel c. */
static const float pre1_scale[10] = {
    1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f,
    1.0f, 1.0f, 1.0f, 1.0f,
};
static const float pre1_bias[10] = {
    1.0875575542449951f, -0.5326091051101685f, -0.580249011516571f, -0.41181710362434387f, 0.008573567494750023f, -0.012147284112870693f,
    -0.1426713764667511f, 0.014530837535858154f, -0.15447458624839783f, -0.09849327802658081f,
};

/* Output affine step 0: y = y * scale[c] + bias[c]. */
static const double out0_scale[TB_MODEL_OUTPUT_SIZE] = {
    0.10654025381167395, 0.04886611336975359, 0.0781430271882121, 0.07327791162143638,
    0.05876706993903954, 0.07034076703315485, 0.06027492699927435, 0.07486412228490541,
    0.07668268014859536, 0.05476637745237713, 0.06762987349608086, 0.06593182171049372,
};
static const double out0_bias[TB_MODEL_OUTPUT_SIZE] = {
    -3.814385167520825, 3.6436145974201715, -0.15325019124859562, -0.6733086160743789,
    -2.3447083628595156, 1.4044848955132367, -0.5366715306612154, 1.2391128562787719,
    -0.4198723578475198, -0.5248233201858074, -0.09361268953332202, -0.6044218751006024,
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
        {
            const int c = i % 10;
            x = (float)((double)x * (double)pre0_scale[c]);
            x = (float)((double)x + (double)pre0_bias[c]);
        }
        {
            const int c = i % 10;
            x = (float)((double)x * (double)pre1_scale[c]);
            x = (float)((double)x + (double)pre1_bias[c]);
        }
        if (isnan(x))
            return TB_MODEL_ERR_INPUT;
        /* q = clip(round(x / scale) + zero_point, -128, 127) */
        v = (double)x / 0.05167732051774567;
        if (v > 1e9)
            v = 1e9;
        else if (v < -1e9)
            v = -1e9;
        v = round_half_even(v);
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
