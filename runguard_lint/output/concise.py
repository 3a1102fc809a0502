"""`--output-format concise`: one line per finding, `path:row:col: CODE message`."""

from __future__ import annotations

from collections.abc import Sequence

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.output import ReportContext


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    lines = []
    for d in diagnostics:
        marker = " [*]" if context.fixable(d) else ""
        lines.append(
            f"{d.filename}:{d.location.row}:{d.location.column}: {d.code}{marker} {d.message}"
        )
    return "".join(line + "\n" for line in lines)
