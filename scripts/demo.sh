#!/usr/bin/env bash
# The main job on the default emulated board (qemu-m4, a Cortex-M4 in QEMU): the bundled keyword-spotting
# BNN (examples/kws, trained in PyTorch on synthetic speech) is converted, built, booted in QEMU and
# validated over serial on its 600 held-out test clips: every output compared bit for bit with the golden
# model, accuracy of device vs golden vs float model, footprint and instructions per inference.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
MODEL="$ROOT/examples/kws/model/kws_bnn.onnx"
DATA="$ROOT/examples/kws/model/kws_bnn_test.npz"
OUT="${TINYBNN_DEMO_DIR:-$ROOT/out/demo}"
mkdir -p "$OUT"  # validate checks the folders of its outputs before it starts
cd "$ROOT"
echo "== tinybnn inspect: what the converter made of $(basename "$MODEL")"
"$PY" -m tinybnn inspect "$MODEL"
echo
echo "== tinybnn validate --board qemu-m4: build, boot in QEMU, stream the test set over serial"
# a fresh run each time (validate itself would resume an interrupted run from its results file)
rm -f "$OUT/kws.results.jsonl"
"$PY" -m tinybnn validate "$MODEL" --board qemu-m4 --data "$DATA" --build-dir "$OUT/kws-qemu-m4" \
    --results "$OUT/kws.results.jsonl" --json "$OUT/kws.json"
echo
echo "summary: $OUT/kws.json; firmware project: $OUT/kws-qemu-m4 (tinybnn footprint $OUT/kws-qemu-m4)"
