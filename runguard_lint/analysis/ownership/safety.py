"""Whether an exception can skip a release: the exception-safety half of a fate.

A release is safe when it runs in a `finally` that covers the acquisition,
when it is the very next thing that can run after the acquisition, or when a
catch-all handler closes and re-raises. "Nothing can raise between" is judged
statement by statement: only lines without an await, raise, yield or assert,
and without a call other than an infallible one assigned as it is.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.syntax import block_statements, is_within
from runguard_lint.analysis.tree import walk

# Calls without arguments that cannot fail: an empty container, a clock reading.
_INFALLIBLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.tuple",
        "builtins.frozenset",
        "builtins.object",
        "collections.deque",
        "collections.OrderedDict",
        "collections.Counter",
        "time.monotonic",
        "time.time",
        "time.perf_counter",
        "time.monotonic_ns",
        "time.time_ns",
        "time.perf_counter_ns",
        "threading.Lock",
        "threading.RLock",
        "threading.Event",
        "asyncio.Lock",
        "asyncio.Event",
    }
)


class ReleaseSafety:
    """Judges single releases of one module against their acquiring statement."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

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
        """A release in a bare `except:`/`except BaseException:` that re-raises, of a
        `try` that covers the acquisition: every exception passes through it."""
        facts = self.facts
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if not isinstance(ancestor, cst.ExceptHandler):
                continue
            caught = ancestor.type
            catches_all = caught is None or (
                "builtins.BaseException" in facts.external_names(caught)
            )
            reraises = any(isinstance(node, cst.Raise) for node in walk(ancestor.body))
            try_node = facts.parent(ancestor)
            if not (catches_all and reraises and isinstance(try_node, cst.Try)):
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
        return all(self._harmless(between) for between in siblings[start + 1 : end])

    def _harmless(self, statement: cst.CSTNode) -> bool:
        """A statement that cannot raise in practice: no await, raise or assert, and no
        call but one that cannot fail assigned as it is (`pending = deque()`,
        `started = time.monotonic()`; not `deadline = time.monotonic() + req["t"]`)."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for node in walk(statement):
            if isinstance(node, (cst.Await, cst.Raise, cst.Yield, cst.Assert)):
                return False
            if isinstance(node, cst.Call) and not self._infallible_assignment(node):
                return False
        return True

    def _infallible_assignment(self, call: cst.Call) -> bool:
        parent = self.facts.parent(call)
        return (
            isinstance(parent, (cst.Assign, cst.AnnAssign))
            and parent.value is call
            and not call.args
            and bool(self.facts.external_names(call.func) & _INFALLIBLE_CALLS)
        )
