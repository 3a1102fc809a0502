"""The cheap, sound stages before LibCST: which files and functions need the full analysis?

LibCST with scope metadata costs ~2k lines/s, a hundred times the stdlib
parser, so it sees only what a check could report on:

1. text: a regex over the catalog's distinctive names (and, for RG201, over
   the names of module- and class-level dicts) finds the lines worth a look;
2. the stdlib `ast` tree (already built for the syntax check), walked only in
   the top-level statements and class members that span such a line, finds
   the candidate acquisitions and the dicts some function may insert into;
3. every other function body is blanked (same line numbers) before LibCST
   parses the file: functions with no candidate acquisition, and for RG201
   those outside the closure of callers and helpers the check follows.

Every stage over-approximates what the LibCST checks look at, so it never
drops a finding: every fixture, and the corpus of real packages, give the
same findings with and without them (tests/test_caches.py,
`scripts/corpus_report.py soundness`).
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runguard_lint.analysis.dict_uses import READ_ONLY_CALLABLES, terminals
from runguard_lint.catalog import Catalog
from runguard_lint.config import Settings
from runguard_lint.needs import Need

_DICT_FACTORIES = frozenset({"dict", "OrderedDict", "defaultdict"})
_CACHE_DECORATORS = frozenset({"cache", "lru_cache"})


@lru_cache(maxsize=8)
def _text_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """The catalog's names as whole words, in one pattern (kept: built once per run)."""
    return _words(names)


def _words(names: Iterable[str]) -> re.Pattern[str]:
    """Any of names as a whole word. The alternatives share their prefixes
    (`Async(?:Client|OpenAI|...)`): the regex engine then tries one branch per
    character instead of every name."""
    trie: dict[str, dict[str, Any]] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    # Looking ahead for a possible first letter before `\b` lets the engine skip most
    # positions at once (0.7 s instead of 1.1 s over the benchmark corpus).
    if not trie:
        return re.compile(r"(?!)")
    first = "".join(sorted(re.escape(char) for char in trie))
    return re.compile(rf"(?=[{first}])\b" + _alternatives(trie) + r"\b")


def _alternatives(node: dict[str, dict[str, Any]]) -> str:
    branches = [
        re.escape(char) + _alternatives(rest) for char, rest in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return f"(?:{group})?"
    return group


@dataclass(frozen=True)
class AnalysisPlan:
    """What LibCST must see of a file: all of it, or all but some function bodies.

    `stubbed` lists (first, last) line ranges, 1-based and inclusive, of the
    bodies of functions that hold nothing a check could report; they are
    replaced by `pass` and blank lines, so every other line keeps its number
    and the positions LibCST reports are those of the original file.
    """

    stubbed: tuple[tuple[int, int], ...] = ()

    def apply(self, text: str) -> str:
        """The text LibCST parses: stubbed bodies blanked, line structure kept."""
        if not self.stubbed:
            return text
        lines = _LINE.findall(text)
        for first, last in self.stubbed:
            for row in range(first, min(last, len(lines)) + 1):
                line = lines[row - 1]
                body = line.rstrip("\r\n")
                ending = line[len(body) :]
                if row == first:
                    indent = body[: len(body) - len(body.lstrip(" \t"))]
                    lines[row - 1] = f"{indent}pass{ending}"
                else:
                    lines[row - 1] = ending
        return "".join(lines)

    def touches_stub(self, first_row: int, end_row: int) -> bool:
        """Whether an edit of rows [first_row, end_row) (or an insertion at first_row)
        would change a stubbed body, which LibCST never saw."""
        last_row = max(first_row, end_row - 1)
        return any(first_row <= last and last_row >= first for first, last in self.stubbed)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def analysis_plan(
    tree: ast.Module, text: str, settings: Settings, needs: frozenset[Need], *, stub: bool = True
) -> AnalysisPlan | None:
    """None when no enabled rule can report anything here, else what LibCST must see.

    The bodies of top-level functions and of methods that can matter to no
    check are stubbed out. A function matters to the acquisition rules when it
    holds a candidate acquisition (or, for a method of such a class, mentions a
    pool type RG105 looks up); to RG201 when it may touch a module- or
    class-level dict, or calls such a function, or is called by one (see
    `_cache_units`). RG202 (preview) looks at the whole module.
    """
    catalog = settings.catalog
    candidates: list[ast.Call] = []
    if Need.ACQUISITIONS in needs and _text_pattern(catalog.distinctive_names()).search(text):
        candidates = _acquisition_candidates(
            tree, text, catalog, keep_with_items=Need.WITH_ITEMS in needs
        )
    cache_units = _cache_units(tree, text) if Need.DICT_CACHES in needs else None
    whole_file = Need.FUNCTOOLS_CACHES in needs and _has_functools_cache(tree)
    if not candidates and cache_units is None and not whole_file:
        return None
    if whole_file or not stub:
        return AnalysisPlan()
    kept_units = cache_units or set()
    # RG201 reads class bodies wherever they are (a nested class's method, a
    # `staticmethod(_get)`, a decorator): with a cache candidate, only methods are stubbed.
    open_classes = cache_units is not None
    lines = sorted(call.lineno for call in candidates)
    type_names = {
        name.rsplit(".", 1)[-1]
        for kinds in catalog.by_method.values()
        for kind in kinds
        for name in kind.on
    }
    stubbed: list[tuple[int, int]] = []
    text_lines = _LINE.findall(text)
    for statement in _statements(tree, into_definitions=False):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not _holds_line(statement, lines) and statement not in kept_units:
                stubbed.extend(_body_range(statement, text_lines))
        elif not isinstance(statement, ast.ClassDef):
            continue
        elif open_classes or _holds_line(statement, lines):
            acquiring = _holds_line(statement, lines)
            for member in statement.body:
                if (
                    isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and member not in kept_units
                    and not _holds_line(member, lines)
                    and not (acquiring and _mentions(member, type_names))
                ):
                    stubbed.extend(_body_range(member, text_lines))
        else:
            stubbed.extend(_body_range(statement, text_lines))
    return AnalysisPlan(tuple(stubbed))


_Unit = ast.FunctionDef | ast.AsyncFunctionDef
# `{}` with anything Python allows between the braces of an empty dict display.
_EMPTY_DICT = re.compile(r"\{(?:\s|\\\r?\n|\\\r|#[^\r\n]*)*\}")


def _cache_units(tree: ast.Module, text: str) -> set[_Unit] | None:
    """What RG201 must see of a file: None when it cannot report anything here, else
    the top-level functions and methods to keep whole (class bodies stay open).

    RG201 judges a dict by every use of its name, so every function that mentions
    it is kept. From those it follows call sites up and helpers down, as far as
    the check itself does (analysis/caches/):
    - callers of a top-level function (is it only called at import time? do all
      calls pass constants?), found by plain name;
    - callers of a private method (`self._get(name)` with constants), found by
      attribute name;
    - decorators naming any of them (registration at import time);
    - top-level functions they call by plain name (`_resolve(tp)`: a helper that
      uses its parameter as a type);
    and so on from each function kept. A mention stands for a call, so the
    closure keeps more than the check reads, never less.
    """
    if "dict" not in text and "Dict" not in text and not _EMPTY_DICT.search(text):
        return None  # no `{}` and no dict factory (`dict`, `OrderedDict`, `defaultdict`)
    module_level, in_classes = _dict_bindings(tree)
    names = module_level | in_classes
    # RG201 reports a dict only for a write inside a function (`c[k] = v`, `c[k] += 1`,
    # `c[k].append(v)`, `c.setdefault`, `c.update`, `c |= ...`) with a key from call
    # data: most module-level `= {}` are registries filled at import time, or tables
    # with fixed keys, and need no LibCST at all.
    if names:
        names = _written_in_function(tree, text, names)
    # A module-level dict that is surely handed on or evicted from somewhere is never
    # reported either: leave it out, with the callers it would drag in (a settings dict
    # passed around a 20k-line module).
    if names:
        names -= _surely_released(tree, names & module_level - in_classes)
    if not names:
        return None
    units: list[tuple[_Unit, ast.ClassDef | None]] = []
    for statement in _statements(tree, into_definitions=False):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            units.append((statement, None))
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    units.append((member, statement))
    top_level = {id(unit) for unit, owner in units if owner is None}
    by_plain: dict[str, list[_Unit]] = {}
    by_attribute: dict[str, list[_Unit]] = {}
    by_decorator: dict[str, list[_Unit]] = {}
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

    def related(unit: _Unit) -> Iterator[_Unit]:
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

    kept: dict[int, _Unit] = {}
    work = [
        unit for name in names for unit in (*by_plain.get(name, ()), *by_attribute.get(name, ()))
    ]
    while work:
        unit = work.pop()
        if id(unit) not in kept:
            kept[id(unit)] = unit
            work.extend(related(unit))
    return set(kept.values())


def _mentions_of(unit: _Unit) -> tuple[set[str], set[str], set[str]]:
    """The plain names, the attribute names, and the names in decorators of nested
    definitions, written anywhere in a function."""
    plain: set[str] = set()
    attributes: set[str] = set()
    decorators: set[str] = set()
    for node in ast.walk(unit):
        if isinstance(node, ast.Name):
            plain.add(node.id)
        elif isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        elif (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node is not unit
        ):
            for decorator in node.decorator_list:
                for part in ast.walk(decorator):
                    if isinstance(part, ast.Name):
                        decorators.add(part.id)
                    elif isinstance(part, ast.Attribute):
                        decorators.add(part.attr)
    return plain, attributes, decorators


def _holds_line(node: ast.stmt | ast.expr | ast.keyword, lines: list[int]) -> bool:
    end = node.end_lineno or node.lineno
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    index = bisect.bisect_left(lines, start)
    return index < len(lines) and lines[index] <= end


def _body_range(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]
) -> list[tuple[int, int]]:
    """The lines of a body that can be blanked: none when the body shares a line with
    its header (`def f(): return 1`), so that no header text is ever blanked."""
    first_statement = node.body[0]
    # A decorated def starts at its first decorator, not at `def`.
    first = min(
        [
            first_statement.lineno,
            *(d.lineno for d in getattr(first_statement, "decorator_list", ())),
        ]
    )
    last = node.end_lineno or first
    if first > len(lines) or lines[first - 1][: first_statement.col_offset].strip():
        return []
    return [(first, last)]


def _mentions(node: ast.AST, names: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in names:
            return True
        if isinstance(child, ast.Attribute) and child.attr in names:
            return True
    return False


_IMPORTS: dict[int, tuple[ast.Module, dict[str, set[str]]]] = {}


def _import_map(tree: ast.Module) -> dict[str, set[str]]:
    """Local name -> every qualified name an import anywhere in the file binds it to
    (a name imported differently in two functions has both: LibCST resolves each use in
    its own scope, so the prefilter must allow for either).

    Imports are statements, so only statements are visited (a tenth of the nodes);
    the map is kept for the tree at hand, which several stages ask.
    """
    known = _IMPORTS.get(id(tree))
    if known is not None and known[0] is tree:
        return known[1]
    mapping: dict[str, set[str]] = {}
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    mapping.setdefault(alias.asname, set()).add(alias.name)
                else:
                    head = alias.name.split(".", 1)[0]
                    mapping.setdefault(head, set()).add(head)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                mapping.setdefault(alias.asname or alias.name, set()).add(qualified)
    _IMPORTS.clear()
    _IMPORTS[id(tree)] = (tree, mapping)
    return mapping


def _statements(tree: ast.Module, *, into_definitions: bool = True) -> Iterator[ast.stmt]:
    """Every statement in the file, no expression visited; with `into_definitions=False`,
    only those that run at module level: the module's own, and those inside its
    `if`/`try`/`with`/`for` blocks (`if TYPE_CHECKING:`, `try: ... except ImportError:`),
    whose functions and classes are as global as the others."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
            if not into_definitions and isinstance(node, (*_SCOPES, ast.ClassDef)):
                continue
        for field in _BLOCK_FIELDS:
            block = getattr(node, field, None)
            if block:
                stack.extend(reversed(block))


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _hit_rows(pattern: re.Pattern[str], text: str) -> list[int]:
    """The (1-based, sorted) lines on which pattern matches, numbered as `ast` does."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    rows: list[int] = []
    row, last = 1, 0
    for match in pattern.finditer(text):
        row += text.count("\n", last, match.start())
        last = match.start()
        if not rows or rows[-1] != row:
            rows.append(row)
    return rows


def _regions(tree: ast.Module, rows: list[int]) -> Iterator[ast.AST]:
    """The top-level statements, class members and class headers that span one of rows:
    whatever mentions a name on those rows lies within one of them."""
    for statement in tree.body:
        if not _holds_line(statement, rows):
            continue
        if not isinstance(statement, ast.ClassDef):
            yield statement
            continue
        parts: list[ast.expr | ast.keyword] = [
            *statement.decorator_list,
            *statement.bases,
            *statement.keywords,
        ]
        for part in parts:
            if _holds_line(part, rows):
                yield part
        for member in statement.body:
            if _holds_line(member, rows):
                yield member


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _calls_in_functions(roots: Iterable[ast.AST]) -> Iterator[tuple[ast.Call, ast.AST]]:
    """Each call inside a def or lambda under roots (module-level code), with its parent."""
    stack: list[tuple[ast.AST, bool]] = [(root, False) for root in roots]
    while stack:
        node, in_function = stack.pop()
        inside = in_function or isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        )
        if isinstance(node, ast.ClassDef):
            inside = False
        for child in ast.iter_child_nodes(node):
            if inside and isinstance(child, ast.Call):
                yield child, node
            stack.append((child, inside))


def _acquisition_candidates(
    tree: ast.Module, text: str, catalog: Catalog, keep_with_items: bool
) -> list[ast.Call]:
    """Calls inside functions that may acquire a catalog resource (a superset).

    Such a call names a catalog callable or method by its last name (a distinctive
    name) or by an import alias of the callable (`from httpx import Client as C`),
    so only the parts of the file that span a line with one of those are walked.
    """
    imports = _import_map(tree)
    aliases = {
        local
        for local, targets in imports.items()
        for qualified in targets
        if qualified in catalog.by_callable and local != qualified.rsplit(".", 1)[-1]
    }
    rows = _hit_rows(_text_pattern(catalog.distinctive_names()), text)
    if aliases:
        rows = sorted(set(rows) | set(_hit_rows(_words(aliases), text)))
    method_types = {
        method: [name for kind in kinds for name in kind.on]
        for method, kinds in catalog.by_method.items()
    }
    imported_modules = {qualified for targets in imports.values() for qualified in targets}
    found: list[ast.Call] = []
    for call, parent in _calls_in_functions(_regions(tree, rows)):
        if isinstance(call.func, ast.Attribute) and call.func.attr in method_types:
            types = method_types[call.func.attr]
            if any(_module_known(type_name, imported_modules) for type_name in types):
                found.append(call)
                continue
        dotted = _dotted(call.func)
        if dotted is None:
            continue
        head, _, rest = dotted.partition(".")
        suffix = "." + rest if rest else ""
        qualified_names = [target + suffix for target in sorted(imports.get(head, ()))]
        if head == "open" and not rest:
            qualified_names.append("builtins.open")
        kinds = [catalog.by_callable[q] for q in qualified_names if q in catalog.by_callable]
        for kind in kinds[:1]:
            direct_with = isinstance(parent, ast.withitem) and parent.context_expr is call
            if direct_with and kind.with_closes and not keep_with_items:
                continue
            found.append(call)
    return found


def _module_known(type_name: str, imported: set[str]) -> bool:
    """Whether the file imports anything from the module that defines type_name."""
    root = type_name.split(".", 1)[0]
    return any(name == root or name.startswith(root + ".") for name in imported)


def _cache_names(tree: ast.Module) -> set[str]:
    """Names bound to an empty dict or a dict factory outside any function."""
    module_level, in_classes = _dict_bindings(tree)
    return module_level | in_classes


def _dict_bindings(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to an empty dict or a dict factory outside any function: those bound
    outside any class body, and those bound in one (which RG201 follows as attributes).

    Looks at every statement outside function bodies (module level, class bodies,
    any compound statement), a superset of the module- and class-level bindings
    RG201 examines; dict factories are recognised by their last name or, for
    aliased imports (`from collections import OrderedDict as OD`), by what the
    alias imports.
    """
    imports: dict[str, set[str]] | None = None
    module_level: set[str] = set()
    in_classes: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_class = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)) and not (
                isinstance(child, _SCOPES)
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
                imports = _import_map(tree)
            if not _names_one_of(value.func, _DICT_FACTORIES, imports):
                continue
        else:
            continue
        found = in_classes if in_class else module_level
        found.update(target.id for target in targets if isinstance(target, ast.Name))
    return module_level, in_classes


_EVICTING = frozenset({"pop", "popitem", "clear", "__delitem__"})
# Calls whose arguments LibCST takes for type hints.
_TYPE_HINT_CALLS = frozenset({"TypeVar", "NewType", "cast", "ParamSpec", "TypeVarTuple"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _surely_released(tree: ast.Module, names: set[str]) -> set[str]:
    """The module-level names that RG201 will see evicted from or escaping somewhere.

    A subset of what analysis/dict_uses.py classifies as an eviction or an escape, for
    a load that surely means the module-level binding: `N.pop/popitem/clear(...)`,
    `del N[k]`, `return N`, `x = N`, or `N` as a whole argument of a call that is
    not a read-only builtin (`register(N)`, `f(settings=N)`). A load only counts in
    module-level code or in a function where no enclosing function binds the name
    (or where it is declared `global`); names ever bound by a comprehension, and
    loads in class bodies, never count. Anything in doubt keeps the name.
    """
    if not names:
        return set()
    read_only = terminals(READ_ONLY_CALLABLES)
    # Every import of each local name, whatever scope it is in: a call counts as
    # handing the dict on only when no import could make it a read-only one.
    imported = _import_map(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            names = names - {
                target.id for target in ast.walk(node.target) if isinstance(target, ast.Name)
            }
    stack: list[tuple[ast.AST, frozenset[str], bool]] = [(tree, frozenset(), False)]
    while stack and names - found:
        node, shadowed, in_class = stack.pop()
        if not in_class:
            for loaded in _released_loads(node, imported, read_only):
                if loaded in names and loaded not in shadowed:
                    found.add(loaded)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            shadowed = shadowed | _bound_locally(node)
            in_class = False
        elif isinstance(node, ast.ClassDef):
            for part in (*node.decorator_list, *node.bases, *node.keywords):
                stack.append((part, shadowed, in_class))
            stack.extend((member, shadowed, True) for member in node.body)
            continue
        for child in ast.iter_child_nodes(node):
            # Annotations and subscripts (type hints) are no uses for RG201.
            if (
                isinstance(child, (ast.arg, ast.arguments))
                or child is getattr(node, "annotation", None)
                or child is getattr(node, "returns", None)
                or (isinstance(node, ast.Subscript) and child is node.slice)
            ):
                continue
            stack.append((child, shadowed, in_class))
    return found


def _released_loads(
    node: ast.AST, imported: dict[str, set[str]], read_only: frozenset[str]
) -> list[str]:
    """The names that node (a statement or expression) surely evicts from or hands on."""
    value: ast.expr | None = None
    if isinstance(node, ast.Attribute) and node.attr in _EVICTING:
        value = node.value
    elif isinstance(node, ast.Delete):
        return [
            target.value.id
            for target in node.targets
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
        ]
    elif isinstance(node, (ast.Return, ast.Assign, ast.AnnAssign)):
        value = node.value
    elif isinstance(node, ast.Call):
        dotted = _dotted(node.func)
        if dotted is None:
            return []
        head, _, rest = dotted.partition(".")
        terminals = {dotted.rsplit(".", 1)[-1]}
        if not rest:
            terminals |= {name.rsplit(".", 1)[-1] for name in imported.get(head, ())}
        if terminals & (read_only | _TYPE_HINT_CALLS):
            return []
        arguments = [*node.args, *(k.value for k in node.keywords if k.arg is not None)]
        return [argument.id for argument in arguments if isinstance(argument, ast.Name)]
    return [value.id] if isinstance(value, ast.Name) else []


def _bound_locally(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Every name the function or a def nested in it may bind (more than its own), less
    those the function itself declares `global`."""
    bound: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".", 1)[0] for alias in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.Nonlocal):
            bound.update(node.names)
    declared: set[str] = set()
    stack: list[ast.AST] = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif not isinstance(node, (*_SCOPES, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return bound - declared


_KEYED_WRITES = frozenset({"setdefault", "__setitem__", "update"})


def _written_in_function(tree: ast.Module, text: str, names: set[str]) -> set[str]:
    """The names some code inside a def or lambda may insert into with a key that can
    come from call data (looking only at the parts of the file that mention a name).

    The write forms are RG201's: `c[k] = v`, `c[k] += v`, `c[k].append(v)`,
    `c[k][j] = v`, `c.setdefault(k, ...)`, `c.__setitem__(k, ...)`,
    `c.update(...)`, `c |= ...`, through the name or any `x.<name>`. A key with
    no name in it at all (`c["healthy"] = n`) is a constant: RG201 never counts it.
    """

    def cache(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name) and node.id in names:
            return node.id
        if isinstance(node, ast.Attribute) and node.attr in names:
            return node.attr
        return None

    def variable(*keys: ast.AST) -> bool:
        return any(isinstance(part, ast.Name) for key in keys for part in ast.walk(key))

    written: set[str] = set()
    rows = _hit_rows(_words(names), text)
    stack: list[tuple[ast.AST, bool]] = [(region, False) for region in _regions(tree, rows)]
    while stack:
        node, inside = stack.pop()
        name: str | None = None
        keys: list[ast.AST] = []
        if not inside:
            pass
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            innermost = node
            while isinstance(innermost.value, ast.Subscript):
                innermost = innermost.value
            name, keys = cache(innermost.value), [innermost.slice]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Subscript):
            name, keys = cache(node.value.value), [node.value.slice]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _KEYED_WRITES
        ):
            # Positional, `*args`, `**kw` or `key=`: any argument may carry the key.
            name = cache(node.func.value)
            keys = [*node.args, *(keyword.value for keyword in node.keywords)]
        elif isinstance(node, ast.AugAssign):
            name, keys = cache(node.target), [node.value]
        if name is not None and variable(*keys):
            written.add(name)
        inside = inside or isinstance(node, _SCOPES)
        stack.extend((child, inside) for child in ast.iter_child_nodes(node))
    return written


def _has_functools_cache(tree: ast.Module) -> bool:
    """A decorator named `cache`/`lru_cache`, directly or through an import alias."""
    imports: dict[str, set[str]] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if imports is None:
                    imports = _import_map(tree)
                if _names_one_of(target, _CACHE_DECORATORS, imports):
                    return True
    return False


def _names_one_of(node: ast.expr, terminals: frozenset[str], imports: dict[str, set[str]]) -> bool:
    """Whether a dotted name ends in one of `terminals`, as written or through an import
    alias (`from collections import OrderedDict as OD`)."""
    name = _dotted(node)
    if not name:
        return False
    head, _, rest = name.partition(".")
    if rest or name.rsplit(".", 1)[-1] in terminals:
        return name.rsplit(".", 1)[-1] in terminals
    return any(target.rsplit(".", 1)[-1] in terminals for target in imports.get(head, ()))
