"""SIGINT and SIGTERM: the run stops at once, never in the middle of something that must finish.

While a run is handled, the first SIGINT or SIGTERM raises `Interrupted` in the
main thread, right where it is, unless the main thread is in a stretch of work
that must not be cut short: driving the worker pool (an exception raised
inside `concurrent.futures` while it holds its locks would leave the pool
unable to shut down, a hang at 0% CPU) and writing a fixed file. There the
signal only takes note, and `check()`, called at the pool's safe points (it
polls while it waits for results), raises. The pool then stops its workers
(see `pool.py`) and the CLI prints one line and exits 128 + the signal number:
130 for SIGINT, 143 for SIGTERM, as shells report it.

A second signal while the first is being handled kills the worker processes
and leaves at once: the user asked twice.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Optional

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run was asked to stop by a signal. A BaseException, like KeyboardInterrupt,
    so that no `except Exception` on the way up takes it for a file's failure."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class _State:
    """The main process's one signal state (signal handlers are per process)."""

    def __init__(self) -> None:
        self.pending: Optional[int] = None  # the first signal received, if any
        self.deferring = 0  # how many stretches that must not be cut short are running


_STATE = _State()


def _handle(signum: int, frame: Optional[FrameType]) -> None:
    if _STATE.pending is not None:
        for process in multiprocessing.active_children():
            process.kill()
        os._exit(128 + _STATE.pending)
    _STATE.pending = signum
    if not _STATE.deferring:
        raise Interrupted(signum)


@contextmanager
def handled() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise Interrupted (at once, or where
    deferred at the next `check()`). Only the main thread can handle signals: in
    any other the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _handle) for number in SIGNALS}
    _STATE.pending = None
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """A stretch that a signal must not cut short: it only takes note of it."""
    _STATE.deferring += 1
    try:
        yield
    finally:
        _STATE.deferring -= 1


def check() -> None:
    """A safe point: raise Interrupted if a signal arrived meanwhile."""
    if _STATE.pending is not None:
        raise Interrupted(_STATE.pending)


def _handle_first(signum: int, frame: Optional[FrameType]) -> None:
    if _STATE.pending is not None:
        return  # the first signal is being acted on: this one adds nothing
    _STATE.pending = signum
    if not _STATE.deferring:
        raise Interrupted(signum)


def handled_in_child() -> None:
    """A forked child doing part of the main process's work (see `apart.py`) stops on
    the first SIGINT or SIGTERM as the main process would, its own workers stopped
    and reaped; a later signal (the main process's SIGTERM after a Ctrl-C that reached
    both) changes nothing, so that the child never leaves its workers unreaped."""
    _STATE.pending = None
    _STATE.deferring = 0
    for number in SIGNALS:
        signal.signal(number, _handle_first)


# prctl(2): the signal a process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1


def end_with_parent(parent: int) -> None:
    """On Linux, a SIGTERM when the parent process (`parent`, its pid as the parent saw
    it) ends, however it ends (a SIGKILL from a timeout, the system out of memory):
    the fact pass's child then stops as for any signal, its workers reaped, and a pool
    worker ends at once, instead of either running on, or waiting forever, for nobody.
    Elsewhere nothing is asked (a worker then ends when its pipes close)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only in the processes that ask: every run's main process loads this module

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # gone before the signal was asked for
        os._exit(128 + signal.SIGTERM)


def ignore_in_worker() -> None:
    """A worker leaves signals to the main process: SIGINT (a Ctrl-C reaches the whole
    process group) is ignored, and SIGTERM, which the main process sends to stop it,
    ends it at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
