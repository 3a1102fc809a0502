"""One file: read -> prefilter -> parse -> checks -> suppression -> diagnostics.

The file is read and decoded once (PEP 263 cookie and BOM honoured), parsed
by the stdlib `ast` first (fast, and the syntax check every file gets; a file
in a grammar newer than the interpreter's is read through its rewrite, see
`runguard_lint.grammar`), and
only handed to LibCST with metadata, the slow stage, when the prefilter finds
something a check could report. A crash inside a check becomes a FileError
naming the file and the rules, and the other checks and files go on.

This module loads LibCST and every check: only workers (and in-process
callers such as tests) import it, so a run answered from the cache never does.
"""

from __future__ import annotations

import ast
import traceback
from dataclasses import dataclass, replace

import libcst as cst

from runguard_lint import registry
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.project import ProjectFacts, for_file
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic, FileError, FileReport, Fix
from runguard_lint.fixes.policy import with_fix_policy
from runguard_lint.grammar import stdlib_tree
from runguard_lint.pipeline.budget import OverBudget, time_budget
from runguard_lint.pipeline.files import (
    DecodeFailure,
    content_hash,
    decode,
    read_bytes,
    unreadable,
)
from runguard_lint.pipeline.pool import WorkerContext, WorkItem
from runguard_lint.prefilter import AnalysisPlan, analysis_plan
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
    try:
        source = decode(data)
    except DecodeFailure as error:
        return FileReport(filename, (syntax_diagnostic(filename, f"cannot decode: {error}"),))
    try:
        with time_budget(settings.per_file_timeout):
            return check_text(filename, source.text, settings, enabled, project=project)
    except OverBudget:
        return FileReport(filename, (budget_diagnostic(filename, settings.per_file_timeout),))
    except Exception as error:
        if _from_recursion(error):
            return FileReport(filename, (syntax_diagnostic(filename, _TOO_DEEP),))
        detail = traceback.format_exc(limit=-3).strip().splitlines()[-1]
        return FileReport(
            filename, (), (FileError(filename, f"internal error: {detail}; please report it"),)
        )


_TOO_DEEP = (
    "cannot analyse: too deeply nested for the syntax tree analysis (Python's recursion "
    "limit); split the nested expression or exclude the file"
)


def _from_recursion(error: BaseException) -> bool:
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
    # Comments are read with the tokenizer, as costly as parsing: up front only when a
    # file-level directive may be there, else only once there is a finding to silence.
    suppressions = Suppressions.parse(text) if may_have_file_directive(text) else None
    if suppressions is not None and suppressions.whole_file_all:
        return FileReport(filename, ())
    try:
        parsed = stdlib_tree(text, filename)
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
    active = enabled - suppressions.file_codes if suppressions is not None else enabled
    # A rewrite in an older grammar has its own line numbers: no body is stubbed by them.
    tree, tree_text, stub = parsed.tree, parsed.text, settings.prefilter and not parsed.rewritten
    facts = for_file(filename, tree, tree_text, settings.catalog, project)
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
        diagnostics, errors = _run_checks(
            filename, text, settings, active, plan or AnalysisPlan(), tree, facts
        )
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


def _run_checks(
    filename: str,
    text: str,
    settings: Settings,
    enabled: frozenset[str],
    plan: AnalysisPlan,
    tree: ast.Module,
    project: ProjectFacts,
) -> tuple[list[Diagnostic], list[FileError]]:
    diagnostics: list[Diagnostic] = []
    errors: list[FileError] = []
    focused = plan.apply(text)
    try:
        try:
            module = cst.parse_module(focused)
        except cst.ParserSyntaxError:
            if focused == text:
                raise
            # Stubbing must never cost a finding: analyse the whole file instead.
            focused, plan = text, AnalysisPlan()
            module = cst.parse_module(focused)
    except cst.ParserSyntaxError as error:
        message = f"cannot parse with LibCST: {error.message}"
        return [syntax_diagnostic(filename, message, error.raw_line, error.raw_column + 1)], []
    except RecursionError:
        return [syntax_diagnostic(filename, _TOO_DEEP)], []
    try:
        facts = ModuleFacts(cst.MetadataWrapper(module, unsafe_skip_copy=True))
    except Exception as error:
        # LibCST's providers turn a RecursionError into a KeyError on deep trees.
        if _from_recursion(error):
            return [syntax_diagnostic(filename, _TOO_DEEP)], []
        raise
    context = FileContext(filename, focused, facts, settings, enabled, tree, project)
    for rule in registry.enabled_rules(enabled):
        if not rule.needs & plan.kept:
            continue
        try:
            diagnostics.extend(rule.check(context))
        except RecursionError:
            errors.append(FileError(filename, f"rule {rule.code}: too deeply nested to analyse"))
        except Exception:
            detail = traceback.format_exc(limit=-3).strip().splitlines()[-1]
            errors.append(
                FileError(
                    filename,
                    f"internal error in rule {rule.code}: {detail}; please report it with the file",
                )
            )
    return [with_fix_policy(_without_stub_edits(d, plan), settings) for d in diagnostics], errors


def _without_stub_edits(diagnostic: Diagnostic, plan: AnalysisPlan) -> Diagnostic:
    """Drop a fix that would touch a body LibCST never saw (it was stubbed out)."""
    if not plan.stubbed:
        return diagnostic

    def kept(fix: Fix | None) -> Fix | None:
        if fix is None:
            return None
        touches = any(plan.touches_stub(e.location.row, e.end_location.row) for e in fix.edits)
        return None if touches else fix

    fix, alternative = kept(diagnostic.fix), kept(diagnostic.alternative)
    if fix is None:
        fix, alternative = alternative, None
    return replace(diagnostic, fix=fix, alternative=alternative)


@dataclass(frozen=True)
class CheckedFile:
    """A worker's answer for one file: its report and the content hash of the bytes it
    was made from ("" when there were none, so nothing is cached)."""

    report: FileReport
    digest: str


def check_item(context: WorkerContext, item: WorkItem) -> CheckedFile:
    """The pool's work for checking: the file is read here, in the worker."""
    data = item.data if item.data is not None else read_bytes(item.path)
    if isinstance(data, str):
        return CheckedFile(unreadable(item.display, data), "")
    report = check_source(
        item.display, data, context.settings, context.enabled, project=context.project
    )
    if is_budget_report(report.diagnostics):
        return CheckedFile(report, "")  # not cached: the next run may have the time
    return CheckedFile(report, content_hash(data) + context.facts_digest)
