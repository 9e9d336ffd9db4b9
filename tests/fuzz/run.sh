#!/usr/bin/env bash
# Fuzz the device-side protocol (tb_protocol.c: COBS decoder, frame checks,
# dispatcher) with libFuzzer + ASan + UBSan, linked with a real generated model.
#
#   tests/fuzz/run.sh [SECONDS=30] [WORK_DIR=a new temp dir]
#
# Needs clang with the libFuzzer runtime.  Debian 12:
#   apt-get install --no-install-recommends clang-14 libclang-rt-14-dev
# CLANG=... selects the compiler (default: clang-14, else clang).
# Exit status: 0 when no crash was found; libFuzzer's status otherwise (the
# crashing input is left in WORK_DIR as crash-*).  Prints libFuzzer's final stats.
set -euo pipefail

SECS=${1:-30}
WORK=${2:-$(mktemp -d /tmp/tinybnn-fuzz.XXXXXX)}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-python3}
FIXTURE=${FIXTURE:-brevitas_cnn}

CLANG=${CLANG:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$CLANG" ]; then
    echo "run.sh: clang not found (apt-get install --no-install-recommends clang-14 libclang-rt-14-dev)" >&2
    exit 3
fi

mkdir -p "$WORK/corpus" "$WORK/seeds"
# a generated model (host build of the same C the device runs)
"$PY" - "$ROOT" "$WORK/model" "$FIXTURE" <<'PYEOF'
import sys
root, out, name = sys.argv[1:4]
sys.path.insert(0, root)
import numpy as np, tinybnn
from tinybnn.backend import codegen
d = np.load(f"{root}/tests/fixtures/{name}.npz")
m = tinybnn.load(f"{root}/tests/fixtures/{name}.onnx", calibration=d["x"])
codegen.render(m, out)
PYEOF
INPUT_BYTES=$(sed -n 's/^#define TB_MODEL_INPUT_BYTES \([0-9]*\).*/\1/p' "$WORK/model/model.h")
"$PY" "$HERE/make_corpus.py" "$WORK/seeds" "$INPUT_BYTES" >/dev/null

"$CLANG" -g -O1 -std=c99 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I "$ROOT/firmware/runtime" -I "$ROOT/firmware/port" -I "$WORK/model" \
    -D 'TB_BOARD_ID="fuzz"' -D TB_CLOCK_HZ=1000000u -D TB_EMULATED=1 -D TBP_MAX_PAYLOAD=64 \
    "$HERE/fuzz_protocol.c" "$ROOT/firmware/runtime/tb_protocol.c" "$ROOT/firmware/runtime/tb_serve.c" \
    "$WORK"/model/*.c -o "$WORK/fuzz_protocol"

echo "fuzzing for ${SECS} s in $WORK"
cd "$WORK"
set +e
./fuzz_protocol -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/" corpus seeds 2>fuzz.log
status=$?
set -e
grep -E "^(stat::|#[0-9]+ +DONE|==[0-9]+==ERROR|SUMMARY|.*runtime error)" fuzz.log | head -40 || true
if [ $status -ne 0 ]; then
    echo "run.sh: libFuzzer exit status $status; log $WORK/fuzz.log; crash inputs:" >&2
    ls "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* 2>/dev/null >&2 || true
    tail -60 fuzz.log >&2
fi
exit $status
