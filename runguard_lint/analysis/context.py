"""What every rule is given: one parsed file and the facts shared by all rules.

A rule sees one parsed file through a FileContext (the shared facts and the
ownership analysis, computed once) and yields Diagnostics. It never prints and
never reads files.
"""

from __future__ import annotations

import ast
from functools import cached_property

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership import OwnershipAnalysis
from runguard_lint.analysis.project import EMPTY, ProjectFacts, module_of
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic, Fix, Location


class FileContext:
    """One file being checked: its source, shared facts and settings."""

    def __init__(
        self,
        filename: str,
        source: str,
        facts: ModuleFacts,
        settings: Settings,
        enabled: frozenset[str],
        tree: ast.Module,
        project: ProjectFacts = EMPTY,
    ) -> None:
        self.filename = filename
        # The text LibCST parsed: the file with unpromising function bodies blanked
        # (same line numbers), see prefilter.AnalysisPlan.
        self.source = source
        # The stdlib tree of the whole file, for module-wide questions.
        self.tree = tree
        self.facts = facts
        self.settings = settings
        # With the project's factories (see engine): calling one acquires a resource.
        self.catalog = settings.catalog
        self.enabled = enabled
        # What the rest of the project tells about its functions and classes.
        self.project = project
        self.module, self.package = module_of(filename)

    @cached_property
    def view(self) -> ProjectView:
        """The project's facts as this module asks them, by the names it uses."""
        return ProjectView(self.facts, self.project, self.module, self.package)

    @cached_property
    def ownership(self) -> OwnershipAnalysis:
        return OwnershipAnalysis(self.facts, self.catalog, self.view)

    def diagnostic(
        self,
        code: str,
        node: cst.CSTNode,
        message: str,
        fix: Fix | None = None,
        alternative: Fix | None = None,
    ) -> Diagnostic:
        """A finding spanning node (its first line, for multi-line statements)."""
        position = self.facts.position(node)
        start = Location(position.start.line, position.start.column + 1)
        end = Location(position.end.line, position.end.column + 1)
        return Diagnostic(
            code=code,
            message=message,
            filename=self.filename,
            location=start,
            end_location=end,
            fix=fix,
            alternative=alternative,
        )
