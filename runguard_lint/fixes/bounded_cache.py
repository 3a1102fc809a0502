"""The bounded-cache shapes: an unbounded dict -> `BoundedCache(...)`, `cache` -> `lru_cache(N)`.

    _embeddings = {}                ->  _embeddings = BoundedCache(maxsize=10_000)
    @functools.cache                ->  @functools.lru_cache(maxsize=10_000)

`BoundedCache` (runguard-runtime) is a thread-safe LRU MutableMapping,
not a dict: the fix is offered only when every use of the cache in the module
is one a MutableMapping supports (`c[k]`, `k in c`, `get`, `setdefault`,
`pop`, `update`, iteration, `len`, ...). Passing the dict elsewhere, `|=`,
`copy()` or `defaultdict` (whose missing-key factory BoundedCache lacks) give
no fix. Both are unsafe: entries are evicted, so code that relied on a value
staying cached can change behaviour. The size is `cache-maxsize` from config.

The dict is bounded only when it has the memoisation shape (see
`_memoisation`): read before it is written, each value computed (a call, an
await), never mutated in place, never counted, iterated or passed on, and no
value a lock, task, event or queue. A lock registry, a task registry (the only
strong reference to running tasks), a refcount or a store of record would
break when an entry is evicted. `BoundedCache` lives in the stdlib-only
runguard-runtime distribution (re-exported by the linter as
`runguard_lint.runtime`): when the checked project declares neither (nor
`cachetools` for `cache-class = "cachetools.LRUCache"`), the fix is display-only
and its message names the distribution to add; `lru_cache` is standard library
and always applies.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.dict_uses import DictUse, UseShape, classify
from runguard_lint.analysis.dict_vocabulary import (
    DICT_FACTORIES,
    FUNCTOOLS_CACHE,
    FUNCTOOLS_LRU_CACHE,
)
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.syntax import root_name
from runguard_lint.analysis.tree import walk
from runguard_lint.dependencies import runtime_needed
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.edits import make_fix
from runguard_lint.fixes.imports import Imports
from runguard_lint.fixes.tree import Rewrite, index_in, top_level_statement

# Factories the rewrite replaces. An empty `typing.OrderedDict()` is reported but kept.
_REWRITTEN_FACTORIES = DICT_FACTORIES - {"typing.OrderedDict"}
_DICT_ANNOTATIONS = frozenset({"dict", "Dict", "OrderedDict"})


def _size(maxsize: int) -> str:
    return f"{maxsize:_}" if maxsize >= 10_000 else str(maxsize)


def _maxsize_arg(size: str) -> cst.Arg:
    """`maxsize=10_000`, as both shapes write it."""
    tight = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    return cst.Arg(cst.Integer(size), keyword=cst.Name("maxsize"), equal=tight)


def bounded_cache_fix(context: FileContext, binding: cst.CSTNode) -> Fix | None:
    """The dict bound at `binding` (its name, assignment or line) becomes a BoundedCache."""
    facts = context.facts
    assign = _assignment(facts, binding)
    if assign is None:
        return None
    target = assign.targets[0].target if isinstance(assign, cst.Assign) else assign.target
    value = assign.value
    if not isinstance(target, cst.Name) or value is None or not _empty_dict(facts, value):
        return None
    statement = facts.parent(assign)
    holder = facts.parent(statement) if statement is not None else None
    if isinstance(holder, cst.Module):
        uses = [access.node for access in facts.references_of_binding(target)]
    elif isinstance(holder, cst.IndentedBlock) and isinstance(facts.parent(holder), cst.ClassDef):
        uses = [access.node for access in facts.references_of_binding(target)]
        uses += [
            node
            for node in facts.nodes
            if isinstance(node, cst.Attribute) and node.attr.value == target.value
        ]
    else:
        return None
    classified = [classify(facts, use) for use in uses]
    if not all(use.supported_by_mutable_mapping for use in classified):
        return None
    if not _memoisation(facts, classified):
        return None
    top = top_level_statement(facts, assign)
    if top is None:
        return None
    imports = Imports(facts)
    cache_class_name, applicability, needs = _cache_class(context)
    module_name, class_name = cache_class_name.rsplit(".", 1)
    cache_class = imports.name(
        module_name,
        class_name,
        prefer_from=True,
        before_index=index_in(facts.module.body, top),
    )
    size = _size(context.settings.cache_maxsize)
    rewrite = Rewrite(facts)
    rewrite.replace(
        value,
        cst.Call(
            func=cache_class,
            args=[_maxsize_arg(size)],
            lpar=value.lpar,
            rpar=value.rpar,
        ),
    )
    if isinstance(assign, cst.AnnAssign):
        _retype(rewrite, assign.annotation.annotation, cache_class)
    module = imports.add_to(rewrite.apply())
    return make_fix(
        context,
        module,
        applicability,
        f"Bound `{target.value}` to {size} entries with an LRU `{class_name}`{needs}",
    )


def _cache_class(context: FileContext) -> tuple[str, Applicability, str]:
    """The bounded mapping to use, the fix's tier, and what the message must add.

    A class from a package the project does not declare makes the fix
    display-only: applied, it would fail with ModuleNotFoundError in production.
    """
    settings = context.settings
    chosen = settings.cache_class
    if chosen == "auto":
        chosen = f"{settings.runtime_module}.BoundedCache"
    if chosen in _RUNTIME_CACHES:
        # Named in config: the project says it imports the runtime.
        if settings.runtime_allowed or settings.cache_class == chosen:
            return chosen, Applicability.UNSAFE, ""
        return chosen, Applicability.DISPLAY_ONLY, runtime_needed("BoundedCache")
    distribution = chosen.split(".", 1)[0]
    if settings.declares(distribution):
        return chosen, Applicability.UNSAFE, ""
    return (
        chosen,
        Applicability.DISPLAY_ONLY,
        f" (needs `{distribution}`, which this project does not declare)",
    )


_RUNTIME_CACHES = frozenset({"runguard_runtime.BoundedCache", "runguard_lint.runtime.BoundedCache"})
# Whose values are a registry, not a memo: evicting one breaks what holds it.
_REGISTRY_VALUES = frozenset(
    {
        "Lock",
        "RLock",
        "Semaphore",
        "BoundedSemaphore",
        "Event",
        "Condition",
        "Barrier",
        "Queue",
        "LifoQueue",
        "PriorityQueue",
        "SimpleQueue",
        "create_task",
        "ensure_future",
        "Task",
        "Future",
        "Thread",
        "Process",
        "start_server",
        "create_server",
        "WeakSet",
        "defaultdict",
    }
)
_MEMO_SHAPES = frozenset(
    {UseShape.ITEM_SET, UseShape.ITEM_READ, UseShape.MEMBERSHIP_TESTED, UseShape.DECLARED}
)
# A lookup that decides whether to compute (`k in c`, `c.get(k)`): a memo's read.
_MEMO_READS = frozenset({UseShape.MEMBERSHIP_TESTED})
_MEMO_METHODS = frozenset({"get", "setdefault"})


def _memoisation(facts: ModuleFacts, uses: list[DictUse]) -> bool:
    """Whether the dict is a memo: looked up, and filled with values computed for a key.

    Anything else (counted with `len()`, iterated, popped, mutated in place,
    holding locks or tasks or constants) is a registry or a store whose entries
    must not vanish: no bounded-cache fix.
    """
    read = False
    for use in uses:
        if use.shape is UseShape.METHOD_CALLED:
            if use.method not in _MEMO_METHODS:
                return False
            read = True
        elif use.shape not in _MEMO_SHAPES:
            return False
        if use.shape in _MEMO_READS:
            read = True
        if any(not _computed(facts, value) for value in use.values):
            return False
    return read


def _computed(facts: ModuleFacts, value: cst.BaseExpression) -> bool:
    """A value made by a call (not a lock, a task, a queue...), awaited or not."""
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(
        value, (cst.ListComp, cst.DictComp, cst.SetComp, cst.Name, cst.Subscript, cst.Attribute)
    ):
        return True
    if isinstance(value, (cst.List, cst.Tuple, cst.Set, cst.Dict, cst.FormattedString)):
        # A display built from data (`[float(len(text))]`, `f"{user}:{q}"`), not an empty
        # accumulator or a constant: computed, if any part of it is.
        return any(
            isinstance(node, (cst.Call, cst.Name, cst.Attribute, cst.Subscript))
            and not (isinstance(node, cst.Name) and node.value in ("True", "False", "None"))
            for node in walk(value)
        )
    if not isinstance(value, cst.Call):
        return False
    names = {name.rsplit(".", 1)[-1] for name in facts.external_names(value.func)}
    names.add(_terminal(value.func) or "")
    return not names & _REGISTRY_VALUES


def _assignment(facts: ModuleFacts, node: cst.CSTNode) -> cst.Assign | cst.AnnAssign | None:
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
        node = node.body[0]
    current: cst.CSTNode | None = node
    while current is not None and not isinstance(current, (cst.Assign, cst.AnnAssign)):
        if isinstance(current, cst.BaseStatement):
            return None
        current = facts.parent(current)
    if isinstance(current, cst.Assign) and len(current.targets) != 1:
        return None
    return current


def _empty_dict(facts: ModuleFacts, value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Dict):
        return not value.elements
    if isinstance(value, cst.Call) and not value.args:
        return bool(facts.external_names(value.func) & _REWRITTEN_FACTORIES)
    return False


def _retype(
    rewrite: Rewrite, annotation: cst.BaseExpression, cache_class: cst.BaseExpression
) -> None:
    """`dict[str, V]` -> `BoundedCache[str, V]`, so the annotation stays true."""
    base = annotation.value if isinstance(annotation, cst.Subscript) else annotation
    if (
        isinstance(annotation, cst.Subscript)
        and _terminal(base) == "ClassVar"
        and len(annotation.slice) == 1
    ):
        inner = annotation.slice[0].slice
        if isinstance(inner, cst.Index):
            _retype(rewrite, inner.value, cache_class)
        return
    if _terminal(base) in _DICT_ANNOTATIONS:
        rewrite.replace(base, cache_class)


def _terminal(expression: cst.BaseExpression) -> str | None:
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    return expression.value if isinstance(expression, cst.Name) else None


def lru_cache_fix(context: FileContext, node: cst.CSTNode) -> Fix | None:
    """`@functools.cache` or `@lru_cache(maxsize=None)` -> `@lru_cache(maxsize=N)`.

    node: the decorator, or the function it decorates.
    """
    facts = context.facts
    decorator = _unbounded_decorator(facts, node)
    if decorator is None:
        return None
    size = _size(context.settings.cache_maxsize)
    rewrite = Rewrite(facts)
    expression = decorator.decorator
    imports = Imports(facts)
    if isinstance(expression, cst.Call):
        for position, arg in enumerate(expression.args):
            named = (
                arg.keyword.value == "maxsize"
                if arg.keyword is not None
                else (position == 0 and not arg.star)
            )
            if named and isinstance(arg.value, cst.Name) and arg.value.value == "None":
                rewrite.replace(arg.value, cst.Integer(size))
                break
        else:
            return None
    else:
        top = top_level_statement(facts, decorator)
        if top is None:
            return None
        lru_cache = imports.name(
            "functools", "lru_cache", before_index=index_in(facts.module.body, top)
        )
        rewrite.replace(
            expression,
            cst.Call(
                func=lru_cache,
                args=[_maxsize_arg(size)],
            ),
        )
        # `from functools import cache` (or `import functools`) may now be unused.
        root = root_name(expression)
        if root is not None:
            imports.drop_if_unused(root.value)
    module = imports.add_to(rewrite.apply())
    return make_fix(
        context, module, Applicability.UNSAFE, f"Bound the cache with `lru_cache(maxsize={size})`"
    )


def _unbounded_decorator(facts: ModuleFacts, node: cst.CSTNode) -> cst.Decorator | None:
    decorators: list[cst.Decorator]
    if isinstance(node, cst.Decorator):
        decorators = [node]
    elif isinstance(node, cst.FunctionDef):
        decorators = list(node.decorators)
    else:
        parent = facts.parent(node)
        while parent is not None and not isinstance(parent, (cst.Decorator, cst.FunctionDef)):
            parent = facts.parent(parent)
        if parent is None:
            return None
        return _unbounded_decorator(facts, parent)
    for decorator in decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            if FUNCTOOLS_LRU_CACHE in facts.external_names(expression.func):
                return decorator
        elif FUNCTOOLS_CACHE in facts.external_names(expression):
            return decorator
    return None
