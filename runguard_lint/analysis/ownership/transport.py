"""Clients built on a transport they are given: `OpenAI(http_client=shared)`.

Closing such a client would close the shared pool, so the client does not own
what it holds and nobody here has to close it. That holds only when the
transport is surely given: an optional one (`self.http_client`, which may be
None) leaves the client building, and owning, its own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership.acquisitions import AcquisitionFinder
from runguard_lint.analysis.ownership.handoff import Handoffs
from runguard_lint.analysis.ownership.model import Acquisition
from runguard_lint.analysis.syntax import is_none, target_names
from runguard_lint.analysis.tree import walk
from runguard_lint.wordmatch import is_capwords


class _Given(enum.Enum):
    """A value known not to be None without knowing which (given, or made just before)."""

    GIVEN = "given"


_NOT_FOUND = object()


class BorrowedTransports:
    """Tells whether an acquisition wraps a transport that someone else owns."""

    def __init__(self, facts: ModuleFacts, finder: AcquisitionFinder, handoffs: Handoffs) -> None:
        self.facts = facts
        self.finder = finder
        self.handoffs = handoffs

    def wraps_borrowed(self, acquisition: Acquisition) -> bool:
        """Whether the acquiring call is surely given its transport by a keyword."""
        keywords = acquisition.kind.transport_keywords
        if not keywords or not acquisition.by_call:
            return False
        for keyword, value in self._keyword_values(acquisition.constructor):
            if keyword in keywords:
                return self._surely_borrowed(value, acquisition)
        return False

    def _surely_borrowed(self, value: cst.BaseExpression, acquisition: Acquisition) -> bool:
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            if isinstance(value.right, cst.Call):
                # `shared or httpx.Client()`: the fallback is made here, owned with it
                return self._surely_borrowed(value.right, acquisition)
            return self._surely_borrowed(value.right, acquisition) or not is_none(value.right)
        if isinstance(value, cst.Call):
            # a transport made right here is owned with the client; a factory's is shared
            return not self._builds_own(value, acquisition)
        if isinstance(value, cst.Name) and not is_none(value):
            if self._made_here(value, acquisition):
                return False
            if self._tested_not_none(value):
                return True
            before = self._value_before(value)
            if before is _Given.GIVEN:
                return True
            if isinstance(before, cst.BaseExpression):
                return self._surely_borrowed(before, acquisition)
            for assignment in self.facts.assignments_of(value):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.Param) and node.annotation is not None:
                    text = cst.Module([]).code_for_node(node.annotation.annotation)
                    return "None" not in text and "Optional" not in text
        return False

    def _tested_not_none(self, name: cst.Name) -> bool:
        """Inside `if name is not None:` (or `if name:`, `elif ...`), in its body."""
        child: cst.CSTNode = name
        for ancestor in self.facts.ancestors(name):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if (
                isinstance(ancestor, cst.If)
                and child is ancestor.body
                and _tests_not_none(ancestor.test, name.value)
            ):
                return True
            child = ancestor
        return False

    def _value_before(self, name: cst.Name) -> cst.BaseExpression | _Given | None:
        """What `name` holds where it is loaded, from the statements before it in its
        block: the value of the last plain assignment, or GIVEN after
        `if name is None: name = ...` (given or made there, never None); None when
        unknown (no binding in the block, or one inside another compound statement).
        A `try` whose handlers all re-raise counts as its body."""
        statement: cst.CSTNode | None = self.facts.statement_of(name)
        while statement is not None:
            block = self.facts.parent(statement)
            if not isinstance(block, cst.IndentedBlock):
                return None
            found = self._before_in_block(block, statement, name)
            if found is not _NOT_FOUND:
                return found  # type: ignore[return-value]
            # Not bound in this block: look before the `if`/`with`/`try` around it (a
            # loop may rebind it on an earlier iteration, a function is another scope).
            statement = self._compound_around(block)
        return None

    def _compound_around(self, block: cst.IndentedBlock) -> cst.CSTNode | None:
        owner = self.facts.parent(block)
        while isinstance(owner, (cst.Else, cst.If, cst.ExceptHandler, cst.Finally)) and not (
            isinstance(owner, cst.If) and isinstance(self.facts.parent(owner), cst.IndentedBlock)
        ):
            owner = self.facts.parent(owner)  # `elif`/`else`/handlers: up to the statement
        if isinstance(owner, (cst.If, cst.With, cst.Try)):
            return owner
        return None

    def _before_in_block(
        self, block: cst.IndentedBlock, statement: cst.CSTNode, name: cst.Name
    ) -> cst.BaseExpression | _Given | object | None:
        """`_value_before` within one block, or _NOT_FOUND when the block does not
        bind the name before the statement."""
        index = next((i for i, s in enumerate(block.body) if s is statement), None)
        for previous in reversed(block.body[: index or 0]):
            found = _assigned_in(previous, name.value)
            if found is not None:
                return found
            if isinstance(previous, cst.If) and _tests_none(previous.test, name.value):
                if _assigned_in_block(previous.body, name.value) is not None:
                    return _Given.GIVEN
                return None
            if isinstance(previous, cst.Try) and all(
                _ends_in_raise(handler.body) for handler in previous.handlers
            ):
                found = _assigned_in_block(previous.body, name.value)
                if found is not None:
                    return found
            if _binds(previous, name.value):
                return None
        return _NOT_FOUND

    def _keyword_values(self, call: cst.Call) -> Iterator[tuple[str, cst.BaseExpression]]:
        """Keyword arguments, also from `**{"k": v}` and `**name` bound to a dict literal."""
        for argument in call.args:
            if argument.keyword is not None:
                yield argument.keyword.value, argument.value
            elif argument.star == "**":
                yield from self._dict_items(argument.value)

    def _dict_items(self, value: cst.BaseExpression) -> Iterator[tuple[str, cst.BaseExpression]]:
        literals: list[cst.Dict] = []
        if isinstance(value, cst.Dict):
            literals.append(value)
        elif isinstance(value, cst.Name):
            for assignment in self.facts.assignments_of(value):
                target = self.facts.parent(getattr(assignment, "node", None) or value)
                assign = self.facts.parent(target) if isinstance(target, cst.AssignTarget) else None
                if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Dict):
                    literals.append(assign.value)
        for literal in literals:
            for element in literal.elements:
                if isinstance(element, cst.DictElement) and isinstance(
                    element.key, cst.SimpleString
                ):
                    key = element.key.evaluated_value
                    if isinstance(key, str):
                        yield key, element.value

    def _made_here(self, name: cst.Name, acquisition: Acquisition) -> bool:
        """Whether a local name is bound in the acquiring function to a transport the
        client owns (`_builds_own`)."""
        for assignment in self.facts.assignments_of(name):
            node = getattr(assignment, "node", None)
            if not isinstance(node, cst.Name):
                continue
            if self.facts.enclosing_function(node) is not acquisition.function:
                continue
            target = self.facts.parent(node)
            assign = self.facts.parent(target) if isinstance(target, cst.AssignTarget) else None
            value = assign.value if isinstance(assign, cst.Assign) else None
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call) and self._builds_own(value, acquisition):
                return True
        return False

    def _builds_own(self, call: cst.Call, acquisition: Acquisition) -> bool:
        """A catalog acquisition or a class's instance, built right there: the client's
        own, unless it never owns what it is given (`owns_built_transports`). A
        function's may be shared (`get_transport()` caching one per event loop), so it
        is taken as handed in."""
        if not acquisition.kind.owns_built_transports:
            return False  # it never closes what it is given
        if self.finder.resolve_kind(call, project=False)[0] is not None:
            return True
        if self.finder.resolve_kind(call)[0] is not None:
            # A project factory's, which its owner may keep and close (the project's
            # own catalog entries count as classes to `is_class`).
            return False
        # A class, also one imported under another name (`from httpx import
        # HTTPTransport as T`): the name it resolves to tells.
        return self.handoffs.is_class(call.func) or any(
            is_capwords(name.rsplit(".", 1)[-1]) for name in self.facts.external_names(call.func)
        )


def _tests_not_none(test: cst.BaseExpression, name: str) -> bool:
    """`name is not None`, or `name` itself, as an `if` test."""
    if isinstance(test, cst.Name):
        return test.value == name
    return _compares_to_none(test, name, cst.IsNot)


def _tests_none(test: cst.BaseExpression, name: str) -> bool:
    """`name is None`, or `not name`, as an `if` test."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, cst.Name) and test.expression.value == name
    return _compares_to_none(test, name, cst.Is)


def _compares_to_none(test: cst.BaseExpression, name: str, operator: type) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == name
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, operator)
        and is_none(test.comparisons[0].comparator)
    )


def _assigned_in(statement: cst.BaseStatement, name: str) -> cst.BaseExpression | None:
    """The value of `name = value` when statement is that plain assignment line."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in reversed(statement.body):
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == name
        ):
            return small.value
    return None


def _assigned_in_block(body: cst.BaseSuite, name: str) -> cst.BaseExpression | None:
    """The last plain `name = value` directly in a block, if nothing else there binds it."""
    if not isinstance(body, cst.IndentedBlock):
        return None
    for statement in reversed(body.body):
        found = _assigned_in(statement, name)
        if found is not None:
            return found
        if _binds(statement, name):
            return None
    return None


def _ends_in_raise(body: cst.BaseSuite) -> bool:
    last = body.body[-1] if isinstance(body, cst.IndentedBlock) and body.body else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Raise)


_BINDERS = (
    cst.AssignTarget,
    cst.AnnAssign,
    cst.AugAssign,
    cst.NamedExpr,
    cst.For,
    cst.CompFor,
)


def _binds(statement: cst.CSTNode, name: str) -> bool:
    """Whether any assignment, loop or `with ... as` in statement may bind name."""
    targets: list[cst.CSTNode] = []
    for node in walk(statement):
        if isinstance(node, _BINDERS):
            targets.append(node.target)
        elif isinstance(node, cst.AsName):
            targets.append(node.name)
    return any(
        bound.value == name
        for target in targets
        if isinstance(target, cst.BaseExpression)
        for bound in target_names(target)
    )
