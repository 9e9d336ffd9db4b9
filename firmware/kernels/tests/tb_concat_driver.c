/*
 * tb_concat_driver.c - host test driver of tb_concat_b1 (tests/test_dag.py); never part of a firmware.
 *
 * Reads cases from stdin until EOF, each: int32 pixels, out_c, n (inputs); n x int32 in_c; n x int32 order
 * (the order of the calls); the inputs' words (pixels x TB_WORDS(in_c) each, in input order); the output's
 * initial words (pixels x TB_WORDS(out_c): whatever the buffer held before). Writes per case the int32 status
 * of the first failing call (or TB_OK) and the output words.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tb_kernels_concat.h"

#define MAX_INPUTS 16

static int read_i32(int32_t *v, size_t n)
{
    return fread(v, sizeof(int32_t), n, stdin) == n;
}

int main(void)
{
    int32_t head[3];
    while (read_i32(head, 3)) {
        const int32_t pixels = head[0], out_c = head[1], n = head[2];
        int32_t in_c[MAX_INPUTS], order[MAX_INPUTS];
        uint32_t *inputs[MAX_INPUTS];
        int32_t status = TB_OK, off = 0;
        if (n < 1 || n > MAX_INPUTS || !read_i32(in_c, (size_t)n) || !read_i32(order, (size_t)n))
            return 2;
        for (int32_t i = 0; i < n; i++) {
            const size_t count = (size_t)pixels * (size_t)TB_WORDS(in_c[i]);
            inputs[i] = malloc(count * sizeof(uint32_t));
            if (inputs[i] == NULL || fread(inputs[i], sizeof(uint32_t), count, stdin) != count)
                return 2;
        }
        {
            const size_t count = (size_t)pixels * (size_t)TB_WORDS(out_c);
            uint32_t *output = malloc(count * sizeof(uint32_t));
            int32_t offsets[MAX_INPUTS];
            if (output == NULL || fread(output, sizeof(uint32_t), count, stdin) != count)
                return 2;
            for (int32_t i = 0; i < n; i++) {
                offsets[i] = off;
                off += in_c[i];
            }
            for (int32_t k = 0; k < n && status == TB_OK; k++) {
                const int32_t i = order[k];
                const tb_concat_params p = {pixels, in_c[i], out_c, offsets[i]};
                status = tb_concat_b1(NULL, &p, inputs[i], output);
            }
            fwrite(&status, sizeof(status), 1, stdout);
            fwrite(output, sizeof(uint32_t), count, stdout);
            free(output);
        }
        for (int32_t i = 0; i < n; i++)
            free(inputs[i]);
    }
    return 0;
}
