#!/usr/bin/env bash
# The main job on the default emulated board: convert a bundled BNN, compare the golden integer model with
# the original framework's runtime, build the firmware for qemu-m4, boot it in QEMU, and show its footprint.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
MODEL="$ROOT/tests/fixtures/larq_cnn.onnx"
DATA="$ROOT/tests/fixtures/larq_cnn.npz"
OUT="${TINYBNN_DEMO_DIR:-$ROOT/out/demo}"
cd "$ROOT"
echo "== tinybnn inspect $(basename "$MODEL")"
"$PY" -m tinybnn inspect "$MODEL" --calibration "$DATA"
echo
echo "== tinybnn check: golden integer model vs the float model in onnxruntime (360 held-out digits)"
"$PY" -m tinybnn check "$MODEL" --data "$DATA"
echo
echo "== tinybnn build --board qemu-m4 --run"
"$PY" -m tinybnn build "$MODEL" --board qemu-m4 -o "$OUT/qemu-m4" --calibration "$DATA" --sample-data "$DATA" --run
