"""The cache stages: what the unbounded-cache rules must see of a file, from the `ast` tree.

For dicts: the module- and class-level dict bindings some function may write
into with a key from call data, less those surely evicted from or handed on,
and the functions the full analysis follows from them (`cache_units`). For
functools caches: whether any function has a `cache`/`lru_cache` decorator.

Which dicts are written or released is dict_uses.py's answer, in the
vocabulary the full analysis shares (analysis/dict_vocabulary.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import NamedTuple, Union

from runguard_lint.analysis.dict_vocabulary import (
    CACHE_DECORATORS,
    DEFAULTDICT_FACTORIES,
    DICT_FACTORIES,
    terminals,
)
from runguard_lint.astwalk import children, walk
from runguard_lint.prefilter.dict_uses import surely_released, written_in_function
from runguard_lint.prefilter.syntax import SCOPES, import_map, names_one_of, statements

# Union, not `|`: the alias is evaluated at import, and Python 3.9 has no `type | type`.
Unit = Union[ast.FunctionDef, ast.AsyncFunctionDef]
# `{}` with anything Python allows between the braces of an empty dict display.
# `match` statements exist from Python 3.10 on.
_MATCH_CASE: tuple[type[ast.AST], ...] = tuple(
    node for node in (getattr(ast, "match_case", None),) if node is not None
)
_EMPTY_DICT = re.compile(r"\{(?:\s|\\\r?\n|\\\r|#[^\r\n]*)*\}")
_DICT_FACTORY_NAMES = terminals(DICT_FACTORIES | DEFAULTDICT_FACTORIES)
_CACHE_DECORATOR_NAMES = terminals(CACHE_DECORATORS)


def may_hold_dict_cache(text: str) -> bool:
    """Whether the text has a `{}` or names a dict factory (`dict`, `OrderedDict`,
    `defaultdict`, `Dict`): without one there is no dict for the rule to judge."""
    return "dict" in text or "Dict" in text or bool(_EMPTY_DICT.search(text))


def may_use_functools_cache(text: str) -> bool:
    """Whether the text can hold a `cache`/`lru_cache` decorator, even through an import
    alias (whose import names it)."""
    return "cache" in text


def cache_units(tree: ast.Module, text: str) -> set[Unit] | None:
    """What the dict-cache rule must see of a file: None when it cannot report anything
    here, else the top-level functions and methods to keep whole (`cache_view`)."""
    view = cache_view(tree, text)
    return None if view is None else view.units


class CacheView(NamedTuple):
    """What the dict-cache rule must see of a file (`cache_view`)."""

    # The top-level functions and methods to keep whole.
    units: set[Unit]
    # The classes whose bodies it must see: they hold a kept function, or name a dict it
    # may report or a definition that reaches one (`_open_classes`).
    open_classes: frozenset[ast.ClassDef]


def cache_view(tree: ast.Module, text: str) -> CacheView | None:
    """What the dict-cache rule must see of a file: None when it cannot report anything
    here, else the functions to keep whole and the class bodies to keep open (any other
    class body is nothing to it).

    The rule judges a dict by every use of its name, so every function that mentions
    it is kept. From those it follows call sites up and helpers down, as far as
    the full analysis does (analysis/caches/):
    - callers of a top-level function (is it only called at import time? do all
      calls pass constants?), found by plain name;
    - callers of a private method (`self._get(name)` with constants), found by
      attribute name;
    - decorators naming any of them (registration at import time);
    - top-level functions they call by plain name (`_resolve(tp)`: a helper that
      uses its parameter as a type);
    and so on from each function kept. A mention stands for a call, so the
    closure keeps more than the full analysis reads, never less.
    """
    if not may_hold_dict_cache(text):
        return None
    module_level, in_classes = _dict_bindings(tree)
    names = module_level | in_classes
    # The rule reports a dict only for a write inside a function (`c[k] = v`, `c[k] += 1`,
    # `c[k].append(v)`, `c.setdefault`, `c.update`, `c |= ...`) with a key from call
    # data: most module-level `= {}` are registries filled at import time, or tables
    # with fixed keys, and need no LibCST at all.
    if names:
        names = written_in_function(tree, text, names)
    # A module-level dict that is surely handed on or evicted from somewhere is never
    # reported either: leave it out, with the callers it would drag in (a settings dict
    # passed around a 20k-line module).
    released: set[str] = set()
    if names:
        released = surely_released(tree, text, names & module_level - in_classes)
        names -= released
    if not names:
        return None
    units: list[tuple[Unit, ast.ClassDef | None]] = []
    for statement in statements(tree, into_definitions=False):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            units.append((statement, None))
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    units.append((member, statement))
    top_level = {id(unit) for unit, owner in units if owner is None}
    by_plain: dict[str, list[Unit]] = {}
    by_attribute: dict[str, list[Unit]] = {}
    by_decorator: dict[str, list[Unit]] = {}
    plain_of: dict[int, set[str]] = {}
    for unit, _owner in units:
        plain, attributes, decorators = _mentions_of(unit)
        plain_of[id(unit)] = plain
        for name in plain:
            by_plain.setdefault(name, []).append(unit)
        for name in attributes:
            by_attribute.setdefault(name, []).append(unit)
        for name in decorators:
            by_decorator.setdefault(name, []).append(unit)
    top_by_name = {unit.name: unit for unit, owner in units if owner is None}

    def related(unit: Unit) -> Iterator[Unit]:
        name = unit.name
        yield from by_decorator.get(name, ())
        if id(unit) in top_level:
            yield from by_plain.get(name, ())
        elif name.startswith("_") and not name.startswith("__"):
            yield from by_attribute.get(name, ())
        for called in plain_of[id(unit)]:
            helper = top_by_name.get(called)
            if helper is not None:
                yield helper

    def mentioning(name: str) -> tuple[Unit, ...]:
        return (*by_plain.get(name, ()), *by_attribute.get(name, ()))

    kept: dict[int, Unit] = {}
    followed = set(names)
    work = [unit for name in names for unit in mentioning(name)]
    while work:
        while work:
            unit = work.pop()
            if id(unit) not in kept:
                kept[id(unit)] = unit
                work.extend(related(unit))
        # A released dict is no candidate, but a kept function may write it too: the
        # analysis judges what it sees, so the release must be in view as well.
        for name in sorted(released - followed):
            if any(id(unit) in kept for unit in mentioning(name)):
                followed.add(name)
                work.extend(mentioning(name))
    kept_units = set(kept.values())
    names_kept = followed | {unit.name for unit in kept_units}
    return CacheView(kept_units, _open_classes(tree, names_kept, kept_units))


def _open_classes(tree: ast.Module, names: set[str], units: set[Unit]) -> frozenset[ast.ClassDef]:
    """The classes that hold one of `units`, or name one of `names` (the dicts and the
    kept functions) or a definition anywhere in the module that reaches one, to a
    fixpoint: a method of a nested class writing the dict, and what names that method
    (`@hooks.track`, `_get(...)` in a class body), reach the dict as surely as a kept
    function does."""
    touching = set(names)
    definitions = [
        (node, _named_in(node))
        for node in walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    changed = True
    while changed:
        changed = False
        for node, named in definitions:
            if node.name not in touching and not named.isdisjoint(touching):
                touching.add(node.name)
                changed = True
    return frozenset(
        node
        for node, named in definitions
        if isinstance(node, ast.ClassDef)
        and (any(member in units for member in node.body) or not named.isdisjoint(touching))
    )


_WORD = re.compile(r"\w+")


def _named_in(node: ast.AST) -> set[str]:
    """Every name written anywhere under node, however it is written: read, attribute,
    `global`, defined, imported, or inside a string (`x: "Cache"`, `cast("Cache", v)`,
    which LibCST's scopes count as references)."""
    found: set[str] = set()
    for child in walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            found.update(child.names)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(child.name)
        elif isinstance(child, ast.alias):
            found.update(_WORD.findall(child.name))
            if child.asname:
                found.add(child.asname)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.update(_WORD.findall(child.value))
    return found


def _mentions_of(unit: Unit) -> tuple[set[str], set[str], set[str]]:
    """The plain names, the attribute names, and the names in decorators of nested
    definitions, written anywhere in a function."""
    plain: set[str] = set()
    attributes: set[str] = set()
    decorators: set[str] = set()
    for node in walk(unit):
        if isinstance(node, ast.Name):
            plain.add(node.id)
        elif isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node is not unit
        ):
            for decorator in node.decorator_list:
                for part in walk(decorator):
                    if isinstance(part, ast.Name):
                        decorators.add(part.id)
                    elif isinstance(part, ast.Attribute):
                        decorators.add(part.attr)
    return plain, attributes, decorators


def cache_names(tree: ast.Module) -> set[str]:
    """Names bound to an empty dict or a dict factory outside any function."""
    module_level, in_classes = _dict_bindings(tree)
    return module_level | in_classes


def _dict_bindings(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to an empty dict or a dict factory outside any function: those bound
    outside any class body, and those bound in one (which the rule follows as attributes).

    Looks at every statement outside function bodies (module level, class bodies,
    any compound statement), a superset of the module- and class-level bindings
    the full analysis examines; dict factories are recognised by their last name or,
    for aliased imports (`from collections import OrderedDict as OD`), by what the
    alias imports.
    """
    imports: dict[str, set[str]] | None = None
    module_level: set[str] = set()
    in_classes: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_class = stack.pop()
        for child in children(node):
            if isinstance(child, (ast.stmt, ast.ExceptHandler, *_MATCH_CASE)) and not (
                isinstance(child, SCOPES)
            ):
                stack.append((child, in_class or isinstance(child, ast.ClassDef)))
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        value = node.value
        if isinstance(value, ast.Dict):
            if value.keys:
                continue
        elif isinstance(value, ast.Call):
            if imports is None:
                imports = import_map(tree)
            if not names_one_of(value.func, _DICT_FACTORY_NAMES, imports):
                continue
        else:
            continue
        found = in_classes if in_class else module_level
        found.update(target.id for target in targets if isinstance(target, ast.Name))
    return module_level, in_classes


def has_functools_cache(tree: ast.Module) -> bool:
    """A decorator named `cache`/`lru_cache`, directly or through an import alias."""
    imports: dict[str, set[str]] | None = None
    for node in walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if imports is None:
                    imports = import_map(tree)
                if names_one_of(target, _CACHE_DECORATOR_NAMES, imports):
                    return True
    return False
