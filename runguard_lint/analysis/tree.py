"""Children, walks and parents of a LibCST tree, at the speed of attribute reads.

LibCST's `CSTNode.children` runs the node's `_visit_and_replace_children`
with a collecting visitor, which rebuilds the node and dispatches visitor
callbacks for every field: on the files that reach LibCST, walking trees
that way was 80% of the time spent in the checks, and ParentNodeProvider a
third of the metadata time. Both only need each node's child fields in
lexical order, which is fixed per node class. So the order is learned once
per class, by running that same method with a visitor that records the
field names it is handed (`on_visit_attribute`, called for every field,
present or not) and descends nowhere; afterwards children are read straight
from the fields. The result is the same sequence `children` returns (tested
on every node of the fixtures and of real modules).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

# Per node class: the fields it visits in lexical order, and its other fields. A class
# may skip a field when it is empty (FormattedStringExpression's `format_spec`), so an
# instance holding a node in a field outside the order is read the slow way and
# teaches the order again.
_FIELDS: dict[type[cst.CSTNode], tuple[tuple[str, ...], tuple[str, ...]]] = {}
_IS_NODE: dict[type, bool] = {}

# Whitespace, comments, punctuation and operators: two nodes in three of a module, none
# of which holds a name, a string, a statement or an expression. No analysis asks about
# them, so the walks that serve the analyses (`index`, `analysis.contexts`, the scope
# walk of `analysis.names`) pass them by; the fixes, which edit them, use LibCST's own.
TRIVIA: frozenset[type] = frozenset(
    kind
    for kind in vars(cst).values()
    if isinstance(kind, type)
    and issubclass(
        kind,
        (
            cst.BaseParenthesizableWhitespace,
            cst.Newline,
            cst.Comment,
            cst.EmptyLine,
            cst.TrailingWhitespace,
            cst.Comma,
            cst.Dot,
            cst.Colon,
            cst.Semicolon,
            cst.AssignEqual,
            cst.LeftParen,
            cst.RightParen,
            cst.LeftSquareBracket,
            cst.RightSquareBracket,
            cst.LeftCurlyBrace,
            cst.RightCurlyBrace,
            cst.BaseBinaryOp,
            cst.BaseBooleanOp,
            cst.BaseCompOp,
            cst.BaseUnaryOp,
            cst.BaseAugOp,
        ),
    )
)


class _FieldRecorder(cst.CSTVisitor):
    """Collects the names of the fields a node visits, in order, without descending."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


def _learn(node: cst.CSTNode) -> tuple[tuple[str, ...], tuple[str, ...]]:
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    order = tuple(dict.fromkeys(recorder.fields))
    others = tuple(field.name for field in dataclasses.fields(node) if field.name not in set(order))
    known = _FIELDS.get(type(node))
    if known is None or set(known[0]) <= set(order):
        _FIELDS[type(node)] = (order, others)
    return order, others


def _is_node(value: object) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def _holds_node(value: object) -> bool:
    if type(value) is tuple or type(value) is list:
        return any(_is_node(item) for item in value)
    return _is_node(value)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's direct children in lexical order: what `node.children` returns."""
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _learn(node)
    order, others = fields
    for name in others:
        if _holds_node(getattr(node, name)):
            _learn(node)
            return list(node.children)
    found: list[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name)
        if type(value) is tuple or type(value) is list:
            found.extend(item for item in value if _is_node(item))
        elif _is_node(value):
            found.append(value)
    return found


def walk(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under root (root included), in lexical pre-order, without recursion."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def index(root: cst.CSTNode) -> tuple[list[cst.CSTNode], dict[cst.CSTNode, cst.CSTNode]]:
    """Every node under root (root included) in the order `walk` yields them, and each
    node's parent (what ParentNodeProvider gives, five times faster), from one
    traversal: a module's analysis asks for both, and each costs a full read of the
    tree. `TRIVIA` is left out: no analysis asks about it, and it is most of the nodes."""
    nodes: list[cst.CSTNode] = []
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        found = [child for child in children(node) if type(child) not in TRIVIA]
        for child in found:
            parents[child] = node
        stack.extend(reversed(found))
    return nodes, parents
