"""Text from a .tflite file in an error message: a damaged file's names and lists can be any bytes and any
length, and the message stays one short, printable line."""

from __future__ import annotations


def shown(text, limit: int = 80) -> str:
    """A name from the file as an error message shows it: control and other unprintable characters escaped,
    at most ``limit`` characters (a damaged file's name can be any bytes)."""
    t = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return t if len(t) <= limit else t[:limit - 3] + "..."


def short(values, limit: int = 8) -> str:
    """A list for an error message: the first ``limit`` items, then how many more."""
    v = list(values)
    return str(v) if len(v) <= limit else str(v[:limit])[:-1] + f", ... ({len(v)} in all)]"
