"""Many files: the cache answers what it can, the pool checks or fixes the rest.

Files whose content hash (with tool version and settings) is cached are
answered without parsing; the rest go to the worker pool, biggest first,
since the largest files dominate the wall time. Reports come back one per
file, sorted by file name, whatever order the workers finish in. Standard
input goes through the same pool, so a crash on it is isolated as well.

This is where the worker context is built, once per run. The modules that
load LibCST (`check`, `fix`) are imported only once some file needs a worker:
a run answered from the cache never loads them. Importing them here, before
the pool starts, also lets forked workers inherit them instead of each
loading its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from runguard_lint.config import Settings, default_jobs
from runguard_lint.diagnostics import FileError, FileReport
from runguard_lint.pipeline.cache import ResultCache
from runguard_lint.pipeline.files import (
    InputFile,
    WriteScope,
    content_hash,
    file_size,
    read_bytes,
    text_if_unchanged,
    unreadable,
)
from runguard_lint.pipeline.pool import Work, WorkerContext, Workers, WorkItem, run_in_workers
from runguard_lint.pipeline.project import Surveyed, SurveyRound, facts_item, survey_project
from runguard_lint.progress import Progress

if TYPE_CHECKING:
    from runguard_lint.pipeline.fix import FileFix


@dataclass(frozen=True)
class FixRun:
    """Every file of a `--fix`/`--diff` run."""

    reports: list[FileReport]  # what is left to report, per file (with write problems as errors)
    fixed: int  # findings fixed (for --diff: that would be fixed)
    diff: str  # the unified diff of every changed file (for --diff)
    # The display-only fixes left, each as a commented diff (--diff prints them apart).
    shown: str = ""
    # Files with fixes that were not written, since they resolve outside the paths given.
    outside: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Triage:
    """The reports known without a worker, and the files that need one (biggest first)."""

    answered: dict[str, FileReport]
    work: list[WorkItem]


def _triage(
    files: Sequence[InputFile],
    cache: ResultCache | None,
    *,
    keep_bytes: bool,
    reusable: Callable[[FileReport], bool],
    salt: str = "",
) -> _Triage:
    """The one cache lookup of check and fix.

    A file is read here only when its bytes are needed: to hash it for the
    cache, or to keep them (`keep_bytes`, for fixing). Otherwise only its size
    is asked, and the worker reads it. A cached report is used when `reusable`
    accepts it.
    """
    answered: dict[str, FileReport] = {}
    work: list[WorkItem] = []
    for file in files:
        if cache is None and not keep_bytes:
            work.append(WorkItem(file.display, file.path, None, file_size(file.path)))
            continue
        data = read_bytes(file.path)
        if isinstance(data, str):
            answered[file.display] = unreadable(file.display, data)
            continue
        digest = content_hash(data) + salt
        cached = cache.get(file.display, digest) if cache is not None else None
        if cached is not None and reusable(cached):
            answered[file.display] = cached
            continue
        work.append(WorkItem(file.display, file.path, data if keep_bytes else None, len(data)))
    work.sort(key=lambda item: item.size, reverse=True)
    return _Triage(answered, work)


def _workers(settings: Settings) -> int:
    return settings.jobs or default_jobs()


def check_files(
    files: Sequence[InputFile],
    settings: Settings,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
) -> list[FileReport]:
    """Check every file and return one report per file, sorted by file name.

    The fact pass comes first (`project.survey_project`, parsing in the workers, which
    settle there every file that no project fact can change); then the cache answers
    what it can, and the pool checks the rest with the facts. A report that read no
    project fact is cached under the file's content alone, so that a change of the
    facts re-checks only the files that may read them.
    """
    enabled = settings.enabled_codes()
    workers = _workers(settings)

    def survey() -> contextlib.AbstractContextManager[SurveyRound]:
        from runguard_lint.pipeline.check import survey_item

        return _in_workers(survey_item, WorkerContext(settings, enabled), workers)

    directory = cache.directory if cache is not None else None
    surveyed = survey_project(files, settings, directory, survey)
    facts_digest = surveyed.facts_digest
    reports: dict[str, FileReport] = {}
    work: list[WorkItem] = []
    independent: set[str] = set()
    for file in files:
        digest = surveyed.digests.get(file.display)
        if digest is None:  # unreadable when the survey read it
            data = read_bytes(file.path)
            if isinstance(data, str):
                reports[file.display] = unreadable(file.display, data)
                continue
            digest = content_hash(data)
        text = _LazyText(file.path, digest)
        if surveyed.independent(file.display, digest, text):
            independent.add(file.display)
        # A report that read no fact is keyed by the content alone (only valid while the
        # text stays out of reach of every project factory); any other, with the facts.
        salts = ("", facts_digest) if file.display in independent else (facts_digest,)
        cached = None
        for salt in salts if cache is not None else ():
            assert cache is not None
            cached = cache.get(file.display, digest + salt)
            if cached is not None:
                break
        if cached is not None:
            reports[file.display] = cached
            continue
        settled = surveyed.settled_report(file.display, digest, text)
        if settled is not None:
            reports[file.display] = settled
            if cache is not None and not settled.errors:
                cache.put(file.display, digest + salts[0], settled)
        else:
            work.append(WorkItem(file.display, file.path, None, file_size(file.path)))
    work.sort(key=lambda item: item.size, reverse=True)
    if progress is not None:
        progress.advance(len(reports))
    if work:
        from runguard_lint.pipeline.check import CheckedFile, check_item

        if len(work) > workers:
            # Files enough for every worker to analyse some: LibCST and the rules are
            # loaded once, here, for the workers to share (one file, or a few, may
            # never reach them: each worker then loads them itself if it must).
            import runguard_lint.pipeline.analyse  # noqa: F401
            from runguard_lint import registry

            registry.rules()

        context = WorkerContext(settings, enabled, project=surveyed.facts)
        for item, checked in run_in_workers(
            check_item,
            context,
            work,
            workers=workers,
            lost=lambda report: CheckedFile(report, ""),
        ):
            reports[item.display] = checked.report
            if progress is not None:
                progress.advance()
            if cache is not None and checked.digest and not checked.report.errors:
                alone = not checked.reads_facts and item.display in independent
                salt = "" if alone else facts_digest
                cache.put(item.display, checked.digest + salt, checked.report)
    surveyed.save()
    return [reports[name] for name in sorted(reports)]


@contextlib.contextmanager
def _in_workers(
    work: Work[Surveyed], context: WorkerContext, workers: int
) -> Iterator[SurveyRound]:
    """The survey's rounds in one set of workers (`pool.Workers`), largest files first."""
    with Workers(context, workers) as pool:

        def survey_round(items: Sequence[WorkItem]) -> Iterator[tuple[WorkItem, Surveyed]]:
            return pool.run(
                work,
                sorted(items, key=lambda item: item.size, reverse=True),
                lambda _report: Surveyed("", None, None),
            )

        yield survey_round


class _LazyText:
    """A file's text, read and decoded on the first call (most files of a warm run
    never need it); None when it cannot be read or decoded, or is no longer the
    content the survey hashed (`digest`)."""

    def __init__(self, path: Path, digest: str) -> None:
        self._path = path
        self._digest = digest
        self._read = False
        self._text: str | None = None

    def __call__(self) -> str | None:
        if not self._read:
            self._read = True
            _same, self._text = text_if_unchanged(self._path, self._digest)
        return self._text


def check_data(display: str, data: bytes, settings: Settings) -> FileReport:
    """Check bytes that are not a file on disk (standard input), isolated like files."""
    from runguard_lint.pipeline.check import CheckedFile, check_item

    context = WorkerContext(settings, settings.enabled_codes())
    item = WorkItem(display, Path(display), data, len(data))
    for _item, checked in run_in_workers(
        check_item, context, [item], workers=1, lost=lambda report: CheckedFile(report, "")
    ):
        return checked.report
    raise AssertionError("a pool run yields one report per file")


def fix_files(
    files: Sequence[InputFile],
    settings: Settings,
    *,
    unsafe: bool,
    write: bool,
    cache: ResultCache | None = None,
    scope: WriteScope | None = None,
    progress: Progress | None = None,
) -> FixRun:
    """Fix every file (in worker processes); write back unless `write` is False (--diff).

    A file that resolves outside `scope` keeps its bytes and its findings, and is
    listed in `FixRun.outside` for the CLI to say so.
    """
    from runguard_lint.pipeline.fix import (
        FileFix,
        applicable,
        display_only_diffs,
        fix_item,
        unified_diff,
        write_back,
    )

    directory = cache.directory if cache is not None else None
    facts_only = WorkerContext(settings, frozenset())
    survey = survey_project(
        files, settings, directory, lambda: _in_workers(facts_item, facts_only, _workers(settings))
    )
    project = survey.facts
    triage = _triage(
        files,
        cache,
        keep_bytes=True,
        reusable=lambda report: not any(applicable(d, unsafe) for d in report.diagnostics),
        salt=project.digest,
    )
    reports = triage.answered
    if progress is not None:
        progress.advance(len(reports))
    fixed = 0
    diffs: dict[str, str] = {}
    shown: dict[str, str] = {}
    if not write:
        paths = {file.display: file.path for file in files}
        for name, answered in reports.items():
            data = read_bytes(paths[name]) if name in paths else ""
            if isinstance(data, bytes):
                shown[name] = display_only_diffs(name, data, answered, unsafe)
    outside: list[str] = []
    context = WorkerContext(
        settings, settings.enabled_codes(), unsafe_fixes=unsafe, project=project
    )
    for item, outcome in run_in_workers(
        fix_item, context, triage.work, workers=_workers(settings), lost=FileFix.unfixed
    ):
        assert item.data is not None
        report = outcome.report
        problems = [outcome.problem] if outcome.problem else []
        if outcome.new_bytes is not None:
            if write and scope is not None and not scope.allows(item.path):
                report = outcome.original_report
                outside.append(item.display)
            elif write:
                failure = write_back(item.path, item.data, outcome.new_bytes)
                if failure is None:
                    fixed += outcome.fixed
                    if cache is not None and not report.errors:
                        digest = content_hash(outcome.new_bytes) + project.digest
                        cache.put(item.display, digest, report)
                else:
                    report = outcome.original_report
                    problems.append(failure)
            else:
                fixed += outcome.fixed
                diffs[item.display] = unified_diff(item.display, item.data, outcome.new_bytes)
        if not write:
            shown[item.display] = display_only_diffs(
                item.display, outcome.new_bytes or item.data, report, unsafe
            )
        if problems:
            errors = tuple(FileError(item.display, problem) for problem in problems)
            report = replace(report, errors=(*report.errors, *errors))
        reports[item.display] = report
        if progress is not None:
            progress.advance()
    return FixRun(
        [reports[name] for name in sorted(reports)],
        fixed,
        "".join(diffs[name] for name in sorted(diffs)),
        outside=sorted(outside),
        shown="".join(shown[name] for name in sorted(shown)),
    )


def fix_data(display: str, data: bytes, settings: Settings, *, unsafe: bool) -> FileFix:
    """`--fix -`: the fixed source goes to standard output (the CLI writes `new_bytes`)."""
    from runguard_lint.pipeline.fix import FileFix, fix_item

    context = WorkerContext(settings, settings.enabled_codes(), unsafe_fixes=unsafe)
    item = WorkItem(display, Path(display), data, len(data))
    for _item, outcome in run_in_workers(
        fix_item, context, [item], workers=1, lost=FileFix.unfixed
    ):
        return outcome
    raise AssertionError("a pool run yields one outcome per file")
