"""The worker pool that checks and fixes files, so that no single file can take the run down.

LibCST's native parser can die with a segmentation fault on pathological
input, and a deep tree can exhaust the C stack. Every file is therefore
handled in a worker process, even a single one; when a worker dies, the
chunks it held are run again apart from the rest, each in a process of its
own, and a chunk that kills that one too is split, down to one file per
process: only the file that kills its own process is reported as RG900. Any
other exception from a file becomes an internal error of that file. Results
come back in the order the files were given, except those retried after a
crash, which come last.

What a worker needs besides the file is a frozen `WorkerContext`, the same for
every file of a call: each call (or each `Workers` block, whose rounds differ only
in the survey's names, sent with each chunk) starts a pool of its own and hands the
context to each worker once, when it starts (inherited under fork, pickled once under
spawn). Sending it with every chunk cost more than the files: the project's
facts are megabytes, pickled in the main process and unpickled in a worker for
each of some thirty chunks (5 CPU s and a copy in flight per chunk on the agent
corpus).

SIGINT and SIGTERM (see `interrupt.py`) are noted while the pool runs and
acted on at its safe points: it waits for results in short slices and, once a
signal came, cancels what has not started, terminates the workers (which ignore
SIGINT themselves), reaps them and raises `Interrupted`. Whatever ends the pool
early, an exception or a consumer that stops reading, ends its workers too.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.config import Settings
from runguard_lint.diagnostics import FileError, FileReport
from runguard_lint.pipeline import interrupt
from runguard_lint.pipeline.files import unreadable

Payload = TypeVar("Payload")
Result = TypeVar("Result")

PARSER_CRASHED = (
    "cannot parse: the parser crashed on this file (it may be too deeply nested); "
    "simplify the file or exclude it"
)


@dataclass(frozen=True)
class WorkerContext:
    """Everything a worker needs besides the file, the same for every file of a run."""

    settings: Settings
    enabled: frozenset[str]  # the rule codes that run (resolved once, in the main process)
    unsafe_fixes: bool = False  # fixing only: apply unsafe fixes too
    # The project-wide facts (None: none computed, each module's own are used).
    project: ProjectFacts | None = None

    @property
    def facts_digest(self) -> str:
        """What the facts add to a file's cache key."""
        return self.project.digest if self.project is not None else ""


@dataclass(frozen=True)
class WorkItem:
    """One file for a worker: read there from `path` (the bytes need not cross a pipe),
    or handed over as `data` (standard input, and files being fixed)."""

    display: str
    path: Path
    data: bytes | None
    size: int  # the weight by which files are scheduled and chunked


# What a worker does with one file; module-level, since it is pickled by name.
Work = Callable[[WorkerContext, WorkItem], Result]


def prepare_worker() -> None:
    """What every worker sets up before its first file.

    Deeply nested (but valid) code needs more than the default 1000 frames (a
    worker that still overflows dies alone, see above). LibCST allocates a
    great many small objects that live as long as their file: the cyclic
    collector would scan them again and again, so it runs far less often, and
    what the worker inherited is frozen out of its scans. Signals are the main
    process's business (see `interrupt.py`).
    """
    interrupt.ignore_in_worker()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


# The context of the pool this process works for (set by `_start_worker`).
_context: WorkerContext | None = None


def _start_worker(context: WorkerContext, parent: int) -> None:
    """A worker's initializer: `prepare_worker`, then keep the pool's context, which
    lives as long as the worker (frozen out of the collector's scans with the rest).
    The worker ends with the process that started it (`parent`), however that ends."""
    global _context
    _context = context
    interrupt.end_with_parent(parent)
    prepare_worker()


def run_in_workers(
    work: Work[Result],
    context: WorkerContext,
    items: Sequence[WorkItem],
    *,
    workers: int,
    lost: Callable[[FileReport], Result],
) -> Iterator[tuple[WorkItem, Result]]:
    """Yield (item, work(context, item)) for each item, surviving crashed workers.

    A file that crashes its worker or raises is answered by `lost`, given the
    report that says so. A signal noted meanwhile (also while the caller handles
    a result, say writing a fixed file) stops the workers and raises Interrupted.
    """
    if not items:
        return
    with Workers(context, workers) as pool:
        yield from pool.run(work, items, lost)


class Workers:
    """One pool of workers for several calls of `run` (the rounds of the fact pass),
    forked once, by the first call with work, before any answer has come back: workers
    forked later, from a process that has since gathered the earlier rounds' answers,
    copied much of it (each new object a worker makes lands in memory its parent freed,
    and each write copies a page).

    The context travels only once, to each worker as it starts. Signals are noted
    while a call runs (and while its caller handles what it yields) and acted on at
    its safe points; leaving the block early, by an exception or a signal, stops and
    reaps the workers."""

    def __init__(self, context: WorkerContext, workers: int) -> None:
        self._context = context
        self._workers = max(1, workers)  # how work is chunked
        self._size = self._workers  # how many processes the pool has
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kind is not None:
            _stop(pool)
        else:
            pool.shutdown(wait=True)

    def run(
        self,
        work: Work[Result],
        items: Sequence[WorkItem],
        lost: Callable[[FileReport], Result],
    ) -> Iterator[tuple[WorkItem, Result]]:
        """Yield (item, work(context, item)) for each item, as `run_in_workers` does."""
        if not items:
            return
        with interrupt.deferred():
            chunks = chunked(items, lambda item: item.size, self._workers)
            retry: list[list[WorkItem]] = []
            interrupt.check()
            pool = self._live_pool(len(chunks))
            futures: list[tuple[Future[list[object]] | None, list[WorkItem]]] = []
            for chunk in chunks:
                try:
                    futures.append((pool.submit(_run_chunk, work, chunk), chunk))
                except BrokenProcessPool:  # a worker died already: the rest is run apart
                    futures.append((None, chunk))
            for future, chunk in futures:
                if future is None:
                    retry.append(chunk)
                    continue
                try:
                    outcomes = _result(future)
                except Exception:  # a dead worker, or outcomes that could not come back
                    retry.append(chunk)
                    continue
                yield from _answers(chunk, outcomes, lost)
            yield from self._apart(retry, work, lost)
        interrupt.check()

    def _apart(
        self,
        chunks: list[list[WorkItem]],
        work: Work[Result],
        lost: Callable[[FileReport], Result],
    ) -> Iterator[tuple[WorkItem, Result]]:
        """The chunks whose worker died: each run again in a process of its own, then
        file by file, so that only a file that kills its own process is lost."""
        for chunk in chunks:
            outcome = _alone(chunk, work, self._context) if len(chunk) > 1 else None
            if isinstance(outcome, list):
                yield from _answers(chunk, outcome, lost)
                continue
            for item in chunk:
                single = _alone([item], work, self._context)
                if isinstance(single, list):
                    yield from _answers([item], single, lost)
                elif isinstance(single, BrokenProcessPool):
                    yield item, lost(unreadable(item.display, PARSER_CRASHED))
                else:
                    yield item, lost(_failure_report(item, single))

    def _live_pool(self, chunks: int) -> ProcessPoolExecutor:
        """The pool: started on first use, with every worker forked at once, no more of
        them than that first call has chunks; a new one in its place when a worker died
        (a pool that lost one takes no more work, and its chunks are run apart)."""
        pool = self._pool
        if pool is not None and not getattr(pool, "_broken", False):
            return pool
        if pool is not None:
            pool.shutdown(wait=True)
        else:
            self._size = min(self._workers, max(1, chunks))
        pool = self._pool = _pool(self._size, self._context)
        # Submitting is what forks the workers (all at once under fork since Python
        # 3.11, one per waiting task before): one no-op each forks them all now. A
        # worker that dies starting leaves the pool broken, for the chunks to find.
        started: list[Future[None]] = []
        for _ in range(self._size):
            with contextlib.suppress(BrokenProcessPool):
                started.append(pool.submit(_started))
        for future in started:
            with contextlib.suppress(Exception):
                _result(future)
        return pool


def _started() -> None:
    """A no-op task: the first submission is what forks a pool's workers."""


def chunked(
    payloads: Sequence[Payload], weight: Callable[[Payload], int], workers: int
) -> list[list[Payload]]:
    """Consecutive payloads grouped so that each chunk weighs about 1/16 of a worker's
    share: one task per file cost more in pickling and hand-offs than small files take
    to check, while chunks small enough keep both cores busy to the end."""
    total = sum(weight(payload) for payload in payloads)
    target = max(_MIN_CHUNK_WEIGHT, total // (max(workers, 1) * 16))
    chunks: list[list[Payload]] = []
    current: list[Payload] = []
    current_weight = 0
    for payload in payloads:
        current.append(payload)
        current_weight += weight(payload)
        if current_weight >= target or len(current) >= _MAX_CHUNK_LENGTH:
            chunks.append(current)
            current, current_weight = [], 0
    if current:
        chunks.append(current)
    return chunks


_MIN_CHUNK_WEIGHT = 64 * 1024
_MAX_CHUNK_LENGTH = 200


@dataclass(frozen=True)
class _Failed:
    """An exception one file raised in a worker, carried back as a value."""

    error: BaseException


def _run_chunk(work: Work[Result], chunk: Sequence[WorkItem]) -> list[object]:
    """Runs in a worker: each file's result, or the exception it raised."""
    context = _context
    assert context is not None, "a worker gets its context when it starts"
    outcomes: list[object] = []
    for item in chunk:
        try:
            outcomes.append(work(context, item))
        except Exception as error:
            outcomes.append(_Failed(picklable_error(error)))
    return outcomes


def picklable_error(error: Exception) -> BaseException:
    """The exception itself if it survives a trip through pickle (the way back from a
    worker), else a RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _failure_report(item: WorkItem, error: BaseException) -> FileReport:
    message = f"internal error: {type(error).__name__}: {error}; please report it"
    return FileReport(item.display, (), (FileError(item.display, message),))


def _answers(
    chunk: Sequence[WorkItem],
    outcomes: Sequence[object],
    lost: Callable[[FileReport], Result],
) -> Iterator[tuple[WorkItem, Result]]:
    assert len(chunk) == len(outcomes), "a chunk yields one outcome per item"
    for item, outcome in zip(chunk, outcomes):
        if isinstance(outcome, _Failed):
            yield item, lost(_failure_report(item, outcome.error))
        else:
            yield item, cast(Result, outcome)


def _alone(
    chunk: Sequence[WorkItem],
    work: Work[Result],
    context: WorkerContext,
) -> list[object] | Exception:
    """The chunk's outcomes from a process of its own, or why they did not come back
    (BrokenProcessPool: the process died)."""
    interrupt.check()
    alone = _pool(1, context)
    try:
        outcome: list[object] | Exception = _result(alone.submit(_run_chunk, work, chunk))
    except Exception as error:
        outcome = error
    except BaseException:
        _stop(alone)
        raise
    alone.shutdown(wait=True)
    return outcome


_Answer = TypeVar("_Answer")


def _result(future: Future[_Answer]) -> _Answer:
    """The future's result, waited for in short slices so that a signal is acted on
    within a tenth of a second (the wait itself is never cut short)."""
    while True:
        interrupt.check()
        try:
            return future.result(timeout=0.1)
        except FutureTimeout:
            continue


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now: nothing new starts, the running workers are terminated and
    reaped (none is left behind), and the executor's own thread sees them gone."""
    workers = multiprocessing.active_children()
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(5)
        if worker.is_alive():
            worker.kill()
            worker.join()
    # Let the executor's own thread finish closing its wake-up pipe now: on CPython
    # before 3.12 the exit handler of concurrent.futures may otherwise write to that
    # pipe while the thread closes it, and print "Exception ignored ... Bad file
    # descriptor" after our one-line message.
    manager = getattr(pool, "_executor_manager_thread", None)
    if isinstance(manager, threading.Thread):
        manager.join(5)


def _pool(workers: int, context: WorkerContext) -> ProcessPoolExecutor:
    # fork where it exists (fast start, the loaded modules inherited), else spawn.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(context, os.getpid()),
    )
