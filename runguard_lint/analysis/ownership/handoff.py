"""What a call does with a resource passed to it: borrow, release, store, or take it.

The verdicts come from the catalog's shared ownership facts (sinks, capturing
callables, non-owning consumers, closing wrappers), the resource kind's
owner-side release methods, and naming conventions: store methods, setters,
constructors and classes keep what they are given.
"""

from __future__ import annotations

import re

import libcst as cst

from runguard_lint.analysis.caches.syntax import binding_values
from runguard_lint.analysis.names import ModuleFacts, dotted_name
from runguard_lint.analysis.ownership.model import (
    Acquisition,
    ArgumentVerdict,
    Escape,
    EscapeKind,
    Handoff,
)
from runguard_lint.analysis.project.summary import STORE_METHODS
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.analysis.syntax import terminal_name
from runguard_lint.catalog import Catalog
from runguard_lint.wordmatch import is_capwords

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
# Annotations of a class object (`type[Client]`): calling such a value builds one.
_TYPE_OF_CLASS = frozenset({"builtins.type", "typing.Type", "typing_extensions.Type"})
# Method names that keep their argument in the receiver.
_SETTER = re.compile(r"(set|add|register|attach|install|bind|use)_?[A-Za-z_]", re.ASCII)


class Handoffs:
    """Judges calls that receive a resource as an argument."""

    def __init__(
        self, facts: ModuleFacts, catalog: Catalog, project: ProjectView | None = None
    ) -> None:
        self.facts = facts
        self.catalog = catalog
        self.project = project

    def verdict(
        self, call: cst.Call, argument: cst.Arg, acquisition: Acquisition, container: bool
    ) -> ArgumentVerdict:
        """What call does with an argument that is the resource (or, with container, holds it)."""
        if self.project is not None and not container:
            # A project function's own facts come first: it releases or keeps it.
            if self.project.releases(call, argument):
                return Handoff.OWNER_RELEASE
            if self.project.takes(call, argument):
                return Escape(EscapeKind.KEPT_BY_CALLEE, dotted_name(call.func) or "a call")
        ownership = self.catalog.ownership
        names = self.facts.external_names(call.func)
        dotted = dotted_name(call.func) or ""
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        if names & ownership.closing_wrappers:
            return Handoff.CLOSING_WRAPPER
        if names & _PASSTHROUGH:
            return Handoff.TRANSPARENT
        if container and names & _CONTAINER_VIEWS:
            return Handoff.TRANSPARENT
        # Owner-side release: `pool.release(conn)`, `pool.putconn(conn)`.
        if method and method in acquisition.kind.owner_release:
            return Handoff.OWNER_RELEASE
        if (
            names & ownership.sinks
            or dotted in ownership.sinks
            or (
                method
                and method in ownership.sinks
                and not (self.project is not None and self.project.defines(call.func))
            )
            or (
                method in ownership.sink_methods
                and self._methods_of_built(call.func) & ownership.sinks
            )
            or (
                argument.keyword is not None
                and argument.keyword.value == "sock"
                and terminal_name(call.func) in ownership.socket_takers
            )
        ):
            return Escape(EscapeKind.HANDED_TO_SINK, dotted or method)
        if names & ownership.capturing or dotted in ownership.capturing:
            return Escape(EscapeKind.CAPTURED_BY_CALL, dotted)
        if method in ("__init__", "__new__"):
            return Escape(EscapeKind.CONSTRUCTOR, dotted)
        if self._set_as_attribute(call, argument, names, method):
            # `setattr(job, "process", proc)`, `object.__setattr__(job, "process", proc)`
            # (a frozen dataclass): stored on that object, as `job.process = proc` is.
            return Escape(EscapeKind.STORED_ATTRIBUTE, dotted or method)
        if method in STORE_METHODS:
            return Handoff.STORE
        if method and _SETTER.match(method):
            # `handler.setStream(stream)`, `app.add_client(client)`: the receiver keeps it.
            return Escape(EscapeKind.KEPT_BY_SETTER, dotted or method)
        if names & ownership.non_owning or dotted in ownership.non_owning:
            return Handoff.CONSUME
        if self.is_class(call.func):
            return Escape(EscapeKind.PASSED_TO_CLASS, dotted or "a class")
        return Handoff.BORROW

    def _methods_of_built(self, func: cst.BaseExpression) -> set[str]:
        """`uvicorn.Server(config).run`, or `server.run` where every binding of `server`
        is `uvicorn.Server(...)` (or `await` of such a call): the method by the
        qualified name of what built its receiver, as the catalog names it
        (`uvicorn.Server.run`). Empty when any binding is something else: a parameter,
        an import, an `except ... as`, a loop variable, another call."""
        if not isinstance(func, cst.Attribute):
            return set()
        receiver = func.value
        sources = (
            binding_values(self.facts, receiver) if isinstance(receiver, cst.Name) else [receiver]
        )
        if sources is None:
            return set()
        methods: set[str] | None = None
        for source in sources:
            if isinstance(source, cst.Await):
                source = source.expression
            names = (
                self.facts.external_names(source.func) if isinstance(source, cst.Call) else set()
            )
            built = {f"{name}.{func.attr.value}" for name in names}
            # What every binding's class has: one that may be another class's decides.
            methods = built if methods is None else methods & built
            if not methods:
                return set()
        return methods or set()

    @staticmethod
    def _set_as_attribute(
        call: cst.Call, argument: cst.Arg, names: set[str] | frozenset[str], method: str
    ) -> bool:
        """The value argument of `setattr(obj, name, value)`, of
        `object.__setattr__(obj, name, value)`, or of `obj.__setattr__(name, value)`."""
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if "builtins.setattr" in names or (
            method == "__setattr__"
            and isinstance(call.func, cst.Attribute)
            and isinstance(call.func.value, cst.Name)
            and call.func.value.value in ("object", "type")
        ):
            index = 2
        elif method == "__setattr__":
            index = 1
        else:
            return False
        return len(positional) > index and positional[index] is argument

    def returns_data(self, call: cst.Call) -> bool:
        """A project function known to keep none of its arguments: what it returns was
        made from them, not a view of them (unknown callees may return either)."""
        return self.project is not None and self.project.keeps_nothing(call)

    def is_class(self, func: cst.BaseExpression) -> bool:
        """A callee that builds an object: a class here, a catalog constructor, a CapWords name."""
        if isinstance(func, cst.Name):
            for assignment in self.facts.assignments_of(func):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.ClassDef):
                    return True
                if isinstance(node, cst.Param) and (
                    self._is_cls_parameter(node) or self._annotated_class(node)
                ):
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

    def _annotated_class(self, param: cst.Param) -> bool:
        """A parameter annotated as a class (`client_cls: type[httpx.Client]`,
        `Type[Base]`): calling it builds an instance."""
        annotation = param.annotation.annotation if param.annotation is not None else None
        return isinstance(annotation, cst.Subscript) and bool(
            self.facts.external_names(annotation.value) & _TYPE_OF_CLASS
        )

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
