"""Which dicts some function may write into, and which are surely released: on `ast`.

The counterpart of analysis/dict_uses.py for the prefilter, in its vocabulary
(`UseKind` and the word lists of analysis/dict_vocabulary.py), but coarse in the
safe direction: a write is anything the full analysis may take for one, an
eviction or escape only what it surely takes for one. So a dict the full
analysis could report is kept.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from runguard_lint.analysis.dict_vocabulary import (
    EVICTING_METHODS,
    KEYED_WRITE_METHODS,
    MERGE_METHODS,
    READ_ONLY_CALLABLES,
    UseKind,
    terminals,
)
from runguard_lint.astwalk import children, walk
from runguard_lint.prefilter.syntax import SCOPES, dotted, import_map, regions
from runguard_lint.prefilter.text import hit_rows
from runguard_lint.wordmatch import words

_READ_ONLY_NAMES = terminals(READ_ONLY_CALLABLES)
_WRITE_METHODS = KEYED_WRITE_METHODS | MERGE_METHODS
# Calls whose arguments LibCST takes for type hints.
_TYPE_HINT_CALLS = frozenset({"TypeVar", "NewType", "cast", "ParamSpec", "TypeVarTuple"})


@dataclass(frozen=True)
class _Use:
    """A use of a dict this stage recognises: what it does, the expression that names
    the dict (`c`, `self.c`, or anything: the walks decide what they trust), and for a
    write, the expressions the key may come from."""

    kind: UseKind
    subject: ast.expr
    keys: tuple[ast.AST, ...] = ()


def _uses_at(node: ast.AST, hands_on: Callable[[ast.Call], bool]) -> Iterator[_Use]:
    """The dict uses node (a statement or expression) may make: each write the full
    analysis may see there, and each eviction or escape it surely sees.

    The writes are `c[k] = v`, `c[k] += v`, `c[k][j] = v` (any subscript stored
    into), `c[k].append(v)` (any attribute of an item), `c.setdefault(k, ...)`,
    `c.__setitem__(k, ...)`, `c.update(...)` (any argument may carry the key:
    positional, `*args`, `**kw` or `key=`) and `c |= ...` (any augmented
    assignment). The evictions are `c.pop/popitem/clear/__delitem__` and
    `del c[k]`; the escapes `return c`, `x = c`, and `c` as a whole argument of
    a call that `hands_on` trusts to keep or evict it.
    """
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
        innermost = node
        while isinstance(innermost.value, ast.Subscript):
            innermost = innermost.value
        yield _Use(UseKind.WRITE, innermost.value, (innermost.slice,))
    elif isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Subscript):
            yield _Use(UseKind.WRITE, node.value.value, (node.value.slice,))
        if node.attr in EVICTING_METHODS:
            yield _Use(UseKind.EVICT, node.value)
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in _WRITE_METHODS:
            keys = (*node.args, *(keyword.value for keyword in node.keywords))
            yield _Use(UseKind.WRITE, node.func.value, keys)
        if hands_on(node):
            for argument in (*node.args, *(k.value for k in node.keywords if k.arg is not None)):
                yield _Use(UseKind.ESCAPE, argument)
    elif isinstance(node, ast.AugAssign):
        yield _Use(UseKind.WRITE, node.target, (node.value,))
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                yield _Use(UseKind.EVICT, target.value)
    elif isinstance(node, (ast.Return, ast.Assign, ast.AnnAssign)) and node.value is not None:
        yield _Use(UseKind.ESCAPE, node.value)


def _hands_on(call: ast.Call, imported: dict[str, set[str]]) -> bool:
    """Whether a call surely hands its arguments to code that may keep or evict them:
    its callee is a dotted name that no import makes a read-only callable (nor one
    whose arguments LibCST takes for type hints)."""
    name = dotted(call.func)
    if name is None:
        return False
    head, _, rest = name.partition(".")
    last_names = {name.rsplit(".", 1)[-1]}
    if not rest:
        last_names |= {target.rsplit(".", 1)[-1] for target in imported.get(head, ())}
    return not last_names & (_READ_ONLY_NAMES | _TYPE_HINT_CALLS)


def surely_released(tree: ast.Module, text: str, names: set[str]) -> set[str]:
    """The module-level names that the full analysis will see evicted from or escaping.

    A subset of what analysis/dict_uses.py classifies as an eviction or an escape,
    for a load that surely means the module-level binding (see `_uses_at`). A load
    only counts in module-level code or in a function where no enclosing function
    binds the name (or where it is declared `global`); names ever bound by a
    comprehension, and loads in class bodies, never count. Anything in doubt keeps
    the name.

    Only the parts of the module that span a line naming one of the names are walked
    (`syntax.regions`): each use and each comprehension target names it on its line,
    and a region holds every function around what it holds. A module that needs this
    is often a large one (a settings dict passed around a 20k-line module).
    """
    if not names:
        return set()
    # Every import of each local name, whatever scope it is in: a call counts as
    # handing the dict on only when no import could make it a read-only one.
    imported = import_map(tree)
    found: set[str] = set()
    parts = list(regions(tree, hit_rows(words(names), text)))
    for region in parts:
        for node in walk(region):
            if isinstance(node, ast.comprehension):
                names = names - {
                    target.id for target in walk(node.target) if isinstance(target, ast.Name)
                }
    # As from the module down: a class's header in the scope around it, its members as
    # class-body code (the functions among them reset that, below).
    top_level = {id(statement) for statement in tree.body}
    stack: list[tuple[ast.AST, frozenset[str], bool]] = [
        (region, frozenset(), isinstance(region, ast.stmt) and id(region) not in top_level)
        for region in parts
    ]
    while stack and names - found:
        node, shadowed, in_class = stack.pop()
        if not in_class:
            for use in _uses_at(node, lambda call: _hands_on(call, imported)):
                if (
                    use.kind in (UseKind.EVICT, UseKind.ESCAPE)
                    and isinstance(use.subject, ast.Name)
                    and use.subject.id in names
                    and use.subject.id not in shadowed
                ):
                    found.add(use.subject.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            shadowed = shadowed | _bound_locally(node)
            in_class = False
        elif isinstance(node, ast.ClassDef):
            for part in (*node.decorator_list, *node.bases, *node.keywords):
                stack.append((part, shadowed, in_class))
            stack.extend((member, shadowed, True) for member in node.body)
            continue
        for child in children(node):
            # Annotations and subscripts (type hints) are no uses for the rule.
            if (
                isinstance(child, (ast.arg, ast.arguments))
                or child is getattr(node, "annotation", None)
                or child is getattr(node, "returns", None)
                or (isinstance(node, ast.Subscript) and child is node.slice)
            ):
                continue
            stack.append((child, shadowed, in_class))
    return found


def _bound_locally(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Every name the function or a def nested in it may bind (more than its own), less
    those the function itself declares `global`."""
    bound: set[str] = set()
    for node in walk(function):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif type(node).__name__ in ("MatchAs", "MatchStar") and getattr(node, "name", None):
            # `match` patterns (Python 3.10+; the names do not exist on 3.9).
            bound.add(getattr(node, "name"))  # noqa: B009
        elif type(node).__name__ == "MatchMapping" and getattr(node, "rest", None):
            bound.add(getattr(node, "rest"))  # noqa: B009
        elif isinstance(node, ast.Nonlocal):
            bound.update(node.names)
    declared: set[str] = set()
    stack: list[ast.AST] = children(function)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif not isinstance(node, (*SCOPES, ast.ClassDef)):
            stack.extend(children(node))
    return bound - declared


def written_in_function(tree: ast.Module, text: str, names: set[str]) -> set[str]:
    """The names some code inside a def or lambda may insert into with a key that can
    come from call data (looking only at the parts of the file that mention a name),
    through the name or any `x.<name>` (see `_uses_at` for the write forms). A key
    with no name in it at all (`c["healthy"] = n`) is a constant: the rule never
    counts it.
    """

    def cache(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name) and node.id in names:
            return node.id
        if isinstance(node, ast.Attribute) and node.attr in names:
            return node.attr
        return None

    def variable(keys: tuple[ast.AST, ...]) -> bool:
        return any(isinstance(part, ast.Name) for key in keys for part in walk(key))

    def hands_on(call: ast.Call) -> bool:
        return _hands_on(call, import_map(tree))

    written: set[str] = set()
    rows = hit_rows(words(names), text)
    stack: list[tuple[ast.AST, bool]] = [(region, False) for region in regions(tree, rows)]
    while stack:
        node, inside = stack.pop()
        if inside:
            for use in _uses_at(node, hands_on):
                if use.kind is UseKind.WRITE:
                    name = cache(use.subject)
                    if name is not None and variable(use.keys):
                        written.add(name)
        inside = inside or isinstance(node, SCOPES)
        stack.extend((child, inside) for child in children(node))
    return written
