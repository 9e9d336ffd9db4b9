#!/usr/bin/env bash
# Everything a fresh machine needs to run tinybnn, its tests and the emulated boards.
#   - Debian/Ubuntu packages (installed with --no-install-recommends; as root, or through sudo)
#   - this package and its test extras, into the current Python environment (pip)
# Idempotent: re-running only installs what is missing. Usage: bash scripts/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"

# apt packages: package name -> a file it provides (checked before installing anything)
APT_PACKAGES=(
  "gcc:/usr/bin/gcc"
)
if [ -f "$ROOT/scripts/apt-packages.txt" ]; then
  while read -r line; do
    case "$line" in ""|\#*) continue ;; esac
    APT_PACKAGES+=("$line")
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

# Python: tinybnn itself (editable, so the checkout is what runs) and the test extras
if ! "$PY" -c "import tinybnn, pytest, hypothesis, qonnx, sklearn" >/dev/null 2>&1 \
   || [ "$("$PY" -c 'import tinybnn, pathlib; print(pathlib.Path(tinybnn.__file__).resolve().parent.parent)' 2>/dev/null)" != "$ROOT" ]; then
  echo "setup: installing tinybnn and its test dependencies (pip)"
  "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[test]"
fi
echo "setup: ok"
