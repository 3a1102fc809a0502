"""Ruff's fix-safety settings: `extend-safe-fixes`, `extend-unsafe-fixes`, `unfixable`.

Applied to every finding after its rule made it, before anything reports or
applies it, so every output and `--fix` agree. Display-only fixes stay
display-only whatever the settings say: they wait, cancel or need a helper the
project lacks, which no setting makes right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from runguard_lint.config import Settings
from runguard_lint.diagnostics import Applicability, Diagnostic, Fix


def _matches(code: str, selectors: Sequence[str]) -> bool:
    return any(selector == "ALL" or code.startswith(selector) for selector in selectors)


def with_fix_policy(diagnostic: Diagnostic, settings: Settings) -> Diagnostic:
    """The finding with its fixes re-tiered (or dropped) as the settings ask."""
    if diagnostic.fix is None and diagnostic.alternative is None:
        return diagnostic
    code = diagnostic.code
    if _matches(code, settings.unfixable):
        return replace(diagnostic, fix=None, alternative=None)
    # As in Ruff, a rule named in both lists: the unsafe one wins (the cautious reading).
    if _matches(code, settings.extend_unsafe_fixes):
        target = Applicability.UNSAFE
        source = Applicability.SAFE
    elif _matches(code, settings.extend_safe_fixes):
        target = Applicability.SAFE
        source = Applicability.UNSAFE
    else:
        return diagnostic

    def tiered(fix: Fix | None) -> Fix | None:
        if fix is None or fix.applicability is not source:
            return fix
        return replace(fix, applicability=target)

    return replace(
        diagnostic, fix=tiered(diagnostic.fix), alternative=tiered(diagnostic.alternative)
    )
