#!/usr/bin/env bash
# Everything a fresh machine needs to run tinybnn, its tests and the emulated boards.
#   - Debian/Ubuntu packages (installed with --no-install-recommends; as root, or through sudo)
#   - this package and its test extras, into the current Python environment (pip)
# Idempotent: re-running only installs what is missing.
# Usage: bash scripts/setup.sh [demo|test]   (demo: what `make demo` needs; test, the default: everything)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
PROFILE="${1:-test}"
case "$PROFILE" in demo|test) ;; *) echo "setup: unknown profile '$PROFILE' (demo or test)" >&2; exit 2 ;; esac

# apt packages: package name -> a file it provides (checked before installing anything)
APT_PACKAGES=(
  "gcc:/usr/bin/gcc"
)
if [ -f "$ROOT/scripts/apt-packages.txt" ]; then
  while read -r prof entry; do
    case "$prof" in ""|\#*) continue ;; esac
    if [ "$prof" = demo ] || [ "$PROFILE" = test ]; then APT_PACKAGES+=("$entry"); fi
  done < "$ROOT/scripts/apt-packages.txt"
fi

missing=()
for entry in "${APT_PACKAGES[@]}"; do
  pkg="${entry%%:*}"; probe="${entry#*:}"
  [ -e "$probe" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup: need root to install: ${missing[*]} (run: apt-get install -y --no-install-recommends ${missing[*]})" >&2
        exit 1
      fi
    fi
    echo "setup: installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
  fi
fi

# Python: tinybnn itself (editable, so the checkout is what runs), plus the test extras for "test"
if [ "$PROFILE" = test ]; then
  MODS="tinybnn, pytest, hypothesis, qonnx, sklearn"; SPEC="$ROOT[test]"; WHAT="tinybnn and its test dependencies"
else
  MODS="tinybnn"; SPEC="$ROOT"; WHAT="tinybnn"
fi
if ! "$PY" -c "import $MODS" >/dev/null 2>&1 \
   || [ "$("$PY" -c 'import tinybnn, pathlib; print(pathlib.Path(tinybnn.__file__).resolve().parent.parent)' 2>/dev/null)" != "$ROOT" ]; then
  echo "setup: installing $WHAT (pip)"
  "$PY" -m pip install -q --disable-pip-version-check -e "$SPEC"
fi
echo "setup: ok"
