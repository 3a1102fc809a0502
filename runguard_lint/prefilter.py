"""The cheap, sound stages before LibCST: does this file need the full analysis?

LibCST with scope and qualified-name metadata costs ~1.8k lines/s, a hundred
times the stdlib parser. So a file goes on to it only when the stdlib `ast`
tree (already built for the syntax check) holds something a check could
report. Every test here over-approximates what the LibCST checks look at, so
it never drops a file with a finding (tested: every fixture and a corpus give
the same findings with and without this stage).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import lru_cache

from runguard_lint.catalog import Catalog
from runguard_lint.config import Settings

ACQUISITION_RULES = frozenset({"RG101", "RG102", "RG103", "RG104", "RG105", "RG106",
                               "RG301", "RG401", "RG402"})
_DICT_FACTORIES = frozenset({"dict", "OrderedDict", "defaultdict"})
_CACHE_DECORATORS = frozenset({"cache", "lru_cache"})


@lru_cache(maxsize=8)
def _text_pattern(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, names))) + r")\b")


def needs_full_analysis(tree: ast.Module, text: str, settings: Settings,
                        enabled: frozenset[str]) -> bool:
    """Whether any enabled check could report something in this file."""
    catalog = settings.catalog
    if enabled & ACQUISITION_RULES:
        names = catalog.distinctive_names()
        if _text_pattern(names).search(text) and _has_acquisition_candidate(
            tree, catalog, keep_with_items="RG402" in enabled
        ):
            return True
    if "RG201" in enabled and _has_cache_candidate(tree):
        return True
    return "RG202" in enabled and _has_functools_cache(tree)


def _import_map(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name, for every import anywhere in the file."""
    mapping: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    mapping[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    mapping[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                mapping[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return mapping


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _calls_in_functions(tree: ast.Module) -> Iterator[tuple[ast.Call, ast.AST]]:
    """Each call inside a def or lambda, with its direct parent."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.Lambda))
        if isinstance(node, ast.ClassDef):
            inside = False
        for child in ast.iter_child_nodes(node):
            if inside and isinstance(child, ast.Call):
                yield child, node
            stack.append((child, inside))


def _has_acquisition_candidate(tree: ast.Module, catalog: Catalog, keep_with_items: bool) -> bool:
    imports = _import_map(tree)
    method_types = {kind.method: kind.on for kinds in catalog.by_method.values()
                    for kind in kinds}
    imported_modules = set(imports.values())
    for call, parent in _calls_in_functions(tree):
        dotted = _dotted(call.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        if head in imports:
            qualified = imports[head] + ("." + rest if rest else "")
        elif head == "open" and not rest:
            qualified = "builtins.open"
        else:
            qualified = ""
        kind = catalog.by_callable.get(qualified) if qualified else None
        if kind is not None:
            direct_with = isinstance(parent, ast.withitem) and parent.context_expr is call
            if direct_with and kind.with_closes and not keep_with_items:
                continue
            return True
        if isinstance(call.func, ast.Attribute) and call.func.attr in method_types:
            types = method_types[call.func.attr]
            if any(_module_known(type_name, imported_modules) for type_name in types):
                return True
    return False


def _module_known(type_name: str, imported: set[str]) -> bool:
    """Whether the file imports anything from the module that defines type_name."""
    root = type_name.split(".", 1)[0]
    return any(name == root or name.startswith(root + ".") for name in imported)


def _has_cache_candidate(tree: ast.Module) -> bool:
    """A module- or class-level name bound to an empty dict or a dict factory."""
    bodies: list[list[ast.stmt]] = [tree.body]
    bodies.extend(node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef))
    for body in bodies:
        for statement in _flatten(body):
            value = None
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                value = statement.value
            if value is None:
                continue
            if isinstance(value, ast.Dict) and not value.keys:
                return True
            if isinstance(value, ast.Call):
                name = _dotted(value.func)
                if name and name.rsplit(".", 1)[-1] in _DICT_FACTORIES:
                    return True
    return False


def _flatten(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a body, looking into if/try/with blocks at the same level."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _flatten(getattr(statement, block, []))
            for handler in getattr(statement, "handlers", []):
                yield from _flatten(handler.body)


def _has_functools_cache(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = _dotted(target)
                if name and name.rsplit(".", 1)[-1] in _CACHE_DECORATORS:
                    return True
    return False
