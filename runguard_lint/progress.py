"""A progress bar on standard error for long runs at a terminal.

A run over a large tree can take minutes, and a terminal that shows nothing for
that long looks hung. The bar appears only when standard error is a terminal,
`--quiet` is not given, and the run is still going after about a second (so
quick runs and editors, pre-commit and CI logs, which read a pipe, never see
it); it is drawn by rich and erased when the run ends.

No thread draws it: it is redrawn as files are done, in the main process, so
the worker pool never forks beside a drawing thread.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

DELAY_SECONDS = 1.0
REDRAW_SECONDS = 0.1  # a terminal need not be redrawn for every file


class Progress(Protocol):
    """What the pipeline tells about a run's progress."""

    def advance(self, files: int = 1) -> None:
        """`files` more files are done."""


class _Silent:
    def advance(self, files: int = 1) -> None:
        pass


class _Bar:
    """The rich bar, shown from the first file done after DELAY_SECONDS."""

    def __init__(self, total: int, verb: str) -> None:
        self._total = total
        self._verb = verb
        self._done = 0
        self._started = time.monotonic()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0

    def advance(self, files: int = 1) -> None:
        self._done += files
        if self._bar is None:
            if time.monotonic() - self._started < DELAY_SECONDS or self._done >= self._total:
                return
            self._show()
        assert self._bar is not None and self._task is not None
        now = time.monotonic()
        redraw = now - self._drawn >= REDRAW_SECONDS or self._done >= self._total
        self._bar.update(self._task, completed=self._done, refresh=redraw)
        if redraw:
            self._drawn = now

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn(f"{self._verb}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self._verb, total=self._total, completed=self._done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class ProgressBar:
    """`with ProgressBar(total, verb, enabled) as progress:`; the bar (when shown) is
    erased on exit, before the report is printed."""

    def __init__(self, total: int, verb: str, *, enabled: bool) -> None:
        self._bar = _Bar(total, verb) if enabled and total > 0 else None

    def __enter__(self) -> Progress:
        return self._bar if self._bar is not None else _Silent()

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def wanted(quiet: bool) -> bool:
    """Whether a run may show a bar: standard error is a terminal and not --quiet."""
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
