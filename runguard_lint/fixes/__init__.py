"""Fixes: one module per shape; each rule module picks the shape for its finding.

Shapes: `with_block` (and `contextlib.closing`), `scope`, `finally_block`,
`singleton`, `bounded_cache`; `edits` turns a rewritten module into minimal
line edits; `tree`, `imports` and `release` are what the shapes share. A shape
that does not apply gives None and the rule tries the next; a rewrite that
would not compile is never offered.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.imports import NameUnavailable

_DEBUG = "RUNGUARD_LINT_DEBUG_FIXES"


def guarded(compute: Callable[..., Fix | None], *arguments: object) -> Fix | None:
    """`compute(*arguments)`, or None when the fix cannot be built: a fix that fails
    is not offered, and the finding itself must never be lost over it."""
    try:
        return compute(*arguments)
    except NameUnavailable:
        return None
    except Exception:
        if os.environ.get(_DEBUG):
            raise
        return None


_RANK = {Applicability.SAFE: 0, Applicability.UNSAFE: 1, Applicability.DISPLAY_ONLY: 2}


def pick(*candidates: Fix | None) -> tuple[Fix | None, Fix | None]:
    """(preferred, alternative) from candidates in the rule's order of preference.

    The preferred fix is the first one; the alternative is the first later one of a
    safer tier, so that plain `--fix` still applies a safe fix when the fix that
    really ends the cost (a shared instance) is unsafe or display-only.
    """
    present = [fix for fix in candidates if fix is not None]
    if not present:
        return None, None
    preferred = present[0]
    for fix in present[1:]:
        if _RANK[fix.applicability] < _RANK[preferred.applicability]:
            return preferred, fix
    return preferred, None
