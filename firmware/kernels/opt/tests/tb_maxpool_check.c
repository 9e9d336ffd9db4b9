/*
 * tb_maxpool_check.c - host check of tb_maxpool_b1_opt against the reference tb_maxpool_b1
 * (tests/test_opt_kernels.py); never part of a firmware.
 *
 * Usage: tb_maxpool_check SEED CASES. Draws random geometries (kernels 1..4, strides 1..3, paddings up to
 * the kernel on each side (windows with no valid tap included), channels on and off multiples of 32, with and without an OR mask), runs both
 * kernels on random inputs into output buffers prefilled with different garbage, compares every word.
 * Prints one line per mismatch (the geometry that reproduces it) and "maxpool: N cases, M mismatches".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_kernels.h"
#include "tb_kernels_opt.h"

#define MAX_WORDS 4096

static uint32_t rng_state;

static uint32_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int32_t pick(int32_t lo, int32_t hi) /* [lo, hi] */
{
    return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1));
}

static uint32_t input[MAX_WORDS], out_ref[MAX_WORDS], out_opt[MAX_WORDS], mask[8];

int main(int argc, char **argv)
{
    const int32_t cases = argc > 2 ? atoi(argv[2]) : 1000;
    int32_t bad = 0, done = 0;
    rng_state = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) | 1u : 1u;
    while (done < cases) {
        static const int32_t channels[] = {1, 7, 31, 32, 33, 64, 65, 100, 128, 200};
        tb_maxpool_params p;
        int32_t words, in_words, out_words;
        tb_status s1, s2;
        memset(&p, 0, sizeof(p));
        p.c = channels[next() % 10];
        p.in_h = pick(1, 9);
        p.in_w = pick(1, 9);
        p.kernel_h = pick(1, 4);
        p.kernel_w = pick(1, 4);
        p.stride_h = pick(1, 3);
        p.stride_w = pick(1, 3);
        p.pad_top = pick(0, p.kernel_h); /* up to the kernel: windows with no valid tap too */
        p.pad_bottom = pick(0, p.kernel_h);
        p.pad_left = pick(0, p.kernel_w);
        p.pad_right = pick(0, p.kernel_w);
        if (p.in_h + p.pad_top + p.pad_bottom < p.kernel_h || p.in_w + p.pad_left + p.pad_right < p.kernel_w)
            continue;
        p.out_h = (p.in_h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
        p.out_w = (p.in_w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
        words = TB_WORDS(p.c);
        in_words = p.in_h * p.in_w * words;
        out_words = p.out_h * p.out_w * words;
        for (int32_t i = 0; i < words; i++)
            mask[i] = next() % 3 == 0 ? next() : (i % 2 ? 0xFFFFFFFFu : 0u);
        if (p.c % 32)
            mask[words - 1] &= (1u << (p.c % 32)) - 1u;
        p.or_mask = next() % 2 ? mask : NULL;
        for (int32_t i = 0; i < in_words; i++) {
            input[i] = next();
            if ((i + 1) % words == 0 && p.c % 32)
                input[i] &= (1u << (p.c % 32)) - 1u; /* tail bits 0, as the contract says */
        }
        for (int32_t i = 0; i < out_words; i++) {
            out_ref[i] = 0xA5A5A5A5u;
            out_opt[i] = next();
        }
        s1 = tb_maxpool_b1(NULL, &p, input, out_ref);
        s2 = tb_maxpool_b1_opt(NULL, &p, input, out_opt);
        done++;
        if (s1 != TB_OK || s2 != TB_OK || memcmp(out_ref, out_opt, (size_t)out_words * 4u) != 0) {
            bad++;
            printf("mismatch: c %d in %dx%d kernel %dx%d stride %dx%d pads t%d l%d b%d r%d or_mask %s: status %d %d\n",
                   (int)p.c, (int)p.in_h, (int)p.in_w, (int)p.kernel_h, (int)p.kernel_w, (int)p.stride_h,
                   (int)p.stride_w, (int)p.pad_top, (int)p.pad_left, (int)p.pad_bottom, (int)p.pad_right,
                   p.or_mask ? "yes" : "no", (int)s1, (int)s2);
        }
    }
    printf("maxpool: %d cases, %d mismatches\n", (int)done, (int)bad);
    return bad != 0;
}
