"""Validation throughput of the serial protocol vs the raw throughput of the same link.

    python3 benchmarks/bench_link.py [--board qemu-m4] [--fixture brevitas_tfc] [--samples 200] [--window 2]

Builds tests/device_app (boot text + tb_serve()) with a generated fixture model (64-byte
int8 input, 10 int32 outputs), starts it in QEMU and measures over one connection:

  infer      INFER round trips, stop-and-wait, each output checked against the golden
             model (samples/s)
  infer-win  the same with --window requests in flight (Device.infer_many; fine on
             QEMU, whose emulated UART has flow control)
  echo       ECHO frames with the same payload as an INFER request (64 bytes),
             stop-and-wait (frames/s): the protocol without the model
  raw-rt     raw bytes echoed by the device (RAW_ECHO mode: no framing, no CRC, no
             model), stop-and-wait, as many bytes per round trip as an INFER
             request frame has on the wire (round trips/s): the link itself
  raw-rt64   the same with only the 64 payload bytes per round trip
  raw-bulk   raw bytes streamed through the device's echo (bytes/s), also shown as
             samples/s if only the payload bytes of a sample had to move

Kinds alternate in blocks of 20 so that the load of a shared machine hits all alike;
each figure is the median of --repeat runs.  Ratios printed: infer/echo, infer/raw-rt,
infer-win/raw-rt (target >= 0.8) and infer/raw-rt64 (includes the framing overhead:
8-byte header, CRC-32, COBS and delimiters = 15 bytes per request).
Under QEMU one instruction = 1 ns of virtual time, but QEMU executes the model at host
speed; the model's instruction count per inference is printed for reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from device_app import build_app  # noqa: E402
from tinybnn.device import protocol as P  # noqa: E402
from tinybnn.targets import qemu  # noqa: E402
from tinybnn.device.link import Device  # noqa: E402


BLOCK = 20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--fixture", default="brevitas_tfc")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--window", type=int, default=2, help="requests in flight for infer-win (QEMU only)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tinybnn-bench-link-") as tmp:
        t0 = time.monotonic()
        app = build_app.build(args.fixture, Path(tmp), args.board)
        print(f"built {args.fixture} for {args.board} in {time.monotonic() - t0:.1f} s")
        q = app.model.quantize(app.x)
        golden = app.model.run_quantized(q)
        n = args.samples
        with qemu.QemuSession(app.elf, args.board, timeout=600) as sess:
            dev = Device(sess.serial, timeout=2.0)
            info = dev.info_
            if info.input_bytes != 64:
                print(f"note: this model's input is {info.input_bytes} bytes, not 64")
            _, count = dev.infer(q[0])
            print(f"model {info.model_hash}: {info.input_bytes} B in, {info.output_size * 4} B out, "
                  f"{count:,} {info.counter_kind} per inference; max payload {info.max_payload} B")
            payload = bytes(range(1, info.input_bytes + 1))
            bad = 0

            def infer_block(i0, k):
                nonlocal bad
                t = time.perf_counter()
                for i in range(i0, i0 + k):
                    out, _ = dev.infer(q[i % len(q)])
                    bad += not np.array_equal(out, golden[i % len(q)])
                return time.perf_counter() - t

            def infer_window_block(i0, k):
                nonlocal bad
                t = time.perf_counter()
                idx = [i % len(q) for i in range(i0, i0 + k)]
                for i, (out, _) in zip(idx, dev.infer_many((q[i] for i in idx), window=args.window)):
                    bad += not np.array_equal(out, golden[i])
                return time.perf_counter() - t

            def echo_block(k):
                t = time.perf_counter()
                for _ in range(k):
                    dev.echo(payload)
                return time.perf_counter() - t

            wire = bytes((i * 7 + 1) & 0xFF or 1 for i in range(len(P.encode_frame(P.CMD_INFER, 0, payload))))

            def raw_block(k, chunk):
                dev.request(P.CMD_RAW_ECHO, (k * len(chunk)).to_bytes(4, "little"), lambda f: True)
                t = time.perf_counter()
                for _ in range(k):
                    dev._write(chunk)
                    got = b""
                    while len(got) < len(chunk):
                        got += dev._read_some(time.monotonic() + 2.0)
                    if got != chunk:
                        raise SystemExit("raw echo: bytes differ")
                return time.perf_counter() - t

            def raw_bulk(nbytes):
                data = bytes(range(256)) * max(1, nbytes // 256)
                t = time.perf_counter()
                dev.raw_echo(data, timeout=120)
                return len(data) / (time.perf_counter() - t)

            # Blocks of BLOCK round trips of each kind alternate, so that the load of a
            # shared machine hits all of them alike; one rate per repeat and kind.
            res = {"infer": [], "infer-win": [], "echo": [], "raw-rt": [], "raw-rt64": [], "raw-bulk": []}
            done = 0
            for _ in range(args.repeat):
                tot = {"infer": 0.0, "infer-win": 0.0, "echo": 0.0, "raw-rt": 0.0, "raw-rt64": 0.0}
                for _b in range(max(1, n // BLOCK)):
                    tot["infer"] += infer_block(done, BLOCK)
                    tot["infer-win"] += infer_window_block(done, BLOCK)
                    tot["echo"] += echo_block(BLOCK)
                    tot["raw-rt"] += raw_block(BLOCK, wire)
                    tot["raw-rt64"] += raw_block(BLOCK, payload)
                    done += BLOCK
                for k, v in tot.items():
                    res[k].append(max(1, n // BLOCK) * BLOCK / v)
                res["raw-bulk"].append(raw_bulk(64 * n))
            dev.exit()
            sess.wait()
        med = {k: statistics.median(v) for k, v in res.items()}
        per_sample = info.input_bytes + 4 * info.output_size
        print(f"\n{'measure':<10} {'per s (median)':>15}   runs")
        print(f"{'infer':<10} {med['infer']:>12.1f} /s   " + ", ".join(f"{v:.1f}" for v in res["infer"]))
        print(f"{'infer-win':<10} {med['infer-win']:>12.1f} /s   " + ", ".join(f"{v:.1f}" for v in res["infer-win"]))
        print(f"{'echo':<10} {med['echo']:>12.1f} /s   " + ", ".join(f"{v:.1f}" for v in res["echo"]))
        print(f"{'raw-rt':<10} {med['raw-rt']:>12.1f} /s   " + ", ".join(f"{v:.1f}" for v in res["raw-rt"])
              + f"   ({len(wire)} B per round trip)")
        print(f"{'raw-rt64':<10} {med['raw-rt64']:>12.1f} /s   " + ", ".join(f"{v:.1f}" for v in res["raw-rt64"]))
        print(f"{'raw-bulk':<10} {med['raw-bulk']:>12.0f} B/s  " + ", ".join(f"{v:.0f}" for v in res["raw-bulk"]))
        w = args.window
        print(f"\nvalidation throughput: {med['infer']:.1f} samples/s stop-and-wait, {med['infer-win']:.1f} "
              f"samples/s with {w} requests in flight ({bad} wrong outputs)")
        print(f"  infer     / echo   = {med['infer'] / med['echo']:.2f}   (model + checks vs the protocol alone)")
        print(f"  infer     / raw-rt = {med['infer'] / med['raw-rt']:.2f}   (target >= 0.8: the same bytes raw)")
        print(f"  infer-win / raw-rt = {med['infer-win'] / med['raw-rt']:.2f}")
        print(f"  infer     / raw-rt64 = {med['infer'] / med['raw-rt64']:.2f}   (includes the 15 framing bytes)")
        print(f"  infer-win / raw-rt64 = {med['infer-win'] / med['raw-rt64']:.2f}")
        print(f"  machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a shared machine "
              f"makes every figure noisy)")
        print(f"  raw-bulk = {med['raw-bulk'] / 1024:.1f} KiB/s echoed = {med['raw-bulk'] / per_sample:.0f} "
              f"samples/s if only a sample's {per_sample} payload bytes moved, without round trips")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
