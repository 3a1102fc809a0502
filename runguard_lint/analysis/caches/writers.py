"""Which writes into a cache run at request time, and which only register code.

Registration and set-up run at import time and are bounded by the code, not
by traffic: class-creation and metaclass hooks, `register*` functions,
decorators (`return fn`, `@function`, what a `@factory(...)` returns), and
module-level functions only ever called from module-level code. So is a
write whose value is the function or class handed in (`HANDLERS[name] = fn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from runguard_lint.analysis.caches.annotations import CALLABLE_ANNOTATIONS, annotation_names
from runguard_lint.analysis.caches.calls import module_calls
from runguard_lint.analysis.caches.classes import CLASS_CREATION_HOOKS
from runguard_lint.analysis.caches.syntax import bound_nodes, own_nodes, under_main_guard
from runguard_lint.analysis.names import FunctionNode, ModuleFacts

_METACLASS_HOOKS = frozenset({"__new__", "__init__", "__prepare__"})
# Parameter names that carry a function or class being registered.
_REGISTERED_OBJECT_NAMES = frozenset(
    {
        "fn",
        "func",
        "function",
        "f",
        "cls",
        "klass",
        "class_",
        "handler",
        "callback",
        "hook",
        "factory",
        "plugin",
        "view",
        "command",
        "decorated",
        "wrapped",
        "obj_type",
    }
)


@dataclass(frozen=True)
class _Decorators:
    """What the module's decorators name."""

    # The nodes bound to a decorator's plain name (`@name`, `@name(...)`), by id.
    functions: frozenset[int]
    # ... those called to make the decorator (`@name(...)`).
    factories: frozenset[int]
    # The attribute names of `@x.name` and `@x.name(...)`.
    attributes: frozenset[str]


class Writers:
    """When the functions of one module run: at import (set-up) or at request time."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        # Per function: runs at import. Asked recursively through callers, so the answer
        # depends on which function is asked first only within a call cycle, which
        # counts as request time (its placeholder answer while it is being worked out).
        self._import_time: dict[int, bool] = {}

    def runtime_function(self, node: cst.CSTNode) -> FunctionNode | None:
        """The function holding a write, when it runs at request time (not at import)."""
        function = self.facts.enclosing_function(node)
        if function is None or under_main_guard(self.facts, node):
            return None
        return None if self._is_import_time(function) else function

    def registers_callable(
        self, function: FunctionNode, values: tuple[cst.BaseExpression, ...]
    ) -> bool:
        """`HANDLERS[name] = handler`: the value is a function or class handed in."""
        if not values:
            return False
        facts = self.facts
        for value in values:
            if not isinstance(value, cst.Name):
                return False
            params = [
                bound
                for bound in bound_nodes(facts, value)
                if isinstance(bound, cst.Param) and facts.enclosing_function(bound) is function
            ]
            if not params or not all(self._is_callable_param(param) for param in params):
                return False
        return True

    def _is_callable_param(self, param: cst.Param) -> bool:
        if param.annotation is not None:
            annotation = param.annotation.annotation
            head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            return bool(annotation_names(self.facts, head) & CALLABLE_ANNOTATIONS)
        return param.name.value in _REGISTERED_OBJECT_NAMES

    def _is_import_time(self, function: FunctionNode) -> bool:
        key = id(function)
        if key not in self._import_time:
            self._import_time[key] = False  # a call cycle proves nothing
            self._import_time[key] = self._runs_at_import(function)
        return self._import_time[key]

    def _runs_at_import(self, function: FunctionNode) -> bool:
        """Registration and set-up code: bounded by the code, not by traffic."""
        if not isinstance(function, cst.FunctionDef):
            return False
        name = function.name.value
        if name in CLASS_CREATION_HOOKS or "register" in name.lower():
            return True
        owner = self.facts.enclosing_class(function)
        if owner is not None and name in _METACLASS_HOOKS and self._is_metaclass(owner):
            return True
        return (
            self._returns_parameter(function)
            or self._used_as_decorator(function)
            or self._called_only_at_import(function)
        )

    def _is_metaclass(self, class_def: cst.ClassDef) -> bool:
        for base in class_def.bases:
            names = annotation_names(self.facts, base.value)
            if names & {"builtins.type", "abc.ABCMeta", "type"} or any(
                name.endswith("Meta") for name in names
            ):
                return True
        return False

    def _returns_parameter(self, function: cst.FunctionDef) -> bool:
        """A decorator that registers its argument and hands it back: `return fn`."""
        for node in own_nodes(function):
            if isinstance(node, cst.Return) and isinstance(node.value, cst.Name):
                for bound in bound_nodes(self.facts, node.value):
                    if (
                        isinstance(bound, cst.Param)
                        and self.facts.enclosing_function(bound) is function
                    ):
                        return True
        return False

    @cached_property
    def _decorators(self) -> _Decorators:
        """One walk over every decorator of the module, the first time one is asked about."""
        functions: set[int] = set()
        factories: set[int] = set()
        attributes: set[str] = set()
        for node in self.facts.nodes:
            if type(node) is not cst.Decorator:  # by exact type: asked of every node
                continue
            expression = node.decorator
            factory = isinstance(expression, cst.Call)
            if isinstance(expression, cst.Call):
                expression = expression.func
            if isinstance(expression, cst.Attribute):
                attributes.add(expression.attr.value)
            elif isinstance(expression, cst.Name):
                for bound in bound_nodes(self.facts, expression):
                    functions.add(id(bound))
                    if factory:
                        factories.add(id(bound))
        return _Decorators(frozenset(functions), frozenset(factories), frozenset(attributes))

    def _used_as_decorator(self, function: cst.FunctionDef) -> bool:
        """`@function`, `@function(...)`, or the decorator a `@factory(...)` returns."""
        decorators = self._decorators
        if id(function) in decorators.functions:
            return True
        outer = self.facts.enclosing_function(function)
        if (
            isinstance(outer, cst.FunctionDef)
            and id(outer) in decorators.factories
            and self._returns_function(outer, function)
        ):
            return True
        return (
            self.facts.enclosing_class(function) is not None
            and function.name.value in decorators.attributes
        )

    def _returns_function(self, outer: cst.FunctionDef, inner: cst.FunctionDef) -> bool:
        for node in own_nodes(outer):
            if (
                isinstance(node, cst.Return)
                and isinstance(node.value, cst.Name)
                and any(bound is inner for bound in bound_nodes(self.facts, node.value))
            ):
                return True
        return False

    def _called_only_at_import(self, function: cst.FunctionDef) -> bool:
        """A module-level function only ever called from module-level code (set-up)."""
        found = module_calls(self.facts, function)
        if found is None or not (found.calls or found.deleted):
            return False
        for call in found.calls:
            if under_main_guard(self.facts, call):
                return False
            caller = self.facts.enclosing_function(call)
            if caller is not None and not self._is_import_time(caller):
                return False
        return True
