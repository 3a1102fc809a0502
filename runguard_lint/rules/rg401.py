"""RG401: `self.x = <resource>` and nothing in the class (or module) releases `self.x`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import libcst as cst

from runguard_lint.analysis.class_releases import (
    closed_by_base,
    parent_attribute,
    released_attributes,
)
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.needs import Need
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG401"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.ACQUISITIONS})

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        released: dict[int, set[str]] = {}
        for acquisition in ownership.acquisitions():
            fate = ownership.fate(acquisition)
            if (
                fate.stored is None
                or not acquisition.kind.has_release
                or not context.catalog.leak_traits(acquisition.kind.rule).owned_by_instance
            ):
                continue
            class_def = fate.stored.class_def
            if id(class_def) not in released:
                released[id(class_def)] = released_attributes(context, class_def)
            owner = parent_attribute(acquisition)
            if (
                fate.stored.attribute not in released[id(class_def)]
                and (owner is None or owner not in released[id(class_def)])
                and not closed_by_base(class_def, fate.stored.attribute)
            ):
                yield context.diagnostic(
                    self.code,
                    fate.stored.statement,
                    _message(acquisition, fate.stored.attribute, class_def),
                )


def _message(acquisition: Acquisition, attribute: str, class_def: cst.ClassDef) -> str:
    kind = acquisition.kind
    closer = (kind.release or kind.owner_release or ("close",))[0]
    awaited = kind.release_awaited
    exit_hook = "__aexit__" if kind.release_awaited else "__exit__"
    return (
        f"`self.{attribute} = {_call_text(acquisition.callee)}`: class `{class_def.name.value}` "
        f"never releases `self.{attribute}`; add {'an async' if awaited else 'a'} `close()` "
        f"(or `{exit_hook}`) "
        f"that calls `self.{attribute}.{closer}()`"
    )


def _call_text(callee: str) -> str:
    """`httpx.Client(...)`, or `self.engine.connect()` for method acquisitions."""
    return callee if callee.endswith(")") else f"{callee}(...)"


RULE = _Rule()
