/*
 * tb_grouped_driver.c - host test driver of the grouped conv2d kernels (tb_kernels_grouped.h), and of
 * tb_conv2d_b1b1 / tb_conv2d_s8s8 on the same cases (groups = 1 must give the same outputs).
 *
 * Used by tests/test_grouped_kernels.py (compiled once, optionally with -fsanitize=address,undefined, or with
 * -DTB_KERNEL_CHECKS=0). Every buffer a kernel sees is a heap block of exactly the size it may touch (at an
 * offset of 0..3 bytes into it when the case asks), so AddressSanitizer catches an out-of-bounds access.
 *
 * stdin, little-endian int32 (blobs padded to 4 bytes): magic 0x47424254, number of cases, then per case
 *   op, mode, nints, ints[nints], nblobs, blobs (blob = int32 byte count, then the bytes; 0 bytes = NULL)
 * stdout, per case: int32 status, int32 byte count n, n bytes of output.
 *
 *   op 1 tb_conv2d_grouped_b1b1, 2 tb_conv2d_grouped_s8s8, 3 tb_conv2d_grouped_s16s8,
 *   op 4 tb_conv2d_b1b1, 5 tb_conv2d_s8s8 (groups ignored; s8s8 gets its scratch), 6 tb_conv2d_s16s8 (built with
 *        -DTB_GROUPED_HAVE_S16S8, where tb_kernels_stream.h declares it)
 *   ints (20): the 18 tb_conv2d_params fields in order, groups, output kind (tb_out_kind value)
 *   blobs (7): weights, input, thresholds, flip, multiplier, offset, shift
 *   mode bits: 1 int8 buffers (int8 input and weights, a TB_OUT_S8 output) at odd addresses; 2 the input at 2
 *        bytes past a word boundary; 4 the output at 1 byte past one; 8 params NULL; 16 the input at 1 byte
 *        past one; 32 the weights at 2 bytes past one
 * The output block holds out_h * out_w codes of the kind (packed words for TB_OUT_BITS, 4 bytes per int32, 2
 * per int16, 1 per int8), filled with 0xA5 before the call.
 *
 * Built with -DTB_GROUPED_DEVICE it is a firmware (tb_main) for the emulated cores: the cases come from the
 * generated array tb_grouped_cases[tb_grouped_cases_len], buffers from a static arena of
 * TB_GROUPED_ARENA_WORDS words (reset per case), and instead of the results it prints their count and 32-bit
 * FNV-1a hash, "tb_grouped_check records <n> hash <h>": equal to the hash of the host's results.
 */
#include <string.h>

#include "tb_kernels.h"
#include "tb_kernels_grouped.h"
#ifdef TB_GROUPED_HAVE_S16S8
#include "tb_kernels_stream.h"
#endif

#ifdef TB_GROUPED_DEVICE
#include "tb_print.h"
#ifndef TB_GROUPED_ARENA_WORDS
#define TB_GROUPED_ARENA_WORDS 2000
#endif
extern const uint8_t tb_grouped_cases[];
extern const int32_t tb_grouped_cases_len;
static int32_t in_pos;
static uint32_t out_hash = 2166136261u; /* FNV-1a */
static int32_t out_records;
static uint32_t arena[TB_GROUPED_ARENA_WORDS];
static int32_t arena_used; /* words */
#else
#include <stdio.h>
#include <stdlib.h>
#endif

#define MAGIC 0x47424254
#define NINTS 20
#define NBLOBS 7

enum { OP_GROUPED_B1B1 = 1, OP_GROUPED_S8S8, OP_GROUPED_S16S8, OP_CONV_B1B1, OP_CONV_S8S8, OP_CONV_S16S8 };
enum { MODE_ODD_S8 = 1, MODE_INPUT_PLUS2 = 2, MODE_ODD_OUTPUT = 4, MODE_NULL_PARAMS = 8, MODE_INPUT_PLUS1 = 16,
       MODE_WEIGHTS_PLUS2 = 32 };
enum { B_WEIGHTS, B_INPUT, B_THRESHOLDS, B_FLIP, B_MULTIPLIER, B_OFFSET, B_SHIFT };

static void fail(const char *msg)
{
#ifdef TB_GROUPED_DEVICE
    tb_print("tb_grouped_check error: ");
    tb_print(msg);
    tb_print("\n");
    for (;;) {
    }
#else
    fprintf(stderr, "tb_grouped_driver: %s\n", msg);
    exit(2);
#endif
}

/* n bytes of the case stream into dst (skipped when dst is NULL, n < 4). */
static void rd_bytes(void *dst, int32_t n)
{
#ifdef TB_GROUPED_DEVICE
    if (n > tb_grouped_cases_len - in_pos)
        fail("truncated input");
    if (dst != NULL)
        memcpy(dst, tb_grouped_cases + in_pos, (size_t)n);
    in_pos += n;
#else
    uint8_t skip[4];
    if (dst == NULL && n > 4)
        fail("bad skip");
    if (n > 0 && fread(dst != NULL ? dst : skip, 1, (size_t)n, stdin) != (size_t)n)
        fail("truncated input");
#endif
}

static int32_t rd_i32(void)
{
    int32_t v;
    rd_bytes(&v, 4);
    return v;
}

/* A block of n bytes (the device's arena is reset per case: release is then a no-op). */
static void *block_alloc(int32_t n)
{
#ifdef TB_GROUPED_DEVICE
    const int32_t w = (n + 3) / 4;
    void *p = arena + arena_used;
    if (w > TB_GROUPED_ARENA_WORDS - arena_used)
        fail("arena too small for the case");
    arena_used += w;
    return p;
#else
    void *p = malloc(n > 0 ? (size_t)n : 1u);
    if (p == NULL)
        fail("out of memory");
    return p;
#endif
}

static void block_free(void *p)
{
#ifdef TB_GROUPED_DEVICE
    (void)p;
#else
    free(p);
#endif
}

/* A buffer of n bytes at `shift` (0..3) bytes into an exact-size block; *block receives the block. */
static uint8_t *alloc_at(int32_t n, int shift, void **block)
{
    uint8_t *b = (uint8_t *)block_alloc(n + shift);
    *block = b;
    return b + shift;
}

typedef struct {
    void *block;
    uint8_t *p; /* NULL for an empty blob */
} blob;

/* A blob read into an exact-size block at `shift` bytes into it, or NULL when empty. */
static blob rd_blob(int shift)
{
    blob b;
    const int32_t n = rd_i32();
    if (n < 0)
        fail("bad blob");
    b.block = NULL;
    b.p = NULL;
    if (n > 0) {
        b.p = alloc_at(n, shift, &b.block);
        rd_bytes(b.p, n);
    }
    rd_bytes(NULL, (4 - n % 4) % 4);
    return b;
}

#ifdef TB_GROUPED_DEVICE
static void hash_bytes(const void *data, int32_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    for (int32_t i = 0; i < n; i++)
        out_hash = (out_hash ^ p[i]) * 16777619u;
}
#endif

static void put_result(tb_status st, const void *data, int32_t n)
{
    const int32_t status = (int32_t)st;
#ifdef TB_GROUPED_DEVICE
    hash_bytes(&status, 4);
    hash_bytes(&n, 4);
    hash_bytes(data, n);
    out_records++;
#else
    if (fwrite(&status, 4, 1, stdout) != 1 || fwrite(&n, 4, 1, stdout) != 1 ||
        (n > 0 && fwrite(data, 1, (size_t)n, stdout) != (size_t)n))
        fail("cannot write results");
#endif
}

/* Output bytes of out_h * out_w pixels of out_c channels of output kind `kind` (1 when a size is unusable, so
 * that the kernel's refusal is what is seen). */
static int32_t out_bytes(const tb_conv2d_params *p, int32_t kind)
{
    const int32_t pixels = p->out_h * p->out_w;
    if (p->out_h < 1 || p->out_w < 1 || p->out_c < 1)
        return 1;
    switch (kind) {
    case 0: return 4 * pixels * TB_WORDS(p->out_c); /* TB_OUT_BITS */
    case 1: return 4 * pixels * p->out_c;           /* TB_OUT_S32 */
    case 2: return pixels * p->out_c;               /* TB_OUT_S8 */
    case 3: return 2 * pixels * p->out_c;           /* TB_OUT_S16 (where the header has it) */
    default: return 1;
    }
}

static void run_case(int32_t op, int mode, const int32_t *v, blob *bl)
{
    tb_grouped_conv2d_params gp;
    tb_conv2d_params *cp = &gp.conv;
    tb_out_params out;
    tb_context ctx;
    void *scratch = NULL, *block;
    uint8_t *y;
    int32_t n;
    tb_status st = TB_ERR_ARG;
    cp->in_h = v[0], cp->in_w = v[1], cp->in_c = v[2], cp->out_h = v[3], cp->out_w = v[4], cp->out_c = v[5];
    cp->kernel_h = v[6], cp->kernel_w = v[7], cp->stride_h = v[8], cp->stride_w = v[9];
    cp->dilation_h = v[10], cp->dilation_w = v[11];
    cp->pad_top = v[12], cp->pad_left = v[13], cp->pad_bottom = v[14], cp->pad_right = v[15];
    cp->pad = (tb_pad_kind)v[16];
    cp->input_zero_point = v[17];
    gp.groups = v[18];
    out.kind = (tb_out_kind)v[19];
    out.thresholds = (const int32_t *)bl[B_THRESHOLDS].p;
    out.flip = (const uint32_t *)bl[B_FLIP].p;
    out.multiplier = (const int32_t *)bl[B_MULTIPLIER].p;
    out.offset = (const int64_t *)bl[B_OFFSET].p;
    out.shift = (const int32_t *)bl[B_SHIFT].p;
    ctx.buf = NULL;
    ctx.size = 0;
    n = out_bytes(cp, v[19]);
    y = alloc_at(n, (mode & MODE_ODD_OUTPUT) ? 1 : (v[19] == 2 && (mode & MODE_ODD_S8)) ? 1 : 0, &block);
    memset(y, 0xA5, (size_t)n);
    {
        const tb_grouped_conv2d_params *pp = (mode & MODE_NULL_PARAMS) ? NULL : &gp;
        const void *w = bl[B_WEIGHTS].p, *x = bl[B_INPUT].p;
        switch (op) {
        case OP_GROUPED_B1B1:
            st = tb_conv2d_grouped_b1b1(NULL, pp, &out, (const uint32_t *)x, (const uint32_t *)w, y);
            break;
        case OP_GROUPED_S8S8:
            st = tb_conv2d_grouped_s8s8(NULL, pp, &out, (const int8_t *)x, (const int8_t *)w, y);
            break;
        case OP_GROUPED_S16S8:
            st = tb_conv2d_grouped_s16s8(NULL, pp, &out, (const int16_t *)x, (const int8_t *)w, y);
            break;
        case OP_CONV_B1B1:
            st = tb_conv2d_b1b1(NULL, cp, &out, (const uint32_t *)x, (const uint32_t *)w, y);
            break;
        case OP_CONV_S8S8:
            ctx.size = tb_conv2d_s8s8_get_buffer_size(cp);
            ctx.buf = alloc_at(ctx.size, 0, &scratch);
            st = tb_conv2d_s8s8(&ctx, cp, &out, (const int8_t *)x, (const int8_t *)w, y);
            break;
#ifdef TB_GROUPED_HAVE_S16S8
        case OP_CONV_S16S8:
            st = tb_conv2d_s16s8(NULL, cp, &out, (const int16_t *)x, (const int8_t *)w, y);
            break;
#endif
        default:
            fail("unknown op");
        }
        /* the scratch sizes are all 0 */
        if (op <= OP_GROUPED_S16S8 && (tb_conv2d_grouped_b1b1_get_buffer_size(pp) != 0 ||
                                       tb_conv2d_grouped_s8s8_get_buffer_size(pp) != 0 ||
                                       tb_conv2d_grouped_s16s8_get_buffer_size(pp) != 0))
            fail("a grouped kernel asks for scratch");
    }
    put_result(st, y, n);
    block_free(block);
    block_free(scratch);
}

static void run(void)
{
    int32_t ncases;
    if (rd_i32() != MAGIC)
        fail("bad magic");
    ncases = rd_i32();
    for (int32_t k = 0; k < ncases; k++) {
        const int32_t op = rd_i32(), mode = rd_i32(), nints = rd_i32();
        const int byte_input = op == OP_GROUPED_S8S8 || op == OP_CONV_S8S8;
        int32_t v[NINTS], nblobs;
        blob bl[NBLOBS];
#ifdef TB_GROUPED_DEVICE
        arena_used = 0; /* every block of the previous case is released */
#endif
        if (nints != NINTS)
            fail("a case needs 20 ints");
        for (int32_t i = 0; i < nints; i++)
            v[i] = rd_i32();
        nblobs = rd_i32();
        if (nblobs != NBLOBS)
            fail("a case needs 7 blobs");
        for (int32_t i = 0; i < nblobs; i++) {
            const int byte_weights = op != OP_GROUPED_B1B1 && op != OP_CONV_B1B1;
            int shift = 0;
            if (i == B_INPUT && (mode & MODE_INPUT_PLUS2))
                shift = 2;
            else if (i == B_INPUT && ((mode & MODE_INPUT_PLUS1) || (byte_input && (mode & MODE_ODD_S8))))
                shift = 1;
            else if (i == B_WEIGHTS && (mode & MODE_WEIGHTS_PLUS2))
                shift = 2;
            else if (i == B_WEIGHTS && byte_weights && (mode & MODE_ODD_S8))
                shift = 1;
            bl[i] = rd_blob(shift);
        }
        run_case(op, mode, v, bl);
        for (int32_t i = 0; i < nblobs; i++)
            block_free(bl[i].block);
    }
}

#ifdef TB_GROUPED_DEVICE
int tb_main(void)
{
    run();
    tb_print("tb_grouped_check records ");
    tb_print_i32(out_records);
    tb_print(" hash ");
    tb_print_u32(out_hash);
    tb_print("\n");
    return 0;
}
#else
int main(void)
{
    run();
    if (fflush(stdout) != 0)
        fail("cannot write results");
    return 0;
}
#endif
