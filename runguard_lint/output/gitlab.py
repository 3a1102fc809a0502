"""`--output-format gitlab`: a GitLab Code Quality report (a JSON list of Code Climate issues).

GitLab matches issues between the base and the merge request by `fingerprint`,
so the fingerprint hashes what a finding *is* (code, path, message, the text of
the flagged line with surrounding whitespace stripped, and an occurrence counter
for identical ones), never line numbers: adding lines above a finding does not
make it look new. Severity: `major`, or `minor` for preview rules (opt-in
advice). Paths are relative to `$CI_PROJECT_DIR` when GitLab sets it (GitLab
wants paths relative to the repository), else as displayed. Internal errors are
not code-quality issues; they go to standard error, as in every format.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runguard_lint.diagnostics import Diagnostic
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


def _source_line(lines: Sequence[str], row: int) -> str:
    return lines[row - 1].strip() if 0 < row <= len(lines) else ""


def fingerprint(code: str, path: str, message: str, source_line: str, occurrence: int) -> str:
    """A stable hash of what a finding is, not where it currently is."""
    payload = json.dumps([code, path, message, source_line, occurrence], ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _severity(code: str, context: ReportContext) -> str:
    rule = context.rules.get(code)
    return "minor" if rule is not None and rule.preview else "major"


def as_list(diagnostics: Sequence[Diagnostic], context: ReportContext) -> list[dict[str, Any]]:
    """The Code Quality issues as plain data, in file, line, column order."""
    issues: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    lines_cache: dict[str, Sequence[str]] = {}
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        path = report_path(diagnostic.filename)
        if diagnostic.filename not in lines_cache:
            lines_cache[diagnostic.filename] = context.source_lines(diagnostic.filename)
        source = _source_line(lines_cache[diagnostic.filename], diagnostic.location.row)
        key = (diagnostic.code, path, diagnostic.message, source)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        rule = context.rules.get(diagnostic.code)
        name = f" ({rule.name})" if rule is not None else ""
        issues.append(
            {
                "type": "issue",
                "check_name": diagnostic.code,
                "description": f"{diagnostic.code}{name}: {diagnostic.message}",
                "categories": ["Performance" if rule is not None and rule.preview else "Bug Risk"],
                "fingerprint": fingerprint(*key, occurrence),
                "severity": _severity(diagnostic.code, context),
                "location": {
                    "path": path,
                    "lines": {"begin": diagnostic.location.row, "end": diagnostic.end_location.row},
                },
            }
        )
    return issues


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    return json.dumps(as_list(diagnostics, context), indent=2) + "\n"
