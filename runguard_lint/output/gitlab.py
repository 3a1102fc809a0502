"""`--output-format gitlab`: a GitLab Code Quality report (a JSON list of Code Climate issues).

GitLab matches issues between the base and the merge request by `fingerprint`,
so the fingerprint is the finding's identity (runguard_lint.fingerprint: code,
path, enclosing definition, flagged code, occurrence), the same one a baseline
keeps, never a line number nor a message that names one: adding lines above a
finding or editing another function does not make it look new. Severity:
`major`, or `minor` for preview rules (opt-in advice). Paths are relative to
`$CI_PROJECT_DIR` when GitLab sets it (GitLab wants paths relative to the
repository), else as displayed. Internal errors are not code-quality issues;
they go to standard error, as in every format.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fingerprint import identities
from runguard_lint.output import ReportContext


def report_path(filename: str) -> str:
    """The path GitLab wants: relative to `$CI_PROJECT_DIR` when below it."""
    project_dir = os.environ.get("CI_PROJECT_DIR")
    if project_dir:
        try:
            return Path(filename).resolve().relative_to(Path(project_dir).resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return Path(filename).as_posix()


def _severity(code: str, context: ReportContext) -> str:
    rule = context.rules.get(code)
    return "minor" if rule is not None and rule.preview else "major"


def as_list(diagnostics: Sequence[Diagnostic], context: ReportContext) -> list[dict[str, Any]]:
    """The Code Quality issues as plain data, in file, line, column order."""
    issues: list[dict[str, Any]] = []
    for diagnostic, identity in identities(diagnostics, context.source_lines, report_path):
        rule = context.rules.get(diagnostic.code)
        name = f" ({rule.name})" if rule is not None else ""
        issues.append(
            {
                "type": "issue",
                "check_name": diagnostic.code,
                "description": f"{diagnostic.code}{name}: {diagnostic.message}",
                "categories": ["Performance" if rule is not None and rule.preview else "Bug Risk"],
                "fingerprint": identity.fingerprint,
                "severity": _severity(diagnostic.code, context),
                "location": {
                    "path": identity.path,
                    "lines": {"begin": diagnostic.location.row, "end": diagnostic.end_location.row},
                },
            }
        )
    return issues


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    return json.dumps(as_list(diagnostics, context), indent=2) + "\n"
