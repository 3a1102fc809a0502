"""Whether an exception can skip a release: the exception-safety half of a fate.

A release is safe when it runs in a `finally` that covers the acquisition,
when it is the very next thing that can raise after the acquisition, or when a
catch-all handler closes and re-raises. What can raise, and which handler
catches everything, is `analysis.flow.RaisingCode`'s to say.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.flow import RaisingCode
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.syntax import block_statements, is_within
from runguard_lint.analysis.tree import walk


class ReleaseSafety:
    """Judges single releases of one module against their acquiring statement."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.raising = RaisingCode(facts)

    def covered_by_finally(
        self, site: cst.CSTNode, call: cst.Call, statement: cst.BaseStatement
    ) -> bool:
        """Whether the release runs in a `finally` that covers everything after acquiring."""
        facts = self.facts
        child: cst.CSTNode = site
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.Try, cst.TryStar)):
                finalbody = ancestor.finalbody
                if finalbody is not None and child is finalbody:
                    if is_within(facts, call, ancestor.body):
                        return True
                    if self._only_harmless_between(statement, ancestor):
                        return True
                    guarded = self._guarding_try(statement)
                    if guarded is not None and self._only_harmless_between(guarded, ancestor):
                        return True
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            child = ancestor
        return False

    def released_right_after(self, site: cst.CSTNode, statement: cst.BaseStatement) -> bool:
        """`tf = tarfile.open(p)` then `tf.close()` (or `return report(p.wait())`), with
        nothing that can raise between: the release is the next call that runs."""
        release_statement = self.facts.statement_of(site)
        if not isinstance(statement, cst.SimpleStatementLine) or not isinstance(
            release_statement, cst.SimpleStatementLine
        ):
            return False
        call = site.expression if isinstance(site, cst.Await) else site
        if not isinstance(call, cst.Call) or any(
            argument.keyword is not None and argument.keyword.value == "timeout"
            for argument in call.args
        ):
            # `proc.communicate(timeout=30)` raises on timeout and leaves it open.
            return False
        end = self.facts.position(site).end
        ancestors = {id(node) for node in self.facts.ancestors(site)}
        for node in walk(release_statement):
            if node is call or not isinstance(node, cst.Call) or id(node) in ancestors:
                continue
            if (self.facts.position(node).start.line, self.facts.position(node).start.column) < (
                end.line,
                end.column,
            ):
                return False  # another call runs first and may raise
        return self._only_harmless_between(statement, release_statement)

    def in_handler(self, site: cst.CSTNode) -> bool:
        """Whether the release runs only when an exception was caught."""
        return any(
            isinstance(a, (cst.ExceptHandler, cst.ExceptStarHandler))
            for a in self.facts.ancestors(site)
        )

    def in_catch_all(self, site: cst.CSTNode, call: cst.Call, statement: cst.BaseStatement) -> bool:
        """A release in a handler that catches whatever its `try` can raise and
        re-raises, of a `try` that covers the acquisition: every exception passes
        through it."""
        facts = self.facts
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if not isinstance(ancestor, cst.ExceptHandler):
                continue
            try_node = facts.parent(ancestor)
            reraises = any(isinstance(node, cst.Raise) for node in walk(ancestor.body))
            if not (
                isinstance(try_node, cst.Try)
                and reraises
                and self.raising.catches_everything(ancestor.type, try_node.body)
            ):
                return False
            return is_within(facts, call, try_node.body) or self._only_harmless_between(
                statement, try_node
            )
        return False

    def _guarding_try(self, statement: cst.BaseStatement) -> cst.Try | None:
        """`try: s = socket.socket()` / `except OSError: return`: the acquisition is the
        last thing its try runs and every handler leaves, so after the try it is live
        exactly when it succeeded; the try stands for the acquisition."""
        block = self.facts.parent(statement)
        try_node = self.facts.parent(block) if block is not None else None
        if not isinstance(try_node, cst.Try) or try_node.body is not block:
            return None
        if not isinstance(block, cst.IndentedBlock) or block.body[-1] is not statement:
            return None
        if try_node.orelse is not None or try_node.finalbody is not None:
            return None
        for handler in try_node.handlers:
            last = block_statements(handler.body)[-1] if block_statements(handler.body) else None
            if not (
                isinstance(last, cst.SimpleStatementLine)
                and any(
                    isinstance(small, (cst.Return, cst.Raise, cst.Continue, cst.Break))
                    for small in last.body
                )
            ):
                return None
        return try_node

    def _only_harmless_between(self, statement: cst.BaseStatement, try_node: cst.CSTNode) -> bool:
        """The try comes right after the acquisition, with nothing that can raise between."""
        block = self.facts.parent(statement)
        if block is None or block is not self.facts.parent(try_node):
            return False
        siblings = block_statements(block)
        try:
            start = next(i for i, s in enumerate(siblings) if s is statement)
            end = next(i for i, s in enumerate(siblings) if s is try_node)
        except StopIteration:
            return False
        if end <= start:
            return False
        return all(self.raising.harmless(between) for between in siblings[start + 1 : end])
