"""Many files: cache lookup, parallel checking, crash isolation, stable order.

Files whose content hash (with tool version and settings) is cached are
answered without parsing. The rest are checked in worker processes, biggest
first, since the largest files dominate the wall time. A worker that dies (the
native parser can segfault on pathological input) takes no other file with it:
the files it held are retried one per process, and the one that kills its
process is reported as RG900.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runguard_lint.cache import ResultCache
from runguard_lint.config import Settings, default_jobs
from runguard_lint.diagnostics import FileError, FileReport
from runguard_lint.isolation import isolated_map, mp_context, prepare_worker
from runguard_lint.rules.rg900 import syntax_diagnostic

_WORKER_SETTINGS: Settings | None = None
_WORKER_ENABLED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Task:
    """One file to check: where it is and how reports name it."""

    path: Path
    display: str


def display_name(path: Path) -> str:
    """Paths in reports: relative to the working directory when below it, as named
    (a symlink is shown under its own name, not its target's)."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, os.getcwd())
    except ValueError:
        return path.as_posix()
    if relative.startswith(".."):
        return path.as_posix()
    return Path(relative).as_posix()


def read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or a sentence saying why they cannot be read.

    Only regular files are read: a named pipe or a device called `x.py` would
    block the run or never end.
    """
    try:
        status = os.stat(path)
    except OSError as error:
        if os.path.islink(path):
            return "is a symbolic link to a missing file; fix or remove the link"
        return f"cannot read the file ({error.strerror or error})"
    if stat.S_ISDIR(status.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a pipe, socket or device); exclude it"
    try:
        return path.read_bytes()
    except OSError as error:
        hint = "; check its permissions" if error.errno == errno.EACCES else ""
        return f"cannot read the file ({error.strerror or error}){hint}"


def unreadable(display: str, reason: str) -> FileReport:
    return FileReport(display, (syntax_diagnostic(display, reason),))


def _init_worker(settings: Settings, enabled: frozenset[str]) -> None:
    global _WORKER_SETTINGS, _WORKER_ENABLED
    _WORKER_SETTINGS = settings
    _WORKER_ENABLED = enabled
    prepare_worker()


@dataclass(frozen=True)
class _Item:
    """One file for a worker: read there from `path` (the bytes never cross a pipe),
    or handed over as `data` (standard input)."""

    display: str
    path: str
    data: bytes | None
    size: int


def _work(item: _Item) -> tuple[FileReport, str]:
    """The file's report and the content hash of the bytes it was made from."""
    # Imported here: a warm run answered from the cache never loads LibCST.
    from runguard_lint.engine import check_source

    assert _WORKER_SETTINGS is not None
    data = item.data if item.data is not None else read_bytes(Path(item.path))
    if isinstance(data, str):
        return unreadable(item.display, data), ""
    report = check_source(item.display, data, _WORKER_SETTINGS, _WORKER_ENABLED)
    return report, hashlib.sha256(data).hexdigest()


def check_files(
    tasks: Sequence[Task],
    settings: Settings,
    jobs: int | None = None,
    cache: ResultCache | None = None,
) -> list[FileReport]:
    """Check every task and return one report per file, sorted by file name.

    With a cache, each file is read and hashed here to look it up; without one,
    only its size is asked. Either way the workers read the files themselves.
    """
    enabled = settings.enabled_codes()
    reports: dict[str, FileReport] = {}
    pending: list[_Item] = []
    for task in tasks:
        if cache is None:
            size = _size(task.path)
        else:
            data = read_bytes(task.path)
            if isinstance(data, str):
                reports[task.display] = unreadable(task.display, data)
                continue
            cached = cache.get(task.display, hashlib.sha256(data).hexdigest())
            if cached is not None:
                reports[task.display] = cached
                continue
            size = len(data)
        pending.append(_Item(task.display, str(task.path), None, size))
    pending.sort(key=lambda item: item.size, reverse=True)
    workers = jobs if jobs and jobs > 0 else (settings.jobs or default_jobs())
    for report, digest in _check_pending(pending, settings, enabled, workers):
        reports[report.filename] = report
        if cache is not None and digest and not report.errors:
            cache.put(report.filename, digest, report)
    return [reports[name] for name in sorted(reports)]


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def check_data(display: str, data: bytes, settings: Settings) -> FileReport:
    """Check bytes that are not a file on disk (standard input), isolated like files."""
    pending = [_Item(display, display, data, len(data))]
    for report, _digest in _check_pending(pending, settings, settings.enabled_codes(), 1):
        return report
    raise AssertionError("a pool run yields one report per task")


PARSER_CRASHED = (
    "cannot parse: the parser crashed on this file (it may be too deeply nested); "
    "simplify the file or exclude it"
)


def _check_pending(
    pending: list[_Item],
    settings: Settings,
    enabled: frozenset[str],
    workers: int,
) -> Iterable[tuple[FileReport, str]]:
    """Always in worker processes, even for one file: a native parser crash must not
    take the run down with it."""

    if pending and mp_context().get_start_method() == "fork":
        # Loaded once here and inherited by every forked worker, instead of once in each.
        import runguard_lint.engine  # noqa: F401

    def crashed(item: _Item) -> tuple[FileReport, str]:
        return unreadable(item.display, PARSER_CRASHED), ""

    def failed(item: _Item, error: BaseException) -> tuple[FileReport, str]:
        message = f"internal error: {type(error).__name__}: {error}; please report it"
        return FileReport(item.display, (), (FileError(item.display, message),)), ""

    for _item, outcome in isolated_map(
        _work,
        pending,
        workers=workers,
        initializer=_init_worker,
        initargs=(settings, enabled),
        on_crash=crashed,
        on_error=failed,
        weight=lambda item: item.size,
    ):
        yield outcome
