"""Questions a fix asks before closing a resource in its function: what may outlive it.

The fate of an acquisition says whether it leaks; a fix that closes it must
also be sure that nothing the function hands on still needs it. The tracer
records the derived values it follows (`client.stream()`, `client[db]`, a
future); these queries are the conservative backstop a *safe* fix needs on top
of that, read by names over the function's statements:

- `outliving_use`: a handle made from the resource by navigation
  (`client["db"]["coll"]`, `client.app.docs`, a name bound to one), or by a
  method the catalog calls derived, is returned, yielded from a
  generator-less return, stored on an object or in a container, or the
  resource (or such a handle) goes into a task, thread or callback
  (`asyncio.create_task(client.get(u))`, `Session(engine)` stored);
- `may_borrow_transport`: the client is built over a transport that may be
  somebody else's (`OpenAI(http_client=shared)` with `shared` not made here,
  `x or httpx.Client()`, `**params`): closing it would close theirs.

A yes means "no safe fix", never "no finding".
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership.model import Acquisition
from runguard_lint.analysis.tree import walk

# Callables whose argument runs later, elsewhere: what they get must outlive the call.
_DEFERRING = frozenset(
    {
        "create_task",
        "ensure_future",
        "run_coroutine_threadsafe",
        "Thread",
        "Timer",
        "submit",
        "start_soon",
        "spawn",
        "add_done_callback",
        "call_soon",
        "call_later",
        "call_soon_threadsafe",
        "add_task",
        "add_callback",
    }
)


def may_borrow_transport(facts: ModuleFacts, acquisition: Acquisition) -> bool:
    """Whether the resource may wrap a transport it does not own, or be one it was given."""
    if acquisition.kind.may_be_borrowed:
        # A getter's value: the one it holds when it has one (`self.client or OpenAI()`).
        return True
    parent = facts.parent(acquisition.call)
    if isinstance(parent, cst.Await):
        parent = facts.parent(parent)
    if isinstance(parent, cst.BooleanOperation):
        # `x or httpx.Client()`: the holder may be the caller's `x`.
        return True
    keywords = acquisition.kind.transport_keywords
    if not keywords or not isinstance(acquisition.call, cst.Call):
        return False
    for argument in acquisition.call.args:
        if argument.star == "**":
            return True
        if argument.keyword is None or argument.keyword.value not in keywords:
            continue
        value = argument.value
        if isinstance(value, cst.Name) and value.value == "None":
            continue
        if isinstance(value, cst.Call) or _made_here(facts, value):
            # Made right here for this client: owned with it.
            continue
        return True
    return False


def _made_here(facts: ModuleFacts, value: cst.BaseExpression) -> bool:
    """A local name every binding of which is a call in the function (`t = httpx.Client()`)."""
    if not isinstance(value, cst.Name):
        return False
    assignments = facts.assignments_of(value)
    if not assignments:
        return False
    for assignment in assignments:
        target = getattr(assignment, "node", None)
        assign_target = facts.parent(target) if isinstance(target, cst.CSTNode) else None
        assign = facts.parent(assign_target) if assign_target is not None else None
        if not (
            isinstance(assign_target, cst.AssignTarget)
            and isinstance(assign, cst.Assign)
            and isinstance(assign.value, cst.Call)
            and facts.enclosing_function(assign) is facts.enclosing_function(value)
        ):
            return False
    return True


def outliving_use(
    facts: ModuleFacts,
    acquisition: Acquisition,
    holder: str | None,
    keeps_nothing: Callable[[cst.Call], bool] | None = None,
) -> str | None:
    """Why closing the resource at the end of its uses in the function would break
    something that outlives them, or None when nothing does (as far as names tell).

    `keeps_nothing`: the project's word that a call keeps none of its arguments
    (`ProjectView.keeps_nothing`), so what it returns is data.
    """
    function = acquisition.function
    derived_methods = frozenset(acquisition.kind.derived)
    handles: set[str] = {holder} if holder is not None else set()
    body = function.body if isinstance(function, cst.FunctionDef) else None
    statements = list(walk(body)) if body is not None else list(walk(function))
    # Names bound to a handle made from the resource (`db = client["db"]`).
    for node in statements:
        if isinstance(node, cst.Assign) and _handle(node.value, handles, derived_methods):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    handles.add(target.target.value)
    temporary = acquisition.call
    # A temporary bound to a name through `x if c else y`, `a or b`, `await`: that name
    # holds it as itself.
    for node in statements:
        if isinstance(node, cst.Assign) and _holds_itself(node.value, temporary):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    handles.add(target.target.value)
    # Every name bound from an expression that mentions it (a wide reading of "made from
    # it"): what a lazy value returned (a generator, a lambda) or a wrapper may hold.
    made = set(handles)
    for node in statements:
        if (
            isinstance(node, (cst.Assign, cst.AnnAssign))
            and node.value is not None
            and _mentions(node.value, made, temporary)
        ):
            bound: list[cst.BaseExpression] = (
                [item.target for item in node.targets]
                if isinstance(node, cst.Assign)
                else [node.target]
            )
            for expression in bound:
                made.update(name.value for name in walk(expression) if isinstance(name, cst.Name))
    for node in statements:
        if isinstance(node, cst.Return) and node.value is not None:
            if _handle(node.value, handles, derived_methods, temporary):
                return "a handle made from it is returned"
            late = _returned_late(node.value, handles, made, temporary, keeps_nothing)
            if late is not None:
                return late
        elif isinstance(node, cst.Assign) and any(
            isinstance(target.target, (cst.Attribute, cst.Subscript)) for target in node.targets
        ):
            if _mentions(node.value, handles, temporary):
                return "it (or a value made from it) is stored"
        elif isinstance(node, cst.Call):
            name = _terminal(node.func)
            if name in _DEFERRING and any(
                _mentions(arg.value, handles, temporary) for arg in node.args
            ):
                return f"it (or a value made from it) is handed to `{name}`"
    return None


# Calls that consume what they are given before they return: their result is data.
_CONSUMING = frozenset(
    {
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "sorted",
        "sum",
        "len",
        "min",
        "max",
        "any",
        "all",
        "str",
        "bytes",
        "int",
        "float",
        "bool",
        "repr",
        "json.load",
        "json.loads",
        "pickle.load",
        "marshal.load",
        "tomllib.load",
        "yaml.safe_load",
        "yaml.load",
    }
)


def _returned_late(
    node: cst.CSTNode,
    direct: set[str],
    made: set[str],
    temporary: cst.CSTNode,
    keeps_nothing: Callable[[cst.Call], bool] | None,
    consumed: bool = False,
) -> str | None:
    """Why the returned value may use the resource after the function ends, or None.

    A generator expression or lambda that mentions it (or what was made from it) runs
    later, unless a consuming call (`sum`, `list`) runs it first; the resource itself
    handed to a call whose result is returned (`from_openai(client)`) may be kept by
    that result, unless the call consumes it. An awaited result is data.
    """
    if isinstance(node, cst.Await):
        return None
    if (
        isinstance(node, (cst.GeneratorExp, cst.Lambda))
        and not consumed
        and _mentions(node, made, temporary)
    ):
        return "a lazy value (a generator, a lambda) that reads it is returned"
    if isinstance(node, cst.Call):
        eager = (
            consumed
            or cst.Module([]).code_for_node(node.func) in _CONSUMING
            or (keeps_nothing is not None and keeps_nothing(node))
        )
        for argument in node.args:
            value = argument.value
            held = value is temporary or (isinstance(value, cst.Name) and value.value in direct)
            if held and not eager:
                return "the value returned is built from it and may hold it"
            found = _returned_late(value, direct, made, temporary, keeps_nothing, eager)
            if found is not None:
                return found
        return _returned_late(node.func, direct, made, temporary, keeps_nothing)
    for child in node.children:
        found = _returned_late(child, direct, made, temporary, keeps_nothing)
        if found is not None:
            return found
    return None


def _holds_itself(value: cst.BaseExpression, temporary: cst.CSTNode) -> bool:
    if value is temporary:
        return True
    if isinstance(value, cst.Await):
        return _holds_itself(value.expression, temporary)
    if isinstance(value, cst.IfExp):
        return _holds_itself(value.body, temporary) or _holds_itself(value.orelse, temporary)
    if isinstance(value, cst.BooleanOperation):
        return _holds_itself(value.left, temporary) or _holds_itself(value.right, temporary)
    return False


def _terminal(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    return expression.value if isinstance(expression, cst.Name) else ""


def _mentions(
    expression: cst.CSTNode, names: set[str], temporary: cst.CSTNode | None = None
) -> bool:
    """Whether the resource or a handle appears in the expression, not only awaited."""
    for node in walk(expression):
        if node is temporary or (isinstance(node, cst.Name) and node.value in names):
            return True
    return False


def _handle(
    expression: cst.BaseExpression,
    handles: set[str],
    derived_methods: frozenset[str],
    temporary: cst.CSTNode | None = None,
) -> bool:
    """Whether the expression is a view of the resource: a chain from it (or a handle)
    of subscripts and attributes only, for a resource the catalog says is navigated
    (`client["db"]["coll"]`, `client.app.docs`: `__getitem__` among its derived
    methods), or through a method the catalog calls derived (`client.stream(...)`,
    `client.watch()`) or a call with `stream=True`. `shelf[key]`, `tmp.name` and
    `client.get(u).text` are data."""
    navigable = "__getitem__" in derived_methods
    node = expression
    called_derived = False
    navigated = False
    while True:
        if node is temporary or (isinstance(node, cst.Name) and node.value in handles):
            return (navigated and navigable) or called_derived or node is expression
        if isinstance(node, (cst.Subscript, cst.Attribute)):
            navigated = True
            node = node.value
        elif isinstance(node, cst.Call):
            if _terminal(node.func) in derived_methods or _streams(node):
                called_derived = True
                navigated = False
            elif not called_derived:
                # A plain method call gives data (`client.get(u).text`).
                return False
            node = node.func
        else:
            return False


def _streams(call: cst.Call) -> bool:
    """`create(..., stream=True)`: the result reads from the client as it is iterated."""
    return any(
        arg.keyword is not None
        and arg.keyword.value == "stream"
        and isinstance(arg.value, cst.Name)
        and arg.value.value == "True"
        for arg in call.args
    )
