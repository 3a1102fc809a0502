"""The rule catalog: rules/ (shipped data) plus the user's config entries.

Rules and the resources they know are data, not code, so that a user can teach
the tool a new client in config and `--explain` prints the same text the
checks were written against.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from runguard_lint.needs import Need
from runguard_lint.wordmatch import words

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

ContextManagerKind = Literal["sync", "async", "both", "none"]
Default = Literal["on", "off", "preview"]

_CM_KINDS: tuple[str, ...] = ("sync", "async", "both", "none")


class CatalogError(ValueError):
    """A rules/ file or a config catalog entry is malformed."""


@dataclass(frozen=True)
class LeakTraits:
    """What the shared leak rules (RG101-RG106) and the fixes need to know of a
    family of resources, from the `[leak]` table of its rule's TOML."""

    # What a fix names a holder it has to invent (`with ... as client:`).
    noun: str = "resource"
    # How messages say it is released, when "closed" (or "disposed") is wrong.
    verb: str = ""
    # A shared instance (the singleton fix) is the remedy when the arguments are constant.
    shared_when_constant: bool = False
    # Built and released per call still costs (a pool, handshakes, threads): RG402.
    costly_per_call: bool = False
    # An instance attribute holding one needs a release in the class: RG401.
    owned_by_instance: bool = True
    # Releasing it joins its work (an executor's workers): never in an event loop.
    release_joins_work: bool = False
    # Whether a `with`/scope/finally fix exists at all (an index has nothing to close).
    closable_by_fix: bool = True


_NO_TRAITS = LeakTraits()


@dataclass(frozen=True)
class Rule:
    """One rule's identity and documentation, as `--explain` prints it."""

    code: str
    name: str
    summary: str
    default: Default
    fix: str
    what: str = ""
    why: str = ""
    example: str = ""
    use_instead: str = ""
    fix_safety: str = ""
    # Enabled whatever `select` says; only an exact `ignore` turns it off (RG900).
    always_on: bool = False
    leak: LeakTraits | None = None
    # What the prefilter must keep of a file for the rule (the TOML's `needs`).
    needs: frozenset[Need] = frozenset()

    @property
    def fixable(self) -> bool:
        """Whether the rule may offer a fix (then it has a golden `.fixed.py` file)."""
        return self.fix != "none"

    @property
    def preview(self) -> bool:
        """Preview rules run only when named exactly or with `--preview`."""
        return self.default == "preview"


@dataclass(frozen=True)
class ResourceKind:
    """How one acquiring callable is recognised and how its value is released.

    A constructor entry (`callable`) matches calls by qualified name. A method
    entry (`method` + `on`) matches `<x>.method()` where `<x>` is known to be
    built by one of `on` (or annotated with it). `result = "receiver"` means the
    call loads into its receiver (`index.load_index(p)`), which is then the
    resource. `result = "permit"` means the call takes a permit from its receiver
    (`await semaphore.acquire()`), which the function owes back to that same
    receiver (`semaphore.release()`).
    """

    rule: str
    callable: str = ""
    method: str = ""
    on: tuple[str, ...] = ()
    result: Literal["value", "receiver", "permit"] = "value"
    release: tuple[str, ...] = ()
    release_awaited: bool = False
    owner_release: tuple[str, ...] = ()
    owner_release_awaited: bool = False
    context_manager: ContextManagerKind = "none"
    with_closes: bool = True
    # Keywords that hand the client a transport (connection pool) it wraps but does
    # not own: given a borrowed one, the client holds no sockets of its own.
    transport_keywords: tuple[str, ...] = ()
    # Whether a transport built right in the call, by a catalog constructor or a class
    # (`httpx.Client(transport=httpx.HTTPTransport(retries=3))`), is the client's own:
    # closing the client closes it. A function's (`transport=get_transport()`) is taken
    # as shared either way. False where it never closes what it is given: gzip's
    # `fileobj=`, whose file (a catalog one included) stays the caller's to close.
    owns_built_transports: bool = True
    # The release waits for the resource's own work to end (`Popen.wait`): adding it
    # where the code never waited changes how long the function takes.
    release_waits: bool = False
    # Methods whose result keeps using the resource (a future from `submit`, a stream,
    # `client[db]`: `__getitem__`), and attributes that are parts of it (`Popen.stdout`):
    # returning one needs the resource still open, handing one on does not hand it over.
    derived: tuple[str, ...] = ()
    # Keywords through which the resource gets descriptors of the caller's process
    # (`Popen(stdout=PIPE)`): given none of them `PIPE`, it holds none, and one that is
    # dropped without a release is reaped by the runtime (`subprocess._cleanup`): never
    # releasing it starts a detached child, which is not a leak.
    pipe_keywords: tuple[str, ...] = ()
    # Catalog resources close themselves when a `for` loop runs them to the end
    # (`FileInput.__next__` closes each file as it finishes it).
    closes_when_exhausted: bool = False
    # A project getter that returns what it holds or was given when it has one, and a
    # fresh resource otherwise (`return self.client or OpenAI()`): a caller acquires
    # whenever the fresh branch runs, and closing the value may close the holder's.
    may_be_borrowed: bool = False
    # A project factory whose branches build resources released differently
    # (`AsyncOpenAI()` or `OpenAI()` by a flag): no rewrite can know which release fits.
    mixed_release: bool = False

    @property
    def display_name(self) -> str:
        """What messages call the acquiring callable."""
        if self.method:
            return f"{self.on[0]}().{self.method}" if self.on else f".{self.method}"
        return self.callable.removeprefix("builtins.")

    @property
    def takes_permit(self) -> bool:
        """The call takes a permit of its receiver, owed back with a release on it."""
        return self.result == "permit"

    @property
    def has_release(self) -> bool:
        """Whether anything can release it; indexes without `close` cannot."""
        return bool(self.release or self.owner_release or self.context_manager != "none")

    @property
    def async_cm(self) -> bool:
        return self.context_manager in ("async", "both")

    @property
    def sync_cm(self) -> bool:
        return self.context_manager in ("sync", "both")


@dataclass(frozen=True)
class OwnershipFacts:
    """Shared knowledge of who owns a value handed over (rules/_ownership.toml)."""

    sinks: frozenset[str]
    non_owning: frozenset[str]
    capturing: frozenset[str]
    closing_wrappers: frozenset[str]
    # Calls that serve until the process stops, and constructors of a child process
    # (see rules/_ownership.toml): what runs once per process.
    serves: frozenset[str] = frozenset()
    process_starters: frozenset[str] = frozenset()
    # Methods that take over a socket passed as `sock=` (the event loop's servers and
    # connections), whatever their receiver: the keyword is their convention.
    socket_takers: frozenset[str] = frozenset()

    @cached_property
    def sink_methods(self) -> frozenset[str]:
        """The method names of the sinks named as `module.Class.method`: only a call
        of one of them is worth asking what built its receiver."""
        return frozenset(name.rpartition(".")[2] for name in self.sinks if "." in name)


@dataclass(frozen=True)
class Catalog:
    """Every rule and every resource kind known for one run."""

    rules: Mapping[str, Rule]
    resources: tuple[ResourceKind, ...]
    ownership: OwnershipFacts
    by_callable: Mapping[str, ResourceKind] = field(default_factory=dict)
    by_method: Mapping[str, tuple[ResourceKind, ...]] = field(default_factory=dict)
    # The project's factories (see with_factories), and their last names: a call that
    # ends in one may acquire, whatever the import says.
    factories: frozenset[str] = frozenset()
    factory_terminals: frozenset[str] = frozenset()
    # Last names under which the project re-exports a catalog constructor (see
    # with_project): distinctive like the constructors' own names.
    alias_terminals: frozenset[str] = frozenset()

    @cached_property
    def permit_methods(self) -> frozenset[str]:
        """Methods that take a permit from their receiver (`acquire`)."""
        return frozenset(kind.method for kind in self.resources if kind.takes_permit)

    @cached_property
    def permit_types(self) -> frozenset[str]:
        """The semaphore and lock types whose `acquire()` takes a permit."""
        return frozenset(name for kind in self.resources if kind.takes_permit for name in kind.on)

    @cached_property
    def permit_releases(self) -> frozenset[str]:
        """Methods that give a permit back to their receiver (`release`)."""
        return frozenset(
            name for kind in self.resources if kind.takes_permit for name in kind.release
        )

    @cached_property
    def release_methods(self) -> frozenset[str]:
        """Every method name that releases some resource (asked for every call looked at)."""
        names: set[str] = set()
        for kind in self.resources:
            names.update(kind.release)
        return frozenset(names)

    def with_project(
        self,
        factories: Mapping[str, ResourceKind],
        alias_terminals: frozenset[str] = frozenset(),
    ) -> Catalog:
        """This catalog plus the project's factories (a call of one acquires what it
        returns; its kind carries the factory's qualified name as `callable`) and the
        names the project re-exports catalog constructors under."""
        if not factories and not alias_terminals:
            return self
        by_callable = {**self.by_callable, **factories}
        return replace(
            self,
            resources=(*self.resources, *factories.values()),
            by_callable=by_callable,
            factories=frozenset(factories),
            factory_terminals=frozenset(name.rsplit(".", 1)[-1] for name in factories),
            alias_terminals=alias_terminals,
        )

    def leak_traits(self, code: str) -> LeakTraits:
        """How the leak rules and the fixes treat the family of rule `code`."""
        rule = self.rules.get(code)
        return rule.leak if rule is not None and rule.leak is not None else _NO_TRAITS

    @cached_property
    def constructor_pattern(self) -> re.Pattern[str]:
        """The last names of the constructors and permit types as whole words: a module
        whose text names none builds nothing the catalog knows (the fact pass asks it of
        every module; as a property, built once, where a cache keyed by the resources
        hashed all of them on every question)."""
        return words(
            {kind.callable.rsplit(".", 1)[-1] for kind in self.resources if kind.callable}
            | {name.rsplit(".", 1)[-1] for name in self.permit_types}
        )

    @cached_property
    def callable_prefixes(self) -> frozenset[str]:
        """Every dotted prefix of a catalog callable (`httpx`, `httpx.Client`): a call
        reaches a callable through an import only if the import binds one of these."""
        prefixes: set[str] = set()
        for name in self.by_callable:
            parts = name.split(".")
            prefixes.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
        return frozenset(prefixes)

    @cached_property
    def method_roots(self) -> frozenset[str]:
        """The top-level modules of the types whose methods acquire (`threading` for
        `Semaphore.acquire`): such a method counts only in a file that imports from one."""
        return frozenset(
            name.split(".", 1)[0]
            for kinds in self.by_method.values()
            for kind in kinds
            for name in kind.on
        )

    @cached_property
    def transports(self) -> dict[str, frozenset[str]]:
        """Constructor -> the keywords that hand it a transport."""
        return {
            kind.callable: frozenset(kind.transport_keywords)
            for kind in self.resources
            if kind.callable and kind.transport_keywords
        }

    @cached_property
    def class_transport_owners(self) -> frozenset[str]:
        """The constructors with transport keywords that own a transport a class builds
        right in their call (`owns_built_transports`)."""
        return frozenset(
            kind.callable
            for kind in self.resources
            if kind.callable and kind.transport_keywords and kind.owns_built_transports
        )

    @cached_property
    def distinctive_pattern(self) -> re.Pattern[str]:
        """Any distinctive name as a whole word: whether a text may name a resource."""
        return words(self._distinctive_names)

    def distinctive_names(self) -> frozenset[str]:
        """Identifiers one of which must appear in a file that can hold an acquisition."""
        return self._distinctive_names

    @cached_property
    def _distinctive_names(self) -> frozenset[str]:
        names: set[str] = set()
        for kind in self.resources:
            if kind.callable:
                names.add(kind.callable.rsplit(".", 1)[-1])
            if kind.method:
                names.add(kind.method)
        return frozenset(names) | self.alias_terminals


def rules_dir() -> Path:
    """Where rules/ lives: inside the wheel, or beside the package in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "RG101.toml").is_file():
            return candidate
    raise CatalogError(f"the rules/ directory is missing next to {here}; reinstall runguard-lint")


def _str_tuple(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise CatalogError(f"{where}: `{key}` must be a string or a list of strings")


_RESOURCE_KEYS = {
    "rule",
    "callable",
    "method",
    "on",
    "result",
    "release",
    "release_awaited",
    "owner_release",
    "owner_release_awaited",
    "context_manager",
    "with_closes",
    "transport_keywords",
    "owns_built_transports",
    "release_waits",
    "derived",
    "closes_when_exhausted",
    "pipe_keywords",
}


def parse_resource(raw: Mapping[str, Any], rule: str | None, where: str) -> ResourceKind:
    """Validate one `[[resources]]` table (shipped or from config)."""
    unknown = sorted(set(raw) - _RESOURCE_KEYS)
    if unknown:
        raise CatalogError(
            f"{where}: unknown key `{unknown[0]}` in a resources entry "
            f"(known: {', '.join(sorted(_RESOURCE_KEYS))})"
        )
    code = raw.get("rule", rule)
    if not isinstance(code, str) or not code:
        raise CatalogError(f'{where}: a resources entry needs `rule = "RG1xx"`')
    callable_name = raw.get("callable", "")
    method = raw.get("method", "")
    if not isinstance(callable_name, str) or not isinstance(method, str):
        raise CatalogError(f"{where}: `callable` and `method` must be strings")
    if bool(callable_name) == bool(method):
        raise CatalogError(
            f"{where}: a resources entry needs exactly one of `callable` or `method`"
        )
    if callable_name == "open":
        callable_name = "builtins.open"
    context_manager = raw.get("context_manager", "none")
    if context_manager not in _CM_KINDS:
        raise CatalogError(f"{where}: `context_manager` must be one of {', '.join(_CM_KINDS)}")
    result = raw.get("result", "value")
    if result not in ("value", "receiver", "permit"):
        raise CatalogError(f'{where}: `result` must be "value", "receiver" or "permit"')
    for flag in (
        "release_awaited",
        "owner_release_awaited",
        "with_closes",
        "release_waits",
        "closes_when_exhausted",
    ):
        if flag in raw and not isinstance(raw[flag], bool):
            raise CatalogError(f"{where}: `{flag}` must be true or false")
    on = _str_tuple(raw.get("on", []), where, "on")
    if method and not on:
        raise CatalogError(f"{where}: a `method` entry needs `on`, the types that have the method")
    return ResourceKind(
        rule=code,
        callable=callable_name,
        method=method,
        on=on,
        result=result,
        release=_str_tuple(raw.get("release", []), where, "release"),
        release_awaited=bool(raw.get("release_awaited", False)),
        owner_release=_str_tuple(raw.get("owner_release", []), where, "owner_release"),
        owner_release_awaited=bool(raw.get("owner_release_awaited", False)),
        context_manager=context_manager,
        with_closes=bool(raw.get("with_closes", True)),
        transport_keywords=_str_tuple(
            raw.get("transport_keywords", []), where, "transport_keywords"
        ),
        owns_built_transports=bool(raw.get("owns_built_transports", True)),
        release_waits=bool(raw.get("release_waits", False)),
        derived=_str_tuple(raw.get("derived", []), where, "derived"),
        closes_when_exhausted=bool(raw.get("closes_when_exhausted", False)),
        pipe_keywords=_str_tuple(raw.get("pipe_keywords", []), where, "pipe_keywords"),
    )


_LEAK_KEYS = {
    "noun": str,
    "verb": str,
    "shared_when_constant": bool,
    "costly_per_call": bool,
    "owned_by_instance": bool,
    "release_joins_work": bool,
    "closable_by_fix": bool,
}


def _leak_traits(raw: object, where: str) -> LeakTraits:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: `leak` must be a table")
    for key, value in raw.items():
        expected = _LEAK_KEYS.get(key)
        if expected is None:
            raise CatalogError(f"{where}: unknown key `{key}` in `[leak]`")
        if not isinstance(value, expected):
            raise CatalogError(f"{where}: `leak.{key}` must be a {expected.__name__}")
    return LeakTraits(**raw)


def _needs(value: object, where: str) -> frozenset[Need]:
    """A rule's `needs`: a non-empty list of `Need` values."""
    known = {need.value: need for need in Need}
    names = _str_tuple(value, where, "needs")
    unknown = sorted(set(names) - known.keys())
    if not names or unknown:
        raise CatalogError(
            f"{where}: `needs` must list some of {', '.join(sorted(known))}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return frozenset(known[name] for name in names)


def shipped_rules() -> dict[str, Rule]:
    """The shipped rules by code, from their TOML alone (no rule module is loaded)."""
    return {rule.code: rule for rule in _shipped()[0]}


def _load_rule(path: Path) -> tuple[Rule, list[ResourceKind]]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    where = str(path)
    try:
        rule = Rule(
            code=raw["code"],
            name=raw["name"],
            summary=raw["summary"],
            default=raw["default"],
            fix=raw["fix"],
            what=raw.get("what", "").strip(),
            why=raw.get("why", "").strip(),
            example=raw.get("example", "").strip("\n"),
            use_instead=raw.get("use_instead", "").strip("\n"),
            fix_safety=raw.get("fix_safety", "").strip(),
            always_on=bool(raw.get("always_on", False)),
            leak=_leak_traits(raw["leak"], where) if "leak" in raw else None,
            needs=_needs(raw["needs"], where),
        )
    except KeyError as missing:
        raise CatalogError(f"{where}: missing key {missing}") from None
    if path.stem != rule.code:
        raise CatalogError(f"{where}: file name does not match code {rule.code}")
    resources = [parse_resource(entry, rule.code, where) for entry in raw.get("resources", [])]
    return rule, resources


def _load_ownership(path: Path, extra_sinks: Iterable[str]) -> OwnershipFacts:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    return OwnershipFacts(
        sinks=frozenset(raw["sinks"]) | frozenset(extra_sinks),
        non_owning=frozenset(raw["non_owning"]),
        capturing=frozenset(raw["capturing"]),
        closing_wrappers=frozenset(raw["closing_wrappers"]),
        serves=frozenset(raw["serves"]),
        process_starters=frozenset(raw["process_starters"]),
        socket_takers=frozenset(raw["socket_takers"]),
    )


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[Rule, ...], tuple[ResourceKind, ...]]:
    directory = rules_dir()
    rules: list[Rule] = []
    resources: list[ResourceKind] = []
    for path in sorted(directory.glob("RG*.toml")):
        rule, kinds = _load_rule(path)
        rules.append(rule)
        resources.extend(kinds)
    return tuple(rules), tuple(resources)


def build_catalog(
    extra_resources: Sequence[ResourceKind] = (), extra_sinks: Iterable[str] = ()
) -> Catalog:
    """The shipped catalog extended by config entries (which win on a clash)."""
    rules, shipped = _shipped()
    rule_map = {rule.code: rule for rule in rules}
    families = sorted(code for code, rule in rule_map.items() if rule.leak is not None)
    for kind in extra_resources:
        if kind.rule not in rule_map:
            raise CatalogError(
                f"resources entry for `{kind.callable or kind.method}`: unknown rule `{kind.rule}`"
            )
        if rule_map[kind.rule].leak is None:
            raise CatalogError(
                f"resources entry for `{kind.callable or kind.method}`: rule `{kind.rule}` "
                f"has no resources; use one of {', '.join(families)}"
            )
    resources = (*shipped, *extra_resources)
    by_callable: dict[str, ResourceKind] = {}
    by_method: dict[str, list[ResourceKind]] = {}
    for kind in resources:
        if kind.callable:
            by_callable[kind.callable] = kind
        else:
            by_method.setdefault(kind.method, []).append(kind)
    return Catalog(
        rules=rule_map,
        resources=resources,
        ownership=_load_ownership(rules_dir() / "_ownership.toml", extra_sinks),
        by_callable=by_callable,
        by_method={name: tuple(kinds) for name, kinds in by_method.items()},
    )
