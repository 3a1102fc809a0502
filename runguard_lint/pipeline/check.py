"""One file: read -> prefilter -> parse -> checks -> suppression -> diagnostics.

The file is read and decoded once (PEP 263 cookie and BOM honoured), parsed
by the stdlib `ast` first (fast, and the syntax check every file gets; a file
in a grammar newer than the interpreter's is read through its rewrite, see
`runguard_lint.grammar`), and
only handed to LibCST with metadata, the slow stage, when the prefilter finds
something a check could report. A crash inside a check becomes a FileError
naming the file and the rules, and the other checks and files go on.

The LibCST stage is `pipeline.analyse`, loaded when a file first reaches it: a
worker whose files the prefilter settles (most files, and the one file of most
edits) never loads LibCST or the rules. Only workers (and in-process callers such
as tests) import this module, so a run answered from the cache never does.
"""

from __future__ import annotations

import ast
import contextlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

from runguard_lint import registry
from runguard_lint.analysis.project import (
    EMPTY,
    ProjectFacts,
    for_file,
    imported_names,
    module_of,
)
from runguard_lint.analysis.project.collect import summary_of
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic, FileError, FileReport
from runguard_lint.grammar import StdlibTree, stdlib_tree
from runguard_lint.needs import Need
from runguard_lint.pipeline.budget import OverBudget, outside_budget, time_budget
from runguard_lint.pipeline.files import (
    DecodeFailure,
    content_hash,
    decode,
    read_bytes,
    unreadable,
)
from runguard_lint.pipeline.pool import WorkerContext, WorkItem
from runguard_lint.pipeline.project import Surveyed
from runguard_lint.prefilter import AnalysisPlan, analysis_plan, may_report
from runguard_lint.rules.rg100 import unused_noqa
from runguard_lint.rules.rg900 import syntax_diagnostic
from runguard_lint.rules.rg901 import budget_diagnostic, is_budget_report
from runguard_lint.suppression import Suppressions, may_have_file_directive, per_file_ignored


def check_source(
    filename: str,
    data: bytes,
    settings: Settings,
    enabled: frozenset[str] | None = None,
    *,
    project: ProjectFacts | None = None,
) -> FileReport:
    """Check one file's bytes under settings."""
    enabled = settings.enabled_codes() if enabled is None else enabled
    report = _check_source(filename, data, settings, enabled, project).report
    assert report is not None
    return report


def _check_source(
    filename: str,
    data: bytes,
    settings: Settings,
    enabled: frozenset[str],
    project: ProjectFacts | None,
    *,
    survey: Callable[[str, str], StdlibTree | FileReport | None] | None = None,
) -> _Outcome:
    """`check_source` with what the pipeline needs to know besides the report. With
    `survey` (given the file's name and text, it may parse the file for its own ends
    and hand the tree on), stop where LibCST would start."""
    try:
        source = decode(data)
    except DecodeFailure as error:
        message = f"cannot decode: {error}"
        return _Outcome(FileReport(filename, (syntax_diagnostic(filename, message),)), False)
    try:
        with time_budget(settings.per_file_timeout):
            parsed = survey(filename, source.text) if survey is not None else None
            return _check_text(
                filename,
                source.text,
                settings,
                enabled,
                project,
                parsed=parsed,
                survey=survey is not None,
            )
    except OverBudget:
        if survey is not None:
            # Not settled: the check, under a budget of its own, reports the file.
            return _Outcome(None, True)
        budget = budget_diagnostic(filename, settings.per_file_timeout)
        return _Outcome(FileReport(filename, (budget,)), True)
    except Exception as error:
        if from_recursion(error):
            return _Outcome(FileReport(filename, (syntax_diagnostic(filename, TOO_DEEP),)), True)
        detail = traceback.format_exc(limit=-3).strip().splitlines()[-1]
        message = f"internal error: {detail}; please report it"
        return _Outcome(FileReport(filename, (), (FileError(filename, message),)), True)


TOO_DEEP = (
    "cannot analyse: too deeply nested for the syntax tree analysis (Python's recursion "
    "limit); split the nested expression or exclude the file"
)


def from_recursion(error: BaseException) -> bool:
    """A RecursionError, or an error LibCST raised while handling one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def check_text(
    filename: str,
    text: str,
    settings: Settings,
    enabled: frozenset[str],
    *,
    project: ProjectFacts | None = None,
) -> FileReport:
    """Check decoded source text."""
    checked = _check_text(filename, text, settings, enabled, project)
    assert checked.report is not None
    return checked.report


@dataclass(frozen=True)
class _Outcome:
    """A report, and whether the project's facts could have changed it."""

    report: FileReport | None  # None: a survey stopped before LibCST (see `survey_item`)
    # False when the file was settled with no project factory or re-exported constructor
    # in reach: the same report holds under any facts in which none of their last names
    # occurs in the text (batch.py keys such a report by the file's content alone).
    reads_facts: bool


def _parse(filename: str, text: str) -> StdlibTree | FileReport:
    """The stdlib tree (the syntax check; through its rewrite when the file is in a newer
    grammar, see `runguard_lint.grammar`), or the RG900 report of a file no grammar
    accepts."""
    try:
        return stdlib_tree(text, filename)
    except SyntaxError as error:
        message = f"cannot parse: {error.msg}"
        diagnostic = syntax_diagnostic(filename, message, error.lineno or 1, error.offset or 1)
        return FileReport(filename, (diagnostic,))
    except (ValueError, RecursionError, MemoryError) as error:
        if isinstance(error, (RecursionError, MemoryError)):
            reason = "too deeply nested or too large for the Python parser"
        else:
            reason = str(error) or type(error).__name__
        return FileReport(filename, (syntax_diagnostic(filename, f"cannot parse: {reason}"),))


def _check_text(
    filename: str,
    text: str,
    settings: Settings,
    enabled: frozenset[str],
    project: ProjectFacts | None,
    *,
    parsed: StdlibTree | FileReport | None = None,
    survey: bool = False,
) -> _Outcome:
    """`check_text`, given the tree when it was already parsed; a survey stops where
    LibCST would start."""
    # Comments are read with the tokenizer, as costly as parsing: up front only when a
    # file-level directive may be there, else only once there is a finding to silence.
    suppressions = Suppressions.parse(text) if may_have_file_directive(text) else None
    if suppressions is not None and suppressions.whole_file_all:
        return _Outcome(FileReport(filename, ()), False)
    active = enabled - suppressions.file_codes if suppressions is not None else enabled
    if parsed is None:
        if not _needs_parse(text, settings, active, project):
            if survey:
                # Not settled: the file was not parsed, so what it imports is unknown;
                # the check asks again with the project's facts, as cheaply.
                return _Outcome(None, True)
            return _Outcome(_report(filename, text, [], [], active, settings, suppressions), False)
        parsed = _parse(filename, text)
    if isinstance(parsed, FileReport):
        return _Outcome(parsed, False)
    # A rewrite in an older grammar has its own line numbers: no body is stubbed by them.
    tree, tree_text, stub = parsed.tree, parsed.text, settings.prefilter and not parsed.rewritten
    facts = for_file(filename, tree, tree_text, settings.catalog, project)
    # A rewritten file's words are not its text's (which the batch reads to settle a
    # report or key it by content alone): such a report always counts as reading facts.
    reads_facts = bool(facts.factories or facts.resource_aliases) or parsed.rewritten
    if facts.factories or facts.resource_aliases:
        # A call of a project factory, or of a constructor re-exported under another
        # name, acquires: the prefilter and the analysis must see it.
        catalog = settings.catalog.with_project(facts.factories, facts.resource_aliases)
        settings = replace(settings, catalog=catalog)
    plan = analysis_plan(tree, tree_text, settings, registry.needs(active), stub=stub)
    if plan is None and settings.prefilter:
        diagnostics: list[Diagnostic] = []
        errors: list[FileError] = []
    else:
        if survey:
            return _Outcome(None, True)
        reads_facts = True  # the checks read more of the facts than the factories
        with outside_budget():  # loaded once per process, for this file and the next
            from runguard_lint.pipeline.analyse import run_checks

            registry.rules()

        diagnostics, errors = run_checks(
            filename,
            text,
            settings,
            active,
            plan or AnalysisPlan(),
            tree,
            facts,
            same_lines=not parsed.rewritten,
        )
    report = _report(filename, text, diagnostics, errors, active, settings, suppressions)
    return _Outcome(report, reads_facts)


def _needs_parse(
    text: str, settings: Settings, active: frozenset[str], project: ProjectFacts | None
) -> bool:
    """Whether the file must be parsed: a rule may report something in it (from the
    text alone, `prefilter.may_report`, with every project factory's name), or the
    configuration asks for the syntax check of every file (`check-syntax`), or the
    prefilter is off, or no analysis rule is enabled (`--select RG900` is a syntax check
    of every file)."""
    if settings.check_syntax or not settings.prefilter:
        return True
    needs = registry.needs(active)
    if needs <= {Need.SYNTAX}:
        return True
    names = project.names if project is not None else frozenset()
    return may_report(text, settings, needs, names)


def _report(
    filename: str,
    text: str,
    diagnostics: list[Diagnostic],
    errors: list[FileError],
    active: frozenset[str],
    settings: Settings,
    suppressions: Suppressions | None,
) -> FileReport:
    """The file's report: RG100 added, then what is silenced left out, sorted."""
    if not errors:
        # Judged before anything is silenced, and silenced like any other finding.
        diagnostics += unused_noqa(filename, text, diagnostics, active, settings.catalog.rules)
    if diagnostics and suppressions is None:
        suppressions = Suppressions.parse(text)
    kept = tuple(
        sorted(
            (d for d in diagnostics if suppressions is None or not suppressions.suppresses(d)),
            key=lambda d: d.sort_key,
        )
    )
    kept = tuple(d for d in kept if not per_file_ignored(d, settings))
    return FileReport(filename, kept, tuple(errors))


@dataclass(frozen=True)
class CheckedFile:
    """A worker's answer for one file: its report, the content hash of the bytes it was
    made from ("" when there were none, so nothing is cached), and whether the project's
    facts could have changed it (batch.py picks the cache key from that)."""

    report: FileReport
    digest: str
    reads_facts: bool = True


def check_item(context: WorkerContext, item: WorkItem) -> CheckedFile:
    """The pool's work for checking: the file is read here, in the worker."""
    data = item.data if item.data is not None else read_bytes(item.path)
    if isinstance(data, str):
        return CheckedFile(unreadable(item.display, data), "")
    outcome = _check_source(item.display, data, context.settings, context.enabled, context.project)
    assert outcome.report is not None
    if is_budget_report(outcome.report.diagnostics):
        return CheckedFile(outcome.report, "")  # not cached: the next run may have the time
    return CheckedFile(outcome.report, content_hash(data), outcome.reads_facts)


def survey_item(context: WorkerContext, item: WorkItem) -> Surveyed:
    """The pool's work for the fact pass: one read and one parse (`grammar.stdlib_tree`)
    serve the module's summary (the survey's rounds send only the files whose summary
    they want, see `project._survey_rounds`) and its check up to LibCST, with no project
    fact in reach.

    The check runs under the file's time budget, as in `check_item` (a survey cut short
    settles nothing: the check reports the file); the summary is made after it, outside
    the budget, as the fact pass always made it."""
    data = read_bytes(item.path)
    if isinstance(data, str):
        return Surveyed("", None, None)
    # The parsed text and its tree.
    trees: list[tuple[str, ast.Module]] = []
    catalog = context.settings.catalog

    def parse_once(filename: str, text: str) -> StdlibTree | FileReport | None:
        parsed = _parse(filename, text)
        if not isinstance(parsed, FileReport):
            trees.append((text, parsed.tree))
        return parsed

    outcome = _check_source(
        item.display, data, context.settings, context.enabled, EMPTY, survey=parse_once
    )
    summary = None
    imported: frozenset[str] = frozenset()
    if trees:
        text, tree = trees[0]
        imported = imported_names(tree)
        module, package = module_of(str(item.path))
        # Too deep to summarise: the module tells the project nothing.
        with contextlib.suppress(RecursionError):
            summary = summary_of(tree, text, module, package, catalog)
    settled = outcome.report if outcome.report is not None and not outcome.reads_facts else None
    return Surveyed(content_hash(data), summary, settled, imported)
