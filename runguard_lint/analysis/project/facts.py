"""The project's resource facts: module summaries joined through imports.

A call to a factory is an acquisition at its call site, a call to a
releasing helper is a release, and a class that holds a resource matters to
RG401 only when the project builds it per call. Each of those needs names
resolved across modules: `from .clients import make_client`, a package
`__init__` that re-exports `httpx.AsyncClient`, a factory that returns another
factory's result. The join resolves them once per run, to a fixpoint, and the
per-function analysis then reads the answers where it reads the catalog.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TypeVar, Union

from runguard_lint.analysis.project.modules import is_test_module
from runguard_lint.analysis.project.summary import (
    ANY_ATTRIBUTE,
    SUBCLASSES,
    Construction,
    Lifetime,
    ModuleSummary,
)
from runguard_lint.catalog import Catalog, ResourceKind

# How many alias hops and fixpoint rounds a join follows (real chains are short).
_MAX_HOPS = 8

_V = TypeVar("_V")


@dataclass(frozen=True)
class ProjectFacts:
    """What every module of the checked project may ask of the others."""

    # Function (qualified) -> the resource kind of the fresh value it returns (its
    # `may_be_borrowed` set for a getter with a fresh fallback).
    factories: Mapping[str, ResourceKind] = field(default_factory=dict)
    # Such getters that may return a parameter instead -> those parameters: a call
    # that passes each of them (not as None) gets back what it gave.
    fresh_gates: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # Function (qualified) -> positional parameters (after self/cls) it releases.
    releasers: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # Function (qualified) -> positional parameters it takes ownership of.
    takers: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # Function (qualified) -> its positional parameter names (keywords map to them).
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Classes (qualified) that the project builds once per call somewhere -> the
    # function whose runs build it ("" for a loop or a nested function).
    built_per_call: Mapping[str, str] = field(default_factory=dict)
    # Class (qualified) -> attributes of the instance that every function building it
    # releases itself (`finally: scraper.session.close()`): those do not leak.
    closed_by_builders: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Classes (qualified) defined in the checked project.
    classes: frozenset[str] = frozenset()
    # Re-exports: a qualified name -> what it really is (`pkg.Client` -> `httpx.Client`).
    aliases: Mapping[str, str] = field(default_factory=dict)
    # The last names under which project modules re-export a catalog constructor
    # (`from httpx import AsyncClient as HttpSession`): a call by that name may acquire.
    resource_aliases: frozenset[str] = frozenset()
    # Factories that are properties: reading `obj.<name>` builds a fresh resource.
    properties: frozenset[str] = frozenset()
    # Functions that only take a permit of a semaphore for their caller, and those
    # that give one back: function (qualified) -> the semaphore (qualified). The takers
    # are factories too, of a permit kind: calling one takes a permit.
    permit_takers: Mapping[str, str] = field(default_factory=dict)
    permit_givers: Mapping[str, str] = field(default_factory=dict)
    # Module-level functions whose parameter reaches a key of a module-level dict
    # (qualified) -> the parameters that every call in the project passes a constant
    # (a literal, a module-level name, a configuration attribute, or such a parameter
    # of another such function passed on): those keys are bounded by the code.
    constant_params: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # Names (qualified) bound to a logger, and functions that return one (`logger =
    # define_log_level()` in a project's `logs` module, `get_logger(name)`): a call of
    # their logging methods cannot skip a release (the exception model).
    loggers: frozenset[str] = frozenset()
    logger_factories: frozenset[str] = frozenset()
    # Class (qualified) -> the attributes it or a project base class releases, for the
    # classes with a base in the project (RG401 reads its own module itself).
    released_by_class: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Class (qualified, built per call) -> attributes that its `__init__` sets to a
    # resource only when a parameter is None, where every per-call construction of the
    # class passes one (`self.engine = engine or create_engine(url)`, always given an
    # engine): no instance built per call holds one of its own.
    idle_defaults: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The project's modules (qualified): a name under one of them is that module's, not
    # a re-export named like it (`from .migrate import migrate` in `pkg/__init__.py`
    # binds `pkg.migrate` to the function; `pkg.migrate.helper` is still the module's).
    modules: frozenset[str] = frozenset()
    # Project classes (qualified) that derive from `enum.Enum` (or IntEnum, StrEnum,
    # Flag, IntFlag), through project bases: a value of one is one of its members, so
    # a cache keyed by it is bounded by the code (RG201).
    enums: frozenset[str] = frozenset()
    # Project classes (qualified) whose instances hold a resource: one derived from a
    # catalog class (`class RetrySession(requests.Session)`), or whose methods keep on
    # the instance what a catalog constructor, a project factory or another such class
    # builds; and their project subclasses. A dict of them keyed by their settings is
    # a keyed singleton, not a cache (RG201).
    resource_holders: frozenset[str] = frozenset()

    @cached_property
    def digest(self) -> str:
        """A stable hash of the facts, for the cache key of the files that read them
        (computed once: every file's cache key asks it). The hash of one JSON object
        of every table, sorted, written and hashed a table at a time: the whole of it
        at once took 80 MB on the pinned corpus. Inherited entries are hashed as what
        makes them, the own entries and the class orders."""
        digest = hashlib.sha256()
        for index, (name, table) in enumerate(self._sorted_tables()):
            digest.update(f"{', ' if index else '{'}{json.dumps(name)}: ".encode())
            digest.update(json.dumps(table()).encode())
        digest.update(b"}")
        return digest.hexdigest()[:16]

    def _sorted_tables(self) -> Iterator[tuple[str, Callable[[], Sequence[object]]]]:
        """Each table's name and its sorted entries, made only when asked."""
        yield (
            "factories",
            lambda: sorted(
                (name, kind.rule, kind.callable, kind.may_be_borrowed, kind.mixed_release)
                for name, kind in self.factories.items()
            ),
        )
        yield "fresh_gates", lambda: _sorted_sets(self.fresh_gates)
        yield "releasers", lambda: _sorted_sets(self.releasers)
        yield "takers", lambda: _sorted_sets(_own(self.takers))
        yield "params", lambda: sorted(_own(self.params).items())
        yield "per_call", lambda: sorted(self.built_per_call.items())
        yield "closed_by_builders", lambda: _sorted_sets(self.closed_by_builders)
        yield "classes", lambda: sorted(self.classes)
        yield "aliases", lambda: sorted(self.aliases.items())
        yield "properties", lambda: sorted(self.properties)
        yield "permit_takers", lambda: sorted(self.permit_takers.items())
        yield "permit_givers", lambda: sorted(self.permit_givers.items())
        yield "constant_params", lambda: _sorted_sets(self.constant_params)
        yield "loggers", lambda: sorted(self.loggers)
        yield "logger_factories", lambda: sorted(self.logger_factories)
        yield "released_by_class", lambda: _sorted_sets(self.released_by_class)
        yield "idle_defaults", lambda: _sorted_sets(self.idle_defaults)
        yield "enums", lambda: sorted(self.enums)
        yield "resource_holders", lambda: sorted(self.resource_holders)
        yield "modules", lambda: sorted(self.modules)
        # What the inherited entries of `params` and `takers` are made from, with their
        # own entries above.
        yield "inheritance", lambda: sorted(_orders(self.params).items())

    @cached_property
    def names(self) -> frozenset[str]:
        """The last names by which a call may reach a project factory or a re-exported
        constructor: a file whose text holds none of them (nor a catalog name) cannot
        acquire anything (`prefilter.may_report`)."""
        return frozenset(name.rsplit(".", 1)[-1] for name in self.factories) | (
            self.resource_aliases
        )

    def canonical(self, name: str) -> str:
        """What a qualified name really refers to, through re-exports (each name worked
        out once: the join asks of every construction site)."""
        known = self._canonical_names
        found = known.get(name)
        if found is None:
            found = known[name] = _canonical(self.aliases, name, self.modules)
        return found

    @cached_property
    def _canonical_names(self) -> dict[str, str]:
        return {}


def _canonical(aliases: Mapping[str, str], name: str, modules: Collection[str] = ()) -> str:
    for _ in range(_MAX_HOPS):
        target = aliases.get(name)
        if target is None:
            # `pkg.mod.X.method`: resolve the head, keep the tail; but a name under a
            # module of the project is that module's, whatever its package re-exports
            # under the module's name.
            head, _, tail = name.rpartition(".")
            if head and head in aliases and head not in modules:
                target = f"{aliases[head]}.{tail}"
        if target is None or target == name:
            return name
        name = target
    return name


EMPTY = ProjectFacts()


def join(summaries: Iterable[ModuleSummary], catalog: Catalog) -> ProjectFacts:
    """Combine module summaries into the project's facts."""
    modules = {summary.module: summary for summary in summaries}
    aliases = _aliases(modules)
    # Only its canonical() is asked here.
    resolver = ProjectFacts(aliases=aliases, modules=frozenset(modules))
    gates = _qualified(modules, lambda summary: summary.maybe_fresh)
    factories = _factories(modules, resolver, catalog, gates)
    params: Mapping[str, tuple[str, ...]] = _qualified(modules, lambda summary: summary.params)
    releasers = _through_hands(modules, resolver, params, lambda summary: summary.releases)
    # Taking over composes like releasing: `wrap(c)` returning `_compat(c)`, which
    # builds `Wrapper(client=c)`, takes its parameter.
    takers: Mapping[str, frozenset[int]] = _through_hands(
        modules, resolver, params, lambda summary: summary.takes
    )
    classes = frozenset(cls for summary in modules.values() for cls in summary.classes)
    # `self.get_client()` in a subclass calls the base class's method: the facts of a
    # method hold under every class that inherits it without overriding it.
    inherit = _Inheritance(modules, resolver, classes, frozenset(params))
    factories = inherit(factories)
    gates = inherit(gates)
    releasers = inherit(releasers)
    # The two tables with an entry for nearly every function are answered through the
    # class order on lookup: copied to every subclass (208,000 sympy methods on the
    # pinned corpus) they were most of the facts, in every process of a run.
    params = _shared(params)
    takers = inherit.lazily(_shared(takers), params)
    params = inherit.lazily(params, params)
    sites = _construction_sites(modules, resolver, inherit)
    once = _runs_once(modules, resolver, sites, catalog.ownership.serves)
    built_per_call, passes = _built_per_call(sites, classes, once, params)
    permit_takers = _qualified(modules, lambda summary: summary.permit_takers)
    permit_givers = _qualified(modules, lambda summary: summary.permit_givers)
    given_back = set(permit_givers.values())
    # The family that reports permits is the catalog's, whichever rule that is.
    permit_rule = next((k.rule for k in catalog.resources if k.takes_permit), None)
    for taker, semaphore in permit_takers.items():
        if permit_rule and semaphore in given_back and taker not in factories:
            factories[taker] = ResourceKind(rule=permit_rule, callable=taker, result="permit")
    resource_aliases = frozenset(
        name.rsplit(".", 1)[-1]
        for name in aliases
        if resolver.canonical(name) in catalog.by_callable
    )
    loggers, logger_factories = _loggers(modules, resolver)
    return ProjectFacts(
        released_by_class=_released_by_class(modules, inherit),
        enums=_enums(inherit),
        resource_holders=_resource_holders(sites, catalog, factories, inherit),
        modules=resolver.modules,
        loggers=loggers,
        logger_factories=logger_factories,
        constant_params=_constant_params(modules, resolver, params),
        factories=factories,
        fresh_gates={
            name: frozenset(params)
            for name, params in gates.items()
            if params and name in factories
        },
        releasers=_shared(releasers),
        takers=takers,
        params=params,
        built_per_call=built_per_call,
        closed_by_builders=_closed_by_builders(sites, frozenset(built_per_call), once),
        idle_defaults=_idle_defaults(sites, frozenset(built_per_call), passes, inherit),
        classes=classes,
        aliases=aliases,
        resource_aliases=resource_aliases,
        permit_takers=permit_takers,
        permit_givers=permit_givers,
        properties=frozenset(
            name
            for name in inherit(
                {
                    f"{summary.module}.{qualname}": True
                    for summary in modules.values()
                    for qualname in summary.properties
                }
            )
            if name in factories
        ),
    )


_H = TypeVar("_H", bound=Hashable)
_K = TypeVar("_K", int, str)


def _own(table: Mapping[str, _V]) -> Mapping[str, _V]:
    """A table's own entries (without what classes inherit, see `Inherited`)."""
    return table.own if isinstance(table, Inherited) else table


def _orders(table: Mapping[str, object]) -> Mapping[str, tuple[str, ...]]:
    """The class orders by which a table's entries are inherited (none: copied)."""
    return table.orders if isinstance(table, Inherited) else {}


def _sorted_sets(table: Mapping[str, frozenset[_K]]) -> Sequence[object]:
    """A table of sets as sorted pairs of a name and its sorted members."""
    return sorted((name, sorted(members)) for name, members in table.items())


def _shared(table: Mapping[str, _H]) -> dict[str, _H]:
    """The table with equal values made one object: a hundred thousand functions have a
    tenth as many distinct parameter lists, and the facts are held (and pickled) by
    every process of a run."""
    values: dict[_H, _H] = {}
    return {name: values.setdefault(value, value) for name, value in table.items()}


def aliases_of(modules: Mapping[str, ModuleSummary]) -> dict[str, str]:
    """The project's re-exports, for a resolver of a partial set of modules."""
    return _aliases(modules)


def _aliases(modules: Mapping[str, ModuleSummary]) -> dict[str, str]:
    """`pkg.mod.X` -> what module `pkg.mod` imported as `X` (only for project modules)."""
    aliases = _qualified(modules, lambda summary: summary.aliases)
    return {name: sys.intern(target) for name, target in aliases.items()}


def _qualified(
    modules: Mapping[str, ModuleSummary], table: Callable[[ModuleSummary], Mapping[str, _V]]
) -> dict[str, _V]:
    """One table of every module's summary, keyed by qualified name (`pkg.mod.f`).

    The names are interned: the same function is a key of several tables, and the
    facts, pickled for the store and the workers, then hold each name once."""
    return {
        sys.intern(f"{summary.module}.{name}"): value
        for summary in modules.values()
        for name, value in table(summary).items()
    }


def _factories(
    modules: Mapping[str, ModuleSummary],
    resolver: ProjectFacts,
    catalog: Catalog,
    gates: Mapping[str, tuple[int, ...]],
) -> dict[str, ResourceKind]:
    """Functions whose every returned value is a fresh resource of one family, and
    getters whose every other returned value is one they hold or were given (`gates`,
    see ModuleSummary.maybe_fresh). A function that returns what a getter gated by its
    parameters returns is not followed: whether the getter builds depends on arguments
    the summary does not keep."""
    candidates = _qualified(modules, lambda summary: summary.returns_fresh)
    found: dict[str, ResourceKind] = {}
    for _ in range(_MAX_HOPS):
        changed = False
        for function, callees in candidates.items():
            if function in found:
                continue
            kinds: list[ResourceKind] = []
            for callee in callees:
                target = resolver.canonical(callee)
                kind = catalog.by_callable.get(target) or found.get(target)
                if kind is None or gates.get(target):
                    break
                kinds.append(kind)
            else:
                if kinds and len({kind.rule for kind in kinds}) == 1:
                    borrowed = function in gates or any(k.may_be_borrowed for k in kinds)
                    mixed = any(k.mixed_release for k in kinds) or (
                        len({(k.context_manager, k.release, k.release_awaited) for k in kinds}) > 1
                    )
                    found[function] = replace(
                        kinds[0],
                        callable=function,
                        may_be_borrowed=borrowed,
                        mixed_release=mixed,
                    )
                    changed = True
        if not changed:
            break
    return found


def _through_hands(
    modules: Mapping[str, ModuleSummary],
    resolver: ProjectFacts,
    names: Mapping[str, tuple[str, ...]],
    own: Callable[[ModuleSummary], Mapping[str, tuple[int, ...]]],
) -> dict[str, frozenset[int]]:
    """A per-parameter fact (`own`: what each function does itself: releasing, taking
    over), composed over the calls that hand a parameter on to another function's
    parameter, by position or by keyword (`names`: each function's parameter names)."""
    found = {name: set(params) for name, params in _qualified(modules, own).items()}
    handed = _qualified(modules, lambda summary: summary.hands_on)
    for _ in range(_MAX_HOPS):
        changed = False
        for function, hands in handed.items():
            for callee, argument, parameter in hands:
                target = resolver.canonical(callee)
                released = found.get(target)
                if isinstance(argument, str):
                    # `f(client=c)`: the callee's parameter of that name.
                    known = names.get(target, ())
                    argument = known.index(argument) if argument in known else -1
                if released and argument in released:
                    params = found.setdefault(function, set())
                    if parameter not in params:
                        params.add(parameter)
                        changed = True
        if not changed:
            break
    return {name: frozenset(params) for name, params in found.items() if params}


def _construction_sites(
    modules: Mapping[str, ModuleSummary], resolver: ProjectFacts, inherit: _Inheritance
) -> list[tuple[str, Construction]]:
    """Every construction site with the canonical name of what it builds; a `cls(...)`
    in a classmethod builds the class and each project class that inherits from it."""
    subclasses: dict[str, list[str]] = {}
    for cls, order in inherit.orders.items():
        for base in order:
            subclasses.setdefault(base, []).append(cls)
    found: list[tuple[str, Construction]] = []
    for summary in modules.values():
        for site in summary.constructions:
            if site.callee.endswith(SUBCLASSES):
                base = resolver.canonical(site.callee[: -len(SUBCLASSES)])
                built = [(cls, site) for cls in (base, *sorted(subclasses.get(base, ())))]
            else:
                built = [(resolver.canonical(site.callee), site)]
            for callee, one in built:
                found.append((callee, one))
                if one.lifetime is Lifetime.HELD:
                    # What a class's method holds, each subclass that inherits the
                    # method holds too: it lives as often as any of them is built. What
                    # a subclass is given is matched against this `__init__`'s
                    # parameters only when the subclass is built by it.
                    found.extend(
                        (
                            callee,
                            one._replace(
                                through=cls,
                                unless=one.unless if inherit.init_of(cls) == one.through else (),
                            ),
                        )
                        for cls in sorted(subclasses.get(one.through, ()))
                    )
    return found


def _resource_holders(
    sites: list[tuple[str, Construction]],
    catalog: Catalog,
    factories: Mapping[str, ResourceKind],
    inherit: _Inheritance,
) -> frozenset[str]:
    """The project classes whose instances hold a resource: those with a catalog class
    among their bases, and those whose methods keep on the instance (HELD) what a
    catalog constructor, a project factory or another such class builds; then every
    project class that inherits from one (a fixpoint: a class holding such a class
    holds a resource too)."""
    held: dict[str, set[str]] = {}
    for callee, site in sites:
        if site.lifetime is Lifetime.HELD and site.through:
            held.setdefault(callee, set()).add(site.through)
    constructors = set(catalog.by_callable)
    holders = {
        cls
        for cls, bases in inherit.bases.items()
        if cls in inherit.classes and constructors.intersection(bases)
    }
    fresh = [callee for callee in held if callee in constructors or callee in factories]
    fresh.extend(holders)
    while fresh:
        callee = fresh.pop()
        for holder in held.get(callee, ()):
            if holder not in holders:
                holders.add(holder)
                fresh.append(holder)
    subclasses = {
        cls
        for cls, order in inherit.orders.items()
        if cls in inherit.classes and holders.intersection(order)
    }
    return frozenset(holders | subclasses)


def _closed_by_builders(
    sites: list[tuple[str, Construction]], classes: frozenset[str], once: frozenset[str]
) -> dict[str, frozenset[str]]:
    """For classes built per call: the attributes that every site building them
    releases (sites that return, hold or store the instance release nothing here;
    sites that run once per process do not count)."""
    found: dict[str, frozenset[str]] = {}
    for callee, site in sites:
        if callee not in classes or _once_site(site, once):
            continue
        closes = frozenset(site.closes)
        found[callee] = found[callee] & closes if callee in found else closes
    return {name: parts for name, parts in found.items() if parts}


def _released_by_class(
    modules: Mapping[str, ModuleSummary], inherit: _Inheritance
) -> dict[str, frozenset[str]]:
    """For each class with project base classes: what it and they release (`close()`
    defined once in a base, for the attributes every subclass sets)."""
    own = {
        cls: frozenset(attributes)
        for summary in modules.values()
        for cls, attributes in summary.released_attributes.items()
    }
    found: dict[str, frozenset[str]] = {}
    for cls, order in inherit.orders.items():
        inherited = frozenset().union(*(own.get(base, frozenset()) for base in order))
        if inherited:
            found[cls] = inherited | own.get(cls, frozenset())
    return found


# The standard library's enumeration bases whose every value is a member the class
# defines (IntFlag keeps any int it is given, `Perm(n)`: not bounded by the code).
ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.ReprEnum"})


def _enums(inherit: _Inheritance) -> frozenset[str]:
    """The project classes with an enumeration base: their own, or a project base's
    (`class FileType(enum.Enum)`, `class Mode(StrEnum)`, `class Sub(FileType)`). Not
    one that defines `_missing_`, or inherits it from a project base: that hook may
    make a new member of any value it is given."""
    found = {
        cls
        for cls, bases in inherit.bases.items()
        if cls in inherit.classes and ENUM_BASES.intersection(bases)
    }
    for _ in range(_MAX_HOPS):
        more = {
            cls
            for cls, bases in inherit.bases.items()
            if cls in inherit.classes and cls not in found and found.intersection(bases)
        }
        if not more:
            break
        found |= more
    return frozenset(
        cls
        for cls in found
        if not any(
            "_missing_" in inherit.methods.get(owner, ())
            for owner in (cls, *inherit.orders.get(cls, ()))
        )
    )


# Where every logger comes from: the standard library's and loguru's.
_LOGGER_FACTORIES = frozenset({"logging.getLogger", "logging.LoggerAdapter"})
_LOGGERS = frozenset({"loguru.logger", "logging.root"})


def _loggers(
    modules: Mapping[str, ModuleSummary], resolver: ProjectFacts
) -> tuple[frozenset[str], frozenset[str]]:
    """The project's names bound to a logger and functions returning one: what comes
    from `logging.getLogger(...)` or loguru's `logger`, through module-level names,
    re-exports and functions whose every return is a logger (a least fixpoint)."""
    names = {
        f"{summary.module}.{name}": source
        for summary in modules.values()
        for name, source in summary.logger_names.items()
    }
    functions = {
        f"{summary.module}.{name}": sources
        for summary in modules.values()
        for name, sources in summary.logger_returns.items()
    }
    loggers: set[str] = set(_LOGGERS)
    factories: set[str] = set(_LOGGER_FACTORIES)

    def is_logger(source: str) -> bool:
        kind, _, name = source.partition(":")
        name = resolver.canonical(name)
        if kind == "c":
            return name in factories or (name.rpartition(".")[0] in loggers)
        return name in loggers

    for _ in range(_MAX_HOPS):
        changed = False
        for name, source in names.items():
            if name not in loggers and is_logger(source):
                loggers.add(name)
                changed = True
        for name, sources in functions.items():
            if name not in factories and all(is_logger(s) for s in sources):
                factories.add(name)
                changed = True
        if not changed:
            break
    return frozenset(loggers - _LOGGERS), frozenset(factories - _LOGGER_FACTORIES)


def _runs_once(
    modules: Mapping[str, ModuleSummary],
    resolver: ProjectFacts,
    all_sites: list[tuple[str, Construction]],
    serves: Collection[str] = frozenset(),
) -> frozenset[str]:
    """Functions and classes that the project shows run once per process: called (or
    built) somewhere, and only at module level, in the `__main__` block, in a memoised
    function, or in the body of another such function (`asyncio.run(main())` under
    the guard, and what `main()` calls and builds). Startup code builds its owners
    once, whatever it holds. Names handed on as values (a callback, a registry of
    classes) or registered by a decorator (a route, a tool) run whenever someone else
    decides, so they are never once; nor is anything the project never calls (a
    library's API, a framework's handler).

    Two kinds of module-level function run once whatever calls them: one that serves
    until the process stops (`serves`, `uvicorn.run(app)`, itself or through a
    function that does: it does not return to be called again), unless the project
    calls it in a loop or a nested function, stores it, hands it on or registers it
    (the serving call may be on some paths only: `if app is None: uvicorn.run(...)`);
    and the target of a child process (`Process(target=worker)`: it runs once in a
    process of its own, which takes what it built along when it ends), unless the
    project also calls it or hands it on some other way."""
    sites: dict[str, list[Construction]] = {}
    for callee, site in all_sites:
        sites.setdefault(callee, []).append(site)
    elsewhere = {
        resolver.canonical(name)
        for summary in modules.values()
        for name in (*summary.referenced, *summary.entry_points)
    }
    # A method may be called through any instance, where no summary sees the call.
    classes = {cls for summary in modules.values() for cls in summary.classes}
    # What each candidate waits for: the functions and classes its sites run through
    # (none for a site that surely runs once; a site that never does rules it out).
    waiting: dict[str, set[str]] = {}
    for callee, found in sites.items():
        if callee in elsewhere or _method(callee, classes):
            continue
        needs = _runs_through(found)
        if needs is not None:
            waiting[callee] = needs
    for target in _process_targets(modules, resolver):
        if target not in sites and target not in elsewhere and not _method(target, classes):
            waiting[target] = set()
    for server in _serving(all_sites, serves, classes):
        # Called in a loop or a nested function, stored, handed on or registered: it
        # may return (a serves call on some paths only) to be called again.
        if server not in elsewhere and _runs_through(sites.get(server, ())) is not None:
            waiting[server] = set()
    dependants: dict[str, list[str]] = {}
    for callee, needs in waiting.items():
        for through in needs:
            dependants.setdefault(through, []).append(callee)
    ready = [callee for callee, needs in waiting.items() if not needs]
    once: set[str] = set()
    while ready:
        callee = ready.pop()
        if callee in once:
            continue
        once.add(callee)
        for dependant in dependants.get(callee, ()):
            needs = waiting[dependant]
            needs.discard(callee)
            if not needs and dependant not in once:
                ready.append(dependant)
    return frozenset(once)


def _runs_through(found: Iterable[Construction]) -> set[str] | None:
    """The functions and classes through which a callee's sites run (none for a site
    that surely runs once), or None when a site rules out running once (stored, or in
    a loop or a nested function, which names nothing it runs through)."""
    needs: set[str] = set()
    for site in found:
        if site.lifetime is Lifetime.ONCE:
            continue
        if site.lifetime is Lifetime.STORED or not site.through:
            return None
        needs.add(site.through)
    return needs


def _serving(
    all_sites: list[tuple[str, Construction]], serves: Collection[str], classes: Collection[str]
) -> set[str]:
    """The module-level functions that serve until the process stops, on some path:
    those whose own body calls one of `serves`, or a function that does (a least
    fixpoint over the call sites; a call in a loop or a nested function names no
    function it runs through). Not through methods: `self.serve()` may call a
    subclass's override that returns."""
    callers: dict[str, set[str]] = {}
    for callee, site in all_sites:
        if (
            site.through
            and site.lifetime in (Lifetime.PER_CALL, Lifetime.RETURNED)
            and not _method(site.through, classes)
            and not _method(callee, classes)
        ):
            callers.setdefault(callee, set()).add(site.through)
    found: set[str] = set()
    stack = [name for name in serves if name in callers]
    while stack:
        for caller in callers.get(stack.pop(), ()):
            if caller not in found:
                found.add(caller)
                stack.append(caller)
    return found


def _method(name: str, classes: Collection[str]) -> bool:
    """Whether a qualified name is a method of a project class."""
    return name.rpartition(".")[0] in classes


def _process_targets(modules: Mapping[str, ModuleSummary], resolver: ProjectFacts) -> set[str]:
    return {
        resolver.canonical(name) for summary in modules.values() for name in summary.process_targets
    }


def _once_site(site: Construction, once: Collection[str]) -> bool:
    """Whether a construction site runs once per process, given what runs once."""
    if site.lifetime is Lifetime.ONCE:
        return True
    return site.lifetime is not Lifetime.STORED and bool(site.through) and site.through in once


def _built_per_call(
    sites: list[tuple[str, Construction]],
    classes: frozenset[str],
    once: frozenset[str],
    params: Mapping[str, tuple[str, ...]],
) -> tuple[dict[str, str], dict[str, list[frozenset[str]]]]:
    """Classes with a construction site that runs per call: in a loop or a nested
    function, in the body of a function that does not run once, or returned by a
    function (held by a class) that itself runs so; each with the function whose runs
    build it. A default that `__init__` builds only when a parameter is None
    (`Construction.unless`) runs per call only through a per-call construction of
    the class that does not pass that parameter. Also, for each callee, what each of
    its per-call sites passes, by parameter name."""
    per_call: dict[str, str] = {}
    # The per-call sites of each class with a gated default found so far: what each
    # passes, by name.
    passes: dict[str, list[frozenset[str]]] = {}
    # In one order whatever order the files came in: the place a message names is the
    # first found.
    ordered = sorted(sites, key=lambda found: (found[0], found[1].lifetime.value, found[1].through))
    # The sites that may run per call and are not known to yet; each round takes those
    # whose function or class was found to run per call by the rounds before.
    pending = [
        (callee, site)
        for callee, site in ordered
        if site.lifetime in _MAY_RUN_PER_CALL and not _once_site(site, once)
    ]
    # The classes with a gated default: only their constructions' arguments are asked.
    gated = {site.through for _, site in sites if site.unless}
    for _ in range(_MAX_HOPS * 4):
        left: list[tuple[str, Construction]] = []
        for callee, site in pending:
            if site.lifetime is Lifetime.PER_CALL:
                where = site.through
            elif site.through in per_call and not (
                site.unless and _blocked(site.unless, passes[site.through])
            ):
                where = per_call[site.through] or site.through
            else:
                left.append((callee, site))  # not yet; or every construction passes one
                continue
            per_call.setdefault(callee, where)
            if callee in gated:
                passes.setdefault(callee, []).append(_passed(callee, site.given, params))
        if len(left) == len(pending):
            break
        pending = left
    return {name: where for name, where in per_call.items() if name in classes}, passes


_MAY_RUN_PER_CALL = frozenset({Lifetime.PER_CALL, Lifetime.RETURNED, Lifetime.HELD})


def _blocked(unless: Collection[str], passes: Sequence[frozenset[str]]) -> bool:
    """Whether every one of a class's per-call constructions passes one of `unless` by
    name or position (`**options` may pass it or not: the default may be built)."""
    return all(not given.isdisjoint(unless) for given in passes)


def _idle_defaults(
    sites: list[tuple[str, Construction]],
    per_call: frozenset[str],
    passes: Mapping[str, list[frozenset[str]]],
    inherit: _Inheritance,
) -> dict[str, frozenset[str]]:
    """See ProjectFacts.idle_defaults. An attribute is idle in a class when each of its
    held constructions there (and in every subclass, which holds them too) is gated and
    every per-call construction of the class passes a gating parameter to that very
    `__init__`; a construction held in some other way (ANY_ATTRIBUTE: through a local, by two
    targets) may be any attribute, and makes none of the class's idle unless it is
    gated so itself."""
    verdicts: dict[str, dict[str, bool]] = {}
    for _, site in sites:
        if site.lifetime is not Lifetime.HELD or site.through not in per_call:
            continue
        blocked = bool(site.unless) and _blocked(site.unless, passes.get(site.through, ()))
        attributes = verdicts.setdefault(site.through, {})
        attribute = site.attribute or ANY_ATTRIBUTE
        attributes[attribute] = attributes.get(attribute, True) and blocked
    # A subclass built per call holds what its bases' methods hold.
    below: dict[str, list[str]] = {}
    for sub in verdicts:
        for base in inherit.orders.get(sub, ()):
            below.setdefault(base, []).append(sub)
    idle: dict[str, frozenset[str]] = {}
    for cls, attributes in verdicts.items():
        quiet = {name for name, blocked in attributes.items() if blocked and name != ANY_ATTRIBUTE}
        for holder in (cls, *below.get(cls, ())):
            held = verdicts[holder]
            if not held.get(ANY_ATTRIBUTE, True):
                quiet = set()
                break
            quiet -= {name for name, blocked in held.items() if not blocked}
        if quiet:
            idle[cls] = frozenset(quiet)
    return idle


def _passed(
    callee: str, given: tuple[str, ...], params: Mapping[str, tuple[str, ...]]
) -> frozenset[str]:
    """What a construction passes, by parameter name (positions through the class's
    `__init__`; "*" for unpacked arguments, which may pass anything)."""
    if not given:
        return frozenset()
    names = params.get(f"{callee}.__init__", ())
    return frozenset(
        (names[int(g)] if int(g) < len(names) else g) if g.isdigit() else g for g in given
    )


def keyed_functions(
    modules: Mapping[str, ModuleSummary], resolver: ProjectFacts
) -> dict[str, frozenset[int]]:
    """Module-level functions of modules that define a module-level dict, with the
    parameters that reach one of its keys, directly or handed on (by position or by
    keyword) to another such function. Only modules that define a dict count: the fact
    pass summarises all of those first, so every module that names one of these
    functions is summarised too (collect.interesting_names)."""
    caching = {name: summary for name, summary in modules.items() if summary.defines_cache}
    params = _qualified(caching, lambda summary: summary.params)
    return _through_hands(caching, resolver, params, lambda summary: summary.cache_keys)


def _constant_params(
    modules: Mapping[str, ModuleSummary],
    resolver: ProjectFacts,
    params: Mapping[str, tuple[str, ...]],
) -> dict[str, frozenset[int]]:
    """For each keyed function, the parameters every call in the project (its test
    modules aside) passes a constant (see ProjectFacts.constant_params). A function
    with no call, or named other than as a callee anywhere (a callback, a decorator),
    has none. Passing on a parameter of another keyed function counts as that parameter
    does (the greatest fixpoint: a recursion passing its own parameter adds no value)."""
    keyed = keyed_functions(modules, resolver)
    if not keyed:
        return {}
    # A test's calls (`use_integration(FakeIntegration())`) run in a test process, not
    # in the service: they show nothing of what its traffic passes.
    serving = [summary for summary in modules.values() if not _is_test(summary.module)]
    referenced = {resolver.canonical(name) for summary in serving for name in summary.referenced}
    sites: dict[str, list[tuple[Union[int, str], str]]] = {}
    for summary in serving:
        for callee, sources in summary.call_args.items():
            target = resolver.canonical(callee)
            if target in keyed:
                sites.setdefault(target, []).extend(sources)
    classes = {cls for summary in modules.values() for cls in summary.classes}
    # A decorator factory's arguments are written where it decorates (`@register(
    # "length")`): the registry it fills is bounded by the code, unless a call here
    # passes call data (the spec's "registries filled by decorators").
    decorators = {
        f"{summary.module}.{name}"
        for summary in modules.values()
        for name in summary.decorator_factories
    }
    constant = {
        name: set(range(len(params.get(name, ()))))
        for name in keyed
        # Called somewhere but a script's `__main__` block, named nowhere else; not a
        # method, which may be called through any instance, where no summary sees it.
        if (("#", "c") in sites.get(name, ()) or name in decorators)
        and name not in referenced
        and name.rpartition(".")[0] not in classes
    }

    def slot_index(function: str, slot: Union[int, str]) -> int:
        if isinstance(slot, int):
            return slot
        names = params.get(function, ())
        return names.index(slot) if slot in names else -1

    for _ in range(_MAX_HOPS * 4):
        changed = False
        for function, indices in constant.items():
            for slot, source in sites.get(function, ()):
                if slot == "#":
                    continue
                if slot == "*":
                    bad = set(indices)
                else:
                    index = slot_index(function, slot)
                    if index not in indices or _constant_source(source, constant):
                        continue
                    bad = {index}
                if bad & indices:
                    indices -= bad
                    changed = True
        if not changed:
            break
    return {name: frozenset(indices) for name, indices in constant.items() if indices}


def _is_test(module: str) -> bool:
    """A test module, by the file names pytest and unittest collect."""
    return is_test_module(module.rpartition(".")[2] + ".py")


def _constant_source(source: str, constant: Mapping[str, set[int]]) -> bool:
    """ "c", or "p:<function>:<k>" where k of that function is (still) constant."""
    if source == "c":
        return True
    if not source.startswith("p:"):
        return False
    function, _, index = source[2:].rpartition(":")
    return index.isdigit() and int(index) in constant.get(function, set())


class _Inheritance:
    """Copies per-method facts to the project classes that inherit the method.

    A class's bases are searched depth first, left to right (C3 agrees on the
    hierarchies where it matters: single inheritance and mixins that do not
    share a method); the search stops at a base outside the project or one the
    summary could not name, which may define the method itself."""

    def __init__(
        self,
        modules: Mapping[str, ModuleSummary],
        resolver: ProjectFacts,
        classes: frozenset[str],
        defined: frozenset[str],
    ) -> None:
        self.classes = classes
        self.defined = defined
        self.bases = {
            cls: tuple(resolver.canonical(base) for base in bases)
            for summary in modules.values()
            for cls, bases in summary.bases.items()
        }
        self.orders = {cls: self._order(cls) for cls in classes}
        self.methods: dict[str, set[str]] = {}
        for name in defined:
            owner, _, method = name.rpartition(".")
            if owner in classes:
                self.methods.setdefault(owner, set()).add(method)

    def init_of(self, cls: str) -> str | None:
        """The project class whose `__init__` building `cls` runs (None: one outside
        the project, or none known)."""
        for owner in (cls, *self.orders.get(cls, ())):
            if "__init__" in self.methods.get(owner, ()):
                return owner
        return None

    def _order(self, cls: str) -> tuple[str, ...]:
        """The ancestors searched before any base the project does not define."""
        order: list[str] = []
        stack = list(reversed(self.bases.get(cls, ())))
        while stack and len(order) < _MAX_HOPS * 4:
            base = stack.pop()
            if base not in self.classes:
                break  # defined outside the project (or unknown): it may define anything
            if base not in order and base != cls:
                order.append(base)
                stack.extend(reversed(self.bases.get(base, ())))
        return tuple(order)

    def lazily(self, table: Mapping[str, _V], defined: Mapping[str, object]) -> Inherited[_V]:
        """`self(table)`, answered on lookup (`defined`: the functions the project
        defines, by qualified name, as given to the constructor)."""
        orders = {cls: order for cls, order in self.orders.items() if order}
        return Inherited(table, orders, defined)

    def __call__(self, table: Mapping[str, _V]) -> dict[str, _V]:
        by_owner: dict[str, list[tuple[str, _V]]] = {}
        for name, value in table.items():
            owner, _, method = name.rpartition(".")
            if owner in self.classes:
                by_owner.setdefault(owner, []).append((method, value))
        found = dict(table)
        if not by_owner:
            return found
        for cls, order in self.orders.items():
            if not any(ancestor in by_owner for ancestor in order):
                continue
            hidden = set(self.methods.get(cls, ()))
            for ancestor in order:
                for method, value in by_owner.get(ancestor, ()):
                    if method not in hidden:
                        found[sys.intern(f"{cls}.{method}")] = value
                hidden.update(self.methods.get(ancestor, ()))
                hidden.update(m for m, _ in by_owner.get(ancestor, ()))
        return found


class Inherited(Mapping[str, _V]):
    """A table of per-function facts (`own`) with the entries that project classes
    inherit from their bases answered on lookup, equal to `_Inheritance(own)` entry
    for entry: `Sub.m` is `Base.m`'s entry for the first class in `Sub`'s order
    (`_Inheritance._order`) that defines `m` (in `defined`) or has an entry for it,
    unless `Sub` defines `m` itself."""

    def __init__(
        self,
        own: Mapping[str, _V],
        orders: Mapping[str, tuple[str, ...]],
        defined: Mapping[str, object],
    ) -> None:
        self.own = own
        self.orders = orders
        self.defined = defined

    def __getitem__(self, name: str) -> _V:
        if name in self.own:
            return self.own[name]
        owner, _, method = name.rpartition(".")
        order = self.orders.get(owner)
        if order is None or name in self.defined:
            raise KeyError(name)
        for ancestor in order:
            key = f"{ancestor}.{method}"
            if key in self.own:
                return self.own[key]
            if key in self.defined:
                break
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self.own
        methods: dict[str, list[str]] = {}
        for name in self.own:
            owner, _, method = name.rpartition(".")
            methods.setdefault(owner, []).append(method)
        for cls, order in self.orders.items():
            seen: set[str] = set()
            for ancestor in order:
                for method in methods.get(ancestor, ()):
                    if method in seen:
                        continue
                    seen.add(method)
                    name = f"{cls}.{method}"
                    if name not in self.own and name in self:
                        yield name

    def __len__(self) -> int:
        """Counted by walking every inherited entry: asked of the tests, not the checks."""
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        """Whether there is any entry: only if there is an own one (the checks ask this
        before each lookup, and `len` would walk every inherited entry)."""
        return bool(self.own)
