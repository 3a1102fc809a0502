"""`--output-format sarif`: a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

One run with every rule of the catalog in `tool.driver.rules` (so a viewer can
show a rule's text even for codes with no finding), one result per finding with
its fix, and file URIs relative to `%SRCROOT%` (the project root) so the log
does not depend on the machine it was made on. Levels: `error`, or `warning`
for preview rules (opt-in advice). Columns count Unicode code points, as the
tool's own positions do (`run.columnKind`). The output is deterministic:
rules sorted by code, results by file, line, column and code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runguard_lint import __version__
from runguard_lint.diagnostics import Diagnostic, Edit, Location
from runguard_lint.output import ReportContext, rule_url

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/runguard-lint/runguard-lint"
SRCROOT = "%SRCROOT%"


def _level(code: str, context: ReportContext) -> str:
    rule = context.rules.get(code)
    return "warning" if rule is not None and rule.preview else "error"


def _text(value: str, fallback: str) -> dict[str, str]:
    text = " ".join(value.split()) or fallback
    return {"text": text}


def _rules(diagnostics: Sequence[Diagnostic], context: ReportContext) -> list[dict[str, Any]]:
    codes = sorted(set(context.rules) | {d.code for d in diagnostics})
    rules: list[dict[str, Any]] = []
    for code in codes:
        rule = context.rules.get(code)
        summary = rule.summary if rule is not None else code
        entry: dict[str, Any] = {
            "id": code,
            "name": rule.name if rule is not None else code,
            "shortDescription": _text(summary, code),
            "fullDescription": _text(rule.what if rule is not None else "", summary),
            "helpUri": rule_url(code),
            "defaultConfiguration": {"level": _level(code, context)},
        }
        if rule is not None:
            help_text = "\n\n".join(part.strip() for part in (rule.what, rule.why) if part.strip())
            entry["help"] = {"text": help_text or summary}
            entry["properties"] = {"default": rule.default, "fix": rule.fix}
        rules.append(entry)
    return rules


def artifact_location(filename: str, project_root: Path) -> dict[str, str]:
    """The file as a URI relative to `%SRCROOT%`, or an absolute `file:` URI outside it."""
    path = Path(filename)
    absolute = path if path.is_absolute() else Path.cwd() / path
    root = project_root if project_root.is_absolute() else Path.cwd() / project_root
    for candidate, base in ((absolute, root), (_resolved(absolute), _resolved(root))):
        try:
            relative = candidate.relative_to(base)
        except ValueError:
            continue
        # surrogateescape: a file name that is not valid UTF-8 keeps its original bytes.
        return {"uri": quote(relative.as_posix(), errors="surrogateescape"), "uriBaseId": SRCROOT}
    return {"uri": _file_uri(_resolved(absolute))}


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return Path(os.path.normpath(path))


def _region(start: Location, end: Location) -> dict[str, int]:
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column,
    }


def _replacement(edit: Edit) -> dict[str, Any]:
    return {
        "deletedRegion": _region(edit.location, edit.end_location),
        "insertedContent": {"text": edit.content},
    }


def _result(diagnostic: Diagnostic, index: int, context: ReportContext) -> dict[str, Any]:
    location = artifact_location(diagnostic.filename, context.project_root)
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": index,
        "level": _level(diagnostic.code, context),
        "message": {"text": diagnostic.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": location,
                    "region": _region(diagnostic.location, diagnostic.end_location),
                },
            }
        ],
    }
    shown = diagnostic.shown_fix(context.unsafe_fixes)
    if shown is not None:
        # The fix this run would apply (else the preferred one), with its applicability.
        result["fixes"] = [
            {
                "description": {"text": fix.message},
                "artifactChanges": [
                    {
                        "artifactLocation": dict(location),
                        "replacements": [
                            _replacement(edit)
                            for edit in sorted(
                                fix.edits, key=lambda e: (e.location, e.end_location)
                            )
                        ],
                    }
                ],
                "properties": {"applicability": fix.applicability.value},
            }
            for fix in (shown,)
        ]
    return result


def _root_uri(project_root: Path) -> str:
    root = project_root if project_root.is_absolute() else Path.cwd() / project_root
    uri = _file_uri(_resolved(root))
    return uri if uri.endswith("/") else uri + "/"


def as_dict(diagnostics: Sequence[Diagnostic], context: ReportContext) -> dict[str, Any]:
    """The SARIF log as plain data."""
    rules = _rules(diagnostics, context)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [
        _result(d, index[d.code], context) for d in sorted(diagnostics, key=lambda d: d.sort_key)
    ]
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact_location(error.filename, context.project_root),
                    }
                }
            ],
        }
        for error in sorted(context.errors, key=lambda e: (e.filename, e.message))
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "runguard-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not context.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "originalUriBaseIds": {SRCROOT: {"uri": _root_uri(context.project_root)}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    return json.dumps(as_dict(diagnostics, context), indent=2) + "\n"


def _file_uri(path: Path) -> str:
    """`file://` URI of an absolute path, also for names that are not valid UTF-8."""
    return "file://" + quote(path.as_posix(), errors="surrogateescape")
