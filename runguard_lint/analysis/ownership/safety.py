"""Whether an exception can skip a release: the exception-safety half of a fate.

A release is safe when it runs in a `finally` that covers the acquisition
and releases on every path through it, when it is the very next thing that
can raise after the acquisition, or when a catch-all handler closes and
re-raises. What can raise, which handler catches everything and which
guards hold nothing are the one model of `analysis.flow`; this module only
asks it about the code between the acquisition and the release.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from runguard_lint.analysis.flow import ReleasePaths, Releases
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.syntax import LEAVING, block_statements, guards_only, is_within
from runguard_lint.analysis.tree import walk


class ReleaseSafety:
    """Judges single releases of one module against their acquiring statement."""

    def __init__(self, facts: ModuleFacts, paths: ReleasePaths) -> None:
        self.facts = facts
        self.paths = paths

    def covered_by_finally(
        self,
        site: cst.CSTNode,
        call: cst.Call | cst.Attribute,
        statement: cst.BaseStatement,
        releases: Releases,
    ) -> bool:
        """Whether the release runs in a `finally` that covers everything after acquiring
        and releases on every path through it (`if x is not None: x.close()` does;
        `if x.closed: x.close()` does not)."""
        facts = self.facts
        child: cst.CSTNode = site
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.Try, cst.TryStar)):
                finalbody = ancestor.finalbody
                if (
                    finalbody is not None
                    and child is finalbody
                    and self.paths.closes(finalbody, releases)
                    and (
                        is_within(facts, call, ancestor.body)
                        or any(
                            self._only_quiet_between(acquiring, ancestor, releases)
                            for acquiring in self._acquiring(statement)
                        )
                    )
                ):
                    return True
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            child = ancestor
        return False

    def released_right_after(
        self, site: cst.CSTNode, statement: cst.BaseStatement, releases: Releases
    ) -> bool:
        """`tf = tarfile.open(p)` then `tf.close()` (or `return report(p.wait())`, or
        `try: tf.close() except OSError: pass`), with nothing that can raise between:
        the release is the next thing that can raise, and every path reaches it. A
        `try` around the acquisition whose every handler leaves (`try: p = Popen(...)`
        / `except OSError: return None`) stands for it: past that `try`, the resource
        is held exactly when it was acquired."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        guard = self._guarding_try(statement, with_else=True)
        if guard is not None and self._first_in_else(site, guard, releases):
            return True
        return any(
            self._next_after(site, acquiring, releases) for acquiring in self._acquiring(statement)
        )

    def _first_in_else(self, site: cst.CSTNode, guard: cst.Try, releases: Releases) -> bool:
        """`try: s = socket.create_connection(a)` / `except OSError: return False` /
        `else: s.close()`: the `else` runs right after the acquisition, only when it
        succeeded; a release there that comes before anything that can raise in it
        is the next thing that can raise."""
        if guard.orelse is None:
            return False
        block = guard.orelse.body
        siblings = block_statements(block)
        releasing = next(
            (
                node
                for node in (site, *self.facts.ancestors(site))
                if isinstance(node, cst.BaseStatement) and self.facts.parent(node) is block
            ),
            None,
        )
        if releasing is None:
            return False
        index = next(i for i, s in enumerate(siblings) if s is releasing)
        return all(
            self.paths.quiet(between, releases) for between in siblings[:index]
        ) and self.paths.releases_first(releasing, releases)

    def _next_after(
        self, site: cst.CSTNode, statement: cst.BaseStatement, releases: Releases
    ) -> bool:
        """Whether the release's statement follows `statement` with nothing between
        that can raise, and releases before anything in it can."""
        blocks = {id(block) for block, _ in self._way_out(statement)}
        releasing = next(
            (
                node
                for node in (site, *self.facts.ancestors(site))
                if isinstance(node, cst.BaseStatement) and id(self.facts.parent(node)) in blocks
            ),
            None,
        )
        if releasing is None or releasing is statement:
            return False
        return self._only_quiet_between(
            statement, releasing, releases
        ) and self.paths.releases_first(releasing, releases)

    def in_handler(self, site: cst.CSTNode) -> bool:
        """Whether the release runs only when an exception was caught."""
        return any(
            isinstance(a, (cst.ExceptHandler, cst.ExceptStarHandler))
            for a in self.facts.ancestors(site)
        )

    def in_catch_all(
        self,
        site: cst.CSTNode,
        call: cst.Call | cst.Attribute,
        statement: cst.BaseStatement,
        releases: Releases,
        sites: Sequence[cst.CSTNode],
    ) -> bool:
        """A release in a handler that catches whatever its `try` can raise, of a `try`
        that covers the acquisition: every exception passes through it. A handler that
        re-raises is enough. One that goes on (`except Exception: f.close(); return
        None`) covers only its `try`'s body: it counts when every release (`sites`) is
        in that `try`, the `try` has no `else` or `finally` to raise from, and the
        handler releases before anything in it can raise."""
        facts = self.facts
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if not isinstance(ancestor, cst.ExceptHandler):
                continue
            try_node = facts.parent(ancestor)
            if not (
                isinstance(try_node, cst.Try)
                and self.paths.raising.catches_everything(ancestor.type, try_node.body)
            ):
                return False
            reraises = any(isinstance(node, cst.Raise) for node in walk(ancestor.body))
            if not reraises and not (
                try_node.orelse is None
                and try_node.finalbody is None
                and all(is_within(facts, other, try_node) for other in sites)
                and self.paths.releases_before_raising(ancestor.body, releases)
            ):
                return False
            return is_within(facts, call, try_node.body) or self._only_quiet_between(
                statement, try_node, releases
            )
        return False

    def _acquiring(self, statement: cst.BaseStatement) -> Iterator[cst.BaseStatement]:
        """The acquiring statement, then the `try` that stands for it if there is one
        (`_guarding_try`): what the code after the acquisition runs from."""
        yield statement
        guarded = self._guarding_try(statement)
        if guarded is not None:
            yield guarded

    def _guarding_try(
        self, statement: cst.BaseStatement, *, with_else: bool = False
    ) -> cst.Try | None:
        """`try: s = socket.socket()` / `except OSError: return`: the acquisition is the
        last thing its try runs and every handler leaves, so after the try it is live
        exactly when it succeeded; the try stands for the acquisition (and, `with_else`,
        one with an `else`, which runs right after the acquisition)."""
        block = self.facts.parent(statement)
        try_node = self.facts.parent(block) if block is not None else None
        if not isinstance(try_node, cst.Try):
            return None
        if not isinstance(block, cst.IndentedBlock) or block.body[-1] is not statement:
            return None
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            # `p = Popen(c); names = os.listdir(d)`: what follows the acquisition on its
            # line runs in the try too, and a handler that leaves then leaves it open.
            return None
        return try_node if guards_only(try_node, block, LEAVING, with_else=with_else) else None

    def _only_quiet_between(
        self, statement: cst.BaseStatement, later: cst.CSTNode, releases: Releases
    ) -> bool:
        """A later statement comes after the acquisition, in its block or, past the end
        of the `if` that holds it, in an enclosing one, with nothing between that can
        raise or leave while the resource is held."""
        for block, current in self._way_out(statement):
            siblings = block_statements(block)
            start = next(i for i, s in enumerate(siblings) if s is current)
            end = next((i for i, s in enumerate(siblings) if s is later), len(siblings))
            if end <= start:
                return False
            if not all(
                self.paths.quiet(between, releases) for between in siblings[start + 1 : end]
            ):
                return False
            if end < len(siblings):
                return True
        return False

    def _way_out(self, statement: cst.BaseStatement) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
        """The blocks that run after the acquisition, each with the statement it runs
        from: the acquisition's own, then, while that is a branch of an `if`, the
        block of the `if` (falling off a branch goes on after the whole `if`; a loop
        body goes round again and a `try` or `with` body runs more on the way out,
        so the way stops there)."""
        current: cst.CSTNode = statement
        while True:
            block = self.facts.parent(current)
            if block is None or not any(s is current for s in block_statements(block)):
                return
            yield block, current
            owner = self.facts.parent(block)
            if isinstance(owner, cst.Else):
                owner = self.facts.parent(owner)
            if not isinstance(owner, cst.If):
                return
            while True:
                outer = self.facts.parent(owner)
                if not (isinstance(outer, cst.If) and outer.orelse is owner):
                    break
                owner = outer  # an `elif`: the `if` it continues is the statement
            current = owner
