"""From what following a value found to its fate, and how safe its release is.

A release counts as safe when nothing can raise between the acquisition and
it: `with`, a `finally` that covers the acquisition, a release right after it,
a pytest fixture's teardown, or a catch-all handler that closes and re-raises
on top of every normal path closing it. Anything less is a partial release (a
path leaves without it) or an unsafe one (an exception skips it).
"""

from __future__ import annotations

import enum
from dataclasses import replace

import libcst as cst

from runguard_lint.analysis.flow import ReleasePaths
from runguard_lint.analysis.names import FunctionNode, ModuleFacts, decorator_names
from runguard_lint.analysis.ownership.model import (
    Acquisition,
    Escape,
    EscapeKind,
    Fate,
    Outcome,
    StoredAttribute,
)
from runguard_lint.analysis.ownership.safety import ReleaseSafety
from runguard_lint.analysis.ownership.trace import Trace, Tracer
from runguard_lint.analysis.ownership.transport import BorrowedTransports
from runguard_lint.analysis.syntax import (
    block_statements,
    is_within,
    small_statements,
    tests_missing,
)
from runguard_lint.analysis.tree import walk

_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture", "fixture"})


class FateJudge:
    """Decides the fate of each acquisition of one module."""

    def __init__(
        self,
        facts: ModuleFacts,
        tracer: Tracer,
        transports: BorrowedTransports,
        paths: ReleasePaths,
    ) -> None:
        self.facts = facts
        self.tracer = tracer
        self.transports = transports
        self.paths = paths
        self.safety = ReleaseSafety(facts, paths)

    def fate(self, acquisition: Acquisition) -> Fate:
        """Who releases the acquired value, and how (computed afresh on each call)."""
        if self.transports.wraps_borrowed(acquisition):
            return _escaped(Escape(EscapeKind.WRAPS_BORROWED_TRANSPORT), None)
        trace = self.tracer.follow(acquisition)
        fate = self._judge(acquisition, trace)
        if trace.derived:
            fate = replace(fate, derived_escapes=tuple(trace.derived))
        return fate

    def _judge(self, acquisition: Acquisition, trace: Trace) -> Fate:
        strong_escapes = [e for e in trace.escapes if e.kind is not EscapeKind.YIELDED]
        if strong_escapes:
            return _escaped(strong_escapes[0], trace.holder, trace.stored)
        if trace.with_not_closing and not trace.releases and not trace.with_releases:
            return Fate(Outcome.WITH_NOT_CLOSING, "with does not close it", trace.holder)
        release_sites = tuple(trace.with_releases) + tuple(trace.releases)
        if trace.exhausted_by is not None and not release_sites:
            return self._exhausted(trace.exhausted_by, trace.holder)
        if trace.yielded and not trace.releases:
            return _escaped(Escape(EscapeKind.YIELDED), trace.holder)
        if not release_sites:
            return Fate(Outcome.LEAKED, "never released", trace.holder)
        loop = self._enclosing_loop(acquisition.call, acquisition.function)
        while loop is not None:
            if self._created_lazily(acquisition.call, trace.holder, loop):
                loop = None  # `if pool is None: pool = Executor()`: made once, on first need
            elif self._leaves_once_made(acquisition.call, loop, acquisition.function):
                # `try: f = open(p, "x") / except FileExistsError: sleep() / else: break`:
                # made once, then the loop is left; a loop around it may still repeat.
                loop = self._enclosing_loop(loop, acquisition.function)
            else:
                break
        if loop is not None:
            giving_back = self._giving_back_loops(acquisition, loop, trace.releases)
            if giving_back:
                # The loop that gives the permits back is their release.
                trace = replace(trace, releases=giving_back)
                release_sites = tuple(trace.with_releases) + tuple(giving_back)
                loop = None
        if (
            loop is not None
            and not trace.element_released
            and not any(is_within(self.facts, site, loop) for site in release_sites)
        ):
            # (Each one put into a container whose elements are all released after
            # the loop is released with them: `socks.append(s)`, `for s in socks:
            # s.close()`, even when the second loop reuses the name.)
            return Fate(Outcome.LOOP_LEAK, "created in a loop", trace.holder, release_sites)
        if trace.element_released:
            return Fate(
                Outcome.RELEASED,
                "its container's elements are released",
                trace.holder,
                release_sites,
            )
        if trace.with_releases:
            return Fate(
                Outcome.RELEASED, "with", trace.holder, release_sites, released_by_with=True
            )
        return self._release_safety(acquisition, trace, release_sites)

    def _exhausted(self, loop: cst.For, holder: str | None) -> Fate:
        """A resource that closes itself when a `for` loop runs it to the end: released
        when the loop ends normally; a `break` or `return` in its body leaves it open
        on that path (RG301's partial release), and a body that can raise (or yield to
        a consumer who may stop) leaves it open on the exception path."""
        sites = (loop,)
        leaving = _leaves_loop(loop)
        if leaving is not None:
            return Fate(
                Outcome.PARTIAL,
                "closed only when the loop runs to its end",
                holder,
                sites,
                open_exit=leaving,
            )
        yields = any(
            isinstance(node, (cst.Yield, cst.Await)) for node in walk(loop.body)
        ) or isinstance(loop.asynchronous, cst.Asynchronous)
        raising = self.paths.raising
        quiet = all(
            raising.harmless(statement)
            or (
                isinstance(statement, cst.SimpleStatementLine)
                and all(
                    isinstance(small, cst.Continue) or raising.harmless_small(small)
                    for small in statement.body
                )
            )
            for statement in block_statements(loop.body)
        )
        if quiet and not yields:
            return Fate(Outcome.RELEASED, "closed by running it to the end", holder, sites)
        return Fate(
            Outcome.UNSAFE_RELEASE,
            "closed only when the loop runs to its end",
            holder,
            sites,
            unsafe_release=loop,
            after_yield=yields,
            closed_by_exhaustion=True,
        )

    def _release_safety(
        self, acquisition: Acquisition, trace: Trace, release_sites: tuple[cst.CSTNode, ...]
    ) -> Fate:
        safety = self.safety
        statement = self._statement_in_function(acquisition.call)
        if isinstance(statement, cst.SimpleStatementLine) and any(
            is_within(self.facts, site, statement) for site in trace.releases
        ):
            return Fate(Outcome.RELEASED, "closed at once", trace.holder, release_sites)
        releases = self.paths.releases_of(
            statement, acquisition.function, trace.releases, trace.holder, acquisition.callee
        )
        for site in trace.releases:
            if safety.released_right_after(site, statement, releases):
                return Fate(
                    Outcome.RELEASED,
                    "released before anything can raise",
                    trace.holder,
                    release_sites,
                )
            if safety.covered_by_finally(site, acquisition.call, statement, releases):
                return Fate(Outcome.RELEASED, "finally", trace.holder, release_sites)
        function = acquisition.function
        if isinstance(function, cst.FunctionDef) and (
            decorator_names(self.facts, function) & _FIXTURE_DECORATORS
        ):
            # pytest runs a fixture's teardown even when the test fails.
            return Fate(Outcome.RELEASED, "pytest fixture teardown", trace.holder, release_sites)
        open_exit = self.paths.path_without_release(statement, function, releases)
        if open_exit is not None:
            return Fate(
                Outcome.PARTIAL,
                "not released on every path",
                trace.holder,
                release_sites,
                open_exit=open_exit,
            )
        handled = [
            site
            for site in trace.releases
            if safety.in_catch_all(site, acquisition.call, statement, releases, trace.releases)
        ]
        if handled:
            # Closed in a handler that catches everything (`except BaseException: ...;
            # raise`, or one that goes on) and on every normal path.
            return Fate(Outcome.RELEASED, "released on every path", trace.holder, release_sites)
        normal = [site for site in trace.releases if not safety.in_handler(site)]
        first = min(normal or trace.releases, key=lambda node: self.facts.position(node).start.line)
        after_yield = self._yield_between(statement, first, function)
        return Fate(
            Outcome.UNSAFE_RELEASE,
            "not exception-safe",
            trace.holder,
            release_sites,
            unsafe_release=first,
            after_yield=after_yield,
        )

    def _statement_in_function(self, node: cst.CSTNode) -> cst.BaseStatement:
        statement = self.facts.statement_of(node)
        assert statement is not None
        return statement

    def _enclosing_loop(self, node: cst.CSTNode, function: FunctionNode) -> cst.CSTNode | None:
        """The loop whose body runs node on every pass (a comprehension is not one)."""
        child: cst.CSTNode = node
        for ancestor in self.facts.ancestors(node):
            if ancestor is function:
                return None
            if isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
                return ancestor
            if isinstance(ancestor, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
                return None
            child = ancestor
        return None

    def _giving_back_loops(
        self, acquisition: Acquisition, loop: cst.CSTNode, releases: list[cst.CSTNode]
    ) -> list[cst.CSTNode]:
        """For permits taken in one loop and given back in another (`while ...: await
        sem.acquire(); taken += 1`, then `for _ in range(taken): sem.release()`), the
        loops that give them back, one per release (else none). Each pass of the first
        loop takes one more permit of the same receiver and each pass of the other gives
        one back, so the loop does not make all but the last leak, as it does for a value
        built anew on each pass; whether every path reaches the giving-back loop is then
        judged as for a single permit. How many passes each loop makes is not compared.

        A giving-back loop lies outside the taking loop and inside every loop around it
        (a loop around both, `for batch in batches:`, takes and gives back on each of its
        passes), and each of its passes gives one back on every path."""
        if not acquisition.kind.takes_permit:
            return []
        function = acquisition.function
        loops: list[cst.CSTNode] = []
        for site in releases:
            outer = None
            inner = self._enclosing_loop(site, function)
            while (
                inner is not None
                and not is_within(self.facts, inner, loop)
                and not is_within(self.facts, loop, inner)
            ):
                outer, inner = inner, self._enclosing_loop(inner, function)
            if outer is None or not self._gives_back_each_pass(outer, site):
                return []
            loops.append(outer)
        return loops

    def _gives_back_each_pass(self, loop: cst.CSTNode, site: cst.CSTNode) -> bool:
        """A loop whose body is simple statements that cannot raise or leave, one of
        them the release itself (`for _ in range(taken): sem.release()`)."""
        if not isinstance(loop, (cst.For, cst.While)) or loop.orelse is not None:
            return False
        released = False
        for statement in block_statements(loop.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                return False
            for small in statement.body:
                if _is_release_statement(small, site):
                    released = True
                elif not self.paths.raising.harmless_small(small):
                    return False
        return released

    def _created_lazily(
        self, call: cst.Call | cst.Attribute, holder: str | None, loop: cst.CSTNode
    ) -> bool:
        """The acquisition sits under `if x is None:` / `if not x:` on its own holder,
        inside the loop (around an inner retry loop too)."""
        if holder is None:
            return False
        child: cst.CSTNode = call
        for ancestor in self.facts.ancestors(call):
            if ancestor is loop:
                return False
            if (
                isinstance(ancestor, cst.If)
                and child is ancestor.body
                and any(tests_missing(node, holder) for node in walk(ancestor.test))
            ):
                return True
            child = ancestor
        return False

    def _leaves_once_made(
        self, call: cst.Call | cst.Attribute, loop: cst.CSTNode, function: FunctionNode
    ) -> bool:
        """Whether every path on from the acquisition leaves the loop: by `return` or
        `raise`, or by a `break` of that loop (a `break` of a loop inside it goes on
        after that one), with no `continue` and no other loop on the way, also through
        a `try`'s `else`. Inside a `try` body whose handlers may go round again, what
        comes before the leaving statement must not raise. Then it is made at most once
        per run of the loop."""
        statement = self.facts.statement_of(call)
        if statement is None:
            return False
        smalls = list(small_statements(statement))
        small = next((s for s in smalls if is_within(self.facts, call, s)), None)
        if small is None:
            return False
        # The small statements after the acquiring one, on its own line.
        following: list[cst.CSTNode] = list(smalls[smalls.index(small) + 1 :])
        node: cst.CSTNode = statement
        while node is not loop:
            block = self.facts.parent(node)
            if block is None:
                return False
            if not isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                node = block  # an `elif`: on from the `if` it belongs to
                continue
            siblings = list(block_statements(block))
            if node in siblings:
                following += siblings[siblings.index(node) + 1 :]
            owner = self.facts.parent(block)
            in_try = owner if isinstance(owner, cst.Try) and owner.body is block else None
            leaving = self._leaves_first(following, self._guarded(node, loop))
            if leaving is None and in_try is not None and in_try.orelse is not None:
                leaving = self._leaves_first(list(block_statements(in_try.orelse.body)), False)
            following = []
            if leaving is _Leaving.OUT:
                return True
            if leaving is _Leaving.BLOCKED:
                return False
            if leaving is _Leaving.BREAK:
                inner = self._enclosing_loop(node, function)
                if inner is None or inner is loop:
                    return True
                node = inner  # on after the inner loop, whose `else` the break skips
                continue
            if isinstance(owner, (cst.For, cst.While)):
                return False  # the end of an inner loop's body: it goes round again
            if isinstance(owner, (cst.Else, cst.ExceptHandler, cst.Finally)):
                owner = self.facts.parent(owner)
            if owner is None:
                return False
            node = owner
        return False

    def _guarded(self, node: cst.CSTNode, loop: cst.CSTNode) -> bool:
        """Whether node is in the body of a `try` (inside the loop) whose handlers may go
        round again: what raises there comes back to the loop."""
        child: cst.CSTNode = node
        for ancestor in self.facts.ancestors(node):
            if ancestor is loop:
                return False
            if isinstance(ancestor, cst.Try) and child is ancestor.body and _may_go_round(ancestor):
                return True
            child = ancestor
        return False

    def _leaves_first(self, statements: list[cst.CSTNode], guarded: bool) -> _Leaving | None:
        """How the statements leave: OUT (`return`, or `raise` unless `guarded`), BREAK,
        BLOCKED when something may skip that (a `continue`, a loop, or, `guarded`, a
        statement that may raise into a handler); None when they run through."""
        raising = self.paths.raising
        for statement in statements:
            if any(isinstance(n, (cst.Continue, cst.For, cst.While)) for n in walk(statement)):
                return _Leaving.BLOCKED
            smalls = list(small_statements(statement))
            for small in smalls or [statement]:
                if isinstance(small, cst.Break):
                    return _Leaving.BREAK
                if isinstance(small, cst.Return):
                    return _Leaving.OUT
                if isinstance(small, cst.Raise):
                    return _Leaving.BLOCKED if guarded else _Leaving.OUT
                if guarded and not (
                    raising.harmless_small(small) if smalls else raising.harmless(small)
                ):
                    return _Leaving.BLOCKED
        return None

    def _yield_between(
        self, statement: cst.BaseStatement, release: cst.CSTNode, function: FunctionNode
    ) -> bool:
        """Whether the function yields between the acquisition and the release (by line)."""
        start = self.facts.position(statement).start.line
        end = self.facts.position(release).start.line
        for node in walk(function):
            if isinstance(node, cst.Yield) and self.facts.enclosing_function(node) is function:
                line = self.facts.position(node).start.line
                if start <= line <= end:
                    return True
        return False


class _Leaving(enum.Enum):
    """How statements after an acquisition in a loop leave it (`_leaves_first`)."""

    OUT = "return or raise"
    BREAK = "break"
    BLOCKED = "something may skip the leaving"


def _may_go_round(statement: cst.Try) -> bool:
    """Whether a handler of the `try` may end without leaving: then the loop around it
    may run its body, and the acquisition, again."""
    for handler in statement.handlers:
        statements = list(block_statements(handler.body))
        last = statements[-1] if statements else None
        smalls = list(small_statements(last)) if last is not None else []
        if not smalls or not isinstance(smalls[-1], (cst.Return, cst.Raise, cst.Break)):
            return True
    return False


def _is_release_statement(small: cst.BaseSmallStatement, site: cst.CSTNode) -> bool:
    """`sem.release()` (or `await lock.release()`) as a statement of its own, not a
    part of one that may skip it (`keep or sem.release()`)."""
    if not isinstance(small, cst.Expr):
        return False
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    return isinstance(value, cst.Call) and (value is site or value.func is site)


def _leaves_loop(loop: cst.For) -> cst.CSTNode | None:
    """The first `break` of this loop or `return` in its body (not in a nested function;
    a `break` of a nested loop leaves only that loop)."""
    stack: list[tuple[cst.CSTNode, bool]] = [(loop.body, False)]
    found: list[cst.CSTNode] = []
    while stack:
        node, nested_loop = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        if isinstance(node, cst.Return) or (isinstance(node, cst.Break) and not nested_loop):
            found.append(node)
            continue
        inner = nested_loop or isinstance(node, (cst.For, cst.While))
        stack.extend((child, inner) for child in reversed(node.children))
    return found[0] if found else None


def _escaped(escape: Escape, holder: str | None, stored: StoredAttribute | None = None) -> Fate:
    return Fate(Outcome.ESCAPED, escape.reason, holder, stored=stored, escape=escape)
