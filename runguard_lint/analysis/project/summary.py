"""What one module tells the rest of the project about resources: its summary.

Ownership across functions and modules is compositional, as in Infer or the
Checker Framework's Resource Leak Checker: each module is summarised once,
from its stdlib tree, and callers read the summary instead of re-analysing the
callee. A summary holds only names (no tree nodes), so it can be cached by the
module's content hash and joined over the project (`facts.ProjectFacts`).

The facts, per function (module-level functions and methods of module-level
classes, by their qualified name inside the module):

- returns a fresh resource: every value it returns is a call made right there
  (directly, awaited, or through a local name that nothing else keeps or
  releases); which callable is recorded, and the join decides whether that is
  a catalog resource or another factory. Memoised functions (`functools.cache`)
  return a shared instance and context-manager generators lend one: neither is
  a factory.
- may return a fresh resource: the other values it returns are what it was
  given or holds and never sets itself (`return self.openai or OpenAI()`,
  `if self.client: return self.client` ... `return OpenAI(**params)`,
  `return client if client else Client()` for a parameter `client`). Its
  callers acquire whenever the fresh branch can run: unless the attribute or
  global is surely set (by `__init__`'s own body, or at module level, to a
  call's result) or, for a parameter, the call site passes one. A getter that
  stores what it builds (`self._client = OpenAI()`) is a lazy singleton, not
  this.
- releases its parameter k: calls a release method on it, enters it with
  `with`, or hands it to a function that does (decided by the join).
- constructions: every call of a name, with the lifetime of the call site
  (once: module level, a memoised function, the `__main__` block; per call: a
  function body, a loop; or "through" the enclosing function or class, when the
  result is returned or stored on `self`), so the join can tell whether a class
  is built once or per call.
- keys and arguments, for the unbounded-cache rule: the module-level functions
  whose parameter k reaches a key of a module-level dict of the module
  (`REGISTRY[api][family] = ...`, a defaultdict read), and, for every call of a
  function of the module's own top-level package, whether each argument is a
  constant (a literal, a module-level name, a configuration attribute), a
  parameter of the calling module-level function passed on, or call data; and
  which such functions are used other than by a call (a callback may be called
  with anything). The join decides from these which parameters every call in
  the project passes a constant.
"""

from __future__ import annotations

import ast
import enum
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Union, cast

from runguard_lint.analysis.attribute_releases import getters, releases_in, releasing_helpers
from runguard_lint.astwalk import children as _children
from runguard_lint.astwalk import imports_in, walk
from runguard_lint.wordmatch import is_capwords

# The shape of a summary: bumped whenever what a summary holds or means changes, so
# that summaries cached by an earlier build of the same version are not read.
# 13: what each call passes, and the parameters a default held by `__init__` needs None.
# 14: parameters handed to a function that a thread runs.
# 15: the threads' targets and closures refined (a started thread, an awaited coroutine).
# 16: a `def`, `class` or `case` capture rebinds a name for the gates and the closures.
# 17: calls made at import time pass constants.
# 18: a factory may return a local bound more than once.
# 19: a tuple swap (`process, self.process = self.process, None`) hands the attribute
#     to the local it releases; the joined facts name the classes that hold a resource
#     (their stores are named by this number too).
# 20: the functions a module gives a child process to run.
# 21: a `def` in a function's body is nested (its calls run whenever it is called); a
#     function's own imports decide what its names mean.
# 22: only a nested function's body is nested (not its decorators and defaults), and a
#     closure the function runs once runs with it; functions defined in module-level
#     blocks are the module's names; a closure's `self.x = ...` is held.
# 23: a closure runs once with its function only when nothing it defines names it, no
#     comprehension calls it and it has no decorator; a closure's `self.x = ...` is held
#     only when it runs once (called so, or a thread's one target).
# 24: a thread kept on `self` and started, and a `Timer`, run their closure once; a
#     sibling closure's own local does not name a closure.
# 26: a client's transport made by any call but a class's (where the constructor owns
#     such, `owns_built_transports`) is borrowed, not only one a method hands out.
SUMMARY_FORMAT = 26

# Decorators after which a function no longer returns a fresh object per call.
MEMOISERS = frozenset(
    {
        "cache",
        "lru_cache",
        "cached_property",
        "alru_cache",
        "cache_resource",
        # runguard_lint.runtime's loaders, which the singleton fixes write.
        "per_loop",
        "keyed_per_loop",
    }
)
# Appended to a class's name in a construction made by `cls(...)` in its classmethod:
# the class or any of its subclasses.
SUBCLASSES = "+"
# Decorators that leave a function called only where the code calls it.
_PLAIN_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "abstractmethod", "overload", "override", "wraps"}
)
# Methods that put their argument into the receiver (a container or queue).
STORE_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "add",
        "extend",
        "insert",
        "put",
        "put_nowait",
        "setdefault",
        "push",
        "update",
        "__setitem__",
        "set",
    }
)
# Decorators after which a generator lends its value instead of returning one.
LENDERS = frozenset({"contextmanager", "asynccontextmanager", "fixture"})
_FunctionDef = (ast.FunctionDef, ast.AsyncFunctionDef)
_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


class Lifetime(str, enum.Enum):
    """How often a construction site runs, as far as the module shows."""

    ONCE = "once"
    # In a loop or a nested function; or, with `through`, once per run of that
    # function: as often as the project runs it (a `main()` that only the `__main__`
    # block calls runs once).
    PER_CALL = "per-call"
    # Returned by the enclosing function: as often as that function is called.
    RETURNED = "returned"
    # Stored on `self` by a method: as often as the enclosing class is built.
    HELD = "held"
    # Stored somewhere else (another object, a container, a global): its owner decides.
    STORED = "stored"


class Construction(NamedTuple):
    """A call of `callee` (a qualified name) and how often it runs.

    A named tuple, not a dataclass: a project holds one per call site of every
    summarised module, all in one process while the facts are joined, and an
    unpickled instance with a `__dict__` takes far more (13 MB more for the agent
    corpus's 160,000).
    """

    callee: str
    lifetime: Lifetime
    # For RETURNED and PER_CALL: the function (module-qualified); for HELD: the class.
    through: str = ""
    # For PER_CALL (and HELD in `__init__`), bound to a local: the attributes of the
    # instance that the same function releases (`finally: scraper.session.close()`).
    closes: tuple[str, ...] = ()
    # What the call passes, as keyword names and positional indices ("0", "1"; "*"
    # for unpacked arguments, which may pass anything), not counting an explicit None.
    given: tuple[str, ...] = ()
    # For HELD in `__init__`: the parameters that must be None (or false) for the call
    # to run (`if llm is None: llm = default_llm()`, `self.client = client or
    # Client()`): a construction of the class that passes one of them never runs it.
    unless: tuple[str, ...] = ()
    # For HELD: the attribute of `self.x = ...` (`x`), ANY_ATTRIBUTE when held otherwise
    # (through a local, by two targets, in a container the instance keeps).
    attribute: str = ""


@dataclass(frozen=True)
class ModuleSummary:
    """The resource facts of one module, by module-qualified names."""

    module: str
    # Module-level local name -> what it refers to (imports), for re-exports.
    aliases: dict[str, str] = field(default_factory=dict)
    # Function -> the qualified callables its return values are calls of.
    returns_fresh: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Functions of returns_fresh whose other returns hand back what they hold or were
    # given (a getter with a fresh fallback) -> the positional parameters (after
    # self/cls) among those: a call that passes each of them gets no fresh value.
    maybe_fresh: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Function -> positional indices (after self/cls) of the parameters it releases.
    releases: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Function -> (callee, argument index or keyword, parameter index): it hands
    # parameter k on.
    hands_on: dict[str, tuple[tuple[str, Union[int, str], int], ...]] = field(default_factory=dict)
    # Function -> its positional parameter names as callers count them (for keywords).
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Function -> parameters it takes ownership of: stores (on self, in an attribute,
    # a container or a global), passes to a class it builds, or returns.
    takes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    # Class (qualified) -> its bases, qualified where the module resolves them, "?"
    # where it does not (a call, a subscript): the join finds inherited methods.
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    constructions: tuple[Construction, ...] = ()
    # Methods decorated `@property`: reading the attribute calls them.
    properties: tuple[str, ...] = ()
    # Function -> the module-level semaphore or lock (qualified) whose permit it only
    # takes for its caller (`def acquire_slot(): _slots.acquire()`)...
    permit_takers: dict[str, str] = field(default_factory=dict)
    # ... and the functions that give such a permit back (`_slots.release()`).
    permit_givers: dict[str, str] = field(default_factory=dict)
    # Whether the module binds a module-level name to an empty dict (`{}`, `dict()`,
    # `defaultdict(...)`, `OrderedDict()`): a cache or registry its functions may fill.
    defines_cache: bool = False
    # Module-level function -> positional parameters that reach a key of such a dict.
    cache_keys: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Those of them that return a function they define (`def register(name): def
    # decorator(cls): REGISTRY[name] = cls ...; return decorator`): decorator factories,
    # whose arguments are written where they decorate.
    decorator_factories: tuple[str, ...] = ()
    # What may be a logger, for the exception model (a log call cannot skip a
    # release): module-level names bound once -> their source, and module-level
    # functions -> the sources of every value they return. A source is "c:<callee>"
    # (a call's result) or "n:<name>" (another name), both qualified; the join
    # decides which are loggers (`logging.getLogger`, loguru's `logger`).
    logger_names: dict[str, str] = field(default_factory=dict)
    logger_returns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Names of the module's own package that it logs with (`logger.info(...)` after
    # `from app.logs import logger`) or builds a logger with: the fact pass summarises
    # the modules that define them, which may name no resource at all.
    log_sources: tuple[str, ...] = ()
    # Class (qualified) -> the attributes of `self` its methods release: a subclass in
    # another module knows what its base closes.
    released_attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Callee (qualified, in the module's own top-level package) -> what its calls
    # here pass: (argument index or keyword, source) where source is "c" (a
    # constant), "d" (call data) or "p:<function>:<k>" (parameter k of a module-level
    # function of this module, passed on); ("*", "d") for `*args`/`**kwargs`; and
    # ("#", "c") when some call is outside the `__main__` block (a script's entry
    # point runs once: its calls alone show nothing of how the function serves).
    call_args: dict[str, tuple[tuple[Union[int, str], str], ...]] = field(default_factory=dict)
    # Such functions named here other than as a callee (handed on, stored, decorated).
    referenced: tuple[str, ...] = ()
    # Functions (qualified) that a decorator may hand to someone else to call (a route,
    # a tool, a property): how often they run is not up to the project's own calls.
    entry_points: tuple[str, ...] = ()
    # Such functions given to a child process to run (`Process(target=worker)`), and
    # named here no other way than as a callee: each runs once in a process of its own.
    process_targets: tuple[str, ...] = ()
    # Whether the module's text names a catalog constructor: only then do its
    # factories, helpers and classes make other modules worth summarising (a module
    # summarised only for its dicts adds the functions that fill them).
    names_resources: bool = True

    def to_json(self) -> dict[str, object]:
        """A plain structure for the cache (names and numbers only)."""
        return {
            "module": self.module,
            "aliases": self.aliases,
            "returns_fresh": {k: list(v) for k, v in self.returns_fresh.items()},
            "maybe_fresh": {k: list(v) for k, v in self.maybe_fresh.items()},
            "releases": {k: list(v) for k, v in self.releases.items()},
            "hands_on": {k: [list(t) for t in v] for k, v in self.hands_on.items()},
            "params": {k: list(v) for k, v in self.params.items()},
            "takes": {k: list(v) for k, v in self.takes.items()},
            "classes": list(self.classes),
            "bases": {k: list(v) for k, v in self.bases.items()},
            "constructions": [
                [
                    c.callee,
                    c.lifetime.value,
                    c.through,
                    list(c.closes),
                    list(c.given),
                    list(c.unless),
                    c.attribute,
                ]
                for c in self.constructions
            ],
            "properties": list(self.properties),
            "permit_takers": self.permit_takers,
            "permit_givers": self.permit_givers,
            "defines_cache": self.defines_cache,
            "cache_keys": {k: list(v) for k, v in self.cache_keys.items()},
            "decorator_factories": list(self.decorator_factories),
            "logger_names": self.logger_names,
            "logger_returns": {k: list(v) for k, v in self.logger_returns.items()},
            "log_sources": list(self.log_sources),
            "released_attributes": {k: list(v) for k, v in self.released_attributes.items()},
            "call_args": {k: [list(t) for t in v] for k, v in self.call_args.items()},
            "referenced": list(self.referenced),
            "entry_points": list(self.entry_points),
            "process_targets": list(self.process_targets),
            "names_resources": self.names_resources,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> ModuleSummary:
        """The inverse of `to_json`."""

        def table(key: str) -> dict[str, list[object]]:
            value = raw.get(key, {})
            assert isinstance(value, dict)
            return value

        constructions = raw.get("constructions", [])
        classes = raw.get("classes", [])
        aliases = raw.get("aliases", {})
        properties = raw.get("properties", [])
        referenced = raw.get("referenced", [])
        entry_points = raw.get("entry_points", [])
        process_targets = raw.get("process_targets", [])
        assert isinstance(referenced, list) and isinstance(entry_points, list)
        assert isinstance(process_targets, list)
        decorator_factories = raw.get("decorator_factories", [])
        log_sources = raw.get("log_sources", [])
        assert isinstance(decorator_factories, list) and isinstance(log_sources, list)
        assert isinstance(constructions, list) and isinstance(classes, list)
        assert isinstance(properties, list)
        assert isinstance(aliases, dict)
        return cls(
            module=str(raw["module"]),
            aliases={str(k): str(v) for k, v in aliases.items()},
            returns_fresh={k: tuple(str(x) for x in v) for k, v in table("returns_fresh").items()},
            maybe_fresh={k: tuple(int(str(x)) for x in v) for k, v in table("maybe_fresh").items()},
            releases={k: tuple(int(str(x)) for x in v) for k, v in table("releases").items()},
            hands_on={
                k: tuple(
                    (str(t[0]), t[1] if isinstance(t[1], str) else int(t[1]), int(t[2]))
                    for t in v
                    if isinstance(t, list)
                )
                for k, v in table("hands_on").items()
            },
            params={k: tuple(str(x) for x in v) for k, v in table("params").items()},
            takes={k: tuple(int(str(x)) for x in v) for k, v in table("takes").items()},
            classes=tuple(str(c) for c in classes),
            bases={k: tuple(str(x) for x in v) for k, v in table("bases").items()},
            constructions=tuple(
                Construction(
                    str(c[0]),
                    Lifetime(str(c[1])),
                    str(c[2]),
                    _strings(c, 3),
                    _strings(c, 4),
                    _strings(c, 5),
                    str(c[6]) if len(c) > 6 else "",
                )
                for c in constructions
                if isinstance(c, list)
            ),
            properties=tuple(str(p) for p in properties),
            permit_takers={str(k): str(v) for k, v in table("permit_takers").items()},
            permit_givers={str(k): str(v) for k, v in table("permit_givers").items()},
            defines_cache=bool(raw.get("defines_cache", False)),
            cache_keys={k: tuple(int(str(x)) for x in v) for k, v in table("cache_keys").items()},
            decorator_factories=tuple(str(d) for d in decorator_factories),
            logger_names={str(k): str(v) for k, v in table("logger_names").items()},
            logger_returns={
                k: tuple(str(x) for x in v) for k, v in table("logger_returns").items()
            },
            log_sources=tuple(str(x) for x in log_sources),
            released_attributes={
                k: tuple(str(x) for x in v) for k, v in table("released_attributes").items()
            },
            call_args={
                k: tuple(
                    (t[0] if isinstance(t[0], str) else int(t[0]), str(t[1]))
                    for t in v
                    if isinstance(t, list)
                )
                for k, v in table("call_args").items()
            },
            referenced=tuple(str(r) for r in referenced),
            entry_points=tuple(str(e) for e in entry_points),
            process_targets=tuple(str(t) for t in process_targets),
            names_resources=bool(raw.get("names_resources", True)),
        )


def module_aliases(tree: ast.Module, package: str) -> dict[str, str]:
    """Module-level names bound by imports, as qualified names (relative ones resolved),
    including those under `if TYPE_CHECKING:` / `try:` at module level (a package that
    imports its names lazily still names them there)."""
    aliases: dict[str, str] = {}
    blocks: list[list[ast.stmt]] = [tree.body]
    while blocks:
        for node in blocks.pop():
            if isinstance(node, (ast.If, ast.Try)):
                blocks.extend(_blocks(node))
            else:
                for local, target in _import_bindings(node, package):
                    aliases.setdefault(local, target)
    return aliases


def _import_bindings(node: ast.stmt, package: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name
            else:
                head = alias.name.split(".", 1)[0]
                yield head, head
    elif isinstance(node, ast.ImportFrom):
        base = absolute_module(package, node.module, node.level)
        if base is None:
            return
        for alias in node.names:
            if alias.name != "*":
                yield alias.asname or alias.name, sys.intern(f"{base}.{alias.name}")


def absolute_module(package: str, name: str | None, level: int) -> str | None:
    """`from ..x import y` in package `a.b` imports from `a.x` (None past the top)."""
    if not level:
        return name
    parts = package.split(".") if package else []
    if len(parts) < level - 1:
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    if name:
        return f"{base}.{name}" if base else name
    return base or None


def _defined_in_blocks(body: list[ast.stmt]) -> Iterator[str]:
    """The functions and classes defined in the blocks of a module's compound
    statements (not at its top level, nor inside a function or class)."""
    stack = [
        s
        for node in body
        if not isinstance(node, (*_FunctionDef, ast.ClassDef))
        for block in _blocks(node)
        for s in block
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, (*_FunctionDef, ast.ClassDef)):
            yield node.name
        else:
            stack.extend(s for block in _blocks(node) for s in block)


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements the module makes at its own level (in `if` and `try`
    blocks too, not in a function or class)."""
    found: list[ast.Import | ast.ImportFrom] = []
    blocks: list[list[ast.stmt]] = [tree.body]
    while blocks:
        for node in blocks.pop():
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif not isinstance(node, (*_FunctionDef, ast.ClassDef)):
                blocks.extend(_blocks(node))
    return found


class _Names:
    """Resolves a dotted expression to a qualified name inside one module."""

    def __init__(self, module: str, package: str, tree: ast.Module) -> None:
        self.module = module
        self.package = package
        self.bindings: dict[str, str] = {}
        # While a function is summarised, what its own imports bind (`within`); and
        # whether any function has imports of its own.
        self.local: dict[str, str] = {}
        imports = imports_in(tree)
        # Every module imported, and every name imported from one, in full.
        self.imported: set[str] = set()
        for statement in imports:
            bound = list(_import_bindings(statement, package))
            for local, qualified in bound:
                self.bindings.setdefault(local, qualified)
            if isinstance(statement, ast.Import):
                self.imported.update(alias.name for alias in statement.names)
            else:
                self.imported.update(qualified for _, qualified in bound)
        module_level = _module_level_imports(tree)
        self.nested_imports = len(imports) > len(module_level)
        for node in tree.body:
            if isinstance(node, (*_FunctionDef, ast.ClassDef)):
                self.bindings[node.name] = f"{module}.{node.name}"
        # Defined in a module-level block (`if __name__ == "__main__": async def
        # _main(): ...`), a name no module-level import binds: `visit_body` summarises it
        # under the module's name as well.
        imported_here = {
            local for node in module_level for local, _ in _import_bindings(node, package)
        }
        for name in _defined_in_blocks(tree.body):
            if name not in imported_here:
                self.bindings[name] = f"{module}.{name}"

    def resolve(self, expression: ast.expr, cls: str = "") -> str | None:
        """`a.b.c` as a qualified name; in a method of `cls`, `self.m` is `module.cls.m`."""
        parts: list[str] = []
        while isinstance(expression, ast.Attribute):
            parts.append(expression.attr)
            expression = expression.value
        if not isinstance(expression, ast.Name):
            return None
        # Interned: the same names recur in site after site, and a worker pickles its
        # answers for a chunk of files together, writing an object it has seen once:
        # each name then reaches the fact pass once per chunk (27 MB less at its peak
        # on the agent corpus).
        if cls and parts and expression.id in ("self", "cls"):
            return sys.intern(".".join([f"{self.module}.{cls}", *reversed(parts)]))
        head = self.local.get(expression.id) or self.bindings.get(expression.id)
        if head is None:
            head = f"builtins.{expression.id}" if expression.id == "open" else expression.id
        return sys.intern(".".join([head, *reversed(parts)]))

    def within(self, function: _Function) -> None:
        """Resolve the names a function imports in its own body (not in the functions
        and classes it defines) as those imports bind them, the first one of each
        name, until the next function: `from subprocess import run` there is not the
        module's `run` (a function of its own, or another import)."""
        self.local = {}
        if not self.nested_imports:
            return
        # In the order of the text: `try: from httpx import Client` comes before its
        # `except ImportError:` fallback.
        stack: list[ast.stmt] = list(reversed(function.body))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for local, qualified in _import_bindings(node, self.package):
                    self.local.setdefault(local, qualified)
            elif not isinstance(node, (*_FunctionDef, ast.ClassDef)):
                stack.extend(reversed([s for block in _blocks(node) for s in block]))


def summarise(
    tree: ast.Module,
    module: str,
    package: str,
    release_methods: frozenset[str],
    permit_types: frozenset[str] = frozenset(),
    names_resources: bool = True,
    transports: Mapping[str, frozenset[str]] | None = None,
    process_starters: frozenset[str] = frozenset(),
    class_transport_owners: frozenset[str] = frozenset(),
) -> ModuleSummary:
    """The summary of one module (`module`: its dotted name; `package`: where its
    relative imports start, see modules.package_of; `permit_types`: the semaphore and
    lock types whose `acquire()` is owed back; `names_resources`: whether its text
    names a catalog constructor, see ModuleSummary; `transports`: catalog constructor
    -> the keywords that hand it a transport it then does not own; `class_transport_owners`:
    the constructors that own a transport a class builds right in their call;
    `process_starters`: the constructors of a child process)."""
    names = _Names(module, package, tree)
    summary = _Summariser(names, release_methods | {"__exit__", "__aexit__"})
    summary.arguments.starters = _starters_here(names, process_starters)
    summary.transports = transports or {}
    summary.class_transport_owners = class_transport_owners
    summary.surely_set_globals = _set_at_import(tree)
    summary.visit_body(tree.body, Lifetime.ONCE, "", "")
    takers, givers = _permit_wrappers(tree, names, permit_types)
    caches = _module_dicts(tree, names)
    cache_keys = _cache_keys(tree, caches) if caches else {}
    logger_names, logger_returns = _logger_sources(tree, names, summary.function_returns)
    call_args, referenced, process_targets = summary.arguments.result()
    return ModuleSummary(
        module=module,
        aliases=module_aliases(tree, package),
        returns_fresh=summary.returns_fresh,
        maybe_fresh=summary.maybe_fresh,
        releases=summary.releases,
        hands_on=summary.hands_on,
        params=summary.params,
        takes=summary.takes,
        classes=tuple(summary.classes),
        bases=summary.bases,
        constructions=tuple(dict.fromkeys(summary.constructions)),
        properties=tuple(summary.properties),
        permit_takers=takers,
        permit_givers=givers,
        defines_cache=bool(caches),
        cache_keys=cache_keys,
        decorator_factories=_decorator_factories(tree, cache_keys),
        logger_names=logger_names,
        logger_returns=logger_returns,
        log_sources=_log_sources(names, logger_names, summary.log_receivers),
        released_attributes=_class_releases(
            tree, module, release_methods, summary.releasing_classes
        ),
        call_args=call_args,
        referenced=referenced,
        entry_points=tuple(summary.entry_points),
        process_targets=process_targets,
        names_resources=names_resources,
    )


class _Summariser:
    def __init__(self, names: _Names, release_methods: frozenset[str]) -> None:
        self.names = names
        self.release_methods = release_methods
        self.returns_fresh: dict[str, tuple[str, ...]] = {}
        self.maybe_fresh: dict[str, tuple[int, ...]] = {}
        # Module-level names bound to a call's result at import time, and per class
        # (qualname in the module) the attributes its `__init__` body sets so: a getter's
        # fresh fallback for one of them never runs.
        self.surely_set_globals: frozenset[str] = frozenset()
        self.surely_set: dict[str, frozenset[str]] = {}
        self.releases: dict[str, tuple[int, ...]] = {}
        self.hands_on: dict[str, tuple[tuple[str, Union[int, str], int], ...]] = {}
        self.params: dict[str, tuple[str, ...]] = {}
        self.takes: dict[str, tuple[int, ...]] = {}
        self.classes: list[str] = []
        self.bases: dict[str, tuple[str, ...]] = {}
        self.properties: list[str] = []
        self.constructions: list[Construction] = []
        self.entry_points: list[str] = []
        self.transports: Mapping[str, frozenset[str]] = {}
        self.class_transport_owners: frozenset[str] = frozenset()
        # Gathered from each function's own nodes, on the walk made for the rest: what
        # it logs with, which module-level classes release anything (only those are
        # read again for `released_attributes`), and what module-level functions
        # return (for `logger_returns`).
        self.log_receivers: set[str] = set()
        self.releasing_classes: set[str] = set()
        self.function_returns: dict[str, tuple[list[ast.expr], dict[str, ast.expr]]] = {}
        self.declared: dict[str, set[str]] = {}
        # The class (qualname in the module) whose method is being summarised, and
        # whether the method is a classmethod.
        self.current_class = ""
        self.in_classmethod = False
        # The `__init__` being summarised, and (worked out when a construction it holds
        # asks) which parameters each of its calls needs to be None.
        self.current_init: _Function | None = None
        self.none_gates: dict[int, frozenset[str]] | None = None
        # The names that `:=` binds in that `__init__`.
        self.init_walrus: frozenset[str] = frozenset()
        # The parameters of the function being summarised (none at module level).
        self.current_params: frozenset[str] = frozenset()
        # Locals of that method bound once and then returned, or stored on `self`: a
        # construction bound to one lives as the function's result or the instance does.
        self.returned_locals: frozenset[str] = frozenset()
        self.held_locals: frozenset[str] = frozenset()
        # Locals of that method -> attributes of theirs it releases (`x.session.close()`).
        self.closed_parts: dict[str, frozenset[str]] = {}
        # Names the method binds itself, which hide the module's names of the same spelling.
        self.shadowing: set[str] = set()
        # Closures the function being summarised runs once per run (`_closures_run_once`),
        # and functions a compound statement holds that are summarised apart (by id).
        self.once_closures: set[int] = set()
        self.visited_apart: set[int] = set()
        self.thread_once: set[int] = set()
        # What calls of project functions pass (for the unbounded-cache rule), and
        # whether the statements being visited are the `__main__` block's.
        self.arguments = _ArgumentSources(names, names.module)
        self.in_main = False

    def visit_body(self, body: list[ast.stmt], lifetime: Lifetime, owner: str, cls: str) -> None:
        """Statements at module level or in a class body (`owner`: the class's qualname)."""
        for node in body:
            if isinstance(node, _FunctionDef):
                self.visit_function(node, owner, cls)
            elif isinstance(node, ast.ClassDef):
                qualname = f"{owner}.{node.name}" if owner else node.name
                self.classes.append(f"{self.names.module}.{qualname}")
                # `Provider[AsyncGroq]`: a generic base is its origin class.
                self.bases[f"{self.names.module}.{qualname}"] = tuple(
                    self.names.resolve(base.value if isinstance(base, ast.Subscript) else base)
                    or "?"
                    for base in node.bases
                )
                self.surely_set[qualname] = _set_by_init(node)
                self.visit_body(node.body, lifetime, qualname, qualname)
            else:
                main_block = isinstance(node, ast.If) and _is_main_guard(node.test)
                blocks = list(_blocks(node))
                self.visited_apart = _defined_in(blocks) if blocks else set()
                own = self.record_calls(node, Lifetime.ONCE if main_block else lifetime, "", "")
                self.visited_apart = set()
                if blocks:
                    # Its statements are scanned one by one below: only the header here.
                    header = [
                        child
                        for child in _children(node)
                        if not isinstance(child, (ast.stmt, ast.excepthandler, *_MATCH_CASE))
                    ]
                    for case in getattr(node, "cases", ()):
                        header.append(case.pattern)
                        if case.guard is not None:
                            header.append(case.guard)
                    self.arguments.scan_expressions(header, self.in_main)
                else:
                    self.arguments.scan_statement(own, self.in_main)
                # `try: def f(): ...`, `if TYPE_CHECKING: class C: ...`
                outer_main = self.in_main
                self.in_main = outer_main or main_block
                for block in blocks:
                    self.visit_body(block, lifetime, owner, cls)
                self.in_main = outer_main

    def visit_function(self, function: _Function, owner: str, cls: str) -> None:
        qualname = f"{owner}.{function.name}" if owner else function.name
        full = f"{self.names.module}.{qualname}"
        self.current_class = cls
        self.names.within(function)
        decorators = {_terminal(d) for d in function.decorator_list}
        self.in_classmethod = bool(cls) and "classmethod" in decorators
        memoised = bool(decorators & MEMOISERS)
        if decorators - _PLAIN_DECORATORS:
            self.entry_points.append(full)
        params = _positional(function, method=bool(cls) and "staticmethod" not in decorators)
        # Every question below reads the same nodes: the body is walked once.
        own = _Own(_children(function), function.body)
        own_locals = _local_stores(own)
        single = _single_bindings(own)
        declared = _declared(own)
        self.note_logging_and_releases(own, single, owner, cls, function)
        fresh = None
        if not memoised and not decorators & LENDERS:
            fresh = self.fresh_returns(own, single, declared, params, cls, own_locals)
        if fresh:
            self.returns_fresh[qualname], gates = fresh
            if gates is not None:
                self.maybe_fresh[qualname] = gates
            if cls and "property" in decorators:
                self.properties.append(qualname)
        self.params[qualname] = tuple(params)
        taken = self.taken_params(own, params, own_locals)
        if taken:
            self.takes[qualname] = taken
        released, handed = self.released_params(own, params)
        if released:
            self.releases[qualname] = released
        if handed:
            self.hands_on[qualname] = handed
        lifetime = Lifetime.ONCE if memoised else Lifetime.PER_CALL
        self.declared[full] = declared
        self.returned_locals, self.held_locals = _handed_locals(own, single)
        self.closed_parts = _closed_parts(own, self.release_methods)
        # `Scraper = self.get_scraper(link)`: a local that shadows a module-level name
        # calls whatever it was bound to, not what the module's name refers to.
        arguments = function.args
        self.shadowing = own_locals | (
            {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
            - {"self", "cls"}
        )
        module_function = not owner
        self.arguments.scan(
            own,
            {name: i for i, name in enumerate(params)} if module_function else {},
            frozenset(self.shadowing | {"self", "cls"}),
            function.name if module_function else "",
            main=self.in_main,
        )
        if cls and function.name == "__init__":
            self.current_init = function
            self.init_walrus = frozenset(
                node.target.id
                for node in own.nodes
                if type(node) is ast.NamedExpr and isinstance(node.target, ast.Name)
            )
        self.current_params = frozenset(_parameter_names(function.args) - {"self", "cls"})
        if any(isinstance(node, _FunctionDef) for node in own.nested):
            uses = _ClosureUses(own)
            self.once_closures = uses.run_once()
            self.thread_once = self.threads_once(own, uses)
        for sites in own.sites:
            self.record_sites(sites, lifetime, full, f"{self.names.module}.{cls}" if cls else "")
        self.once_closures = self.thread_once = set()
        self.current_init = self.none_gates = None
        self.current_params = frozenset()
        self.returned_locals = self.held_locals = frozenset()
        self.closed_parts = {}
        self.shadowing = set()
        self.names.local = {}
        self.in_classmethod = False

    def note_logging_and_releases(
        self,
        own: _Own,
        single: dict[str, ast.expr],
        owner: str,
        cls: str,
        function: _Function,
    ) -> None:
        """From a function's own nodes: `log_receivers` (of a module-level function,
        only the calls the walk meets before a plain `return`: the walk takes the last
        statement first, so in the text, those after its last one), `releasing_classes` and
        `function_returns` (only for a function that cannot fall off its end, which
        would return None, and never returns None plainly)."""
        bindings = self.names.bindings
        calls = own.calls
        if not owner and own.bare_return_at is not None:
            calls = calls[: own.bare_return_at]
        for node in calls:
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in _LOG_METHODS
                and isinstance(func.value, ast.Name)
                and func.value.id in bindings
            ):
                self.log_receivers.add(bindings[func.value.id])
        releases = False
        if cls:
            # `self.x.close()`: only such classes are read again for what they release
            releases = any(
                node.attr in self.release_methods and _on_self(node.value)
                for node in own.attributes
            ) or any(_on_self(item.context_expr) for node in own.withs for item in node.items)
        returns: list[ast.expr] = []
        if not owner and own.bare_return_at is None:
            returns = [node.value for node in own.returns if node.value is not None]
        if cls and releases:
            self.releasing_classes.add(cls.split(".", 1)[0])
        ends = function.body[-1] if function.body else None
        if returns and not owner and isinstance(ends, (ast.Return, ast.Raise)):
            self.function_returns[function.name] = (returns, single)

    def record_calls(self, root: ast.stmt, lifetime: Lifetime, function: str, cls: str) -> _Own:
        """Every call under root with the lifetime of its site; returns root's own nodes
        (those of `_Own([root])`: the walk for the sites finds them too)."""
        own = _Own([root], (root,))
        self.record_sites(own.sites[0], lifetime, function, cls)
        return own

    def record_sites(
        self, sites: Iterable[_Site], lifetime: Lifetime, function: str, cls: str
    ) -> None:
        """Each call (`_Own.sites`) with the lifetime of its site."""
        for node, repeated, nesting, parent in sites:
            if nesting is not None and id(node) in self.visited_apart:
                continue  # in a function `visit_body` summarises on its own
            # A closure the function runs once per run (`asyncio.run(_main())`) runs
            # with it; one that sets an attribute of the `self` around it keeps what it
            # builds on the instance, as a method would.
            nested = False
            if nesting is not None and id(nesting) not in self.once_closures:
                nested = not (
                    cls
                    and _stored_on_self(parent)
                    and _sets_outer_self(nesting)
                    and id(nesting) in self.thread_once
                )
            head = node.func
            while isinstance(head, ast.Attribute):
                head = head.value
            if isinstance(head, ast.Name) and head.id in self.shadowing:
                continue
            callee = self.names.resolve(node.func, self.current_class)
            if callee == "cls" and self.in_classmethod:
                # `cls(...)` in a classmethod builds the class or any subclass it is
                # called on (`Sub.run_evaluator(...)`): the join expands the marker.
                callee = f"{self.names.module}.{self.current_class}{SUBCLASSES}"
            if callee is None:
                continue
            site = Lifetime.PER_CALL if nested else lifetime
            through = ""
            per_instance = False
            if site is not Lifetime.ONCE:
                local = _bound_local(parent)
                if repeated or nested:
                    site = Lifetime.PER_CALL
                elif (isinstance(parent, ast.Return) or local in self.returned_locals) and function:
                    site, through = Lifetime.RETURNED, function
                elif (_stored_on_self(parent) or local in self.held_locals) and cls:
                    site, through = Lifetime.HELD, cls
                elif _stored_elsewhere(parent, self.globals_of(function)):
                    site = Lifetime.STORED
                elif cls and function == f"{cls}.__init__":
                    # `__init__` runs once per instance: as often as the class is built,
                    # wherever the value goes (`super().__init__(model=model or M())`).
                    site, through, per_instance = Lifetime.HELD, cls, True
                else:
                    # Once per run of the function: as often as the project calls it.
                    through = function
            closes: tuple[str, ...] = ()
            if (
                (site is Lifetime.PER_CALL or per_instance)
                and through
                and local
                and _unawait(getattr(parent, "value", None) or node) is node
            ):
                closes = tuple(sorted(self.closed_parts.get(local, ())))
            # What a call of a project class passes decides which defaults its
            # `__init__` builds (which callees are the project's is known at the join).
            given = _given(node, self.current_params)
            unless: tuple[str, ...] = ()
            attribute = (_held_attribute(parent) or ANY_ATTRIBUTE) if site is Lifetime.HELD else ""
            if site is Lifetime.HELD and self.current_init is not None:
                if self.none_gates is None:
                    self.none_gates = _none_gates(self.current_init, self.init_walrus)
                unless = tuple(sorted(self.none_gates.get(id(node), ())))
            self.constructions.append(
                Construction(
                    callee,
                    site,
                    through,
                    closes,
                    given,
                    unless,
                    attribute,
                )
            )

    def threads_once(self, own: _Own, uses: _ClosureUses) -> set[int]:
        """The functions defined in a function's body whose one use is as what one
        thread it starts runs (`Thread(target=f)`, `Timer(1.0, f)`), not in a loop, and
        which nothing it defines names: each runs once per run of the function, in that
        thread."""
        found: set[int] = set()
        for closure in own.nested:
            if not isinstance(closure, _FunctionDef) or closure.name in uses.inner:
                continue
            loads = uses.loads(closure.name)
            if len(loads) != 1:
                continue
            for call in own.calls:
                if (
                    _runs_in_thread(call) is loads[0]
                    and uses.plain(call)
                    and self.names.resolve(call.func, self.current_class) in _THREAD_CLASSES
                    and _started(call, own)
                ):
                    found.add(id(closure))
        return found

    def globals_of(self, function: str) -> set[str]:
        """Names a function declares `global` or `nonlocal` (its stores outlive it)."""
        return self.declared.get(function, set())

    def fresh_returns(
        self,
        own: _Own,
        single: dict[str, ast.expr],
        shared: set[str],
        params: list[str],
        cls: str,
        own_locals: set[str],
    ) -> tuple[tuple[str, ...], tuple[int, ...] | None] | None:
        """The callables whose fresh results this function returns, and None when that
        is all it returns, else the parameters whose value it may return instead (a
        getter with a fresh fallback, see the module's docstring); None when neither
        (`own`: the function's own nodes; `single`: its locals bound once; `shared`: the
        names it declares global or nonlocal)."""
        if own.yields:
            return None
        # A global the function fills once (`global _pool; if _pool is None: _pool = ...`)
        # is a lazily built singleton, not a fresh value per call.
        bound = {k: v for k, v in single.items() if k not in shared}
        held = _Held(own, bound, params, shared, self.surely_set_globals, own_locals)
        held.surely_set = self.surely_set.get(cls, frozenset()) if cls else frozenset()
        callees: list[str] = []
        every: dict[str, list[ast.expr]] | None = None
        for node in own.returns:
            if node.value is None or _is_none(node.value):
                continue
            value = _unawait(node.value)
            values = [value]
            multiple = False
            if (
                isinstance(value, ast.Name)
                and value.id not in shared
                and held.source(value) is None
            ):
                if value.id in bound:
                    values = [bound[value.id]]
                else:
                    # `if azure: client = AzureOpenAI(...)` / `else: client = OpenAI(...)`:
                    # a local every binding of which is a plain assignment.
                    every = _plain_bindings(own) if every is None else every
                    values = every.get(value.id, values)
                    multiple = values[0] is not value
                if values[0] is not value and not self.only_returned(own, value.id):
                    return None
                if multiple and _handed_on(own, value.id):
                    return None
            for bound_value in values:
                for branch in _branches(_unawait(bound_value), held):
                    branch = _unawait(branch)
                    if held.source(branch) is not None:
                        if multiple:
                            # A held value bound in one branch (`client = self.client`):
                            # not a getter with a fresh fallback, which is one value.
                            return None
                        continue
                    if not isinstance(branch, ast.Call):
                        return None
                    callee = self.names.resolve(branch.func, self.current_class)
                    if callee is None:
                        return None
                    if self.over_borrowed_transport(branch, callee, bound):
                        continue  # a client over the instance's transport holds no sockets
                    callees.append(callee)
        if not callees or held.unsure:
            return None
        gates = None if not held.sources else tuple(sorted(held.gates))
        return tuple(dict.fromkeys(callees)), gates

    def over_borrowed_transport(
        self, call: ast.Call, callee: str, bound: dict[str, ast.expr]
    ) -> bool:
        """`AsyncOpenAI(http_client=self._get_http_client())`, `httpx.Client(transport=
        get_transport())`: the client is given a transport that a method or a function
        hands out, which may be shared, so it owns no connection of its own. One a class
        builds right in the call (`httpx.HTTPTransport()`, `DefaultHttpxClient()`) is
        the client's, where the constructor owns such (`class_transport_owners`). (An
        attribute may hold None, with which the client makes its own.)"""
        keywords = self.transports.get(callee)
        if not keywords:
            return False
        for keyword in call.keywords:
            if keyword.arg not in keywords:
                continue
            value = keyword.value
            if isinstance(value, ast.Name) and value.id in bound:
                value = _unawait(bound[value.id])
            if isinstance(value, ast.Call):
                made = self.names.resolve(value.func, self.current_class) or ""
                builds = _constructs(value) or is_capwords(made.rsplit(".", 1)[-1])
                return not (callee in self.class_transport_owners and builds)
            return False
        return False

    def only_returned(self, own: _Own, name: str) -> bool:
        """Whether the local is used only as a receiver of plain calls and in returns:
        not released, entered, stored or handed to another owner."""
        for node in own.withs:
            if any(_mentions(item.context_expr, name) for item in node.items):
                return False
        for attribute in own.attributes:
            if (
                isinstance(attribute.value, ast.Name)
                and attribute.value.id == name
                and attribute.attr in self.release_methods
            ):
                return False
        for assign in own.assigns:
            if assign.value is None:
                continue
            targets = assign.targets if isinstance(assign, ast.Assign) else [assign.target]
            if _mentions(assign.value, name) and any(not isinstance(t, ast.Name) for t in targets):
                return False
        return True

    def taken_params(self, own: _Own, params: list[str], own_locals: set[str]) -> tuple[int, ...]:
        """Parameters whose value the function keeps beyond the call or gives to an
        owner: stored anywhere but a plain local, built into a class (a CapWords
        callee, as the precision contract counts classes), or returned."""
        index = {name: i for i, name in enumerate(params)}
        if not index:
            return ()
        taken: set[int] = set()
        locals_ = own_locals
        for assign in own.assigns:
            if assign.value is not None and any(
                not isinstance(t, ast.Name) for t in _targets(assign)
            ):
                taken |= {index[n] for n in _names_in(assign.value) if n in index}
        for returned in own.returns:
            if returned.value is not None:
                taken |= {index[n] for n in _names_in(returned.value) if n in index}
        for node in own.calls:
            terminal = _terminal(node.func)
            builds_class = terminal[:1].isupper() and any(c.islower() for c in terminal)
            if builds_class or _stores_into_lasting(node, locals_):
                arguments = [*node.args, *(k.value for k in node.keywords)]
                taken |= {
                    index[a.id] for a in arguments if isinstance(a, ast.Name) and a.id in index
                }
        return tuple(sorted(taken))

    def released_params(
        self, own: _Own, params: list[str]
    ) -> tuple[tuple[int, ...], tuple[tuple[str, Union[int, str], int], ...]]:
        """Parameters the function releases itself, and those it hands to other calls."""
        index = {name: i for i, name in enumerate(params)}
        if not index:
            return (), ()
        released: set[int] = set()
        handed: set[tuple[str, Union[int, str], int]] = set()
        for attribute in own.attributes:
            value = attribute.value
            if (
                isinstance(value, ast.Name)
                and value.id in index
                and attribute.attr in self.release_methods
            ):
                released.add(index[value.id])
        for node in own.withs:
            for item in node.items:
                expression = item.context_expr
                if isinstance(expression, ast.Name) and expression.id in index:
                    released.add(index[expression.id])
        for inner in _called_closures(own):
            # `async def run(): ...; await engine.dispose()` then `asyncio.run(run())`:
            # what a closure the function runs releases, the function releases.
            visible = {name: i for name, i in index.items() if name not in _own_names(inner)}
            released |= _released_calls(inner, visible, self.release_methods)
        for call in own.calls:
            run = self._run_elsewhere(call, index, own)
            if run is not None:
                handed.update(run)
            passed: list[tuple[Union[int, str], int]] = [
                (position, index[argument.id])
                for position, argument in enumerate(call.args)
                if isinstance(argument, ast.Name) and argument.id in index
            ]
            passed += [
                (keyword.arg, index[keyword.value.id])
                for keyword in call.keywords
                if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id in index
            ]
            if not passed:
                continue  # hands on no parameter: the callee need not be resolved
            callee = self.names.resolve(call.func, self.current_class)
            if callee is not None:
                handed.update((callee, where, parameter) for where, parameter in passed)
        ordered = sorted(handed, key=lambda hand: (hand[0], str(hand[1]), hand[2]))
        return tuple(sorted(released)), tuple(ordered)

    def _run_elsewhere(
        self, call: ast.Call, index: Mapping[str, int], own: _Own
    ) -> list[tuple[str, Union[int, str], int]] | None:
        """`Thread(target=migrate, args=(engine,))` that the function starts,
        `await asyncio.to_thread(migrate, engine)`, `await
        asyncio.get_running_loop().run_in_executor(None, migrate, engine)`: the
        parameters the call hands to the function it runs (in a thread, where that
        function may release them), as a direct call would hand them. A thread never
        started, a coroutine never awaited, or a `run_in_executor` of something not
        known to be an event loop runs nothing here."""
        function: ast.expr | None = None
        arguments: Sequence[ast.expr] = ()
        callee = self.names.resolve(call.func, self.current_class)
        if callee in _THREAD_CLASSES:
            if not _started(call, own):
                return None
            keywords = {keyword.arg: keyword.value for keyword in call.keywords}
            function = keywords.get("target")
            given = keywords.get("args")
            if isinstance(given, (ast.Tuple, ast.List)):
                arguments = given.elts
        elif callee == "asyncio.to_thread" and call.args and _awaited(call, own):
            function, arguments = call.args[0], call.args[1:]
        elif (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_in_executor"
            and len(call.args) > 1
            and _awaited(call, own)
            and self._event_loop(call.func.value, own)
        ):
            function, arguments = call.args[1], call.args[2:]
        if function is None:
            return None
        target = self.names.resolve(function, self.current_class)
        if target is None:
            return None
        return [
            (target, position, index[argument.id])
            for position, argument in enumerate(arguments)
            if isinstance(argument, ast.Name) and argument.id in index
        ]

    def _event_loop(self, receiver: ast.expr, own: _Own) -> bool:
        """`asyncio.get_running_loop()` (or `get_event_loop()`), or a local bound once,
        and only, to one."""
        if isinstance(receiver, ast.Name):
            bound = [
                assign.value
                for assign in own.assigns
                if any(isinstance(t, ast.Name) and t.id == receiver.id for t in _targets(assign))
            ]
            if len(bound) != 1 or bound[0] is None or _bindings(own, receiver.id) != 1:
                return False
            receiver = bound[0]
        return (
            isinstance(receiver, ast.Call)
            and self.names.resolve(receiver.func, self.current_class) in _LOOP_GETTERS
        )


class _ClosureUses:
    """What tells whether a function defined in a function's body runs once per run of
    it: where each call of the body sits (`_Own.sites`), and the names the functions,
    lambdas and classes it defines read (`_names_in_nested`)."""

    def __init__(self, own: _Own) -> None:
        self.own = own
        self.where = {id(site[0]): site[1:3] for sites in own.sites for site in sites}
        self.inner = _names_in_nested(own)

    def plain(self, call: ast.Call) -> bool:
        """Whether the body makes the call once per run: not in a loop or a function."""
        return self.where.get(id(call)) == (False, None)

    def loads(self, name: str) -> list[ast.Name]:
        """The body's reads of a name."""
        return [n for n in self.own.names if n.id == name and isinstance(n.ctx, ast.Load)]

    def run_once(self) -> set[int]:
        """The functions defined in the body that run with it, once per call of each of
        its calls (`asyncio.run(_main())`, `build()`): `_called_closures`, with no
        decorator, whose name the body uses only to call them, never in a loop or a
        comprehension, and which no function or lambda it defines names (a callback
        that calls one runs it per call of its own; so does a recursive one)."""
        own = self.own
        closures = [c for c in _called_closures(own) if not c.decorator_list]
        if not closures:
            return set()
        repeated = {
            id(node)
            for comprehension in own.nodes
            if type(comprehension) in _COMPREHENSIONS
            for node in ast.walk(comprehension)
            if isinstance(node, ast.Call)
        }
        once: set[int] = set()
        for closure in closures:
            name = closure.name
            calls = [c for c in own.calls if isinstance(c.func, ast.Name) and c.func.id == name]
            if (
                name not in self.inner
                and len(self.loads(name)) == len(calls)
                and all(self.plain(c) and id(c) not in repeated for c in calls)
            ):
                once.add(id(closure))
        return once


def _names_in_nested(own: _Own) -> set[str]:
    """The names the functions, lambdas and classes a function defines read, other than
    those a function or lambda among them binds itself (its parameters and locals)."""
    found: set[str] = set()
    for root in own.nested:
        read: set[str] = set()
        bound: set[str] = set()
        for node in ast.walk(root):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        if isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            bound |= _parameter_names(root.args)
        else:
            bound = set()
        found |= read - bound
    return found


_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp})


def _sets_outer_self(nesting: ast.AST) -> bool:
    """Whether a nested function's `self` is the method's around it (it has none of
    its own)."""
    if not isinstance(nesting, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    return "self" not in _parameter_names(nesting.args)


def _defined_in(blocks: list[list[ast.stmt]]) -> set[int]:
    """The functions `visit_body` summarises on their own in these blocks of a
    compound statement: those defined there, in classes there, and in the blocks of the
    compound statements there (`if sys.platform != "win32": def main(): ...`)."""
    found: set[int] = set()
    stack = [statement for block in blocks for statement in block]
    while stack:
        node = stack.pop()
        if isinstance(node, _FunctionDef):
            # Every call in its body, however deep: `visit_function` records them.
            found.update(
                id(n) for part in node.body for n in ast.walk(part) if isinstance(n, ast.Call)
            )
        elif isinstance(node, ast.ClassDef):
            stack.extend(node.body)
        else:
            stack.extend(statement for block in _blocks(node) for statement in block)
    return found


def _called_closures(own: _Own) -> list[_Function]:
    """The functions defined in a function's body, and bound only there, that its body
    runs: a plain `def` called by name (`run()`), an `async def` awaited (`await
    run()`) or run (`asyncio.run(run())`)."""
    awaited = {id(node.value) for node in own.nodes if isinstance(node, ast.Await)} | {
        id(call.args[0])
        for call in own.calls
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "run"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "asyncio"
        and call.args
    }
    runs: dict[str, bool] = {}
    for call in own.calls:
        if isinstance(call.func, ast.Name):
            runs[call.func.id] = runs.get(call.func.id, False) or id(call) in awaited
    found: list[_Function] = []
    for node in own.nested:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name not in runs or _bindings(own, node.name) != 1:
            continue
        if isinstance(node, ast.AsyncFunctionDef) and not runs[node.name]:
            continue  # a coroutine made and never awaited runs nothing
        found.append(node)
    return found


def _released_calls(
    function: _Function, names: Mapping[str, int], methods: frozenset[str]
) -> set[int]:
    """The parameters (`names`) that a function's own calls release
    (`engine.dispose()`), not counting the functions, lambdas and classes it defines,
    which may never run."""
    return {
        names[call.func.value.id]
        for call in _Own(list(function.body)).calls
        if isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id in names
        and call.func.attr in methods
    }


def _started(thread: ast.Call, own: _Own) -> bool:
    """`Thread(...).start()`, or `t = Thread(...)`, `t` bound nowhere else, then
    `t.start()`; or `self._t = Thread(...)`, `self._t` set nowhere else here, then
    `self._t.start()`."""
    names = {
        target.id
        for assign in own.assigns
        if assign.value is thread
        for target in _targets(assign)
        if isinstance(target, ast.Name) and _bindings(own, target.id) == 1
    }
    attributes = {
        target.attr
        for assign in own.assigns
        if assign.value is thread
        for target in _targets(assign)
        if isinstance(target, ast.Attribute)
        and _self_attribute(target) is not None
        and _sets_on_self(own, target.attr) == 1
    }
    return any(
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "start"
        and (
            call.func.value is thread
            or (isinstance(call.func.value, ast.Name) and call.func.value.id in names)
            or (
                isinstance(call.func.value, ast.Attribute)
                and call.func.value.attr in attributes
                and _self_attribute(call.func.value) is not None
            )
        )
        for call in own.calls
    )


def _sets_on_self(own: _Own, attribute: str) -> int:
    """How many times a function's own code assigns `self.<attribute>`."""
    return sum(
        1
        for assign in own.assigns
        for target in _targets(assign)
        if isinstance(target, ast.Attribute)
        and target.attr == attribute
        and _self_attribute(target) is not None
    )


def _bindings(own: _Own, name: str) -> int:
    """How many times a function's own code binds the name (see `_bound_name`)."""
    return sum(_bound_name(node) == name for node in own.nodes)


def _awaited(call: ast.Call, own: _Own) -> bool:
    return any(isinstance(node, ast.Await) and node.value is call for node in own.nodes)


_LOOP_GETTERS = frozenset({"asyncio.get_running_loop", "asyncio.get_event_loop"})


def _own_names(function: _Function) -> set[str]:
    """The names a function binds itself: its parameters and what its body stores."""
    names = _parameter_names(function.args)
    for statement in function.body:
        names |= _stored_names(statement)
    return names


# The classes whose instances run `target(*args)` in a thread of this process.
_THREAD_CLASSES = frozenset({"threading.Thread", "threading.Timer"})


def _runs_in_thread(call: ast.Call) -> ast.expr | None:
    """What a `Thread(target=f)` or `Timer(interval, f)` call gives its thread to run."""
    for keyword in call.keywords:
        if keyword.arg in ("target", "function"):
            return keyword.value
    return call.args[1] if len(call.args) > 1 else None


def _positional(function: _Function, *, method: bool) -> list[str]:
    """Positional parameter names as callers count them (a method's receiver dropped)."""
    params = [p.arg for p in (*function.args.posonlyargs, *function.args.args)]
    decorators = {_terminal(d) for d in function.decorator_list}
    if method and params and "staticmethod" not in decorators:
        params = params[1:]
    return params


def _terminal(expression: ast.expr) -> str:
    if isinstance(expression, ast.Call):
        expression = expression.func
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Name):
        return expression.id
    return ""


# A call in a statement, whether a loop may run it many times per run of the statement,
# the nested function it sits in (which runs whenever it is called; `DEEPER` for one in
# a function nested in another, None for none), and the statement it is the kept value
# of (see `_Own`).
_Site = tuple[ast.Call, bool, Optional[ast.AST], Optional[ast.AST]]
# The nesting of a call in a function nested two levels or more.
DEEPER = ast.AST()
# (`ast.match_case` is new in Python 3.10.)
_MATCH_CASE: tuple[type[ast.AST], ...] = (ast.match_case,) if hasattr(ast, "match_case") else ()


class _Own:
    """A function's own nodes (not those of the functions, lambdas and classes it
    defines; depth first, last child first: the order the questions were written for),
    and those that the summariser's questions read, by kind, each list in that same
    order: one walk serves every question, and each reads only the nodes it asks about
    (a function's nodes are mostly names, constants and operators, which most
    questions skip).

    Given the function's `body` (or a module-level statement as its own body), the
    same walk also finds the calls of each of its statements with their context
    (`sites`), going into nested functions for those alone."""

    __slots__ = (
        "assigns",
        "attributes",
        "bare_return_at",
        "calls",
        "names",
        "nested",
        "nodes",
        "returns",
        "shared",
        "sites",
        "withs",
        "yields",
    )

    def __init__(self, roots: list[ast.AST], body: Sequence[ast.stmt] = ()) -> None:
        self.nodes: list[ast.AST] = []
        self.calls: list[ast.Call] = []
        self.attributes: list[ast.Attribute] = []
        self.names: list[ast.Name] = []
        self.assigns: list[ast.Assign | ast.AnnAssign] = []
        self.returns: list[ast.Return] = []
        self.withs: list[ast.With | ast.AsyncWith] = []
        # `global` and `nonlocal` statements.
        self.shared: list[ast.Global | ast.Nonlocal] = []
        # Functions, lambdas and classes defined in these nodes (not walked into).
        self.nested: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef] = []
        self.yields = False
        # How many calls come before the first `return` without a value (None: none).
        self.bare_return_at: int | None = None
        # The calls of each statement of `body`, in its order.
        self.sites: list[list[_Site]] = [[] for _ in body]
        self._walk(roots, {id(statement): i for i, statement in enumerate(body)})

    def _walk(self, roots: list[ast.AST], statements: dict[int, int]) -> None:
        kinds: dict[type[ast.AST], list[Any]] = {
            ast.Call: self.calls,
            ast.Attribute: self.attributes,
            ast.Name: self.names,
            ast.Assign: self.assigns,
            ast.AnnAssign: self.assigns,
            ast.Return: self.returns,
            ast.With: self.withs,
            ast.AsyncWith: self.withs,
            ast.Global: self.shared,
            ast.Nonlocal: self.shared,
            ast.FunctionDef: self.nested,
            ast.AsyncFunctionDef: self.nested,
            ast.Lambda: self.nested,
            ast.ClassDef: self.nested,
        }
        nodes, nested, sites = self.nodes, self.nested, self.sites
        # (node, whether it is the function's own, the statement whose calls it holds
        # (-1: none), then: in a loop, the nested function or lambda it is in (see
        # `_Site`), and the statement it is the kept value of)
        stack: list[tuple[ast.AST, bool, int, bool, ast.AST | None, ast.AST | None]] = [
            (root, True, statements.get(id(root), -1), False, None, None) for root in roots
        ]
        while stack:
            node, owned, statement, in_loop, in_nested, parent = stack.pop()
            kind = type(node)
            if owned:
                nodes.append(node)
                bucket = kinds.get(kind)
                if bucket is not None:
                    bucket.append(node)
                    if bucket is nested:
                        owned = False
                    elif (
                        isinstance(node, ast.Return)
                        and node.value is None
                        and self.bare_return_at is None
                    ):
                        self.bare_return_at = len(self.calls)
                elif kind is ast.Yield or kind is ast.YieldFrom:
                    self.yields = True
            if kind is _NAME or kind is _CONSTANT:
                # Half of all nodes: no children (`astwalk.children`), and no call.
                continue
            if statement < 0:
                if owned:
                    stack.extend(
                        [(child, True, -1, False, None, None) for child in _children(node)]
                    )
                continue
            if kind is ast.Call:
                sites[statement].append((cast(ast.Call, node), in_loop, in_nested, parent))
            children = _children(node)
            if not children:
                continue
            inner = in_nested
            loop = in_loop or kind in _LOOP_TYPES
            if kind in _NESTING_TYPES:
                # A `def` or a lambda: its body runs whenever it is called; its
                # decorators, defaults and annotations run where it is defined.
                body = cast(Union[_Function, ast.Lambda], node).body
                inside = {id(part) for part in body} if isinstance(body, list) else {id(body)}
                deeper = node if in_nested is None else DEEPER
                stack.extend(
                    [
                        (
                            child,
                            owned,
                            statement,
                            loop,
                            deeper if id(child) in inside else inner,
                            None,
                        )
                        for child in children
                    ]
                )
            elif kind in _DIRECT_TYPES:
                stack.extend([(child, owned, statement, loop, inner, node) for child in children])
            elif parent is None or kind not in _HOLDING_TYPES:
                stack.extend([(child, owned, statement, loop, inner, None) for child in children])
            else:
                # `return await C()`, `return C(...).model`, `return R(encoder=C())`,
                # `x = [C() for ...]`: what the statement keeps holds the construction,
                # which lives as long as that does.
                kept = {id(part) for part in _kept_parts(node)}
                stack.extend(
                    [
                        (
                            child,
                            owned,
                            statement,
                            loop,
                            inner,
                            parent if id(child) in kept else None,
                        )
                        for child in children
                    ]
                )


def _declared(own: _Own) -> set[str]:
    """Names the function declares `global` or `nonlocal`."""
    return {name for node in own.shared for name in node.names}


def _single_bindings(own: _Own) -> dict[str, ast.expr]:
    """Locals bound exactly once, by a plain assignment: name -> value."""
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for name in own.names:
        if isinstance(name.ctx, ast.Store):
            counts[name.id] = counts.get(name.id, 0) + 1
    for node in own.assigns:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                values[target.id] = node.value
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and isinstance(node.target, ast.Name)
        ):
            values[node.target.id] = node.value
    return {name: value for name, value in values.items() if counts.get(name) == 1}


def _handed_on(own: _Own, name: str) -> bool:
    """Whether the function passes the local to a call (`stack.enter_context(client)`,
    `_POOL.append(client)`, `closer(client)`) or names it in a function it defines (a
    cleanup it registers): another owner may keep or release it."""
    for call in own.calls:
        for argument in (*call.args, *(keyword.value for keyword in call.keywords)):
            passed = _unstarred(argument)
            if passed is not None and passed.id == name:
                return True
    return any(
        isinstance(node, ast.Name) and node.id == name
        for nested in own.nested
        for node in ast.walk(nested)
    )


def _unstarred(argument: ast.expr) -> ast.Name | None:
    value = argument.value if isinstance(argument, ast.Starred) else argument
    return value if isinstance(value, ast.Name) else None


def _plain_bindings(own: _Own) -> dict[str, list[ast.expr]]:
    """Locals bound more than once, each time by a plain assignment (`x = ...`, `x: T =
    ...`): name -> the values, in source order. A name also bound any other way (a
    loop, `with ... as`, an unpacking, `+=`, an import, a `case` capture) is left out."""
    values: dict[str, list[ast.expr]] = {}
    for node in own.assigns:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target: ast.expr = node.targets[0]
            value: ast.expr | None = node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and value is not None:
            values.setdefault(target.id, []).append(value)
    several = {name: found for name, found in values.items() if len(found) > 1}
    if not several:
        return {}
    # Every binding of each name, of any kind, counted in one pass (`_bound_name`).
    counts = Counter(_bound_name(node) for node in own.nodes)
    return {name: found for name, found in several.items() if counts[name] == len(found)}


def _stores_into_lasting(call: ast.Call, locals_: set[str]) -> bool:
    """`REGISTRY.append(x)`, `self.pool.add(x)`: a store method on a container that
    outlives the call (anything but a plain local of the function)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in STORE_METHODS:
        return False
    receiver = func.value
    return not (isinstance(receiver, ast.Name) and receiver.id in locals_)


def _local_stores(own: _Own) -> set[str]:
    """Names the function binds as its own locals (not parameters, which the caller
    handed in and may keep, and not names it declares global or nonlocal)."""
    names = {name.id for name in own.names if isinstance(name.ctx, ast.Store)}
    return names - _declared(own)


def _permit_wrappers(
    tree: ast.Module, names: _Names, permit_types: frozenset[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Top-level functions that only take a permit of a module-level semaphore or lock
    for their caller (the `acquire()` statement followed by nothing but a plain
    `return`), and those that give one back: the pairs a caller must use together."""
    if not permit_types:
        return {}, {}
    semaphores = {
        target.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and isinstance(node.value, ast.Call)
        and names.resolve(node.value.func) in permit_types
        for target in _targets(node)
        if isinstance(target, ast.Name)
    }
    takers: dict[str, str] = {}
    givers: dict[str, str] = {}
    for function in tree.body:
        if not isinstance(function, _FunctionDef) or not semaphores:
            continue
        used = {
            (node.func.value.id, node.func.attr)
            for node in _Own(_children(function)).calls
            if isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in semaphores
            and node.func.attr in ("acquire", "release")
        }
        for semaphore in semaphores:
            key = f"{names.module}.{semaphore}"
            if (semaphore, "release") in used and (semaphore, "acquire") not in used:
                givers[function.name] = key
            elif (
                (semaphore, "acquire") in used
                and (semaphore, "release") not in used
                and _only_takes(function, semaphore)
            ):
                takers[function.name] = key
    return takers, givers


def _only_takes(function: _Function, semaphore: str) -> bool:
    """The body takes the permit in a statement followed by nothing or a plain return."""
    body = [s for s in function.body if not _is_docstring(s)]
    for index, statement in enumerate(body):
        if isinstance(statement, ast.Expr):
            call = _unawait(statement.value)
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "acquire"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == semaphore
                and not call.args
                and not call.keywords
            ):
                rest = body[index + 1 :]
                return not rest or (
                    len(rest) == 1
                    and isinstance(rest[0], ast.Return)
                    and (rest[0].value is None or isinstance(rest[0].value, ast.Name))
                )
    return False


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _closed_parts(own: _Own, release_methods: frozenset[str]) -> dict[str, frozenset[str]]:
    """Local -> the attributes of it the function releases (`x.session.close()`)."""
    found: dict[str, set[str]] = {}
    for node in own.calls:
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in release_methods
            and isinstance(node.func.value, ast.Attribute)
            and isinstance(node.func.value.value, ast.Name)
        ):
            found.setdefault(node.func.value.value.id, set()).add(node.func.value.attr)
    return {name: frozenset(parts) for name, parts in found.items()}


def _handed_locals(own: _Own, single: dict[str, ast.expr]) -> tuple[frozenset[str], frozenset[str]]:
    """Locals bound once that the function returns (`store = C(...); ...; return store`)
    and those it stores on `self` (`client = C(...); self.client = client`)."""
    returned: set[str] = set()
    held: set[str] = set()
    # `sparse = built`: a plain copy of one local into another.
    copies: list[tuple[str, str]] = []
    for returned_node in own.returns:
        if returned_node.value is not None:
            value = _unawait(returned_node.value)
            if isinstance(value, ast.Name) and value.id in single:
                returned.add(value.id)
                value = _unawait(single[value.id])
            # `return cls(vectorizer=vectorizer)`: what the returned object is built
            # with lives as long as it does (a class takes what it is given).
            returned.update(_built_with(value))
    for node in own.assigns:
        if not isinstance(node, ast.Assign):
            continue
        if _stored_on_self(node):
            if isinstance(node.value, ast.Name) and node.value.id in single:
                held.add(node.value.id)
            held.update(_built_with(node.value))
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Name)
        ):
            copies.append((node.targets[0].id, node.value.id))
    return _through_copies(returned, copies), _through_copies(held, copies)


def _through_copies(names: set[str], copies: list[tuple[str, str]]) -> frozenset[str]:
    """The names plus the locals copied into them (`sparse = built; return R(sparse)`
    returns what `built` holds too)."""
    found = set(names)
    changed = bool(found) and bool(copies)
    while changed:
        changed = False
        for target, source in copies:
            if target in found and source not in found:
                found.add(source)
                changed = True
    return frozenset(found)


def _built_with(value: ast.expr) -> set[str]:
    """Names that a class construction is given (`cls(v)`, `Router(v=v)`): the
    contract counts a class as taking over what it is passed."""
    if not isinstance(value, ast.Call) or not _constructs(value):
        return set()
    arguments = [*value.args, *(k.value for k in value.keywords)]
    return {a.id for a in arguments if isinstance(a, ast.Name)}


def _bound_local(parent: ast.AST | None) -> str:
    """The one plain name a statement binds its value to (`x = C(...)`), else ""."""
    targets = _targets(parent)
    if len(targets) == 1 and isinstance(targets[0], ast.Name):
        return targets[0].id
    return ""


def _unawait(expression: ast.expr) -> ast.expr:
    return expression.value if isinstance(expression, ast.Await) else expression


def _is_none(expression: ast.expr) -> bool:
    return isinstance(expression, ast.Constant) and expression.value is None


def _names_in(expression: ast.AST) -> Iterator[str]:
    """Names loaded in an expression, except under a call: `{"c": c}` and `(a, b)` hold
    their names, `f(c)` makes something new from it."""
    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            yield node.id
        elif not isinstance(node, (ast.Call, ast.Lambda, ast.Attribute, ast.Subscript)):
            stack.extend(_children(node))


def _mentions(expression: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in walk(expression))


def _targets(parent: ast.AST | None) -> list[ast.expr]:
    if isinstance(parent, ast.Assign):
        return parent.targets
    if isinstance(parent, ast.AnnAssign):
        return [parent.target]
    return []


def _strings(row: list[object], index: int) -> tuple[str, ...]:
    """A stored row's list of strings at `index` (none in a row written before it was)."""
    part = row[index] if len(row) > index else None
    return tuple(str(item) for item in part) if isinstance(part, list) else ()


def _given(call: ast.Call, params: frozenset[str]) -> tuple[str, ...]:
    """What a call surely passes (see Construction.given): not a false constant (`None`,
    `False`, `0`, `""`, an empty literal), nor a parameter of the calling function
    handed on (`Fetcher(url, client=client)` in `def make(url, client=None)`), which
    may be any of those."""
    found: list[str] = []
    for index, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred):
            return ("*",)
        if _surely_given(argument, params):
            found.append(str(index))
    for keyword in call.keywords:
        if keyword.arg is None:
            return ("*",)
        if _surely_given(keyword.value, params):
            found.append(keyword.arg)
    return tuple(found)


def _surely_given(value: ast.expr, params: frozenset[str]) -> bool:
    if isinstance(value, ast.Constant):
        return bool(value.value)
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return bool(value.elts)
    if isinstance(value, ast.Dict):
        return bool(value.keys)
    return not (isinstance(value, ast.Name) and value.id in params)


def _none_gates(function: _Function, walrus: frozenset[str]) -> dict[int, frozenset[str]]:
    """For each call of the function's body, the parameters that must be None (or
    false) for it to run: it sits in a branch taken only then (`if llm is None:`, the
    `else` of `if db is not None:`, after `if client: return`), or after `client or`
    (`self.client = client or Client()`). A parameter counts only until the function
    binds it again (`llm = ...`, `except ... as llm`, a later round of a loop that binds
    it): a test after that is about the new value; one bound by `:=` (`walrus`, the
    function's own) counts nowhere. One walk of the body: each statement's expressions
    once, collecting what they bind on the way."""
    arguments = function.args
    params = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)} - {
        "self",
        "cls",
        *walrus,
    }
    gates: dict[int, frozenset[str]] = {}

    def when(test: ast.expr, outcome: bool, rebound: set[str]) -> frozenset[str]:
        return _none_when(test, outcome, params - rebound)

    def expression(root: ast.AST, need: frozenset[str], rebound: set[str], bound: set[str]) -> None:
        stack: list[tuple[ast.AST, frozenset[str]]] = [(root, need)]
        while stack:
            node, required = stack.pop()
            name = _bound_name(node)
            if name:
                bound.add(name)
            if isinstance(node, (ast.Name, ast.alias, ast.Lambda)):
                continue  # a lambda runs later, if at all: its calls are sites of their own
            if isinstance(node, ast.Call) and required:
                gates[id(node)] = required
            if isinstance(node, ast.BoolOp):
                # `a or b`: b runs only when a is false; `a and b`: only when a is true.
                either = isinstance(node.op, ast.Or)
                for value in node.values:
                    stack.append((value, required))
                    required = required | when(value, not either, rebound)
            elif isinstance(node, ast.IfExp):
                stack.append((node.test, required))
                stack.append((node.body, required | when(node.test, True, rebound)))
                stack.append((node.orelse, required | when(node.test, False, rebound)))
            else:
                stack.extend((child, required) for child in ast.iter_child_nodes(node))

    def block(statements: Sequence[ast.stmt], need: frozenset[str], rebound: set[str]) -> set[str]:
        """Walks the statements; returns the names they bind."""
        bound_here: set[str] = set()
        for statement in statements:
            bound: set[str] = set()
            if isinstance(statement, (*_FunctionDef, ast.ClassDef)):
                bound.add(statement.name)
            elif isinstance(statement, ast.If):
                expression(statement.test, need, rebound, bound)
                taken = when(statement.test, True, rebound)
                skipped = when(statement.test, False, rebound)
                bound |= block(statement.body, need | taken, set(rebound))
                bound |= block(statement.orelse, need | skipped, set(rebound))
                # Past an `if` whose one branch always leaves, the other one was taken.
                if _always_leaves(statement.body) and not _always_leaves(statement.orelse):
                    need = need | skipped
                elif _always_leaves(statement.orelse) and not _always_leaves(statement.body):
                    need = need | taken
            else:
                if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
                    # What the body binds, a later round of it sees from the start.
                    rebound = rebound | _stored_names(statement)
                cases = getattr(statement, "cases", ())
                for child in ast.iter_child_nodes(statement):
                    if isinstance(child, ast.ExceptHandler):
                        if child.name:
                            bound.add(child.name)
                    elif not isinstance(child, ast.stmt) and child not in cases:
                        expression(child, need, rebound, bound)
                for body in _blocks(statement):
                    bound |= block(body, need, set(rebound))
                for case in cases:
                    expression(case.pattern, need, rebound, bound)
                    if case.guard is not None:
                        expression(case.guard, need, rebound, bound)
                    bound |= block(case.body, need, set(rebound))
            rebound.update(bound)
            bound_here |= bound
        return bound_here

    block(function.body, frozenset(), set())
    return gates


def _none_when(test: ast.expr, outcome: bool, params: set[str]) -> frozenset[str]:
    """The parameters that must be None (or false) for `test` to come out `outcome`:
    `llm is None` true or `llm` false needs `llm` None; `a and b` true needs what each
    needs, false what both would; `or` the other way round."""
    if isinstance(test, ast.Name):
        return frozenset({test.id}) if not outcome and test.id in params else frozenset()
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _none_when(test.operand, not outcome, params)
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.left, ast.Name)
        and test.left.id in params
        and _is_none(test.comparators[0])
    ):
        is_none = isinstance(test.ops[0], (ast.Is, ast.Eq))
        if isinstance(test.ops[0], (ast.Is, ast.Eq, ast.IsNot, ast.NotEq)) and outcome == is_none:
            return frozenset({test.left.id})
        return frozenset()
    if isinstance(test, ast.BoolOp):
        parts = [_none_when(value, outcome, params) for value in test.values]
        # All must come out so (`and` true, `or` false), or any one may (the others
        # unknown): what every one of them needs.
        every = isinstance(test.op, ast.And) == outcome
        if every:
            return frozenset().union(*parts)
        return frozenset.intersection(*parts)
    return frozenset()


def _always_leaves(body: Sequence[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))


def _stored_names(statement: ast.stmt) -> set[str]:
    """Every name a statement binds, anywhere inside it (see `_bound_name`)."""
    return {name for node in ast.walk(statement) if (name := _bound_name(node))}


def _bound_name(node: ast.AST) -> str | None:
    """The name a node binds: assigned (a loop's or a `with`'s target too), `except ...
    as`, an import, a `def` or `class`, a `case` pattern's capture."""
    if isinstance(node, ast.Name):
        return node.id if isinstance(node.ctx, ast.Store) else None
    if isinstance(node, ast.alias):
        return (node.asname or node.name).split(".", 1)[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)):
        return node.name
    if isinstance(node, _CAPTURES):
        name = getattr(node, "name", None)
        return name if isinstance(name, str) else None
    return None


# The patterns of `match` that bind a name (`case Point(x=client)`, `case [*rest]`);
# none before Python 3.10.
_CAPTURES: tuple[type[Any], ...] = tuple(
    getattr(ast, name) for name in ("MatchAs", "MatchStar") if hasattr(ast, name)
)


def _stored_on_self(parent: ast.AST | None) -> bool:
    """`self.x = C(...)` (the receiver of a method is `self` by convention of its
    first parameter, which the summariser only asks inside methods)."""
    return any(
        isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
        for t in _targets(parent)
    )


# A held construction's attribute when the summary cannot tell which it is.
ANY_ATTRIBUTE = "?"


def _held_attribute(parent: ast.AST | None) -> str:
    """The attribute of `self.x = C(...)` (one target only), else ""."""
    targets = _targets(parent)
    return (_self_attribute(targets[0]) or "") if len(targets) == 1 else ""


def _stored_elsewhere(parent: ast.AST | None, globals_: set[str]) -> bool:
    """Assigned to another object's attribute, a subscript, or a global name."""
    return any(
        isinstance(t, (ast.Attribute, ast.Subscript))
        or (isinstance(t, ast.Name) and t.id in globals_)
        for t in _targets(parent)
    )


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested directly in a compound statement."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


# The expressions whose value may hold a part of them (see _kept_parts), as the exact
# node types that `_Own` looks up (a parsed tree holds no subclasses of these).
_HOLDING_TYPES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Await,
        ast.Attribute,
        ast.Subscript,
        ast.Starred,
        ast.List,
        ast.Tuple,
        ast.Set,
        ast.Dict,
        ast.ListComp,
        ast.SetComp,
        ast.GeneratorExp,
        ast.DictComp,
        ast.IfExp,
        ast.BoolOp,
        ast.Call,
        ast.keyword,
    }
)


def _kept_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of an expression that its value holds on to (not a call's callee,
    a condition, a key or a loop's iterable)."""
    if isinstance(node, (ast.Await, ast.Attribute, ast.Subscript, ast.Starred)):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return list(node.elts)
    if isinstance(node, ast.Dict):
        return [v for v in node.values if v is not None]
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return [node.elt]
    if isinstance(node, ast.DictComp):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.Call) and _constructs(node):
        return [*node.args, *node.keywords]
    if isinstance(node, ast.keyword):
        return [node.value]
    return []


def _constructs(call: ast.Call) -> bool:
    """Whether a call builds an instance of a class (`cls(...)`, `Router(...)`): the
    contract counts a class as taking over what it is given."""
    callee = _terminal(call.func)
    return callee == "cls" or is_capwords(callee)


# For a call's context (`_Own`): what runs it whenever it is called, what may run it
# many times, and the statements whose value it may be.
_NESTING_TYPES: frozenset[type[ast.AST]] = frozenset(
    {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda}
)
_LOOP_TYPES: frozenset[type[ast.AST]] = frozenset(
    {ast.For, ast.AsyncFor, ast.While, ast.comprehension}
)
_NAME, _CONSTANT = ast.Name, ast.Constant
_DIRECT_TYPES: frozenset[type[ast.AST]] = frozenset({ast.Return, ast.Assign, ast.AnnAssign})


class _Held:
    """What a getter may return instead of a fresh value: an attribute of `self`, a
    global or a parameter that the function itself never sets. Setting it (a lazy
    singleton), or one surely set before any call, makes the getter no factory at all
    (`unsure`)."""

    def __init__(
        self,
        own: _Own,
        bound: dict[str, ast.expr],
        params: list[str],
        declared: set[str],
        surely_set_globals: frozenset[str],
        own_locals: set[str],
    ) -> None:
        self.bound = bound
        self.params = {name: i for i, name in enumerate(params)}
        self.declared = declared
        self.own = own
        self.own_locals = own_locals
        self.surely_set_globals = surely_set_globals
        self.surely_set: frozenset[str] = frozenset()
        self._stored: frozenset[str] | None = None
        self.sources: set[str] = set()
        self.gates: set[int] = set()
        self.unsure = False

    def stored(self) -> frozenset[str]:
        """Attributes the function sets on `self` (on first need)."""
        if self._stored is None:
            self._stored = _self_stores(self.own)
        return self._stored

    def source(self, expression: ast.expr, depth: int = 0) -> str | None:
        """The held value an expression reads (`self.x`, `getattr(self, "x", None)`, a
        global, a parameter, a local bound once to one of those), else None."""
        attribute = _self_attribute(expression)
        if attribute is not None:
            if attribute in self.stored() or attribute in self.surely_set:
                self.unsure = True
            self.sources.add(f"self.{attribute}")
            return f"self.{attribute}"
        if not isinstance(expression, ast.Name) or depth > 4:
            return None
        name = expression.id
        if name in self.params:
            self.gates.add(self.params[name])
            self.sources.add(name)
            return name
        if name in self.bound:
            return self.source(self.bound[name], depth + 1)
        if name in self.own_locals or name in ("self", "cls", "None", "True", "False"):
            return None
        if name in self.declared or name in self.surely_set_globals:
            self.unsure = True
        self.sources.add(name)
        return name


def _self_attribute(expression: ast.expr) -> str | None:
    """`self.x` or `getattr(self, "x", ...)`: the attribute's name."""
    if (
        isinstance(expression, ast.Attribute)
        and isinstance(expression.value, ast.Name)
        and expression.value.id == "self"
    ):
        return expression.attr
    return _named_on_self(expression, "getattr")


def _named_on_self(node: ast.AST, builtin: str) -> str | None:
    """`getattr(self, "x", ...)` / `setattr(self, "x", ...)` (`builtin`): the attribute."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == builtin
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "self"
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def _self_stores(own: _Own) -> frozenset[str]:
    """Attributes the function sets on `self` (`self.x = ...`, `setattr(self, "x", ...)`)."""
    stored = {
        node.attr
        for node in own.attributes
        if isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    for call in own.calls:
        name = _named_on_self(call, "setattr")
        if name is not None:
            stored.add(name)
    return frozenset(stored)


def _branches(value: ast.expr, held: _Held) -> list[ast.expr]:
    """The values a returned expression may evaluate to: each operand of `a or b`,
    each arm of `a if t else b` (only when some of them is held: otherwise the
    expression itself, which is then judged whole)."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        leaves = [leaf for operand in value.values for leaf in _branches(operand, held)]
    elif isinstance(value, ast.IfExp):
        leaves = [*_branches(value.body, held), *_branches(value.orelse, held)]
    else:
        return [value]
    # A bare `a or b` of two calls is not a getter's fallback: judge it whole.
    if not any(_self_attribute(leaf) is not None or isinstance(leaf, ast.Name) for leaf in leaves):
        return [value]
    return leaves


def _surely_a_value(value: ast.expr | None) -> bool:
    """A call's result, or a fallback to one (`client or OpenAI()`): never None here."""
    if value is None:
        return False
    value = _unawait(value)
    if isinstance(value, ast.Call):
        return True
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        return _surely_a_value(value.values[-1])
    if isinstance(value, ast.IfExp):
        return _surely_a_value(value.body) and _surely_a_value(value.orelse)
    return False


# Methods that run when an instance is built, before any other method can: the
# constructor, the dataclass and attrs hooks, pydantic's post-init and model validators.
_CONSTRUCTION_HOOKS = frozenset(
    {"__init__", "__post_init__", "__attrs_post_init__", "model_post_init"}
)
_VALIDATOR_DECORATORS = frozenset({"model_validator", "root_validator"})


def _set_by_init(cls: ast.ClassDef) -> frozenset[str]:
    """Attributes that a construction hook (`__init__`, `__post_init__`,
    `model_post_init`, a pydantic model or root validator) sets to a value in its own
    body, outside any branch: set before any other method can run. A validator may set
    them in the values it returns (`values["client"] = OpenAI()`)."""
    found: set[str] = set()
    for member in cls.body:
        if not isinstance(member, _FunctionDef):
            continue
        validator = bool({_terminal(d) for d in member.decorator_list} & _VALIDATOR_DECORATORS)
        if member.name not in _CONSTRUCTION_HOOKS and not validator:
            continue
        positional = [a.arg for a in (*member.args.posonlyargs, *member.args.args)]
        values = positional[1] if validator and len(positional) > 1 else ""
        for statement in member.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _surely_a_value(
                statement.value
            ):
                for target in _targets(statement):
                    attribute = _self_attribute(target)
                    if attribute is None and values:
                        attribute = _constant_key(target, values)
                    if attribute is not None:
                        found.add(attribute)
    return frozenset(found)


def _constant_key(target: ast.expr, mapping: str) -> str | None:
    """`values["client"]`: the key, when target subscripts the named mapping."""
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == mapping
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    ):
        return target.slice.value
    return None


def _set_at_import(tree: ast.Module) -> frozenset[str]:
    """Module-level names bound to a value at import (`_client = OpenAI()`)."""
    return frozenset(
        target.id
        for statement in tree.body
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _surely_a_value(statement.value)
        for target in _targets(statement)
        if isinstance(target, ast.Name)
    )


# What binds an empty dict at module level: a cache or registry
# (analysis/dict_vocabulary.py names the same factories for the unbounded-cache rule).
_DICT_MAKERS = frozenset(
    {"builtins.dict", "dict", "collections.OrderedDict", "typing.OrderedDict"}
    | {"collections.defaultdict"}
)
# Methods of a dict that take a key first.
_KEYED_METHODS = frozenset({"setdefault", "get", "pop", "__setitem__", "__getitem__"})


def _module_dicts(tree: ast.Module, names: _Names) -> frozenset[str]:
    """Module-level names bound to an empty dict (`{}`, `dict()`, `defaultdict(list)`,
    `OrderedDict()`)."""
    found: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
            continue
        value = statement.value
        empty = isinstance(value, ast.Dict) and not value.keys
        if isinstance(value, ast.Call) and not value.keywords:
            maker = names.resolve(value.func)
            empty = maker in _DICT_MAKERS and (maker == "collections.defaultdict" or not value.args)
        if empty:
            found.update(t.id for t in _targets(statement) if isinstance(t, ast.Name))
    return frozenset(found)


def _cache_keys(tree: ast.Module, caches: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """Module-level function -> positional parameters that reach a key of one of the
    module's dicts (`C[k]`, `C[k][j]`, `C.setdefault(k, ...)`), directly or through a
    local bound once."""
    found: dict[str, tuple[int, ...]] = {}
    for function in tree.body:
        if not isinstance(function, _FunctionDef):
            continue
        index = {name: i for i, name in enumerate(_positional(function, method=False))}
        if not index:
            continue
        keyed: set[int] = set()
        for own, seen in _closures(function, index):
            keyed |= _keyed_params(own, seen, caches)
        if keyed:
            found[function.name] = tuple(sorted(keyed))
    return found


def _logger_sources(
    tree: ast.Module,
    names: _Names,
    function_returns: dict[str, tuple[list[ast.expr], dict[str, ast.expr]]],
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Where each module-level name bound once, and each value a module-level function
    returns, comes from (see ModuleSummary.logger_names): the facts that say which of
    the project's names are loggers."""
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for node in tree.body:
        for target in _targets(node):
            if isinstance(target, ast.Name):
                counts[target.id] = counts.get(target.id, 0) + 1
                value = getattr(node, "value", None)
                if isinstance(value, ast.expr):
                    values[target.id] = value
    bound = {name: value for name, value in values.items() if counts[name] == 1}

    def source(value: ast.expr, local: dict[str, ast.expr]) -> str | None:
        if isinstance(value, ast.Call):
            callee = names.resolve(value.func)
            return f"c:{callee}" if callee else None
        if isinstance(value, ast.Name) and value.id in local:
            return source(local[value.id], {})
        if isinstance(value, ast.Name) and value.id in bound:
            return f"n:{names.module}.{value.id}"
        name = names.resolve(value)
        return f"n:{name}" if name else None

    # Only sources that name logging can start or continue a chain to a logger; the
    # rest would only make every summary larger (the decision is the join's).
    def kept(found: str | None) -> bool:
        return found is not None and "log" in found.lower()

    found_names: dict[str, str] = {}
    for name, value in bound.items():
        found = source(value, {})
        if found is not None and kept(found):
            found_names[name] = found
    found_returns: dict[str, tuple[str, ...]] = {}
    for function, (returns, single) in function_returns.items():
        sources = [source(value, single) for value in returns]
        if all(kept(found) for found in sources):
            found_returns[function] = tuple(dict.fromkeys(str(s) for s in sources))
    return found_names, found_returns


# What a logger is called to log (`logging.Logger`'s and loguru's methods).
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "success"}
)


def _class_releases(
    tree: ast.Module, module: str, release_methods: frozenset[str], releasing: set[str]
) -> dict[str, tuple[str, ...]]:
    """Module-level classes -> the attributes of `self` their own bodies release (read
    only for the classes whose methods name a release or enter a `with`)."""
    classes = [
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name in releasing
    ]
    if not classes:
        return {}
    helpers = releasing_helpers(tree, release_methods)
    returned = getters(node for node in tree.body if isinstance(node, ast.ClassDef))
    found: dict[str, tuple[str, ...]] = {}
    for node in classes:
        released = releases_in([node], release_methods, helpers, returned)
        if released:
            found[f"{module}.{node.name}"] = tuple(sorted(released))
    return found


def _on_self(expression: ast.expr) -> bool:
    """`self.x`, or a call given it (`closing(self.x)`)."""
    if isinstance(expression, ast.Call):
        return any(_on_self(argument) for argument in expression.args)
    return (
        isinstance(expression, ast.Attribute)
        and isinstance(expression.value, ast.Name)
        and expression.value.id == "self"
    )


def _log_sources(
    names: _Names, logger_names: dict[str, str], receivers: set[str]
) -> tuple[str, ...]:
    """Imported names of the module's own top-level package that its functions call a
    logging method on, and the callables its module-level loggers come from."""
    top = names.module.split(".", 1)[0] + "."
    found = set(receivers)
    found.update(source[2:] for source in logger_names.values() if source.startswith("c:"))
    return tuple(sorted(name for name in found if name.startswith(top)))


def _decorator_factories(tree: ast.Module, keyed: dict[str, tuple[int, ...]]) -> tuple[str, ...]:
    """The keyed module-level functions that return a function defined in their body."""
    found: list[str] = []
    for function in tree.body:
        if not isinstance(function, _FunctionDef) or function.name not in keyed:
            continue
        inner = {node.name for node in function.body if isinstance(node, _FunctionDef)}
        if any(
            isinstance(node.value, ast.Name) and node.value.id in inner
            for node in _Own(_children(function)).returns
        ):
            found.append(function.name)
    return tuple(found)


def _closures(function: ast.AST, index: dict[str, int]) -> Iterator[tuple[_Own, dict[str, int]]]:
    """A function's own nodes with its parameters, then those of each function nested
    in it with the outer parameters it does not rebind: a decorator factory's inner
    function keys a registry by the factory's argument (`REGISTRY[name] = cls`)."""
    pending: list[tuple[ast.AST, dict[str, int]]] = [(function, index)]
    while pending:
        node, seen = pending.pop()
        own = _Own(_children(node))
        yield own, seen
        for inner in own.nested:
            if isinstance(inner, (*_FunctionDef, ast.Lambda)):
                bound = _parameter_names(inner.args) | _local_stores(_Own(_children(inner)))
                visible = {name: i for name, i in seen.items() if name not in bound}
                if visible:
                    pending.append((inner, visible))


def _keyed_params(own: _Own, index: dict[str, int], caches: frozenset[str]) -> set[int]:
    """The parameters that reach a key of one of the module's dicts in these nodes."""
    single = _single_bindings(own)
    keyed: set[int] = set()
    for node in own.nodes:
        key: ast.AST | None = None
        if isinstance(node, ast.Subscript) and _root_name(node.value) in caches:
            key = node.slice
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _KEYED_METHODS
            and _root_name(node.func.value) in caches
            and node.args
        ):
            key = node.args[0]
        if key is not None:
            keyed |= _params_in(key, index, single)
    return keyed


def _root_name(expression: ast.expr) -> str:
    """`C` for `C`, `C[a]`, `C[a][b]`."""
    while isinstance(expression, ast.Subscript):
        expression = expression.value
    return expression.id if isinstance(expression, ast.Name) else ""


def _params_in(key: ast.AST, index: dict[str, int], single: dict[str, ast.expr]) -> set[int]:
    """Parameters an expression is made from, through locals bound once."""
    found: set[int] = set()
    seen: set[str] = set()
    stack = [key]
    while stack:
        node = stack.pop()
        for name in (n.id for n in walk(node) if isinstance(n, ast.Name)):
            if name in index:
                found.add(index[name])
            elif name in single and name not in seen:
                seen.add(name)
                stack.append(single[name])
    return found


_CallArgs = dict[str, tuple[tuple[Union[int, str], str], ...]]


class _ArgumentSources:
    """What each call of a project function passes, and where such functions are used
    other than as a callee (see ModuleSummary.call_args).

    It reads the nodes the summariser has gathered already: each function's own nodes
    (`scan`, with the names it binds), functions nested in them (their own nodes, once),
    and each module-level statement (`scan_statement`)."""

    def __init__(self, names: _Names, module: str) -> None:
        self.names = names
        self.top = module.split(".", 1)[0] + "."
        self.calls: dict[str, set[tuple[Union[int, str], str]]] = {}
        self.referenced: set[str] = set()
        # The process constructors this module can call (`_starters_here`), and the
        # project functions it gives one as `target=`.
        self.starters = _NO_STARTERS
        self.targets: set[str] = set()

    def result(self) -> tuple[_CallArgs, tuple[str, ...], tuple[str, ...]]:
        """The calls' sources, the functions referenced, the processes' targets."""
        calls = {
            callee: tuple(sorted(sources, key=lambda t: (str(t[0]), t[1])))
            for callee, sources in sorted(self.calls.items())
        }
        return calls, tuple(sorted(self.referenced)), tuple(sorted(self.targets))

    def project_name(self, expression: ast.expr) -> str | None:
        head = expression
        while isinstance(head, ast.Attribute):
            head = head.value
        if not isinstance(head, ast.Name) or head.id not in self.names.bindings:
            return None
        name = self.names.resolve(expression)
        return name if name is not None and name.startswith(self.top) else None

    def scan_statement(self, own: _Own, main: bool) -> None:
        """A module-level (or class-level) simple statement, given its own nodes
        (`_Own([statement])`): its nodes down to any lambda in it (scanned as a
        function)."""
        self.scan(own, {}, frozenset(), "", main=main, at_import=not main)

    def scan_expressions(self, roots: list[ast.AST], main: bool) -> None:
        """Nodes at module or class level (`main`: in the `__main__` block)."""
        self.scan(_Own(list(roots)), {}, frozenset(), "", main=main, at_import=not main)

    def scan(
        self,
        own: _Own,
        params: dict[str, int],
        local: frozenset[str],
        qualname: str,
        main: bool = False,
        at_import: bool = False,
    ) -> None:
        """One function's own nodes (or a statement's): a module-level function
        (`qualname`, `params`) passes its parameters on; `local`: the names it and the
        functions around it bind. Functions nested in it are scanned with theirs.
        `at_import`: module- or class-level nodes outside the `__main__` block, which
        run once, when the module is imported: whatever they pass is fixed by the code
        (`use_integration(SlackIntegration())`, a registry filled at import time), a
        constant. A script's `__main__` block may loop over its input: not so."""
        callees = {id(node.func) for node in own.calls}
        bindings = self.names.bindings
        # The functions and classes defined here are locals too, here and in them.
        local = local | {n.name for n in own.nested if not isinstance(n, ast.Lambda)}
        if self.starters.names:
            callees.update(self.process_targets(own.calls, local))
        for node in own.calls:
            callee = self.project_name(node.func)
            if callee is not None:
                sources = self.calls.setdefault(callee, set())
                if at_import:
                    sources.update(_passed_at_import(node))
                else:
                    sources.update(self.arguments(node, params, local, qualname))
                if not main:
                    sources.add(("#", "c"))
        for name_node in own.names:
            # (`project_name` answers only for a name the module imports or defines)
            if (
                name_node.id in bindings
                and isinstance(name_node.ctx, ast.Load)
                and id(name_node) not in callees
            ):
                name = self.project_name(name_node)
                if name is not None:
                    self.referenced.add(name)
        for attribute in own.attributes:
            if isinstance(attribute.ctx, ast.Load) and id(attribute) not in callees:
                name = self.project_name(attribute)
                if name is not None:
                    self.referenced.add(name)
        for nested in own.nested:
            self.scan_nested(nested, local, main)

    def process_targets(self, calls: Iterable[ast.Call], hidden: Collection[str]) -> Iterator[int]:
        """The `target=` of each call here that starts a child process, when it names
        a project function (not a local, parameter or `def` of a function around of
        the same name, `hidden`): noted, and its node given (it is not handed on)."""
        for node in calls:
            if not self.starters.match(self.names, node.func):
                continue
            for keyword in node.keywords:
                head = keyword.value
                while isinstance(head, ast.Attribute):
                    head = head.value
                if keyword.arg == "target" and not (
                    isinstance(head, ast.Name) and head.id in hidden
                ):
                    name = self.project_name(keyword.value)
                    if name is not None:
                        self.targets.add(name)
                        yield id(keyword.value)

    def scan_nested(
        self,
        node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef],
        outer: frozenset[str],
        main: bool,
    ) -> None:
        """A function, lambda or class inside a function or statement: its own nodes
        (not its decorators, defaults or bases, which the enclosing scan holds)."""
        stack: list[ast.AST]
        if isinstance(node, ast.Lambda):
            stack = [node.body, *node.args.defaults]
        elif isinstance(node, ast.ClassDef):
            stack = [*node.body, *node.bases, *node.keywords, *node.decorator_list]
        else:
            stack = [*node.body, *node.decorator_list, *node.args.defaults]
        inner = _Own(stack)
        names = outer | _local_stores(inner)
        if not isinstance(node, ast.ClassDef):
            names |= _parameter_names(node.args)
        self.scan(inner, {}, frozenset(names), "", main)

    def arguments(
        self, call: ast.Call, params: dict[str, int], local: frozenset[str], qualname: str
    ) -> set[tuple[Union[int, str], str]]:
        sources: set[tuple[Union[int, str], str]] = set()
        for position, argument in enumerate(call.args):
            if isinstance(argument, ast.Starred):
                sources.add(("*", "d"))
                break
            sources.add((position, self.source(argument, params, local, qualname)))
        for keyword in call.keywords:
            if keyword.arg is None:
                sources.add(("*", "d"))
            else:
                sources.add((keyword.arg, self.source(keyword.value, params, local, qualname)))
        return sources

    def source(
        self, value: ast.expr, params: dict[str, int], local: frozenset[str], qualname: str
    ) -> str:
        """ "c" for a constant, "p:<function>:<k>" for a parameter passed on, else "d"."""
        if isinstance(value, ast.Name) and value.id in params:
            return f"p:{self.names.module}.{qualname}:{params[value.id]}"
        return "c" if _constant(value, local) else "d"


class _Starters(NamedTuple):
    """The process constructors a module can call: by qualified name, and by last name
    on a receiver the module cannot resolve, when it imports the constructor's package
    (`self._mp_ctx.Process(...)` after `import multiprocessing`)."""

    names: frozenset[str]
    terminals: frozenset[str]
    # The last names of `names` (`terminals` is a subset of them).
    last_names: frozenset[str]

    def match(self, names: _Names, func: ast.expr) -> bool:
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if last not in self.last_names:
            return False  # (most calls: not worth resolving)
        qualified = names.resolve(func)
        if qualified is not None and qualified in self.names:
            return True
        if not isinstance(func, ast.Attribute) or func.attr not in self.terminals:
            return False
        head = func.value
        while isinstance(head, ast.Attribute):
            head = head.value
        # Unresolvable: a call's result, `self.x`, a local; not an imported name.
        return not (isinstance(head, ast.Name) and head.id in names.bindings)


_NO_STARTERS = _Starters(frozenset(), frozenset(), frozenset())


def _starters_here(names: _Names, starters: frozenset[str]) -> _Starters:
    """`_Starters` for a module, given every process constructor of the catalog: by
    last name only those whose own module it imports (`multiprocessing`, or a name
    from it; `torch` alone is not `torch.multiprocessing`), and none in a module that
    imports `multiprocessing.dummy`, whose `Process` is a thread."""
    imported = names.imported
    roots = {name.split(".", 1)[0] for name in imported}
    reachable = frozenset(s for s in starters if s.split(".", 1)[0] in roots)
    if not reachable:
        return _NO_STARTERS
    last_names = frozenset(starter.rsplit(".", 1)[-1] for starter in reachable)
    if any(_under(name, "multiprocessing.dummy") for name in imported):
        return _Starters(reachable, frozenset(), last_names)
    terminals = frozenset(
        starter.rsplit(".", 1)[-1]
        for starter in reachable
        if any(_under(name, starter.rsplit(".", 1)[0]) for name in imported)
    )
    return _Starters(reachable, terminals, last_names)


def _under(name: str, module: str) -> bool:
    """Whether a qualified name is `module` or lies in it."""
    return name == module or name.startswith(f"{module}.")


def _passed_at_import(call: ast.Call) -> set[tuple[Union[int, str], str]]:
    """What a call run at import time passes: a constant in each argument it names
    (`*args` and `**options` name none)."""
    sources: set[tuple[Union[int, str], str]] = set()
    for position, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred):
            break
        sources.add((position, "c"))
    sources.update((keyword.arg, "c") for keyword in call.keywords if keyword.arg is not None)
    return sources


def _parameter_names(arguments: ast.arguments) -> set[str]:
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    return names


def _constant(value: ast.expr, local: frozenset[str]) -> bool:
    """A literal, a module-level or imported name (or an attribute of one, or of
    `self`: what the instance was configured with), or a tuple of such."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.UnaryOp):
        return _constant(value.operand, local)
    if isinstance(value, (ast.Tuple, ast.List)):
        return all(_constant(element, local) for element in value.elts)
    root = value
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return False
    if root is value:
        return root.id not in local
    return root.id not in local or root.id in ("self", "cls")
