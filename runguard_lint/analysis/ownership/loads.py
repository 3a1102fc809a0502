"""Which loads of a name see one particular binding of it.

LibCST's scopes are flow-insensitive: every load of `f` refers to every
`f = ...` in the scope. Following a value needs the loads that can see the
binding that holds it, and not those after an unconditional rebinding.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import Scope
from libcst.metadata.scope_provider import Access, Assignment

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.syntax import is_within


class LoadsOfBinding:
    """Answers, from a module's facts, which loads see a binding."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

    def after(self, target: cst.Name, scope: Scope | None) -> list[Access]:
        """The loads that see this binding, not a later unconditional rebinding.

        A load is kept when it follows the binding (or shares a loop with it)
        and no other binding of the name in a block that encloses the load
        comes between them.
        """
        facts = self.facts
        references = facts.references_of_binding(target)
        if scope is None:
            return references
        others = [
            a.node
            for a in scope.assignments[target.value]
            if isinstance(a, Assignment) and a.node is not target and isinstance(a.node, cst.Name)
        ]
        start = facts.position(target).start
        kept: list[Access] = []
        for access in references:
            node = access.node
            where = facts.position(node).start
            if (where.line, where.column) < (start.line, start.column):
                if not self._share_loop(target, node):
                    continue
                kept.append(access)
                continue
            shadowed = False
            for other in others:
                other_at = facts.position(other).start
                if not (
                    (start.line, start.column)
                    < (other_at.line, other_at.column)
                    < (where.line, where.column)
                ):
                    continue
                other_statement = facts.statement_of(other)
                block = facts.parent(other_statement) if other_statement is not None else None
                if block is not None and is_within(facts, node, block):
                    shadowed = True
                    break
            if not shadowed:
                kept.append(access)
        return kept

    def _share_loop(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Whether both nodes run in one `for`/`while`: a later statement may then run first."""
        loops = {id(a) for a in self.facts.ancestors(first) if isinstance(a, (cst.For, cst.While))}
        return any(
            id(a) in loops
            for a in self.facts.ancestors(second)
            if isinstance(a, (cst.For, cst.While))
        )
