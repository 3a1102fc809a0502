"""The default human format: grouped by file, source line with a caret, summary.

Rendered with rich into a string, with colour only when the CLI says the
output is a terminal, so the same text is testable and pipeable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import groupby

from rich.cells import cell_len

from runguard_lint.diagnostics import Applicability, Diagnostic
from runguard_lint.output import ReportContext


def summary(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    """`Found N findings in M files (...)` or `All checks passed!`.

    Nothing (or only the fixed count) when the run failed without findings: a
    missing path or an unreadable file is not a pass.
    """
    fixed = (
        f"Fixed {context.fixed_count} finding{'s' if context.fixed_count != 1 else ''}. "
        if context.fixed_count
        else ""
    )
    if not diagnostics:
        return fixed.rstrip() if context.failed else f"{fixed}All checks passed!"
    files = len({d.filename for d in diagnostics})
    count = len(diagnostics)
    text = (
        f"{fixed}Found {count} finding{'s' if count != 1 else ''} in {files} "
        f"file{'s' if files != 1 else ''}."
    )
    # A finding with a safe fix counts as fixable by `--fix` even when its preferred
    # fix is unsafe; "more" are those only `--unsafe-fixes` can fix.
    safe = sum(1 for d in diagnostics if d.fix_for(False) is not None)
    unsafe = sum(1 for d in diagnostics if d.fix_for(True) is not None) - safe
    if context.unsafe_fixes and safe + unsafe:
        text += f"\n[*] {safe + unsafe} fixable with `--fix --unsafe-fixes`."
    elif safe or unsafe:
        parts = []
        if safe:
            parts.append(f"[*] {safe} fixable with `--fix`")
        if unsafe:
            parts.append(f"{unsafe} more with `--fix --unsafe-fixes`")
        text += "\n" + "; ".join(parts) + "."
    return text


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    """The report: each finding's lines, then the summary. Without colour (piped, as
    in CI and hooks) the lines are joined as text, as rich would print them, and rich
    is not loaded; with colour, or where a line holds a tab (which rich expands by
    cells), rich renders them."""
    lines = _report_lines(diagnostics, context)
    if not context.color:
        plain = "".join(
            "".join(text for text, _style in segments).translate(_CONTROL) + "\n"
            for _base, segments in lines
        )
        if "\t" not in plain:
            return plain
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=context.color,
        no_color=not context.color,
        width=context.width,
        highlight=False,
        soft_wrap=True,
    )
    for base, segments in lines:
        line = Text(style=base)
        for text, style in segments:
            line.append(text, style=style or None)
        console.print(line)
    return buffer.getvalue()


# One printed line: its style, and its parts with their own styles.
_Line = tuple[str, list[tuple[str, str]]]
# What rich's Text drops from what it is given (rich.control.STRIP_CONTROL_CODES).
_CONTROL = dict.fromkeys((7, 8, 11, 12, 13))
TAB_SIZE = 4


def _report_lines(diagnostics: Sequence[Diagnostic], context: ReportContext) -> list[_Line]:
    found: list[_Line] = []
    for filename, group in groupby(diagnostics, key=lambda d: d.filename):
        source = context.source_lines(filename)
        for diagnostic in group:
            found.extend(_finding_lines(diagnostic, source, context))
            found.append(("", []))
    found.extend(("bold", [(line, "")]) for line in summary(diagnostics, context).splitlines())
    return found


def _finding_lines(
    diagnostic: Diagnostic, lines: Sequence[str], context: ReportContext
) -> list[_Line]:
    """`path:line:col: CODE [*] name` (which terminals and editors make a link), the
    message, then the source line with carets under the span."""
    rule = context.rules.get(diagnostic.code)
    name = rule.name if rule else ""
    row, column = diagnostic.location.row, diagnostic.location.column
    header = [(f"{diagnostic.filename}:{row}:{column}:", ""), (" ", "")]
    header.append((diagnostic.code, "bold red"))
    if context.fixable(diagnostic):
        header.append((" [*]", "bold cyan"))
    if name:
        header.append((f" {name}", "dim"))
    found: list[_Line] = [("bold", header), ("", [(f"    {diagnostic.message}", "")])]
    shown = diagnostic.shown_fix(context.unsafe_fixes)
    if shown is not None and shown.applicability is Applicability.DISPLAY_ONLY:
        # Never applied (it would wait, cancel, or import what the project lacks):
        # said here so the reader can make the change by hand.
        help_text = f"    help (display-only fix, never applied): {shown.message}"
        found.append(("", [(help_text, "")]))
    if 0 < row <= len(lines):
        raw = lines[row - 1].rstrip("\r\n")
        if diagnostic.end_location.row == row:
            end = max(diagnostic.end_location.column, column + 1)
        else:
            end = len(raw) + 1
        start_cell, end_cell = caret_cells(raw, column, end)
        gutter = f"{row:>6} | "
        found.append(("", [(gutter, "blue"), (raw.expandtabs(TAB_SIZE), "")]))
        caret = " " * (len(gutter) - 2) + "| " + " " * start_cell + "^" * (end_cell - start_cell)
        found.append(("bold red", [(caret, "")]))
    return found


def caret_cells(line: str, column: int, end_column: int) -> tuple[int, int]:
    """Where the carets for 1-based columns [column, end_column) go on the line as a
    terminal shows it: tabs expanded, wide (East Asian) characters two cells each. At
    least one caret, even for an empty span or one past the end of the line."""
    before = cell_len(line[: max(column - 1, 0)].expandtabs(TAB_SIZE))
    through = cell_len(line[: max(end_column - 1, 0)].expandtabs(TAB_SIZE))
    return before, max(through, before + 1)
