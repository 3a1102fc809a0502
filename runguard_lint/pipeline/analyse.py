"""One file's LibCST stage: the focused text parsed by LibCST, its metadata resolved,
the enabled rules run on it, and their fixes held to the policy.

Apart from `pipeline.check` (which reads, prefilters and parses with the stdlib) so
that LibCST and the rules are loaded only by a process that has a file to analyse:
a one-file edit whose file the prefilter settles loads neither. `check_files`
loads this module before it forks workers for many files, which then share it.
"""

from __future__ import annotations

import ast
import gc
import traceback
from dataclasses import replace

import libcst as cst

from runguard_lint import registry
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.project import ProjectFacts
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic, FileError, Fix
from runguard_lint.fixes.policy import with_fix_policy
from runguard_lint.pipeline.check import TOO_DEEP, from_recursion
from runguard_lint.prefilter import AnalysisPlan
from runguard_lint.rules.rg900 import syntax_diagnostic


def run_checks(
    filename: str,
    text: str,
    settings: Settings,
    enabled: frozenset[str],
    plan: AnalysisPlan,
    tree: ast.Module,
    project: ProjectFacts,
    *,
    same_lines: bool = False,
) -> tuple[list[Diagnostic], list[FileError]]:
    """Run the enabled rules on the file through LibCST. `same_lines`: `tree` was
    parsed from `text` itself, not from a rewrite in an older grammar."""
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
        return [syntax_diagnostic(filename, TOO_DEEP)], []
    try:
        # The stdlib tree has the focused text's line numbers unless it is a rewrite.
        lines_tree = tree if same_lines else None
        facts = ModuleFacts(cst.MetadataWrapper(module, unsafe_skip_copy=True), focused, lines_tree)
    except Exception as error:
        # LibCST's providers turn a RecursionError into a KeyError on deep trees.
        if from_recursion(error):
            return [syntax_diagnostic(filename, TOO_DEEP)], []
        raise
    context = FileContext(filename, focused, facts, settings, enabled, tree, project)
    for rule in registry.enabled_rules(enabled):
        if not settings.catalog.rules[rule.code].needs & plan.kept:
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
    found = [with_fix_policy(_without_stub_edits(d, plan), settings) for d in diagnostics]
    del context, facts, module
    _GARBAGE.analysed(focused)
    return found, errors


class _Garbage:
    """When to run the cyclic collector in a worker.

    LibCST's scope metadata is full of cycles (scopes, assignments and accesses point
    at each other), so what a file's analysis leaves behind is freed only by a full
    collection, which a worker's GC settings (`pool.prepare_worker`) make rare: garbage
    piled up to 700 MB in one worker on the agent corpus. A collection after every
    file kept it near 300 MB but cost 14% more CPU; one after every few thousand lines
    analysed bounds the pile at a fraction of that cost."""

    EVERY_LINES = 5_000

    def __init__(self) -> None:
        self.lines = 0

    def analysed(self, text: str) -> None:
        self.lines += text.count("\n")
        if self.lines >= self.EVERY_LINES:
            self.lines = 0
            gc.collect()


_GARBAGE = _Garbage()


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
