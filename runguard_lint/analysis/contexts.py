"""Load, store and delete contexts of a LibCST module's names, as LibCST's
ExpressionContextProvider gives them, read from the fields that hold targets.

The provider is a visitor: LibCST dispatches its callbacks on every node and rebuilds
each node it passes through, which made it a fifth of the metadata time on the files
that reach LibCST (1.9 of 8.9 CPU s on the agent corpus). Its rules are few and fixed:
a node is a target of an assignment, `for`, comprehension, `as`, `del`, definition or
parameter, or it takes the context of what holds it, except that the receiver and the
slice of an attribute or subscript are always loads. Here those rules run as a walk
over the fields (`analysis.tree.children`), with the same answer for every node (the
tests compare both on the fixtures, and they were compared on every file of the
benchmark corpora that reaches LibCST).
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
from libcst.metadata import ExpressionContext

from runguard_lint.analysis.tree import children

LOAD, STORE, DEL = ExpressionContext.LOAD, ExpressionContext.STORE, ExpressionContext.DEL

_Pending = list[tuple[cst.CSTNode, ExpressionContext]]
# What a node hands on: (child, context) pairs pushed for the walk; the provider's
# visitor visits just these of its fields (none of the others can hold a name).
_Rule = Callable[[cst.CSTNode, ExpressionContext, _Pending], None]


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """Node -> context for every Name, Attribute, Subscript, Tuple, List and
    StarredElement the provider gives one (not an attribute's own name, nor the names of
    type parameters, which its visitor never reaches)."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    pending: _Pending = [(module, LOAD)]
    while pending:
        node, context = pending.pop()
        kind = type(node)
        if kind in _MARKED:
            found[node] = context
        rule = _RULES.get(kind)
        if rule is not None:
            rule(node, context, pending)
        elif kind is not cst.Name:
            pending.extend((child, context) for child in children(node))
    return found


# The node types that get a context; a Name's walk ends there.
_MARKED = frozenset({cst.Name, cst.Attribute, cst.Subscript, cst.Tuple, cst.List})
_MARKED |= {cst.StarredElement}


def _assign(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.Assign)
    pending.extend((target, STORE) for target in node.targets)
    pending.append((node.value, context))


def _ann_assign(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.AnnAssign)
    pending.append((node.target, STORE))
    pending.append((node.annotation, context))
    if node.value is not None:
        pending.append((node.value, context))


def _target_and_value(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, (cst.AugAssign, cst.NamedExpr))
    pending.append((node.target, STORE))
    pending.append((node.value, context))


def _as_name(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.AsName)
    pending.append((node.name, STORE))


def _comp_for(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.CompFor)
    pending.append((node.target, STORE))
    pending.append((node.iter, context))
    pending.extend((test, context) for test in node.ifs)
    if node.inner_for_in is not None:
        pending.append((node.inner_for_in, context))


def _for(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.For)
    pending.append((node.target, STORE))
    pending.append((node.iter, context))
    pending.append((node.body, context))
    if node.orelse is not None:
        pending.append((node.orelse, context))


def _del(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.Del)
    pending.append((node.target, DEL))


def _attribute(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.Attribute)
    pending.append((node.value, LOAD))


def _subscript(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.Subscript)
    pending.append((node.value, LOAD))
    pending.extend((element, LOAD) for element in node.slice)


def _class(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.ClassDef)
    pending.append((node.name, STORE))
    pending.append((node.body, context))
    pending.extend((argument, context) for argument in (*node.bases, *node.keywords))
    pending.extend((decorator, context) for decorator in node.decorators)


def _function(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.FunctionDef)
    pending.append((node.name, STORE))
    pending.append((node.params, context))
    pending.append((node.body, context))
    pending.extend((decorator, context) for decorator in node.decorators)
    if node.returns is not None:
        pending.append((node.returns, context))


def _param(node: cst.CSTNode, context: ExpressionContext, pending: _Pending) -> None:
    assert isinstance(node, cst.Param)
    pending.append((node.name, STORE))
    if node.annotation is not None:
        pending.append((node.annotation, context))
    if node.default is not None:
        pending.append((node.default, context))


_RULES: dict[type[cst.CSTNode], _Rule] = {
    cst.Assign: _assign,
    cst.AnnAssign: _ann_assign,
    cst.AugAssign: _target_and_value,
    cst.NamedExpr: _target_and_value,
    cst.AsName: _as_name,
    cst.CompFor: _comp_for,
    cst.For: _for,
    cst.Del: _del,
    cst.Attribute: _attribute,
    cst.Subscript: _subscript,
    cst.ClassDef: _class,
    cst.FunctionDef: _function,
    cst.Param: _param,
}
