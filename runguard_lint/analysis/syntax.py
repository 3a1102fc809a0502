"""Small questions about the shape of LibCST syntax, with no knowledge of resources.

They answer from the nodes alone (and, for `is_within`, the parent map), so the
ownership components can share them instead of each keeping a private copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts


def terminal_name(func: cst.BaseExpression) -> str | None:
    """The last name of a callee (`open`, `client.close` -> `close`), else None."""
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def is_self(function: cst.FunctionDef, name: cst.Name) -> bool:
    """Whether name is the instance parameter of a method (not of a static/class method)."""
    params = function.params.params
    if not params or params[0].name.value != name.value:
        return False
    return not any(
        isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
        for d in function.decorators
    )


def is_within(facts: ModuleFacts, node: cst.CSTNode, container: cst.CSTNode) -> bool:
    """Whether node is container or lies inside it."""
    if node is container:
        return True
    return any(ancestor is container for ancestor in facts.ancestors(node))


def block_statements(block: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The statements a block runs in order; a one-line suite counts as one statement."""
    if isinstance(block, (cst.IndentedBlock, cst.Module)):
        return block.body
    if isinstance(block, cst.SimpleStatementSuite):
        return [block]
    if isinstance(block, (cst.Else, cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler)):
        return block_statements(block.body)
    return []


def small_statements(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The `;`-separated statements of a simple line or suite; nothing for compound ones."""
    if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        yield from statement.body


def methods(class_def: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    """The functions defined directly in a class body."""
    for statement in class_def.body.body:
        if isinstance(statement, cst.FunctionDef):
            yield statement


def target_names(target: cst.BaseExpression) -> list[cst.Name]:
    """The names an assignment or `for` target binds (`p`, `i, p`, `a, *rest`); never
    `x.attr` or `x[k]`: those rebind nothing."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        names: list[cst.Name] = []
        for element in target.elements:
            names.extend(target_names(element.value))
        return names
    return []


def root_name(node: cst.BaseExpression) -> cst.Name | None:
    """The name an attribute chain starts from (`self` of `self.a.b`), or node itself
    when it is a name; None when the chain starts from anything else (a call)."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node if isinstance(node, cst.Name) else None


def is_none(node: cst.BaseExpression) -> bool:
    """The literal `None` (a keyword, so its name is enough)."""
    return isinstance(node, cst.Name) and node.value == "None"


def tests_missing(test: cst.CSTNode, name: str) -> bool:
    """`name is None`, `name == None` or `not name`: a test that holds when the local
    has nothing in it."""
    if isinstance(test, cst.Comparison):
        return (
            isinstance(test.left, cst.Name)
            and test.left.value == name
            and any(
                isinstance(t.operator, (cst.Is, cst.Equal)) and is_none(t.comparator)
                for t in test.comparisons
            )
        )
    return (
        isinstance(test, cst.UnaryOperation)
        and isinstance(test.operator, cst.Not)
        and isinstance(test.expression, cst.Name)
        and test.expression.value == name
    )


# Statements that leave a block: what a handler ends with when its `try` only guards.
LEAVING = (cst.Return, cst.Raise, cst.Continue, cst.Break)


def guards_only(
    try_node: cst.Try,
    body: cst.CSTNode,
    leaving: tuple[type[cst.BaseSmallStatement], ...] = (cst.Return, cst.Raise),
    *,
    with_else: bool = False,
) -> bool:
    """A `try` entered from its body, with no `else` (unless `with_else`) or `finally`,
    every handler of which ends by leaving (`leaving`: the function, by default): after
    it, and in its `else`, what its body did last is done (`try: f = open(p)` / `except
    OSError: raise Missing(p)`)."""
    if try_node.body is not body or (try_node.orelse is not None and not with_else):
        return False
    if try_node.finalbody is not None:
        return False
    for handler in try_node.handlers:
        statements = block_statements(handler.body)
        last = statements[-1] if statements else None
        if not (
            isinstance(last, cst.SimpleStatementLine)
            and any(isinstance(small, leaving) for small in last.body)
        ):
            return False
    return bool(try_node.handlers)
