"""The default human format: grouped by file, source line with a caret, summary.

Rendered with rich into a string, with colour only when the CLI says the
output is a terminal, so the same text is testable and pipeable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import groupby

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.text import Text

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
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=context.color,
        no_color=not context.color,
        width=context.width,
        highlight=False,
        soft_wrap=True,
    )
    for filename, group in groupby(diagnostics, key=lambda d: d.filename):
        lines = context.source_lines(filename)
        for diagnostic in group:
            _render_one(console, diagnostic, lines, context)
            console.print()
    text = summary(diagnostics, context)
    if text:
        console.print(escape(text), style="bold")
    return buffer.getvalue()


TAB_SIZE = 4


def _render_one(
    console: Console, diagnostic: Diagnostic, lines: Sequence[str], context: ReportContext
) -> None:
    """`path:line:col: CODE [*] name` (which terminals and editors make a link), the
    message, then the source line with carets under the span."""
    rule = context.rules.get(diagnostic.code)
    name = rule.name if rule else ""
    row, column = diagnostic.location.row, diagnostic.location.column
    header = Text(f"{diagnostic.filename}:{row}:{column}:", style="bold")
    header.append(" ")
    header.append(diagnostic.code, style="bold red")
    if context.fixable(diagnostic):
        header.append(" [*]", style="bold cyan")
    if name:
        header.append(f" {name}", style="dim")
    console.print(header)
    console.print(Text(f"    {diagnostic.message}"))
    shown = diagnostic.shown_fix(context.unsafe_fixes)
    if shown is not None and shown.applicability is Applicability.DISPLAY_ONLY:
        # Never applied (it would wait, cancel, or import what the project lacks):
        # said here so the reader can make the change by hand.
        console.print(Text(f"    help (display-only fix, never applied): {shown.message}"))
    if 0 < row <= len(lines):
        raw = lines[row - 1].rstrip("\r\n")
        if diagnostic.end_location.row == row:
            end = max(diagnostic.end_location.column, column + 1)
        else:
            end = len(raw) + 1
        start_cell, end_cell = caret_cells(raw, column, end)
        gutter = f"{row:>6} | "
        console.print(Text.assemble((gutter, "blue"), raw.expandtabs(TAB_SIZE)))
        caret = " " * (len(gutter) - 2) + "| " + " " * start_cell + "^" * (end_cell - start_cell)
        console.print(Text(caret, style="bold red"))


def caret_cells(line: str, column: int, end_column: int) -> tuple[int, int]:
    """Where the carets for 1-based columns [column, end_column) go on the line as a
    terminal shows it: tabs expanded, wide (East Asian) characters two cells each. At
    least one caret, even for an empty span or one past the end of the line."""
    before = cell_len(line[: max(column - 1, 0)].expandtabs(TAB_SIZE))
    through = cell_len(line[: max(end_column - 1, 0)].expandtabs(TAB_SIZE))
    return before, max(through, before + 1)
