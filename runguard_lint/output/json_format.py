"""`--output-format json`: a list of objects shaped like Ruff's JSON output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from runguard_lint.diagnostics import Diagnostic, Location
from runguard_lint.output import ReportContext, rule_url


def _location(location: Location) -> dict[str, int]:
    return {"row": location.row, "column": location.column}


def as_dict(diagnostic: Diagnostic, unsafe: bool = False) -> dict[str, Any]:
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
    }


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    return json.dumps([as_dict(d, context.unsafe_fixes) for d in diagnostics], indent=2) + "\n"
