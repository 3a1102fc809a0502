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
                if self._read_before_binding(other, node):
                    continue
                other_statement = facts.statement_of(other)
                block = facts.parent(other_statement) if other_statement is not None else None
                if block is not None and is_within(facts, node, block):
                    shadowed = True
                    break
            if not shadowed:
                kept.append(access)
        return kept

    def _read_before_binding(self, other: cst.Name, load: cst.CSTNode) -> bool:
        """Whether the load is in what the binding of other evaluates first: the value of
        `sock = ctx.wrap_socket(sock)`, a `for` loop's iterable, a `with` item's
        expression, a walrus's value. Python reads it before other is bound, so it still
        sees the earlier binding, though it stands later in the text."""
        child: cst.CSTNode = other
        for ancestor in self.facts.ancestors(other):
            evaluated: cst.CSTNode | None = None
            if isinstance(ancestor, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
                evaluated = ancestor.value
            elif isinstance(ancestor, (cst.For, cst.CompFor)):
                evaluated = ancestor.iter
            elif isinstance(ancestor, cst.WithItem):
                evaluated = ancestor.item
            if evaluated is not None:
                return (
                    evaluated is not child
                    and is_within(self.facts, load, evaluated)
                    and not self._deferred(load, evaluated)
                )
            if isinstance(ancestor, (cst.BaseStatement, cst.BaseSmallStatement)):
                return False
            child = ancestor
        return False

    def _deferred(self, load: cst.CSTNode, evaluated: cst.CSTNode) -> bool:
        """A load in a lambda's body or a generator expression of the value runs later,
        when the name may be bound anew (`conn = loop.call_later(5, lambda:
        conn.cancel())`). A lambda's defaults and a generator's first iterable are
        evaluated right away."""
        child: cst.CSTNode = load
        for ancestor in self.facts.ancestors(load):
            if ancestor is evaluated:
                return False
            if isinstance(ancestor, cst.Lambda) and child is ancestor.body:
                return True
            if isinstance(ancestor, cst.GeneratorExp) and not is_within(
                self.facts, load, ancestor.for_in.iter
            ):
                return True
            child = ancestor
        return False

    def _share_loop(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Whether both nodes run in one `for`/`while`: a later statement may then run first."""
        loops = {id(a) for a in self.facts.ancestors(first) if isinstance(a, (cst.For, cst.While))}
        return any(
            id(a) in loops
            for a in self.facts.ancestors(second)
            if isinstance(a, (cst.For, cst.While))
        )
