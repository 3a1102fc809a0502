"""Run work on files in worker processes, so that no single file can take the run down.

LibCST's native parser can die with a segmentation fault on pathological
input, and a deep tree can exhaust the C stack. Every file is therefore
handled in a worker process; when a worker dies, the files it held are
retried one per process, and the one that kills its own process is answered
by `on_crash`. Any other exception from a file is answered by `on_error`.
Results come back in the order the payloads were given.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

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


def isolated_map(
    work: Callable[[Payload], Result],
    payloads: Sequence[Payload],
    *,
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    on_crash: Callable[[Payload], Result],
    on_error: Callable[[Payload, BaseException], Result],
) -> Iterator[tuple[Payload, Result]]:
    """Yield (payload, work(payload)) for each payload, surviving crashed workers."""
    if not payloads:
        return
    crashed: list[Payload] = []
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(payloads))),
        mp_context=mp_context(),
        initializer=initializer,
        initargs=initargs,
    ) as pool:
        futures: list[tuple[Future[Result], Payload]] = [
            (pool.submit(work, payload), payload) for payload in payloads
        ]
        for future, payload in futures:
            try:
                yield payload, future.result()
            except BrokenProcessPool:
                crashed.append(payload)
            except Exception as error:  # e.g. a result that cannot be pickled
                yield payload, on_error(payload, error)
    for payload in crashed:
        with ProcessPoolExecutor(
            max_workers=1, mp_context=mp_context(), initializer=initializer, initargs=initargs
        ) as alone:
            try:
                result = alone.submit(work, payload).result()
            except BrokenProcessPool:
                result = on_crash(payload)
            except Exception as error:
                result = on_error(payload, error)
        yield payload, result
