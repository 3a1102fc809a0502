"""Parameters whose values are classes, typing constructs or functions.

As many values as the code defines, so keys made of them are bounded by
code size. A parameter is one when annotated so (`type[X]`, `Callable[...]`),
or used so: handed to `TypeAdapter`, `get_type_hints`, `get_origin`,
`issubclass`, `inspect.*`, `functools.wraps`..., or with `__name__`/`__args__`/...
read from it, in the function or in a same-module helper it is passed to.
A parameter annotated `str`, `int` or `bytes` is data whatever is done with it.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.caches.annotations import (
    DATA_ANNOTATIONS,
    annotation_kinds,
    is_opaque_annotation,
    is_type_annotation,
)
from runguard_lint.analysis.caches.classes import is_instance_param
from runguard_lint.analysis.caches.syntax import arguments_for, bound_nodes, param_references
from runguard_lint.analysis.names import ModuleFacts

# Attributes only classes, functions or typing constructs have.
_TYPE_DUNDERS = frozenset(
    {
        "__name__",
        "__qualname__",
        "__args__",
        "__origin__",
        "__mro__",
        "__bases__",
        "__code__",
        "__wrapped__",
        "__parameters__",
        "__subclasses__",
        "__defaults__",
        "__kwdefaults__",
    }
)
# Attributes that instances have too: they mark a type only when the annotation is silent.
_WEAK_TYPE_DUNDERS = frozenset({"__module__", "__dict__", "__annotations__"})
# Callables whose first argument is a type or a typing construct, by their last name (they
# are re-exported under many paths: pydantic, typing_extensions, compat modules).
_TYPE_TAKING_NAMES = frozenset(
    {
        "TypeAdapter",
        "get_type_hints",
        "get_args",
        "get_origin",
        "create_model",
        "parse_obj_as",
        "is_typeddict",
    }
)
# ... and by their qualified name.
_TYPE_TAKING_CALLABLES = frozenset(
    {
        f"inspect.{name}"
        for name in (
            "signature",
            "getsource",
            "getsourcefile",
            "getsourcelines",
            "getfile",
            "getmodule",
            "getfullargspec",
            "unwrap",
            "getmro",
            "get_annotations",
            "getclosurevars",
            "getcomments",
        )
    }
    | {"dataclasses.fields", "functools.wraps", "builtins.issubclass"}
)
# Callables whose second argument is a type or a function.
_TYPE_TAKING_SECOND = frozenset(
    {"builtins.isinstance", "builtins.issubclass", "functools.update_wrapper"}
)
# How deep same-module helpers are followed.
_HELPER_DEPTH = 3


class TypeParams:
    """Which parameters of one module carry types or functions, remembered per parameter."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        # Asked again for every key and caller that names the parameter.
        self._answers: dict[int, bool] = {}

    def is_type_param(self, param: cst.Param) -> bool:
        """A parameter whose values are classes, typing constructs or functions."""
        answer = self._answers.get(id(param))
        if answer is None:
            # Helpers are followed _HELPER_DEPTH deep, so a helper cycle ends there.
            answer = self._answers[id(param)] = self._type_param(param, 0)
        return answer

    def _type_param(self, param: cst.Param, depth: int) -> bool:
        if param.star in ("*", "**") or is_instance_param(self.facts, param):
            return False
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None:
            if is_type_annotation(self.facts, annotation):
                return True
            if annotation_kinds(self.facts, annotation) & DATA_ANNOTATIONS:
                return False
        weak = annotation is None or is_opaque_annotation(self.facts, annotation)
        return self._used_as_type(param_references(self.facts, param), weak, depth)

    def _used_as_type(self, references: list[cst.Name], weak: bool, depth: int) -> bool:
        return any(self._reference_used_as_type(reference, weak, depth) for reference in references)

    def _reference_used_as_type(self, reference: cst.Name, weak: bool, depth: int) -> bool:
        facts = self.facts
        parent = facts.parent(reference)
        if isinstance(parent, cst.Attribute) and parent.value is reference:
            dunders = _TYPE_DUNDERS | (_WEAK_TYPE_DUNDERS if weak else frozenset())
            return parent.attr.value in dunders
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is reference:
            # A collection of types: `for member in members: get_origin(member)`.
            return self._elements_used_as_type(parent.target, weak, depth)
        if not isinstance(parent, cst.Arg) or parent.value is not reference or parent.star:
            return False
        call = facts.parent(parent)
        if not isinstance(call, cst.Call):
            return False
        names = facts.external_names(call.func)
        # Imported under any path (pydantic, typing_extensions, a compat module): a
        # same-module `get_args()` is judged by its body below instead.
        last_names = {name.rsplit(".", 1)[-1] for name in names}
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        index = next((position for position, arg in enumerate(positional) if arg is parent), -1)
        if index == 0 and (names & _TYPE_TAKING_CALLABLES or last_names & _TYPE_TAKING_NAMES):
            return True
        if index == 1 and names & _TYPE_TAKING_SECOND:
            return True
        if index == 0 and "builtins.getattr" in names and len(positional) > 1:
            attribute = positional[1].value
            dunders = _TYPE_DUNDERS | (_WEAK_TYPE_DUNDERS if weak else frozenset())
            return isinstance(attribute, cst.SimpleString) and attribute.evaluated_value in dunders
        if index == 0 and "builtins.enumerate" in names:
            loop = facts.parent(call)
            if (
                isinstance(loop, (cst.For, cst.CompFor))
                and loop.iter is call
                and isinstance(loop.target, cst.Tuple)
                and len(loop.target.elements) == 2
            ):
                return self._elements_used_as_type(loop.target.elements[1].value, weak, depth)
            return False
        return self._helper_uses_as_type(call, parent, depth)

    def _elements_used_as_type(self, target: cst.BaseExpression, weak: bool, depth: int) -> bool:
        if not isinstance(target, cst.Name):
            return False
        references = [
            access.node
            for access in self.facts.references_of_binding(target)
            if isinstance(access.node, cst.Name)
        ]
        return self._used_as_type(references, weak, depth)

    def _helper_uses_as_type(self, call: cst.Call, argument: cst.Arg, depth: int) -> bool:
        """`_resolve(tp)` where the same-module function `_resolve` uses its parameter as a type."""
        if depth >= _HELPER_DEPTH or not isinstance(call.func, cst.Name):
            return False
        bound = bound_nodes(self.facts, call.func)
        if (
            len(bound) != 1
            or not isinstance(bound[0], cst.FunctionDef)
            or self.facts.enclosing_class(bound[0]) is not None
        ):
            return False
        helper = bound[0]
        for param in [
            *helper.params.posonly_params,
            *helper.params.params,
            *helper.params.kwonly_params,
        ]:
            arguments = arguments_for(call, helper, param)
            if arguments is not None and any(value is argument.value for value in arguments):
                return self._type_param(param, depth + 1)
        return False
