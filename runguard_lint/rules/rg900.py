"""RG900: a file that could not be read, decoded or parsed.

The pipeline makes these findings (a check never sees such a file); this
module owns the code and the one way to build the diagnostic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runguard_lint.diagnostics import Diagnostic, Location
from runguard_lint.rules.base import PipelineRule

if TYPE_CHECKING:
    pass

CODE = "RG900"


def syntax_diagnostic(filename: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    """The finding for a file that cannot be analysed, at the offending position."""
    location = Location(max(row, 1), max(column, 1))
    return Diagnostic(
        code=CODE, message=message, filename=filename, location=location, end_location=location
    )


class _Rule(PipelineRule):
    # A file that reached the checks was read and parsed: nothing to say.
    code = CODE


RULE = _Rule()
