"""Fixes: one module per shape, and the planner that picks at most one fix per finding.

The planner follows SPEC "Fixes": for HTTP/LLM clients, executors and indexes
built from constants, the singleton (unsafe: it is what really bounds sockets
and threads); otherwise the safe scope-style fix: a `with` block when one
resource fits one, a release in `finally` where a `with` exit would block an
event loop or is not a release, else a ResourceScope around the function.
`fix-style = "scope"` always picks the safe one. A shape that does not apply
gives None and the next is tried; a rewrite that would not compile is never
offered.

Shapes: `with_block` (and `contextlib.closing`), `scope`, `finally_block`,
`singleton`, `bounded_cache` (RG201, RG202); `edits` turns a rewritten module
into minimal line edits; `tree` and `imports` are what the shapes share.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import libcst as cst

from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.checks.base import FileContext
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.imports import NameUnavailable
from runguard_lint.fixes.release import CONCURRENT_EXECUTORS, MULTIPROCESSING_POOLS

# Rules whose per-call resource a shared instance replaces (when built from constants).
SINGLETON_RULES = frozenset({"RG101", "RG103", "RG104"})
_LEAK_RULES = frozenset({"RG101", "RG102", "RG103", "RG104", "RG105", "RG106"})
_DEBUG = "RUNGUARD_LINT_DEBUG_FIXES"


def plan_fix(context: FileContext, acquisition: Acquisition, fate: Fate, code: str) -> Fix | None:
    """The one fix for the finding `code` about this acquisition, or None."""
    return _guarded(lambda: _plan(context, acquisition, fate, code))


def plan_cache_fix(context: FileContext, node: cst.CSTNode, code: str) -> Fix | None:
    """The fix for RG201 (node: the cache's binding) or RG202 (node: the decorator or def)."""
    from runguard_lint.fixes.bounded_cache import bounded_cache_fix, lru_cache_fix

    if code == "RG201":
        return _guarded(lambda: bounded_cache_fix(context, node))
    if code == "RG202":
        return _guarded(lambda: lru_cache_fix(context, node))
    return None


def _guarded(compute: Callable[[], Fix | None]) -> Fix | None:
    """A fix that cannot be built is not offered; the finding itself must never be lost."""
    try:
        return compute()
    except NameUnavailable:
        return None
    except Exception:
        if os.environ.get(_DEBUG):
            raise
        return None


def _plan(context: FileContext, acquisition: Acquisition, fate: Fate, code: str) -> Fix | None:
    from runguard_lint.fixes.finally_block import added_release_fix, moved_release_fix
    from runguard_lint.fixes.scope import scope_fix
    from runguard_lint.fixes.singleton import singleton_fix
    from runguard_lint.fixes.with_block import closing_fix, returned_temporary_fix, with_fix

    if code == "RG301":
        return moved_release_fix(context, acquisition, fate)
    if code not in _LEAK_RULES:
        return None
    if fate.outcome is Outcome.WITH_NOT_CLOSING:
        return closing_fix(context, acquisition)
    if fate.outcome not in (Outcome.LEAKED, Outcome.LOOP_LEAK):
        return None
    if code in SINGLETON_RULES and context.settings.fix_style == "auto":
        fix = singleton_fix(context, acquisition, fate)
        if fix is not None:
            return fix
    if code == "RG104":
        return None
    if _released_in_finally(acquisition):
        fix = added_release_fix(context, acquisition, fate)
    elif fate.holder is None:
        fix = returned_temporary_fix(context, acquisition)
    else:
        fix = with_fix(context, acquisition, fate)
    fix = fix if fix is not None else scope_fix(context, acquisition, fate)
    if fix is not None and acquisition.kind.release_waits:
        # The added release waits for the child: a process meant to outlive the call
        # would now block it. Only with --unsafe-fixes.
        fix = replace(fix, applicability=Applicability.UNSAFE)
    return fix


def _released_in_finally(acquisition: Acquisition) -> bool:
    """Resources whose `with` exit blocks an event loop, kills work, or does not exist."""
    kind = acquisition.kind
    if kind.callable in CONCURRENT_EXECUTORS:
        return acquisition.in_async_function
    if kind.callable in MULTIPROCESSING_POOLS:
        return True
    return bool(kind.owner_release) and kind.context_manager == "none"
