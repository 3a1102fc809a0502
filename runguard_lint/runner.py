"""Many files: cache lookup, parallel checking, crash isolation, stable order.

Files whose content hash (with tool version and settings) is cached are
answered without parsing. The rest are checked in worker processes, biggest
first, since the largest files dominate the wall time. A worker that dies (the
native parser can segfault on pathological input) takes no other file with it:
the files it held are retried one per process, and the one that kills its
process is reported as RG900.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from runguard_lint.cache import ResultCache
from runguard_lint.config import Settings, default_jobs
from runguard_lint.diagnostics import Diagnostic, FileReport, Location

_WORKER_SETTINGS: Settings | None = None
_WORKER_ENABLED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Task:
    """One file to check: where it is and how reports name it."""

    path: Path
    display: str


def display_name(path: Path) -> str:
    """Paths in reports: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return path.as_posix()


def read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or a sentence saying why they cannot be read."""
    try:
        if path.is_dir():
            return "is a directory, not a file"
        return path.read_bytes()
    except OSError as error:
        return f"cannot read the file ({error.strerror or error}); check its permissions"


def unreadable(display: str, reason: str) -> FileReport:
    location = Location(1, 1)
    return FileReport(display, (Diagnostic("RG900", reason, display, location, location),))


def _init_worker(settings: Settings, enabled: frozenset[str]) -> None:
    global _WORKER_SETTINGS, _WORKER_ENABLED
    _WORKER_SETTINGS = settings
    _WORKER_ENABLED = enabled
    _raise_recursion_limit()


def _raise_recursion_limit() -> None:
    """Deeply nested (but valid) code needs more than the default 1000 frames; a
    worker that still overflows dies alone and its file is reported (see above)."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 6000))


def _work(display: str, data: bytes) -> FileReport:
    # Imported here: a warm run answered from the cache never loads LibCST.
    from runguard_lint.engine import check_source

    assert _WORKER_SETTINGS is not None
    return check_source(display, data, _WORKER_SETTINGS, _WORKER_ENABLED)


def check_files(
    tasks: Sequence[Task],
    settings: Settings,
    jobs: int | None = None,
    cache: ResultCache | None = None,
) -> list[FileReport]:
    """Check every task and return one report per file, sorted by file name."""
    enabled = settings.enabled_codes()
    reports: dict[str, FileReport] = {}
    pending: list[tuple[Task, bytes, str]] = []
    for task in tasks:
        data = read_bytes(task.path)
        if isinstance(data, str):
            reports[task.display] = unreadable(task.display, data)
            continue
        digest = hashlib.sha256(data).hexdigest()
        cached = cache.get(task.display, digest) if cache is not None else None
        if cached is not None:
            reports[task.display] = cached
        else:
            pending.append((task, data, digest))
    pending.sort(key=lambda item: len(item[1]), reverse=True)
    workers = jobs if jobs and jobs > 0 else (settings.jobs or default_jobs())
    for report, digest in _check_pending(pending, settings, enabled, workers):
        reports[report.filename] = report
        if cache is not None and not report.errors:
            cache.put(report.filename, digest, report)
    return [reports[name] for name in sorted(reports)]


def _check_pending(
    pending: list[tuple[Task, bytes, str]],
    settings: Settings,
    enabled: frozenset[str],
    workers: int,
) -> Iterable[tuple[FileReport, str]]:
    """Always in worker processes, even for one file: a native parser crash must not
    take the run down with it."""
    if not pending:
        return
    yield from _in_pool(pending, settings, enabled, max(1, min(workers, len(pending))))


def _context() -> multiprocessing.context.BaseContext:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _in_pool(
    pending: list[tuple[Task, bytes, str]],
    settings: Settings,
    enabled: frozenset[str],
    workers: int,
) -> Iterable[tuple[FileReport, str]]:
    remaining = list(pending)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_init_worker,
        initargs=(settings, enabled),
    ) as pool:
        futures: list[tuple[Future[FileReport], Task, bytes, str]] = [
            (pool.submit(_work, task.display, data), task, data, digest)
            for task, data, digest in remaining
        ]
        crashed: list[tuple[Task, bytes, str]] = []
        for future, task, data, digest in futures:
            try:
                yield future.result(), digest
            except BrokenProcessPool:
                crashed.append((task, data, digest))
    for task, data, digest in crashed:
        yield _isolated(task, data, settings, enabled), digest


def _isolated(task: Task, data: bytes, settings: Settings, enabled: frozenset[str]) -> FileReport:
    """Retry one file in a process of its own; if that dies too, the file is to blame."""
    with ProcessPoolExecutor(
        max_workers=1, mp_context=_context(), initializer=_init_worker, initargs=(settings, enabled)
    ) as pool:
        try:
            return pool.submit(_work, task.display, data).result()
        except BrokenProcessPool:
            reason = (
                "cannot parse: the parser crashed on this file (it may be too deeply "
                "nested); simplify the file or exclude it"
            )
            return unreadable(task.display, reason)
