"""The project-wide fact pass: which modules to summarise, and the join.

Designed so that it runs only where a module can matter (the speed issue): a
module is summarised when its text names a catalog resource (it may define a
factory, a releasing helper, or a class that holds a resource), and then, in a
second text pass, when it names one of the factories, helpers or classes the
first pass found (it may call them, or build such a class per call). Modules
that neither define nor use anything resource-related are never parsed for
facts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from runguard_lint.analysis.project import module_of
from runguard_lint.analysis.project.facts import ProjectFacts, join
from runguard_lint.analysis.project.summary import ModuleSummary, summarise
from runguard_lint.catalog import Catalog
from runguard_lint.wordmatch import words


@dataclass(frozen=True)
class Source:
    """One file of the project: its name, its text, and the hash that keys its summary."""

    filename: str
    text: str
    digest: str


def collect(
    sources: Iterable[Source],
    catalog: Catalog,
    known: Mapping[str, ModuleSummary] | None = None,
) -> tuple[ProjectFacts, dict[str, ModuleSummary]]:
    """The project's facts, and every summary computed (by digest, for the cache)."""
    pending = list(sources)
    known = dict(known or {})
    summaries: dict[str, ModuleSummary] = {}
    constructors = words(
        {k.callable.rsplit(".", 1)[-1] for k in catalog.resources if k.callable}
        | {name.rsplit(".", 1)[-1] for name in catalog.permit_types}
    )
    first = [s for s in pending if constructors.search(s.text)]
    _summarise_all(first, catalog, known, summaries)
    names = _interesting_names(summaries.values())
    if names:
        # The prefilter's trie of names: one branch per character, not per name.
        pattern = words(names)
        done = {s.digest for s in first}
        second = [s for s in pending if s.digest not in done and pattern.search(s.text)]
        _summarise_all(second, catalog, known, summaries)
    return join(summaries.values(), catalog), summaries


def _summarise_all(
    sources: list[Source],
    catalog: Catalog,
    known: Mapping[str, ModuleSummary],
    summaries: dict[str, ModuleSummary],
) -> None:
    for source in sources:
        module, package = module_of(source.filename)
        cached = known.get(source.digest)
        if cached is not None and cached.module == module:
            summaries[source.digest] = cached
            continue
        try:
            tree = ast.parse(source.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the check pass reports it (RG900); it tells the project nothing
        summaries[source.digest] = summarise(
            tree, module, package, catalog.release_methods, catalog.permit_types
        )


def _interesting_names(summaries: Iterable[ModuleSummary]) -> set[str]:
    """Last names of what other modules may call or build: factories, helpers, classes."""
    names: set[str] = set()
    for summary in summaries:
        names.update(f.rsplit(".", 1)[-1] for f in summary.returns_fresh)
        names.update(f.rsplit(".", 1)[-1] for f in summary.releases)
        names.update(c.rsplit(".", 1)[-1] for c in summary.classes)
        names.update(summary.permit_takers)
    return {name for name in names if name.isidentifier()}
