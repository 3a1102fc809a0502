"""Small questions of the LibCST tree that the cache analysis asks everywhere.

What a local name was bound from, what a call passes for a parameter, which
statements run at a body's level: stateless answers from the module's facts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst
from libcst.metadata.scope_provider import Assignment, FunctionScope

from runguard_lint.analysis.dict_uses import CONTAINER_PARTS
from runguard_lint.analysis.names import ModuleFacts, dotted_name
from runguard_lint.analysis.tree import children


def bound_nodes(facts: ModuleFacts, name: cst.Name) -> list[cst.CSTNode]:
    """The nodes that bind what a loaded name may refer to (Param, FunctionDef, Name...)."""
    return [
        assignment.node
        for assignment in facts.assignments_of(name)
        if isinstance(assignment, Assignment)
    ]


def bound_value(facts: ModuleFacts, name: cst.Name) -> cst.BaseExpression | None:
    """The expression a local name is bound from (the iterable for loop variables)."""
    child: cst.CSTNode = name
    parent = facts.parent(name)
    while isinstance(parent, CONTAINER_PARTS):
        child, parent = parent, facts.parent(parent)
    if isinstance(parent, cst.AssignTarget):
        statement = facts.parent(parent)
        return statement.value if isinstance(statement, cst.Assign) else None
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
        return parent.value
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is child:
        return parent.iter
    if isinstance(parent, cst.AsName):
        item = facts.parent(parent)
        return item.item if isinstance(item, cst.WithItem) else None
    return None


def binding_values(facts: ModuleFacts, name: cst.Name) -> list[cst.BaseExpression] | None:
    """What every binding of a loaded name is bound from; None when one of them is not
    a value (a parameter, an import, a `def`, `except ... as`)."""
    values: list[cst.BaseExpression] = []
    for assignment in facts.assignments_of(name):
        node = assignment.node if isinstance(assignment, Assignment) else None
        value = bound_value(facts, node) if isinstance(node, cst.Name) else None
        if value is None:
            return None
        values.append(value)
    return values


def local_sources(facts: ModuleFacts, name: cst.Name) -> list[cst.BaseExpression]:
    """What a name was bound from in a function (assignments, loops, `with ... as`)."""
    sources: list[cst.BaseExpression] = []
    for assignment in facts.assignments_of(name):
        if (
            isinstance(assignment, Assignment)
            and isinstance(assignment.scope, FunctionScope)
            and isinstance(assignment.node, cst.Name)
        ):
            bound = bound_value(facts, assignment.node)
            if bound is not None:
                sources.append(bound)
    return sources


def local_value(facts: ModuleFacts, expression: cst.BaseExpression) -> cst.BaseExpression:
    """What a local name was bound from (`key = (func, False)`), else the expression."""
    if not isinstance(expression, cst.Name):
        return expression
    assignments = list(facts.assignments_of(expression))
    if (
        len(assignments) != 1
        or not isinstance(assignments[0], Assignment)
        or not isinstance(assignments[0].scope, FunctionScope)
        or not isinstance(assignments[0].node, cst.Name)
    ):
        return expression
    value = bound_value(facts, assignments[0].node)
    return value if value is not None else expression


def param_references(facts: ModuleFacts, param: cst.Param) -> list[cst.Name]:
    """Every load of a parameter in its function."""
    scope = facts.scope(param)
    if scope is None:
        return []
    for assignment in scope.assignments[param.name.value]:
        if isinstance(assignment, Assignment) and assignment.node is param:
            return [
                access.node for access in assignment.references if isinstance(access.node, cst.Name)
            ]
    return []


def positional_params(function: cst.FunctionDef) -> list[cst.Param]:
    return [*function.params.posonly_params, *function.params.params]


def first_param_is(function: cst.FunctionDef, param: cst.Param) -> bool:
    """Whether param is the first positional parameter (`self`, `cls`)."""
    positional = positional_params(function)
    return bool(positional) and positional[0] is param


def arguments_for(
    call: cst.Call, function: cst.FunctionDef, param: cst.Param, *, skip_first: bool = False
) -> list[cst.BaseExpression] | None:
    """What a call passes for param (its default when omitted), or None when unknown.

    skip_first: the call binds the first parameter itself (`self._m(x)`, `cls._m(x)`).
    """
    if any(arg.star for arg in call.args):
        return None
    positional_args = [arg.value for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    params = function.params
    positional = positional_params(function)
    if skip_first:
        if not positional or positional[0] is param:
            return None
        positional = positional[1:]
    named = [*positional, *params.kwonly_params]
    if param is params.star_arg:
        return positional_args[len(positional) :]
    if param is params.star_kwarg:
        names = {other.name.value for other in named}
        return [value for keyword, value in keywords.items() if keyword not in names]
    for index, candidate in enumerate(named):
        if candidate is not param:
            continue
        if index < len(positional) and index < len(positional_args):
            return [positional_args[index]]
        if param.name.value in keywords:
            return [keywords[param.name.value]]
        return [param.default] if param.default is not None else None
    return None


def own_nodes(function: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """Nodes of a function's body, not descending into nested defs, lambdas or classes."""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        yield node
        for child in children(node):
            if not isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                stack.append(child)


def flatten(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Statements of a body, looking into if/try/with blocks at the same level."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.If):
            yield from flatten(block(statement.body))
            if statement.orelse is not None:
                yield from flatten(
                    [statement.orelse]
                    if isinstance(statement.orelse, cst.If)
                    else block(statement.orelse.body)
                )
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            yield from flatten(block(statement.body))
            for handler in statement.handlers:
                yield from flatten(block(handler.body))
            if statement.orelse is not None:
                yield from flatten(block(statement.orelse.body))
            if statement.finalbody is not None:
                yield from flatten(block(statement.finalbody.body))
        elif isinstance(statement, cst.With):
            yield from flatten(block(statement.body))


def block(body: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []


def under_main_guard(facts: ModuleFacts, node: cst.CSTNode) -> bool:
    """Whether node runs under `if __name__ == "__main__":` (a script, not a server)."""
    return any(
        isinstance(ancestor, cst.If) and _is_main_guard(ancestor.test)
        for ancestor in facts.ancestors(node)
    )


def _is_main_guard(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = [side for side in sides if isinstance(side, cst.Name) and side.value == "__name__"]
    strings = [
        side
        for side in sides
        if isinstance(side, cst.SimpleString) and side.evaluated_value == "__main__"
    ]
    return bool(names and strings) and isinstance(test.comparisons[0].operator, cst.Equal)


def is_staticmethod(function: cst.FunctionDef) -> bool:
    return "staticmethod" in decorator_words(function)


def decorator_words(function: cst.FunctionDef) -> set[str]:
    """The last names of a function's decorators, as written (`classmethod`, `cache`)."""
    words: set[str] = set()
    for decorator in function.decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        dotted = dotted_name(expression)
        if dotted:
            words.add(dotted.rsplit(".", 1)[-1])
    return words


def table_lookup(node: cst.CSTNode) -> cst.BaseExpression | None:
    """The table of `table[key]` or `table.get(key, ...)` over a plain name, else None."""
    if isinstance(node, cst.Subscript):
        table = node.value
    elif (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get"
        and node.args
    ):
        table = node.func.value
    else:
        return None
    return table if dotted_name(table) is not None else None
