#!/usr/bin/env bash
# The main job: convert a bundled BNN, show what tinybnn made of it, and compare the golden model with
# the original framework's runtime on held-out data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
MODEL="$ROOT/tests/fixtures/larq_cnn.onnx"
DATA="$ROOT/tests/fixtures/larq_cnn.npz"
cd "$ROOT"
echo "== tinybnn inspect $(basename "$MODEL")"
"$PY" -m tinybnn inspect "$MODEL" --calibration "$DATA"
echo
echo "== tinybnn check (golden integer model vs the float model in onnxruntime, 360 held-out digits)"
"$PY" -m tinybnn check "$MODEL" --data "$DATA"
