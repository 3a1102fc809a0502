"""What the project-wide fact pass asks of a module: whether to summarise it, and its
summary (the rounds themselves run in `pipeline.project`).

Designed so that it runs only where a module can matter (the speed issue): a
module is summarised when its text names a catalog resource (it may define a
factory, a releasing helper, or a class that holds a resource); then, pass after
pass, when it names one of the factories, helpers or classes the modules summarised
before it define (it may call them, wrap them, or build such a class per call), or
when a summarised module depends on it (`dependency_names`: where their bases and
loggers are defined, and the project functions they call; a release helper may name
no resource at all). `pipeline.project` runs the passes until nothing more is found.
No other module is parsed for facts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from runguard_lint.analysis.project import module_of
from runguard_lint.analysis.project.facts import ProjectFacts, keyed_functions
from runguard_lint.analysis.project.facts import aliases_of as _qualified_aliases
from runguard_lint.analysis.project.summary import Lifetime, ModuleSummary, summarise
from runguard_lint.catalog import Catalog
from runguard_lint.grammar import stdlib_tree


def dependency_names(summaries: Iterable[ModuleSummary]) -> set[str]:
    """What the summarised modules depend on: where their classes' bases and the
    loggers they log with are defined, and the functions they call (a helper that
    closes what it is handed, `close_quietly(client)`, in a module that names no
    resource: without its summary the client would look never closed); for a module
    that defines a cache, what it imports (its keys may be an enumeration defined
    there: `dict[FileType, Partitioner]`)."""
    names: set[str] = set()
    for summary in summaries:
        if summary.defines_cache:
            names.update(summary.aliases.values())
        names.update(summary.log_sources)
        names.update(base for bases in summary.bases.values() for base in bases)
        names.update(site.callee for site in summary.constructions)
    return names


def modules_under(names: Iterable[str], tops: frozenset[str]) -> frozenset[str]:
    """Every dotted prefix of the names under one of `tops` (`app.base.Tool` may be
    `Tool` of `app.base` or a re-export in `app`)."""
    found: set[str] = set()
    for name in names:
        head, dot, _ = name.partition(".")
        if not dot or head not in tops:
            continue
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(found)


def summary_of(
    tree: ast.Module, text: str, module: str, package: str, catalog: Catalog
) -> ModuleSummary:
    """`summary.summarise` for a module of the fact pass, given its text."""
    names_resources = catalog.constructor_pattern.search(text)
    return summarise(
        tree,
        module,
        package,
        catalog.release_methods,
        catalog.permit_types,
        names_resources=names_resources is not None,
        transports=catalog.transports,
        class_transport_owners=catalog.class_transport_owners,
        process_starters=catalog.ownership.process_starters,
    )


def summary_key(digest: str, module: str) -> str:
    """How the summaries cache keys a module: by content and by name (two files with the
    same bytes, such as empty `__init__.py` files, are different modules)."""
    return f"{digest}:{module}"


def wants_summary(text: str, catalog: Catalog) -> bool:
    """Whether the fact pass's first pass summarises a module: its text names a catalog
    constructor or binds a module-level name to an empty dict (the later passes ask
    for the names the summaries give, `interesting_names`)."""
    return bool(catalog.constructor_pattern.search(text)) or binds_module_dict(text)


# What binds a name to an empty dict: `= {}`, `= dict(`, `= defaultdict(`,
# `= collections.OrderedDict(` (what summary._module_dicts finds in the tree), searched
# without anchors, then kept only on a line that starts at column 0 with a name.
_DICT_VALUE = re.compile(r"=\s*(?:\{\s*\}|(?:\w+\.)*(?:dict|defaultdict|OrderedDict)\s*\()")


def binds_module_dict(text: str) -> bool:
    """Whether a line at column 0 binds a name to an empty dict (`CACHE = {}`,
    `_REG: dict[str, X] = defaultdict(dict)`, `a = b = OrderedDict()`)."""
    for match in _DICT_VALUE.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        first = text[start : start + 1]
        if first.isidentifier():
            return True
    return False


_WORD = re.compile(r"\w+")


def words_of(text: str) -> set[str]:
    """Every word of a text (maximal runs of word characters). A name is in it exactly
    when `wordmatch.words` would match the name: the second pass's thousands of names
    (every class of the first pass's modules) make a set faster than one regex."""
    return set(_WORD.findall(text))


def interesting_names(summaries: Iterable[ModuleSummary], *, later: bool = False) -> frozenset[str]:
    """What a module must name to be summarised in the next pass, given the summaries
    of the last (`later`: a pass after the first, see `name_origins`)."""
    return frozenset(_interesting_names(summaries, later=later))


def summary_of_text(filename: str, text: str, catalog: Catalog) -> ModuleSummary | None:
    """A module's summary from its text; None when it does not parse (the check pass
    reports that, RG900) or is too deep to summarise: it tells the project nothing."""
    module, package = module_of(filename)
    try:
        tree = stdlib_tree(text).tree
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return summary_of(tree, text, module, package, catalog)
    except RecursionError:
        return None


def _interesting_names(summaries: Iterable[ModuleSummary], *, later: bool = False) -> set[str]:
    """Last names of what other modules may call or build: factories, helpers, classes,
    and functions whose parameter reaches a key of a module-level dict (whether every
    call passes a constant needs every module that names them)."""
    return {name for names in name_origins(summaries, later=later).values() for name in names}


def name_origins(summaries: Iterable[ModuleSummary], *, later: bool = False) -> dict[str, set[str]]:
    """The next pass's names (`interesting_names`), by the fact of the summaries each
    comes from; `benchmarks/fact_pass.py` reports which of them make the second pass as
    large as it is.

    A first-pass module counts only when its text names a catalog resource (a module
    there for its dict alone gives only its keyed functions). A module of a later pass
    (`later`) counts whatever it names: it is there because it names what an earlier
    pass found, so its functions may wrap a factory (`get_client()` returning
    `make_client()`), build a class that holds one, or run the code that does, and
    whether that code runs once needs the modules that call it (`main()` called only
    under a `__main__` guard elsewhere)."""
    modules = {summary.module: summary for summary in summaries}
    resolver = ProjectFacts(aliases=_qualified_aliases(modules), modules=frozenset(modules))
    origins: dict[str, set[str]] = {origin: set() for origin in NAME_ORIGINS}
    origins["keyed"].update(f.rsplit(".", 1)[-1] for f in keyed_functions(modules, resolver))
    for summary in modules.values():
        if not (later or summary.names_resources):
            continue
        origins["fresh"].update(f.rsplit(".", 1)[-1] for f in summary.returns_fresh)
        origins["releases"].update(f.rsplit(".", 1)[-1] for f in summary.releases)
        origins["classes"].update(c.rsplit(".", 1)[-1] for c in summary.classes)
        origins["permits"].update(summary.permit_takers)
        # The functions that build something here: whether they run once (startup
        # code) needs every module that calls them.
        origins["builders"].update(
            site.through.rsplit(".", 1)[-1]
            for site in summary.constructions
            if site.through and site.lifetime is not Lifetime.HELD
        )
    return {
        origin: {name for name in names if name.isidentifier()} for origin, names in origins.items()
    }


# Where the second pass's names come from: functions whose parameter reaches a key of a
# module-level dict, functions that may return a fresh resource, helpers that release a
# parameter, classes, permit takers, and functions that build something per call.
NAME_ORIGINS = ("keyed", "fresh", "releases", "classes", "permits", "builders")
