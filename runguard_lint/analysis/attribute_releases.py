"""Which attributes of `self` a body of code releases, read from the stdlib tree.

Shared by RG401's per-file question (class_releases) and by the module summaries,
which tell other modules which attributes each class releases, so that a subclass
defined elsewhere knows what its base closes.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator, Sequence

from runguard_lint.astwalk import children, walk

HAND_CLOSERS = frozenset({"__exit__", "__aexit__"})


def _nodes(roots: Iterable[ast.AST]) -> list[ast.AST]:
    """The nodes under roots (contexts and operators left out, see astwalk)."""
    found: list[ast.AST] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children(node))
    return found


def releases_in(
    roots: list[ast.stmt],
    release_methods: Collection[str],
    helpers: Collection[str],
    getters: dict[str, str],
) -> set[str]:
    """The attributes that the code under roots releases (`release_methods`: the
    catalog's; `helpers`: module functions that release their first parameter;
    `getters`: methods that only return an attribute)."""
    release_names = {*release_methods, *HAND_CLOSERS}
    released: set[str] = set()
    aliases: dict[str, set[str]] = {}
    released_names: set[str] = set()
    loops: list[tuple[str, str]] = []
    # Every node under the roots, once (the walks below and this set read them).
    nodes = _nodes(roots)
    unawaited = {
        id(node.value.func)
        for node in nodes
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "aclose"
    }

    def attribute_of(expression: ast.expr) -> str | None:
        """`x` for `self.x`, or for `self.get_x()` when get_x only returns `self.x`."""
        expression = uncast(expression)
        if isinstance(expression, ast.Attribute):
            return expression.attr
        if (
            isinstance(expression, ast.Call)
            and not expression.args
            and isinstance(expression.func, ast.Attribute)
        ):
            return getters.get(expression.func.attr)
        return None

    for node in nodes:
        if id(node) in unawaited:
            # `self.client.aclose()` without `await` never runs.
            continue
        if isinstance(node, ast.Attribute) and node.attr in release_names:
            target = uncast(node.value)
            if isinstance(target, ast.Name):
                released_names.add(target.id)
            elif (attribute := attribute_of(target)) is not None:
                released.add(attribute)
        elif isinstance(node, ast.Call) and (
            callee_name(node) in helpers or callee_name(node) in HANDING_SINKS
        ):
            # `close_session(self.session)`, `weakref.finalize(self, close, self.s)`
            for argument in node.args:
                if isinstance(argument, ast.Name):
                    released_names.add(argument.id)
                elif (attribute := attribute_of(argument)) is not None:
                    released.add(attribute)
        elif isinstance(node, ast.Call) and is_base_init(node):
            # `super().__init__(session=self._session)`: the base class owns it now.
            for argument in (*node.args, *(keyword.value for keyword in node.keywords)):
                if isinstance(argument, ast.Attribute):
                    released.add(argument.attr)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expression = item.context_expr
                if isinstance(expression, ast.Call) and expression.args:
                    # `with closing(self.x)`: any wrapper call counts, erring to silence.
                    expression = expression.args[0]
                if isinstance(expression, ast.Attribute):
                    released.add(expression.attr)
                elif isinstance(expression, ast.Name):
                    released_names.add(expression.id)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            # `process = self._process`, `process: Final = self._process`,
            # `pool = getattr(self, "_pool", None)`, `conns = {self.a, self.b}`
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name, held in _bound_aliases(targets, node.value):
                aliases.setdefault(name, set()).update(held)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("add", "append", "extend", "update")
            and isinstance(node.func.value, ast.Name)
        ):
            # `conns.add(self._shared)`: the local collection holds it now.
            for argument in node.args:
                held = held_attributes(argument)
                if held:
                    aliases.setdefault(node.func.value.id, set()).update(held)
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            # `for client in (self.a, self.b): client.close()`, `for c in conns: ...`
            for element in walk(node.iter):
                if isinstance(element, ast.Attribute):
                    aliases.setdefault(node.target.id, set()).add(element.attr)
                elif isinstance(element, ast.Name):
                    loops.append((node.target.id, element.id))
    # An element of a local collection is an alias of what the collection holds.
    for element_name, collection in loops:
        aliases.setdefault(element_name, set()).update(aliases.get(collection, set()))
    for name, attributes in aliases.items():
        if name in released_names:
            released |= attributes
    return released


def _bound_aliases(targets: Sequence[ast.expr], value: ast.expr) -> Iterator[tuple[str, set[str]]]:
    """The local names an assignment binds to what `self.x` attributes the value holds.
    A tuple or list target unpacking a display of as many plain elements pairs them
    one by one (`process, self.process = self.process, None`: `process` is the old
    `self.process`, which the swap hands to the local to release)."""
    for target in targets:
        if isinstance(target, ast.Name):
            held = held_attributes(value)
            if held:
                yield target.id, held
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and not any(isinstance(part, ast.Starred) for part in (*target.elts, *value.elts))
        ):
            for element, part in zip(target.elts, value.elts):
                yield from _bound_aliases([element], part)


def held_attributes(value: ast.expr) -> set[str]:
    """The `self.x` attributes a value is or holds: `self.x`, `getattr(self, "x")`,
    `{self.a, self.b}`, `[self.a]`, `set(self._extra)`."""
    value = uncast(value)
    if isinstance(value, ast.Attribute):
        return {value.attr}
    if isinstance(value, (ast.Set, ast.List, ast.Tuple)):
        return {attr for element in value.elts for attr in held_attributes(element)}
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("set", "list", "tuple")
        and len(value.args) == 1
    ):
        return held_attributes(value.args[0])
    return set()


def getters(classes: Iterable[ast.AST]) -> dict[str, str]:
    """Methods (of the classes given) that return `self.x` on every return, the lazy
    `if self.x is None: self.x = ...; return self.x` shape included: method -> x.
    A name that two classes use for different attributes is left out."""
    found: dict[str, str | None] = {}
    for node in classes:
        if not isinstance(node, ast.ClassDef):
            continue
        for member in node.body:
            if not isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) or not (
                member.args.args
            ):
                continue
            receiver = member.args.args[0].arg
            returned = {
                statement.value.attr
                if isinstance(statement.value, ast.Attribute)
                and isinstance(statement.value.value, ast.Name)
                and statement.value.value.id == receiver
                else None
                for statement in _returns(member)
            }
            if len(returned) == 1:
                attribute = returned.pop()
                previous = found.setdefault(member.name, attribute)
                if previous != attribute:
                    found[member.name] = None
    return {name: attribute for name, attribute in found.items() if attribute}


def _returns(function: ast.AST) -> Iterator[ast.Return]:
    """The `return` statements under a function, nested blocks and functions included
    (what `ast.walk` finds, reading statements only)."""
    stack: list[ast.AST] = [function]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            yield node
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                stack.extend(child for child in block if isinstance(child, ast.AST))


def is_base_init(call: ast.Call) -> bool:
    """`super().__init__(...)` or `Base.__init__(self, ...)`."""
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "__init__"


# Sinks that call what they are given later, with the arguments that follow it.
HANDING_SINKS = frozenset(
    {
        "finalize",
        "register",
        "callback",
        "push_async_callback",
        "addCleanup",
        "addfinalizer",
        "partial",
    }
)


def callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def uncast(node: ast.expr) -> ast.expr:
    """`typing.cast(T, value)` is `value`; `getattr(self, "x", None)` is `self.x`."""
    if isinstance(node, ast.Call) and callee_name(node) == "cast" and len(node.args) == 2:
        return node.args[1]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) in (2, 3)
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return ast.Attribute(value=node.args[0], attr=node.args[1].value, ctx=ast.Load())
    return node


def releasing_helpers(tree: ast.Module, release_names: Collection[str]) -> frozenset[str]:
    """Module functions that release their first parameter (`def close(s): s.close()`)."""
    helpers: set[str] = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.args.args:
            continue
        first = node.args.args[0].arg
        for inner in walk(node):
            if (
                isinstance(inner, ast.Attribute)
                and inner.attr in release_names
                and isinstance(inner.value, ast.Name)
                and inner.value.id == first
            ):
                helpers.add(node.name)
                break
    return frozenset(helpers)
