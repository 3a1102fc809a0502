"""The `with` shape: `x = Resource(...)` and the rest of its block become a `with` block.

    client = httpx.AsyncClient(timeout=10)      async with httpx.AsyncClient(timeout=10) as client:
    response = await client.get(url)     ->         response = await client.get(url)
    return response.text                            return response.text

Offered when the resource supports the context-manager protocol in the
function's flavour, its `with` really closes it, it is bound by a simple
`name = Resource(...)` line and every use of the name lies in the rest of that
block. Comments on the binding line move to the `with` line, so a `# noqa`
still applies. Also the `contextlib.closing` shape for `with sqlite3.connect()`.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import dotted_name
from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.analysis.tree import walk
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.edits import make_fix
from runguard_lint.fixes.imports import Imports
from runguard_lint.fixes.release import ENTERS_AS_OTHER, WithFlavour, with_flavour
from runguard_lint.fixes.tree import (
    Binding,
    Rewrite,
    binding_of,
    block_of,
    fresh_name,
    function_names,
    index_in,
    remove_releases,
    uses_confined,
)


def rest_of_block(
    context: FileContext, binding: Binding, fate: Fate, rewrite: Rewrite
) -> tuple[cst.IndentedBlock, int] | None:
    """The block of the binding and its index, when every use of the name follows it there.

    A resource created in a loop and released once after it gets its release
    inside the loop instead: the release after the loop is removed (via
    rewrite), so its use of the name does not count.
    """
    facts = context.facts
    block = block_of(facts, binding.statement)
    if block is None:
        return None
    index = index_in(block.body, binding.statement)
    region: list[cst.CSTNode] = list(block.body[index + 1 :])
    if fate.outcome is Outcome.LOOP_LEAK:
        if not remove_releases(facts, fate.release_sites, rewrite):
            return None
        region.extend(fate.release_sites)
    if not uses_confined(facts, binding.target, region):
        return None
    return block, index


def with_fix(context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
    """`async with Resource(...) as name:` around the rest of the block."""
    flavour = with_flavour(acquisition, context.catalog)
    binding = binding_of(context.facts, acquisition.constructor)
    if flavour is None or binding is None:
        return None
    rewrite = Rewrite(context.facts)
    found = rest_of_block(context, binding, fate, rewrite)
    if found is None:
        return None
    block, index = found
    end = end_of_uses(context, block.body, index, binding.target.value)
    # `conn = await pool.acquire()` is entered as `async with pool.acquire() as conn`
    # (the pool's documented form); anything else obtained by an await is entered
    # as itself: `async with await psycopg.AsyncConnection.connect(...) as conn`.
    item = acquisition.constructor if binding.awaited and acquisition.kind.method else binding.value
    statement = binding.statement
    holder = binding.target.value

    enters_as_itself = acquisition.kind.callable not in ENTERS_AS_OTHER

    def wrap(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.IndentedBlock)
        body = list(updated.body)
        rest = without_blank_head(body[index + 1 : end]) or [cst.SimpleStatementLine([cst.Pass()])]
        after = body[end:]
        asynchronous = cst.Asynchronous() if flavour is WithFlavour.ASYNC else None
        if not enters_as_itself:
            # `with tempfile.TemporaryDirectory() as d` binds the path, not the object:
            # keep `d = ...` and enter `d` itself.
            entered = cst.With(
                items=[cst.WithItem(item=cst.Name(holder))],
                body=cst.IndentedBlock(body=rest),
                asynchronous=asynchronous,
            )
            return updated.with_changes(body=[*body[: index + 1], entered, *after])
        with_statement = cst.With(
            items=[cst.WithItem(item=item, asname=cst.AsName(name=cst.Name(holder)))],
            body=cst.IndentedBlock(body=rest, header=statement.trailing_whitespace),
            asynchronous=asynchronous,
            leading_lines=statement.leading_lines,
        )
        return updated.with_changes(body=[*body[:index], with_statement, *after])

    rewrite.rebuild(block, wrap)
    opener = f"{flavour.value} {acquisition.callee.removesuffix('()')}(...) as {holder}"
    if not enters_as_itself:
        opener = f"{flavour.value} {holder}"
    return make_fix(
        context,
        rewrite.apply(),
        Applicability.SAFE,
        f"Close `{holder}` with `{opener}:` around its uses",
    )


def without_blank_head(
    statements: Sequence[cst.BaseStatement],
) -> list[cst.BaseStatement]:
    """The statements, the first without the blank lines above it (comments stay): a new
    block header is not followed by a blank line."""
    body = list(statements)
    if body and isinstance(body[0], (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        first = body[0]
        lines = list(first.leading_lines)
        while lines and lines[0].comment is None:
            lines.pop(0)
        body[0] = first.with_changes(leading_lines=lines)
    return body


def end_of_uses(
    context: FileContext, statements: Sequence[cst.BaseStatement], index: int, holder: str
) -> int:
    """One past the last statement after `index` that uses the resource or a value
    derived from it: the `with` ends there, so the resource lives no longer than it
    is used (and what was made from it, a cursor, a response, is done with).

    "Derived", by names: what a statement that mentions a tracked name binds (`rows =
    cur.fetchall()`, `for row in cur`, `with conn.cursor() as c`, `self.x = ...` tracks
    `self`) and the object a method call hands a tracked value to (`items.append(cur)`
    tracks `items`) are tracked from then on. The module's imports, definitions and
    the builtins never are.
    """
    ignored = set(_module_level_names(context.facts.module))
    for statement in statements:
        # Modules imported in the function are no holders either (`mod.f(cur)`).
        for node in walk(statement):
            if isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(
                node.names, cst.ImportStar
            ):
                for alias in node.names:
                    bound = alias.asname.name if alias.asname is not None else alias.name
                    ignored.add(cst.Module([]).code_for_node(bound).split(".", 1)[0])
    tracked = {holder}
    end = index + 1
    for position in range(index + 1, len(statements)):
        statement = statements[position]
        if not _mentions_any(statement, tracked):
            continue
        end = position + 1
        for _ in range(2):  # a second pass for what the first one tracked late
            tracked |= _bound_from(statement, tracked) - ignored
    return end


def _loaded_names(node: cst.CSTNode) -> Iterator[str]:
    """The names an expression or statement reads or binds: not attribute names
    (`r.text`) or keywords (`f(httpx_client=x)`), which only look like names."""
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Name):
            yield current.value
        elif isinstance(current, (cst.Attribute, cst.Arg)):
            pending.append(current.value)
        else:
            pending.extend(current.children)


def _mentions_any(node: cst.CSTNode, names: set[str]) -> bool:
    return any(name in names for name in _loaded_names(node))


def _names_in(node: cst.CSTNode) -> set[str]:
    return set(_loaded_names(node))


def _bound_from(statement: cst.CSTNode, tracked: set[str]) -> set[str]:
    """The names the statement binds or fills from a tracked value."""
    found: set[str] = set()
    for node in walk(statement):
        source: cst.CSTNode | None = None
        target: cst.CSTNode | None = None
        if isinstance(node, cst.Assign):
            source = node.value
            for item in node.targets:
                if _mentions_any(source, tracked):
                    found |= _names_in(item.target)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            source, target = node.value, node.target
        elif isinstance(node, cst.For):
            source, target = node.iter, node.target
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            source, target = node.item, node.asname.name
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            # `items.append(cur)`: `items` now holds it.
            root = _receiver_root(node.func.value)
            if root is not None and any(_mentions_any(a.value, tracked) for a in node.args):
                found.add(root)
        if source is not None and target is not None and _mentions_any(source, tracked):
            found |= _names_in(target)
    return found


def _receiver_root(expression: cst.BaseExpression) -> str | None:
    while isinstance(expression, (cst.Attribute, cst.Subscript, cst.Call)):
        expression = expression.func if isinstance(expression, cst.Call) else expression.value
    return expression.value if isinstance(expression, cst.Name) else None


def _module_level_names(module: cst.Module) -> frozenset[str]:
    """Names the module binds to imports, functions and classes, and the builtins."""
    names = set(dir(builtins))
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    names.update(
                        (
                            alias.asname.name.value
                            if alias.asname and isinstance(alias.asname.name, cst.Name)
                            else cst.Module([]).code_for_node(alias.name).split(".")[0]
                        )
                        for alias in small.names
                    )
                elif isinstance(small, cst.ImportFrom) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    for alias in small.names:
                        bound = alias.asname.name if alias.asname else alias.name
                        if isinstance(bound, cst.Name):
                            names.add(bound.value)
    return frozenset(names)


# Callables that read a file to the end before they return (what they return is data).
EAGER_READERS = frozenset(
    {
        "json.load",
        "pickle.load",
        "marshal.load",
        "plistlib.load",
        "tomllib.load",
        "tomli.load",
        "toml.load",
        "yaml.load",
        "yaml.safe_load",
        "yaml.full_load",
        "yaml.unsafe_load",
        "yaml.safe_load_all",
        "numpy.load",
        "joblib.load",
    }
)


# What the name of a temporary entered by `with` is built from: the callee's last part.
_TEMPORARY_NAMES = {
    "open": "f",
    "ZipFile": "archive",
    "TarFile": "archive",
    "socket": "sock",
    "create_connection": "sock",
    "Popen": "proc",
    "NamedTemporaryFile": "tmp",
    "TemporaryFile": "tmp",
    "SpooledTemporaryFile": "tmp",
    "connect": "conn",
    "Session": "session",
}


def returned_temporary_fix(context: FileContext, acquisition: Acquisition) -> Fix | None:
    """`return open(p).read()` -> `with open(p) as f: return f.read()`.

    Only where the `with` ends when the temporary's use does: around the one
    statement that uses it (a `return`, an expression statement, an
    assignment: `open(p, "w").write(s)` is closed, and flushed, right after it,
    per iteration in a loop) and as what a `for` loop iterates over
    (`for line in open(p):`, closed after the loop). Only when the resource is
    the first thing the statement evaluates (a method called on it, or the
    first argument of a plain named callee), so that entering it earlier
    reorders nothing but name lookups; a bare temporary statement
    (`Resource()` alone, or `x = Resource()`) is no such use.
    """
    facts = context.facts
    call = acquisition.constructor
    flavour = with_flavour(acquisition, context.catalog)
    function = acquisition.function
    if (
        flavour is None
        or acquisition.kind.callable in ENTERS_AS_OTHER
        or not isinstance(function, cst.FunctionDef)
    ):
        return None
    node: cst.CSTNode = call
    statement: cst.CSTNode | None = None
    # The calls the temporary is handed to on its way to the statement (`json.load`).
    callees: list[cst.Call] = []
    while statement is None:
        parent = facts.parent(node)
        if (
            isinstance(parent, (cst.Return, cst.Expr))
            or (isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is node)
        ) and node is not call:
            # The statement is all the temporary's life: `with` around just it (in a
            # loop, closed on every iteration).
            statement = facts.parent(parent)
            if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
                return None
            break
        if isinstance(parent, cst.For) and parent.iter is node and parent.asynchronous is None:
            statement = parent
            break
        used_on = (
            (isinstance(parent, cst.Attribute) and parent.value is node)
            or (isinstance(parent, cst.Call) and parent.func is node)
            or (isinstance(parent, cst.Await) and node is not call)
            or (isinstance(parent, cst.Subscript) and parent.value is node and node is not call)
        )
        if used_on and parent is not None:
            node = parent
        elif (
            isinstance(parent, cst.Arg)
            and parent.value is node
            and not parent.keyword
            and not parent.star
        ):
            outer = facts.parent(parent)
            if not (
                isinstance(outer, cst.Call)
                and outer.args
                and outer.args[0] is parent
                and dotted_name(outer.func) is not None
            ):
                return None
            callees.append(outer)
            node = outer
        else:
            return None
    if block_of(facts, statement) is None:
        return None
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], (cst.Assign, cst.AnnAssign))
        and not all(facts.external_names(outer.func) & EAGER_READERS for outer in callees)
    ):
        # `data = csv.reader(open(p))`: what the callee made may read the file later,
        # after a `with` around this statement closed it. Only readers known to read
        # everything at once (`json.load`) may be handed the temporary here.
        return None
    terminal = acquisition.callee.rsplit(".", 1)[-1].removesuffix("()")
    base = _TEMPORARY_NAMES.get(terminal, context.catalog.leak_traits(acquisition.kind.rule).noun)
    name = fresh_name(base, function_names(function))
    rewrite = Rewrite(facts)
    rewrite.replace(call, cst.Name(name, lpar=call.lpar, rpar=call.rpar))

    def enter(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, (cst.SimpleStatementLine, cst.For))
        return cst.With(
            items=[
                cst.WithItem(
                    item=call.with_changes(lpar=[], rpar=[]), asname=cst.AsName(name=cst.Name(name))
                )
            ],
            body=cst.IndentedBlock(body=[updated.with_changes(leading_lines=())]),
            asynchronous=cst.Asynchronous() if flavour is WithFlavour.ASYNC else None,
            leading_lines=updated.leading_lines,
        )

    rewrite.rebuild(statement, enter)
    return make_fix(
        context,
        rewrite.apply(),
        Applicability.SAFE,
        f"Close it with `{flavour.value} {acquisition.callee.removesuffix('()')}(...) as {name}:`",
    )


def closing_fix(context: FileContext, acquisition: Acquisition) -> Fix | None:
    """`with sqlite3.connect(p) as c:` -> `with contextlib.closing(sqlite3.connect(p)) as c, c:`.

    The connection stays entered as itself inside the closing wrapper, so the
    transaction is still committed (or rolled back) before it is closed:
    `closing()` alone would silently drop the commit. `c = sqlite3.connect(p)`
    directly followed by `with c:` (every use of `c` in that statement) gets
    the same shape, the binding line folded into the `with`.
    """
    facts = context.facts
    call = acquisition.constructor
    parent = facts.parent(call)
    rewrite = Rewrite(facts)
    folded: cst.SimpleStatementLine | None = None
    if isinstance(parent, cst.WithItem) and parent.item is call:
        item = parent
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            return None
        name = item.asname.name.value
    else:
        binding = binding_of(facts, call)
        found = _entered_next(context, binding) if binding is not None else None
        if binding is None or found is None:
            return None
        item, folded, name = found, binding.statement, binding.target.value
        rewrite.remove(folded)
    with_statement = facts.parent(item)
    if not isinstance(with_statement, cst.With):
        return None
    imports = Imports(facts)
    closing = imports.name("contextlib", "closing", used_in=acquisition.function)
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    wrapped = cst.WithItem(
        item=cst.Call(func=closing, args=[cst.Arg(call)]),
        asname=cst.AsName(name=cst.Name(name)),
        comma=comma,
    )
    # The original item's comma (a trailing one, or the separator) moves to the new item.
    reentered = cst.WithItem(item=cst.Name(name), comma=item.comma)
    items = list(with_statement.items)
    position = index_in(items, item)
    changed = with_statement.with_changes(
        items=[*items[:position], wrapped, reentered, *items[position + 1 :]]
    )
    if folded is not None:
        header = changed.body.header if isinstance(changed.body, cst.IndentedBlock) else None
        if header is not None and header.comment is None:
            changed = changed.with_changes(
                body=changed.body.with_changes(header=folded.trailing_whitespace)
            )
        changed = changed.with_changes(
            leading_lines=(*folded.leading_lines, *changed.leading_lines)
        )
    rewrite.replace(with_statement, changed)
    module = imports.add_to(rewrite.apply())
    return make_fix(
        context,
        module,
        Applicability.SAFE,
        f"Close `{name}` with `contextlib.closing`, keeping `with {name}:` for the transaction",
    )


def _entered_next(context: FileContext, binding: Binding) -> cst.WithItem | None:
    """The `with name:` item of the statement right after the binding, if it holds every use."""
    facts = context.facts
    block = block_of(facts, binding.statement)
    if block is None or binding.awaited:
        return None
    index = index_in(block.body, binding.statement)
    following = block.body[index + 1] if index + 1 < len(block.body) else None
    if not isinstance(following, cst.With) or following.asynchronous is not None:
        return None
    if not uses_confined(facts, binding.target, [following]):
        return None
    for item in following.items:
        if (
            isinstance(item.item, cst.Name)
            and item.item.value == binding.target.value
            and item.asname is None
        ):
            return item
    return None
