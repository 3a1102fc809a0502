"""RG901: a file whose analysis ran past its time budget (`per-file-timeout`).

The pipeline makes these findings (see `pipeline/budget.py`); this module owns
the code and the one way to build the diagnostic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runguard_lint.diagnostics import Diagnostic, Location
from runguard_lint.rules.base import PipelineRule

if TYPE_CHECKING:
    pass

CODE = "RG901"


def budget_diagnostic(filename: str, seconds: float) -> Diagnostic:
    """The one finding for a file whose analysis was abandoned, at its first line."""
    location = Location(1, 1)
    message = (
        f"not analysed: the analysis took more than {seconds:g} s of CPU time "
        "(`per-file-timeout`); raise the budget, exclude the file or split it"
    )
    return Diagnostic(
        code=CODE, message=message, filename=filename, location=location, end_location=location
    )


def is_budget_report(diagnostics: tuple[Diagnostic, ...]) -> bool:
    """Whether a report is the budget's (never cached: the next run may be faster)."""
    return any(diagnostic.code == CODE for diagnostic in diagnostics)


class _Rule(PipelineRule):
    # A file whose checks run to the end was analysed in time: nothing to say.
    code = CODE


RULE = _Rule()
