/*
 * tb_kernel_driver.c - host test driver: runs many serialized layer cases through the reference kernels.
 *
 * Used by tests/test_kernels.py (compiled once, optionally with -fsanitize=address,undefined). Every
 * buffer a kernel sees is a heap block of exactly the size the kernel may touch, so an out-of-bounds
 * access is caught by AddressSanitizer.
 *
 * usage: tb_kernel_driver CASES RESULTS
 * CASES, a stream of little-endian int32 (blobs padded to 4 bytes):
 *   magic 0x444B4254, number of cases, then per case:
 *   op, samples, out_kind, mode, nparams, params[nparams],
 *   blob weights, blob thresholds, blob flip, blob or_mask, in_bytes, out_bytes, blob inputs
 *   (blob = int32 byte count, then the bytes; inputs hold samples * in_bytes bytes)
 *   op: 1 conv2d_b1b1, 2 conv2d_s8s8, 3 conv2d_s8b1, 4 dense_b1b1, 5 dense_s8s8, 6 dense_s8b1, 7 maxpool_b1,
 *       8 conv2d_s8s16, 9 dense_s8s16
 *   params: the fields of the op family's params struct in declaration order (pointers excluded)
 *   mode: 0 normal, 1 no scratch, 2 misaligned input (b1 inputs) or output, 3 scratch 4 bytes too small
 * RESULTS, per case and sample: int32 status, int32 <fn>_get_buffer_size(), then out_bytes bytes of output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_kernels.h"
#include "tb_kernels_s16.h"

#define MAGIC 0x444B4254
#define MAX_PARAMS 32

enum { OP_CONV_B1B1 = 1, OP_CONV_S8S8, OP_CONV_S8B1, OP_DENSE_B1B1, OP_DENSE_S8S8, OP_DENSE_S8B1, OP_MAXPOOL,
       OP_CONV_S8S16, OP_DENSE_S8S16 };
enum { MODE_NORMAL = 0, MODE_NO_SCRATCH = 1, MODE_MISALIGN = 2, MODE_SHORT_SCRATCH = 3 };

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} reader;

static int fail(const char *msg)
{
    fprintf(stderr, "tb_kernel_driver: %s\n", msg);
    exit(2);
}

static int32_t rd_i32(reader *r)
{
    int32_t v;
    if (r->end - r->p < 4)
        fail("truncated case file");
    memcpy(&v, r->p, 4);
    r->p += 4;
    return v;
}

/* A heap copy of exactly n bytes (NULL when n == 0), advancing past the 4-byte padded blob. */
static void *rd_blob(reader *r, int32_t *n_out)
{
    const int32_t n = rd_i32(r);
    const int32_t padded = (n + 3) / 4 * 4;
    void *buf = NULL;
    if (n < 0 || r->end - r->p < padded)
        fail("bad blob");
    if (n > 0) {
        buf = malloc((size_t)n);
        if (buf == NULL)
            fail("out of memory");
        memcpy(buf, r->p, (size_t)n);
    }
    r->p += padded;
    if (n_out != NULL)
        *n_out = n;
    return buf;
}

static void conv_params(const int32_t *v, int32_t n, tb_conv2d_params *p)
{
    if (n != 18)
        fail("conv2d needs 18 params");
    p->in_h = v[0], p->in_w = v[1], p->in_c = v[2], p->out_h = v[3], p->out_w = v[4], p->out_c = v[5];
    p->kernel_h = v[6], p->kernel_w = v[7], p->stride_h = v[8], p->stride_w = v[9];
    p->dilation_h = v[10], p->dilation_w = v[11];
    p->pad_top = v[12], p->pad_left = v[13], p->pad_bottom = v[14], p->pad_right = v[15];
    p->pad = (tb_pad_kind)v[16];
    p->input_zero_point = v[17];
}

static void dense_params(const int32_t *v, int32_t n, tb_dense_params *p)
{
    if (n != 4)
        fail("dense needs 4 params");
    p->in_pixels = v[0], p->in_c = v[1], p->out_c = v[2], p->input_zero_point = v[3];
}

static void pool_params(const int32_t *v, int32_t n, tb_maxpool_params *p)
{
    if (n != 13)
        fail("maxpool needs 13 params");
    p->in_h = v[0], p->in_w = v[1], p->c = v[2], p->out_h = v[3], p->out_w = v[4];
    p->kernel_h = v[5], p->kernel_w = v[6], p->stride_h = v[7], p->stride_w = v[8];
    p->pad_top = v[9], p->pad_left = v[10], p->pad_bottom = v[11], p->pad_right = v[12];
}

int main(int argc, char **argv)
{
    FILE *f, *out;
    long size;
    uint8_t *data;
    reader r;
    int32_t ncases;

    if (argc != 3)
        fail("usage: tb_kernel_driver CASES RESULTS");
    f = fopen(argv[1], "rb");
    if (f == NULL)
        fail("cannot open the case file");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = (uint8_t *)malloc((size_t)size + 1u);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size)
        fail("cannot read the case file");
    fclose(f);
    out = fopen(argv[2], "wb");
    if (out == NULL)
        fail("cannot open the result file");
    r.p = data;
    r.end = data + size;
    if (rd_i32(&r) != MAGIC)
        fail("bad magic");
    ncases = rd_i32(&r);
    for (int32_t c = 0; c < ncases; c++) {
        const int32_t op = rd_i32(&r);
        const int32_t samples = rd_i32(&r);
        const int32_t out_kind = rd_i32(&r);
        const int32_t mode = rd_i32(&r);
        const int32_t nparams = rd_i32(&r);
        int32_t pv[MAX_PARAMS];
        int32_t in_bytes, out_bytes, inputs_bytes;
        void *weights, *thresholds, *flip, *or_mask;
        uint8_t *inputs;
        tb_conv2d_params cp;
        tb_dense_params dp;
        tb_maxpool_params mp;
        tb_out_params op_out;

        if (nparams < 0 || nparams > MAX_PARAMS)
            fail("bad params count");
        for (int32_t i = 0; i < nparams; i++)
            pv[i] = rd_i32(&r);
        weights = rd_blob(&r, NULL);
        thresholds = rd_blob(&r, NULL);
        flip = rd_blob(&r, NULL);
        or_mask = rd_blob(&r, NULL);
        in_bytes = rd_i32(&r);
        out_bytes = rd_i32(&r);
        inputs = (uint8_t *)rd_blob(&r, &inputs_bytes);
        if (inputs_bytes != samples * in_bytes)
            fail("input size mismatch");
        op_out.kind = out_kind == 1 ? TB_OUT_S32 : TB_OUT_BITS;
        op_out.thresholds = (const int32_t *)thresholds;
        op_out.flip = (const uint32_t *)flip;

        for (int32_t s = 0; s < samples; s++) {
            /* exact-size blocks; the misaligned variants shift the pointer by 1 inside a larger block */
            const int shift = mode == MODE_MISALIGN ? 1 : 0;
            uint8_t *in_block = (uint8_t *)malloc((size_t)in_bytes + (size_t)shift);
            uint8_t *out_block = (uint8_t *)malloc((size_t)out_bytes + (size_t)shift);
            int32_t scratch_size = 0, reported_scratch = 0;
            void *scratch = NULL;
            tb_context ctx;
            tb_status st = TB_ERR_ARG;
            const int b1_input = op == OP_CONV_B1B1 || op == OP_DENSE_B1B1 || op == OP_MAXPOOL;
            void *in_ptr, *out_ptr;

            if (in_block == NULL || out_block == NULL)
                fail("out of memory");
            in_ptr = in_block + (b1_input ? shift : 0);
            out_ptr = out_block + (b1_input ? 0 : shift);
            memcpy(in_ptr, inputs + (size_t)s * (size_t)in_bytes, (size_t)in_bytes);
            memset(out_ptr, 0xA5, (size_t)out_bytes);

            if ((op >= OP_CONV_B1B1 && op <= OP_CONV_S8B1) || op == OP_CONV_S8S16) {
                conv_params(pv, nparams, &cp);
                scratch_size = op == OP_CONV_B1B1 ? tb_conv2d_b1b1_get_buffer_size(&cp)
                               : op == OP_CONV_S8S8 ? tb_conv2d_s8s8_get_buffer_size(&cp)
                               : op == OP_CONV_S8S16 ? tb_conv2d_s8s16_get_buffer_size(&cp)
                                                     : tb_conv2d_s8b1_get_buffer_size(&cp);
            } else if ((op >= OP_DENSE_B1B1 && op <= OP_DENSE_S8B1) || op == OP_DENSE_S8S16) {
                dense_params(pv, nparams, &dp);
                scratch_size = op == OP_DENSE_B1B1 ? tb_dense_b1b1_get_buffer_size(&dp)
                               : op == OP_DENSE_S8S8 ? tb_dense_s8s8_get_buffer_size(&dp)
                               : op == OP_DENSE_S8S16 ? tb_dense_s8s16_get_buffer_size(&dp)
                                                      : tb_dense_s8b1_get_buffer_size(&dp);
            } else if (op == OP_MAXPOOL) {
                pool_params(pv, nparams, &mp);
                mp.or_mask = (const uint32_t *)or_mask;
                scratch_size = tb_maxpool_b1_get_buffer_size(&mp);
            } else {
                fail("unknown op");
            }
            reported_scratch = scratch_size;
            if (mode == MODE_SHORT_SCRATCH && scratch_size >= 4)
                scratch_size -= 4;
            if (scratch_size > 0 && mode != MODE_NO_SCRATCH) {
                scratch = malloc((size_t)scratch_size);
                if (scratch == NULL)
                    fail("out of memory");
            }
            ctx.buf = scratch;
            ctx.size = scratch_size;

            switch (op) {
            case OP_CONV_B1B1:
                st = tb_conv2d_b1b1(&ctx, &cp, &op_out, (const uint32_t *)in_ptr, (const uint32_t *)weights, out_ptr);
                break;
            case OP_CONV_S8S8:
                st = tb_conv2d_s8s8(&ctx, &cp, &op_out, (const int8_t *)in_ptr, (const int8_t *)weights, out_ptr);
                break;
            case OP_CONV_S8B1:
                st = tb_conv2d_s8b1(&ctx, &cp, &op_out, (const int8_t *)in_ptr, (const uint32_t *)weights, out_ptr);
                break;
            case OP_DENSE_B1B1:
                st = tb_dense_b1b1(&ctx, &dp, &op_out, (const uint32_t *)in_ptr, (const uint32_t *)weights, out_ptr);
                break;
            case OP_DENSE_S8S8:
                st = tb_dense_s8s8(&ctx, &dp, &op_out, (const int8_t *)in_ptr, (const int8_t *)weights, out_ptr);
                break;
            case OP_DENSE_S8B1:
                st = tb_dense_s8b1(&ctx, &dp, &op_out, (const int8_t *)in_ptr, (const uint32_t *)weights, out_ptr);
                break;
            case OP_CONV_S8S16:
                st = tb_conv2d_s8s16(&ctx, &cp, &op_out, (const int8_t *)in_ptr, (const int16_t *)weights, out_ptr);
                break;
            case OP_DENSE_S8S16:
                st = tb_dense_s8s16(&ctx, &dp, &op_out, (const int8_t *)in_ptr, (const int16_t *)weights, out_ptr);
                break;
            default:
                st = tb_maxpool_b1(&ctx, &mp, (const uint32_t *)in_ptr, (uint32_t *)out_ptr);
                break;
            }
            {
                const int32_t status = (int32_t)st;
                if (fwrite(&status, 4, 1, out) != 1 || fwrite(&reported_scratch, 4, 1, out) != 1 ||
                    fwrite(out_ptr, 1, (size_t)out_bytes, out) != (size_t)out_bytes)
                    fail("cannot write results");
            }
            free(scratch);
            free(in_block);
            free(out_block);
        }
        free(weights);
        free(thresholds);
        free(flip);
        free(or_mask);
        free(inputs);
    }
    free(data);
    if (fclose(out) != 0)
        fail("cannot write results");
    return 0;
}
