"""What a rule is to the engine: a code and a check.

The engine never knows rule codes: it asks the registry for the rules that
are enabled, unions their `needs` (declared in each rule's TOML, so that the
prefilter learns them without loading the rules) to plan what the prefilter
keeps, and runs each rule's `check` over the shared FileContext.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from runguard_lint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from runguard_lint.analysis.context import FileContext


class Rule(ABC):
    """One rule: its code and its check (what the prefilter must keep for it is its
    TOML's `needs`)."""

    code: ClassVar[str]

    @abstractmethod
    def check(self, context: FileContext) -> Iterable[Diagnostic]:
        """The findings of this rule in one file (the context is shared by every rule)."""


class PipelineRule(Rule):
    """A rule the pipeline reports itself, outside the per-file checks: a file that could
    not be read or parsed (RG900), one over its time budget (RG901), the `# noqa`
    comments left unused once every other rule has run (RG100). It is in the registry
    for its code, its TOML and selection; its check says nothing."""

    def check(self, context: FileContext) -> Iterable[Diagnostic]:
        return ()
