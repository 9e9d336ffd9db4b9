/*
 * tb_opt_dump.c - host helper of tests/test_opt_kernels.py: the C weight encoders and scratch sizes of
 * every optimized family, so that the Python mirrors in tinybnn/backend/kernels.py are checked against them.
 *
 * Reads lines from stdin, writes one line per input line to stdout:
 *   enc <family> <O> <K> <O*K hex words>   ->  the encoded words (hex)
 *   conv <family> <KH> <KW> <C> <O> <pad>  ->  tb_conv2d_b1b1_<family>_get_buffer_size (pad: 0 zero, 1 one,
 *                                              2 minus one; the layer has one pixel of padding on each side)
 *   dense <family> <P> <C> <O>             ->  tb_dense_b1b1_<family>_get_buffer_size
 * family: armv7m | armv6m | rv32zbb | tree (the armv7m tree kernels, K >= 2; weights without thresholds) | rv32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_kernels_opt.h"

static int family_index(const char *name)
{
    return strcmp(name, "armv7m") == 0    ? 0
           : strcmp(name, "armv6m") == 0  ? 1
           : strcmp(name, "rv32zbb") == 0 ? 2
           : strcmp(name, "tree") == 0    ? 3
           : strcmp(name, "rv32") == 0    ? 4
                                          : -1;
}

int main(void)
{
    char op[16], fam[16];
    while (scanf("%15s %15s", op, fam) == 2) {
        const int f = family_index(fam);
        if (f < 0)
            return 2;
        if (strcmp(op, "enc") == 0) {
            long O, K, n;
            uint32_t *w, *e;
            if (scanf("%ld %ld", &O, &K) != 2)
                return 2;
            n = f == 0   ? tb_armv7m_encoded_words(O, K)
                : f == 1 ? tb_armv6m_encoded_words(O, K)
                : f == 2 ? tb_rv32zbb_encoded_words(O, K)
                : f == 4 ? tb_rv32_encoded_words(O, K)
                         : O * tb_tree_words(K);
            w = malloc(sizeof *w * (size_t)(O * K + 1));
            e = malloc(sizeof *e * (size_t)(n + 1));
            if (w == NULL || e == NULL)
                return 2;
            for (long i = 0; i < O * K; i++) {
                unsigned long v;
                if (scanf("%lx", &v) != 1)
                    return 2;
                w[i] = (uint32_t)v;
            }
            if (f == 3) {
                uint32_t *tmp = malloc(sizeof *tmp * (size_t)(K + 1));
                if (tmp == NULL)
                    return 2;
                tb_tree_encode_weights(w, (int32_t)O, (int32_t)K, NULL, e, tmp);
                free(tmp);
            } else if (f == 0)
                tb_armv7m_encode_weights(w, (int32_t)O, (int32_t)K, e);
            else if (f == 1)
                tb_armv6m_encode_weights(w, (int32_t)O, (int32_t)K, e);
            else if (f == 4)
                tb_rv32_encode_weights(w, (int32_t)O, (int32_t)K, e);
            else
                tb_rv32zbb_encode_weights(w, (int32_t)O, (int32_t)K, e);
            for (long i = 0; i < n; i++)
                printf(i ? " %lx" : "%lx", (unsigned long)e[i]);
            printf("\n");
            free(w);
            free(e);
        } else if (strcmp(op, "conv") == 0) {
            long KH, KW, C, O, pad;
            tb_conv2d_params p;
            if (scanf("%ld %ld %ld %ld %ld", &KH, &KW, &C, &O, &pad) != 5)
                return 2;
            memset(&p, 0, sizeof p);
            p.in_h = p.in_w = 8;
            p.in_c = (int32_t)C;
            p.out_c = (int32_t)O;
            p.kernel_h = (int32_t)KH;
            p.kernel_w = (int32_t)KW;
            p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
            p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
            p.out_h = 8 + 2 - (int32_t)KH + 1;
            p.out_w = 8 + 2 - (int32_t)KW + 1;
            p.pad = (tb_pad_kind)pad;
            printf("%ld\n", (long)(f == 0   ? tb_conv2d_b1b1_armv7m_get_buffer_size(&p)
                                   : f == 1 ? tb_conv2d_b1b1_armv6m_get_buffer_size(&p)
                                   : f == 2 ? tb_conv2d_b1b1_rv32zbb_get_buffer_size(&p)
                                   : f == 4 ? tb_conv2d_b1b1_rv32_get_buffer_size(&p)
                                            : tb_tree_conv2d_get_buffer_size(&p)));
        } else if (strcmp(op, "dense") == 0) {
            long P, C, O;
            tb_dense_params p;
            if (scanf("%ld %ld %ld", &P, &C, &O) != 3)
                return 2;
            p.in_pixels = (int32_t)P;
            p.in_c = (int32_t)C;
            p.out_c = (int32_t)O;
            p.input_zero_point = 0;
            printf("%ld\n", (long)(f == 0   ? tb_dense_b1b1_armv7m_get_buffer_size(&p)
                                   : f == 1 ? tb_dense_b1b1_armv6m_get_buffer_size(&p)
                                   : f == 2 ? tb_dense_b1b1_rv32zbb_get_buffer_size(&p)
                                   : f == 4 ? tb_dense_b1b1_rv32_get_buffer_size(&p)
                                            : tb_tree_dense_get_buffer_size(&p)));
        } else {
            return 2;
        }
        fflush(stdout);
    }
    return 0;
}
