"""What RG401 and RG403 share: `self.x = <resource>` that nothing in the class releases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from runguard_lint.analysis.class_releases import (
    closed_by_base,
    parent_attribute,
    released_attributes,
)
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, StoredAttribute


@dataclass(frozen=True)
class UnreleasedAttribute:
    """An instance attribute holding a resource that the class never releases."""

    acquisition: Acquisition
    stored: StoredAttribute


def unreleased_attributes(context: FileContext) -> Iterator[UnreleasedAttribute]:
    """Every `self.x = <resource>` whose class (or module) never releases `self.x`."""
    ownership = context.ownership
    released: dict[int, set[str]] = {}
    for acquisition in ownership.acquisitions():
        stored = ownership.fate(acquisition).stored
        if (
            stored is None
            or not acquisition.kind.has_release
            or not context.catalog.leak_traits(acquisition.kind.rule).owned_by_instance
        ):
            continue
        class_def = stored.class_def
        if id(class_def) not in released:
            released[id(class_def)] = released_attributes(context, class_def)
        owner = parent_attribute(acquisition)
        inherited = context.project.released_by_class.get(class_qualname(context, class_def), ())
        if (
            stored.attribute not in inherited
            and stored.attribute not in released[id(class_def)]
            and (owner is None or owner not in released[id(class_def)])
            and not closed_by_base(class_def, stored.attribute)
        ):
            yield UnreleasedAttribute(acquisition, stored)


def owner_message(found: UnreleasedAttribute) -> str:
    """What the class holds and the method it lacks."""
    kind = found.acquisition.kind
    attribute = found.stored.attribute
    closer = (kind.release or kind.owner_release or ("close",))[0]
    awaited = kind.release_awaited
    exit_hook = "__aexit__" if kind.release_awaited else "__exit__"
    built = found.acquisition.call_text
    return (
        f"`self.{attribute} = {built}`: class `{found.stored.class_def.name.value}` "
        f"never releases `self.{attribute}`; add {'an async' if awaited else 'a'} `close()` "
        f"(or `{exit_hook}`) "
        f"that calls `self.{attribute}.{closer}()`"
    )


def class_qualname(context: FileContext, class_def: cst.ClassDef) -> str:
    """`pkg.mod.Outer.Inner`, as the project facts name classes."""
    names = [class_def.name.value]
    for ancestor in context.facts.ancestors(class_def):
        if isinstance(ancestor, cst.ClassDef):
            names.append(ancestor.name.value)
        elif isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            return ""
    return ".".join([context.module, *reversed(names)])
