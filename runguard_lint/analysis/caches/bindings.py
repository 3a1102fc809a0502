"""Module- and class-level dicts, and every use of each.

A cache is a name bound to an empty dict (or a dict factory, or a
defaultdict) at module level or in a class body, looking into if/try/with
blocks at that level. Its uses come from LibCST's scope analysis (in any
function, also through `global`); for a class-level dict also every
`<receiver>.<name>` in the module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata.scope_provider import Assignment

from runguard_lint.analysis.caches.annotations import CLASSVAR, annotation_names
from runguard_lint.analysis.caches.classes import Classes
from runguard_lint.analysis.caches.syntax import block, flatten
from runguard_lint.analysis.dict_uses import DictUse, UseShape, classify
from runguard_lint.analysis.dict_vocabulary import DEFAULTDICT_FACTORIES, DICT_FACTORIES, UseKind
from runguard_lint.analysis.names import ModuleFacts, dotted_name


@dataclass(frozen=True)
class CacheBinding:
    """`_cache = {}` (or a dict factory) at module level or in a class body."""

    name: str
    target: cst.Name
    annotation: cst.Annotation | None
    class_def: cst.ClassDef | None
    is_defaultdict: bool


def cache_bindings(facts: ModuleFacts) -> list[list[CacheBinding]]:
    """The bindings of each cache, in source order: every binding of one name at the
    module level (or in one class body) is one cache."""
    groups: dict[tuple[int, str], list[CacheBinding]] = {}
    for binding in _bindings_in(facts, facts.module.body, None):
        owner = id(binding.class_def) if binding.class_def is not None else 0
        groups.setdefault((owner, binding.name), []).append(binding)
    return list(groups.values())


def _bindings_in(
    facts: ModuleFacts, body: Sequence[cst.CSTNode], class_def: cst.ClassDef | None
) -> Iterator[CacheBinding]:
    for statement in flatten(body):
        if isinstance(statement, cst.ClassDef):
            yield from _bindings_in(facts, block(statement.body), statement)
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                factory = dict_kind(facts, small.value)
                if factory is None:
                    continue
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        yield CacheBinding(
                            target.target.value,
                            target.target,
                            None,
                            class_def,
                            factory == "defaultdict",
                        )
            elif (
                isinstance(small, cst.AnnAssign)
                and small.value is not None
                and isinstance(small.target, cst.Name)
            ):
                factory = dict_kind(facts, small.value)
                if factory is None:
                    continue
                if class_def is not None and not _class_attribute(facts, small, class_def):
                    continue
                yield CacheBinding(
                    small.target.value,
                    small.target,
                    small.annotation,
                    class_def,
                    factory == "defaultdict",
                )


def dict_kind(facts: ModuleFacts, value: cst.BaseExpression) -> str | None:
    """`dict` for an empty dict, `defaultdict` for a defaultdict, else None."""
    if isinstance(value, cst.Dict):
        return "dict" if not value.elements else None
    if not isinstance(value, cst.Call):
        return None
    names = facts.external_names(value.func)
    if names & DEFAULTDICT_FACTORIES:
        return "defaultdict"
    if names & DICT_FACTORIES and not value.args:
        return "dict"
    return None


def _class_attribute(facts: ModuleFacts, statement: cst.AnnAssign, class_def: cst.ClassDef) -> bool:
    """An annotated class attribute is shared only in a plain class or as a ClassVar.

    In a dataclass, pydantic model or similar, `x: dict = {}` is a per-instance
    default, not a class-level dict.
    """
    annotation = statement.annotation.annotation
    head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
    if annotation_names(facts, head) & CLASSVAR:
        return True
    plain_bases = all(dotted_name(base.value) == "object" for base in class_def.bases)
    return not class_def.decorators and not class_def.keywords and plain_bases


def cache_uses(
    facts: ModuleFacts, classes: Classes, bindings: Sequence[CacheBinding]
) -> list[DictUse]:
    """Every use of a cache (all its bindings share one name and place)."""
    binding = bindings[0]
    uses = _scope_uses(facts, bindings)
    if binding.class_def is None:
        return uses
    # Writes count only through a receiver known to be the class (`self`, `cls`, the
    # class's name, in it or a subclass here); evictions and escapes count through any
    # receiver, which errs toward silence.
    family = classes.family(binding.class_def)
    for attribute in classes.attributes_named(binding.name):
        use = classify(facts, attribute)
        if use.kind(binding.is_defaultdict) is UseKind.WRITE and not classes.own_receiver(
            attribute.value, family
        ):
            continue
        uses.append(use)
    return uses


def _scope_uses(facts: ModuleFacts, bindings: Sequence[CacheBinding]) -> list[DictUse]:
    """Every use of the binding by scope analysis (for module level, `global` included)."""
    binding = bindings[0]
    scope = facts.scope(binding.target)
    if scope is None:
        return [DictUse(UseShape.UNRESOLVED, binding.target)]
    candidates = {id(candidate.target) for candidate in bindings}
    uses: list[DictUse] = []
    seen: set[int] = set()
    for assignment in scope.assignments[binding.name]:
        if not isinstance(assignment, Assignment):
            continue
        for access in assignment.references:
            if id(access.node) in seen:
                continue
            seen.add(id(access.node))
            if access.is_annotation or access.is_type_hint or not isinstance(access.node, cst.Name):
                continue
            uses.append(classify(facts, access.node))
        node = assignment.node
        if id(node) in candidates:
            continue
        parent = facts.parent(node)
        if (
            isinstance(node, cst.Name)
            and isinstance(parent, cst.AugAssign)
            and parent.target is node
        ):
            uses.append(classify(facts, node))
        else:
            # Rebinding at run time (through `global`) drops every entry; another
            # binding at import time leaves the name's type in doubt: silence either way.
            uses.append(DictUse(UseShape.REBOUND, node))
    return uses
