"""The scope shape: one cleanup scope around the function body, each resource registered in it.

    async def answer(q):                      async def answer(q):
        db = await asyncpg.connect(DSN)           async with ResourceScope("answer") as scope:
        ...                          ->               db = await asyncpg.connect(DSN)
                                                      scope.register("db", db.close)
                                                      ...

For resources without the context-manager protocol, several resources in one
function, or uses that do not fit in one block. The body is wrapped once: a
second resource of the same function (fixed in the next round of `--fix`)
finds the scope and only registers itself. A leading docstring stays outside.
A temporary (`open(p).read()`) is entered in place: `scope.enter(open(p))`.
With `scope-class = "contextlib.ExitStack"` the standard library's
ExitStack/AsyncExitStack is used (`callback`, `push_async_callback`,
`enter_context`).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.edits import make_fix
from runguard_lint.fixes.imports import Imports
from runguard_lint.fixes.release import (
    ENTERS_AS_OTHER,
    Release,
    WithFlavour,
    release_for,
    with_flavour,
)
from runguard_lint.fixes.tree import (
    Rewrite,
    binding_of,
    block_of,
    docstring_count,
    fresh_name,
    function_names,
    remove_releases,
    uses_confined,
)

# The runtime's scope under its two import names (runguard-runtime, and the linter's
# re-export of it).
RESOURCE_SCOPES = frozenset(
    {"runguard_runtime.ResourceScope", "runguard_lint.runtime.ResourceScope"}
)
_SYNC_STACK = "contextlib.ExitStack"
_ASYNC_STACK = "contextlib.AsyncExitStack"


@dataclass(frozen=True)
class _Scope:
    """A cleanup scope in the code: its name and which API it speaks."""

    name: str
    exit_stack: bool
    asynchronous: bool
    statement: cst.With | None = None  # None: the fix creates it


def scope_fix(context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
    function = acquisition.function
    if not isinstance(function, cst.FunctionDef) or not isinstance(
        function.body, cst.IndentedBlock
    ):
        return None
    facts = context.facts
    imports = Imports(facts)
    existing = _existing_scope(context, acquisition)
    scope = existing or _Scope(
        name=fresh_name("scope", function_names(function)),
        exit_stack=_stdlib_scope(context),
        asynchronous=acquisition.in_async_function,
    )
    rewrite = Rewrite(facts)
    # Created in a loop and released once after it: the scope now releases every
    # one, so the release after the loop would release the last one twice.
    if fate.outcome is Outcome.LOOP_LEAK and not remove_releases(
        facts, fate.release_sites, rewrite
    ):
        return None
    binding = binding_of(facts, acquisition.constructor)
    if binding is None or block_of(facts, binding.statement) is None:
        # A temporary, or a value that flows on through an expression (a container,
        # a conditional): entered in the scope where it is created.
        if (
            fate.holder is not None
            and scope.statement is not None
            and not _whole_body(function, scope.statement)
        ):
            return None
        if not _enter_in_place(context, acquisition, scope, rewrite):
            return None
        what = f"`{acquisition.call_text}`"
    else:
        if scope.statement is not None and not uses_confined(
            facts, binding.target, [scope.statement.body]
        ):
            return None
        holder = binding.target.value
        receiver = None
        if isinstance(acquisition.constructor.func, cst.Attribute):
            receiver = facts.module.code_for_node(acquisition.constructor.func.value)
        release = release_for(acquisition, context.catalog, holder, receiver)
        if release is None or (release.awaited and not scope.asynchronous):
            return None
        line = _registration(scope, holder, release, imports, function)
        rewrite.insert_after(binding.statement, [cst.parse_statement(line)])
        what = f"`{holder}`"
    alone = _statement_alone(context, acquisition) if binding is None else None
    if existing is None and alone is None and _open_in(context, function) < 2:
        # A scope only when several resources share the block: one resource gets its
        # `with`, `try/finally` or statement-sized scope, never the whole body re-indented.
        return None
    if existing is None and alone is not None:
        # A temporary: the smallest block is its own statement (closed right after it,
        # on every iteration of a loop), never the whole function.
        opener = _opener(context, scope, function, imports)
        rewrite.rebuild(alone, lambda updated: _wrap_statement(updated, opener, scope))
        message = f"Close {what} with a `{_class_label(scope)}` around the statement using it"
    elif existing is None:
        opener = _opener(context, scope, function, imports)
        rewrite.rebuild(function, lambda updated: _wrap_body(updated, opener, scope))
        message = (
            f"Close {what} with a `{_class_label(scope)}` around the body of "
            f"`{function.name.value}()`"
        )
    else:
        message = f"Close {what} with the `{scope.name}` scope of `{function.name.value}()`"
    module = imports.add_to(rewrite.apply())
    # Around the whole body, the release moves to the end of the function and every
    # line is re-indented: not the shortest lifetime, and not a change a maintainer
    # merges without reading, so only with --unsafe-fixes.
    whole_body = existing is None and alone is None
    applicability = Applicability.UNSAFE if whole_body else Applicability.SAFE
    return make_fix(context, module, applicability, message)


def _stdlib_scope(context: FileContext) -> bool:
    """The standard library's exit stack, unless the runtime's scope is asked for or the
    project may import it (a fix never imports a package the project lacks)."""
    chosen = context.settings.scope_class
    if chosen == "auto":
        return not context.settings.runtime_allowed
    return chosen == _SYNC_STACK


def _open_in(context: FileContext, function: cst.FunctionDef) -> int:
    """How many acquisitions of the function the ownership analysis finds left open."""
    ownership = context.ownership
    count = 0
    for other in ownership.acquisitions():
        if other.function is not function or ownership.fate(other).outcome not in (
            Outcome.LEAKED,
            Outcome.LOOP_LEAK,
        ):
            continue
        # One made in a loop or a comprehension is several (`[open(p) for p in ps]`):
        # an exit stack is the very tool for a number of resources known at run time.
        repeated = False
        for ancestor in context.facts.ancestors(other.call):
            if ancestor is function:
                break
            if isinstance(
                ancestor,
                (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp),
            ):
                repeated = True
        count += 2 if repeated else 1
    return count


def _statement_alone(context: FileContext, acquisition: Acquisition) -> cst.CSTNode | None:
    """The simple statement a temporary lives in, when it is a line of a block (so a
    `with` can hold just it)."""
    facts = context.facts
    statement = facts.statement_of(acquisition.call)
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    if not isinstance(statement.body[0], (cst.Expr, cst.Return)):
        # Bound to a name (`f = ... if ... else ...`, `xs = [open(p) ...]`): it lives on
        # after the statement, so a `with` around just the statement would close it early.
        return None
    if not isinstance(facts.parent(statement), cst.IndentedBlock):
        return None
    child: cst.CSTNode = acquisition.call
    for ancestor in facts.ancestors(acquisition.call):
        if ancestor is statement.body[0]:
            return statement
        if isinstance(ancestor, cst.Call) and child is not ancestor.func:
            if _terminal_name(ancestor.func) in _STORING:
                return None  # `handles.append(open(p))`: kept beyond the statement
        elif not isinstance(ancestor, (cst.Arg, cst.Await, cst.Attribute, cst.Call)):
            return None  # in a container, a comprehension, a lambda, a condition...
        child = ancestor
    return None


_STORING = frozenset({"append", "add", "extend", "insert", "put", "put_nowait", "setdefault"})


def _terminal_name(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    return expression.value if isinstance(expression, cst.Name) else ""


def _wrap_statement(updated: cst.CSTNode, opener: cst.Call, scope: _Scope) -> cst.CSTNode:
    assert isinstance(updated, cst.SimpleStatementLine)
    return cst.With(
        items=[cst.WithItem(item=opener, asname=cst.AsName(name=cst.Name(scope.name)))],
        body=cst.IndentedBlock(body=[updated.with_changes(leading_lines=())]),
        asynchronous=cst.Asynchronous() if scope.asynchronous else None,
        leading_lines=updated.leading_lines,
    )


def _whole_body(function: cst.FunctionDef, statement: cst.With) -> bool:
    """Whether a `with` is all of the function's body (after its docstring)."""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    return list(body[docstring_count(body) :]) == [statement]


def _class_label(scope: _Scope) -> str:
    if scope.exit_stack:
        return "AsyncExitStack" if scope.asynchronous else "ExitStack"
    return "ResourceScope"


def _existing_scope(context: FileContext, acquisition: Acquisition) -> _Scope | None:
    """A `with ResourceScope(...) as s:` (or an exit stack) around the acquisition."""
    facts = context.facts
    for ancestor in facts.ancestors(acquisition.constructor):
        if ancestor is acquisition.function:
            return None
        if not isinstance(ancestor, cst.With):
            continue
        for item in ancestor.items:
            if not (
                isinstance(item.item, cst.Call)
                and item.asname is not None
                and isinstance(item.asname.name, cst.Name)
            ):
                continue
            names = facts.external_names(item.item.func)
            asynchronous = ancestor.asynchronous is not None
            if RESOURCE_SCOPES & names:
                return _Scope(item.asname.name.value, False, asynchronous, ancestor)
            if _SYNC_STACK in names or _ASYNC_STACK in names:
                return _Scope(item.asname.name.value, True, _ASYNC_STACK in names, ancestor)
    return None


def _registration(
    scope: _Scope, holder: str, release: Release, imports: Imports, function: cst.FunctionDef
) -> str:
    arguments = ", ".join(release.arguments)
    if scope.exit_stack:
        method = "push_async_callback" if release.awaited else "callback"
        extra = f", {arguments}" if arguments else ""
        return f"{scope.name}.{method}({release.callee}{extra})"
    closer = release.callee
    if arguments:
        partial = imports.name("functools", "partial", used_in=function)
        closer = f"{cst.Module([]).code_for_node(partial)}({release.callee}, {arguments})"
    return f'{scope.name}.register("{holder}", {closer})'


def _enter_in_place(
    context: FileContext, acquisition: Acquisition, scope: _Scope, rewrite: Rewrite
) -> bool:
    """`scope.enter(Resource(...))` in place of a temporary (entered and exited by the scope)."""
    flavour = with_flavour(acquisition, context.catalog)
    if flavour is None or (flavour is WithFlavour.ASYNC and not scope.asynchronous):
        return False
    if acquisition.kind.callable in ENTERS_AS_OTHER:
        return False
    call = acquisition.constructor
    parent = context.facts.parent(call)
    node: cst.BaseExpression = call
    if isinstance(parent, cst.Await):
        node = parent
    entered: cst.BaseExpression = call if acquisition.kind.method else node
    if node is not call and entered is call and flavour is WithFlavour.SYNC:
        return False
    if flavour is WithFlavour.ASYNC:
        method = "enter_async_context" if scope.exit_stack else "enter_async"
        replacement: cst.BaseExpression = cst.Await(
            expression=_method_call(scope.name, method, entered),
            lpar=[cst.LeftParen()],
            rpar=[cst.RightParen()],
        )
    else:
        method = "enter_context" if scope.exit_stack else "enter"
        replacement = _method_call(scope.name, method, entered)
    rewrite.replace(
        node,
        replacement.with_changes(
            lpar=[*node.lpar, *replacement.lpar], rpar=[*replacement.rpar, *node.rpar]
        ),
    )
    return True


def _method_call(receiver: str, method: str, argument: cst.BaseExpression) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=cst.Name(receiver), attr=cst.Name(method)),
        args=[cst.Arg(argument.with_changes(lpar=[], rpar=[]))],
    )


def _opener(
    context: FileContext, scope: _Scope, function: cst.FunctionDef, imports: Imports
) -> cst.Call:
    if scope.exit_stack:
        cls = imports.name(
            "contextlib", "AsyncExitStack" if scope.asynchronous else "ExitStack", used_in=function
        )
        return cst.Call(func=cls)
    chosen = context.settings.scope_class
    module = (
        chosen.rsplit(".", 1)[0] if chosen in RESOURCE_SCOPES else context.settings.runtime_module
    )
    cls = imports.name(module, "ResourceScope", prefer_from=True, used_in=function)
    class_def = context.facts.enclosing_class(function)
    label = f"{class_def.name.value}.{function.name.value}" if class_def else function.name.value
    return cst.Call(func=cls, args=[cst.Arg(cst.SimpleString(f'"{label}"'))])


def _wrap_body(updated: cst.CSTNode, opener: cst.Call, scope: _Scope) -> cst.CSTNode:
    assert isinstance(updated, cst.FunctionDef) and isinstance(updated.body, cst.IndentedBlock)
    statements = list(updated.body.body)
    keep = docstring_count(statements)
    inner = statements[keep:]
    leading: tuple[cst.EmptyLine, ...] = ()
    first = inner[0] if inner else None
    if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        # Blank lines and comments above the first statement go above the `with`.
        leading = tuple(first.leading_lines)
        inner[0] = first.with_changes(leading_lines=())
    wrapper = cst.With(
        items=[cst.WithItem(item=opener, asname=cst.AsName(name=cst.Name(scope.name)))],
        body=cst.IndentedBlock(body=inner or [cst.SimpleStatementLine([cst.Pass()])]),
        asynchronous=cst.Asynchronous() if scope.asynchronous else None,
        leading_lines=leading,
    )
    return updated.with_changes(body=updated.body.with_changes(body=[*statements[:keep], wrapper]))
