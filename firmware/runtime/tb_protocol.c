/*
 * tb_protocol.c - tinybnn serial protocol: frame codec and command
 * dispatcher (device side).  Portable C99; the protocol is described in
 * tb_protocol.h.
 *
 * Memory: everything is static and sized at compile time from the generated
 * model.h -- one frame buffer (the request is decoded into it, then the
 * response is built over it), the int32 output and the per-layer counts.
 * No malloc, no recursion, no VLA.  Every write into the frame buffer is
 * bounded by TBP_FRAME_CAP: the decoder stops at the capacity, and every
 * response has a compile-time maximum size checked below.
 *
 * The only target-specific calls are those of tb_port.h.
 */
#include <string.h>

#include "tb_protocol.h"
#include "tb_port.h"
#include "model.h"
#if TB_MODEL_HAS_CLASSIFY
#include "model_io.h"
#endif

#ifndef TB_BOARD_ID
#define TB_BOARD_ID "unknown"
#endif
#ifndef TB_CLOCK_HZ
#define TB_CLOCK_HZ 0u
#endif
#ifndef TB_EMULATED
#define TB_EMULATED 0
#endif
#ifndef TB_MODEL_HAS_CLASSIFY /* a model.h without the float boundary */
#define TB_MODEL_HAS_CLASSIFY 0
#endif

/* ---------------------------------------------------------------- sizes -- */

#ifndef TBP_MAX_PAYLOAD
#define TBP_MAX_PAYLOAD TBP_DEFAULT_MAX_PAYLOAD
#endif

#define TBP_MAX2(a, b) ((a) > (b) ? (a) : (b))

/* What the model needs in one payload. */
#define TBP_NEED_INPUT (TB_MODEL_INPUT_BYTES)
#define TBP_NEED_INFER (TBP_INFER_RESP_HDR + TB_MODEL_OUTPUT_BYTES)
#define TBP_NEED_PROFILE (TBP_PROFILE_RESP_HDR + 4 * TB_MODEL_NUM_LAYERS + TB_MODEL_OUTPUT_BYTES)
#define TBP_NEED_DUMP (TBP_DUMP_FINAL_HDR + TB_MODEL_OUTPUT_BYTES)
/* INFO: board id and model hash are string literals (their size is known);
 * the counter kind is an extern array: reserve the longest string. */
#define TBP_STR_BYTES(lit) (1 + (sizeof(lit) - 1 < TBP_STR_MAX ? sizeof(lit) - 1 : TBP_STR_MAX))
#define TBP_NEED_INFO                                                                           \
    (TBP_INFO_FIXED_BYTES + 4 * (TB_MODEL_INPUT_RANK + TB_MODEL_OUTPUT_RANK) +                    \
     TBP_STR_BYTES(TB_BOARD_ID) + (1 + TBP_STR_MAX) + TBP_STR_BYTES(TB_MODEL_HASH))
#define TBP_NEED_LAYER (TBP_LAYER_RESP_HDR + 1 + TBP_STR_MAX)
/* CLASSIFY: the sample comes in pieces of any size the payload holds; the reply holds the scores. */
#if TB_MODEL_HAS_CLASSIFY
#define TBP_NEED_CLASSIFY (TBP_CLASSIFY_RESP_HDR + 4 * TB_MODEL_OUTPUT_SIZE)
#else
#define TBP_NEED_CLASSIFY 0
#endif

#define TBP_CAP_PAYLOAD                                                                           \
    TBP_MAX2(TBP_MAX2(TBP_MAX2(TBP_MAX_PAYLOAD, TBP_NEED_INPUT), TBP_MAX2(TBP_NEED_INFER, TBP_NEED_PROFILE)), \
             TBP_MAX2(TBP_MAX2(TBP_NEED_DUMP, TBP_NEED_INFO), TBP_MAX2(TBP_NEED_LAYER, TBP_NEED_CLASSIFY)))

#define TBP_FRAME_CAP (TBP_OVERHEAD_BYTES + TBP_CAP_PAYLOAD)

#if TBP_MAX_PAYLOAD < TBP_DUMP_CHUNK_HDR + 4
#error "tb_protocol: TBP_MAX_PAYLOAD too small for DUMP chunks"
#endif

/* C99 compile-time assertion. */
#define TBP_STATIC_ASSERT(name, cond) typedef char tbp_static_assert_##name[(cond) ? 1 : -1]
/* The model's input or output does not fit in one frame if this fails. */
TBP_STATIC_ASSERT(payload_limit, TBP_CAP_PAYLOAD <= TBP_PAYLOAD_LIMIT);
TBP_STATIC_ASSERT(info_fits, TBP_NEED_INFO <= TBP_CAP_PAYLOAD);
TBP_STATIC_ASSERT(infer_fits, TBP_NEED_INFER <= TBP_CAP_PAYLOAD);
TBP_STATIC_ASSERT(profile_fits, TBP_NEED_PROFILE <= TBP_CAP_PAYLOAD);
TBP_STATIC_ASSERT(dump_fits, TBP_NEED_DUMP <= TBP_CAP_PAYLOAD);
TBP_STATIC_ASSERT(layers_fit_u16, TB_MODEL_NUM_LAYERS <= 0xFFFF);
#if TB_MODEL_HAS_CLASSIFY
TBP_STATIC_ASSERT(classify_fits, TBP_NEED_CLASSIFY <= TBP_CAP_PAYLOAD);
/* the int8 codes tb_model_quantize computes go to the frame buffer, then tb_model_run copies them */
TBP_STATIC_ASSERT(classify_codes_fit, TBP_NEED_INPUT <= TBP_CAP_PAYLOAD);
#endif

/* ------------------------------------------------------------ byte order -- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ----------------------------------------------------------------- CRC-32 -- */

static const uint32_t tbp_crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t tbp_crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ tbp_crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ tbp_crc_nibble[crc & 15u];
    }
    return ~crc;
}

/* ------------------------------------------------------------------- COBS -- */

void tbp_decoder_reset(tbp_decoder *d)
{
    d->len = 0;
    d->code = 0;
    d->left = 0;
    d->started = 0;
    d->overflow = 0;
}

void tbp_decoder_init(tbp_decoder *d, uint8_t *buf, uint32_t cap)
{
    d->buf = buf;
    d->cap = cap;
    tbp_decoder_reset(d);
}

static int tbp_decoder_append(tbp_decoder *d, uint8_t b)
{
    if (d->len >= d->cap) {
        d->overflow = 1;
        return 0;
    }
    d->buf[d->len++] = b;
    return 1;
}

int tbp_decoder_push(tbp_decoder *d, uint8_t b)
{
    if (b == TBP_DELIMITER) {
        int r = TBP_RX_NONE;
        if (d->overflow)
            r = TBP_RX_OVERFLOW;
        else if (d->started && d->left != 0)
            r = TBP_RX_TRUNCATED;
        else if (d->started)
            return TBP_RX_FRAME; /* buf[0..len): the caller resets */
        tbp_decoder_reset(d);  /* empty frame, or a dropped one */
        return r;
    }
    if (d->overflow)
        return TBP_RX_NONE; /* skip to the next delimiter */
    if (d->left == 0) {
        /* a code byte: the previous block (if any, and shorter than 254
         * bytes) ended with an implicit zero */
        if (d->started && d->code != 0xFFu)
            (void)tbp_decoder_append(d, 0u);
        d->code = b;
        d->left = (uint8_t)(b - 1u);
        d->started = 1;
    } else {
        (void)tbp_decoder_append(d, b);
        d->left--;
    }
    return TBP_RX_NONE;
}

uint32_t tbp_cobs_write(const uint8_t *raw, uint32_t n, tbp_out_fn out)
{
    uint32_t i = 0, written = 2;

    if (out)
        out(TBP_DELIMITER);
    for (;;) {
        uint32_t j = i, k;
        uint8_t code;
        while (j < n && raw[j] != 0u && j - i < 254u)
            j++;
        code = (uint8_t)(j - i + 1u);
        if (out) {
            out(code);
            for (k = i; k < j; k++)
                out(raw[k]);
        }
        written += 1u + (j - i);
        if (j >= n)
            break;
        i = (code == 0xFFu) ? j : j + 1u; /* a short block consumed the zero at j */
    }
    if (out)
        out(TBP_DELIMITER);
    return written;
}

int tbp_frame_check(const uint8_t *f, uint32_t len, uint32_t max_payload)
{
    if (len < TBP_OVERHEAD_BYTES)
        return TBP_DROP_SHORT;
    if (len - TBP_OVERHEAD_BYTES > max_payload)
        return TBP_DROP_LENGTH;
    if (get32(f + len - TBP_CRC_BYTES) != tbp_crc32_update(0u, f, len - TBP_CRC_BYTES))
        return TBP_DROP_CRC;
    if (f[0] != TBP_VERSION)
        return TBP_DROP_VERSION;
    if (f[1] == 0u || (f[1] & TBP_RESPONSE_BIT))
        return TBP_DROP_NOT_REQUEST;
    if (get16(f + 6) != len - TBP_OVERHEAD_BYTES)
        return TBP_DROP_LENGTH;
    return TBP_DROP_NONE;
}

/* ----------------------------------------------------------------- server -- */

static uint32_t tbp_buf_words[(TBP_FRAME_CAP + 3) / 4]; /* request, then response */
#define tbp_buf ((uint8_t *)tbp_buf_words)
#define TBP_PAYLOAD (tbp_buf + TBP_HDR_BYTES)

static int32_t tbp_out[TB_MODEL_OUTPUT_SIZE];
static uint32_t tbp_prof[TB_MODEL_NUM_LAYERS];

static struct {
    tbp_decoder dec;
    uint32_t raw_left; /* bytes still to echo in raw-echo mode */
    uint32_t raw_idle; /* empty polls in raw-echo mode */
    uint16_t seq;      /* seq of the request being answered */
    uint8_t cmd;
    uint32_t prof_last;
    uint32_t chunks; /* DUMP chunks sent */
    uint32_t rx_ok, rx_crc, rx_overflow, rx_other, tx_frames;
    uint32_t cls_have; /* CLASSIFY: floats of the sample staged so far */
} S;

#if TB_MODEL_HAS_CLASSIFY
/* The float sample of CLASSIFY: staged in the model's arena, which is free between runs (model.h), unless
 * the sample is larger than the arena. */
#if 4 * TB_MODEL_INPUT_SIZE <= TB_MODEL_ARENA_BYTES
#define TBP_STAGE ((float *)tb_model_arena())
#else
static float tbp_stage[TB_MODEL_INPUT_SIZE];
#define TBP_STAGE tbp_stage
#endif
#endif

uint32_t tbp_server_max_payload(void) { return (uint32_t)TBP_CAP_PAYLOAD; }

void tbp_server_init(void)
{
    memset(&S, 0, sizeof S);
    tbp_decoder_init(&S.dec, tbp_buf, (uint32_t)TBP_FRAME_CAP);
}

/* Send the frame whose payload (n bytes) is already at TBP_PAYLOAD. */
static void tbp_send(uint8_t status, uint8_t flags, uint32_t n)
{
    tbp_buf[0] = TBP_VERSION;
    tbp_buf[1] = (uint8_t)(TBP_RESPONSE_BIT | S.cmd);
    tbp_buf[2] = status;
    tbp_buf[3] = flags;
    put16(tbp_buf + 4, S.seq);
    put16(tbp_buf + 6, n);
    put32(tbp_buf + TBP_HDR_BYTES + n, tbp_crc32_update(0u, tbp_buf, TBP_HDR_BYTES + n));
    (void)tbp_cobs_write(tbp_buf, TBP_OVERHEAD_BYTES + n, tb_port_putc);
    S.tx_frames++;
}

static void tbp_send_status(uint8_t status) { tbp_send(status, 0u, 0u); }

static void tbp_send_model_error(int rc)
{
    put32(TBP_PAYLOAD, (uint32_t)(int32_t)rc);
    tbp_send(TBP_ST_MODEL_ERROR, 0u, 4u);
}

static uint32_t tbp_put_str(uint8_t *p, const char *s)
{
    uint32_t n = 0;
    while (s[n] != '\0' && n < TBP_STR_MAX)
        n++;
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return 1u + n;
}

static void tbp_info(void)
{
    static const uint32_t in_shape[] = TB_MODEL_INPUT_SHAPE;
    static const uint32_t out_shape[] = TB_MODEL_OUTPUT_SHAPE;
    uint8_t *p = TBP_PAYLOAD;
    uint32_t n, i;

    p[0] = TBP_VERSION;
    p[1] = (uint8_t)((TB_EMULATED ? TBP_INFO_EMULATED : 0u) | (TB_MODEL_HAS_CLASSIFY ? TBP_INFO_CLASSIFY : 0u));
    put16(p + 2, (uint32_t)TBP_CAP_PAYLOAD);
    put32(p + 4, (uint32_t)TB_CLOCK_HZ);
    put32(p + 8, (uint32_t)TB_MODEL_ARENA_BYTES);
    put32(p + 12, tb_port_stack_size());
    put32(p + 16, tb_port_stack_used());
    put32(p + 20, (uint32_t)TB_MODEL_INPUT_BYTES);
    put32(p + 24, (uint32_t)TB_MODEL_OUTPUT_SIZE);
    put32(p + 28, (uint32_t)(int32_t)TB_MODEL_INPUT_ZERO_POINT);
    put16(p + 32, (uint32_t)TB_MODEL_NUM_LAYERS);
    p[34] = (uint8_t)TB_MODEL_INPUT_RANK;
    p[35] = (uint8_t)TB_MODEL_OUTPUT_RANK;
    put32(p + 36, S.rx_ok);
    put32(p + 40, S.rx_crc);
    put32(p + 44, S.rx_overflow);
    put32(p + 48, S.rx_other);
    put32(p + 52, S.tx_frames);
    n = TBP_INFO_FIXED_BYTES;
    for (i = 0; i < (uint32_t)TB_MODEL_INPUT_RANK; i++, n += 4u)
        put32(p + n, in_shape[i]);
    for (i = 0; i < (uint32_t)TB_MODEL_OUTPUT_RANK; i++, n += 4u)
        put32(p + n, out_shape[i]);
    n += tbp_put_str(p + n, TB_BOARD_ID);
    n += tbp_put_str(p + n, tb_port_cycles_kind);
    n += tbp_put_str(p + n, TB_MODEL_HASH);
    tbp_send(TBP_ST_OK, 0u, n);
}

static void tbp_put_output(uint8_t *p)
{
    uint32_t i;
    for (i = 0; i < (uint32_t)TB_MODEL_OUTPUT_SIZE; i++)
        put32(p + 4u * i, (uint32_t)tbp_out[i]);
}

static void tbp_infer(uint32_t len)
{
    uint32_t in_crc, t0, t1;
    int rc;

    if (len != (uint32_t)TB_MODEL_INPUT_BYTES) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    in_crc = tbp_crc32_update(0u, TBP_PAYLOAD, len);
    t0 = tb_port_cycles();
    rc = tb_model_run((const int8_t *)TBP_PAYLOAD, tbp_out);
    t1 = tb_port_cycles();
    if (rc != TB_MODEL_OK) {
        tbp_send_model_error(rc);
        return;
    }
    put32(TBP_PAYLOAD, t1 - t0);
    put32(TBP_PAYLOAD + 4, in_crc);
    tbp_put_output(TBP_PAYLOAD + TBP_INFER_RESP_HDR);
    tbp_send(TBP_ST_OK, 0u, (uint32_t)TBP_NEED_INFER);
}

static void tbp_profile_hook(int layer, const void *data, uint32_t bytes, void *ctx)
{
    uint32_t now = tb_port_cycles();
    (void)data;
    (void)bytes;
    (void)ctx;
    if (layer >= 0 && layer < TB_MODEL_NUM_LAYERS)
        tbp_prof[layer] = now - S.prof_last;
    S.prof_last = now;
}

static void tbp_profile(uint32_t len)
{
    uint32_t in_crc, t0, t1, i;
    uint8_t *p = TBP_PAYLOAD;
    int rc;

    if (len != (uint32_t)TB_MODEL_INPUT_BYTES) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    in_crc = tbp_crc32_update(0u, p, len);
    memset(tbp_prof, 0, sizeof tbp_prof);
    t0 = tb_port_cycles();
    S.prof_last = t0;
    rc = tb_model_run_hooked((const int8_t *)p, tbp_out, tbp_profile_hook, NULL);
    t1 = tb_port_cycles();
    if (rc != TB_MODEL_OK) {
        tbp_send_model_error(rc);
        return;
    }
    put32(p, t1 - t0);
    put32(p + 4, in_crc);
    put16(p + 8, (uint32_t)TB_MODEL_NUM_LAYERS);
    put16(p + 10, 0u);
    for (i = 0; i < (uint32_t)TB_MODEL_NUM_LAYERS; i++)
        put32(p + TBP_PROFILE_RESP_HDR + 4u * i, tbp_prof[i]);
    tbp_put_output(p + TBP_PROFILE_RESP_HDR + 4u * TB_MODEL_NUM_LAYERS);
    tbp_send(TBP_ST_OK, 0u, (uint32_t)TBP_NEED_PROFILE);
}

/* Streams one layer's output as DUMP chunks.  Runs inside tb_model_run_hooked:
 * the input in the frame buffer has already been copied into the model's
 * arena (model.h), so the buffer is free for the chunks. */
static void tbp_dump_hook(int layer, const void *data, uint32_t bytes, void *ctx)
{
    const uint8_t *src = (const uint8_t *)data;
    const uint32_t room = (uint32_t)TBP_CAP_PAYLOAD - TBP_DUMP_CHUNK_HDR;
    uint32_t off = 0;
    (void)ctx;
    if (layer < 0 || src == NULL)
        return;
    do {
        uint32_t n = bytes - off < room ? bytes - off : room;
        uint8_t *p = TBP_PAYLOAD;
        put16(p, S.chunks & 0xFFFFu);
        put16(p + 2, (uint32_t)layer);
        put32(p + 4, bytes);
        put32(p + 8, off);
        memcpy(p + TBP_DUMP_CHUNK_HDR, src + off, n);
        tbp_send(TBP_ST_OK, TBP_FLAG_MORE, TBP_DUMP_CHUNK_HDR + n);
        S.chunks++;
        off += n;
    } while (off < bytes);
}

static void tbp_dump(uint32_t len)
{
    uint32_t in_crc;
    int rc;

    if (len != (uint32_t)TB_MODEL_INPUT_BYTES) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    in_crc = tbp_crc32_update(0u, TBP_PAYLOAD, len);
    S.chunks = 0;
    rc = tb_model_run_hooked((const int8_t *)TBP_PAYLOAD, tbp_out, tbp_dump_hook, NULL);
    if (rc != TB_MODEL_OK) {
        tbp_send_model_error(rc);
        return;
    }
    put32(TBP_PAYLOAD, in_crc);
    put16(TBP_PAYLOAD + 4, S.chunks & 0xFFFFu);
    put16(TBP_PAYLOAD + 6, (uint32_t)TB_MODEL_NUM_LAYERS);
    tbp_put_output(TBP_PAYLOAD + TBP_DUMP_FINAL_HDR);
    tbp_send(TBP_ST_OK, 0u, (uint32_t)TBP_NEED_DUMP);
}

#if TB_MODEL_HAS_CLASSIFY
/* One piece of a float sample; the piece that completes it is classified (tb_protocol.h). */
static void tbp_classify(uint32_t len)
{
    float *stage = TBP_STAGE;
    int8_t *codes = (int8_t *)TBP_PAYLOAD; /* after the piece is staged, the buffer is free */
    float *scores = (float *)(void *)(TBP_PAYLOAD + TBP_CLASSIFY_RESP_HDR);
    uint32_t off, k, i, w, in_crc, codes_crc, t0, t1;
    uint8_t le[4];
    int rc;

    if (len < TBP_CLASSIFY_REQ_HDR || (len - TBP_CLASSIFY_REQ_HDR) % 4u != 0u) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    off = get32(TBP_PAYLOAD);
    k = (len - TBP_CLASSIFY_REQ_HDR) / 4u;
    /* S.cls_have <= TB_MODEL_INPUT_SIZE, so off + k cannot wrap once off <= S.cls_have */
    if (off > S.cls_have || k > (uint32_t)TB_MODEL_INPUT_SIZE - off) {
        S.cls_have = 0;
        tbp_send_status(TBP_ST_BAD_ARG);
        return;
    }
    for (i = 0; i < k; i++) { /* little-endian float32 on the wire, whatever the device's byte order */
        w = get32(TBP_PAYLOAD + TBP_CLASSIFY_REQ_HDR + 4u * i);
        memcpy(&stage[off + i], &w, 4);
    }
    S.cls_have = off + k;
    if (S.cls_have < (uint32_t)TB_MODEL_INPUT_SIZE) {
        put32(TBP_PAYLOAD, S.cls_have);
        tbp_send(TBP_ST_OK, 0u, TBP_CLASSIFY_ACK_BYTES);
        return;
    }
    S.cls_have = 0; /* the run below overwrites the arena */
    in_crc = 0u;
    for (i = 0; i < (uint32_t)TB_MODEL_INPUT_SIZE; i++) { /* end to end: the host checks the sample it sent */
        memcpy(&w, &stage[i], 4);
        put32(le, w);
        in_crc = tbp_crc32_update(in_crc, le, 4u);
    }
    t0 = tb_port_cycles();
    rc = tb_model_quantize(stage, codes);
    if (rc != TB_MODEL_OK) {
        tbp_send_model_error(rc);
        return;
    }
    codes_crc = tbp_crc32_update(0u, (const uint8_t *)codes, (size_t)TB_MODEL_INPUT_BYTES);
    rc = tb_model_run(codes, tbp_out);
    if (rc != TB_MODEL_OK) {
        tbp_send_model_error(rc);
        return;
    }
    rc = tb_model_dequantize(tbp_out, scores);
    t1 = tb_port_cycles();
    put32(TBP_PAYLOAD, t1 - t0);
    put32(TBP_PAYLOAD + 4, in_crc);
    put32(TBP_PAYLOAD + 8, codes_crc);
    put32(TBP_PAYLOAD + 12, (uint32_t)(int32_t)rc);
    for (i = 0; i < (uint32_t)TB_MODEL_OUTPUT_SIZE; i++) { /* in place, as little-endian */
        memcpy(&w, &scores[i], 4);
        put32((uint8_t *)&scores[i], w);
    }
    tbp_send(TBP_ST_OK, 0u, (uint32_t)TBP_NEED_CLASSIFY);
}
#endif

static void tbp_layer(uint32_t len)
{
    uint32_t idx, n;
    if (len != 2u) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    idx = get16(TBP_PAYLOAD);
    if (idx >= (uint32_t)TB_MODEL_NUM_LAYERS) {
        tbp_send_status(TBP_ST_BAD_ARG);
        return;
    }
    put16(TBP_PAYLOAD, idx);
    put16(TBP_PAYLOAD + 2, 0u);
    put32(TBP_PAYLOAD + 4, tb_model_layer_output_bytes[idx]);
    n = TBP_LAYER_RESP_HDR;
    n += tbp_put_str(TBP_PAYLOAD + n, tb_model_layer_names[idx] ? tb_model_layer_names[idx] : "");
    tbp_send(TBP_ST_OK, 0u, n);
}

static void tbp_raw_echo(uint32_t len)
{
    uint32_t n;
    if (len != 4u) {
        tbp_send_status(TBP_ST_BAD_LENGTH);
        return;
    }
    n = get32(TBP_PAYLOAD);
    if (n > TBP_RAW_ECHO_MAX) {
        tbp_send_status(TBP_ST_BAD_ARG);
        return;
    }
    tbp_send(TBP_ST_OK, 0u, 0u);
    S.raw_left = n;
    S.raw_idle = 0;
}

static int tbp_dispatch(void)
{
    uint32_t len = get16(tbp_buf + 6);

    S.cmd = tbp_buf[1];
    S.seq = (uint16_t)get16(tbp_buf + 4);
    if (S.cmd == TBP_CMD_INFER || S.cmd == TBP_CMD_PROFILE || S.cmd == TBP_CMD_DUMP || S.cmd == TBP_CMD_RESET)
        S.cls_have = 0; /* they run the model (or start over): a staged CLASSIFY sample is lost */
    switch (S.cmd) {
    case TBP_CMD_INFO:
        tbp_info();
        break;
    case TBP_CMD_INFER:
        tbp_infer(len);
        break;
    case TBP_CMD_PROFILE:
        tbp_profile(len);
        break;
    case TBP_CMD_DUMP:
        tbp_dump(len);
        break;
    case TBP_CMD_RESET:
        S.raw_left = 0;
        memset(tbp_out, 0, sizeof tbp_out);
        memset(tbp_prof, 0, sizeof tbp_prof);
        tbp_send(TBP_ST_OK, 0u, len); /* the nonce is still in place */
        break;
    case TBP_CMD_ECHO:
        tbp_send(TBP_ST_OK, 0u, len);
        break;
    case TBP_CMD_EXIT:
        tbp_send(TBP_ST_OK, 0u, 0u);
        return TBP_SERVE_EXIT;
    case TBP_CMD_LAYER:
        tbp_layer(len);
        break;
    case TBP_CMD_RAW_ECHO:
        tbp_raw_echo(len);
        break;
#if TB_MODEL_HAS_CLASSIFY
    case TBP_CMD_CLASSIFY:
        tbp_classify(len);
        break;
#endif
    default:
        tbp_send_status(TBP_ST_UNKNOWN_CMD);
        break;
    }
    return TBP_SERVE_CONTINUE;
}

int tbp_server_byte(uint8_t b)
{
    int r, reason;

    if (S.raw_left) {
        tb_port_putc(b);
        S.raw_left--;
        S.raw_idle = 0;
        /* The echoed bytes still go through the frame decoder: an intact RESET
         * request ends raw-echo mode, so no RAW_ECHO length (up to
         * TBP_RAW_ECHO_MAX) can leave the device deaf to the host, and a frame
         * that straddles the end of the raw bytes is still decoded.  Any other
         * frame inside the raw bytes is data, not a request. */
        r = tbp_decoder_push(&S.dec, b);
        if (r == TBP_RX_FRAME && tbp_buf[1] == TBP_CMD_RESET &&
            tbp_frame_check(tbp_buf, S.dec.len, (uint32_t)TBP_CAP_PAYLOAD) == TBP_DROP_NONE) {
            S.raw_left = 0;
            S.rx_ok++;
            r = tbp_dispatch();
            tbp_decoder_reset(&S.dec);
            return r;
        }
        if (r == TBP_RX_FRAME)
            tbp_decoder_reset(&S.dec); /* a frame inside the raw bytes is data */
        return TBP_SERVE_CONTINUE;
    }
    r = tbp_decoder_push(&S.dec, b);
    if (r == TBP_RX_NONE)
        return TBP_SERVE_CONTINUE;
    if (r == TBP_RX_OVERFLOW) {
        S.rx_overflow++;
        return TBP_SERVE_CONTINUE;
    }
    if (r == TBP_RX_TRUNCATED) {
        S.rx_other++;
        return TBP_SERVE_CONTINUE;
    }
    reason = tbp_frame_check(tbp_buf, S.dec.len, (uint32_t)TBP_CAP_PAYLOAD);
    if (reason != TBP_DROP_NONE) {
        if (reason == TBP_DROP_CRC)
            S.rx_crc++;
        else
            S.rx_other++;
        tbp_decoder_reset(&S.dec);
        return TBP_SERVE_CONTINUE;
    }
    S.rx_ok++;
    r = tbp_dispatch();
    tbp_decoder_reset(&S.dec);
    return r;
}

void tbp_server_idle(void)
{
    if (S.raw_left && ++S.raw_idle >= (uint32_t)TBP_RAW_IDLE_POLLS)
        S.raw_left = 0;
}
