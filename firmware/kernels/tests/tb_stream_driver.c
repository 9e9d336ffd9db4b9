/*
 * tb_stream_driver.c - host test driver of the int8- and int16-stream kernels (tb_kernels_stream.h) and of the
 * TB_OUT_S8 / TB_OUT_S16 output stages of the conv/dense kernels (reference ones, the int16-input ones, the
 * subset-sum first layers and the binary families of opt/).
 *
 * Used by tests/test_stream_kernels.py (compiled once, optionally with -fsanitize=address,undefined). Every
 * buffer a kernel sees is a heap block of exactly the size it may touch, so AddressSanitizer catches an
 * out-of-bounds access; int8 buffers sit at odd addresses when the case asks for it (they need no alignment),
 * int16 ones 2 bytes past a word (their loosest alignment) or at odd addresses (to see TB_ERR_ALIGN).
 *
 * stdin, little-endian int32 (blobs padded to 4 bytes): magic 0x53424254, number of cases, then per case
 *   op, mode, nints, ints[nints], nblobs, blobs (blob = int32 byte count, then the bytes; 0 bytes = NULL)
 * stdout, per kernel call: int32 status, int32 byte count n, n bytes of output.
 *
 *   ops 1..5 run the int16 twin (tb_add_s16, ...) with mode bit 8, every stream tensor then int16:
 *   op 1 tb_add_s8       ints: size, mult_a, mult_b, offset lo, offset hi, shift; blobs: a, b
 *   op 2 tb_avgpool_s8   ints: the 13 geometry fields, input_zero_point, multiplier, offset lo, hi, shift;
 *                        blobs: input
 *   op 3 tb_maxpool_s8   ints: the 13 geometry fields; blobs: input, or_mask
 *   op 4 tb_binarize_s8  ints: pixels, c; blobs: thresholds, flip, input
 *   op 5 tb_prelu_s8     ints: pixels, c; blobs: breakpoint, mult_pos, offset_pos, mult_neg, offset_neg, shift,
 *                        input
 *   op 10..19 a conv/dense layer run three times, TB_OUT_S32, TB_OUT_S8 then TB_OUT_S16 (three results):
 *        10 tb_conv2d_b1b1,
 *        11 tb_conv2d_s8s8, 12 tb_conv2d_s8b1, 13 tb_conv2d_s8s16, 14 tb_dense_b1b1, 15 tb_dense_s8s8,
 *        16 tb_dense_s8b1, 17 tb_dense_s8s16, 18 tb_conv2d_s8b1_ss, 19 tb_dense_s8b1_ss (weights packed as
 *        for tb_conv2d_s8b1 / tb_dense_s8b1, encoded here with tb_ss_encode_weights);
 *        ints: the params struct's fields; blobs: weights, multiplier, offset, shift (TB_OUT_S8), input,
 *        multiplier, offset, shift (TB_OUT_S16)
 *   op 20..29 the same for the binary conv2d (even op) and dense (odd op) of the optimized families, in their
 *        portable C, weights packed as for tb_conv2d_b1b1 and encoded here: 20/21 armv7m, 22/23 armv6m,
 *        24/25 rv32zbb, 26/27 rv32, 28/29 tree (a portable tb_tree_kernel without thresholds, K >= 2)
 *   op 30 tb_conv2d_s16s8, 31 tb_dense_s16s8: as ops 10..19, the input int16
 *   mode bits: 1 int8 buffers at odd addresses and int16 ones 2 bytes past a word,
 *        2 tb_add / tb_prelu in place (y = a / x), 4 word buffers (binarize output, S32 output) at odd
 *        addresses, 8 the int16 stream kernels (ops 1..5), 16 int16 buffers at odd addresses
 *
 * Built with -DTB_STREAM_DEVICE it is a firmware (tb_main) for the emulated cores: the cases come from the
 * generated array tb_stream_cases[tb_stream_cases_len], buffers from a static arena of TB_STREAM_ARENA_WORDS
 * words (reset per case), and instead of the results it prints their count and 32-bit FNV-1a hash,
 * "tb_stream_check records <n> hash <h>": equal to the hash of the host's results, which the test compares
 * with NumPy. TB_STREAM_NO_FAMILIES leaves out the optimized binary families (ops 20..29).
 */
#include <string.h>

#include "tb_kernels.h"
#include "tb_kernels_s16.h"
#include "tb_kernels_stream.h"
#include "tb_kernels_opt.h"

#ifdef TB_STREAM_DEVICE
#include "tb_print.h"
#ifndef TB_STREAM_ARENA_WORDS
#define TB_STREAM_ARENA_WORDS 2000
#endif
extern const uint8_t tb_stream_cases[];
extern const int32_t tb_stream_cases_len;
static int32_t in_pos;
static uint32_t out_hash = 2166136261u; /* FNV-1a */
static int32_t out_records;
static uint32_t arena[TB_STREAM_ARENA_WORDS];
static int32_t arena_used; /* words */
#else
#include <stdio.h>
#include <stdlib.h>
#endif

#define MAGIC 0x53424254
#define MAX_INTS 32
#define MAX_BLOBS 8 /* a layer's: weights, three S8 constants, input, three S16 constants */

enum { OP_ADD = 1, OP_AVGPOOL, OP_MAXPOOL, OP_BINARIZE, OP_PRELU };
enum { OP_CONV_B1B1 = 10, OP_CONV_S8S8, OP_CONV_S8B1, OP_CONV_S8S16, OP_DENSE_B1B1, OP_DENSE_S8S8, OP_DENSE_S8B1,
       OP_DENSE_S8S16, OP_CONV_SS, OP_DENSE_SS };
enum { OP_OPT_FIRST = 20, OP_OPT_TREE_CONV = 28, OP_OPT_LAST = 29 };
enum { OP_CONV_S16S8 = 30, OP_DENSE_S16S8 = 31 };
enum { MODE_ODD_S8 = 1, MODE_IN_PLACE = 2, MODE_ODD_WORDS = 4, MODE_S16 = 8, MODE_ODD_S16 = 16 };

#ifndef TB_STREAM_NO_FAMILIES
/* The optimized binary families (as opt/tests/tb_opt_check.c lists them); the tree one is handled apart. */
typedef struct {
    int32_t (*encoded_words)(int32_t out_c, int32_t k_words);
    void (*encode)(const uint32_t *weights, int32_t out_c, int32_t k_words, uint32_t *encoded);
    int32_t (*conv_scratch)(const tb_conv2d_params *p);
    tb_status (*conv)(const tb_context *, const tb_conv2d_params *, const tb_out_params *, const uint32_t *,
                      const uint32_t *, void *);
    int32_t (*dense_scratch)(const tb_dense_params *p);
    tb_status (*dense)(const tb_context *, const tb_dense_params *, const tb_out_params *, const uint32_t *,
                       const uint32_t *, void *);
    int flash_taps; /* a zero-padded conv's weights end with the tap popcounts */
} family;

static const family FAMILIES[4] = {
    {tb_armv7m_encoded_words, tb_armv7m_encode_weights, tb_conv2d_b1b1_armv7m_get_buffer_size,
     tb_conv2d_b1b1_armv7m, tb_dense_b1b1_armv7m_get_buffer_size, tb_dense_b1b1_armv7m, 0},
    {tb_armv6m_encoded_words, tb_armv6m_encode_weights, tb_conv2d_b1b1_armv6m_get_buffer_size,
     tb_conv2d_b1b1_armv6m, tb_dense_b1b1_armv6m_get_buffer_size, tb_dense_b1b1_armv6m, 0},
    {tb_rv32zbb_encoded_words, tb_rv32zbb_encode_weights, tb_conv2d_b1b1_rv32zbb_get_buffer_size,
     tb_conv2d_b1b1_rv32zbb, tb_dense_b1b1_rv32zbb_get_buffer_size, tb_dense_b1b1_rv32zbb, 0},
    {tb_rv32_encoded_words, tb_rv32_encode_weights, tb_conv2d_b1b1_rv32_get_buffer_size, tb_conv2d_b1b1_rv32,
     tb_dense_b1b1_rv32_get_buffer_size, tb_dense_b1b1_rv32, 1},
};
#endif

static void fail(const char *msg)
{
#ifdef TB_STREAM_DEVICE
    tb_print("tb_stream_check error: ");
    tb_print(msg);
    tb_print("\n");
    for (;;) {
    }
#else
    fprintf(stderr, "tb_stream_driver: %s\n", msg);
    exit(2);
#endif
}

/* n bytes of the case stream into dst (skipped when dst is NULL). */
static void rd_bytes(void *dst, int32_t n)
{
#ifdef TB_STREAM_DEVICE
    if (n > tb_stream_cases_len - in_pos)
        fail("truncated input");
    if (dst != NULL)
        memcpy(dst, tb_stream_cases + in_pos, (size_t)n);
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
#ifdef TB_STREAM_DEVICE
    const int32_t w = (n + 3) / 4;
    void *p = arena + arena_used;
    if (w > TB_STREAM_ARENA_WORDS - arena_used)
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
#ifdef TB_STREAM_DEVICE
    (void)p;
#else
    free(p);
#endif
}

/* A buffer of n bytes at `shift` (0 or 1) bytes into an exact-size block; *block receives the block. */
static uint8_t *alloc_at(int32_t n, int shift, void **block)
{
    uint8_t *b = (uint8_t *)block_alloc(n + shift);
    *block = b;
    return b + shift;
}

/* Where a stream buffer starts in its block: an int8 one at an odd address (MODE_ODD_S8), an int16 one 2 bytes
 * past a word (MODE_ODD_S8: allowed) or at an odd address (MODE_ODD_S16: refused). */
static int stream_shift(int mode, int s16)
{
    if (s16)
        return (mode & MODE_ODD_S16) ? 1 : (mode & MODE_ODD_S8) ? 2 : 0;
    return (mode & MODE_ODD_S8) ? 1 : 0;
}

typedef struct {
    void *block;
    uint8_t *p; /* NULL for an empty blob */
    int32_t n;
} blob;

/* A blob read into an exact-size heap block (`shift` bytes into it), or NULL when empty. */
static blob rd_blob(int shift)
{
    blob b;
    const int32_t n = rd_i32();
    if (n < 0)
        fail("bad blob");
    b.n = n;
    b.block = NULL;
    b.p = NULL;
    if (n > 0) {
        b.p = alloc_at(n, shift, &b.block);
        rd_bytes(b.p, n);
    }
    rd_bytes(NULL, (4 - n % 4) % 4);
    return b;
}

#ifdef TB_STREAM_DEVICE
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
#ifdef TB_STREAM_DEVICE
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

static int64_t i64(int32_t lo, int32_t hi)
{
    return (int64_t)(((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo);
}

static void need(int32_t nints, int32_t want, int32_t nblobs, int32_t want_blobs)
{
    if (nints != want || nblobs != want_blobs)
        fail("wrong number of ints or blobs for the op");
}

static void pool_geometry(const int32_t *v, tb_maxpool_params *p)
{
    p->in_h = v[0], p->in_w = v[1], p->c = v[2], p->out_h = v[3], p->out_w = v[4];
    p->kernel_h = v[5], p->kernel_w = v[6], p->stride_h = v[7], p->stride_w = v[8];
    p->pad_top = v[9], p->pad_left = v[10], p->pad_bottom = v[11], p->pad_right = v[12];
    p->or_mask = NULL;
}

/* Output bytes of a pool (0 when the geometry is unusable, so that the kernel's refusal is what is seen). */
static int32_t pool_bytes(int32_t out_h, int32_t out_w, int32_t c)
{
    return out_h > 0 && out_w > 0 && c > 0 ? out_h * out_w * c : 1;
}

static void run_layer(int32_t op, int mode, const int32_t *v, int32_t nints, blob *bl)
{
    const int opt = op >= OP_OPT_FIRST && op <= OP_OPT_LAST;
    const int is_conv = opt ? op % 2 == 0 : op <= OP_CONV_S8S16 || op == OP_CONV_SS || op == OP_CONV_S16S8;
#ifndef TB_STREAM_NO_FAMILIES
    const family *fam = opt && op < OP_OPT_TREE_CONV ? &FAMILIES[(op - OP_OPT_FIRST) / 2] : NULL;
    tb_tree_kernel tree = {0, 0, NULL, NULL, NULL, 0};
#else
    const void *fam = NULL;
#endif
    int32_t k_words = 0, zero_padded = 0;
    tb_conv2d_params cp;
    tb_dense_params dp;
    int32_t pixels, out_c, scratch_size = 0;
    void *scratch = NULL, *enc_block = NULL;
    const void *weights = bl[0].p;
    tb_context ctx;
    tb_out_params out;
    if (is_conv) {
        if (nints != 18)
            fail("conv2d needs 18 ints");
        cp.in_h = v[0], cp.in_w = v[1], cp.in_c = v[2], cp.out_h = v[3], cp.out_w = v[4], cp.out_c = v[5];
        cp.kernel_h = v[6], cp.kernel_w = v[7], cp.stride_h = v[8], cp.stride_w = v[9];
        cp.dilation_h = v[10], cp.dilation_w = v[11];
        cp.pad_top = v[12], cp.pad_left = v[13], cp.pad_bottom = v[14], cp.pad_right = v[15];
        cp.pad = (tb_pad_kind)v[16];
        cp.input_zero_point = v[17];
        pixels = cp.out_h * cp.out_w;
        out_c = cp.out_c;
        scratch_size = op == OP_CONV_S8S8    ? tb_conv2d_s8s8_get_buffer_size(&cp)
                       : op == OP_CONV_S8B1  ? tb_conv2d_s8b1_get_buffer_size(&cp)
                       : op == OP_CONV_S8S16 ? tb_conv2d_s8s16_get_buffer_size(&cp)
                       : op == OP_CONV_SS    ? tb_conv2d_s8b1_ss_get_buffer_size(&cp)
                       : op == OP_CONV_S16S8 ? tb_conv2d_s16s8_get_buffer_size(&cp)
                                             : tb_conv2d_b1b1_get_buffer_size(&cp);
        k_words = cp.kernel_h * cp.kernel_w * TB_WORDS(cp.in_c);
        zero_padded = cp.pad == TB_PAD_ZERO && (cp.pad_top | cp.pad_left | cp.pad_bottom | cp.pad_right) != 0;
    } else {
        if (nints != 4)
            fail("dense needs 4 ints");
        dp.in_pixels = v[0], dp.in_c = v[1], dp.out_c = v[2], dp.input_zero_point = v[3];
        pixels = 1;
        out_c = dp.out_c;
        scratch_size = op == OP_DENSE_SS      ? tb_dense_s8b1_ss_get_buffer_size(&dp)
                       : op == OP_DENSE_S16S8 ? tb_dense_s16s8_get_buffer_size(&dp)
                                              : 0;
        k_words = dp.in_pixels * TB_WORDS(dp.in_c);
    }
#ifdef TB_STREAM_NO_FAMILIES
    if (opt)
        fail("built without the optimized families");
    (void)fam, (void)k_words, (void)zero_padded;
#else
    if (opt) {
        scratch_size = fam != NULL ? (is_conv ? fam->conv_scratch(&cp) : fam->dense_scratch(&dp))
                                   : (is_conv ? tb_tree_conv2d_get_buffer_size(&cp) : tb_tree_dense_get_buffer_size(&dp));
    }
    if (opt) { /* the family's weights: encoded channels, then the tap popcounts where the family reads them */
        const int taps = zero_padded && (fam == NULL || fam->flash_taps);
        const int32_t ch = fam != NULL ? fam->encoded_words(out_c, k_words) : out_c * tb_tree_words(k_words);
        const int32_t tw = taps ? tb_opt_tap_words(out_c, cp.kernel_h * cp.kernel_w) : 0;
        void *tmp_block;
        uint32_t *enc = (uint32_t *)alloc_at(4 * (ch + tw), 0, &enc_block);
        uint32_t *tmp = (uint32_t *)alloc_at(4 * k_words, 0, &tmp_block);
        if (fam != NULL)
            fam->encode((const uint32_t *)bl[0].p, out_c, k_words, enc);
        else
            tb_tree_encode_weights((const uint32_t *)bl[0].p, out_c, k_words, NULL, enc, tmp);
        if (taps)
            tb_opt_encode_tap_pops((const uint32_t *)bl[0].p, out_c, cp.kernel_h * cp.kernel_w, TB_WORDS(cp.in_c),
                                   enc + ch);
        block_free(tmp_block);
        weights = enc;
        tree.k_words = k_words;
    }
#endif
    if (op == OP_CONV_SS || op == OP_DENSE_SS) {
        const int32_t k_len = is_conv ? cp.kernel_h * cp.kernel_w * cp.in_c : dp.in_pixels * dp.in_c;
        uint32_t *enc = (uint32_t *)alloc_at(4 * tb_ss_encoded_words(out_c, k_len), 0, &enc_block);
        tb_ss_encode_weights((const uint32_t *)bl[0].p, out_c, k_len, enc);
        weights = enc;
    }
    if (scratch_size > 0)
        (void)alloc_at(scratch_size, 0, &scratch);
    ctx.buf = scratch;
    ctx.size = scratch_size;
    out.thresholds = NULL;
    out.flip = NULL;
    for (int pass = 0; pass < 3; pass++) { /* TB_OUT_S32, TB_OUT_S8, TB_OUT_S16 */
        static const int32_t bytes[3] = {4, 1, 2};
        const int32_t n = pixels * out_c * bytes[pass];
        const int shift = pass == 0 ? (mode & MODE_ODD_WORDS) != 0 : stream_shift(mode, pass == 2);
        void *block;
        void *y = alloc_at(n, shift, &block);
        const int8_t *x8 = (const int8_t *)bl[4].p;
        const int16_t *x16 = (const int16_t *)bl[4].p;
        const uint32_t *xb = (const uint32_t *)bl[4].p;
        tb_status st = TB_ERR_ARG;
        memset(y, 0xA5, (size_t)n);
        out.kind = pass == 0 ? TB_OUT_S32 : pass == 1 ? TB_OUT_S8 : TB_OUT_S16;
        out.multiplier = (const int32_t *)bl[pass == 2 ? 5 : 1].p;
        out.offset = (const int64_t *)bl[pass == 2 ? 6 : 2].p;
        out.shift = (const int32_t *)bl[pass == 2 ? 7 : 3].p;
        switch (op) {
        case OP_CONV_B1B1: st = tb_conv2d_b1b1(&ctx, &cp, &out, xb, (const uint32_t *)weights, y); break;
        case OP_CONV_S8S8: st = tb_conv2d_s8s8(&ctx, &cp, &out, x8, (const int8_t *)weights, y); break;
        case OP_CONV_S8B1: st = tb_conv2d_s8b1(&ctx, &cp, &out, x8, (const uint32_t *)weights, y); break;
        case OP_CONV_S8S16: st = tb_conv2d_s8s16(&ctx, &cp, &out, x8, (const int16_t *)weights, y); break;
        case OP_DENSE_B1B1: st = tb_dense_b1b1(&ctx, &dp, &out, xb, (const uint32_t *)weights, y); break;
        case OP_DENSE_S8S8: st = tb_dense_s8s8(&ctx, &dp, &out, x8, (const int8_t *)weights, y); break;
        case OP_DENSE_S8B1: st = tb_dense_s8b1(&ctx, &dp, &out, x8, (const uint32_t *)weights, y); break;
        case OP_DENSE_S8S16: st = tb_dense_s8s16(&ctx, &dp, &out, x8, (const int16_t *)weights, y); break;
        case OP_CONV_SS: st = tb_conv2d_s8b1_ss(&ctx, &cp, &out, x8, (const uint32_t *)weights, y); break;
        case OP_DENSE_SS: st = tb_dense_s8b1_ss(&ctx, &dp, &out, x8, (const uint32_t *)weights, y); break;
        case OP_CONV_S16S8: st = tb_conv2d_s16s8(&ctx, &cp, &out, x16, (const int8_t *)weights, y); break;
        case OP_DENSE_S16S8: st = tb_dense_s16s8(&ctx, &dp, &out, x16, (const int8_t *)weights, y); break;
        default:
#ifndef TB_STREAM_NO_FAMILIES
            if (fam != NULL)
                st = is_conv ? fam->conv(&ctx, &cp, &out, xb, (const uint32_t *)weights, y)
                             : fam->dense(&ctx, &dp, &out, xb, (const uint32_t *)weights, y);
            else if (opt)
                st = is_conv ? tb_tree_conv2d(&tree, &ctx, &cp, &out, xb, (const uint32_t *)weights, y)
                             : tb_tree_dense(&tree, &ctx, &dp, &out, xb, (const uint32_t *)weights, y);
            else
#endif
                fail("unknown layer op");
            break;
        }
        put_result(st, y, n);
        block_free(block);
    }
    block_free(scratch);
    block_free(enc_block);
}

static void run(void)
{
    int32_t ncases;
    if (rd_i32() != MAGIC)
        fail("bad magic");
    ncases = rd_i32();
    for (int32_t k = 0; k < ncases; k++) {
        const int32_t op = rd_i32(), mode = rd_i32(), nints = rd_i32();
        const int s16 = (mode & MODE_S16) != 0, es = s16 ? 2 : 1; /* ops 1..5: the int16 twin */
        int32_t v[MAX_INTS], nblobs;
        blob bl[MAX_BLOBS];
#ifdef TB_STREAM_DEVICE
        arena_used = 0; /* every block of the previous case is released */
#endif
        if (nints < 0 || nints > MAX_INTS)
            fail("bad int count");
        for (int32_t i = 0; i < nints; i++)
            v[i] = rd_i32();
        nblobs = rd_i32();
        if (nblobs < 0 || nblobs > MAX_BLOBS)
            fail("bad blob count");
        for (int32_t i = 0; i < nblobs; i++) {
            /* stream tensors (and the per-channel constants: never) off a word when asked */
            const int stream_op = (op == OP_ADD) || (op == OP_AVGPOOL) || (op == OP_MAXPOOL && i == 0) ||
                                  (op == OP_BINARIZE && i == 2) || (op == OP_PRELU && i == 6);
            const int s8_input = op >= OP_CONV_B1B1 && op <= OP_DENSE_SS && i == 4 && op != OP_CONV_B1B1 &&
                                 op != OP_DENSE_B1B1;
            const int s16_input = (op == OP_CONV_S16S8 || op == OP_DENSE_S16S8) && i == 4;
            bl[i] = rd_blob(stream_op  ? stream_shift(mode, s16)
                            : s8_input ? stream_shift(mode, 0)
                            : s16_input ? stream_shift(mode, 1)
                                        : 0);
        }
        if (op == OP_ADD) {
            tb_add_params p;
            void *block = NULL;
            void *y;
            tb_status st;
            need(nints, 6, nblobs, 2);
            p.size = v[0], p.mult_a = v[1], p.mult_b = v[2], p.offset = i64(v[3], v[4]), p.shift = v[5];
            y = (mode & MODE_IN_PLACE) ? bl[0].p : alloc_at(bl[0].n, stream_shift(mode, s16), &block);
            st = s16 ? tb_add_s16(NULL, &p, (const int16_t *)bl[0].p, (const int16_t *)bl[1].p, (int16_t *)y)
                     : tb_add_s8(NULL, &p, (const int8_t *)bl[0].p, (const int8_t *)bl[1].p, (int8_t *)y);
            put_result(st, y, bl[0].n);
            block_free(block);
        } else if (op == OP_AVGPOOL) {
            tb_avgpool_params p;
            tb_maxpool_params g;
            void *block;
            int32_t n;
            void *y;
            tb_status st;
            need(nints, 18, nblobs, 1);
            pool_geometry(v, &g);
            p.in_h = g.in_h, p.in_w = g.in_w, p.c = g.c, p.out_h = g.out_h, p.out_w = g.out_w;
            p.kernel_h = g.kernel_h, p.kernel_w = g.kernel_w, p.stride_h = g.stride_h, p.stride_w = g.stride_w;
            p.pad_top = g.pad_top, p.pad_left = g.pad_left, p.pad_bottom = g.pad_bottom, p.pad_right = g.pad_right;
            p.input_zero_point = v[13], p.multiplier = v[14], p.offset = i64(v[15], v[16]), p.shift = v[17];
            n = es * pool_bytes(p.out_h, p.out_w, p.c);
            y = alloc_at(n, stream_shift(mode, s16), &block);
            memset(y, 0xA5, (size_t)n);
            st = s16 ? tb_avgpool_s16(NULL, &p, (const int16_t *)bl[0].p, (int16_t *)y)
                     : tb_avgpool_s8(NULL, &p, (const int8_t *)bl[0].p, (int8_t *)y);
            put_result(st, y, n);
            block_free(block);
        } else if (op == OP_MAXPOOL) {
            tb_maxpool_params p;
            void *block;
            int32_t n;
            void *y;
            tb_status st;
            need(nints, 13, nblobs, 2);
            pool_geometry(v, &p);
            p.or_mask = (const uint32_t *)bl[1].p;
            n = es * pool_bytes(p.out_h, p.out_w, p.c);
            y = alloc_at(n, stream_shift(mode, s16), &block);
            memset(y, 0xA5, (size_t)n);
            st = s16 ? tb_maxpool_s16(NULL, &p, (const int16_t *)bl[0].p, (int16_t *)y)
                     : tb_maxpool_s8(NULL, &p, (const int8_t *)bl[0].p, (int8_t *)y);
            put_result(st, y, n);
            block_free(block);
        } else if (op == OP_BINARIZE) {
            tb_binarize_params p;
            void *block;
            int32_t n;
            uint32_t *y;
            need(nints, 2, nblobs, 3);
            p.pixels = v[0], p.c = v[1];
            p.thresholds = (const int32_t *)bl[0].p;
            p.flip = (const uint32_t *)bl[1].p;
            n = p.pixels > 0 && p.c > 0 ? 4 * p.pixels * TB_WORDS(p.c) : 4;
            y = (uint32_t *)alloc_at(n, (mode & MODE_ODD_WORDS) != 0, &block);
            memset(y, 0xA5, (size_t)n);
            put_result(s16 ? tb_binarize_s16(NULL, &p, (const int16_t *)bl[2].p, y)
                           : tb_binarize_s8(NULL, &p, (const int8_t *)bl[2].p, y),
                       y, n);
            block_free(block);
        } else if (op == OP_PRELU) {
            tb_prelu_params p;
            void *block;
            int32_t n;
            void *y;
            tb_status st;
            need(nints, 2, nblobs, 7);
            p.pixels = v[0], p.c = v[1];
            p.breakpoint = (const int32_t *)bl[0].p;
            p.mult_pos = (const int32_t *)bl[1].p;
            p.offset_pos = (const int64_t *)bl[2].p;
            p.mult_neg = (const int32_t *)bl[3].p;
            p.offset_neg = (const int64_t *)bl[4].p;
            p.shift = (const int32_t *)bl[5].p;
            n = es * (p.pixels > 0 && p.c > 0 ? p.pixels * p.c : 1);
            block = NULL;
            if ((mode & MODE_IN_PLACE) && bl[6].n >= n) {
                y = bl[6].p;
            } else {
                y = alloc_at(n, stream_shift(mode, s16), &block);
                memset(y, 0xA5, (size_t)n);
            }
            st = s16 ? tb_prelu_s16(NULL, &p, (const int16_t *)bl[6].p, (int16_t *)y)
                     : tb_prelu_s8(NULL, &p, (const int8_t *)bl[6].p, (int8_t *)y);
            put_result(st, y, n);
            block_free(block);
        } else if ((op >= OP_CONV_B1B1 && op <= OP_DENSE_SS) || (op >= OP_OPT_FIRST && op <= OP_OPT_LAST) ||
                   op == OP_CONV_S16S8 || op == OP_DENSE_S16S8) {
            need(nints, nints, nblobs, 8); /* run_layer checks the ints of the op's params struct */
            run_layer(op, mode, v, nints, bl);
        } else {
            fail("unknown op");
        }
        for (int32_t i = 0; i < nblobs; i++)
            block_free(bl[i].block);
    }
}

#ifdef TB_STREAM_DEVICE
int tb_main(void)
{
    run();
    tb_print("tb_stream_check records ");
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
