"""The checked project's formatting conventions, which the lines a fix writes follow.

A fix that writes a line longer than the project's formatter allows turns a
merged fix into a failing `ruff format --check` (or `black --check`). So the
fixer reads what those formatters read: `line-length` from the nearest
`.ruff.toml`, `ruff.toml` or `pyproject.toml` `[tool.ruff]`, else
`[tool.black]` (default 88, both formatters' default), and the oldest Python
the project targets (Ruff's `target-version`, Black's `target-version` list,
else `[project] requires-python`), which decides whether a `with` statement
may put its items in parentheses (Python 3.10 grammar).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_LINE_LENGTH = 88
_RUFF_FILES = (".ruff.toml", "ruff.toml")
_VERSION = re.compile(r"(?:py|cp)?3\.?(\d+)")
_LOWER_BOUND = re.compile(r"(>=|~=|==|>)\s*3\.(\d+)")


@dataclass(frozen=True)
class CodeStyle:
    """How long a line may be, and the oldest Python (3, minor) the code must run on."""

    line_length: int = DEFAULT_LINE_LENGTH
    # None: not declared anywhere; then only what every Python 3 parses is written.
    target: tuple[int, int] | None = None

    @property
    def parenthesized_with(self) -> bool:
        """Whether `with (a as b, c as d):` parses on every targeted Python."""
        return self.target is not None and self.target >= (3, 10)


def project_style(anchor: Path) -> CodeStyle:
    """The style of the project at or above `anchor` (a file or a directory).

    As the formatters do, the nearest configuration decides, whole: a Ruff
    configuration without `line-length` means 88, not a parent's value.
    """
    start = anchor if anchor.is_dir() else anchor.parent
    try:
        start = start.resolve()
    except OSError:
        return CodeStyle()
    formatter: dict[str, Any] | None = None
    requires: tuple[int, int] | None = None
    for directory in (start, *start.parents):
        pyproject = _load(directory / "pyproject.toml")
        if requires is None and pyproject is not None:
            requires = _requires_python(pyproject)
        if formatter is None:
            formatter = _formatter_table(directory, pyproject)
        if formatter is not None and requires is not None:
            break
    table = formatter or {}
    line_length = _line_length(table.get("line-length"))
    target = _target(table.get("target-version"))
    return CodeStyle(
        line_length=line_length if line_length is not None else DEFAULT_LINE_LENGTH,
        target=target if target is not None else requires,
    )


def _formatter_table(directory: Path, pyproject: dict[str, Any] | None) -> dict[str, Any] | None:
    """The formatter configuration this directory holds, in Ruff's order of precedence
    (`.ruff.toml`, `ruff.toml`, `[tool.ruff]`), then Black's `[tool.black]`."""
    for name in _RUFF_FILES:
        document = _load(directory / name)
        if document is not None:
            return document
    tool = pyproject.get("tool") if pyproject is not None else None
    if isinstance(tool, dict):
        for name in ("ruff", "black"):
            table = tool.get(name)
            if isinstance(table, dict):
                return table
    return None


def _load(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def _line_length(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000:
        return value
    return None


def _target(value: object) -> tuple[int, int] | None:
    """`"py310"` (Ruff) or `["py39", "py310"]` (Black): the oldest one named."""
    values = value if isinstance(value, list) else [value]
    minors = []
    for item in values:
        match = _VERSION.fullmatch(item.strip().lower()) if isinstance(item, str) else None
        if match:
            minors.append(int(match.group(1)))
    return (3, min(minors)) if minors else None


def _requires_python(document: dict[str, Any]) -> tuple[int, int] | None:
    project = document.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if not isinstance(requires, str):
        return None
    bounds = [
        int(minor) + (1 if operator == ">" else 0)
        for operator, minor in _LOWER_BOUND.findall(requires)
    ]
    return (3, min(bounds)) if bounds else None
