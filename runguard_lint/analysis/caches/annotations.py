"""What annotations say about the values of a parameter or the keys of a cache.

A key annotated `type`, `Callable[...]`, a flag or a literal is bounded by the
code; `str`, `int` or `bytes` is plain data; `Any`, `object` or a TypeVar say
nothing, so how the value is used decides (see type_params.py).
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.caches.syntax import bound_nodes, bound_value
from runguard_lint.analysis.names import ModuleFacts, dotted_name

CLASSVAR = frozenset({"typing.ClassVar", "typing_extensions.ClassVar", "ClassVar"})
CALLABLE_ANNOTATIONS = frozenset(
    {
        "typing.Callable",
        "collections.abc.Callable",
        "builtins.type",
        "typing.Type",
        "Callable",
        "type",
        "Type",
    }
)
# Annotations whose values are classes, typing constructs or functions: as many as the code
# defines, so keys made of them are bounded by code size (the spec's class/function keys).
_TYPE_ANNOTATIONS = CALLABLE_ANNOTATIONS | frozenset(
    {
        "typing_extensions.Type",
        "typing_extensions.Callable",
        "typing.TypeForm",
        "typing_extensions.TypeForm",
        "TypeForm",
        "types.FunctionType",
        "FunctionType",
        "types.BuiltinFunctionType",
        "abc.ABCMeta",
        # A module object: as many as there are importable modules, like a module name.
        "types.ModuleType",
        "ModuleType",
    }
)
# Annotations that say nothing about the value, so how the function uses it decides.
_OPAQUE_ANNOTATIONS = frozenset(
    {"typing.Any", "typing_extensions.Any", "Any", "builtins.object", "object"}
)
_TYPEVAR_FACTORIES = frozenset({"typing.TypeVar", "typing_extensions.TypeVar"})
# Plain data: a parameter annotated with one of these is never taken for a type.
DATA_ANNOTATIONS = frozenset(
    {
        f"{prefix}{name}"
        for prefix in ("", "builtins.")
        for name in ("str", "bytes", "bytearray", "int", "float", "complex", "bool")
    }
)
_FLAG_TYPES = frozenset({"builtins.bool", "bool", "None", "builtins.None"})
_LITERAL_TYPES = frozenset({"typing.Literal", "typing_extensions.Literal", "Literal"})
_TUPLE_TYPES = frozenset({"builtins.tuple", "tuple", "typing.Tuple", "Tuple"})
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated", "Annotated"})
# Annotations that wrap the types a value may have.
_WRAPPER_TYPES = _ANNOTATED | frozenset({"typing.Optional", "typing.Union", "Optional", "Union"})


def annotation_names(facts: ModuleFacts, expression: cst.BaseExpression) -> set[str]:
    """What an annotation names: qualified through imports, and as written."""
    dotted = dotted_name(expression)
    return facts.external_names(expression) | ({dotted} if dotted else set())


def annotation_kinds(facts: ModuleFacts, annotation: cst.BaseExpression) -> set[str]:
    """The type names an annotation admits, through Optional, Union, `|` and Annotated."""
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        return {text} if isinstance(text, str) else set()
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return annotation_kinds(facts, annotation.left) | annotation_kinds(facts, annotation.right)
    if isinstance(annotation, cst.Subscript):
        head = annotation_names(facts, annotation.value)
        if not head & _WRAPPER_TYPES:
            return set()
        elements: list[cst.BaseExpression] = [
            element.slice.value
            for element in annotation.slice
            if isinstance(element.slice, cst.Index)
        ]
        if head & _ANNOTATED:
            elements = elements[:1]
        kinds: set[str] = set()
        for element in elements:
            kinds |= annotation_kinds(facts, element)
        return kinds
    return annotation_names(facts, annotation)


def _annotation_members(
    facts: ModuleFacts, annotation: cst.BaseExpression
) -> list[cst.BaseExpression]:
    """The members of a union annotation (Optional, Union, `|`), None left out."""
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return [
            *_annotation_members(facts, annotation.left),
            *_annotation_members(facts, annotation.right),
        ]
    if isinstance(annotation, cst.Name) and annotation.value == "None":
        return []
    if isinstance(annotation, cst.Subscript):
        head = annotation_names(facts, annotation.value)
        if head & _WRAPPER_TYPES:
            elements = [
                element.slice.value
                for element in annotation.slice
                if isinstance(element.slice, cst.Index)
            ]
            if head & _ANNOTATED:
                elements = elements[:1]
            return [
                member for element in elements for member in _annotation_members(facts, element)
            ]
    return [annotation]


def is_type_annotation(facts: ModuleFacts, annotation: cst.BaseExpression) -> bool:
    """`type`, `type[X]`, `Type[X]`, `Callable[...]`, `ModuleType` (also Optional or a
    union of them)."""
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        if not isinstance(text, str):
            return False
        return text.split("[", 1)[0].strip() in _TYPE_ANNOTATIONS
    members = _annotation_members(facts, annotation)
    return bool(members) and all(
        annotation_names(facts, member.value if isinstance(member, cst.Subscript) else member)
        & _TYPE_ANNOTATIONS
        for member in members
    )


def is_opaque_annotation(facts: ModuleFacts, annotation: cst.BaseExpression) -> bool:
    """`Any`, `object` or a TypeVar: the annotation says nothing about the value."""
    members = _annotation_members(facts, annotation)
    for member in members:
        if isinstance(member, cst.Subscript):
            return False
        if annotation_names(facts, member) & _OPAQUE_ANNOTATIONS:
            continue
        if not (isinstance(member, cst.Name) and _is_typevar(facts, member)):
            return False
    return bool(members)


def _is_typevar(facts: ModuleFacts, name: cst.Name) -> bool:
    bound = bound_nodes(facts, name)
    if len(bound) != 1 or not isinstance(bound[0], cst.Name):
        return False
    value = bound_value(facts, bound[0])
    return isinstance(value, cst.Call) and bool(
        facts.external_names(value.func) & _TYPEVAR_FACTORIES
    )


def tuple_parts(
    facts: ModuleFacts, annotation: cst.BaseExpression
) -> list[cst.BaseExpression] | None:
    """The element types of a fixed-length `tuple[A, B]` annotation, else None."""
    if not isinstance(annotation, cst.Subscript) or not (
        annotation_names(facts, annotation.value) & _TUPLE_TYPES
    ):
        return None
    parts: list[cst.BaseExpression] = []
    for element in annotation.slice:
        if not isinstance(element.slice, cst.Index) or isinstance(
            element.slice.value, cst.Ellipsis
        ):
            return None
        parts.append(element.slice.value)
    return parts


def bounded_key_annotation(facts: ModuleFacts, annotation: cst.BaseExpression) -> bool:
    """`type`, `Callable[...]`, or a tuple of those, flags and literals."""
    if is_type_annotation(facts, annotation):
        return True
    kinds = annotation_kinds(facts, annotation)
    if kinds and kinds <= _FLAG_TYPES:
        return True
    if (
        isinstance(annotation, cst.Subscript)
        and annotation_names(facts, annotation.value) & _LITERAL_TYPES
    ):
        return True
    parts = tuple_parts(facts, annotation)
    if (
        parts is None
        and isinstance(annotation, cst.Subscript)
        and annotation_names(facts, annotation.value) & _TUPLE_TYPES
        and len(annotation.slice) == 2
    ):
        # tuple[type, ...]: any number of types.
        first = annotation.slice[0].slice
        return isinstance(first, cst.Index) and is_type_annotation(facts, first.value)
    return parts is not None and all(bounded_key_annotation(facts, part) for part in parts)


def cache_key_type(
    facts: ModuleFacts, annotation: cst.Annotation | None
) -> cst.BaseExpression | None:
    """The key type of a cache's own annotation (`dict[type, X]`, `ClassVar[...]`), if any."""
    if annotation is None:
        return None
    expression = annotation.annotation
    if (
        isinstance(expression, cst.Subscript)
        and len(expression.slice) == 1
        and annotation_names(facts, expression.value) & CLASSVAR
    ):
        inner = expression.slice[0].slice
        expression = inner.value if isinstance(inner, cst.Index) else expression
    if not isinstance(expression, cst.Subscript) or len(expression.slice) != 2:
        return None
    first = expression.slice[0].slice
    return first.value if isinstance(first, cst.Index) else None


def is_flag(facts: ModuleFacts, param: cst.Param) -> bool:
    """A bool or Literal parameter (`aliased: bool`, `terse=False`): a few values at most."""
    if isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
        return True
    if param.annotation is None:
        return False
    annotation = param.annotation.annotation
    if isinstance(annotation, cst.Subscript) and (
        annotation_names(facts, annotation.value) & _LITERAL_TYPES
    ):
        return True
    kinds = annotation_kinds(facts, annotation)
    return bool(kinds) and kinds <= _FLAG_TYPES
