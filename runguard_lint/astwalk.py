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
from collections import deque
from collections.abc import Iterator
from typing import Union, cast

# Fields that hold no node (names, flags), or only a context or an operator. (`name`
# is read: a string on most nodes, but a `Name` on a `type X = ...` statement.)
_NOT_CHILDREN = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "id",
        "attr",
        "arg",
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
# List fields that may hold something other than a node: `None` for `**d` in a dict
# display and for a keyword-only argument without a default, names as strings.
_MIXED_LISTS = frozenset(
    {
        ("Dict", "keys"),
        ("arguments", "kw_defaults"),
        ("Global", "names"),
        ("Nonlocal", "names"),
        ("MatchClass", "kwd_attrs"),
    }
)
# Node type -> (field, how it holds children): None for one node (or None, or a plain
# value), True for a list of nodes, False for a list that may hold other things.
_CHILD_FIELDS: dict[type[ast.AST], tuple[tuple[str, bool | None], ...]] = {}


def children(node: ast.AST) -> list[ast.AST]:
    """`list(ast.iter_child_nodes(node))` without contexts and operators."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = _child_fields(node)
    found: list[ast.AST] = []
    for name, listed in fields:
        value = getattr(node, name, None)
        if listed is None:
            if isinstance(value, ast.AST):
                found.append(value)
        elif value:
            if listed:
                found += value
            else:
                found += [item for item in value if isinstance(item, ast.AST)]
    return found


def _child_fields(node: ast.AST) -> tuple[tuple[str, bool | None], ...]:
    """How a node type holds its children, learnt from its first node with every field
    set (a field is a list in every parsed node of a type, or in none; a node built by
    hand may leave one out, and teaches nothing)."""
    kind = type(node)
    names = [name for name in node._fields if name not in _NOT_CHILDREN]
    fields = tuple(
        (
            name,
            (kind.__name__, name) not in _MIXED_LISTS
            if isinstance(getattr(node, name, None), list)
            else None,
        )
        for name in names
    )
    if all(hasattr(node, name) for name in names):
        _CHILD_FIELDS[kind] = fields
    return fields


def walk(root: ast.AST) -> Iterator[ast.AST]:
    """Every node under root, root included: what `ast.walk` finds, less the contexts
    and operators, depth first (its order is not `ast.walk`'s)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


# The fields that hold statements, handlers or match cases, in the order `ast.walk`
# visits them (their order in `_fields`; no node has two of these but in this order).
_STATEMENT_LISTS = ("body", "handlers", "orelse", "finalbody", "cases")
# Node type -> those of the fields above it has (most statements have none).
_BLOCKS: dict[type[ast.AST], tuple[str, ...]] = {}
# The tree last asked about, and its imports (see `imports_in`).
_IMPORTS: list[tuple[ast.Module, tuple[ast.Import | ast.ImportFrom, ...]]] = []


def imports_in(tree: ast.Module) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of the module, nested ones too, in `ast.walk` order
    (breadth first), without walking a single expression: only statements, handlers
    and match cases can hold an import.

    The prefilter's import map, the module's summary and the names it imports all
    start from this list, asked of the same tree one after the other: it is made once
    and kept for the tree last asked about."""
    if _IMPORTS and _IMPORTS[0][0] is tree:
        return _IMPORTS[0][1]
    found: list[ast.Import | ast.ImportFrom] = []
    queue: deque[ast.AST] = deque([tree])
    while queue:
        node = queue.popleft()
        kind = type(node)
        if kind is ast.Import or kind is ast.ImportFrom:
            found.append(cast(Union[ast.Import, ast.ImportFrom], node))
            continue
        fields = _BLOCKS.get(kind)
        if fields is None:
            fields = _BLOCKS[kind] = block_fields(kind, _STATEMENT_LISTS)
        for name in fields:
            block = getattr(node, name, None)
            if block:
                queue.extend(block)
    imports = tuple(found)
    _IMPORTS[:] = [(tree, imports)]
    return imports


def block_fields(kind: type[ast.AST], names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of `names` that nodes of `kind` have, in the order of `names`: asked once
    per type by the walks over statements, which then read no field a node lacks."""
    return tuple(name for name in names if name in kind._fields)
