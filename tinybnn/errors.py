"""User-facing errors.

Every mistake a user can make (a model tinybnn cannot convert, a missing file, a bad flag) raises
:class:`TinyBnnError`. The command line prints its message as ONE line (``tinybnn: error: ...``) and
exits with code 2; a traceback is only ever shown for a bug in tinybnn itself.
"""

import re
import unicodedata
from typing import Optional

# Unicode categories no message or path shows raw: control, format, surrogate (an undecodable file-name byte),
# line and paragraph separators.
CONTROL_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def control_char(text: str) -> Optional[str]:
    """The first control, format or line/paragraph-separator character of ``text`` (or a surrogate of
    an undecodable byte), else None."""
    for c in text:
        if unicodedata.category(c) in CONTROL_CATEGORIES:
            return c
    return None


def one_line(text: str) -> str:
    """``text`` with every control, format and line/paragraph-separator character written as a visible
    escape (``\\n``, ``\\x1b``, ``\\u2028``; an undecodable file-name byte as ``\\xNN``): what a message
    quotes from a user's file or path (a node name, a file name) can neither break it over several lines
    nor send escape sequences to the terminal."""
    if control_char(text) is None:
        return text
    out = []
    for c in text:
        if unicodedata.category(c) not in CONTROL_CATEGORIES:
            out.append(c)
        elif 0xDC80 <= ord(c) <= 0xDCFF:  # os.fsdecode's surrogateescape of an undecodable byte
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


class TinyBnnError(Exception):
    """A user error. ``str(err)`` is a complete, one-line explanation."""

    exit_code = 2

    def __init__(self, message: str):
        # a control character quoted from the user's input (a newline in a file or node name) as a visible
        # escape, not collapsed into a space like the runs of spaces of a message's own layout
        super().__init__(re.sub(" {2,}", " ", one_line(str(message))).strip(" "))


class UnsupportedModel(TinyBnnError):
    """The model uses something tinybnn cannot convert exactly."""


def node_error(node, what: str, supported: str | None = None) -> UnsupportedModel:
    """An error about one graph node: names the node and its op type."""
    op = node.attrs.get("onnx_op", node.op) if hasattr(node, "attrs") else node.op
    msg = f"node '{node.name}' ({op}): {what}"
    if supported:
        msg += f"; supported: {supported}"
    return UnsupportedModel(msg)


class NeedsCalibration(TinyBnnError):
    """The model's real-valued input has no quantizer of its own and no int8 input parameters were given."""

    def __init__(self, streams: bool = False):
        if streams:  # a residual network: its real-valued int8 tensors are quantized from data
            super().__init__("this model's real-valued tensors (its residual stream) are quantized to int8 from "
                             "data: give calibration data (--calibration FILE.npz)")
        else:
            super().__init__("this model's input has no quantizer: give calibration data (--calibration FILE.npz) "
                             "or --input-scale and --input-zero-point")
