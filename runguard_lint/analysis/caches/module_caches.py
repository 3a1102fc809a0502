"""Module- and class-level dicts that grow with traffic, for the unbounded-cache rule.

A dict is reported only when a function that runs at request time writes
keys derived from its parameters, and no use anywhere in the module evicts
or lets it escape: a false positive costs more than a miss, so every doubt
means silence. The components answer in this order, per cache: its uses
(bindings.py, classified by analysis/dict_uses.py), which writers run at
request time (writers.py), which written keys are call data (keys.py), and
what the entries hold (entries.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from runguard_lint.analysis.caches.annotations import cache_key_type
from runguard_lint.analysis.caches.bindings import CacheBinding, cache_bindings, cache_uses
from runguard_lint.analysis.caches.classes import Classes
from runguard_lint.analysis.caches.entries import EntryKind, entry_kind, holds_resources
from runguard_lint.analysis.caches.keys import Keys
from runguard_lint.analysis.caches.type_params import TypeParams
from runguard_lint.analysis.caches.writers import Writers
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.dict_vocabulary import UseKind
from runguard_lint.analysis.names import FunctionNode


@dataclass(frozen=True)
class CacheWriter:
    """A request-time function that writes into the cache, with keys from its call data."""

    function: FunctionNode
    # The keys it writes that come from call data.
    keys: tuple[cst.BaseExpression, ...]


@dataclass(frozen=True)
class UnboundedCache:
    """A cache nothing evicts from, written with keys that grow with traffic."""

    binding: CacheBinding
    # In source order of the functions.
    writers: tuple[CacheWriter, ...]
    # The parameters the first writer's keys come from, in source order.
    key_params: tuple[str, ...]
    entry: EntryKind | None


@dataclass
class _Writes:
    function: FunctionNode
    values: list[cst.BaseExpression] = field(default_factory=list)
    keys: list[cst.BaseExpression] = field(default_factory=list)


def unbounded_caches(context: FileContext) -> Iterator[UnboundedCache]:
    """The module's unbounded caches, in source order of their first binding."""
    facts = context.facts
    classes = Classes(facts)
    constant = context.project.constant_params
    enums = context.project.enums
    module = context.module
    keys = Keys(
        facts,
        context.filename,
        classes,
        TypeParams(facts),
        lambda name: constant.get(f"{module}.{name}", frozenset()),
        lambda annotation: bool(enums) and context.view.callee(annotation) in enums,
    )
    writers = Writers(facts)
    for bindings in cache_bindings(facts):
        finding = _judge(context, classes, keys, writers, bindings)
        if finding is not None:
            yield finding


def _judge(
    context: FileContext,
    classes: Classes,
    keys: Keys,
    writers: Writers,
    bindings: Sequence[CacheBinding],
) -> UnboundedCache | None:
    facts = context.facts
    binding = bindings[0]
    uses = cache_uses(facts, classes, bindings)
    key_type = cache_key_type(facts, binding.annotation)
    writes: dict[int, _Writes] = {}
    for use in uses:
        kind = use.kind(binding.is_defaultdict)
        if kind in (UseKind.EVICT, UseKind.ESCAPE):
            return None
        if kind is not UseKind.WRITE:
            continue
        function = writers.runtime_function(use.node)
        if function is None:
            continue
        data_keys = [
            key
            for key in use.keys
            if keys.key_is_data(key, key_type)
            and not keys.checked_against_table(key, use.node, binding.name)
        ]
        if not data_keys or writers.registers_callable(function, use.values):
            continue
        found = writes.setdefault(id(function), _Writes(function))
        found.values.extend(use.values)
        found.keys.extend(data_keys)
    if not writes or holds_resources(
        facts,
        context.catalog,
        [value for found in writes.values() for value in found.values],
        context.view,
    ):
        return None
    ordered = sorted(writes.values(), key=lambda found: facts.position(found.function).start.line)
    values = [value for found in ordered for value in found.values]
    return UnboundedCache(
        binding,
        tuple(CacheWriter(found.function, tuple(found.keys)) for found in ordered),
        keys.key_params(tuple(ordered[0].keys)),
        entry_kind(facts, binding.name, binding.annotation, values),
    )
