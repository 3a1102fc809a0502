"""Paths through a function that leave it without passing a release.

In the spirit of mypy's binder, the statements after a point are run through
abstractly: each one either leaves every path open (nothing released yet),
closes them all (a release, or a `finally` that releases), or ends one path by
leaving the function (`return`, `raise`). Branches join: a path stays open if
any branch leaves it open, and the first branch that leaves the function
unreleased is the answer. Loop bodies may run zero times, so a release inside
one does not close the path. Releases are given as the ids of their nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from runguard_lint.analysis.names import FunctionNode, ModuleFacts
from runguard_lint.analysis.syntax import block_statements
from runguard_lint.analysis.tree import walk


@dataclass(frozen=True)
class _Flow:
    """Whether paths remain open (unreleased) after some statements, or one left open."""

    open: bool
    exit: cst.CSTNode | None = None


class ReleasePaths:
    """Finds, within one module, a normal path that leaves a function unreleased."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

    def path_without_release(
        self, statement: cst.BaseStatement, function: FunctionNode, release_ids: set[int]
    ) -> cst.CSTNode | None:
        """A statement through which some normal path leaves the function unreleased.

        Walks the statements after the acquisition, then those after each
        enclosing compound statement, up to the end of the function. Returns
        the `return`/`raise` (or the function, for falling off its end) of the
        first path found that never releases, or None when every path does.
        """
        facts = self.facts
        current: cst.CSTNode = statement
        while True:
            block = facts.parent(current)
            if block is None:
                return None
            siblings = block_statements(block)
            index = next((i for i, s in enumerate(siblings) if s is current), None)
            if index is not None:
                flow = self._flow(siblings[index + 1 :], release_ids)
                if flow.exit is not None:
                    return flow.exit
                if not flow.open:
                    return None
            owner = facts.parent(block)
            while (
                owner is not None
                and not isinstance(owner, cst.BaseStatement)
                and not isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                owner = facts.parent(owner)
            if (
                owner is None
                or owner is function
                or isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                return function if not isinstance(function, cst.Lambda) else None
            current = owner

    def _flow(self, statements: Sequence[cst.CSTNode], release_ids: set[int]) -> _Flow:
        """Run through statements: does every path release before leaving?"""
        open_paths = True
        for statement in statements:
            if not open_paths:
                break
            step = self._statement_flow(statement, release_ids)
            if step.exit is not None:
                return step
            open_paths = step.open
        return _Flow(open=open_paths)

    def _statement_flow(self, statement: cst.CSTNode, release_ids: set[int]) -> _Flow:
        if isinstance(statement, cst.SimpleStatementLine):
            if _contains_release(statement, release_ids):
                return _Flow(open=False)
            for small in statement.body:
                if isinstance(small, (cst.Return, cst.Raise)):
                    return _Flow(open=False, exit=small)
            return _Flow(open=True)
        if isinstance(statement, cst.If):
            branches: list[Sequence[cst.CSTNode]] = [block_statements(statement.body)]
            orelse = statement.orelse
            if isinstance(orelse, cst.If):
                branches.append([orelse])
            elif isinstance(orelse, cst.Else):
                branches.append(block_statements(orelse.body))
            else:
                branches.append([])
            return self._branches(branches, release_ids)
        if isinstance(statement, (cst.With,)):
            return self._flow(block_statements(statement.body), release_ids)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            if statement.finalbody is not None and _contains_release(
                statement.finalbody, release_ids
            ):
                return _Flow(open=False)
            body = list(block_statements(statement.body))
            if statement.orelse is not None:
                body.extend(block_statements(statement.orelse.body))
            branches = [body] + [block_statements(h.body) for h in statement.handlers]
            return self._branches(branches, release_ids)
        if isinstance(statement, (cst.For, cst.While)):
            # The body may run zero times; a release inside it is not guaranteed.
            loop_body = self._flow(block_statements(statement.body), release_ids)
            if loop_body.exit is not None:
                return loop_body
            if statement.orelse is not None:
                return self._flow(block_statements(statement.orelse.body), release_ids)
            return _Flow(open=True)
        if isinstance(statement, cst.Match):
            branches = [block_statements(case.body) for case in statement.cases]
            branches.append([])
            return self._branches(branches, release_ids)
        return _Flow(open=True)

    def _branches(self, branches: Sequence[Sequence[cst.CSTNode]], release_ids: set[int]) -> _Flow:
        any_open = False
        for branch in branches:
            flow = self._flow(branch, release_ids)
            if flow.exit is not None:
                return flow
            any_open = any_open or flow.open
        return _Flow(open=any_open)


def _contains_release(node: cst.CSTNode, release_ids: set[int]) -> bool:
    return any(id(found) in release_ids for found in walk(node))
