"""The acquisition stage: calls inside functions that may acquire a catalog resource."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence

from runguard_lint.astwalk import children
from runguard_lint.catalog import Catalog, ResourceKind
from runguard_lint.prefilter.syntax import dotted, holds_line, import_map, regions
from runguard_lint.prefilter.text import hit_rows, text_pattern
from runguard_lint.wordmatch import words


def acquisition_candidates(
    tree: ast.Module, text: str, catalog: Catalog, keep_with_items: bool
) -> list[ast.expr]:
    """Calls inside functions that may acquire a catalog resource (a superset).

    Such a call names a catalog callable or method by its last name (a distinctive
    name) or by an import alias of the callable (`from httpx import Client as C`),
    so only the parts of the file that span a line with one of those are walked, and
    in them, only the statements that do. A project factory read as a property
    (`self.session`) is named on its line the same way: one walk finds both.
    """
    imports = import_map(tree)
    if not _may_acquire(text, imports, catalog):
        return []
    aliases = {
        local
        for local, targets in imports.items()
        for qualified in targets
        if qualified in catalog.by_callable and local != qualified.rsplit(".", 1)[-1]
    }
    rows = hit_rows(text_pattern(catalog.distinctive_names()), text)
    if aliases:
        rows = sorted(set(rows) | set(hit_rows(words(aliases), text)))
    imported_modules = {qualified for targets in imports.values() for qualified in targets}
    found: list[ast.expr] = []
    reads: list[ast.expr] = []
    properties = catalog.factory_terminals
    permits: set[str] = set()
    for call, parent in _in_functions(regions(tree, rows), rows):
        if not isinstance(call, ast.Call):
            # `self.session` may read a property that builds a resource on every read.
            if (
                properties
                and isinstance(call, ast.Attribute)
                and call.attr in properties
                and isinstance(call.ctx, ast.Load)
            ):
                reads.append(call)
            continue
        if isinstance(call.func, ast.Attribute) and call.func.attr in catalog.by_method:
            method = call.func.attr
            known = [
                kind
                for kind in catalog.by_method[method]
                if any(_module_known(type_name, imported_modules) for type_name in kind.on)
            ]
            if known and method in catalog.permit_methods:
                found.append(call)
                permits.add(ast.dump(call.func.value))
                continue
            if known and not _closed_by_with(call, parent, known, keep_with_items):
                found.append(call)
                continue
            # A `with` item that closes as a method of these types may still be a
            # callable of the catalog that does not (`with psycopg2.connect(...)`).
        name = dotted(call.func)
        if name is None:
            continue
        terminal = name.rsplit(".", 1)[-1]
        if terminal in catalog.factory_terminals or terminal in catalog.alias_terminals:
            # A project factory, called by its own name, a relative import or `self.`;
            # or a catalog constructor under the name another project module gave it.
            found.append(call)
            continue
        head, _, rest = name.partition(".")
        suffix = "." + rest if rest else ""
        qualified_names = [target + suffix for target in sorted(imports.get(head, ()))]
        if head == "open" and not rest:
            qualified_names.append("builtins.open")
        kinds = [catalog.by_callable[q] for q in qualified_names if q in catalog.by_callable]
        if kinds and not _closed_by_with(call, parent, kinds, keep_with_items):
            found.append(call)
    if permits:
        # A permit is owed back to its receiver, maybe by another function of the module
        # (`release_slot()`, `__aexit__`): the analysis must see those releases too, and
        # those of what a local receiver was read from (`sem = self.sem`).
        permits |= _read_into(tree, permits)
        found.extend(_releases_of(tree, permits, catalog.permit_releases))
    found.extend(reads)
    return found


def _may_acquire(text: str, imports: dict[str, set[str]], catalog: Catalog) -> bool:
    """Whether any call of the file can be a candidate, judged from its imports (the
    conditions of the walk below, without the walk): a project factory or re-exported
    name may be called by its last name; a catalog callable only through an import of
    a prefix of its qualified name, or as the builtin `open`; a catalog method only in
    a file that imports from its type's top-level module. Half the files whose text
    names a distinctive word name only a common method (`start`, `load`) of a type
    they never import."""
    if catalog.factory_terminals or catalog.alias_terminals:
        return True
    prefixes, roots = catalog.callable_prefixes, catalog.method_roots
    for targets in imports.values():
        for target in targets:
            if target in prefixes or target.split(".", 1)[0] in roots:
                return True
    # Python reads `open` spelt in full-width letters as `open` (identifiers are
    # NFKC-normalised): a text that is not ASCII is walked.
    return "builtins.open" in catalog.by_callable and (not text.isascii() or _names_open(text))


# `open` ending a word: a pattern that starts with a literal is searched for as fast as
# a substring, one that starts with `\b` forty times slower; the start is checked here.
_OPEN_END = re.compile(r"open\b")
_WORD_CHARACTER = re.compile(r"\w")


def _names_open(text: str) -> bool:
    """Whether `open` occurs as a whole word (as `\bopen\b` would find it)."""
    for match in _OPEN_END.finditer(text):
        start = match.start()
        if not start or not _WORD_CHARACTER.match(text, start - 1):
            return True
    return False


def _closed_by_with(
    call: ast.Call, parent: ast.AST, kinds: Sequence[ResourceKind], keep_with_items: bool
) -> bool:
    """Whether the call is a `with` item that closes what it acquires, whichever of the
    kinds it is (`with path.open() as f`, as `with open(path) as f`; a name imported
    differently in two places may be either): the analysis finds it released, so no
    rule can report it, unless the rules that judge `with` items themselves
    (`keep_with_items`, RG402) run. A call that loads into its receiver
    (`with index.load(path):`) acquires the receiver, which the `with` does not
    release."""
    direct_with = isinstance(parent, ast.withitem) and parent.context_expr is call
    return (
        direct_with
        and not keep_with_items
        and all(kind.with_closes and kind.result == "value" for kind in kinds)
    )


def _read_into(tree: ast.Module, receivers: set[str]) -> set[str]:
    """What the plain names among receivers (`ast.dump` of each) are assigned from,
    when that is an attribute chain on a name (`sem = self.sem`)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Attribute)
        ):
            continue
        if ast.dump(ast.Name(id=node.targets[0].id, ctx=ast.Load())) not in receivers:
            continue
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            value = value.value
        if isinstance(value, ast.Name):
            found.add(ast.dump(node.value))
    return found


def _releases_of(
    tree: ast.Module, receivers: set[str], methods: frozenset[str]
) -> Iterator[ast.Call]:
    """`<receiver>.release()` anywhere in a function, for receivers that gave permits."""
    for call, _ in _calls_in_functions([tree]):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in methods
            and ast.dump(func.value) in receivers
        ):
            yield call


def _calls_in_functions(roots: Iterable[ast.AST]) -> Iterator[tuple[ast.Call, ast.AST]]:
    """Each call inside a def or lambda under roots (module-level code), with its parent."""
    for node, parent in _in_functions(roots):
        if isinstance(node, ast.Call):
            yield node, parent


def _in_functions(
    roots: Iterable[ast.AST], rows: list[int] | None = None
) -> Iterator[tuple[ast.AST, ast.AST]]:
    """Each node inside a def or lambda under roots (module-level code), with its
    parent; given `rows` (sorted), none of a statement that spans none of them."""
    stack: list[tuple[ast.AST, bool]] = [(root, False) for root in roots]
    while stack:
        node, in_function = stack.pop()
        inside = in_function or isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        )
        if isinstance(node, ast.ClassDef):
            inside = False
        for child in children(node):
            if rows is not None and isinstance(child, ast.stmt) and not holds_line(child, rows):
                continue
            if inside:
                yield child, node
            stack.append((child, inside))


def _module_known(type_name: str, imported: set[str]) -> bool:
    """Whether the file imports anything from the module that defines type_name."""
    root = type_name.split(".", 1)[0]
    return any(name == root or name.startswith(root + ".") for name in imported)
