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

# Python: tinybnn itself (editable, so the checkout is what runs), plus the test extras for "test".
# Decided from the installed distribution, probed from outside the checkout: from the repository root the
# source folder is importable whether or not tinybnn (and its dependencies) are installed.
if [ "$PROFILE" = test ]; then
  EXTRA_MODS="pytest xdist hypothesis qonnx sklearn matplotlib"; SPEC="$ROOT[test]"; WHAT="tinybnn and its test dependencies"
else
  EXTRA_MODS=""; SPEC="$ROOT"; WHAT="tinybnn"
fi
installed_here() {
  (cd / && "$PY" - "$ROOT" $EXTRA_MODS <<'PYEOF'
import importlib, importlib.metadata as md, pathlib, re, sys
root, extra = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2:]
dist = md.distribution("tinybnn")                      # PackageNotFoundError: not installed
import tinybnn                                         # the installed one, not a source folder in the cwd
if pathlib.Path(tinybnn.__file__).resolve().parent.parent != root:
    sys.exit(1)                                        # installed from another checkout
reqs = [r for r in dist.requires or [] if "extra ==" not in r]
try:                                                   # the checkout's own list: it may be newer than the
    import tomllib                                     # metadata of an earlier editable install
    with open(root / "pyproject.toml", "rb") as f:
        reqs += tomllib.load(f)["project"]["dependencies"]
except ImportError:                                    # Python 3.10: the installed metadata only
    pass
for req in reqs:                                       # every runtime dependency installed
    md.distribution(re.split(r"[ ;<>=!~\[]", req, maxsplit=1)[0])
for mod in extra:
    importlib.import_module(mod)
PYEOF
  ) >/dev/null 2>&1
}
if ! installed_here; then
  echo "setup: installing $WHAT (pip)"
  "$PY" -m pip install -q --disable-pip-version-check -e "$SPEC"
  installed_here || { echo "setup: tinybnn is still not importable by $PY after pip install" >&2; exit 1; }
fi
echo "setup: ok"
