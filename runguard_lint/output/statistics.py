"""`--statistics`: one line per rule with its count and how many are fixable, most
frequent first; with `--output-format json`, the same rows as a JSON list (Ruff's
shape: code, name, count, fixable)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.output import ReportContext


def rows(diagnostics: Sequence[Diagnostic], context: ReportContext) -> list[dict[str, Any]]:
    """A row per rule, by count (most first), then code."""
    counts = Counter(d.code for d in diagnostics)
    fixable = Counter(d.code for d in diagnostics if context.fixable(d))
    result = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = context.rules.get(code)
        result.append(
            {
                "code": code,
                "name": rule.name if rule else "",
                "count": count,
                "fixable": bool(fixable[code]),
                "fixable_count": fixable[code],
            }
        )
    return result


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    lines = []
    for row in rows(diagnostics, context):
        marker = "[*]" if row["fixable"] else "   "
        lines.append(f"{row['count']:>6}\t{row['code']}\t{marker} {row['name']}")
    return "".join(line + "\n" for line in lines)


def render_json(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    return json.dumps(rows(diagnostics, context), indent=2) + "\n"
