"""Load, store and delete contexts of a LibCST module's names, as LibCST's
ExpressionContextProvider gives them, read from the fields that hold targets.

The provider is a visitor: LibCST dispatches its callbacks on every node and rebuilds
each node it passes through, which made it a fifth of the metadata time on the files
that reach LibCST (1.9 of 8.9 CPU s on the agent corpus). Its rules are few and fixed:
a node is a target of an assignment, `for`, comprehension, `as`, `del`, definition or
parameter, or it takes the context of what holds it, except that the receiver and the
slice of an attribute or subscript are always loads. Here those rules run as a walk
over the fields (`analysis.tree.children`), with the same answer for every node (the
tests compare both on the fixtures; they were compared on 4,249 modules of the shared,
study and benchmark corpora and on every file of the agent corpus that reaches LibCST).
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ExpressionContext

from runguard_lint.analysis.tree import TRIVIA, children

LOAD, STORE, DEL = ExpressionContext.LOAD, ExpressionContext.STORE, ExpressionContext.DEL

# The nodes the provider's visitor treats apart: the fields it visits, in turn, each
# with its context (None: the context of the node itself). It visits no other field of
# these, so what they hold gets no context (an attribute's own name, type parameters).
_RULES: dict[type[cst.CSTNode], tuple[tuple[str, ExpressionContext | None], ...]] = {
    cst.Assign: (("targets", STORE), ("value", None)),
    cst.AnnAssign: (("target", STORE), ("annotation", None), ("value", None)),
    cst.AugAssign: (("target", STORE), ("value", None)),
    cst.NamedExpr: (("target", STORE), ("value", None)),
    cst.AsName: (("name", STORE),),
    cst.CompFor: (("target", STORE), ("iter", None), ("ifs", None), ("inner_for_in", None)),
    cst.For: (("target", STORE), ("iter", None), ("body", None), ("orelse", None)),
    cst.Del: (("target", DEL),),
    cst.Attribute: (("value", LOAD),),
    cst.Subscript: (("value", LOAD), ("slice", LOAD)),
    cst.ClassDef: (
        ("name", STORE),
        ("body", None),
        ("bases", None),
        ("keywords", None),
        ("decorators", None),
    ),
    cst.FunctionDef: (
        ("name", STORE),
        ("params", None),
        ("body", None),
        ("decorators", None),
        ("returns", None),
    ),
    cst.Param: (("name", STORE), ("annotation", None), ("default", None)),
}
# The node types that get a context; a Name's walk ends there.
_MARKED = frozenset(
    {cst.Name, cst.Attribute, cst.Subscript, cst.Tuple, cst.List, cst.StarredElement}
)


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """Node -> context for every Name, Attribute, Subscript, Tuple, List and
    StarredElement the provider gives one."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    pending: list[tuple[cst.CSTNode, ExpressionContext]] = [(module, LOAD)]
    while pending:
        node, context = pending.pop()
        kind = type(node)
        if kind in _MARKED:
            found[node] = context
        rule = _RULES.get(kind)
        if rule is None:
            if kind is not cst.Name:
                pending.extend(
                    (child, context) for child in children(node) if type(child) not in TRIVIA
                )
            continue
        for name, given in rule:
            value = getattr(node, name)
            inner = context if given is None else given
            if isinstance(value, (tuple, list)):
                pending.extend((item, inner) for item in value)
            elif value is not None:
                pending.append((value, inner))
    return found
