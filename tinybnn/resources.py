"""Where tinybnn's data files are: templates, firmware sources, boards and examples.

An installed wheel ships them under ``tinybnn/_data/<name>``; a checkout has them at the top of the repository.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

_REPO_ROOT = Path(__file__).resolve().parent.parent
BOARD_SCHEMA_FILE = "board.schema.json"


def data_dir(name: str) -> Path:
    """Directory ``name`` ("boards", "firmware", "templates", "examples") of tinybnn's data.

    Tries ``tinybnn/_data/<name>`` (installed wheel) first, then ``<repo>/<name>`` (checkout).
    """
    try:
        candidate = resources.files("tinybnn") / "_data" / name
        if candidate.is_dir():
            return Path(str(candidate))
    except (ModuleNotFoundError, TypeError, ValueError, OSError):
        pass
    candidate = _REPO_ROOT / name
    if candidate.is_dir():
        return candidate
    raise FileNotFoundError(
        f"tinybnn data directory '{name}' not found in tinybnn/_data/ nor in {_REPO_ROOT}"
    )


def templates_dir() -> Path:
    return data_dir("templates")


def kernels_dir() -> Path:
    """The reference kernels (``firmware/kernels``); the optimized families are in its ``opt/`` folder."""
    return data_dir("firmware") / "kernels"


def board_schema() -> dict[str, Any]:
    """The JSON Schema of a board file (shipped with the package; it documents every field)."""
    return json.loads((data_dir("boards") / BOARD_SCHEMA_FILE).read_text(encoding="utf-8"))


# The kernel variants a board may name: the schema's enum is the single list (tinybnn.backend.kernels
# implements each of them and checks it at import).
KERNEL_VARIANTS = tuple(board_schema()["properties"]["kernel_variant"]["enum"])
