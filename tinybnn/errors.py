"""User-facing errors.

Every mistake a user can make (a model tinybnn cannot convert, a missing file, a bad flag) raises
:class:`TinyBnnError`. The command line prints its message as ONE line (``tinybnn: error: ...``) and
exits with code 2; a traceback is only ever shown for a bug in tinybnn itself.
"""

import re


class TinyBnnError(Exception):
    """A user error. ``str(err)`` is a complete, one-line explanation."""

    exit_code = 2

    def __init__(self, message: str):
        from .plumbing import one_line  # here: plumbing imports this module

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
