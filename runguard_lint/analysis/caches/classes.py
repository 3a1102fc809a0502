"""Classes as the cache analysis sees them: families, receivers, `self` and `cls`.

A class-level dict is written through `self.x`, `cls.x`, `type(self).x` or
`Class.x`, in the class or in a subclass defined here; a private method is
called the same ways. One walk of the module indexes every attribute by
name and every class, the first time either is asked for.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import libcst as cst
from libcst.metadata.scope_provider import Assignment

from runguard_lint.analysis.caches.syntax import (
    bound_nodes,
    decorator_words,
    first_param_is,
    is_staticmethod,
)
from runguard_lint.analysis.names import ModuleFacts

# Hooks that run once per class definition, when the module is imported.
CLASS_CREATION_HOOKS = frozenset({"__init_subclass__", "__set_name__"})


class Receiver(enum.Enum):
    """What a receiver of a method call or attribute is: the class, or an instance."""

    CLASS = "class"
    INSTANCE = "instance"


@dataclass(frozen=True)
class _ModuleIndex:
    attributes: Mapping[str, Sequence[cst.Attribute]]
    classes: Sequence[cst.ClassDef]


class Classes:
    """The classes of one module and the receivers that name them."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

    @cached_property
    def _index(self) -> _ModuleIndex:
        """Every attribute by name, and every class: one walk, for class-level caches and
        for the callers of private methods."""
        attributes: dict[str, list[cst.Attribute]] = {}
        classes: list[cst.ClassDef] = []
        for node in self.facts.nodes:
            # By exact type: an `isinstance` of a LibCST class is an abstract base
            # class's check, asked here of every node.
            if type(node) is cst.Attribute:
                attributes.setdefault(node.attr.value, []).append(node)
            elif type(node) is cst.ClassDef:
                classes.append(node)
        return _ModuleIndex(attributes, classes)

    def attributes_named(self, name: str) -> Sequence[cst.Attribute]:
        """Every `<receiver>.<name>` in the module."""
        return self._index.attributes.get(name, [])

    def family(self, class_def: cst.ClassDef) -> set[int]:
        """The class and its subclasses defined in this module."""
        family = {id(class_def)}
        changed = True
        classes = self._index.classes
        while changed:
            changed = False
            for candidate in classes:
                if id(candidate) in family:
                    continue
                if any(self._resolves_to_class(base.value, family) for base in candidate.bases):
                    family.add(id(candidate))
                    changed = True
        return family

    def _resolves_to_class(self, expression: cst.BaseExpression, classes: set[int]) -> bool:
        if not isinstance(expression, cst.Name):
            return False
        return any(
            isinstance(assignment, Assignment) and id(assignment.node) in classes
            for assignment in self.facts.assignments_of(expression)
        )

    def own_receiver(self, receiver: cst.BaseExpression, classes: set[int]) -> bool:
        """`self`/`cls` of a method of the class, the class's name, or `type(self)`."""
        facts = self.facts
        if (
            isinstance(receiver, cst.Call)
            and "builtins.type" in facts.external_names(receiver.func)
            and len(receiver.args) == 1
        ):
            return self.own_receiver(receiver.args[0].value, classes)
        if not isinstance(receiver, cst.Name):
            return False
        if self._resolves_to_class(receiver, classes):
            return True
        for param in bound_nodes(facts, receiver):
            if not isinstance(param, cst.Param):
                continue
            function = facts.enclosing_function(param)
            if not isinstance(function, cst.FunctionDef):
                continue
            owner = facts.enclosing_class(function)
            if owner is None or id(owner) not in classes or is_staticmethod(function):
                continue
            if first_param_is(function, param):
                return True
        return False

    def receiver(self, receiver: cst.BaseExpression, classes: set[int]) -> Receiver | None:
        """The class (its name, `cls`, `type(self)`) or an instance of it (`self`), else None."""
        facts = self.facts
        if (
            isinstance(receiver, cst.Call)
            and "builtins.type" in facts.external_names(receiver.func)
            and len(receiver.args) == 1
        ):
            return Receiver.CLASS if self.receiver(receiver.args[0].value, classes) else None
        if not isinstance(receiver, cst.Name):
            return None
        bound = bound_nodes(facts, receiver)
        if len(bound) != 1:
            return None
        if isinstance(bound[0], cst.ClassDef):
            return Receiver.CLASS if id(bound[0]) in classes else None
        param = bound[0]
        if not isinstance(param, cst.Param):
            return None
        method = facts.enclosing_function(param)
        if not isinstance(method, cst.FunctionDef) or is_staticmethod(method):
            return None
        owner = facts.enclosing_class(method)
        if owner is None or id(owner) not in classes or not first_param_is(method, param):
            return None
        return Receiver.CLASS if is_class_param(facts, param) else Receiver.INSTANCE


def is_instance_param(facts: ModuleFacts, param: cst.Param) -> bool:
    """`self` of a plain method: an instance, whatever is read from it."""
    function = facts.enclosing_function(param)
    if (
        not isinstance(function, cst.FunctionDef)
        or facts.enclosing_class(function) is None
        or is_staticmethod(function)
    ):
        return False
    return first_param_is(function, param) and not is_class_param(facts, param)


def is_class_param(facts: ModuleFacts, param: cst.Param) -> bool:
    """`cls` of a classmethod or class hook: a class object, not call data."""
    function = facts.enclosing_function(param)
    if not isinstance(function, cst.FunctionDef) or facts.enclosing_class(function) is None:
        return False
    if not first_param_is(function, param):
        return False
    if "staticmethod" not in decorator_words(function) and _is_metaclass(
        facts, facts.enclosing_class(function), 0
    ):
        # In a metaclass (`class Singleton(type)`), the instance is a class.
        return True
    return function.name.value in (
        CLASS_CREATION_HOOKS | {"__new__", "__class_getitem__"}
    ) or "classmethod" in decorator_words(function)


# The standard library's metaclasses: a class deriving from one makes classes.
_METACLASSES = frozenset({"builtins.type", "abc.ABCMeta", "enum.EnumMeta", "enum.EnumType"})


def _is_metaclass(facts: ModuleFacts, class_def: cst.ClassDef | None, depth: int) -> bool:
    """A class with a standard metaclass among its bases, directly or through a class of
    this module (`class Singleton(abc.ABCMeta, type)`, `class Meta(Singleton)`)."""
    if class_def is None or depth > 4:
        return False
    for base in class_def.bases:
        if base.keyword is not None:
            continue
        if facts.external_names(base.value) & _METACLASSES:
            return True
        if isinstance(base.value, cst.Name):
            for assignment in facts.assignments_of(base.value):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.ClassDef) and _is_metaclass(facts, node, depth + 1):
                    return True
    return False
