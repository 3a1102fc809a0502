"""What the two unbounded-cache rules share in their messages."""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.names import FunctionNode, ModuleFacts


def function_label(facts: ModuleFacts, function: FunctionNode) -> str:
    """`fetch()` or `Client.fetch()`, how messages name a function."""
    if not isinstance(function, cst.FunctionDef):
        return "a lambda"
    class_def = facts.enclosing_class(function)
    prefix = f"{class_def.name.value}." if class_def is not None else ""
    return f"`{prefix}{function.name.value}()`"


def bounded_cache_remedy(maxsize: int) -> str:
    """The runtime's bounded cache, as both messages recommend it."""
    return f"`BoundedCache(maxsize={maxsize:_})` from runguard-runtime"
