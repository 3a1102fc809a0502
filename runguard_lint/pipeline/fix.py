"""`--fix` and `--diff` for one file: apply the findings' fixes to a fixpoint, write back safely.

Check -> apply every applicable fix whose edits do not overlap an already
chosen one (safe fixes; unsafe ones too with `--unsafe-fixes`; identical
edits, such as the same import added by two fixes, are shared) -> check again
-> repeat until nothing applicable is left (at most MAX_ROUNDS). The final
text must parse and compile, or the file is left untouched and the reason is
reported. Fixing runs in worker processes (`fix_item`), like checking, with
the same crash isolation; the main process writes back (`write_back`):
atomically (a temporary file in the same directory, then `os.replace`), in the
file's own encoding, BOM, line endings and permission bits, and never over a
file whose bytes changed on disk since they were read.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Applicability, Diagnostic, FileReport
from runguard_lint.fixes.edits import (
    apply_edits,
    apply_spans,
    edit_span,
    line_starts,
    problem_with,
)
from runguard_lint.pipeline.budget import OverBudget, time_budget
from runguard_lint.pipeline.check import check_source, check_text
from runguard_lint.pipeline.files import DecodeFailure, decode
from runguard_lint.pipeline.pool import WorkerContext, WorkItem
from runguard_lint.rules.rg901 import budget_diagnostic

MAX_ROUNDS = 10
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class TextFix:
    """What the fix loop made of one file's text."""

    report: FileReport  # the findings left in `text`
    text: str  # the fixed text, or the original when nothing was (or could be) applied
    fixed: int  # how many findings the applied fixes ended
    original_report: FileReport  # the findings of the original text
    problem: str | None = None  # why the fixes of this file were dropped


@dataclass(frozen=True)
class FileFix:
    """One file after fixing: its remaining findings and, if it changes, its new bytes."""

    report: FileReport
    original_report: FileReport
    fixed: int
    new_bytes: bytes | None = None
    problem: str | None = None

    @classmethod
    def unfixed(cls, report: FileReport) -> FileFix:
        """A file left as it is, with this report (it could not be decoded or analysed)."""
        return cls(report, report, 0)


# --- one file's text ---------------------------------------------------------------------


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    """Whether the finding has a fix this run applies (display-only fixes never are)."""
    return diagnostic.fix_for(unsafe) is not None


def fix_text(
    filename: str,
    text: str,
    settings: Settings,
    enabled: frozenset[str],
    unsafe: bool,
    project: ProjectFacts | None = None,
) -> TextFix:
    """Apply fixes round by round until none applies; the text stays valid Python."""
    report = check_text(filename, text, settings, enabled, project=project)
    original_report = report
    current = text
    fixed = 0
    # Fixes that did not end their finding (a bug): never applied again.
    stuck: set[tuple[str, str, str]] = set()
    problems: list[str] = []
    for _ in range(MAX_ROUNDS):
        chosen = [
            d
            for d in report.diagnostics
            if applicable(d, unsafe) and _signature(d, unsafe) not in stuck
        ]
        if not chosen:
            break
        updated, count = apply_round(current, chosen, unsafe)
        if updated == current:
            break
        after = check_text(filename, updated, settings, enabled, project=project)
        # Every fix ends its own finding (it may leave one of another rule: closing a
        # client per call ends RG101 and leaves RG402's "built per call" if selected).
        # A round that ended none of the findings it chose did not work: undo it.
        remaining = Counter(_signature(d, unsafe) for d in after.diagnostics)
        before = Counter(_signature(d, unsafe) for d in report.diagnostics)
        if all(remaining[_signature(d, unsafe)] >= before[_signature(d, unsafe)] for d in chosen):
            stuck.update(_signature(d, unsafe) for d in chosen)
            problems.extend(
                f"line {d.location.row}: the {d.code} fix ({_fix_message(d, unsafe)}) did "
                "not end the finding, so it was not applied; please report this"
                for d in chosen
            )
            continue
        current, report = updated, after
        fixed += count
    else:
        if any(
            applicable(d, unsafe) and _signature(d, unsafe) not in stuck for d in report.diagnostics
        ):
            problems.append(f"the fixes did not settle after {MAX_ROUNDS} rounds; run --fix again")
    if current != text:
        problem = problem_with(current, filename)
        if problem is not None:
            return TextFix(
                original_report,
                text,
                0,
                original_report,
                f"the fixed code would not compile ({problem}), so no fix was "
                "applied; please report this with the file",
            )
    return TextFix(report, current, fixed, original_report, "; ".join(problems) or None)


def _fix_message(diagnostic: Diagnostic, unsafe: bool) -> str:
    fix = diagnostic.fix_for(unsafe)
    return fix.message if fix is not None else ""


def _signature(diagnostic: Diagnostic, unsafe: bool) -> tuple[str, str, str]:
    """What identifies a finding's fix across rounds (positions move as code is rewritten)."""
    return diagnostic.code, diagnostic.message, _fix_message(diagnostic, unsafe)


def apply_round(
    text: str, diagnostics: Sequence[Diagnostic], unsafe: bool = False
) -> tuple[str, int]:
    """Apply the fixes whose edits do not overlap those chosen before them, in file order
    (for each finding, the fix this run applies: see `Diagnostic.fix_for`)."""
    starts = line_starts(text)
    chosen: list[tuple[int, int, str]] = []
    count = 0

    def spans_of(diagnostic: Diagnostic) -> list[tuple[int, int, str]]:
        fix = diagnostic.fix_for(unsafe)
        assert fix is not None
        return [(*edit_span(starts, edit), edit.content) for edit in fix.edits]

    ordered = sorted(diagnostics, key=lambda d: min(spans_of(d)) if spans_of(d) else (0, 0, ""))
    for diagnostic in ordered:
        spans = spans_of(diagnostic)
        if any(_conflict(span, other) for span in spans for other in chosen):
            continue
        chosen.extend(span for span in spans if span not in chosen)
        count += 1
    return apply_spans(text, chosen), count


def _conflict(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    """Edits conflict when they overlap, or an insertion touches the other's range."""
    if a == b:
        return False
    a_start, a_end, _ = a
    b_start, b_end, _ = b
    if a_start < b_end and b_start < a_end:
        return True
    if a_start == a_end and b_start <= a_start <= b_end:
        return True
    return b_start == b_end and a_start <= b_start <= a_end


# --- one file's bytes (in a worker) ------------------------------------------------------


def fix_bytes(
    display: str,
    data: bytes,
    settings: Settings,
    enabled: frozenset[str],
    unsafe: bool,
    project: ProjectFacts | None = None,
) -> FileFix:
    """Decode, fix and re-encode one file: same encoding, BOM and line endings."""
    try:
        source = decode(data)
    except DecodeFailure:
        # check_text cannot see undecodable bytes; the checker reports them as RG900.
        return FileFix.unfixed(check_source(display, data, settings, enabled, project=project))
    result = fix_text(display, source.text, settings, enabled, unsafe, project)
    if result.text == source.text:
        return FileFix(result.report, result.original_report, 0, problem=result.problem)
    try:
        encoded = result.text.encode(source.encoding)
    except UnicodeEncodeError as error:
        return FileFix(
            result.original_report,
            result.original_report,
            0,
            problem=f"the fixed code cannot be saved as {source.encoding} ({error})",
        )
    return FileFix(
        result.report,
        result.original_report,
        result.fixed,
        (_BOM if source.bom else b"") + encoded,
        result.problem,
    )


def fix_item(context: WorkerContext, item: WorkItem) -> FileFix:
    """The pool's work for fixing: the bytes come with the item (the main process keeps
    them, to refuse writing over a file that changed meanwhile)."""
    assert item.data is not None, "files to fix are read in the main process"
    seconds = context.settings.per_file_timeout
    try:
        with time_budget(seconds):  # checking and every round of fixing, together
            return fix_bytes(
                item.display,
                item.data,
                context.settings,
                context.enabled,
                context.unsafe_fixes,
                context.project,
            )
    except OverBudget:
        return FileFix.unfixed(
            FileReport(item.display, (budget_diagnostic(item.display, seconds),))
        )


# --- output ------------------------------------------------------------------------------


def unified_diff(display: str, old: bytes, new: bytes) -> str:
    """What --diff prints for one file (decoded as the file declares itself)."""
    return _text_diff(display, decode(old).text, decode(new).text)


def display_only_diffs(display: str, data: bytes, report: FileReport, unsafe: bool) -> str:
    """The display-only fixes left in `report` (made against `data`), each as its own
    diff under a comment naming the finding: what --diff shows but never applies."""
    try:
        text = decode(data).text
    except DecodeFailure:
        return ""
    out: list[str] = []
    for diagnostic in report.diagnostics:
        fix = diagnostic.shown_fix(unsafe)
        if fix is None or fix.applicability is not Applicability.DISPLAY_ONLY or not fix.edits:
            continue
        try:
            new_text = apply_edits(text, fix.edits)
        except ValueError:
            continue
        out.append(
            f"# {display}:{diagnostic.location.row}:{diagnostic.location.column}: "
            f"{diagnostic.code} display-only fix, never applied: {fix.message}\n"
        )
        out.append(_text_diff(display, text, new_text))
    return "".join(out)


def _text_diff(display: str, old_text: str, new_text: str) -> str:
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"a/{display}",
        tofile=f"b/{display}",
    )
    out: list[str] = []
    for line in lines:
        if not line.endswith(("\n", "\r")):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def write_back(path: Path, original: bytes, new: bytes) -> str | None:
    """Replace the file's bytes atomically; None on success, else why it was not written.

    Refuses when the file on disk no longer holds `original` (edited while we
    worked). The new file gets the old one's permission bits; a symlink is
    followed, so the link stays a link.
    """
    target = Path(os.path.realpath(path))
    try:
        status = target.stat()
        current = target.read_bytes()
    except OSError as error:
        return f"not fixed: cannot re-read the file before writing ({error.strerror or error})"
    if current != original:
        return (
            "not fixed: the file changed on disk while it was being fixed; "
            "run runguard-lint --fix again"
        )
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".runguard-tmp"
        )
    except OSError as error:
        return f"not fixed: cannot create a temporary file next to it ({error.strerror or error})"
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        if target.read_bytes() != original:
            os.unlink(temporary)
            return (
                "not fixed: the file changed on disk while it was being fixed; "
                "run runguard-lint --fix again"
            )
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return f"not fixed: cannot write the file ({error.strerror or error})"
    return None
