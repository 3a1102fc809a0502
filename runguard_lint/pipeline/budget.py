"""The per-file time budget: a file whose analysis runs past it is abandoned, not waited for.

Per-file work is linear in the file's size and findings, but a generated module
of tens of thousands of functions still takes minutes, and one such file must
not hold up the run. The budget is CPU time of the worker (`ITIMER_PROF`), so a
busy machine does not make a file time out that would not on an idle one; when
it runs out, SIGPROF raises `OverBudget` wherever the analysis is (a
BaseException, so that no `except Exception` on the way takes it for a rule's
crash), and the file gets one RG901 instead of its findings.

Timers need the main thread of a POSIX process, where workers run files; where
there is none (Windows, a thread), files run without a budget.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Optional


class OverBudget(BaseException):
    """The file's analysis ran past its time budget."""


def _expired(signum: int, frame: Optional[FrameType]) -> None:
    raise OverBudget


class _Running:
    """Whether a budget is running in this process: an inner one (fixing checks the file
    again) must not restart or cancel the outer timer."""

    active = False


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Within the block, raise OverBudget once `seconds` of CPU time are spent."""
    if (
        seconds <= 0
        or _Running.active
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.signal(signal.SIGPROF, _expired)
    _Running.active = True
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        _Running.active = False


@contextmanager
def outside_budget() -> Iterator[None]:
    """Within the block, the running budget (if any) stands still: for what the process
    does once for every file to come (loading the LibCST stage when a file first
    reaches it), which is no file's cost."""
    if not _Running.active:
        yield
        return
    remaining, _interval = signal.getitimer(signal.ITIMER_PROF)
    signal.setitimer(signal.ITIMER_PROF, 0)
    try:
        yield
    finally:
        # A budget spent to the last tick still runs out, at once.
        signal.setitimer(signal.ITIMER_PROF, max(remaining, 1e-6))
