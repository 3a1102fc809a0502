"""`functools.cache` and `lru_cache(maxsize=None)` on functions taking free-form arguments.

Text, ids and paths make every new argument value a new entry kept forever.
A parameter is free-form by its annotation (`str`, `bytes`, an `int` named
like an id) or, unannotated, by its name (`text`, `url`, `user_id`...). The
exemptions of the dict-cache analysis apply: a parameter whose values are
types or functions, or that every call here passes a constant, is bounded
by the code (keys.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from runguard_lint.analysis.caches.annotations import annotation_kinds
from runguard_lint.analysis.caches.classes import Classes
from runguard_lint.analysis.caches.keys import Keys
from runguard_lint.analysis.caches.syntax import is_staticmethod, positional_params
from runguard_lint.analysis.caches.type_params import TypeParams
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.dict_vocabulary import FUNCTOOLS_CACHE, FUNCTOOLS_LRU_CACHE
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.tree import walk

_UNBOUNDED_TYPES = frozenset({"builtins.str", "builtins.bytes", "str", "bytes"})
_INT_TYPES = frozenset({"builtins.int", "int"})
_FREE_FORM_WORDS = frozenset(
    {
        "text",
        "texts",
        "prompt",
        "prompts",
        "query",
        "queries",
        "q",
        "url",
        "urls",
        "uri",
        "key",
        "keys",
        "id",
        "ids",
        "uid",
        "uuid",
        "pk",
        "path",
        "paths",
        "name",
        "filename",
        "fname",
        "question",
        "message",
        "msg",
        "content",
        "document",
        "doc",
        "docs",
        "input",
        "sentence",
        "email",
        "username",
        "slug",
        "term",
        "sql",
        "html",
        "body",
        "title",
        "word",
        "string",
    }
)
_ID_WORDS = frozenset({"id", "ids", "uid", "uuid", "pk", "key", "keys", "number", "num", "no"})


class UnboundedDecorator(enum.Enum):
    """Which unbounded functools cache decorates the function."""

    CACHE = "cache"
    LRU_CACHE_WITHOUT_MAXSIZE = "lru_cache(maxsize=None)"


@dataclass(frozen=True)
class UnboundedFunctoolsCache:
    """An unbounded functools cache on a function taking free-form arguments."""

    decorator: cst.Decorator
    kind: UnboundedDecorator
    function: cst.FunctionDef
    # The free-form parameters, in signature order.
    params: tuple[str, ...]
    # A method's cache also keeps every `self` it saw alive.
    keeps_instances: bool


def unbounded_functools_caches(context: FileContext) -> Iterator[UnboundedFunctoolsCache]:
    """The module's unbounded functools caches on free-form arguments, in source order."""
    facts = context.facts
    keys: Keys | None = None
    for node in walk(facts.module):
        if not isinstance(node, cst.FunctionDef):
            continue
        for decorator in node.decorators:
            kind = _unbounded_decorator(facts, decorator)
            if kind is None:
                continue
            if keys is None:
                classes = Classes(facts)
                keys = Keys(facts, context.filename, classes, TypeParams(facts))
            params = _free_form_params(facts, node, keys)
            if not params:
                continue
            keeps_instances = facts.enclosing_class(node) is not None and not is_staticmethod(node)
            yield UnboundedFunctoolsCache(decorator, kind, node, params, keeps_instances)


def _unbounded_decorator(facts: ModuleFacts, decorator: cst.Decorator) -> UnboundedDecorator | None:
    """Which unbounded cache the decorator is, if it is `functools.cache` or
    `lru_cache(maxsize=None)`."""
    expression = decorator.decorator
    if isinstance(expression, cst.Call):
        if FUNCTOOLS_LRU_CACHE not in facts.external_names(expression.func):
            return None
        maxsize: cst.BaseExpression | None = None
        for position, arg in enumerate(expression.args):
            if (arg.keyword is None and position == 0 and not arg.star) or (
                arg.keyword is not None and arg.keyword.value == "maxsize"
            ):
                maxsize = arg.value
        if isinstance(maxsize, cst.Name) and maxsize.value == "None":
            return UnboundedDecorator.LRU_CACHE_WITHOUT_MAXSIZE
        return None
    if FUNCTOOLS_CACHE in facts.external_names(expression):
        return UnboundedDecorator.CACHE
    return None


def _free_form_params(facts: ModuleFacts, function: cst.FunctionDef, keys: Keys) -> tuple[str, ...]:
    """Parameters that take free-form values: not types, and not always constants here."""
    params = function.params
    positional = positional_params(function)
    if facts.enclosing_class(function) is not None and not is_staticmethod(function) and positional:
        positional = positional[1:]
    candidates: list[cst.Param] = [*positional, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        candidates.append(params.star_arg)
    return tuple(
        param.name.value
        for param in candidates
        if _is_free_form(facts, param) and not keys.code_bounded(param)
    )


def _is_free_form(facts: ModuleFacts, param: cst.Param) -> bool:
    words = [word for word in param.name.value.lower().split("_") if word]
    if param.annotation is None:
        return bool(set(words) & _FREE_FORM_WORDS)
    kinds = annotation_kinds(facts, param.annotation.annotation)
    if kinds & _UNBOUNDED_TYPES:
        return True
    return bool(kinds & _INT_TYPES) and bool(set(words) & _ID_WORDS)
