/*
 * tb_protocol.h - tinybnn host <-> device serial protocol (version 1).
 *
 * THIS FILE IS THE SINGLE SOURCE OF TRUTH for the protocol's numbers: the
 * host side (tinybnn/device/protocol.py) parses every "#define TBP_<NAME> <integer>"
 * line of this header at import time (the wheel ships it as
 * tinybnn/_data/firmware/runtime/tb_protocol.h).  Nothing is generated and
 * nothing is written down twice: change a value here and both sides follow.
 * Only plain integer defines (decimal or 0x hex, optional u suffix) are
 * parsed; keep them one per line.
 *
 * ---------------------------------------------------------------- framing --
 * A frame on the wire is
 *
 *     0x00  COBS(raw)  0x00
 *
 * COBS (Consistent Overhead Byte Stuffing) removes every 0x00 from raw, so a
 * 0x00 always ends (and, sent first, also starts) a frame: a receiver that
 * sees noise, boot text or half a frame resynchronises at the next 0x00.
 * Empty frames (two 0x00 in a row) are ignored.  COBS adds 1 byte per 254.
 *
 * raw (all fields little-endian):
 *
 *     offset size field
 *       0     1   version   TBP_VERSION; frames of another version are dropped
 *       1     1   kind      request: command code (1..0x7F);
 *                           response: TBP_RESPONSE_BIT | command code
 *       2     1   status    requests 0; responses TBP_ST_*
 *       3     1   flags     TBP_FLAG_MORE: more response frames follow (DUMP)
 *       4     2   seq       chosen by the host (a new one for every attempt,
 *                           retries included); every response frame carries
 *                           the seq of the request it answers
 *       6     2   length    payload bytes, <= max payload (INFO reports it)
 *       8     n   payload
 *     8+n     4   crc       CRC-32 over bytes [0, 8+n)
 *
 * CRC-32 is the IEEE 802.3 / zlib CRC (reflected polynomial 0xEDB88320,
 * init and final xor 0xFFFFFFFF; check value crc("123456789") = 0xCBF43926),
 * so the host uses zlib.crc32.  Why 32 and not CRC-16/CCITT: the fault tests
 * push thousands of corrupted frames through the link; a 16-bit CRC lets
 * about 1 in 65,536 of them through, CRC-32 about 1 in 4e9; every burst
 * of up to 32 bits, and every error of up to 3 bits in a frame of up to
 * 11 KB (Hamming distance 4), is always caught.  The device computes it with a 16-entry nibble table
 * (64 bytes of flash, about 20 instructions per byte).
 *
 * The device accepts a frame only if it COBS-decodes completely, fits the
 * receive buffer, is at least 12 bytes, has a good CRC, the right version, a
 * request kind and length == decoded size - 12.  Everything else is dropped
 * silently (and counted, see INFO) and the device keeps serving.  A request
 * that passes these checks always gets exactly one response (DUMP: a series
 * of frames ending with one without TBP_FLAG_MORE); an unknown command gets
 * status TBP_ST_UNKNOWN_CMD.
 *
 * The device is half-duplex: it does not read while it computes or sends.
 * On a link with flow control (QEMU's emulated UART) the host may send the
 * next request before the previous response has arrived; on a real UART
 * without flow control it must wait (bytes sent meanwhile are lost, which
 * the CRC and the host's retries absorb, but slowly).
 *
 * --------------------------------------------------- commands and payloads --
 * u8/u16/u32/i32 little-endian; str = u8 length + bytes (no NUL, <= 63).
 *
 * TBP_CMD_INFO     request: empty (any payload is ignored)
 *                  response (TBP_INFO_FIXED_BYTES fixed bytes, then variable):
 *                    u8  protocol version     u8  flags (TBP_INFO_EMULATED,
 *                                                      TBP_INFO_CLASSIFY)
 *                    u16 max payload          u32 clock Hz
 *                    u32 arena bytes          u32 stack size
 *                    u32 stack used (high-water mark)
 *                    u32 input bytes          u32 output elements (int32)
 *                    i32 input zero point     u16 number of layers
 *                    u8  input rank           u8  output rank
 *                    u32 rx frames ok         u32 rx dropped: bad CRC
 *                    u32 rx dropped: overflow (longer than the buffer)
 *                    u32 rx dropped: other (truncated COBS, short, version,
 *                        length field, not a request)
 *                    u32 tx frames (response frames sent so far)
 *                    u32 input shape[input rank], u32 output shape[output rank]
 *                    str board id, str counter kind ("instructions" under
 *                    QEMU -icount, "cycles" on hardware), str model hash (hex)
 * TBP_CMD_INFER    request: int8 input[input bytes] (else TBP_ST_BAD_LENGTH)
 *                  response: u32 count, u32 crc32(input as received),
 *                            i32 output[output elements]
 *                  count = tb_port_cycles() difference around tb_model_run.
 * TBP_CMD_PROFILE  request: as INFER
 *                  response: u32 total count, u32 crc32(input), u16 layers,
 *                            u16 0, u32 count[layers], i32 output[...]
 *                  count[i] = counter at the end of layer i minus counter at
 *                  the end of layer i-1 (layer -1: just before the run),
 *                  read in the tb_layer_hook (includes the hook's own few
 *                  instructions; Cortex-M SysTick counts are quantised).
 * TBP_CMD_DUMP     request: as INFER
 *                  response: one frame per chunk, TBP_FLAG_MORE set:
 *                    u16 chunk index (0, 1, 2, ... over the whole dump)
 *                    u16 layer, u32 layer bytes, u32 offset, data[...]
 *                  (TBP_DUMP_CHUNK_HDR bytes, then up to max payload minus
 *                  that of the layer's output bytes at offset), then a final
 *                  frame without TBP_FLAG_MORE:
 *                    u32 crc32(input), u16 number of chunks, u16 layers,
 *                    i32 output[output elements]
 *                  Layers are the model's layers (not the input); bytes are
 *                  the device representation (packed uint32 words / int32).
 *                  The model is deterministic, so a host may combine intact
 *                  chunks of several attempts for the same input (the Python
 *                  host does: a long dump converges on a lossy line).  The
 *                  hook sends while the model runs: this relies on
 *                  tb_model_run_hooked copying the input into its arena first
 *                  (model.h), because the chunks reuse the request buffer.
 * TBP_CMD_RESET    request: any payload (a nonce); response: the same bytes.
 *                  Drops any half-received frame, leaves raw-echo mode and
 *                  clears the output buffers (the counters in INFO are kept);
 *                  the host uses the nonce to resynchronise: every frame
 *                  before the matching reply is stale.
 * TBP_CMD_ECHO     request: any payload; response: the same payload.
 * TBP_CMD_EXIT     request: empty; response: empty, then tb_port_exit(0)
 *                  (QEMU exits with 0; real boards stop).
 * TBP_CMD_LAYER    request: u16 layer; response: u16 layer, u16 0,
 *                  u32 output bytes, str name (TBP_ST_BAD_ARG if too large)
 * TBP_CMD_RAW_ECHO request: u32 n (<= TBP_RAW_ECHO_MAX); response: empty,
 *                  then the device echoes the next n bytes as they are,
 *                  unframed, and returns to framed mode (or after about
 *                  TBP_RAW_IDLE_POLLS empty polls, or at an intact RESET
 *                  request among those bytes, which is echoed and then
 *                  answered: RESET works in every mode).  Link benchmark only.
 * TBP_CMD_CLASSIFY request: u32 offset, f32 x[k] (TBP_CLASSIFY_REQ_HDR
 *                  bytes, then k >= 0 floats; else TBP_ST_BAD_LENGTH): a piece
 *                  of one float32 sample in the model's own input layout,
 *                  flattened (what `tinybnn predict` takes), x[0] being sample
 *                  element `offset`.  The pieces are sent in order, each
 *                  starting at most where the previous one ended (a piece sent
 *                  again is taken again); a piece that would leave a gap or
 *                  run past the sample gets TBP_ST_BAD_ARG (and the sample
 *                  starts over at offset 0).  While the sample is incomplete
 *                  the response is u32 elements received; the piece that
 *                  completes it is answered, once the device has classified
 *                  the sample with the model's float boundary (model_io.c:
 *                  tb_model_quantize, tb_model_run, tb_model_dequantize), with
 *                  (TBP_CLASSIFY_RESP_HDR bytes, then the scores):
 *                    u32 count, u32 crc32(the sample as received: its
 *                    floats as little-endian bytes), u32 crc32(the int8 codes
 *                    the device computed), i32 class, f32 scores[output elements]
 *                  count = tb_port_cycles() difference around the three steps.
 *                  The sample is staged in the model's arena (or a buffer of
 *                  its own when the arena is smaller than the sample): INFER,
 *                  PROFILE, DUMP, RESET and a completed CLASSIFY start it over.
 *                  A NaN in the sample: TBP_ST_MODEL_ERROR with the code
 *                  TB_MODEL_ERR_INPUT.  Only firmwares whose model has a float
 *                  boundary (INFO flag TBP_INFO_CLASSIFY) know this command;
 *                  the others answer TBP_ST_UNKNOWN_CMD.
 *
 * Error responses (status != TBP_ST_OK) have an empty payload, except
 * TBP_ST_MODEL_ERROR: i32 return code of tb_model_run (CLASSIFY: of
 * tb_model_quantize or tb_model_run).
 *
 * ------------------------------------------------------- device-side API --
 * tb_protocol.c holds the codec and the dispatcher; all state is static and
 * sized at compile time (one frame buffer of TBP_FRAME_CAP bytes for the
 * request and then the response, the int32 output, per-layer counts; the
 * float sample of CLASSIFY in the model's arena); no malloc, no recursion.
 * tb_serve.c runs the loop:
 *
 *     tbp_server_init();
 *     for (;;) { c = tb_port_getc(); c < 0 ? tbp_server_idle() : tbp_server_byte(c); }
 *
 * Max payload: the larger of TBP_MAX_PAYLOAD (default TBP_DEFAULT_MAX_PAYLOAD,
 * override with -DTBP_MAX_PAYLOAD=n) and what this model's requests and
 * responses need (input, INFER/PROFILE/DUMP/INFO/LAYER/CLASSIFY replies), at most
 * TBP_PAYLOAD_LIMIT (a compile-time error otherwise); INFO reports it.
 */
#ifndef TB_PROTOCOL_H
#define TB_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- frame ---------------------------------------------------------------- */
#define TBP_VERSION 1
#define TBP_HDR_BYTES 8
#define TBP_CRC_BYTES 4
#define TBP_OVERHEAD_BYTES 12 /* header + CRC */
#define TBP_RESPONSE_BIT 0x80
#define TBP_FLAG_MORE 0x01
#define TBP_DELIMITER 0x00
#define TBP_CRC32_POLY 0xEDB88320
#define TBP_CRC32_CHECK 0xCBF43926 /* crc32("123456789") */
#define TBP_DEFAULT_MAX_PAYLOAD 512
#define TBP_PAYLOAD_LIMIT 60000 /* hard upper bound of any build's max payload */
#define TBP_STR_MAX 63

/* ---- commands ------------------------------------------------------------- */
#define TBP_CMD_INFO 0x01
#define TBP_CMD_INFER 0x02
#define TBP_CMD_PROFILE 0x03
#define TBP_CMD_DUMP 0x04
#define TBP_CMD_RESET 0x05
#define TBP_CMD_ECHO 0x06
#define TBP_CMD_EXIT 0x07
#define TBP_CMD_LAYER 0x08
#define TBP_CMD_RAW_ECHO 0x09
#define TBP_CMD_CLASSIFY 0x0A

/* ---- response status ------------------------------------------------------ */
#define TBP_ST_OK 0
#define TBP_ST_UNKNOWN_CMD 1
#define TBP_ST_BAD_LENGTH 2
#define TBP_ST_BAD_ARG 3
#define TBP_ST_MODEL_ERROR 4

/* ---- payload layouts (byte counts of the fixed parts) ---------------------- */
#define TBP_INFO_FIXED_BYTES 56
#define TBP_INFO_EMULATED 0x01
#define TBP_INFO_CLASSIFY 0x02
#define TBP_INFER_RESP_HDR 8
#define TBP_PROFILE_RESP_HDR 12
#define TBP_DUMP_CHUNK_HDR 12
#define TBP_DUMP_FINAL_HDR 8
#define TBP_LAYER_RESP_HDR 8
#define TBP_CLASSIFY_REQ_HDR 4
#define TBP_CLASSIFY_ACK_BYTES 4
#define TBP_CLASSIFY_RESP_HDR 16
#define TBP_RAW_ECHO_MAX 1048576
#define TBP_RAW_IDLE_POLLS 50000000

/* ---- drop reasons (tbp_frame_check) ---------------------------------------- */
#define TBP_DROP_NONE 0
#define TBP_DROP_SHORT 1
#define TBP_DROP_CRC 2
#define TBP_DROP_VERSION 3
#define TBP_DROP_LENGTH 4
#define TBP_DROP_NOT_REQUEST 5

/* ---- codec (model independent) -------------------------------------------- */

/* CRC-32 (zlib): crc = tbp_crc32_update(0, p, n) for a whole buffer, or chain calls. */
uint32_t tbp_crc32_update(uint32_t crc, const uint8_t *p, size_t n);

/* Streaming COBS decoder into a caller-owned buffer of cap bytes. */
typedef struct {
    uint8_t *buf;
    uint32_t cap;
    uint32_t len;     /* decoded bytes so far */
    uint8_t code;     /* code byte of the current block */
    uint8_t left;     /* bytes still to copy in the current block */
    uint8_t started;  /* a code byte has been seen since the last 0x00 */
    uint8_t overflow; /* frame longer than cap: skipping to the next 0x00 */
} tbp_decoder;

#define TBP_RX_NONE 0     /* byte consumed, no frame yet */
#define TBP_RX_FRAME 1    /* buf[0..len) holds a complete decoded frame */
#define TBP_RX_OVERFLOW 2 /* a frame longer than cap was dropped */
#define TBP_RX_TRUNCATED 3 /* a frame ended inside a COBS block: dropped */

void tbp_decoder_init(tbp_decoder *d, uint8_t *buf, uint32_t cap);
/* Feed one wire byte.  After TBP_RX_FRAME the caller uses buf[0..len) and
 * then calls tbp_decoder_reset before feeding more. */
int tbp_decoder_push(tbp_decoder *d, uint8_t byte);
void tbp_decoder_reset(tbp_decoder *d);

/* Check a decoded frame as a request; TBP_DROP_NONE if it is acceptable. */
int tbp_frame_check(const uint8_t *frame, uint32_t len, uint32_t max_payload);

/* COBS-encode raw[0..n) to out() with a leading and a trailing 0x00; returns
 * the number of bytes written.  out == NULL only counts. */
typedef void (*tbp_out_fn)(uint8_t byte);
uint32_t tbp_cobs_write(const uint8_t *raw, uint32_t n, tbp_out_fn out);

/* ---- device server (tb_protocol.c + the generated model.h) ----------------- */
#define TBP_SERVE_CONTINUE 0
#define TBP_SERVE_EXIT 1 /* EXIT was answered: the caller calls tb_port_exit(0) */

void tbp_server_init(void);
/* Feed one received byte; returns TBP_SERVE_CONTINUE or TBP_SERVE_EXIT. */
int tbp_server_byte(uint8_t byte);
/* Call when tb_port_getc() had nothing (times out raw-echo mode). */
void tbp_server_idle(void);
/* Max payload of this build and the size of the static frame buffer. */
uint32_t tbp_server_max_payload(void);

/* The protocol main loop (tb_serve.c); never returns: EXIT ends in tb_port_exit(0). */
int tb_serve(void);

#ifdef __cplusplus
}
#endif

#endif /* TB_PROTOCOL_H */
