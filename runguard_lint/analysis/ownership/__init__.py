"""Who releases each acquired resource: the one question every acquisition rule asks.

For each call that acquires a catalog resource inside a function, this module
follows the value through the function: through `await`, conditional
expressions, containers and local names (LibCST scope references, so aliases
and comprehensions are followed and nested functions count as captures), and
classifies where it ends up:

- released: the subject of `with`, closed in a `finally` that covers it, closed
  at once, or its closer handed to an exit stack or finaliser;
- escaped: returned, yielded, stored on an object, in a container or global,
  captured by a nested function, given to a class or an ownership sink;
- leaked: nobody releases it (dropped, or only borrowed by plain calls);
- and the partial cases: created in a loop but closed once after it, closed
  only on the normal path (not exception-safe), closed on some paths only,
  or the subject of a `with` that does not close it (`sqlite3.connect`).

Checks map these fates to rule codes; fixes map codes to rewrites. Keeping the
question here gives every rule the same precision.
"""

from __future__ import annotations

from runguard_lint.analysis.flow import ReleasePaths
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership.acquisitions import AcquisitionFinder
from runguard_lint.analysis.ownership.fate import FateJudge
from runguard_lint.analysis.ownership.handoff import Handoffs
from runguard_lint.analysis.ownership.model import (
    Acquisition,
    ArgumentVerdict,
    Escape,
    EscapeKind,
    Fate,
    Handoff,
    Outcome,
    StoredAttribute,
)
from runguard_lint.analysis.ownership.trace import Tracer
from runguard_lint.analysis.ownership.transport import BorrowedTransports
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.catalog import Catalog

__all__ = [
    "Acquisition",
    "ArgumentVerdict",
    "Escape",
    "EscapeKind",
    "Fate",
    "Handoff",
    "Outcome",
    "OwnershipAnalysis",
    "StoredAttribute",
]


class OwnershipAnalysis:
    """Finds the acquisitions of a module and answers who releases each.

    It composes the components, which keep no state of their own, and memoises
    their two answers: every check that asks walks all acquisitions and their
    fates, and several checks ask in one file.
    """

    def __init__(
        self, facts: ModuleFacts, catalog: Catalog, project: ProjectView | None = None
    ) -> None:
        self.facts = facts
        self.catalog = catalog
        # The project's facts as this module asks them (None for a file on its own).
        self.project = project
        self._finder = AcquisitionFinder(facts, catalog, project)
        handoffs = Handoffs(facts, catalog, project)
        self._judge = FateJudge(
            facts,
            Tracer(facts, catalog, handoffs),
            BorrowedTransports(facts, self._finder, handoffs),
            ReleasePaths(facts, project),
        )
        # Filled on the first ask, not here: a check may never ask.
        self._acquisitions: list[Acquisition] | None = None
        # Keyed by the id of the acquiring call, which the module's tree keeps alive.
        self._fates: dict[int, Fate] = {}

    def acquisitions(self) -> list[Acquisition]:
        """Every acquiring call inside a function, in source order (found once per file)."""
        if self._acquisitions is None:
            self._acquisitions = self._finder.find()
        return self._acquisitions

    def fate(self, acquisition: Acquisition) -> Fate:
        """Who releases the acquired value (judged once per acquisition)."""
        key = id(acquisition.call)
        if key not in self._fates:
            self._fates[key] = self._judge.fate(acquisition)
        return self._fates[key]
