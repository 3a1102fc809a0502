"""Formatters: diagnostics in, text out. One module per format, no analysis here."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runguard_lint.catalog import Rule
from runguard_lint.diagnostics import Diagnostic, FileError


@dataclass(frozen=True)
class ReportContext:
    """What a formatter may know beyond the diagnostics."""

    rules: Mapping[str, Rule]
    project_root: Path
    errors: Sequence[FileError] = ()
    unsafe_fixes: bool = False
    source_lines: Callable[[str], Sequence[str]] = field(default=lambda _name: ())
    fixed_count: int = 0
    # A path that could not be used or a file that could not be checked: the run
    # exits 2, so a summary must not claim that all checks passed.
    failed: bool = False
    color: bool = False
    width: int = 100

    def fixable(self, diagnostic: Diagnostic) -> bool:
        """A fix that `--fix` would apply with the current options."""
        return diagnostic.fix_for(self.unsafe_fixes) is not None


def rule_url(code: str) -> str:
    """Where a rule's documentation lives."""
    return f"https://github.com/runguard-lint/runguard-lint/blob/main/rules/{code}.toml"


Formatter = Callable[[Sequence[Diagnostic], ReportContext], str]


def formatter(name: str) -> Formatter:
    """The formatter for an `--output-format` name (only its module is imported: junit
    loads an XML library, full a terminal renderer, and a run prints one format)."""
    module = importlib.import_module(f"runguard_lint.output.{_MODULES.get(name, name)}")
    render: Formatter = module.render
    return render


# The formats whose module has another name.
_MODULES = {"json": "json_format"}

OUTPUT_FORMATS = ("full", "concise", "json", "github", "sarif", "gitlab", "junit")
