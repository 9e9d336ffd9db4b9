/*
 * Fuzz target of the device-side protocol: frame decoder + dispatcher
 * (firmware/runtime/tb_protocol.c) linked with a real generated model and a
 * host stub of tb_port.h.  Built by tests/fuzz/run.sh with
 *   clang -fsanitize=fuzzer,address,undefined
 * and, without libFuzzer, with -DTBP_FUZZ_STANDALONE (a main() that replays
 * files, or streams stdin to stdout with --stream; used by tests/test_protocol.py).
 *
 * Input: byte 0 selects the mode.
 *   even: the rest is fed to tbp_server_byte() as raw wire bytes (noise,
 *         partial frames, COBS errors, oversize frames, ...);
 *   odd:  the rest is a list of records [u8 n][n bytes]: each record is a frame
 *         body (header + payload) to which the harness appends a correct
 *         CRC-32 (and, if bit 1 of byte 0 is set, first patches the length
 *         field), COBS-encodes and feeds, so that the dispatcher sees intact
 *         frames with arbitrary headers and payloads.  A record may be
 *         followed by a raw noise byte when bit 2 of byte 0 is set.
 *
 * Checked after EVERY byte fed (abort() on violation, besides ASan/UBSan):
 *   - the device's output for that byte is either nothing, exactly that byte
 *     (raw-echo mode), or a sequence of complete frames 0x00 COBS 0x00 (in
 *     raw-echo mode after the echoed byte: an intact RESET ends it), each
 *     of which decodes (independent decoder below), is 12..12+max payload
 *     bytes, has a good CRC-32 (independent bitwise CRC), version 1, the
 *     response bit, and a length field equal to its payload size;
 *   - the output of one byte never exceeds OUT_CAP (no runaway);
 *   - tb_port_exit() is never called by the dispatcher (tb_serve does it).
 * Checked after EVERY input (liveness): unless the input ended with EXIT, a
 * RESET request sent next (0x00, then the frame) is answered with its nonce,
 * whatever state the input left the device in (raw-echo mode of any length,
 * half a frame, an oversize frame, ...).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_port.h"
#include "tb_protocol.h"

/* ------------------------------------------------------------ port stub -- */

#define OUT_CAP (1u << 20)
static uint8_t out_buf[OUT_CAP];
static uint32_t out_len;
static uint32_t fake_cycles;
static int stream_mode; /* standalone --stream: copy the output to stdout */

void tb_port_init(void) {}

void tb_port_putc(uint8_t c)
{
    if (out_len >= OUT_CAP) {
        fprintf(stderr, "fuzz: more than %u output bytes for one input byte\n", OUT_CAP);
        abort();
    }
    out_buf[out_len++] = c;
}

int tb_port_getc(void) { return -1; }

void tb_port_write(const uint8_t *buf, size_t n)
{
    while (n--)
        tb_port_putc(*buf++);
}

uint32_t tb_port_cycles(void) { return fake_cycles += 7u; }
const char tb_port_cycles_kind[] = "instructions";
uint32_t tb_port_stack_used(void) { return 1234u; }
uint32_t tb_port_stack_size(void) { return 16384u; }

void tb_port_exit(int code)
{
    fprintf(stderr, "fuzz: tb_port_exit(%d) called by the dispatcher\n", code);
    abort();
}

/* ------------------------------------------- independent reference checks -- */

static uint32_t ref_crc32(const uint8_t *p, uint32_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        int k;
        crc ^= *p++;
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* Decode one COBS frame (no delimiters) into out; -1 on a format error. */
static long ref_cobs_decode(const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap)
{
    uint32_t i = 0, o = 0;
    int prev = -1;
    while (i < n) {
        uint32_t code = in[i], k;
        if (code == 0)
            return -1;
        if (prev >= 0 && prev != 0xFF) {
            if (o >= cap)
                return -1;
            out[o++] = 0;
        }
        if (i + code > n)
            return -1;
        for (k = 1; k < code; k++) {
            if (in[i + k] == 0 || o >= cap)
                return -1;
            out[o++] = in[i + k];
        }
        prev = (int)code;
        i += code;
    }
    return (long)o;
}

static void fail(const char *what, uint32_t at)
{
    fprintf(stderr, "fuzz: invalid device output: %s (output byte %u)\n", what, at);
    abort();
}

static uint8_t dec_buf[OUT_CAP];

static int in_raw_mode_echo; /* set by feed(): the device echoed the byte */

static void check_output(uint8_t fed)
{
    uint32_t i = 0, maxp = tbp_server_max_payload();
    in_raw_mode_echo = 0;
    if (out_len == 0)
        return;
    if (out_len == 1) {
        if (out_buf[0] != fed)
            fail("a single byte that is not the raw echo of the input", 0);
        in_raw_mode_echo = 1;
        return;
    }
    if (fed == 0 && out_buf[0] == 0 && out_buf[1] == 0) {
        /* raw-echo mode ended by a RESET whose closing 0x00 is echoed first */
        i = 1;
        in_raw_mode_echo = 1;
    }
    while (i < out_len) {
        uint32_t start, end;
        long n;
        if (out_buf[i] != 0)
            fail("frame does not start with 0x00", i);
        start = i + 1;
        end = start;
        while (end < out_len && out_buf[end] != 0)
            end++;
        if (end >= out_len)
            fail("frame without its closing 0x00", i);
        n = ref_cobs_decode(out_buf + start, end - start, dec_buf, sizeof dec_buf);
        if (n < 0)
            fail("bad COBS", start);
        if (n < TBP_OVERHEAD_BYTES || (uint32_t)n > TBP_OVERHEAD_BYTES + maxp)
            fail("frame size out of range", start);
        {
            const uint8_t *f = dec_buf;
            uint32_t len = (uint32_t)n, crc, plen;
            crc = (uint32_t)f[len - 4] | ((uint32_t)f[len - 3] << 8) | ((uint32_t)f[len - 2] << 16) |
                  ((uint32_t)f[len - 1] << 24);
            if (crc != ref_crc32(f, len - 4))
                fail("bad CRC", start);
            if (f[0] != TBP_VERSION)
                fail("bad version", start);
            if (!(f[1] & TBP_RESPONSE_BIT))
                fail("not a response", start);
            plen = (uint32_t)f[6] | ((uint32_t)f[7] << 8);
            if (plen != len - TBP_OVERHEAD_BYTES)
                fail("length field", start);
        }
        i = end + 1;
    }
}

/* Everything the device sent during a liveness probe. */
static uint8_t probe_out[OUT_CAP];
static uint32_t probe_len;
static int probing;

/* Feed one byte; returns 1 when the device would exit. */
static int feed(uint8_t b)
{
    int r;
    out_len = 0;
    r = tbp_server_byte(b);
    check_output(b);
    if (stream_mode && out_len)
        fwrite(out_buf, 1, out_len, stdout);
    if (probing && out_len <= OUT_CAP - probe_len) {
        memcpy(probe_out + probe_len, out_buf, out_len);
        probe_len += out_len;
    }
    return r == TBP_SERVE_EXIT;
}

/* COBS-encode via the device's own encoder into a local buffer. */
static uint8_t enc_buf[2 * 65536];
static uint32_t enc_len;
static void enc_out(uint8_t b)
{
    if (enc_len < sizeof enc_buf)
        enc_buf[enc_len++] = b;
}

/* Liveness: send 0x00 + a RESET request; its answer (with the nonce) must come back. */
static void liveness_probe(void)
{
    static const uint8_t nonce[8] = {'a', 'l', 'i', 'v', 'e', 0, 0xFF, 7};
    uint8_t req[TBP_OVERHEAD_BYTES + sizeof nonce];
    uint32_t crc, k, i = 0;
    int found = 0;

    req[0] = TBP_VERSION;
    req[1] = TBP_CMD_RESET;
    req[2] = 0;
    req[3] = 0;
    req[4] = 0xCD; /* seq 0xABCD */
    req[5] = 0xAB;
    req[6] = (uint8_t)sizeof nonce;
    req[7] = 0;
    memcpy(req + TBP_HDR_BYTES, nonce, sizeof nonce);
    crc = ref_crc32(req, TBP_HDR_BYTES + (uint32_t)sizeof nonce);
    for (k = 0; k < 4; k++)
        req[TBP_HDR_BYTES + sizeof nonce + k] = (uint8_t)(crc >> (8 * k));
    enc_len = 0;
    (void)tbp_cobs_write(req, (uint32_t)sizeof req, enc_out);
    probing = 1;
    probe_len = 0;
    if (feed(0u)) { /* the input's last frame was an EXIT waiting for its delimiter */
        probing = 0;
        return;
    }
    for (k = 0; k < enc_len; k++)
        if (feed(enc_buf[k]))
            fail("EXIT during the liveness probe", k);
    probing = 0;
    /* look for the response among the 0x00-delimited segments */
    while (i < probe_len && !found) {
        uint32_t end = i;
        long n;
        while (end < probe_len && probe_out[end] != 0)
            end++;
        n = ref_cobs_decode(probe_out + i, end - i, dec_buf, sizeof dec_buf);
        if (n == (long)sizeof req && dec_buf[1] == (TBP_RESPONSE_BIT | TBP_CMD_RESET) && dec_buf[2] == 0 &&
            dec_buf[4] == 0xCD && dec_buf[5] == 0xAB && memcmp(dec_buf + TBP_HDR_BYTES, nonce, sizeof nonce) == 0)
            found = 1;
        i = end + 1;
    }
    if (!found) {
        fprintf(stderr, "fuzz: the device did not answer a RESET after this input (deaf)\n");
        abort();
    }
}

static int one_input(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tbp_server_init();
    fake_cycles = 0;
    if (one_input(data, size) == 0)
        liveness_probe();
    return 0;
}

/* Returns 1 if the device exited (EXIT answered). */
static int one_input(const uint8_t *data, size_t size)
{
    static uint8_t frame[65536 + 16];
    size_t i;
    uint8_t mode;

    if (size == 0)
        return 0;
    mode = data[0];
    if (!(mode & 1u)) {
        for (i = 1; i < size; i++) {
            if (feed(data[i]))
                return 1;
            if ((i & 63u) == 0)
                tbp_server_idle();
        }
        return 0;
    }
    i = 1;
    while (i < size) {
        uint32_t n = data[i++], k, crc;
        if (n > size - i)
            n = (uint32_t)(size - i);
        memcpy(frame, data + i, n);
        i += n;
        if ((mode & 2u) && n >= TBP_HDR_BYTES) {
            frame[6] = (uint8_t)(n - TBP_HDR_BYTES);
            frame[7] = (uint8_t)((n - TBP_HDR_BYTES) >> 8);
        }
        crc = ref_crc32(frame, n);
        frame[n] = (uint8_t)crc;
        frame[n + 1] = (uint8_t)(crc >> 8);
        frame[n + 2] = (uint8_t)(crc >> 16);
        frame[n + 3] = (uint8_t)(crc >> 24);
        enc_len = 0;
        (void)tbp_cobs_write(frame, n + 4u, enc_out);
        for (k = 0; k < enc_len; k++)
            if (feed(enc_buf[k]))
                return 1;
        if ((mode & 4u) && i < size)
            if (feed(data[i++]))
                return 1;
    }
    return 0;
}

#ifdef TBP_FUZZ_STANDALONE
/* Without libFuzzer: `prog FILE...` runs each file as one input;
 * `prog --stream` feeds stdin to the server as raw wire bytes and writes the
 * device's output to stdout (checked as above). */
static uint8_t file_buf[1 << 20];

int main(int argc, char **argv)
{
    int a;
    if (argc >= 2 && strcmp(argv[1], "--stream") == 0) {
        int c;
        stream_mode = 1;
        tbp_server_init();
        while ((c = getchar()) != EOF)
            if (feed((uint8_t)c))
                break;
        fflush(stdout);
        return 0;
    }
    for (a = 1; a < argc; a++) {
        FILE *fp = fopen(argv[a], "rb");
        size_t n;
        if (!fp) {
            perror(argv[a]);
            return 2;
        }
        n = fread(file_buf, 1, sizeof file_buf, fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(file_buf, n);
    }
    fprintf(stderr, "fuzz standalone: %d inputs ok\n", argc - 1);
    return 0;
}
#endif
