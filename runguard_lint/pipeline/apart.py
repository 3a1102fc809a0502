"""A stretch of the main process's work run in a forked child, for memory: the fact pass.

The check's workers are forked from the main process once the project's facts are
joined, and share its memory until either side writes a page. The fact pass leaves
the main process holding what it no longer needs: the summaries the join read, or
the memory they took, freed but kept by the allocator. A worker's new objects then
land in those freed slots, each such write copies a page, and the workers ended up
copying most of the main process's heap: on the agent corpus the check ran with
about 470 MB over three processes, the main process's share 155 MB.

Run in a child forked for it, the fact pass hands back only its answer (pickled
into a temporary file, unpickled into fresh memory in the main process once the
child is gone), and its own memory goes when it exits. Where there is no fork
(Windows), the stretch runs in the main process, as before.

Signals (see `interrupt.py`): while the main process waits, a SIGINT or SIGTERM is
noted, the child is sent SIGTERM (it stops its own workers as the main process
would, see `pool.py`), is reaped, and `Interrupted` is raised. A Ctrl-C reaches the
child too, with the same effect. On Linux the child, and every pool worker, also stops
when its parent ends without a word (SIGKILL), see `interrupt.end_with_parent`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TypeVar, cast

from runguard_lint.pipeline import interrupt
from runguard_lint.pipeline.pool import picklable_error

T = TypeVar("T")

# How long a child that was asked to stop may take before it is killed (seconds): more
# than its pool takes to stop its workers (`pool._stop`), so that it reaps them first.
_GRACE = 15.0
# How often the wait looks at a signal noted meanwhile (seconds).
_POLL = 0.1


@dataclass(frozen=True)
class _Failed:
    """An exception the stretch raised in the child, carried back as its answer."""

    error: BaseException


def run_apart(work: Callable[[], T]) -> T:
    """`work()`, run in a forked child where fork exists; its exceptions are raised here
    (their tracebacks stay in the child). A child that ends without an answer (killed
    by the system, say, or unable to write it) costs nothing but time: `work()` runs
    again here, as it does where there is no fork, no process to be had, or no
    temporary file."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return work()
    # The answer goes through an unnamed temporary file, read once the child is gone:
    # through a pipe, the main process would unpickle it while the child still held
    # all its memory, and the two together were the run's peak.
    outcome: object = _LOST
    with contextlib.ExitStack() as stack:
        try:
            answer = stack.enter_context(tempfile.TemporaryFile())
        except OSError:
            answer = None
        if answer is not None:
            outcome = _answer_of(work, answer)
    if outcome is _LOST:
        return work()
    if isinstance(outcome, _Failed):
        raise outcome.error
    return cast(T, outcome)


# What `_answer_of` gives when the child gave nothing to read.
_LOST = object()


def _answer_of(work: Callable[[], object], answer: IO[bytes]) -> object:
    """Fork the child, wait for it, and read its answer (`_LOST` when there is none).
    A signal noted from the fork on ends the child before Interrupted is raised."""
    context = multiprocessing.get_context("fork")
    # Not a daemon: the child starts a worker pool of its own.
    child = context.Process(target=_child, args=(work, answer.fileno(), os.getpid()), daemon=False)
    try:
        with interrupt.deferred():
            try:
                child.start()
            except OSError:
                return _LOST  # no process to be had (a limit on processes, no memory)
            _wait(child)
    except BaseException:
        _end(child)
        raise
    if child.exitcode != 0:
        return _LOST
    try:
        answer.seek(0)
        return pickle.load(answer)
    except (OSError, EOFError, pickle.UnpicklingError):
        return _LOST


def _wait(child: multiprocessing.process.BaseProcess) -> None:
    """Wait for the child to end, in short slices so that a signal is acted on at once."""
    while child.is_alive():
        interrupt.check()
        child.join(_POLL)
    interrupt.check()


def _end(child: multiprocessing.process.BaseProcess) -> None:
    """Stop the child (it stops its workers first), then reap it; kill it if it lingers
    (its workers then end with it, see `interrupt.end_with_parent`)."""
    if child.pid is None:
        return  # never started
    if child.is_alive():
        child.terminate()
        child.join(_GRACE)
        if child.is_alive():
            child.kill()
    child.join()


def _child(work: Callable[[], T], answer: int, parent: int) -> None:
    """In the child: run the stretch and write its answer, or its exception, to the file,
    and leave (`os._exit`: nothing of the main process's exit is the child's to run).
    An interrupted child leaves at once, quietly (the main process reports the signal),
    once its workers are stopped and reaped (see `interrupt.handled_in_child`); one that
    cannot write its answer (no room, or it does not pickle) leaves quietly too, and the
    main process does the work itself."""
    interrupt.handled_in_child()
    interrupt.end_with_parent(parent)
    status = 0
    try:
        try:
            outcome: object = work()
        except Exception as error:
            outcome = _Failed(picklable_error(error))
        with open(answer, "wb", closefd=False) as stream:
            pickle.dump(outcome, stream, pickle.HIGHEST_PROTOCOL)
    except interrupt.Interrupted as stop:
        status = stop.exit_status
    except Exception:
        status = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)
