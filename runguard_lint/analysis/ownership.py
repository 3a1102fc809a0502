"""Who releases each acquired resource: the one question every acquisition rule asks.

For each call that acquires a catalog resource inside a function, this module
follows the value through the function: through `await`, conditional
expressions, containers and local names (LibCST scope references, so aliases
and comprehensions are followed and nested functions count as captures), and
classifies where it ends up:

- released: the subject of `with`, closed in a `finally` that covers it, closed
  at once, or its closer handed to an exit stack or finaliser;
- escaped: returned, yielded, stored on an object, in a container or global,
  captured by a nested function, given to a class or an ownership sink;
- leaked: nobody releases it (dropped, or only borrowed by plain calls);
- and the partial cases: created in a loop but closed once after it, closed
  only on the normal path (not exception-safe), closed on some paths only,
  or the subject of a `with` that does not close it (`sqlite3.connect`).

Checks map these fates to rule codes; fixes map codes to rewrites. Keeping the
question here gives every rule the same precision.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union

import libcst as cst
import libcst.matchers as m
from libcst.metadata import Scope
from libcst.metadata.scope_provider import Access, Assignment

from runguard_lint.analysis.flow import ReleasePaths
from runguard_lint.analysis.names import (
    FunctionNode,
    ModuleFacts,
    decorator_names,
    dotted_name,
    is_capwords,
)
from runguard_lint.analysis.syntax import (
    block_statements,
    is_none,
    is_self,
    is_within,
    methods,
    small_statements,
    target_names,
    terminal_name,
)
from runguard_lint.analysis.tree import walk
from runguard_lint.catalog import Catalog, ResourceKind


class Outcome(enum.Enum):
    """Where an acquired value ends up."""

    RELEASED = "released"
    ESCAPED = "escaped"
    LEAKED = "leaked"
    LOOP_LEAK = "loop-leak"
    WITH_NOT_CLOSING = "with-not-closing"
    PARTIAL = "partial"
    UNSAFE_RELEASE = "unsafe-release"


@dataclass(frozen=True)
class Acquisition:
    """A call inside a function that acquires a catalog resource."""

    call: cst.Call
    kind: ResourceKind
    function: FunctionNode
    callee: str

    @property
    def function_name(self) -> str:
        if isinstance(self.function, cst.FunctionDef):
            return self.function.name.value
        return "<lambda>"

    @property
    def in_async_function(self) -> bool:
        return isinstance(self.function, cst.FunctionDef) and self.function.asynchronous is not None


@dataclass(frozen=True)
class StoredAttribute:
    """`self.<attribute> = <resource>` inside a method: the instance owns it."""

    attribute: str
    statement: cst.CSTNode
    class_def: cst.ClassDef


@dataclass(frozen=True)
class Fate:
    """The ownership analysis' answer for one acquisition."""

    outcome: Outcome
    reason: str = ""
    holder: str | None = None
    release_sites: tuple[cst.CSTNode, ...] = ()
    # For UNSAFE_RELEASE: the release that an exception would skip.
    unsafe_release: cst.CSTNode | None = None
    # For PARTIAL: the statement through which a path leaves without releasing.
    open_exit: cst.CSTNode | None = None
    after_yield: bool = False
    stored: StoredAttribute | None = None
    released_by_with: bool = False


# Methods that put their argument into the receiver (a container or queue).
_STORE_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "add",
        "extend",
        "insert",
        "put",
        "put_nowait",
        "setdefault",
        "push",
        "update",
        "__setitem__",
        "set",
    }
)
# Calls whose result is their (first) argument, as far as ownership goes.
_PASSTHROUGH = frozenset(
    {"asyncio.wait_for", "asyncio.shield", "typing.cast", "typing_extensions.cast"}
)
# Calls whose result still holds the container's elements.
_CONTAINER_VIEWS = frozenset(
    {
        "builtins.enumerate",
        "builtins.zip",
        "builtins.iter",
        "builtins.reversed",
        "builtins.sorted",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
    }
)
# Attributes that are plain data: passing `proc.pid` or `tmp.name` on hands nothing over.
_DATA_ATTRIBUTES = frozenset(
    {
        "name",
        "pid",
        "returncode",
        "closed",
        "mode",
        "encoding",
        "errors",
        "newlines",
        "base_url",
        "headers",
        "cookies",
        "timeout",
        "args",
    }
)
# Method names that keep their argument in the receiver.
_SETTER = re.compile(r"(set|add|register|attach|install|bind|use)_?[A-Za-z_]", re.ASCII)
# Keywords under which a callee takes a resource to keep (`http_client=`, `session=`).
_INJECTED = re.compile(r"client|session|conn|pool|engine|executor|transport|http", re.I)
_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture", "fixture"})


@dataclass
class _Trace:
    """What following one value through a function has found so far."""

    escapes: list[str] = field(default_factory=list)
    releases: list[cst.CSTNode] = field(default_factory=list)
    with_releases: list[cst.CSTNode] = field(default_factory=list)
    with_not_closing: bool = False
    yielded: bool = False
    stored: StoredAttribute | None = None
    holder: str | None = None
    element_released: bool = False
    depth: int = 0
    visited: set[int] = field(default_factory=set)


ValueNode = Union[cst.BaseExpression, cst.Name]


class OwnershipAnalysis:
    """Finds the acquisitions of a module and answers who releases each."""

    def __init__(self, facts: ModuleFacts, catalog: Catalog) -> None:
        self.facts = facts
        self.catalog = catalog
        self._release_names = catalog.release_methods
        self._fates: dict[int, Fate] = {}
        self._acquisitions: list[Acquisition] | None = None
        self._paths = ReleasePaths(facts)

    # --- finding acquisitions ---------------------------------------------------------

    def acquisitions(self) -> list[Acquisition]:
        """Every acquiring call inside a function, in source order (found once per file)."""
        if self._acquisitions is None:
            self._acquisitions = self._find_acquisitions()
        return self._acquisitions

    def _find_acquisitions(self) -> list[Acquisition]:
        found: list[Acquisition] = []
        distinctive = set(self.catalog.distinctive_names())
        # `from httpx import AsyncClient as C` makes `C` worth resolving too.
        for node in walk(self.facts.module):
            if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        distinctive.add(alias.asname.name.value)
        for call in _calls(self.facts.module):
            terminal = terminal_name(call.func)
            if terminal is None or terminal not in distinctive:
                continue
            function = self.facts.enclosing_function(call)
            if function is None:
                continue
            kind, callee = self._resolve_kind(call)
            if kind is None or self._expected_to_raise(call, function):
                continue
            found.append(Acquisition(call=call, kind=kind, function=function, callee=callee))
        return found

    def _expected_to_raise(self, call: cst.Call, function: FunctionNode) -> bool:
        """Inside `with pytest.raises(...):` or `with self.assertRaises(...):`: the test
        asserts that the block raises, so on the path it expects nothing is acquired."""
        child: cst.CSTNode = call
        for ancestor in self.facts.ancestors(call):
            if ancestor is function:
                return False
            if isinstance(ancestor, cst.With) and child is ancestor.body:
                for item in ancestor.items:
                    expression = item.item
                    if (
                        isinstance(expression, cst.Call)
                        and terminal_name(expression.func) in _RAISE_EXPECTERS
                    ):
                        return True
            child = ancestor
        return False

    def _resolve_kind(self, call: cst.Call) -> tuple[ResourceKind | None, str]:
        for name in sorted(self.facts.external_names(call.func)):
            kind = self.catalog.by_callable.get(name)
            if kind is not None:
                return kind, name.removeprefix("builtins.")
        if isinstance(call.func, cst.Attribute):
            kinds = self.catalog.by_method.get(call.func.attr.value, ())
            if kinds:
                receiver_types = self.value_types(call.func.value)
                for kind in kinds:
                    if receiver_types & set(kind.on):
                        receiver = dotted_name(call.func.value) or kind.on[0].rsplit(".", 1)[-1]
                        return kind, f"{receiver}.{kind.method}()"
        return None, ""

    # --- what type a receiver has -----------------------------------------------------

    def value_types(self, expression: cst.BaseExpression, depth: int = 0) -> set[str]:
        """Catalog-relevant qualified names an expression is built by or annotated with."""
        if depth > 4:
            return set()
        if isinstance(expression, cst.Await):
            return self.value_types(expression.expression, depth + 1)
        if isinstance(expression, cst.Call):
            return self.facts.external_names(expression.func)
        if isinstance(expression, cst.Name):
            types: set[str] = set()
            for assignment in self.facts.assignments_of(expression):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.CSTNode):
                    types |= self._binding_types(node, depth)
            return types
        if isinstance(expression, cst.Attribute) and isinstance(expression.value, cst.Name):
            function = self.facts.enclosing_function(expression)
            if isinstance(function, cst.FunctionDef) and is_self(function, expression.value):
                class_def = self.facts.enclosing_class(function)
                if class_def is not None:
                    return self._attribute_types(class_def, expression.attr.value, depth)
        return set()

    def _binding_types(self, node: cst.CSTNode, depth: int) -> set[str]:
        if isinstance(node, cst.Param):
            return self._annotation_types(node.annotation)
        parent = self.facts.parent(node)
        if isinstance(parent, cst.AssignTarget):
            assign = self.facts.parent(parent)
            if isinstance(assign, cst.Assign):
                return self.value_types(assign.value, depth + 1)
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            types = self._annotation_types(parent.annotation)
            if parent.value is not None:
                types |= self.value_types(parent.value, depth + 1)
            return types
        if isinstance(parent, cst.NamedExpr) and parent.target is node:
            return self.value_types(parent.value, depth + 1)
        if isinstance(parent, cst.AsName):
            item = self.facts.parent(parent)
            if isinstance(item, cst.WithItem):
                # `with ZipFile(p) as bundle:` binds what `__enter__` returns: itself.
                return self.value_types(item.item, depth + 1)
        return set()

    def _annotation_types(self, annotation: cst.Annotation | None) -> set[str]:
        if annotation is None:
            return set()
        names: set[str] = set()
        for node in m.findall(annotation, m.Name() | m.Attribute()):
            names |= self.facts.external_names(node)
        return names

    def _attribute_types(self, class_def: cst.ClassDef, attribute: str, depth: int) -> set[str]:
        types: set[str] = set()
        for statement in class_def.body.body:
            for small in small_statements(statement):
                if (
                    isinstance(small, cst.AnnAssign)
                    and isinstance(small.target, cst.Name)
                    and small.target.value == attribute
                ):
                    types |= self._annotation_types(small.annotation)
        for method in methods(class_def):
            if not method.params.params:
                continue
            self_name = method.params.params[0].name.value
            for node in m.findall(
                method,
                m.Assign(
                    targets=[m.AssignTarget(m.Attribute(m.Name(self_name), m.Name(attribute)))]
                )
                | m.AnnAssign(target=m.Attribute(m.Name(self_name), m.Name(attribute))),
            ):
                if isinstance(node, cst.Assign):
                    types |= self.value_types(node.value, depth + 1)
                elif isinstance(node, cst.AnnAssign):
                    types |= self._annotation_types(node.annotation)
                    if node.value is not None:
                        types |= self.value_types(node.value, depth + 1)
        return types

    # --- the fate of one acquisition ----------------------------------------------------

    def fate(self, acquisition: Acquisition) -> Fate:
        key = id(acquisition.call)
        if key not in self._fates:
            self._fates[key] = self._compute_fate(acquisition)
        return self._fates[key]

    def _compute_fate(self, acquisition: Acquisition) -> Fate:
        trace = _Trace()
        kind = acquisition.kind
        if self._wraps_borrowed_transport(acquisition):
            return Fate(Outcome.ESCAPED, "wraps a transport it does not own")
        if kind.result == "receiver":
            receiver = acquisition.call.func
            assert isinstance(receiver, cst.Attribute)
            self._follow_receiver(receiver.value, acquisition, trace)
        else:
            self._follow_value(acquisition.call, acquisition, trace, temporary=True)
        strong_escapes = [reason for reason in trace.escapes if reason != "yielded"]
        if strong_escapes:
            return Fate(Outcome.ESCAPED, strong_escapes[0], trace.holder, stored=trace.stored)
        if trace.with_not_closing and not trace.releases and not trace.with_releases:
            return Fate(Outcome.WITH_NOT_CLOSING, "with does not close it", trace.holder)
        release_sites = tuple(trace.with_releases) + tuple(trace.releases)
        if trace.yielded and not trace.releases:
            return Fate(Outcome.ESCAPED, "yielded", trace.holder)
        if not release_sites:
            return Fate(Outcome.LEAKED, "never released", trace.holder)
        loop = self._enclosing_loop(acquisition.call, acquisition.function)
        if loop is not None and self._created_lazily(acquisition.call, trace.holder):
            loop = None  # `if pool is None: pool = Executor()`: made once, on first need
        if loop is not None and not any(
            is_within(self.facts, site, loop) for site in release_sites
        ):
            return Fate(Outcome.LOOP_LEAK, "created in a loop", trace.holder, release_sites)
        if trace.element_released:
            return Fate(
                Outcome.RELEASED,
                "its container's elements are released",
                trace.holder,
                release_sites,
            )
        if trace.with_releases:
            return Fate(
                Outcome.RELEASED, "with", trace.holder, release_sites, released_by_with=True
            )
        return self._release_safety(acquisition, trace, release_sites)

    def _release_safety(
        self, acquisition: Acquisition, trace: _Trace, release_sites: tuple[cst.CSTNode, ...]
    ) -> Fate:
        statement = self._statement_in_function(acquisition.call)
        if isinstance(statement, cst.SimpleStatementLine) and any(
            is_within(self.facts, site, statement) for site in trace.releases
        ):
            return Fate(Outcome.RELEASED, "closed at once", trace.holder, release_sites)
        for site in trace.releases:
            if self._released_right_after(site, statement):
                return Fate(
                    Outcome.RELEASED,
                    "released before anything can raise",
                    trace.holder,
                    release_sites,
                )
            if self._covered_by_finally(site, acquisition.call, statement):
                return Fate(Outcome.RELEASED, "finally", trace.holder, release_sites)
        function = acquisition.function
        if isinstance(function, cst.FunctionDef) and (
            decorator_names(self.facts, function) & _FIXTURE_DECORATORS
        ):
            # pytest runs a fixture's teardown even when the test fails.
            return Fate(Outcome.RELEASED, "pytest fixture teardown", trace.holder, release_sites)
        release_set = {id(site) for site in trace.releases}
        open_exit = self._paths.path_without_release(statement, function, release_set)
        if open_exit is not None:
            return Fate(
                Outcome.PARTIAL,
                "not released on every path",
                trace.holder,
                release_sites,
                open_exit=open_exit,
            )
        handled = [
            site for site in trace.releases if self._in_catch_all(site, acquisition.call, statement)
        ]
        if handled:
            # Closed in `except BaseException: ...; raise` and on every normal path.
            return Fate(Outcome.RELEASED, "released on every path", trace.holder, release_sites)
        normal = [site for site in trace.releases if not self._in_handler(site)]
        first = min(normal or trace.releases, key=lambda node: self.facts.position(node).start.line)
        after_yield = self._yield_between(statement, first, function)
        return Fate(
            Outcome.UNSAFE_RELEASE,
            "not exception-safe",
            trace.holder,
            release_sites,
            unsafe_release=first,
            after_yield=after_yield,
        )

    # --- following values ---------------------------------------------------------------

    def _follow_receiver(
        self, receiver: cst.BaseExpression, acquisition: Acquisition, trace: _Trace
    ) -> None:
        """For loads into a receiver (`index.load_index(p)`), the receiver is the resource."""
        if not isinstance(receiver, cst.Name):
            trace.escapes.append("loaded into an attribute")
            return
        scope = self.facts.function_scope(acquisition.function)
        for assignment in self.facts.assignments_of(receiver):
            node = getattr(assignment, "node", None)
            if assignment.scope is not scope or not isinstance(node, cst.Name):
                trace.escapes.append("the index object is owned outside the function")
                return
            self._follow_name(node, acquisition, trace)

    def _follow_name(
        self,
        target: cst.Name,
        acquisition: Acquisition,
        trace: _Trace,
        container: bool = False,
        element: bool = False,
    ) -> None:
        """Follow every load that sees the value bound to `target` here."""
        if id(target) in trace.visited:
            return
        trace.visited.add(id(target))
        if trace.holder is None and not element:
            trace.holder = target.value
        owner_scope = self.facts.function_scope(acquisition.function)
        target_scope = self.facts.scope(target)
        bound_here = target_scope is not None and any(
            isinstance(assignment, Assignment) and assignment.node is target
            for assignment in target_scope.assignments[target.value]
        )
        if not bound_here:
            trace.escapes.append(f"bound to global `{target.value}`")
            return
        for access in self._references_after(target, target_scope):
            if self.facts.captured(access.scope, owner_scope):
                trace.escapes.append(f"`{target.value}` is captured by a nested function")
                continue
            node = access.node
            if isinstance(node, cst.Name):
                self._follow_value(
                    node, acquisition, trace, temporary=False, container=container, element=element
                )

    def _references_after(self, target: cst.Name, scope: Scope | None) -> list[Access]:
        """The loads that see this binding, not a later unconditional rebinding.

        LibCST's scopes are flow-insensitive: every load of `f` refers to every
        `f = ...`. A load is kept when it follows the binding (or shares a loop
        with it) and no other binding of the name in a block that encloses the
        load comes between them.
        """
        facts = self.facts
        references = facts.references_of_binding(target)
        if scope is None:
            return references
        others = [
            a.node
            for a in scope.assignments[target.value]
            if isinstance(a, Assignment) and a.node is not target and isinstance(a.node, cst.Name)
        ]
        start = facts.position(target).start
        kept: list[Access] = []
        for access in references:
            node = access.node
            where = facts.position(node).start
            if (where.line, where.column) < (start.line, start.column):
                if not self._share_loop(target, node):
                    continue
                kept.append(access)
                continue
            shadowed = False
            for other in others:
                other_at = facts.position(other).start
                if not (
                    (start.line, start.column)
                    < (other_at.line, other_at.column)
                    < (where.line, where.column)
                ):
                    continue
                other_statement = facts.statement_of(other)
                block = facts.parent(other_statement) if other_statement is not None else None
                if block is not None and is_within(facts, node, block):
                    shadowed = True
                    break
            if not shadowed:
                kept.append(access)
        return kept

    def _share_loop(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        loops = {id(a) for a in self.facts.ancestors(first) if isinstance(a, (cst.For, cst.While))}
        return any(
            id(a) in loops
            for a in self.facts.ancestors(second)
            if isinstance(a, (cst.For, cst.While))
        )

    def _follow_value(
        self,
        start: cst.BaseExpression,
        acquisition: Acquisition,
        trace: _Trace,
        *,
        temporary: bool,
        container: bool = False,
        element: bool = False,
    ) -> None:
        """Walk up from an expression that evaluates to the resource to where it goes.

        `container` means the current value holds the resource (a list of
        clients); `element` that it came out of such a container, so releasing
        it releases the resource.
        """
        facts = self.facts
        kind = acquisition.kind
        node: cst.CSTNode = start
        wrapped_by_closing = False
        while True:
            parent = facts.parent(node)
            if parent is None:
                return
            if (
                isinstance(parent, cst.Await)
                or (isinstance(parent, cst.IfExp) and node is not parent.test)
                or isinstance(parent, cst.BooleanOperation)
            ):
                node = parent
                continue
            if isinstance(parent, cst.NamedExpr):
                if node is parent.value and isinstance(parent.target, cst.Name):
                    self._follow_name(parent.target, acquisition, trace, container)
                node = parent
                continue
            if isinstance(parent, (cst.Element, cst.StarredElement, cst.DictElement)):
                if isinstance(parent, cst.DictElement) and node is parent.key:
                    return
                container = True
                node = self._parent_or_self(parent)
                continue
            if isinstance(parent, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
                container = True
                node = parent
                continue
            if isinstance(parent, (cst.ListComp, cst.SetComp, cst.GeneratorExp)) or (
                isinstance(parent, cst.DictComp) and node is parent.value
            ):
                container = True
                node = parent
                continue
            if isinstance(parent, cst.Arg):
                call = facts.parent(parent)
                if not isinstance(call, cst.Call):
                    return
                verdict = self._argument_verdict(call, node, acquisition, container)
                if verdict == "transparent":
                    if self._is_closing_wrapper(call):
                        wrapped_by_closing = True
                    node = call
                    continue
                if verdict == "owner-release":
                    trace.releases.append(self._release_node(call))
                    return
                if verdict == "store":
                    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
                    self._store_into(receiver, acquisition, trace)
                    return
                if verdict.startswith("escape:"):
                    trace.escapes.append(verdict.removeprefix("escape:"))
                    return
                if verdict == "borrow" and self._result_escapes(call, parent, acquisition, trace):
                    trace.escapes.append(
                        f"handed to `{dotted_name(call.func) or 'a call'}` whose result escapes"
                    )
                # A plain call borrows it; the caller keeps ownership.
                return
            if isinstance(parent, cst.Attribute) and node is parent.value:
                grand = facts.parent(parent)
                called = isinstance(grand, cst.Call) and grand.func is parent
                if (
                    not called
                    and not container
                    and temporary
                    and node is start
                    and parent.attr.value not in self._release_names
                ):
                    # `OpenAI().embeddings`: the attribute's object keeps the resource alive.
                    node = parent
                    container = True
                    continue
                self._attribute_use(parent, acquisition, trace, container, element)
                return
            if isinstance(parent, cst.Subscript) and node is parent.value and container:
                node = parent
                container, element = False, True
                continue
            if isinstance(parent, cst.WithItem) and node is parent.item:
                if container:
                    return
                if kind.with_closes or wrapped_by_closing:
                    trace.with_releases.append(parent)
                    if element:
                        trace.element_released = True
                else:
                    trace.with_not_closing = True
                    if parent.asname is not None and isinstance(parent.asname.name, cst.Name):
                        self._follow_name(parent.asname.name, acquisition, trace)
                return
            if container and isinstance(parent, (cst.For, cst.CompFor)) and node is parent.iter:
                for name in target_names(parent.target):
                    self._follow_name(name, acquisition, trace, element=True)
                return
            if isinstance(parent, cst.Return):
                trace.escapes.append("returned")
                return
            if isinstance(parent, cst.Yield):
                trace.yielded = True
                trace.escapes.append("yielded")
                return
            if isinstance(parent, cst.Lambda):
                trace.escapes.append("returned by a lambda")
                return
            if isinstance(parent, cst.Assign) and node is parent.value:
                for target in parent.targets:
                    self._bind(target.target, parent, acquisition, trace, container)
                return
            if isinstance(parent, cst.AnnAssign) and node is parent.value:
                self._bind(parent.target, parent, acquisition, trace, container)
                return
            if isinstance(parent, cst.AugAssign):
                trace.escapes.append("added to a container")
                return
            if isinstance(
                parent,
                (
                    cst.Expr,
                    cst.For,
                    cst.Subscript,
                    cst.Comparison,
                    cst.UnaryOperation,
                    cst.If,
                    cst.While,
                    cst.Assert,
                    cst.FormattedStringExpression,
                ),
            ):
                # Used on the spot: a temporary is dropped after it, a name keeps it.
                return
            if isinstance(parent, (cst.Global, cst.Nonlocal, cst.Del)):
                return
            if isinstance(parent, cst.Decorator):
                return
            if temporary:
                trace.escapes.append("used in an expression the analysis does not follow")
            return

    def _parent_or_self(self, node: cst.CSTNode) -> cst.CSTNode:
        parent = self.facts.parent(node)
        return parent if parent is not None else node

    def _bind(
        self,
        target: cst.BaseExpression,
        statement: cst.CSTNode,
        acquisition: Acquisition,
        trace: _Trace,
        container: bool,
    ) -> None:
        if isinstance(target, cst.Name):
            self._follow_name(target, acquisition, trace, container)
            return
        if isinstance(target, cst.Attribute):
            function = acquisition.function
            if (
                isinstance(function, cst.FunctionDef)
                and isinstance(target.value, cst.Name)
                and is_self(function, target.value)
                and not container
            ):
                class_def = self.facts.enclosing_class(function)
                if class_def is not None and trace.stored is None:
                    trace.stored = StoredAttribute(target.attr.value, statement, class_def)
            trace.escapes.append(
                f"stored in attribute `{dotted_name(target) or target.attr.value}`"
            )
            return
        if isinstance(target, cst.Subscript):
            trace.escapes.append("stored in a container")
            return
        trace.escapes.append("unpacked into several names")

    def _store_into(
        self, receiver: cst.BaseExpression | None, acquisition: Acquisition, trace: _Trace
    ) -> None:
        """`receiver.append(value)`: a local container holds it, anything else owns it."""
        if isinstance(receiver, cst.Name):
            scope = self.facts.function_scope(acquisition.function)
            for assignment in self.facts.assignments_of(receiver):
                node = getattr(assignment, "node", None)
                if assignment.scope is scope and isinstance(node, cst.Name):
                    self._follow_name(node, acquisition, trace, container=True)
                else:
                    trace.escapes.append(f"stored in `{receiver.value}`")
            return
        trace.escapes.append("stored in a container")

    def _attribute_use(
        self,
        attribute: cst.Attribute,
        acquisition: Acquisition,
        trace: _Trace,
        container: bool,
        element: bool,
    ) -> None:
        """`value.method(...)`: a release, a closer handed over, or a plain use."""
        facts = self.facts
        grand = facts.parent(attribute)
        name = attribute.attr.value
        if container:
            if name in _STORE_METHODS or name in ("copy", "index", "count"):
                return
            # `items.pop().close()` and the like: someone may close the elements.
            trace.escapes.append("held in a container whose elements are taken out")
            return
        releases = acquisition.kind.release or tuple(self._release_names)
        if name in releases:
            if isinstance(grand, cst.Call) and grand.func is attribute:
                if self._unawaited(grand, acquisition):
                    return
                trace.releases.append(self._release_node(grand))
                if element:
                    trace.element_released = True
                return
            trace.escapes.append(f"its `{name}` is handed over")
            return
        if name in ("__enter__", "__aenter__", "__exit__", "__aexit__"):
            trace.escapes.append("entered by hand")
            return
        called = isinstance(grand, cst.Call) and grand.func is attribute
        if (
            not called
            and name not in _DATA_ATTRIBUTES
            and isinstance(
                grand,
                (cst.Arg, cst.Assign, cst.AnnAssign, cst.Return, cst.Element, cst.DictElement),
            )
        ):
            # `logger.setwriter(err.write)`: the bound method keeps the resource alive
            # wherever it goes.
            trace.escapes.append(f"its bound `{name}` is handed over")

    def _unawaited(self, call: cst.Call, acquisition: Acquisition) -> bool:
        """`client.aclose()` as a bare statement: the coroutine never runs, nothing closes."""
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        if not (acquisition.kind.release_awaited or method == "aclose"):
            return False
        parent = self.facts.parent(call)
        return isinstance(parent, cst.Expr)

    def _release_node(self, call: cst.Call) -> cst.CSTNode:
        parent = self.facts.parent(call)
        return parent if isinstance(parent, cst.Await) else call

    def _argument_verdict(
        self, call: cst.Call, argument: cst.CSTNode, acquisition: Acquisition, container: bool
    ) -> str:
        """What a call does with an argument: borrow, own, store or pass it through."""
        facts = self.facts
        ownership = self.catalog.ownership
        names = facts.external_names(call.func)
        dotted = dotted_name(call.func) or ""
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        if names & ownership.closing_wrappers or names & _PASSTHROUGH:
            return "transparent"
        if container and names & _CONTAINER_VIEWS:
            return "transparent"
        # Owner-side release: `pool.release(conn)`, `pool.putconn(conn)`.
        if method and method in acquisition.kind.owner_release:
            return "owner-release"
        if (
            names & ownership.sinks
            or dotted in ownership.sinks
            or (method and method in ownership.sinks)
        ):
            return f"escape:handed to `{dotted or method}`"
        if names & ownership.capturing or dotted in ownership.capturing:
            return f"escape:captured by `{dotted}`"
        if method in ("__init__", "__new__"):
            return f"escape:passed to the constructor `{dotted}`"
        if method in _STORE_METHODS:
            return "store"
        if method and _SETTER.match(method):
            # `handler.setStream(stream)`, `app.add_client(client)`: the receiver keeps it.
            return f"escape:kept by `{dotted or method}`"
        if names & ownership.non_owning or dotted in ownership.non_owning:
            return "consume"
        if self._is_class(call.func):
            return f"escape:passed to `{dotted or 'a class'}`"
        return "borrow"

    def _result_escapes(
        self, call: cst.Call, argument: cst.Arg, acquisition: Acquisition, trace: _Trace
    ) -> bool:
        """Whether a plain call's result, which may wrap the argument, escapes.

        `llm = llm_factory("gpt-4o", client=client)` hands the client to what
        the call builds (dependency injection by a keyword that names a
        resource), and so does any call whose body is not in this module
        (`return instructor.from_openai(client)`, `ctx.wrap_socket(raw)`) when
        its result is returned or stored. An awaited call's result is data,
        not a wrapper, and a helper defined here stays a borrower
        (`return run_batch(executor, items)`), as the precision contract says.
        """
        if trace.depth >= 3 or isinstance(self.facts.parent(call), cst.Await):
            return False
        derived = _Trace(depth=trace.depth + 1)
        self._follow_value(call, acquisition, derived, temporary=True)
        strong = [r for r in derived.escapes if not r.startswith("used in an expression")]
        if argument.keyword is None:
            # A library call whose result leaves the function, like
            # `return instructor.from_openai(client)`, hands the client over; a
            # local helper (`return run_batch(executor, items)`) borrows it.
            return bool(strong) and not self._defined_here(call.func)
        if not _INJECTED.search(argument.keyword.value):
            return False
        return bool(strong or derived.releases or derived.with_releases or derived.holder)

    def _wraps_borrowed_transport(self, acquisition: Acquisition) -> bool:
        """`OpenAI(http_client=shared)`: closing it would close the shared pool.

        Only when the transport is surely given: an optional one (`self.http_client`,
        which may be None) leaves the client building, and owning, its own.
        """
        keywords = acquisition.kind.transport_keywords
        if not keywords:
            return False
        for keyword, value in self._keyword_values(acquisition.call):
            if keyword in keywords:
                return self._surely_borrowed(value, acquisition.function)
        return False

    def _surely_borrowed(self, value: cst.BaseExpression, function: FunctionNode) -> bool:
        if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
            return self._surely_borrowed(value.right, function) or not is_none(value.right)
        if isinstance(value, cst.Call):
            # a transport made right here is owned with the client; a factory's is shared
            return self._resolve_kind(value)[0] is None
        if isinstance(value, cst.Name) and not is_none(value):
            if self._made_here(value, function):
                return False
            if self._tested_not_none(value):
                return True
            before = self._value_before(value)
            if before is _GIVEN:
                return True
            if isinstance(before, cst.BaseExpression):
                return self._surely_borrowed(before, function)
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

    def _value_before(self, name: cst.Name) -> cst.BaseExpression | object | None:
        """What `name` holds where it is loaded, from the statements before it in its
        block: the value of the last plain assignment, or _GIVEN after
        `if name is None: name = ...` (given or made there, never None); None when
        unknown (no binding in the block, or one inside another compound statement).
        A `try` whose handlers all re-raise counts as its body."""
        statement = self.facts.statement_of(name)
        block = self.facts.parent(statement) if statement is not None else None
        if not isinstance(block, cst.IndentedBlock) or statement is None:
            return None
        index = next((i for i, s in enumerate(block.body) if s is statement), None)
        for previous in reversed(block.body[: index or 0]):
            found = _assigned_in(previous, name.value)
            if found is not None:
                return found
            if isinstance(previous, cst.If) and _tests_none(previous.test, name.value):
                if _assigned_in_block(previous.body, name.value) is not None:
                    return _GIVEN
                return None
            if isinstance(previous, cst.Try) and all(
                _ends_in_raise(handler.body) for handler in previous.handlers
            ):
                found = _assigned_in_block(previous.body, name.value)
                if found is not None:
                    return found
            if _binds(previous, name.value):
                return None
        return None

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

    def _made_here(self, name: cst.Name, function: FunctionNode) -> bool:
        """Whether a local name is bound in `function` to a catalog acquisition."""
        for assignment in self.facts.assignments_of(name):
            node = getattr(assignment, "node", None)
            if not isinstance(node, cst.Name):
                continue
            if self.facts.enclosing_function(node) is not function:
                continue
            target = self.facts.parent(node)
            assign = self.facts.parent(target) if isinstance(target, cst.AssignTarget) else None
            value = assign.value if isinstance(assign, cst.Assign) else None
            if isinstance(value, cst.Await):
                value = value.expression
            if isinstance(value, cst.Call) and self._resolve_kind(value)[0] is not None:
                return True
        return False

    def _defined_here(self, func: cst.BaseExpression) -> bool:
        """A callee whose body is in this module: a function, or a method via `self.`."""
        if isinstance(func, cst.Name):
            return any(
                isinstance(getattr(a, "node", None), cst.FunctionDef)
                for a in self.facts.assignments_of(func)
            )
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ("self", "cls")
        ):
            function = self.facts.enclosing_function(func)
            class_def = (
                self.facts.enclosing_class(function)
                if isinstance(function, cst.FunctionDef)
                else None
            )
            return class_def is not None and any(
                method.name.value == func.attr.value for method in methods(class_def)
            )
        return False

    def _is_cls_parameter(self, param: cst.Param) -> bool:
        """The first parameter of a classmethod (or any method's `cls`)."""
        parameters = self.facts.parent(param)
        function = self.facts.parent(parameters) if parameters is not None else None
        if not isinstance(function, cst.FunctionDef) or not function.params.params:
            return False
        if function.params.params[0] is not param:
            return False
        return param.name.value == "cls" or any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod"
            for d in function.decorators
        )

    def _is_closing_wrapper(self, call: cst.Call) -> bool:
        return bool(self.facts.external_names(call.func) & self.catalog.ownership.closing_wrappers)

    def _is_class(self, func: cst.BaseExpression) -> bool:
        """A callee that builds an object: a class here, a catalog constructor, a CapWords name."""
        if isinstance(func, cst.Name):
            for assignment in self.facts.assignments_of(func):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.ClassDef):
                    return True
                if isinstance(node, cst.Param) and self._is_cls_parameter(node):
                    return True
        if (
            isinstance(func, cst.Call)
            and isinstance(func.func, cst.Name)
            and func.func.value == "type"
        ):
            return True  # `type(self)(...)`
        if isinstance(func, cst.Attribute) and func.attr.value == "__class__":
            return True
        for name in self.facts.external_names(func):
            if name in self.catalog.by_callable:
                return True
        terminal = terminal_name(func)
        return terminal is not None and is_capwords(terminal)

    # --- paths ------------------------------------------------------------------------

    def _statement_in_function(self, node: cst.CSTNode) -> cst.BaseStatement:
        statement = self.facts.statement_of(node)
        assert statement is not None
        return statement

    def _enclosing_loop(self, node: cst.CSTNode, function: FunctionNode) -> cst.CSTNode | None:
        child: cst.CSTNode = node
        for ancestor in self.facts.ancestors(node):
            if ancestor is function:
                return None
            if isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
                return ancestor
            if isinstance(ancestor, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
                return None
            child = ancestor
        return None

    def _covered_by_finally(
        self, site: cst.CSTNode, call: cst.Call, statement: cst.BaseStatement
    ) -> bool:
        """Whether the release runs in a `finally` that covers everything after acquiring."""
        facts = self.facts
        child: cst.CSTNode = site
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.Try, cst.TryStar)):
                finalbody = ancestor.finalbody
                if finalbody is not None and child is finalbody:
                    if is_within(facts, call, ancestor.body):
                        return True
                    if self._only_harmless_between(statement, ancestor):
                        return True
                    guarded = self._guarding_try(statement)
                    if guarded is not None and self._only_harmless_between(guarded, ancestor):
                        return True
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            child = ancestor
        return False

    def _released_right_after(self, site: cst.CSTNode, statement: cst.BaseStatement) -> bool:
        """`tf = tarfile.open(p)` then `tf.close()` (or `return report(p.wait())`), with
        nothing that can raise between: the release is the next call that runs."""
        release_statement = self.facts.statement_of(site)
        if not isinstance(statement, cst.SimpleStatementLine) or not isinstance(
            release_statement, cst.SimpleStatementLine
        ):
            return False
        call = site.expression if isinstance(site, cst.Await) else site
        if not isinstance(call, cst.Call) or any(
            argument.keyword is not None and argument.keyword.value == "timeout"
            for argument in call.args
        ):
            # `proc.communicate(timeout=30)` raises on timeout and leaves it open.
            return False
        end = self.facts.position(site).end
        ancestors = {id(node) for node in self.facts.ancestors(site)}
        for node in walk(release_statement):
            if node is call or not isinstance(node, cst.Call) or id(node) in ancestors:
                continue
            if (self.facts.position(node).start.line, self.facts.position(node).start.column) < (
                end.line,
                end.column,
            ):
                return False  # another call runs first and may raise
        return self._only_harmless_between(statement, release_statement)

    def _guarding_try(self, statement: cst.BaseStatement) -> cst.Try | None:
        """`try: s = socket.socket()` / `except OSError: return`: the acquisition is the
        last thing its try runs and every handler leaves, so after the try it is live
        exactly when it succeeded; the try stands for the acquisition."""
        block = self.facts.parent(statement)
        try_node = self.facts.parent(block) if block is not None else None
        if not isinstance(try_node, cst.Try) or try_node.body is not block:
            return None
        if not isinstance(block, cst.IndentedBlock) or block.body[-1] is not statement:
            return None
        if try_node.orelse is not None or try_node.finalbody is not None:
            return None
        for handler in try_node.handlers:
            last = block_statements(handler.body)[-1] if block_statements(handler.body) else None
            if not (
                isinstance(last, cst.SimpleStatementLine)
                and any(
                    isinstance(small, (cst.Return, cst.Raise, cst.Continue, cst.Break))
                    for small in last.body
                )
            ):
                return None
        return try_node

    def _created_lazily(self, call: cst.Call, holder: str | None) -> bool:
        """The acquisition sits under `if x is None:` / `if not x:` on its own holder."""
        if holder is None:
            return False
        statement = self.facts.statement_of(call)
        block = self.facts.parent(statement) if statement is not None else None
        owner = self.facts.parent(block) if block is not None else None
        if not isinstance(owner, cst.If):
            return False
        for node in walk(owner.test):
            if (
                isinstance(node, cst.Comparison)
                and isinstance(node.left, cst.Name)
                and node.left.value == holder
                and any(
                    isinstance(t.operator, (cst.Is, cst.Equal))
                    and isinstance(t.comparator, cst.Name)
                    and t.comparator.value == "None"
                    for t in node.comparisons
                )
            ):
                return True
            if (
                isinstance(node, cst.UnaryOperation)
                and isinstance(node.operator, cst.Not)
                and isinstance(node.expression, cst.Name)
                and node.expression.value == holder
            ):
                return True
        return False

    def _in_handler(self, site: cst.CSTNode) -> bool:
        return any(
            isinstance(a, (cst.ExceptHandler, cst.ExceptStarHandler))
            for a in self.facts.ancestors(site)
        )

    def _in_catch_all(
        self, site: cst.CSTNode, call: cst.Call, statement: cst.BaseStatement
    ) -> bool:
        """A release in a bare `except:`/`except BaseException:` that re-raises, of a
        `try` that covers the acquisition: every exception passes through it."""
        facts = self.facts
        for ancestor in facts.ancestors(site):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if not isinstance(ancestor, cst.ExceptHandler):
                continue
            caught = ancestor.type
            catches_all = caught is None or (
                "builtins.BaseException" in facts.external_names(caught)
            )
            reraises = any(isinstance(node, cst.Raise) for node in walk(ancestor.body))
            try_node = facts.parent(ancestor)
            if not (catches_all and reraises and isinstance(try_node, cst.Try)):
                return False
            return is_within(facts, call, try_node.body) or self._only_harmless_between(
                statement, try_node
            )
        return False

    def _only_harmless_between(self, statement: cst.BaseStatement, try_node: cst.CSTNode) -> bool:
        """The try comes right after the acquisition, with nothing that can raise between."""
        block = self.facts.parent(statement)
        if block is None or block is not self.facts.parent(try_node):
            return False
        siblings = block_statements(block)
        try:
            start = next(i for i, s in enumerate(siblings) if s is statement)
            end = next(i for i, s in enumerate(siblings) if s is try_node)
        except StopIteration:
            return False
        if end <= start:
            return False
        return all(self._harmless(between) for between in siblings[start + 1 : end])

    def _harmless(self, statement: cst.CSTNode) -> bool:
        """A statement that cannot raise in practice: no await, raise or assert, and no
        call but one that cannot fail assigned as it is (`pending = deque()`,
        `started = time.monotonic()`; not `deadline = time.monotonic() + req["t"]`)."""
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for node in walk(statement):
            if isinstance(node, (cst.Await, cst.Raise, cst.Yield, cst.Assert)):
                return False
            if isinstance(node, cst.Call) and not self._infallible_assignment(node):
                return False
        return True

    def _infallible_assignment(self, call: cst.Call) -> bool:
        parent = self.facts.parent(call)
        return (
            isinstance(parent, (cst.Assign, cst.AnnAssign))
            and parent.value is call
            and not call.args
            and bool(self.facts.external_names(call.func) & _INFALLIBLE_CALLS)
        )

    def _yield_between(
        self, statement: cst.BaseStatement, release: cst.CSTNode, function: FunctionNode
    ) -> bool:
        start = self.facts.position(statement).start.line
        end = self.facts.position(release).start.line
        for node in m.findall(function, m.Yield()):
            if self.facts.enclosing_function(node) is function:
                line = self.facts.position(node).start.line
                if start <= line <= end:
                    return True
        return False


def _calls(module: cst.Module) -> Iterator[cst.Call]:
    for node in walk(module):
        if isinstance(node, cst.Call):
            yield node


# Calls without arguments that cannot fail: an empty container, a clock reading.
_INFALLIBLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.tuple",
        "builtins.frozenset",
        "builtins.object",
        "collections.deque",
        "collections.OrderedDict",
        "collections.Counter",
        "time.monotonic",
        "time.time",
        "time.perf_counter",
        "time.monotonic_ns",
        "time.time_ns",
        "time.perf_counter_ns",
        "threading.Lock",
        "threading.RLock",
        "threading.Event",
        "asyncio.Lock",
        "asyncio.Event",
    }
)


_RAISE_EXPECTERS = frozenset({"raises", "assertRaises", "assertRaisesRegex", "assertRaisesRegexp"})

# A value known not to be None without knowing which (given, or made just before).
_GIVEN = object()


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
