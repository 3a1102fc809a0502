"""The project's facts as one module's analysis asks them: by call site.

LibCST names a callee relative to the module (`_client`, `.clients.make`,
`C.n.<locals>.self.m`); the facts are keyed by absolute qualified names
(`pkg.a._client`, `pkg.clients.make`, `pkg.a.C.m`). This module translates, and
answers the three questions the ownership analysis has of a call: does it
return a fresh resource, does it release the argument, does it take it over.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import QualifiedNameSource

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.analysis.project.summary import absolute_module
from runguard_lint.catalog import ResourceKind

_SELF = (".<locals>.self.", ".<locals>.cls.")


class ProjectView:
    """One module's window on the project facts."""

    def __init__(self, facts: ModuleFacts, project: ProjectFacts, module: str, package: str):
        self.facts = facts
        self.project = project
        self.module = module
        self.package = package

    def callee(self, func: cst.BaseExpression) -> str | None:
        """The absolute, canonical qualified name of what a call calls, if known."""
        for name in sorted(self.facts.qualified_names(func), key=lambda q: q.name):
            absolute = self._absolute(name.name, name.source)
            if absolute is not None:
                return self.project.canonical(absolute)
        return None

    def _absolute(self, name: str, source: QualifiedNameSource) -> str | None:
        if source is QualifiedNameSource.IMPORT:
            if not name.startswith("."):
                return name
            level = len(name) - len(name.lstrip("."))
            rest = name[level:]
            head, _, tail = rest.rpartition(".")
            base = absolute_module(self.package, head or None, level)
            if base is None:
                return None
            return f"{base}.{tail}" if tail else base
        if source is QualifiedNameSource.LOCAL:
            for marker in _SELF:
                if marker in name:
                    # `C.n.<locals>.self.m`: method m of class C (n is the method we are in).
                    outer, _, attribute = name.partition(marker)
                    owner = outer.rpartition(".")[0]
                    if not owner or "<locals>" in owner or "." in attribute:
                        return None
                    return f"{self.module}.{owner}.{attribute}"
            if "<locals>" in name:
                return None
            return f"{self.module}.{name}"
        return None

    def defines(self, func: cst.BaseExpression) -> bool:
        """Whether the callee is a function or method of the project
        (`self.create_connection`): its own facts decide what it does with what it is
        given, not a library method's name."""
        callee = self.callee(func)
        return callee is not None and callee in self.project.params

    def is_logger(self, receiver: cst.BaseExpression) -> bool:
        """A name the project binds to a logger (`from app.logs import logger`)."""
        return bool(self.project.loggers) and self.callee(receiver) in self.project.loggers

    def makes_logger(self, func: cst.BaseExpression) -> bool:
        """A project function that returns a logger (`get_logger(__name__)`)."""
        return bool(self.project.logger_factories) and (
            self.callee(func) in self.project.logger_factories
        )

    def factory(self, call: cst.Call) -> tuple[ResourceKind, str] | None:
        """The kind of fresh resource the call returns, and the name it was called by."""
        if not self.project.factories:
            return None
        callee = self.callee(call.func)
        kind = self.project.factories.get(callee) if callee is not None else None
        if kind is None or callee is None or self.hands_back(call):
            return None
        return kind, callee

    def hands_back(self, call: cst.Call) -> bool:
        """A call of a getter with a fresh fallback that passes it every parameter it
        would hand back instead (`get_client(self.client)`): nothing new is built."""
        if not self.project.fresh_gates:
            return False
        callee = self.callee(call.func)
        gates = self.project.fresh_gates.get(callee) if callee is not None else None
        return bool(gates) and all(self._given(call, str(callee), index) for index in gates or ())

    def _given(self, call: cst.Call, callee: str, index: int) -> bool:
        """Whether the call passes parameter `index` of the callee (not as `None`);
        `*args`/`**kwargs` may pass anything, so they count as passing it."""
        names = self.project.params.get(callee, ())
        name = names[index] if index < len(names) else None
        positional = 0
        for argument in call.args:
            if argument.star:
                return True
            if argument.keyword is None:
                matched = positional == index
                positional += 1
            else:
                matched = argument.keyword.value == name
            if matched:
                value = argument.value
                return not (isinstance(value, cst.Name) and value.value == "None")
        return False

    def property_factory(self, access: cst.Attribute) -> tuple[ResourceKind, str] | None:
        """The kind of fresh resource reading a property (`self.session`) builds."""
        if not self.project.properties:
            return None
        name = self.callee(access)
        if name is None or name not in self.project.properties:
            return None
        kind = self.project.factories.get(name)
        return (kind, name) if kind is not None else None

    def permit_taken(self, kind: ResourceKind) -> str | None:
        """The semaphore whose permit a project function takes for its caller."""
        return self.project.permit_takers.get(kind.callable)

    def gives_back(self, call: cst.Call, semaphore: str) -> bool:
        """Whether the call is of a project function that gives a permit of it back."""
        callee = self.callee(call.func)
        return callee is not None and self.project.permit_givers.get(callee) == semaphore

    def giver_of(self, semaphore: str) -> str | None:
        """A project function that gives a permit of the semaphore back, for messages."""
        return next(
            (
                name
                for name, given in sorted(self.project.permit_givers.items())
                if given == semaphore
            ),
            None,
        )

    def releases(self, call: cst.Call, argument: cst.Arg) -> bool:
        """Whether the callee releases what it is given in this argument."""
        return self._parameter_in(call, argument, self.project.releasers)

    def takes(self, call: cst.Call, argument: cst.Arg) -> bool:
        """Whether the callee keeps (stores, wraps in a class it builds, returns) it."""
        return self._parameter_in(call, argument, self.project.takers)

    def builds_holder(self, call: cst.Call) -> bool:
        """Whether the call builds a project class whose instances hold a resource."""
        if not self.project.resource_holders:
            return False
        callee = self.callee(call.func)
        return callee is not None and callee in self.project.resource_holders

    def instance_keeps(self, call: cst.Call, argument: cst.Arg) -> bool:
        """Whether the call builds a project class whose `__init__` keeps what it is
        given in this argument (`RetryTransport(pool)`, `self.inner = inner`)."""
        callee = self.callee(call.func)
        return (
            callee is not None
            and callee in self.project.classes
            and self._kept_by(f"{callee}.__init__", call, argument, self.project.takers)
        )

    def keeps_nothing(self, call: cst.Call) -> bool:
        """A project function that keeps none of its arguments (so what it returns is
        made from them, not a view of them)."""
        callee = self.callee(call.func)
        return (
            callee is not None
            and callee in self.project.params
            and callee not in self.project.takers
        )

    def _parameter_in(
        self, call: cst.Call, argument: cst.Arg, table: Mapping[str, frozenset[int]]
    ) -> bool:
        if not table:
            return False
        callee = self.callee(call.func)
        return callee is not None and self._kept_by(callee, call, argument, table)

    def _kept_by(
        self,
        callee: str,
        call: cst.Call,
        argument: cst.Arg,
        table: Mapping[str, frozenset[int]],
    ) -> bool:
        """Whether `table` names the parameter of `callee` that the argument is passed to."""
        if callee not in table:
            return False
        index = self._parameter_index(call, argument, callee)
        return index is not None and index in table[callee]

    def _parameter_index(self, call: cst.Call, argument: cst.Arg, callee: str) -> int | None:
        if argument.star:
            return None
        if argument.keyword is not None:
            names = self.project.params.get(callee, ())
            keyword = argument.keyword.value
            return names.index(keyword) if keyword in names else None
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for position, candidate in enumerate(positional):
            if candidate is argument:
                return position
        return None
