"""The values that flow from checks to fixes and formatters.

Every layer after analysis speaks in these frozen dataclasses, so a formatter
never needs to know how a finding was made and a fix never re-derives it.
Rows and columns are 1-based, as in Ruff's JSON output and editors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Applicability(str, enum.Enum):
    """How far a fix may be trusted, as in Ruff.

    SAFE: behaviour identical apart from the release happening sooner (`--fix`).
    UNSAFE: changes lifetime or sharing in a way right for the common case
    (`--fix --unsafe-fixes`). DISPLAY_ONLY: shown (`--diff`, `--show-fixes`,
    JSON for editors), never applied: it would wait or cancel where the code did
    not, or needs a helper the project does not depend on.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


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

    def applies(self, unsafe: bool) -> bool:
        """Whether `--fix` (with `--unsafe-fixes` when `unsafe`) applies this fix."""
        if self.applicability is Applicability.SAFE:
            return True
        return unsafe and self.applicability is Applicability.UNSAFE


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a rule code at a span of a file, with an optional fix."""

    code: str
    message: str
    filename: str
    location: Location
    end_location: Location
    # The preferred fix (what ends the cost); `alternative` is a second candidate of
    # another tier, so `--fix` can apply a safe fix where the preferred one is unsafe.
    fix: Fix | None = None
    alternative: Fix | None = None

    def fix_for(self, unsafe: bool) -> Fix | None:
        """The fix `--fix` applies (with `--unsafe-fixes` when `unsafe`), if any."""
        for candidate in (self.fix, self.alternative):
            if candidate is not None and candidate.applies(unsafe):
                return candidate
        return None

    def shown_fix(self, unsafe: bool) -> Fix | None:
        """The fix reports show: the one that would be applied, else the preferred one."""
        return self.fix_for(unsafe) or self.fix or self.alternative

    @property
    def candidates(self) -> tuple[Fix, ...]:
        return tuple(f for f in (self.fix, self.alternative) if f is not None)

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
