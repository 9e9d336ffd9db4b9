"""C text: the one Jinja environment every template is rendered with, and the helpers that make generated C read
like hand-written C (comments and string literals safe for any name, array bodies, shapes).

Every template of tinybnn (the model, the kernels specialized to a layer, the library export, the firmware
sample, the PlatformIO project, the kernel benchmark) goes through :func:`environment`, so the options that
decide the bytes of the output (undefined names are errors, blocks trim their newline, files keep their last
newline, nothing is HTML-escaped) are set in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._version import __version__  # noqa: F401 (templates print it; re-exported for the renderers)
from ..resources import kernels_dir, templates_dir  # noqa: F401 (re-exported)

WORDS_PER_LINE = 8
BYTES_PER_LINE = 16
INT32_LIMIT = 2**31


@lru_cache(maxsize=None)
def environment():
    """The Jinja2 environment of every tinybnn template (``templates/``; sub-folders by relative name)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)


# ------------------------------------------------------------------------------------- C formatting --
def c_comment(text: str) -> str:
    """Text safe inside a /* */ comment: printable ASCII, no comment delimiters, no trigraphs."""
    s = "".join(ch if " " <= ch <= "~" else "?" for ch in str(text))
    s = s.replace("*/", "* /").replace("/*", "/ *")
    return re.sub(r"\?(?=\?)", "? ", s)


def c_string(text: str) -> str:
    """A C string literal for any text (UTF-8 bytes outside printable ASCII as octal escapes)."""
    out = []
    for b in str(text).encode("utf-8"):
        ch = chr(b)
        if ch in '\\"?':
            out.append("\\" + ch)
        elif 0x20 <= b <= 0x7E:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def c_slug(name: str, limit: int = 24) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_").lower()[:limit].strip("_")
    return s or "layer"


def _fmt_value(ctype: str, v: int) -> str:
    if ctype == "uint32_t":
        return f"0x{int(v) & 0xFFFFFFFF:08X}u"
    if ctype == "int32_t" and int(v) == -INT32_LIMIT:
        return "INT32_MIN"
    if ctype == "int64_t":
        return f"INT64_C({int(v)})"
    return str(int(v))


def c_array_body(ctype: str, values: np.ndarray, indent: str = "    ") -> str:
    per = WORDS_PER_LINE if ctype in ("uint32_t", "int32_t") else BYTES_PER_LINE
    vals = [_fmt_value(ctype, v) for v in np.asarray(values).reshape(-1).tolist()]
    lines = [indent + ", ".join(vals[i:i + per]) + "," for i in range(0, len(vals), per)]
    return "\n".join(lines)


def shape_str(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


# ------------------------------------------------------------------------------------------- specs --
@dataclass
class CArray:
    name: str         # C identifier
    ctype: str        # uint32_t | int32_t | int16_t | int8_t
    values: np.ndarray
    comment: str
    role: str         # weights | thresholds | flip | or_mask

    @property
    def count(self) -> int:
        return int(np.asarray(self.values).size)

    @property
    def nbytes(self) -> int:
        return self.count * {"uint32_t": 4, "int32_t": 4, "int16_t": 2, "int8_t": 1, "int64_t": 8}[self.ctype]

    @property
    def count_macro(self) -> str:
        return self.name.upper() + "_COUNT"

    @property
    def body(self) -> str:
        return c_array_body(self.ctype, self.values)


# ------------------------------------------------------------------------------ constants shared with C --
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Z][A-Z0-9_]*)\s+\(?\s*(-?(?:0x[0-9A-Fa-f]+|\d+))[uU]?\s*\)?\s*(?:/\*.*?\*/)?\s*$")
_ENUM = re.compile(r"typedef\s+enum\s*\{(?P<body>[^}]*)\}\s*(?P<name>\w+)\s*;", re.S)


@lru_cache(maxsize=None)
def c_defines(header: str) -> dict[str, int]:
    """``{NAME: value}`` of every integer ``#define NAME <int>`` (or ``(-<int>)``) of a kernel header
    (a path relative to ``firmware/kernels``): the C side is the single source of these numbers."""
    out = {}
    for line in (kernels_dir() / header).read_text(encoding="utf-8").splitlines():
        m = _DEFINE.match(line)
        if m:
            out[m.group(1)] = int(m.group(2), 0)
    return out


@lru_cache(maxsize=None)
def c_enum(header: str, type_name: str) -> dict[str, int]:
    """The enumerators ``{NAME: value}`` of ``typedef enum {...} type_name;`` in a kernel header."""
    text = re.sub(r"/\*.*?\*/", "", (kernels_dir() / header).read_text(encoding="utf-8"), flags=re.S)
    for m in _ENUM.finditer(text):
        if m["name"] == type_name:
            out = {}
            for item in m["body"].split(","):
                if item.strip():
                    k, _, v = item.partition("=")
                    out[k.strip()] = int(v.strip(), 0)
            return out
    raise KeyError(f"{header}: no enum {type_name}")


def c_define(header: str, name: str) -> int:
    try:
        return c_defines(header)[name]
    except KeyError:
        raise KeyError(f"{header}: no #define {name}") from None


def pad_enum(pad: str) -> str:
    """The C enumerator of a binary conv's padding ("zero" | "one" | "minus-one"), from tb_kernels.h's
    tb_pad_kind (TB_PAD_MINUS_ONE <-> "minus-one")."""
    names = {k[len("TB_PAD_"):].lower().replace("_", "-"): k for k in c_enum("tb_kernels.h", "tb_pad_kind")}
    return names[pad]
