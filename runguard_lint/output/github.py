"""`--output-format github`: GitHub Actions workflow commands, one annotation per finding.

GitHub turns `::error file=...,line=...::message` lines in a job's log into
annotations on the pull request's diff, so findings show where they are.

Level: `error` for every finding of a default-on rule (a finding fails the
run), `warning` for preview rules (RG202, RG402): they are opt-in advice, such
as a correct but per-call client, not leaks. An internal error on a file (a
crashed rule) is an `error` annotation on that file. Properties and message are
escaped as GitHub's own toolkit does (`%`, CR and LF; in properties also `:`
and `,`), so a path or message can never end or forge a command.
"""

from __future__ import annotations

from collections.abc import Sequence

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.output import ReportContext

TOOL = "runguard-lint"


def escape_data(text: str) -> str:
    """Escape a command's message (after `::`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (`file=`, `title=`, ...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def level(diagnostic: Diagnostic, context: ReportContext) -> str:
    """`warning` for preview rules, `error` for everything else."""
    rule = context.rules.get(diagnostic.code)
    return "warning" if rule is not None and rule.preview else "error"


def _command(name: str, properties: Sequence[tuple[str, str]], message: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{name} {props}::{escape_data(message)}"


def render(diagnostics: Sequence[Diagnostic], context: ReportContext) -> str:
    lines: list[str] = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        start, end = diagnostic.location, diagnostic.end_location
        properties = [
            ("file", diagnostic.filename),
            ("line", str(start.row)),
            ("col", str(start.column)),
            ("endLine", str(end.row)),
            ("endColumn", str(end.column)),
            ("title", f"{TOOL} ({diagnostic.code})"),
        ]
        lines.append(
            _command(
                level(diagnostic, context), properties, f"{diagnostic.code} {diagnostic.message}"
            )
        )
    for error in context.errors:
        lines.append(
            _command(
                "error",
                [("file", error.filename), ("title", f"{TOOL} (internal error)")],
                error.message,
            )
        )
    return "".join(line + "\n" for line in lines)
