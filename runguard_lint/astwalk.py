"""The children of a stdlib `ast` node, fast, for walks that look for statements,
calls, names and attributes.

`ast.iter_child_nodes` is a generator over every field, and the prefilter and the
fact pass ask it of every node of most files. This answers the same nodes in the
same order, as a list, reading only the fields that can hold one per node type,
and leaving out the expression contexts and operators (`Load()`, `Add()`): they are
nodes, but no walk here asks about them, and they are a third of all nodes.
"""

from __future__ import annotations

import ast

# Fields that hold no node (names, flags), or only a context or an operator.
_NOT_CHILDREN = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "id",
        "attr",
        "arg",
        "name",
        "asname",
        "kind",
        "type_comment",
        "level",
        "module",
        "is_async",
        "conversion",
        "simple",
        "tag",
    }
)
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def children(node: ast.AST) -> list[ast.AST]:
    """`list(ast.iter_child_nodes(node))` without contexts and operators."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = tuple(name for name in node._fields if name not in _NOT_CHILDREN)
        _CHILD_FIELDS[type(node)] = fields
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found
