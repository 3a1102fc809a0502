"""Run work on files in worker processes, so that no single file can take the run down.

LibCST's native parser can die with a segmentation fault on pathological
input, and a deep tree can exhaust the C stack. Every file is therefore
handled in a worker process; when a worker dies, the files it held are
retried apart from the rest, down to one per process, and the one that kills
its own process is answered by `on_crash`. Any other exception from a file is
answered by `on_error`. Results come back in the order the payloads were
given, except those retried after a crash, which come last.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar, cast

Payload = TypeVar("Payload")
Result = TypeVar("Result")


def prepare_worker() -> None:
    """What every worker sets up before its first file.

    Deeply nested (but valid) code needs more than the default 1000 frames (a
    worker that still overflows dies alone, see above). LibCST allocates a
    great many small objects that live as long as their file: the cyclic
    collector would scan them again and again, so it runs far less often, and
    what the worker inherited is frozen out of its scans.
    """
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def mp_context() -> multiprocessing.context.BaseContext:
    """fork where it exists (fast start, settings inherited), else spawn."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


@dataclass(frozen=True)
class _Failed:
    """An exception one payload raised in a worker, carried back as a value."""

    error: BaseException


def _run_chunk(work: Callable[[Payload], Result], chunk: Sequence[Payload]) -> list[object]:
    """Runs in a worker: each payload's result, or the exception it raised."""
    outcomes: list[object] = []
    for payload in chunk:
        try:
            outcomes.append(work(payload))
        except Exception as error:
            outcomes.append(_Failed(_picklable(error)))
    return outcomes


def _picklable(error: Exception) -> BaseException:
    try:
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


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


def isolated_map(
    work: Callable[[Payload], Result],
    payloads: Sequence[Payload],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    on_crash: Callable[[Payload], Result],
    on_error: Callable[[Payload, BaseException], Result],
    weight: Callable[[Payload], int] | None = None,
) -> Iterator[tuple[Payload, Result]]:
    """Yield (payload, work(payload)) for each payload, surviving crashed workers.

    Payloads travel in chunks by `weight` (see `chunked`), else one by one. When a
    worker dies, every chunk the
    pool still held is run again in a pool of its own; a chunk that kills that one
    too is split, and each of its payloads runs alone, so only the payload that
    kills its own process is answered by `on_crash`.
    """
    if not payloads:
        return
    chunks = chunked(payloads, weight, workers) if weight else [[payload] for payload in payloads]
    retry: list[list[Payload]] = []
    with _pool(max(1, min(workers, len(chunks))), initializer, initargs) as pool:
        futures = [(pool.submit(_run_chunk, work, chunk), chunk) for chunk in chunks]
        for future, chunk in futures:
            try:
                outcomes = future.result()
            except Exception:  # a dead worker, or outcomes that could not come back
                retry.append(chunk)
                continue
            yield from _answers(chunk, outcomes, on_error)
    for chunk in retry:
        outcome = _alone(chunk, work, initializer, initargs) if len(chunk) > 1 else None
        if isinstance(outcome, list):
            yield from _answers(chunk, outcome, on_error)
            continue
        for payload in chunk:
            single = _alone([payload], work, initializer, initargs)
            if isinstance(single, list):
                yield from _answers([payload], single, on_error)
            elif isinstance(single, BrokenProcessPool):
                yield payload, on_crash(payload)
            else:
                yield payload, on_error(payload, single)


def _answers(
    chunk: Sequence[Payload],
    outcomes: Sequence[object],
    on_error: Callable[[Payload, BaseException], Result],
) -> Iterator[tuple[Payload, Result]]:
    for payload, outcome in zip(chunk, outcomes, strict=True):
        if isinstance(outcome, _Failed):
            yield payload, on_error(payload, outcome.error)
        else:
            yield payload, cast(Result, outcome)


def _alone(
    chunk: Sequence[Payload],
    work: Callable[[Payload], Result],
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
) -> list[object] | Exception:
    """The chunk's outcomes from a process of its own, or why they did not come back
    (BrokenProcessPool: the process died)."""
    with _pool(1, initializer, initargs) as alone:
        try:
            return alone.submit(_run_chunk, work, chunk).result()
        except Exception as error:
            return error


def _pool(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=mp_context(), initializer=initializer, initargs=initargs
    )
