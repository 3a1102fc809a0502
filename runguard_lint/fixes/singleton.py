"""The singleton shape: a per-call client, executor or index becomes one shared lazy instance.

    async def fetch_docs(url):                      @per_loop
        client = httpx.AsyncClient(timeout=10)      def _fetch_docs_client():
        ...                                 ->          return httpx.AsyncClient(timeout=10)


                                                    async def fetch_docs(url):
                                                        client = _fetch_docs_client()
                                                        ...

Only when every argument is a literal or a name bound once at module level
(an import, a def, a constant): then every call builds the same thing, and
sharing it is what really bounds sockets and threads. The loader is defined
at module level right before the statement that holds the function, so
nothing runs at import time. Sync resources get `@functools.cache`; async
clients get runguard-runtime's `per_loop` (one per running event loop,
closed with it), since a plain module-level AsyncClient breaks the second
`asyncio.run()`. The release statements of the old per-call instance are
removed (a shared instance must not be closed by one caller); if one cannot
be removed cleanly, no singleton is offered. Unsafe: lifetime and sharing
change.

Refused (no singleton) when the instance is configured after construction
(`session.mount(...)`, `client.headers[...] = ...`, `client.cookies.set(...)`:
tenant A's settings would be sent for tenant B), when an argument reads the
environment (`API_KEY = os.environ[...]`: a rotated key would be ignored), or
when the loader's name is already taken (the code has a loader of that name).
The message says that configuration is read once. `per_loop` is in the
stdlib-only runguard-runtime distribution (which the linter re-exports as
`runguard_lint.runtime`): unless the checked project declares one of them (or
`fix-runtime = true`), the async singleton is display-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import BuiltinAssignment, GlobalScope

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership import Acquisition, Fate
from runguard_lint.analysis.tree import walk
from runguard_lint.dependencies import runtime_needed
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.edits import make_fix
from runguard_lint.fixes.imports import Imports
from runguard_lint.fixes.tree import (
    Rewrite,
    Statement,
    block_of,
    expression_statement,
    fresh_name,
    index_in,
    is_global_reference,
    module_names,
    remove_releases,
    top_level_statement,
)

_NAMED_CONSTANTS = frozenset({"True", "False", "None"})


def _test_module(filename: str) -> bool:
    """A test file: a shared instance would carry state from one test to the next."""
    parts = filename.replace("\\", "/").split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in ("tests", "test") for part in parts[:-1])
    )


def singleton_fix(context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
    if _test_module(context.filename):
        return None
    kind = acquisition.kind
    facts = context.facts
    call = acquisition.constructor
    asynchronous = kind.release_awaited or (kind.async_cm and not kind.sync_cm)
    if asynchronous and not (acquisition.in_async_function and kind.release):
        return None
    if isinstance(facts.parent(call), cst.Await):
        return None
    if kind.result == "receiver":
        if not _constant_arguments(facts, call):
            return None
    elif not _constant_call(facts, call):
        return None
    holder_name = fate.holder
    if holder_name is not None and _configured_after(facts, acquisition.function, holder_name):
        return None
    if _reads_environment(facts, call):
        return None
    rewrite = Rewrite(facts)
    if not remove_releases(facts, fate.release_sites, rewrite):
        return None
    if kind.result == "receiver":
        built = _receiver_loader_body(facts, call, rewrite)
        if built is None:
            return None
        body, replaced, holder = built
    else:
        holder = fate.holder or context.catalog.leak_traits(kind.rule).noun
        body = [cst.SimpleStatementLine([cst.Return(call.with_changes(lpar=[], rpar=[]))])]
        replaced = call
    top = top_level_statement(facts, acquisition.function)
    if top is None:
        return None
    base = re.sub(r"\W", "", acquisition.function_name).strip("_") or "shared"
    holder = holder.strip("_")
    stem = holder if holder.startswith(base) else f"{base}_{holder}"
    if f"_{stem}" in module_names(facts.module):
        # A loader of that name exists already: the code shares its own way.
        return None
    name = fresh_name(f"_{stem}", module_names(facts.module))
    imports = Imports(facts)
    top_index = index_in(facts.module.body, top)
    if asynchronous:
        per_loop = imports.name(
            context.settings.runtime_module, "per_loop", prefer_from=True, before_index=top_index
        )
        closer = kind.release[0]
        decorator: cst.BaseExpression = (
            per_loop
            if closer == "aclose"
            else cst.Call(
                func=per_loop,
                args=[
                    cst.Arg(
                        cst.SimpleString(f'"{closer}"'),
                        keyword=cst.Name("close"),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                ],
            )
        )
    else:
        decorator = imports.name("functools", "cache", before_index=top_index)
    assert isinstance(top, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    # The loader takes the blank lines above the statement (kept as they are: some
    # may be a blanked-out body the analysis skipped); comments there stay with the
    # statement they describe, two blank lines below the loader.
    blank_prefix = _blank_prefix(top.leading_lines)
    loader = cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(),
        body=cst.IndentedBlock(body=body),
        decorators=[cst.Decorator(decorator=decorator)],
        leading_lines=top.leading_lines[:blank_prefix],
    )
    rewrite.replace(replaced, cst.Call(func=cst.Name(name), lpar=replaced.lpar, rpar=replaced.rpar))
    rewrite.insert_before(top, [loader])
    spaced = (cst.EmptyLine(), cst.EmptyLine(), *top.leading_lines[blank_prefix:])
    rewrite.rebuild(top, lambda updated: updated.with_changes(leading_lines=spaced))
    module = imports.add_to(rewrite.apply())
    what = "per event loop" if asynchronous else "per process"
    applicability = Applicability.UNSAFE
    needs = ""
    if asynchronous and not context.settings.runtime_allowed:
        applicability = Applicability.DISPLAY_ONLY
        needs = runtime_needed("per_loop")
    return make_fix(
        context,
        module,
        applicability,
        f"Share one `{acquisition.callee}` {what} through the lazy loader `{name}()`; its "
        f"configuration (arguments, environment variables it reads) is then read once{needs}",
    )


# Methods that configure an object after it is built (a shared instance would carry
# one caller's settings to every other caller).
_CONFIGURING_METHODS = frozenset(
    {
        "mount",
        "update",
        "set",
        "setdefault",
        "append",
        "extend",
        "add",
        "insert",
        "clear",
        "pop",
        "popitem",
        "remove",
        "discard",
        "register",
        "set_cookie",
        "load_cert_chain",
        "load_verify_locations",
    }
)


def _configured_after(facts: ModuleFacts, function: cst.CSTNode, holder: str) -> bool:
    """Whether the function sets state on `holder` (or on what it holds) after building it."""
    for node in walk(function):
        if not (isinstance(node, cst.Name) and node.value == holder):
            continue
        child: cst.CSTNode = node
        parent = facts.parent(child)
        while isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is child:
            child, parent = parent, facts.parent(parent)
        if child is node:
            continue
        if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
            isinstance(parent, cst.AugAssign) and parent.target is child
        ):
            return True
        if (
            isinstance(child, cst.Attribute)
            and isinstance(parent, cst.Call)
            and parent.func is child
        ):
            method = child.attr.value
            if method in _CONFIGURING_METHODS or method.startswith(("set_", "add_", "mount")):
                return True
    return False


def _reads_environment(facts: ModuleFacts, call: cst.Call) -> bool:
    """Whether an argument is, or is a module constant bound to, an environment read."""
    for arg in call.args:
        expressions: list[cst.CSTNode] = [arg.value]
        for node in walk(arg.value):
            if not isinstance(node, cst.Name):
                continue
            for assignment in facts.assignments_of(node):
                bound = getattr(assignment, "node", None)
                statement = facts.statement_of(bound) if isinstance(bound, cst.CSTNode) else None
                if statement is not None:
                    expressions.append(statement)
        for expression in expressions:
            code = facts.module.code_for_node(expression)
            if "environ" in code or "getenv" in code:
                return True
    return False


def _blank_prefix(lines: Sequence[cst.EmptyLine]) -> int:
    count = 0
    for line in lines:
        if line.comment is not None:
            break
        count += 1
    return count


def _receiver_loader_body(
    facts: ModuleFacts, load: cst.Call, rewrite: Rewrite
) -> tuple[list[Statement], cst.Call, str] | None:
    """`index = hnswlib.Index(...)` + `index.load_index(p)` -> one loader building and loading.

    Returns the loader's body, the constructor call to replace by the loader
    call, and the holder name; the load statement is removed.
    """
    func = load.func
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return None
    receiver = func.value
    assignments = facts.assignments_of(receiver)
    if len(assignments) != 1:
        return None
    target = getattr(next(iter(assignments)), "node", None)
    if not isinstance(target, cst.Name):
        return None
    assign = facts.parent(facts.parent(target) or target)
    built = facts.parent(assign) if isinstance(assign, cst.Assign) else None
    if not (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.value, cst.Call)
        and isinstance(built, cst.SimpleStatementLine)
        and len(built.body) == 1
    ):
        return None
    constructor = assign.value
    if not _constant_call(facts, constructor):
        return None
    loading = facts.statement_of(load)
    if loading is None or not expression_statement(loading, load):
        return None
    block = block_of(facts, built)
    if block is None or facts.parent(loading) is not block:
        return None
    start = index_in(block.body, built)
    end = index_in(block.body, loading)
    if end <= start:
        return None
    for between in block.body[start + 1 : end]:
        if any(
            isinstance(node, cst.Name) and node.value == receiver.value for node in walk(between)
        ):
            return None
    rewrite.remove(loading)
    assert isinstance(loading, cst.SimpleStatementLine)
    if built.trailing_whitespace.comment is None:
        # The load line's trailing comment (a suppression, say) stays in the function.
        moved = loading.trailing_whitespace
        rewrite.rebuild(built, lambda updated: updated.with_changes(trailing_whitespace=moved))
    name = receiver.value
    body: list[Statement] = [
        cst.SimpleStatementLine(
            [
                cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(name))],
                    value=constructor.with_changes(lpar=[], rpar=[]),
                )
            ]
        ),
        loading.with_changes(trailing_whitespace=cst.TrailingWhitespace()),
        cst.SimpleStatementLine([cst.Return(cst.Name(name))]),
    ]
    return body, constructor, name


def _constant_call(facts: ModuleFacts, call: cst.Call) -> bool:
    """A call of a module-level name with arguments that are literals or module-level names."""
    if not is_global_reference(facts, call.func):
        return False
    return _constant_arguments(facts, call)


def _constant_arguments(facts: ModuleFacts, call: cst.Call) -> bool:
    return all(not arg.star and _constant(facts, arg.value) for arg in call.args)


def _constant(facts: ModuleFacts, expression: cst.BaseExpression) -> bool:
    if isinstance(expression, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(expression, cst.ConcatenatedString):
        return _constant(facts, expression.left) and _constant(facts, expression.right)
    if isinstance(expression, cst.FormattedString):
        return all(isinstance(part, cst.FormattedStringText) for part in expression.parts)
    if isinstance(expression, cst.UnaryOperation):
        return isinstance(expression.operator, (cst.Minus, cst.Plus)) and _constant(
            facts, expression.expression
        )
    if isinstance(expression, (cst.Tuple, cst.List, cst.Set)):
        return all(
            isinstance(element, cst.Element) and _constant(facts, element.value)
            for element in expression.elements
        )
    if isinstance(expression, cst.Dict):
        return all(
            isinstance(element, cst.DictElement)
            and _constant(facts, element.key)
            and _constant(facts, element.value)
            for element in expression.elements
        )
    if isinstance(expression, cst.Name):
        return expression.value in _NAMED_CONSTANTS or _module_constant(facts, expression)
    return False


def _module_constant(facts: ModuleFacts, name: cst.Name) -> bool:
    """A name bound exactly once, by a module-level statement (or a builtin)."""
    assignments = facts.assignments_of(name)
    if len(assignments) != 1:
        return False
    assignment = next(iter(assignments))
    if isinstance(assignment, BuiltinAssignment):
        return True
    if not isinstance(assignment.scope, GlobalScope):
        return False
    node = getattr(assignment, "node", None)
    if not isinstance(node, cst.CSTNode):
        return False
    # `global NAME` in a function and a rebinding there counts as a second binding;
    # a single binding must also be made by module-level code.
    return (
        facts.enclosing_function(node) is None
        and len(assignment.scope.assignments[name.value]) == 1
    )
