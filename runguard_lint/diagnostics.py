"""The values that flow from checks to fixes and formatters.

Every layer after analysis speaks in these frozen dataclasses, so a formatter
never needs to know how a finding was made and a fix never re-derives it.
Rows and columns are 1-based, as in Ruff's JSON output and editors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Applicability(str, enum.Enum):
    """How far a fix may be trusted, as in Ruff."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based (row, column) position in a file."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between two locations with `content`."""

    content: str
    location: Location
    end_location: Location


@dataclass(frozen=True)
class Fix:
    """One rewrite that ends the finding, with its trust level."""

    applicability: Applicability
    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a rule code at a span of a file, with an optional fix."""

    code: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Fix | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        """Stable order: file, row, column, code."""
        return (self.filename, self.location.row, self.location.column, self.code)


@dataclass(frozen=True)
class FileError:
    """An internal error while checking one file (a crashed rule, a dead worker)."""

    filename: str
    message: str


@dataclass(frozen=True)
class FileReport:
    """Everything checking one file produced."""

    filename: str
    diagnostics: tuple[Diagnostic, ...]
    errors: tuple[FileError, ...] = ()
