"""Facts about one parsed module that every check asks: names, parents, positions.

It wraps LibCST's metadata (ScopeProvider, PositionProvider, and parents
from `analysis.tree`), resolved once per file, behind a few
questions with plain answers: what does this callee name, where is this node,
which function holds it. Names come from LibCST's scope analysis, so aliases
(`import httpx as h`) resolve and shadowing (a parameter called `httpx`, a
local class `AsyncClient`) does not fool it.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Optional, Union, cast

import libcst as cst
from libcst.metadata import (
    CodeRange,
    ExpressionContextProvider,
    QualifiedName,
    QualifiedNameSource,
    Scope,
    ScopeProvider,
    scope_provider,
)
from libcst.metadata.scope_provider import (
    Access,
    Assignment,
    BaseAssignment,
    ClassScope,
    FunctionScope,
    ScopeVisitor,
)

from runguard_lint.analysis.contexts import expression_contexts
from runguard_lint.analysis.positions import Positions
from runguard_lint.analysis.tree import TRIVIA, children, index

FunctionNode = Union[cst.FunctionDef, cst.Lambda]
_EXTERNAL = (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)


class _KindSet(type):
    """The metaclass of a stand-in for a tuple of classes in `isinstance`, answered
    from a table by the instance's exact type.

    LibCST's node classes derive from an abstract base class, so `isinstance(node,
    (A, B, ...))` runs ABCMeta's check, a Python call, once per class of the tuple
    for a node of none of them. The scope visitor asks it with eighteen classes on
    leaving every node (`_ASSIGNMENT_LIKE_NODES`): on the agent corpus that was a
    tenth of the CPU time of the files that reach LibCST. The stand-in answers
    what the tuple answers (`issubclass` of the instance's type, learnt once per
    type), with one call."""

    members: tuple[type, ...]
    known: dict[type, bool]

    def __instancecheck__(cls, instance: object) -> bool:
        kind = type(instance)
        found = cls.known.get(kind)
        if found is None:
            found = cls.known[kind] = issubclass(kind, cls.members)
        return found

    # Read as the tuple it stands for by any code that iterates it or asks `in`.
    def __iter__(cls) -> Iterator[type]:
        return iter(cls.members)

    def __len__(cls) -> int:
        return len(cls.members)

    def __contains__(cls, member: object) -> bool:
        return member in cls.members


def kind_set(name: str, members: tuple[type, ...]) -> type:
    """A class that `isinstance` treats as the tuple `members` (see `_KindSet`)."""
    return _KindSet(name, (), {"members": members, "known": {}})


# Installed once, where LibCST keeps the tuple as this version does; another version
# keeps its own check.
_ASSIGNMENT_LIKE = vars(scope_provider).get("_ASSIGNMENT_LIKE_NODES")
if isinstance(_ASSIGNMENT_LIKE, tuple) and all(isinstance(k, type) for k in _ASSIGNMENT_LIKE):
    vars(scope_provider)["_ASSIGNMENT_LIKE_NODES"] = kind_set("AssignmentLike", _ASSIGNMENT_LIKE)


class _WalkedScopeVisitor(ScopeVisitor):
    """LibCST's scope visitor, unchanged, but walked by `_visit` rather than by
    `CSTNode.visit` (the type tells the two walks apart)."""


# The scope visitor's own classes, below LibCST's base visitor (whose typed stubs
# name a callback for every node class and do nothing).
_OWN_CALLBACKS = frozenset(
    name
    for owner in ScopeVisitor.__mro__[: ScopeVisitor.__mro__.index(cst.CSTVisitor)]
    for name in vars(owner)
    if name.startswith(("visit_", "leave_"))
)


def _unvisited(kind: type) -> bool:
    return (
        f"visit_{kind.__name__}" not in _OWN_CALLBACKS
        and f"leave_{kind.__name__}" not in _OWN_CALLBACKS
        and isinstance(_ASSIGNMENT_LIKE, tuple)
        and not issubclass(kind, _ASSIGNMENT_LIKE)
    )


# What the scope walk passes by: `analysis.tree.TRIVIA`, whose scope nothing asks,
# unless this version of LibCST's visitor has a callback for it. Not numbers or `pass`:
# an expression or a statement may be asked its scope (`def f(): pass; ...` is asked
# through its first statement, `ModuleFacts.function_scope`).
SKIPPED_BY_SCOPES: frozenset[type] = frozenset(kind for kind in TRIVIA if _unvisited(kind))

_LIBCST_VISIT = cst.CSTNode.visit


def _visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> object:
    """`CSTNode.visit` while a scope analysis runs (`_walked`); for the scope visitor of
    `_scopes`, a walk that reads each node's children from its fields
    (`analysis.tree.children`, the order LibCST visits them in) and skips
    `SKIPPED_BY_SCOPES`.

    LibCST's own walk rebuilds every node it passes (a new node per visit, discarded
    by a visitor that changes nothing) and asks the visitor's callbacks for every
    field and every whitespace node: a quarter of the scope analysis's time, another
    eighth for the skipped nodes. The visitor's own callbacks run as before, in the
    same order, so the scopes are the same (the tests compare both on the fixtures);
    a skipped node gets no scope. Any other visitor (another thread's, meanwhile)
    takes LibCST's walk.
    """
    if type(visitor) is not _WalkedScopeVisitor:
        return _LIBCST_VISIT(node, visitor)
    if visitor.on_visit(node):
        for child in children(node):
            if type(child) not in SKIPPED_BY_SCOPES:
                _visit(child, visitor)
    visitor.on_leave(node)
    return node


# The scope analyses running (the language server's threads may run several at once).
_ACTIVE: set[object] = set()
_ACTIVE_LOCK = threading.Lock()


@contextmanager
def _walked() -> Iterator[None]:
    """`_visit` in `CSTNode.visit`'s place while the block runs: the scope visitor's own
    callbacks visit parts of the tree themselves (`node.body.visit(self)`), through that
    method. LibCST is left as it is the rest of the time, so no other visitor pays the
    extra call. Every step is idempotent and inside the `try`, so an exception raised at
    any point (a worker's time budget is a signal) leaves nothing installed for good.
    (Assigned with `setattr`: an assignment to a method is what mypy refuses.)"""
    token = object()
    try:
        with _ACTIVE_LOCK:
            _ACTIVE.add(token)
            setattr(cst.CSTNode, "visit", _visit)  # noqa: B010
        yield
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(token)
            if not _ACTIVE:
                setattr(cst.CSTNode, "visit", _LIBCST_VISIT)  # noqa: B010


def _scopes(module: cst.Module) -> Mapping[cst.CSTNode, Optional[Scope]]:
    """What `MetadataWrapper.resolve(ScopeProvider)` gives, for a fifth of its cost.

    ScopeProvider does all its work in `visit_Module`, with a visitor of its own,
    reading the expression contexts it depends on. As batchable providers,
    resolved through a wrapper, the two also make the wrapper walk the whole tree
    once more with a visitor that calls nothing on any other node: about half of
    the metadata time. Here the scope provider's visitor runs alone, walked by
    `_visit`, and it reads the contexts where the wrapper would have put them
    (`MetadataDependent.metadata`), computed by `analysis.contexts` rather than by
    LibCST's own visitor. The scopes are the same objects with the same
    assignments and accesses (the tests compare both ways on the fixtures); only
    whitespace, comments, punctuation and operators have none.
    """
    provider = ScopeProvider()
    provider.metadata = {ExpressionContextProvider: expression_contexts(module)}
    visitor = _WalkedScopeVisitor(provider)
    with _walked():
        module.visit(visitor)
    visitor.infer_accesses()
    return cast(Mapping[cst.CSTNode, Optional[Scope]], provider._computed)


class ModuleFacts:
    """The resolved metadata of one module and the questions asked of it."""

    def __init__(
        self,
        wrapper: cst.MetadataWrapper,
        text: str | None = None,
        tree: ast.Module | None = None,
    ) -> None:
        """`text` and `tree`: the module's text and its standard-library tree, with
        the same line numbers, which let positions be found one statement at a time
        (`analysis.positions`)."""
        self.wrapper = wrapper
        self.module = wrapper.module
        # QualifiedNameProvider would walk the whole tree again for what the
        # scopes answer on demand (`get_qualified_names_for`), a third of the
        # metadata cost: names are asked of the scope, for the few nodes that matter.
        self._scopes = _scopes(self.module)
        self._qualified: dict[int, set[QualifiedName]] = {}
        # ParentNodeProvider costs a full visitor pass; the same map from reading fields
        # is five times cheaper. The same traversal lists every node in lexical order
        # (`nodes`), for the analyses that look at the whole module.
        self.nodes, self._parents = index(self.module)
        # Positions cost a rendering, and most analyses that find nothing never ask
        # one: rendered on the first question, one top-level statement at a time.
        self._positions = Positions(wrapper, self._parents, text, tree)

    @cached_property
    def postponed_annotations(self) -> bool:
        """Whether the module imports `annotations` from `__future__` (PEP 563): its
        annotations are kept as strings, never evaluated where they are written."""
        for statement in self.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and isinstance(small.module, cst.Name)
                    and small.module.value == "__future__"
                    and not isinstance(small.names, cst.ImportStar)
                    and any(
                        isinstance(alias.name, cst.Name) and alias.name.value == "annotations"
                        for alias in small.names
                    )
                ):
                    return True
        return False

    # --- tree shape -----------------------------------------------------------------

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self._parents.get(node)
        while current is not None:
            yield current
            current = self._parents.get(current)

    def position(self, node: cst.CSTNode) -> CodeRange:
        return self._positions.of(node)

    def enclosing_function(self, node: cst.CSTNode) -> FunctionNode | None:
        """The innermost def or lambda around node, or None at module/class level."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return ancestor
            if isinstance(ancestor, cst.ClassDef):
                return None
        return None

    def enclosing_class(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        """The class a function is directly a method of."""
        parent = self.parent(function)
        if isinstance(parent, cst.IndentedBlock):
            owner = self.parent(parent)
            if isinstance(owner, cst.ClassDef):
                return owner
        return None

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement (simple line or compound) that holds node."""
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.BaseStatement):
            current = self._parents.get(current)
        return current

    # --- names ----------------------------------------------------------------------

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self._scopes.get(node)

    def qualified_names(self, node: cst.CSTNode) -> set[QualifiedName]:
        """What a name or attribute chain refers to, through imports and aliases."""
        key = id(node)
        found = self._qualified.get(key)
        if found is None:
            scope = self._scopes.get(node)
            found = set(scope.get_qualified_names_for(node)) if scope is not None else set()
            self._qualified[key] = found
        return found

    def external_names(self, node: cst.CSTNode) -> set[str]:
        """Qualified names of node that come from an import or the builtins."""
        return {qn.name for qn in self.qualified_names(node) if qn.source in _EXTERNAL}

    def assignments_of(self, name: cst.Name) -> set[BaseAssignment]:
        """What a loaded name may refer to, by LibCST's scope analysis."""
        scope = self.scope(name)
        if scope is None:
            return set()
        referents: set[BaseAssignment] = set()
        for access in scope.accesses[name]:
            if access.node is name:
                referents |= set(access.referents)
        return referents

    def references_of_binding(self, target: cst.Name) -> list[Access]:
        """Every load that may see the value bound to the name node `target`."""
        scope = self.scope(target)
        if scope is None:
            return []
        found: list[Access] = []
        for assignment in scope.assignments[target.value]:
            if isinstance(assignment, Assignment) and assignment.node is target:
                found.extend(assignment.references)
        return found

    def function_scope(self, function: FunctionNode) -> Scope | None:
        """The scope of a function's body (its parameters live there)."""
        body: cst.CSTNode = function.body
        if isinstance(body, cst.IndentedBlock) and body.body:
            return self.scope(body.body[0])
        if isinstance(body, cst.SimpleStatementSuite) and body.body:
            return self.scope(body.body[0])
        return self.scope(body)

    def captured(self, access_scope: Scope | None, owner_scope: Scope | None) -> bool:
        """Whether a load in access_scope sees a local of owner_scope from a nested def/class.

        Comprehensions have scopes of their own in LibCST but run on the spot,
        so a use inside one is not a capture.
        """
        current = access_scope
        while current is not None and current is not owner_scope:
            if isinstance(current, (FunctionScope, ClassScope)):
                return True
            parent = current.parent
            if parent is current:
                break
            current = parent
        return False


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None (no resolution)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def decorator_names(facts: ModuleFacts, function: cst.FunctionDef) -> set[str]:
    """Qualified (or, unresolved, dotted) names of a function's decorators."""
    names: set[str] = set()
    for decorator in function.decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        resolved = facts.external_names(expression)
        if resolved:
            names |= resolved
        dotted = dotted_name(expression)
        if dotted:
            names.add(dotted)
    return names
