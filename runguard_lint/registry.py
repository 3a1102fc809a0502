"""Every rule, paired from its TOML (rules/RGxxx.toml) and its module (rules/rgxxx.py).

Every set of codes the engine, the prefilter and the config need is derived
here from those two, so a new rule cannot be half-registered: a code without
its module (or a module without its TOML) fails loudly, in the registry test
and at the first file that reaches the rules. What each rule needs the prefilter
to keep is read from its TOML alone, so that a process whose files the prefilter
settles loads no rule module (and no LibCST).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import lru_cache

from runguard_lint.catalog import CatalogError, build_catalog, shipped_rules
from runguard_lint.needs import Need
from runguard_lint.rules.base import Rule


def module_name(code: str) -> str:
    """The module that holds rule `code`: `runguard_lint.rules.rg101` for RG101."""
    return f"runguard_lint.rules.{code.lower()}"


@lru_cache(maxsize=1)
def _rules() -> Mapping[str, Rule]:
    catalog = build_catalog()
    found: dict[str, Rule] = {}
    for code in sorted(catalog.rules):
        try:
            module = importlib.import_module(module_name(code))
        except ModuleNotFoundError as error:
            if error.name != module_name(code):
                raise
            raise CatalogError(
                f"rule {code} has a TOML but no module `{module_name(code)}`; reinstall "
                "runguard-lint"
            ) from None
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule) or rule.code != code:
            raise CatalogError(f"`{module_name(code)}.RULE` must be the Rule for {code}")
        found[code] = rule
    return found


def rules() -> Mapping[str, Rule]:
    """Every rule by code, in code order."""
    return _rules()


def enabled_rules(enabled: Iterable[str]) -> tuple[Rule, ...]:
    """The rules to run for a set of enabled codes, in code order."""
    chosen = set(enabled)
    return tuple(rule for code, rule in _rules().items() if code in chosen)


def needs(enabled: Iterable[str]) -> frozenset[Need]:
    """What the prefilter must keep for these codes: their TOMLs' `needs`, read without
    loading the rules (which load LibCST), so that a process whose files the prefilter
    settles never loads them."""
    return _needs(frozenset(enabled))


@lru_cache(maxsize=8)
def _needs(enabled: frozenset[str]) -> frozenset[Need]:
    specs = shipped_rules()
    return frozenset(need for code in enabled if code in specs for need in specs[code].needs)
