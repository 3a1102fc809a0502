"""`--output-format json`: a list of objects shaped like Ruff's JSON output.

`noqa_row` is where a `# noqa` comment silences the finding (where `--add-noqa`
puts it): its first line, or its last when the first ends inside a string;
null when no line can take one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from runguard_lint.diagnostics import Diagnostic, Location
from runguard_lint.output import ReportContext, rule_url


def _location(location: Location) -> dict[str, int]:
    return {"row": location.row, "column": location.column}


def as_dict(
    diagnostic: Diagnostic, noqa_row: int | None = None, unsafe: bool = False
) -> dict[str, Any]:
    """Ruff's shape; `fix` is the one this run would apply (with `--unsafe-fixes` when
    `unsafe`), else the preferred one, whose applicability says why it was not."""
    fix = diagnostic.shown_fix(unsafe)
    return {
        "code": diagnostic.code,
        "message": diagnostic.message,
        "filename": diagnostic.filename,
        "location": _location(diagnostic.location),
        "end_location": _location(diagnostic.end_location),
        "fix": None
        if fix is None
        else {
            "applicability": fix.applicability.value,
            "message": fix.message,
            "edits": [
                {
                    "content": edit.content,
                    "location": _location(edit.location),
                    "end_location": _location(edit.end_location),
                }
                for edit in fix.edits
            ],
        },
        "url": rule_url(diagnostic.code),
        "noqa_row": noqa_row,
    }


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    from runguard_lint.add_noqa import noqa_rows

    items: list[dict[str, Any]] = []
    for filename, group in groupby(diagnostics, key=lambda d: d.filename):
        found = list(group)
        lines = context.source_lines(filename)
        rows = noqa_rows("".join(line + "\n" for line in lines), found) if lines else []
        for diagnostic, row in zip(found, rows or [None] * len(found)):
            items.append(as_dict(diagnostic, row, context.unsafe_fixes))
    return json.dumps(items, indent=2) + "\n"
