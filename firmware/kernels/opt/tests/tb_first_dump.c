/*
 * tb_first_dump.c - host helper of tests/test_first_layer_kernels.py: the C encoder and scratch sizes of
 * the subset-sum first-layer kernels (tb_first_ss.c), for comparison with tinybnn/backend/first_layer_kernels.py.
 *
 * One request per input line, one answer line each:
 *   enc O K w...        -> the words of tb_ss_encode_weights (hex), weights [O][TB_WORDS(K)] in hex
 *   conv KH KW C O      -> tb_conv2d_s8b1_ss_get_buffer_size of such a layer
 *   dense P C O         -> tb_dense_s8b1_ss_get_buffer_size
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_kernels_opt.h"

#define MAX_WORDS 65536

int main(void)
{
    static uint32_t w[MAX_WORDS], e[MAX_WORDS];
    char kind[16];
    while (scanf("%15s", kind) == 1) {
        if (strcmp(kind, "enc") == 0) {
            long o, k;
            if (scanf("%ld %ld", &o, &k) != 2 || o * TB_WORDS(k) > MAX_WORDS ||
                tb_ss_encoded_words((int32_t)o, (int32_t)k) > MAX_WORDS)
                return 2;
            for (long i = 0; i < o * TB_WORDS(k); i++) {
                unsigned long v;
                if (scanf("%lx", &v) != 1)
                    return 2;
                w[i] = (uint32_t)v;
            }
            tb_ss_encode_weights(w, (int32_t)o, (int32_t)k, e);
            for (int32_t i = 0; i < tb_ss_encoded_words((int32_t)o, (int32_t)k); i++)
                printf(i ? " %lx" : "%lx", (unsigned long)e[i]);
            printf("\n");
        } else if (strcmp(kind, "conv") == 0) {
            tb_conv2d_params p;
            long kh, kw, c, o;
            if (scanf("%ld %ld %ld %ld", &kh, &kw, &c, &o) != 4)
                return 2;
            memset(&p, 0, sizeof p);
            p.kernel_h = (int32_t)kh, p.kernel_w = (int32_t)kw, p.in_c = (int32_t)c, p.out_c = (int32_t)o;
            printf("%ld\n", (long)tb_conv2d_s8b1_ss_get_buffer_size(&p));
        } else if (strcmp(kind, "dense") == 0) {
            tb_dense_params p;
            long pp, c, o;
            if (scanf("%ld %ld %ld", &pp, &c, &o) != 3)
                return 2;
            memset(&p, 0, sizeof p);
            p.in_pixels = (int32_t)pp, p.in_c = (int32_t)c, p.out_c = (int32_t)o;
            printf("%ld\n", (long)tb_dense_s8b1_ss_get_buffer_size(&p));
        } else {
            return 2;
        }
    }
    return 0;
}
