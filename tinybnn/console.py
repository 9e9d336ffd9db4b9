"""Terminal output: tables and the progress bar, drawn by ``rich``.

Tables go to standard output as plain text when it is not a terminal (a pipe, a file, CI): no colours, no
wrapping at 80 columns, the same columns a terminal shows. The progress bar goes to standard error and
only when that is a terminal.
"""

from __future__ import annotations

import io
import shutil
import sys
from contextlib import contextmanager


def table_text(head, rows, right=(), file=None) -> str:
    """``rows`` (lists of strings) under ``head`` as a table; columns whose index is in ``right`` are
    right-aligned (numbers). Returns the text, for a terminal when ``file`` is one."""
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i, h in enumerate(head):
        # numbers and the first column never wrap; on a narrow terminal the text columns do
        t.add_column(h, justify="right" if i in right else "left", no_wrap=i == 0 or i in right)
    for r in rows:
        t.add_row(*[str(c) for c in r])
    from rich.console import Console

    buf = io.StringIO()
    if file is not None and hasattr(file, "isatty") and file.isatty():
        c = Console(file=buf, force_terminal=True, width=shutil.get_terminal_size().columns, highlight=False)
    else:  # a pipe or a file: plain text, as wide as the table needs
        c = Console(file=buf, width=1000, color_system=None, force_terminal=False, force_jupyter=False,
                    highlight=False)
    c.print(t)
    return "\n".join(ln.rstrip() for ln in buf.getvalue().rstrip("\n").splitlines())


def print_table(head, rows, right=(), file=None) -> None:
    file = file or sys.stdout
    print(table_text(head, rows, right, file=file), file=file)


@contextmanager
def progress(total: int, what: str = "samples", enabled: bool = True, stream=None):
    """A progress bar with rate and time remaining on ``stream`` (standard error); yields ``advance()``.
    Nothing is drawn when ``enabled`` is false or the stream is not a terminal."""
    stream = stream or sys.stderr
    if not enabled or total <= 0 or not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda n=1: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task):
            return Text("" if not task.speed else f"{task.speed:.1f} {what}/s")

    from rich.console import Console

    bar = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                   console=Console(file=stream), transient=False)
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda n=1: bar.advance(task, n)
