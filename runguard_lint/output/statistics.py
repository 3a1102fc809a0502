"""`--statistics`: one line per rule with its count and how many are fixable."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.output import ReportContext


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    counts = Counter(d.code for d in diagnostics)
    fixable = Counter(d.code for d in diagnostics if context.fixable(d))
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = context.rules.get(code)
        marker = "[*]" if fixable[code] else "   "
        name = rule.name if rule else ""
        lines.append(f"{count:>6}\t{code}\t{marker} {name}")
    return "".join(line + "\n" for line in lines)
