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
 *     (raw-echo mode), or a sequence of complete frames 0x00 COBS 0x00, each
 *     of which decodes (independent decoder below), is 12..12+max payload
 *     bytes, has a good CRC-32 (independent bitwise CRC), version 1, the
 *     response bit, and a length field equal to its payload size;
 *   - the output of one byte never exceeds OUT_CAP (no runaway);
 *   - tb_port_exit() is never called by the dispatcher (tb_serve does it).
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

static void check_output(uint8_t fed)
{
    uint32_t i = 0, maxp = tbp_server_max_payload();
    if (out_len == 0)
        return;
    if (out_len == 1) {
        if (out_buf[0] != fed)
            fail("a single byte that is not the raw echo of the input", 0);
        return;
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

/* Feed one byte; returns 1 when the device would exit. */
static int feed(uint8_t b)
{
    int r;
    out_len = 0;
    r = tbp_server_byte(b);
    check_output(b);
    if (stream_mode && out_len)
        fwrite(out_buf, 1, out_len, stdout);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[65536 + 16];
    size_t i;
    uint8_t mode;

    tbp_server_init();
    fake_cycles = 0;
    if (size == 0)
        return 0;
    mode = data[0];
    if (!(mode & 1u)) {
        for (i = 1; i < size; i++) {
            if (feed(data[i]))
                return 0;
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
                return 0;
        if ((mode & 4u) && i < size)
            if (feed(data[i++]))
                return 0;
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
