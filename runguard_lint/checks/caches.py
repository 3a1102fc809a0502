"""RG201 (unbounded module cache) and RG202 (unbounded functools cache).

RG201 finds module- and class-level names bound to an empty dict and asks
LibCST's scope analysis for every use of that binding (in any function, also
through `global`; for class-level dicts every `self.x`/`cls.x`/`Class.x`).
Each use is a read, a write (`c[k] = v`, `setdefault`, `update`, `|=`, and
`c[k].append(v)` on a defaultdict), an eviction (`del c[k]`, `pop`,
`popitem`, `clear`, rebinding, a `len(c)` comparison) or an escape (passed
wholesale, aliased, returned: someone else may evict). The dict is reported
only when a function that runs at request time writes keys derived from its
parameters, and no use anywhere in the module evicts or lets it escape: a
false positive costs more than a miss, so every doubt means silence.

Two kinds of parameters carry no call data. A parameter whose values are
classes, typing constructs or functions (annotated `type[...]`/`Callable[...]`,
named by the cache's key annotation, or used as one: `TypeAdapter(tp)`,
`get_type_hints(tp)`, `tp.__qualname__`, also through a same-module helper)
gives keys bounded by code size. A parameter of a private function or method
(`_load`, `cls._get`) that every call in the module passes a constant is
bounded by the code too.

RG202 (preview) reports `functools.cache` and `lru_cache(maxsize=None)` on
functions taking free-form arguments (text, ids, paths), where every new
argument value is a new entry kept forever; the same two exemptions apply.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata.scope_provider import (
    Assignment,
    BaseAssignment,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
)

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import FunctionNode, ModuleFacts, dotted_name, is_capwords
from runguard_lint.analysis.tree import children, walk
from runguard_lint.catalog import Catalog
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fixes import guarded
from runguard_lint.fixes.bounded_cache import bounded_cache_fix, lru_cache_fix

_DICT_FACTORIES = frozenset({"builtins.dict", "collections.OrderedDict", "typing.OrderedDict"})
_DEFAULTDICT = frozenset({"collections.defaultdict"})
_EVICTING_METHODS = frozenset({"pop", "popitem", "clear", "__delitem__"})
_KEYED_WRITE_METHODS = frozenset({"setdefault", "__setitem__"})
_READING_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "copy",
        "move_to_end",
        "__contains__",
        "__getitem__",
        "__len__",
        "__iter__",
    }
)
# Callables that only read a dict handed to them; anything else may keep or evict it.
_READ_ONLY_CALLABLES = frozenset(
    {
        f"builtins.{name}"
        for name in (
            "len",
            "list",
            "tuple",
            "set",
            "frozenset",
            "sorted",
            "iter",
            "reversed",
            "repr",
            "str",
            "print",
            "bool",
            "any",
            "all",
            "sum",
            "max",
            "min",
            "enumerate",
            "isinstance",
            "id",
            "dict",
            "zip",
            "format",
            "type",
        )
    }
    | {"json.dumps", "json.dump", "copy.copy", "copy.deepcopy", "pprint.pprint", "pprint.pformat"}
)


def read_only_terminals() -> frozenset[str]:
    """The last names of the callables that only read a dict handed to them: a call
    named otherwise is an escape for `_argument_use` (the prefilter must agree)."""
    return frozenset(name.rsplit(".", 1)[-1] for name in _READ_ONLY_CALLABLES)


_CONTAINER_PARTS = (cst.Element, cst.StarredElement, cst.Tuple, cst.List)
# Hooks that run once per class definition, when the module is imported.
_CLASS_CREATION_HOOKS = frozenset({"__init_subclass__", "__set_name__"})
_METACLASS_HOOKS = frozenset({"__new__", "__init__", "__prepare__"})
# Parameter names that carry a function or class being registered.
_REGISTERED_OBJECT_NAMES = frozenset(
    {
        "fn",
        "func",
        "function",
        "f",
        "cls",
        "klass",
        "class_",
        "handler",
        "callback",
        "hook",
        "factory",
        "plugin",
        "view",
        "command",
        "decorated",
        "wrapped",
        "obj_type",
    }
)
_CALLABLE_ANNOTATIONS = frozenset(
    {
        "typing.Callable",
        "collections.abc.Callable",
        "builtins.type",
        "typing.Type",
        "Callable",
        "type",
        "Type",
    }
)
# Annotations whose values are classes, typing constructs or functions: as many as the code
# defines, so keys made of them are bounded by code size (the spec's class/function keys).
_TYPE_ANNOTATIONS = _CALLABLE_ANNOTATIONS | frozenset(
    {
        "typing_extensions.Type",
        "typing_extensions.Callable",
        "typing.TypeForm",
        "typing_extensions.TypeForm",
        "TypeForm",
        "types.FunctionType",
        "FunctionType",
        "types.BuiltinFunctionType",
        "abc.ABCMeta",
    }
)
# Annotations that say nothing about the value, so how the function uses it decides.
_OPAQUE_ANNOTATIONS = frozenset(
    {"typing.Any", "typing_extensions.Any", "Any", "builtins.object", "object"}
)
_TYPEVAR_FACTORIES = frozenset({"typing.TypeVar", "typing_extensions.TypeVar"})
# Plain data: a parameter annotated with one of these is never taken for a type.
_DATA_ANNOTATIONS = frozenset(
    {
        f"{prefix}{name}"
        for prefix in ("", "builtins.")
        for name in ("str", "bytes", "bytearray", "int", "float", "complex", "bool")
    }
)
# Attributes only classes, functions or typing constructs have.
_TYPE_DUNDERS = frozenset(
    {
        "__name__",
        "__qualname__",
        "__args__",
        "__origin__",
        "__mro__",
        "__bases__",
        "__code__",
        "__wrapped__",
        "__parameters__",
        "__subclasses__",
        "__defaults__",
        "__kwdefaults__",
    }
)
# Attributes that instances have too: they mark a type only when the annotation is silent.
_WEAK_TYPE_DUNDERS = frozenset({"__module__", "__dict__", "__annotations__"})
# Callables whose first argument is a type or a typing construct, by their last name (they
# are re-exported under many paths: pydantic, typing_extensions, compat modules).
_TYPE_TAKING_NAMES = frozenset(
    {
        "TypeAdapter",
        "get_type_hints",
        "get_args",
        "get_origin",
        "create_model",
        "parse_obj_as",
        "is_typeddict",
    }
)
# ... and by their qualified name.
_TYPE_TAKING_CALLABLES = frozenset(
    {
        f"inspect.{name}"
        for name in (
            "signature",
            "getsource",
            "getsourcefile",
            "getsourcelines",
            "getfile",
            "getmodule",
            "getfullargspec",
            "unwrap",
            "getmro",
            "get_annotations",
            "getclosurevars",
            "getcomments",
        )
    }
    | {"dataclasses.fields", "functools.wraps", "builtins.issubclass"}
)
# Callables whose second argument is a type or a function.
_TYPE_TAKING_SECOND = frozenset(
    {"builtins.isinstance", "builtins.issubclass", "functools.update_wrapper"}
)
# Decorators that leave every call of a function visible in the module: the literal-callers
# rule still holds for the methods and functools caches they make.
_CALL_TRANSPARENT_DECORATORS = frozenset(
    {"builtins.classmethod", "builtins.staticmethod", "functools.cache", "functools.lru_cache"}
)
_HELPER_DEPTH = 3
_MODULE_LOADERS = frozenset(
    {
        "importlib.import_module",
        "importlib.util.find_spec",
        "importlib.util.resolve_name",
        "builtins.__import__",
    }
)
# Methods whose second parameter is an attribute name.
_ATTRIBUTE_HOOKS = frozenset(
    {"__setattr__", "__delattr__", "__getattr__", "__getattribute__", "__set_name__"}
)
# Class names that say their instances hold connections, threads or handles.
_RESOURCE_CLASS_SUFFIXES = (
    "Client",
    "Session",
    "Transport",
    "Pool",
    "Connection",
    "Engine",
    "Executor",
    "Channel",
)

_EMBEDDING_WORDS = ("embed", "vector", "vec")
_RESPONSE_WORDS = ("response", "completion", "reply", "answer", "llm")
_RESPONSE_CALL_PARTS = frozenset(
    {
        "completions",
        "responses",
        "messages",
        "chat",
        "invoke",
        "ainvoke",
        "generate",
        "agenerate",
        "complete",
        "acomplete",
        "urlopen",
        "fetch",
        "request",
    }
)
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "request", "json"})
_HTTP_RECEIVERS = frozenset(
    {"requests", "httpx", "session", "client", "http", "aiohttp", "resp", "response"}
)
_EMBEDDING_COST = (
    "each entry holds an embedding (1,536 float32 is ~6 KB): 50,000 new keys a day is ~300 MB a day"
)
_RESPONSE_COST = (
    "each entry holds a response (~4 KB of text): 50,000 new keys a day is ~200 MB a day"
)

# RG202: what makes an argument free-form.
_UNBOUNDED_TYPES = frozenset({"builtins.str", "builtins.bytes", "str", "bytes"})
_FLAG_TYPES = frozenset({"builtins.bool", "bool", "None", "builtins.None"})
_LITERAL_TYPES = frozenset({"typing.Literal", "typing_extensions.Literal", "Literal"})
_INT_TYPES = frozenset({"builtins.int", "int"})
_WRAPPER_TYPES = frozenset(
    {
        "typing.Optional",
        "typing.Union",
        "typing.Annotated",
        "typing_extensions.Annotated",
        "Optional",
        "Union",
        "Annotated",
    }
)
_FREE_FORM_WORDS = frozenset(
    {
        "text",
        "texts",
        "prompt",
        "prompts",
        "query",
        "queries",
        "q",
        "url",
        "urls",
        "uri",
        "key",
        "keys",
        "id",
        "ids",
        "uid",
        "uuid",
        "pk",
        "path",
        "paths",
        "name",
        "filename",
        "fname",
        "question",
        "message",
        "msg",
        "content",
        "document",
        "doc",
        "docs",
        "input",
        "sentence",
        "email",
        "username",
        "slug",
        "term",
        "sql",
        "html",
        "body",
        "title",
        "word",
        "string",
    }
)
_ID_WORDS = frozenset({"id", "ids", "uid", "uuid", "pk", "key", "keys", "number", "num", "no"})


class UseKind(enum.Enum):
    """What one use of a cache binding does to the dict."""

    READ = "read"
    WRITE = "write"
    EVICT = "evict"
    ESCAPE = "escape"


@dataclass(frozen=True)
class CacheUse:
    """One use of a cache: a Name or `<receiver>.<attr>` node and what it does."""

    kind: UseKind
    node: cst.CSTNode
    keys: tuple[cst.BaseExpression, ...] = ()
    values: tuple[cst.BaseExpression, ...] = ()


@dataclass(frozen=True)
class CacheBinding:
    """`_cache = {}` (or a dict factory) at module level or in a class body."""

    name: str
    target: cst.Name
    annotation: cst.Annotation | None
    class_def: cst.ClassDef | None
    is_defaultdict: bool


@dataclass
class _Writer:
    function: FunctionNode
    values: list[cst.BaseExpression] = field(default_factory=list)
    keys: list[cst.BaseExpression] = field(default_factory=list)


def module_cache_diagnostics(context: FileContext, code: str) -> Iterator[Diagnostic]:
    """RG201's findings, reported under `code`."""
    return _ModuleCaches(context, code).diagnostics()


def functools_cache_diagnostics(context: FileContext, code: str) -> Iterator[Diagnostic]:
    """RG202's findings, reported under `code`."""
    return _functools_caches(context, code)


# --- RG201 ------------------------------------------------------------------------------


class _ModuleCaches:
    """RG201 over one module."""

    def __init__(self, context: FileContext, code: str) -> None:
        self.context = context
        self.code = code
        self.facts: ModuleFacts = context.facts
        self._decorator_functions: set[int] | None = None
        self._decorator_attributes: set[str] = set()
        self._decorator_factories: set[int] = set()
        self._attributes: dict[str, list[cst.Attribute]] | None = None
        self._import_time: dict[int, bool] = {}
        self._deleted: set[int] = set()
        self._classes: list[cst.ClassDef] = []
        self._type_params: dict[int, bool] = {}

    def diagnostics(self) -> Iterator[Diagnostic]:
        groups: dict[tuple[int, str], list[CacheBinding]] = {}
        for binding in self._bindings():
            owner = id(binding.class_def) if binding.class_def is not None else 0
            groups.setdefault((owner, binding.name), []).append(binding)
        for bindings in groups.values():
            diagnostic = self._judge(bindings)
            if diagnostic is not None:
                yield diagnostic

    # --- finding the bindings -----------------------------------------------------------

    def _bindings(self) -> Iterator[CacheBinding]:
        yield from self._bindings_in(self.facts.module.body, None)

    def _bindings_in(
        self, body: Sequence[cst.CSTNode], class_def: cst.ClassDef | None
    ) -> Iterator[CacheBinding]:
        for statement in _flatten(body):
            if isinstance(statement, cst.ClassDef):
                yield from self._bindings_in(_block(statement.body), statement)
                continue
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    factory = self._dict_kind(small.value)
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
                    factory = self._dict_kind(small.value)
                    if factory is None:
                        continue
                    if class_def is not None and not self._class_attribute(small, class_def):
                        continue
                    yield CacheBinding(
                        small.target.value,
                        small.target,
                        small.annotation,
                        class_def,
                        factory == "defaultdict",
                    )

    def _dict_kind(self, value: cst.BaseExpression) -> str | None:
        """`dict` for an empty dict, `defaultdict` for a defaultdict, else None."""
        if isinstance(value, cst.Dict):
            return "dict" if not value.elements else None
        if not isinstance(value, cst.Call):
            return None
        names = self.facts.external_names(value.func)
        if names & _DEFAULTDICT:
            return "defaultdict"
        if names & _DICT_FACTORIES and not value.args:
            return "dict"
        return None

    def _class_attribute(self, statement: cst.AnnAssign, class_def: cst.ClassDef) -> bool:
        """An annotated class attribute is shared only in a plain class or as a ClassVar.

        In a dataclass, pydantic model or similar, `x: dict = {}` is a per-instance
        default, not a class-level dict.
        """
        annotation = statement.annotation.annotation
        head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
        names = self.facts.external_names(head) | {dotted_name(head) or ""}
        if names & {"typing.ClassVar", "typing_extensions.ClassVar", "ClassVar"}:
            return True
        plain_bases = all(dotted_name(base.value) == "object" for base in class_def.bases)
        return not class_def.decorators and not class_def.keywords and plain_bases

    # --- judging one cache --------------------------------------------------------------

    def _judge(self, bindings: list[CacheBinding]) -> Diagnostic | None:
        binding = bindings[0]
        if binding.class_def is None:
            uses = self._scope_uses(bindings)
        else:
            uses = self._class_uses(bindings, binding.class_def)
        key_type = self._key_type(binding)
        writers: dict[int, _Writer] = {}
        for use in uses:
            if use.kind in (UseKind.EVICT, UseKind.ESCAPE):
                return None
            if use.kind is not UseKind.WRITE:
                continue
            function = self._runtime_function(use.node)
            if function is None:
                continue
            data_keys = [key for key in use.keys if self._key_is_data(key, key_type)]
            if not data_keys or self._registers_callable(function, use.values):
                continue
            writer = writers.setdefault(id(function), _Writer(function))
            writer.values.extend(use.values)
            writer.keys.extend(data_keys)
        if not writers or self._holds_resources(
            [value for writer in writers.values() for value in writer.values]
        ):
            return None
        return self.context.diagnostic(
            self.code,
            binding.target,
            self._message(binding, list(writers.values())),
            fix=guarded(bounded_cache_fix, self.context, binding.target),
        )

    def _holds_resources(self, values: list[cst.BaseExpression]) -> bool:
        """Whether every value written is a resource built on the spot (a client, pool,
        transport, session...): a dict of those keyed by their settings is the keyed
        singleton that the fixes for clients built from call data recommend, not a
        cache of traffic, and evicting from it would drop a pool still in use."""
        if not values:
            return False
        catalog = self.context.settings.catalog
        for value in values:
            # A global set elsewhere says nothing about what this function stores.
            sources = (
                [value, *self._local_sources(value)] if isinstance(value, cst.Name) else [value]
            )
            if not any(self._builds_resource(source, catalog) for source in sources):
                return False
        return True

    def _local_sources(self, name: cst.Name) -> list[cst.BaseExpression]:
        """What a name was bound from in a function (assignments, loops, `with ... as`)."""
        sources: list[cst.BaseExpression] = []
        for assignment in self.facts.assignments_of(name):
            if (
                isinstance(assignment, Assignment)
                and isinstance(assignment.scope, FunctionScope)
                and isinstance(assignment.node, cst.Name)
            ):
                bound = self._bound_value(assignment.node)
                if bound is not None:
                    sources.append(bound)
        return sources

    def _builds_resource(self, expression: cst.BaseExpression, catalog: Catalog) -> bool:
        if isinstance(expression, cst.Await):
            expression = expression.expression
        if not isinstance(expression, cst.Call):
            return False
        if self.facts.external_names(expression.func) & set(catalog.by_callable):
            return True
        name = dotted_name(expression.func)
        terminal = name.rsplit(".", 1)[-1] if name else ""
        return is_capwords(terminal) and terminal.endswith(_RESOURCE_CLASS_SUFFIXES)

    def _message(self, binding: CacheBinding, writers: list[_Writer]) -> str:
        facts = self.facts
        writers.sort(key=lambda writer: facts.position(writer.function).start.line)
        if binding.class_def is not None:
            where = f"class-level dict `{binding.class_def.name.value}.{binding.name}`"
        else:
            where = f"module-level dict `{binding.name}`"
        writer_label = _function_label(facts, writers[0].function)
        if len(writers) > 1:
            others = len(writers) - 1
            writer_label += f" (and {others} more function{'s' if others > 1 else ''})"
        sources = self._key_params(writers[0].keys)
        shown = f" ({', '.join(f'`{name}`' for name in sources)})" if sources else ""
        values = [value for writer in writers for value in writer.values]
        cost = self._cost(binding, values)
        return (
            f"{where} is a cache written by {writer_label} with keys from its call "
            f"data{shown}, "
            f"and nothing in the module evicts from it: it grows with every new key for "
            f"the life of the process{'; ' + cost if cost else ''}. Bound it: "
            f"`BoundedCache(maxsize={self.context.settings.cache_maxsize:_})` from "
            "runguard_lint.runtime, or functools.lru_cache(maxsize=...)"
        )

    def _key_params(self, keys: list[cst.BaseExpression]) -> list[str]:
        """The parameters the written keys come from, through locals, in source order."""
        found: dict[str, cst.Param] = {}
        seen: set[int] = set()
        stack: list[cst.CSTNode] = list(reversed(keys))
        while stack:
            node = stack.pop()
            if not isinstance(node, cst.Name):
                stack.extend(reversed(children(node)))
                continue
            for assignment in self.facts.assignments_of(node):
                bound = (
                    assignment.node
                    if isinstance(assignment, Assignment)
                    and isinstance(assignment.scope, (FunctionScope, ComprehensionScope))
                    else None
                )
                if bound is None or id(bound) in seen:
                    continue
                seen.add(id(bound))
                if isinstance(bound, cst.Param):
                    if bound.name.value not in found and self._param_is_data(bound, set()):
                        found[bound.name.value] = bound
                elif isinstance(bound, cst.Name):
                    source = self._bound_value(bound)
                    if source is not None:
                        stack.append(source)
        position = self.facts.position
        return sorted(
            found,
            key=lambda name: (position(found[name]).start.line, position(found[name]).start.column),
        )

    # --- uses -----------------------------------------------------------------------------

    def _scope_uses(self, bindings: list[CacheBinding]) -> list[CacheUse]:
        """Every use of the binding by scope analysis (for module level, `global` included)."""
        binding = bindings[0]
        scope = self.facts.scope(binding.target)
        if scope is None:
            return [CacheUse(UseKind.ESCAPE, binding.target)]
        candidates = {id(candidate.target) for candidate in bindings}
        uses: list[CacheUse] = []
        seen: set[int] = set()
        for assignment in scope.assignments[binding.name]:
            if not isinstance(assignment, Assignment):
                continue
            for access in assignment.references:
                if id(access.node) in seen:
                    continue
                seen.add(id(access.node))
                if (
                    access.is_annotation
                    or access.is_type_hint
                    or not isinstance(access.node, cst.Name)
                ):
                    continue
                uses.append(self._classify(access.node, binding.is_defaultdict))
            node = assignment.node
            if id(node) in candidates:
                continue
            parent = self.facts.parent(node)
            if (
                isinstance(node, cst.Name)
                and isinstance(parent, cst.AugAssign)
                and parent.target is node
            ):
                uses.append(self._augmented(node, parent))
            else:
                # Rebinding at run time (through `global`) drops every entry; another
                # binding at import time leaves the name's type in doubt: silence either way.
                uses.append(CacheUse(UseKind.EVICT, node))
        return uses

    def _class_uses(self, bindings: list[CacheBinding], class_def: cst.ClassDef) -> list[CacheUse]:
        """Uses in the class body, plus every `<receiver>.<name>` in the module.

        Writes count only through a receiver known to be the class (`self`, `cls`,
        the class's name, in it or a subclass here); evictions and escapes count
        through any receiver, which errs toward silence.
        """
        uses = self._scope_uses(bindings)
        name = bindings[0].name
        classes = self._class_family(class_def)
        for attribute in self._attributes_named(name):
            use = self._classify(attribute, bindings[0].is_defaultdict)
            if use.kind is UseKind.WRITE and not self._own_receiver(attribute.value, classes):
                continue
            uses.append(use)
        return uses

    def _attributes_named(self, name: str) -> list[cst.Attribute]:
        self._index_module()
        return self._attributes.get(name, []) if self._attributes is not None else []

    def _index_module(self) -> None:
        """One walk for what class-level caches need: attributes by name, and classes."""
        if self._attributes is not None:
            return
        self._attributes = {}
        for node in walk(self.facts.module):
            if isinstance(node, cst.Attribute):
                self._attributes.setdefault(node.attr.value, []).append(node)
            elif isinstance(node, cst.ClassDef):
                self._classes.append(node)

    def _class_family(self, class_def: cst.ClassDef) -> set[int]:
        """The class and its subclasses defined in this module."""
        self._index_module()
        family = {id(class_def)}
        changed = True
        classes = self._classes
        while changed:
            changed = False
            for candidate in classes:
                if id(candidate) in family:
                    continue
                if any(self._resolves_to_class(base.value, family) for base in candidate.bases):
                    family.add(id(candidate))
                    changed = True
        return family

    def _resolves_to_class(self, expression: cst.BaseExpression, classes: set[int]) -> bool:
        if not isinstance(expression, cst.Name):
            return False
        return any(
            isinstance(assignment, Assignment) and id(assignment.node) in classes
            for assignment in self.facts.assignments_of(expression)
        )

    def _own_receiver(self, receiver: cst.BaseExpression, classes: set[int]) -> bool:
        """`self`/`cls` of a method of the class, the class's name, or `type(self)`."""
        if (
            isinstance(receiver, cst.Call)
            and "builtins.type" in self.facts.external_names(receiver.func)
            and len(receiver.args) == 1
        ):
            return self._own_receiver(receiver.args[0].value, classes)
        if not isinstance(receiver, cst.Name):
            return False
        if self._resolves_to_class(receiver, classes):
            return True
        for param in _bound_nodes(self.facts, receiver):
            if not isinstance(param, cst.Param):
                continue
            function = self.facts.enclosing_function(param)
            if not isinstance(function, cst.FunctionDef):
                continue
            owner = self.facts.enclosing_class(function)
            if owner is None or id(owner) not in classes or _is_staticmethod(function):
                continue
            positional = [*function.params.posonly_params, *function.params.params]
            if positional and positional[0] is param:
                return True
        return False

    # --- what one use does ------------------------------------------------------------------

    def _classify(self, node: cst.BaseExpression, is_defaultdict: bool) -> CacheUse:
        """What `node` (the cache, a Name or `x.<name>`) does where it stands."""
        parent = self.facts.parent(node)
        if isinstance(parent, cst.Subscript) and parent.value is node:
            return self._subscript_use(node, parent, is_defaultdict)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return self._method_use(node, parent)
        if isinstance(parent, cst.Arg) and parent.value is node:
            return self._argument_use(node, parent)
        if isinstance(
            parent,
            (
                cst.Comparison,
                cst.ComparisonTarget,
                cst.UnaryOperation,
                cst.FormattedStringExpression,
                cst.StarredDictElement,
            ),
        ):
            return CacheUse(UseKind.READ, node)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            return CacheUse(UseKind.READ, node)
        if isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)) and parent.test is node:
            return CacheUse(UseKind.READ, node)
        if isinstance(parent, cst.BooleanOperation) and self._in_test(parent):
            return CacheUse(UseKind.READ, node)
        if isinstance(parent, cst.AugAssign) and parent.target is node:
            return self._augmented(node, parent)
        store = self._store_statement(node)
        if store is not None:
            # `del c`, `x.c = ...`: the dict is dropped or replaced.
            return CacheUse(UseKind.EVICT, node)
        return CacheUse(UseKind.ESCAPE, node)

    def _augmented(self, node: cst.CSTNode, statement: cst.AugAssign) -> CacheUse:
        if isinstance(statement.operator, cst.BitOrAssign):
            keys, values = _mapping_parts(statement.value)
            return CacheUse(UseKind.WRITE, node, keys, values)
        return CacheUse(UseKind.ESCAPE, node)

    def _subscript_use(
        self, node: cst.CSTNode, subscript: cst.Subscript, is_defaultdict: bool
    ) -> CacheUse:
        keys = tuple(
            element.slice.value
            for element in subscript.slice
            if isinstance(element.slice, cst.Index)
        )
        store = self._store_statement(subscript)
        if isinstance(store, (cst.Assign, cst.AnnAssign)):
            values = (store.value,) if store.value is not None else ()
            return CacheUse(UseKind.WRITE, node, keys, values)
        if isinstance(store, cst.Del):
            return CacheUse(UseKind.EVICT, node)
        if store is not None:
            return CacheUse(UseKind.ESCAPE, node)
        parent = self.facts.parent(subscript)
        if isinstance(parent, cst.AugAssign) and parent.target is subscript:
            # `c[k] += 1` inserts only into a defaultdict; a plain dict needs the key already.
            kind = UseKind.WRITE if is_defaultdict else UseKind.READ
            return CacheUse(kind, node, keys, (parent.value,))
        if not is_defaultdict:
            return CacheUse(UseKind.READ, node)
        # A defaultdict inserts on lookup: `c[k].append(v)`, `c[k][j] = v` are writes.
        grandparent = self.facts.parent(parent) if parent is not None else None
        if (
            isinstance(parent, cst.Attribute)
            and isinstance(grandparent, cst.Call)
            and grandparent.func is parent
        ):
            return CacheUse(UseKind.WRITE, node, keys, tuple(arg.value for arg in grandparent.args))
        if (
            isinstance(parent, cst.Subscript)
            and parent.value is subscript
            and self._store_statement(parent) is not None
        ):
            return CacheUse(UseKind.WRITE, node, keys)
        return CacheUse(UseKind.READ, node)

    def _method_use(self, node: cst.CSTNode, attribute: cst.Attribute) -> CacheUse:
        method = attribute.attr.value
        call = self.facts.parent(attribute)
        if method in _EVICTING_METHODS:
            return CacheUse(UseKind.EVICT, node)
        if method in _READING_METHODS:
            return CacheUse(UseKind.READ, node)
        if not (isinstance(call, cst.Call) and call.func is attribute):
            return CacheUse(UseKind.ESCAPE, node)
        if method in _KEYED_WRITE_METHODS:
            if not call.args:
                return CacheUse(UseKind.READ, node)
            values = (call.args[1].value,) if len(call.args) > 1 else ()
            return CacheUse(UseKind.WRITE, node, (call.args[0].value,), values)
        if method == "update":
            keys: list[cst.BaseExpression] = []
            values_list: list[cst.BaseExpression] = []
            for arg in call.args:
                if arg.keyword is not None:
                    values_list.append(arg.value)
                    continue
                arg_keys, arg_values = _mapping_parts(arg.value)
                keys.extend(arg_keys)
                values_list.extend(arg_values)
            return CacheUse(UseKind.WRITE, node, tuple(keys), tuple(values_list))
        return CacheUse(UseKind.ESCAPE, node)

    def _argument_use(self, node: cst.CSTNode, argument: cst.Arg) -> CacheUse:
        call = self.facts.parent(argument)
        if argument.star:
            return CacheUse(UseKind.READ, node)
        if not isinstance(call, cst.Call):
            return CacheUse(UseKind.ESCAPE, node)
        names = self.facts.external_names(call.func)
        if "builtins.len" in names:
            # A size check bounds the dict: `if len(c) >= N: ...` before inserting.
            kind = UseKind.EVICT if self._in_comparison(call) else UseKind.READ
            return CacheUse(kind, node)
        if names & _READ_ONLY_CALLABLES:
            return CacheUse(UseKind.READ, node)
        return CacheUse(UseKind.ESCAPE, node)

    def _in_comparison(self, node: cst.CSTNode) -> bool:
        parent = self.facts.parent(node)
        while isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
            parent = self.facts.parent(parent)
        return isinstance(parent, (cst.Comparison, cst.ComparisonTarget))

    def _in_test(self, node: cst.CSTNode) -> bool:
        """Whether a boolean expression is only tested, so it hands no value on."""
        child = node
        parent = self.facts.parent(node)
        while isinstance(parent, (cst.BooleanOperation, cst.UnaryOperation)):
            child, parent = parent, self.facts.parent(parent)
        if isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)):
            return parent.test is child
        return isinstance(parent, cst.CompIf)

    def _store_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement that stores into node when node is an assignment/del target."""
        child = node
        parent = self.facts.parent(node)
        while isinstance(parent, _CONTAINER_PARTS):
            child, parent = parent, self.facts.parent(parent)
        if isinstance(parent, cst.AssignTarget) and parent.target is child:
            return self.facts.parent(parent)
        if isinstance(parent, cst.AnnAssign) and parent.target is child:
            return parent
        if isinstance(parent, cst.Del) and parent.target is child:
            return parent
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is child:
            return parent
        if isinstance(parent, cst.AsName) and parent.name is child:
            return parent
        return None

    # --- who writes -----------------------------------------------------------------------

    def _runtime_function(self, node: cst.CSTNode) -> FunctionNode | None:
        """The function holding a write, when it runs at request time (not at import)."""
        function = self.facts.enclosing_function(node)
        if function is None or self._under_main_guard(node):
            return None
        return None if self._is_import_time(function) else function

    def _is_import_time(self, function: FunctionNode) -> bool:
        key = id(function)
        if key not in self._import_time:
            self._import_time[key] = False  # a call cycle proves nothing
            self._import_time[key] = self._runs_at_import(function)
        return self._import_time[key]

    def _runs_at_import(self, function: FunctionNode) -> bool:
        """Registration and set-up code: bounded by the code, not by traffic."""
        if not isinstance(function, cst.FunctionDef):
            return False
        name = function.name.value
        if name in _CLASS_CREATION_HOOKS or "register" in name.lower():
            return True
        owner = self.facts.enclosing_class(function)
        if owner is not None and name in _METACLASS_HOOKS and self._is_metaclass(owner):
            return True
        return (
            self._returns_parameter(function)
            or self._used_as_decorator(function)
            or self._called_only_at_import(function)
        )

    def _is_metaclass(self, class_def: cst.ClassDef) -> bool:
        for base in class_def.bases:
            names = self.facts.external_names(base.value) | {dotted_name(base.value) or ""}
            if names & {"builtins.type", "abc.ABCMeta", "type"} or any(
                name.endswith("Meta") for name in names
            ):
                return True
        return False

    def _returns_parameter(self, function: cst.FunctionDef) -> bool:
        """A decorator that registers its argument and hands it back: `return fn`."""
        for node in _own_nodes(function):
            if isinstance(node, cst.Return) and isinstance(node.value, cst.Name):
                for bound in _bound_nodes(self.facts, node.value):
                    if (
                        isinstance(bound, cst.Param)
                        and self.facts.enclosing_function(bound) is function
                    ):
                        return True
        return False

    def _used_as_decorator(self, function: cst.FunctionDef) -> bool:
        """`@function`, `@function(...)`, or the decorator a `@factory(...)` returns."""
        if self._decorator_functions is None:
            self._decorator_functions = set()
            for node in walk(self.facts.module):
                if not isinstance(node, cst.Decorator):
                    continue
                expression = node.decorator
                factory = isinstance(expression, cst.Call)
                if isinstance(expression, cst.Call):
                    expression = expression.func
                if isinstance(expression, cst.Attribute):
                    self._decorator_attributes.add(expression.attr.value)
                elif isinstance(expression, cst.Name):
                    for bound in _bound_nodes(self.facts, expression):
                        self._decorator_functions.add(id(bound))
                        if factory:
                            self._decorator_factories.add(id(bound))
        if id(function) in self._decorator_functions:
            return True
        outer = self.facts.enclosing_function(function)
        if (
            isinstance(outer, cst.FunctionDef)
            and id(outer) in self._decorator_factories
            and self._returns_function(outer, function)
        ):
            return True
        return (
            self.facts.enclosing_class(function) is not None
            and function.name.value in self._decorator_attributes
        )

    def _returns_function(self, outer: cst.FunctionDef, inner: cst.FunctionDef) -> bool:
        for node in _own_nodes(outer):
            if (
                isinstance(node, cst.Return)
                and isinstance(node.value, cst.Name)
                and any(bound is inner for bound in _bound_nodes(self.facts, node.value))
            ):
                return True
        return False

    def _called_only_at_import(self, function: cst.FunctionDef) -> bool:
        """A module-level function only ever called from module-level code (set-up)."""
        calls = self._module_calls(function)
        if calls is None or not (calls or id(function) in self._deleted):
            return False
        for call in calls:
            if self._under_main_guard(call):
                return False
            caller = self.facts.enclosing_function(call)
            if caller is not None and not self._is_import_time(caller):
                return False
        return True

    def _module_calls(self, function: cst.FunctionDef) -> list[cst.Call] | None:
        """Every call of a module-level function here, or None if it is used any other way."""
        scope = self.facts.scope(function)
        if not isinstance(scope, GlobalScope):
            return None
        assignments = list(scope.assignments[function.name.value])
        if (
            len(assignments) != 1
            or not isinstance(assignments[0], Assignment)
            or assignments[0].node is not function
        ):
            return None
        calls: list[cst.Call] = []
        for access in assignments[0].references:
            if isinstance(self._store_statement(access.node), cst.Del):
                # `del helper` after the set-up calls: nothing can call it later.
                self._deleted.add(id(function))
                continue
            parent = self.facts.parent(access.node)
            if not (isinstance(parent, cst.Call) and parent.func is access.node):
                return None
            calls.append(parent)
        return calls

    def _under_main_guard(self, node: cst.CSTNode) -> bool:
        for ancestor in self.facts.ancestors(node):
            if isinstance(ancestor, cst.If) and _is_main_guard(ancestor.test):
                return True
        return False

    def _registers_callable(
        self, function: FunctionNode, values: tuple[cst.BaseExpression, ...]
    ) -> bool:
        """`HANDLERS[name] = handler`: the value is a function or class handed in."""
        if not values:
            return False
        for value in values:
            if not isinstance(value, cst.Name):
                return False
            params = [
                bound
                for bound in _bound_nodes(self.facts, value)
                if isinstance(bound, cst.Param) and self.facts.enclosing_function(bound) is function
            ]
            if not params or not all(self._is_callable_param(param) for param in params):
                return False
        return True

    def _is_callable_param(self, param: cst.Param) -> bool:
        if param.annotation is not None:
            annotation = param.annotation.annotation
            head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            names = self.facts.external_names(head) | {dotted_name(head) or ""}
            return bool(names & _CALLABLE_ANNOTATIONS)
        return param.name.value in _REGISTERED_OBJECT_NAMES

    # --- data keys ------------------------------------------------------------------------

    def _is_data(self, expression: cst.BaseExpression, seen: set[int]) -> bool:
        """Whether expression derives from a parameter of the function it runs in.

        Literals, module-level names and locals computed only from them are bounded
        by the code; parameters (and locals, loop and comprehension variables fed by
        them) carry the caller's data.
        """
        stack: list[cst.CSTNode] = [expression]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                for assignment in self.facts.assignments_of(node):
                    if self._binding_is_data(assignment, seen):
                        return True
                continue
            table = _table_lookup(node)
            if table is not None:
                # A table made from call data gives call data (and its names are in
                # `seen` now, so walking it again below would find nothing).
                if self._is_data(table, seen):
                    return True
                # `TABLE[name]`, `TABLE.get(name)`: an entry of a module-level table is
                # bounded by the table, whatever selects it.
                if isinstance(node, cst.Call):
                    stack.extend(arg.value for arg in node.args[1:])
                continue
            stack.extend(children(node))
        return False

    def _binding_is_data(self, assignment: BaseAssignment, seen: set[int]) -> bool:
        if not isinstance(assignment, Assignment) or isinstance(assignment, ImportAssignment):
            return False
        if not isinstance(assignment.scope, (FunctionScope, ComprehensionScope)):
            return False
        node = assignment.node
        if id(node) in seen:
            return False
        seen.add(id(node))
        if isinstance(node, cst.Param):
            return self._param_is_data(node, seen)
        if not isinstance(node, cst.Name):
            return False
        source = self._bound_value(node)
        return source is not None and self._is_data(source, seen)

    def _param_is_data(self, param: cst.Param, seen: set[int]) -> bool:
        """A parameter carries call data unless it is a class, a type, a flag, or a constant."""
        if (
            self._is_class_param(param)
            or _is_flag(self.facts, param)
            or self._is_type_param(param)
            or self._is_attribute_name(param)
            or self._is_module_name(param)
        ):
            return False
        return not self._constant_callers(param, seen)

    def _is_module_name(self, param: cst.Param) -> bool:
        """A parameter used as a module's name (`importlib.import_module(p)`,
        `find_spec(p)`, `sys.modules[p]`, `p in sys.modules`): as many values as there
        are importable modules, not as there are requests."""
        for reference in self._param_references(param):
            parent = self.facts.parent(reference)
            if isinstance(parent, cst.Arg) and parent.value is reference and not parent.keyword:
                call = self.facts.parent(parent)
                if (
                    isinstance(call, cst.Call)
                    and call.args[0] is parent
                    and self.facts.external_names(call.func) & _MODULE_LOADERS
                ):
                    return True
            if isinstance(parent, cst.Index):
                subscript = self.facts.parent(self.facts.parent(parent) or parent)
                if isinstance(subscript, cst.Subscript) and "sys.modules" in (
                    self.facts.external_names(subscript.value)
                ):
                    return True
            if (
                isinstance(parent, cst.Comparison)
                and parent.left is reference
                and isinstance(parent.comparisons[0].operator, (cst.In, cst.NotIn))
                and "sys.modules" in self.facts.external_names(parent.comparisons[0].comparator)
            ):
                return True
        return False

    def _is_attribute_name(self, param: cst.Param) -> bool:
        """The attribute name handed to `__setattr__`, `__getattr__`, `__set_name__`...:
        an identifier written in the code, so as many as the code has."""
        function = self.facts.enclosing_function(param)
        if not isinstance(function, cst.FunctionDef):
            return False
        if function.name.value not in _ATTRIBUTE_HOOKS:
            return False
        positional = [*function.params.posonly_params, *function.params.params]
        if self.facts.enclosing_class(function) is None:
            # A module's own `__getattr__(name)` (PEP 562), at module level.
            module_level = self.facts.enclosing_function(function) is None
            return module_level and bool(positional) and positional[0] is param
        return len(positional) >= 2 and positional[1] is param

    def code_bounded(self, param: cst.Param) -> bool:
        """For RG202: a parameter whose values are types or functions, or always constants."""
        return self._is_type_param(param) or self._constant_callers(param, set())

    # --- the literal-callers rule ---------------------------------------------------------

    def _constant_callers(self, param: cst.Param, seen: set[int]) -> bool:
        """Whether every call of a private function passes a constant for param.

        For a private module-level function (`_load(name)`) or method (`cls._get(name)`),
        or any module-level helper of a test module, the module holds every call: when
        each passes a constant (a literal, a module-level name, a loop over module
        data, a type) for the parameter, its values are bounded by the code.
        """
        function = self.facts.enclosing_function(param)
        if not isinstance(function, cst.FunctionDef) or not self._calls_visible(function):
            return False
        name = function.name.value
        private = name.startswith("_") and not name.startswith("__")
        # In a test module no outside code calls a module-level helper either.
        test_helper = (
            _is_test_module(self.context.filename)
            and self.facts.enclosing_class(function) is None
            and not name.startswith("test")
        )
        if not (private or test_helper):
            return False
        calls = self._callers(function)
        if not calls:
            return False
        for call, bound in calls:
            arguments = _arguments_for(call, function, param, skip_first=bound)
            if arguments is None or any(self._is_data(argument, seen) for argument in arguments):
                return False
        return True

    def _calls_visible(self, function: cst.FunctionDef) -> bool:
        """No decorator that could hand the function to code outside the module."""
        for decorator in function.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            if not self.facts.external_names(expression) & _CALL_TRANSPARENT_DECORATORS:
                return False
        return True

    def _callers(self, function: cst.FunctionDef) -> list[tuple[cst.Call, bool]] | None:
        """Every call of a function or method here, each with whether it binds the first
        parameter (`self._m(...)`); None when the function is used any other way."""
        owner = self.facts.enclosing_class(function)
        if owner is None:
            calls = self._module_calls(function)
            return None if calls is None else [(call, False) for call in calls]
        scope = self.facts.scope(function)
        name = function.name.value
        if scope is None:
            return None
        assignments = list(scope.assignments[name])
        if (
            len(assignments) != 1
            or not isinstance(assignments[0], Assignment)
            or assignments[0].node is not function
            or assignments[0].references
        ):
            return None
        static = _is_staticmethod(function)
        is_classmethod = "classmethod" in _decorator_words(function)
        classes = self._class_family(owner)
        found: list[tuple[cst.Call, bool]] = []
        for attribute in self._attributes_named(name):
            call = self.facts.parent(attribute)
            kind = self._receiver_kind(attribute.value, classes)
            if kind is None or not (isinstance(call, cst.Call) and call.func is attribute):
                return None
            found.append((call, not static and (is_classmethod or kind == "instance")))
        return found

    def _receiver_kind(self, receiver: cst.BaseExpression, classes: set[int]) -> str | None:
        """`class` for the class (its name, `cls`, `type(self)`), `instance` for `self`."""
        if (
            isinstance(receiver, cst.Call)
            and "builtins.type" in self.facts.external_names(receiver.func)
            and len(receiver.args) == 1
        ):
            return "class" if self._receiver_kind(receiver.args[0].value, classes) else None
        if not isinstance(receiver, cst.Name):
            return None
        bound = _bound_nodes(self.facts, receiver)
        if len(bound) != 1:
            return None
        if isinstance(bound[0], cst.ClassDef):
            return "class" if id(bound[0]) in classes else None
        param = bound[0]
        if not isinstance(param, cst.Param):
            return None
        method = self.facts.enclosing_function(param)
        if not isinstance(method, cst.FunctionDef) or _is_staticmethod(method):
            return None
        owner = self.facts.enclosing_class(method)
        positional = [*method.params.posonly_params, *method.params.params]
        if (
            owner is None
            or id(owner) not in classes
            or not positional
            or positional[0] is not param
        ):
            return None
        return "class" if self._is_class_param(param) else "instance"

    # --- keys that are types or functions (bounded by code size) --------------------------

    def _key_type(self, binding: CacheBinding) -> cst.BaseExpression | None:
        """The key type of the cache's own annotation (`dict[type, X]`), if any."""
        if binding.annotation is None:
            return None
        annotation = binding.annotation.annotation
        if (
            isinstance(annotation, cst.Subscript)
            and len(annotation.slice) == 1
            and self._annotation_names(annotation.value)
            & {"typing.ClassVar", "typing_extensions.ClassVar", "ClassVar"}
        ):
            inner = annotation.slice[0].slice
            annotation = inner.value if isinstance(inner, cst.Index) else annotation
        if not isinstance(annotation, cst.Subscript) or len(annotation.slice) != 2:
            return None
        first = annotation.slice[0].slice
        return first.value if isinstance(first, cst.Index) else None

    def _key_is_data(self, key: cst.BaseExpression, key_type: cst.BaseExpression | None) -> bool:
        """Whether a written key derives from call data, given the cache's key annotation."""
        if key_type is None:
            return self._is_data(key, set())
        if self._bounded_key_annotation(key_type):
            return False
        parts = self._tuple_parts(key_type)
        expression = self._local_value(key)
        if (
            parts is not None
            and isinstance(expression, cst.Tuple)
            and len(parts) == len(expression.elements)
            and not any(isinstance(element, cst.StarredElement) for element in expression.elements)
        ):
            return any(
                not self._is_type_annotation(part) and self._is_data(element.value, set())
                for element, part in zip(expression.elements, parts)
            )
        return self._is_data(key, set())

    def _local_value(self, expression: cst.BaseExpression) -> cst.BaseExpression:
        """What a local name was bound from (`key = (func, False)`), else the expression."""
        if not isinstance(expression, cst.Name):
            return expression
        assignments = list(self.facts.assignments_of(expression))
        if (
            len(assignments) != 1
            or not isinstance(assignments[0], Assignment)
            or not isinstance(assignments[0].scope, FunctionScope)
            or not isinstance(assignments[0].node, cst.Name)
        ):
            return expression
        value = self._bound_value(assignments[0].node)
        return value if value is not None else expression

    def _bounded_key_annotation(self, annotation: cst.BaseExpression) -> bool:
        """`type`, `Callable[...]`, or a tuple of those, flags and literals."""
        if self._is_type_annotation(annotation):
            return True
        kinds = _annotation_kinds(self.facts, annotation)
        if kinds and kinds <= _FLAG_TYPES:
            return True
        if (
            isinstance(annotation, cst.Subscript)
            and self._annotation_names(annotation.value) & _LITERAL_TYPES
        ):
            return True
        parts = self._tuple_parts(annotation)
        if (
            parts is None
            and isinstance(annotation, cst.Subscript)
            and self._annotation_names(annotation.value)
            & {"builtins.tuple", "tuple", "typing.Tuple", "Tuple"}
            and len(annotation.slice) == 2
        ):
            # tuple[type, ...]: any number of types.
            first = annotation.slice[0].slice
            return isinstance(first, cst.Index) and self._is_type_annotation(first.value)
        return parts is not None and all(self._bounded_key_annotation(part) for part in parts)

    def _tuple_parts(self, annotation: cst.BaseExpression) -> list[cst.BaseExpression] | None:
        """The element types of a fixed-length `tuple[A, B]` annotation, else None."""
        if not isinstance(annotation, cst.Subscript) or not self._annotation_names(
            annotation.value
        ) & {"builtins.tuple", "tuple", "typing.Tuple", "Tuple"}:
            return None
        parts: list[cst.BaseExpression] = []
        for element in annotation.slice:
            if not isinstance(element.slice, cst.Index) or isinstance(
                element.slice.value, cst.Ellipsis
            ):
                return None
            parts.append(element.slice.value)
        return parts

    def _annotation_names(self, expression: cst.BaseExpression) -> set[str]:
        dotted = dotted_name(expression)
        return self.facts.external_names(expression) | ({dotted} if dotted else set())

    def _annotation_members(self, annotation: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The members of a union annotation (Optional, Union, `|`), None left out."""
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            return [
                *self._annotation_members(annotation.left),
                *self._annotation_members(annotation.right),
            ]
        if isinstance(annotation, cst.Name) and annotation.value == "None":
            return []
        if isinstance(annotation, cst.Subscript):
            head = self._annotation_names(annotation.value)
            if head & {
                "typing.Optional",
                "typing.Union",
                "Optional",
                "Union",
                "typing.Annotated",
                "typing_extensions.Annotated",
                "Annotated",
            }:
                elements = [
                    element.slice.value
                    for element in annotation.slice
                    if isinstance(element.slice, cst.Index)
                ]
                if head & {"typing.Annotated", "typing_extensions.Annotated", "Annotated"}:
                    elements = elements[:1]
                return [
                    member for element in elements for member in self._annotation_members(element)
                ]
        return [annotation]

    def _is_type_annotation(self, annotation: cst.BaseExpression) -> bool:
        """`type`, `type[X]`, `Type[X]`, `Callable[...]` (also Optional or a union of them)."""
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if not isinstance(text, str):
                return False
            return text.split("[", 1)[0].strip() in _TYPE_ANNOTATIONS
        members = self._annotation_members(annotation)
        return bool(members) and all(
            self._annotation_names(member.value if isinstance(member, cst.Subscript) else member)
            & _TYPE_ANNOTATIONS
            for member in members
        )

    def _is_opaque_annotation(self, annotation: cst.BaseExpression) -> bool:
        """`Any`, `object` or a TypeVar: the annotation says nothing about the value."""
        members = self._annotation_members(annotation)
        for member in members:
            if isinstance(member, cst.Subscript):
                return False
            if self._annotation_names(member) & _OPAQUE_ANNOTATIONS:
                continue
            if not (isinstance(member, cst.Name) and self._is_typevar(member)):
                return False
        return bool(members)

    def _is_typevar(self, name: cst.Name) -> bool:
        bound = _bound_nodes(self.facts, name)
        if len(bound) != 1 or not isinstance(bound[0], cst.Name):
            return False
        value = self._bound_value(bound[0])
        return isinstance(value, cst.Call) and bool(
            self.facts.external_names(value.func) & _TYPEVAR_FACTORIES
        )

    def _is_type_param(self, param: cst.Param) -> bool:
        """A parameter whose values are classes, typing constructs or functions.

        Annotated so (`type[X]`, `Callable[...]`), or used so: handed to `TypeAdapter`,
        `get_type_hints`, `get_origin`, `issubclass`, `inspect.*`, `functools.wraps`...,
        or with `__name__`/`__args__`/... read from it, in the function or in a
        same-module helper it is passed to. A parameter annotated `str`, `int` or
        `bytes` is data whatever is done with it.
        """
        key = id(param)
        if key not in self._type_params:
            self._type_params[key] = False  # a helper cycle proves nothing
            self._type_params[key] = self._type_param(param, 0)
        return self._type_params[key]

    def _type_param(self, param: cst.Param, depth: int) -> bool:
        if param.star in ("*", "**") or self._is_instance_param(param):
            return False
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None:
            if self._is_type_annotation(annotation):
                return True
            if _annotation_kinds(self.facts, annotation) & _DATA_ANNOTATIONS:
                return False
        weak = annotation is None or self._is_opaque_annotation(annotation)
        return self._used_as_type(self._param_references(param), weak, depth)

    def _param_references(self, param: cst.Param) -> list[cst.Name]:
        scope = self.facts.scope(param)
        if scope is None:
            return []
        for assignment in scope.assignments[param.name.value]:
            if isinstance(assignment, Assignment) and assignment.node is param:
                return [
                    access.node
                    for access in assignment.references
                    if isinstance(access.node, cst.Name)
                ]
        return []

    def _used_as_type(self, references: list[cst.Name], weak: bool, depth: int) -> bool:
        return any(self._reference_used_as_type(reference, weak, depth) for reference in references)

    def _reference_used_as_type(self, reference: cst.Name, weak: bool, depth: int) -> bool:
        parent = self.facts.parent(reference)
        if isinstance(parent, cst.Attribute) and parent.value is reference:
            dunders = _TYPE_DUNDERS | (_WEAK_TYPE_DUNDERS if weak else frozenset())
            return parent.attr.value in dunders
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is reference:
            # A collection of types: `for member in members: get_origin(member)`.
            return self._elements_used_as_type(parent.target, weak, depth)
        if not isinstance(parent, cst.Arg) or parent.value is not reference or parent.star:
            return False
        call = self.facts.parent(parent)
        if not isinstance(call, cst.Call):
            return False
        names = self.facts.external_names(call.func)
        # Imported under any path (pydantic, typing_extensions, a compat module): a
        # same-module `get_args()` is judged by its body below instead.
        last_names = {name.rsplit(".", 1)[-1] for name in names}
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        index = next((position for position, arg in enumerate(positional) if arg is parent), -1)
        if index == 0 and (names & _TYPE_TAKING_CALLABLES or last_names & _TYPE_TAKING_NAMES):
            return True
        if index == 1 and names & _TYPE_TAKING_SECOND:
            return True
        if index == 0 and "builtins.getattr" in names and len(positional) > 1:
            attribute = positional[1].value
            dunders = _TYPE_DUNDERS | (_WEAK_TYPE_DUNDERS if weak else frozenset())
            return isinstance(attribute, cst.SimpleString) and attribute.evaluated_value in dunders
        if index == 0 and "builtins.enumerate" in names:
            loop = self.facts.parent(call)
            if (
                isinstance(loop, (cst.For, cst.CompFor))
                and loop.iter is call
                and isinstance(loop.target, cst.Tuple)
                and len(loop.target.elements) == 2
            ):
                return self._elements_used_as_type(loop.target.elements[1].value, weak, depth)
            return False
        return self._helper_uses_as_type(call, parent, depth)

    def _elements_used_as_type(self, target: cst.BaseExpression, weak: bool, depth: int) -> bool:
        if not isinstance(target, cst.Name):
            return False
        references = [
            access.node
            for access in self.facts.references_of_binding(target)
            if isinstance(access.node, cst.Name)
        ]
        return self._used_as_type(references, weak, depth)

    def _helper_uses_as_type(self, call: cst.Call, argument: cst.Arg, depth: int) -> bool:
        """`_resolve(tp)` where the same-module function `_resolve` uses its parameter as a type."""
        if depth >= _HELPER_DEPTH or not isinstance(call.func, cst.Name):
            return False
        bound = _bound_nodes(self.facts, call.func)
        if (
            len(bound) != 1
            or not isinstance(bound[0], cst.FunctionDef)
            or self.facts.enclosing_class(bound[0]) is not None
        ):
            return False
        helper = bound[0]
        for param in [
            *helper.params.posonly_params,
            *helper.params.params,
            *helper.params.kwonly_params,
        ]:
            arguments = _arguments_for(call, helper, param)
            if arguments is not None and any(value is argument.value for value in arguments):
                return self._type_param(param, depth + 1)
        return False

    def _bound_value(self, name: cst.Name) -> cst.BaseExpression | None:
        """The expression a local name is bound from (the iterable for loop variables)."""
        child: cst.CSTNode = name
        parent = self.facts.parent(name)
        while isinstance(parent, _CONTAINER_PARTS):
            child, parent = parent, self.facts.parent(parent)
        if isinstance(parent, cst.AssignTarget):
            statement = self.facts.parent(parent)
            return statement.value if isinstance(statement, cst.Assign) else None
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)):
            return parent.value
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is child:
            return parent.iter
        if isinstance(parent, cst.AsName):
            item = self.facts.parent(parent)
            return item.item if isinstance(item, cst.WithItem) else None
        return None

    def _is_instance_param(self, param: cst.Param) -> bool:
        """`self` of a plain method: an instance, whatever is read from it."""
        function = self.facts.enclosing_function(param)
        if (
            not isinstance(function, cst.FunctionDef)
            or self.facts.enclosing_class(function) is None
            or _is_staticmethod(function)
        ):
            return False
        positional = [*function.params.posonly_params, *function.params.params]
        return bool(positional) and positional[0] is param and not self._is_class_param(param)

    def _is_class_param(self, param: cst.Param) -> bool:
        """`cls` of a classmethod or class hook: a class object, not call data."""
        function = self.facts.enclosing_function(param)
        if (
            not isinstance(function, cst.FunctionDef)
            or self.facts.enclosing_class(function) is None
        ):
            return False
        positional = [*function.params.posonly_params, *function.params.params]
        if not positional or positional[0] is not param:
            return False
        return function.name.value in (
            _CLASS_CREATION_HOOKS | {"__new__", "__class_getitem__"}
        ) or "classmethod" in _decorator_words(function)

    # --- cost -----------------------------------------------------------------------------

    def _cost(self, binding: CacheBinding, values: list[cst.BaseExpression]) -> str:
        """What one entry costs, when the name or the values give it away."""
        name = binding.name.lower()
        annotation = ""
        if binding.annotation is not None:
            annotation = self.facts.module.code_for_node(binding.annotation.annotation).lower()
        calls = [call for value in self._value_sources(values) for call in _call_names(value)]
        if (
            any(word in name for word in _EMBEDDING_WORDS)
            or any(word in annotation for word in ("list[float]", "ndarray", "tensor"))
            or any("embed" in call for call in calls)
        ):
            return _EMBEDDING_COST
        if any(word in name for word in _RESPONSE_WORDS) or any(
            _is_response_call(call) for call in calls
        ):
            return _RESPONSE_COST
        return ""

    def _value_sources(self, values: list[cst.BaseExpression]) -> list[cst.BaseExpression]:
        """The written values, and what the local names in them were bound from."""
        sources = list(values)
        for value in values:
            for node in walk(value):
                if isinstance(node, cst.Name):
                    sources.extend(self._local_sources(node))
        return sources


def _is_test_module(filename: str) -> bool:
    """pytest's and unittest's file names: `test_*.py`, `*_test.py`, `conftest.py`."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"


def _table_lookup(node: cst.CSTNode) -> cst.BaseExpression | None:
    """The table of `table[key]` or `table.get(key, ...)` over a plain name, else None."""
    if isinstance(node, cst.Subscript):
        table = node.value
    elif (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get"
        and node.args
    ):
        table = node.func.value
    else:
        return None
    return table if dotted_name(table) is not None else None


def _is_flag(facts: ModuleFacts, param: cst.Param) -> bool:
    """A bool or Literal parameter (`aliased: bool`, `terse=False`): a few values at most."""
    if isinstance(param.default, cst.Name) and param.default.value in ("True", "False"):
        return True
    if param.annotation is None:
        return False
    annotation = param.annotation.annotation
    if isinstance(annotation, cst.Subscript):
        head = facts.external_names(annotation.value) | {dotted_name(annotation.value) or ""}
        if head & _LITERAL_TYPES:
            return True
    kinds = _annotation_kinds(facts, annotation)
    return bool(kinds) and kinds <= _FLAG_TYPES


def _arguments_for(
    call: cst.Call, function: cst.FunctionDef, param: cst.Param, *, skip_first: bool = False
) -> list[cst.BaseExpression] | None:
    """What a call passes for param (its default when omitted), or None when unknown.

    skip_first: the call binds the first parameter itself (`self._m(x)`, `cls._m(x)`).
    """
    if any(arg.star for arg in call.args):
        return None
    positional_args = [arg.value for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    params = function.params
    positional = [*params.posonly_params, *params.params]
    if skip_first:
        if not positional or positional[0] is param:
            return None
        positional = positional[1:]
    named = [*positional, *params.kwonly_params]
    if param is params.star_arg:
        return positional_args[len(positional) :]
    if param is params.star_kwarg:
        names = {other.name.value for other in named}
        return [value for keyword, value in keywords.items() if keyword not in names]
    for index, candidate in enumerate(named):
        if candidate is not param:
            continue
        if index < len(positional) and index < len(positional_args):
            return [positional_args[index]]
        if param.name.value in keywords:
            return [keywords[param.name.value]]
        return [param.default] if param.default is not None else None
    return None


def _bound_nodes(facts: ModuleFacts, name: cst.Name) -> list[cst.CSTNode]:
    """The nodes that bind what a loaded name may refer to (Param, FunctionDef, Name...)."""
    return [
        assignment.node
        for assignment in facts.assignments_of(name)
        if isinstance(assignment, Assignment)
    ]


def _mapping_parts(
    value: cst.BaseExpression,
) -> tuple[tuple[cst.BaseExpression, ...], tuple[cst.BaseExpression, ...]]:
    """Keys and values of what `update`/`|=` merges in: a dict display's parts, else itself."""
    if isinstance(value, cst.Dict):
        keys: list[cst.BaseExpression] = []
        values: list[cst.BaseExpression] = []
        for element in value.elements:
            if isinstance(element, cst.DictElement):
                keys.append(element.key)
                values.append(element.value)
            else:
                keys.append(element.value)
        return tuple(keys), tuple(values)
    if isinstance(value, cst.DictComp):
        return (value.key, value.for_in.iter), (value.value,)
    return (value,), ()


def _flatten(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Statements of a body, looking into if/try/with blocks at the same level."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.If):
            yield from _flatten(_block(statement.body))
            if statement.orelse is not None:
                yield from _flatten(
                    [statement.orelse]
                    if isinstance(statement.orelse, cst.If)
                    else _block(statement.orelse.body)
                )
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            yield from _flatten(_block(statement.body))
            for handler in statement.handlers:
                yield from _flatten(_block(handler.body))
            if statement.orelse is not None:
                yield from _flatten(_block(statement.orelse.body))
            if statement.finalbody is not None:
                yield from _flatten(_block(statement.finalbody.body))
        elif isinstance(statement, cst.With):
            yield from _flatten(_block(statement.body))


def _block(body: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(body, cst.IndentedBlock):
        return body.body
    if isinstance(body, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=body.body)]
    return []


def _own_nodes(function: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """Nodes of a function's body, not descending into nested defs, lambdas or classes."""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        yield node
        for child in children(node):
            if not isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                stack.append(child)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = [side for side in sides if isinstance(side, cst.Name) and side.value == "__name__"]
    strings = [
        side
        for side in sides
        if isinstance(side, cst.SimpleString) and side.evaluated_value == "__main__"
    ]
    return bool(names and strings) and isinstance(test.comparisons[0].operator, cst.Equal)


def _is_staticmethod(function: cst.FunctionDef) -> bool:
    return "staticmethod" in _decorator_words(function)


def _decorator_words(function: cst.FunctionDef) -> set[str]:
    words: set[str] = set()
    for decorator in function.decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        dotted = dotted_name(expression)
        if dotted:
            words.add(dotted.rsplit(".", 1)[-1])
    return words


def _function_label(facts: ModuleFacts, function: FunctionNode) -> str:
    """`fetch()` or `Client.fetch()`, how messages name a function."""
    if not isinstance(function, cst.FunctionDef):
        return "a lambda"
    class_def = facts.enclosing_class(function)
    prefix = f"{class_def.name.value}." if class_def is not None else ""
    return f"`{prefix}{function.name.value}()`"


def _call_names(expression: cst.BaseExpression) -> Iterator[str]:
    """Lower-cased dotted names of the calls in expression (`client.embeddings.create`)."""
    for node in walk(expression):
        if isinstance(node, cst.Call):
            dotted = _call_path(node.func)
            if dotted:
                yield dotted.lower()


def _call_path(func: cst.BaseExpression) -> str | None:
    """`a.b.c` for a callee, looking through calls and subscripts on the way."""
    parts: list[str] = []
    current: cst.BaseExpression = func
    while True:
        if isinstance(current, cst.Name):
            parts.append(current.value)
            break
        if isinstance(current, cst.Attribute):
            parts.append(current.attr.value)
            current = current.value
        elif isinstance(current, cst.Call):
            current = current.func
        elif isinstance(current, cst.Subscript):
            current = current.value
        else:
            break
    return ".".join(reversed(parts)) if parts else None


def _is_response_call(dotted: str) -> bool:
    parts = dotted.split(".")
    if set(parts) & _RESPONSE_CALL_PARTS:
        return True
    return parts[-1] in _HTTP_VERBS and bool(set(parts[:-1]) & _HTTP_RECEIVERS)


# --- RG202 ------------------------------------------------------------------------------


def _functools_caches(context: FileContext, code: str) -> Iterator[Diagnostic]:
    facts = context.facts
    caches: _ModuleCaches | None = None
    for node in walk(facts.module):
        if not isinstance(node, cst.FunctionDef):
            continue
        for decorator in node.decorators:
            label = _unbounded_functools_decorator(facts, decorator)
            if label is None:
                continue
            if caches is None:
                caches = _ModuleCaches(context, code)
            params = _free_form_params(facts, node, caches)
            if not params:
                continue
            shown = ", ".join(f"`{name}`" for name in params)
            per = f"value of {shown}" if len(params) == 1 else f"combination of {shown}"
            if facts.enclosing_class(node) is not None and not _is_staticmethod(node):
                per += " (and keeps every `self` it saw alive)"
            yield context.diagnostic(
                code,
                decorator,
                f"`@{label}` on {_function_label(facts, node)} keeps one entry per distinct "
                f"{per} for the life of the process: free-form arguments (text, ids, paths) "
                "make it grow with traffic. Bound it: `functools.lru_cache(maxsize=...)`, or "
                f"`BoundedCache(maxsize={context.settings.cache_maxsize:_})` from "
                "runguard_lint.runtime",
                fix=guarded(lru_cache_fix, context, decorator),
            )


def _unbounded_functools_decorator(facts: ModuleFacts, decorator: cst.Decorator) -> str | None:
    """How to name the decorator when it is `functools.cache` or `lru_cache(maxsize=None)`."""
    expression = decorator.decorator
    if isinstance(expression, cst.Call):
        if "functools.lru_cache" not in facts.external_names(expression.func):
            return None
        maxsize: cst.BaseExpression | None = None
        for position, arg in enumerate(expression.args):
            if (arg.keyword is None and position == 0 and not arg.star) or (
                arg.keyword is not None and arg.keyword.value == "maxsize"
            ):
                maxsize = arg.value
        if isinstance(maxsize, cst.Name) and maxsize.value == "None":
            return "functools.lru_cache(maxsize=None)"
        return None
    if "functools.cache" in facts.external_names(expression):
        return "functools.cache"
    return None


def _free_form_params(
    facts: ModuleFacts, function: cst.FunctionDef, caches: _ModuleCaches
) -> list[str]:
    """Parameters that take free-form values: not types, and not always constants here."""
    params = function.params
    positional = [*params.posonly_params, *params.params]
    if (
        facts.enclosing_class(function) is not None
        and not _is_staticmethod(function)
        and positional
    ):
        positional = positional[1:]
    candidates: list[cst.Param] = [*positional, *params.kwonly_params]
    if isinstance(params.star_arg, cst.Param):
        candidates.append(params.star_arg)
    return [
        param.name.value
        for param in candidates
        if _is_free_form(facts, param) and not caches.code_bounded(param)
    ]


def _is_free_form(facts: ModuleFacts, param: cst.Param) -> bool:
    words = [word for word in param.name.value.lower().split("_") if word]
    if param.annotation is None:
        return bool(set(words) & _FREE_FORM_WORDS)
    kinds = _annotation_kinds(facts, param.annotation.annotation)
    if kinds & _UNBOUNDED_TYPES:
        return True
    return bool(kinds & _INT_TYPES) and bool(set(words) & _ID_WORDS)


def _annotation_kinds(facts: ModuleFacts, annotation: cst.BaseExpression) -> set[str]:
    """The type names an annotation admits, through Optional, Union, `|` and Annotated."""
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        return {text} if isinstance(text, str) else set()
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return _annotation_kinds(facts, annotation.left) | _annotation_kinds(
            facts, annotation.right
        )
    if isinstance(annotation, cst.Subscript):
        head = facts.external_names(annotation.value) | {dotted_name(annotation.value) or ""}
        if not head & _WRAPPER_TYPES:
            return set()
        elements: list[cst.BaseExpression] = [
            element.slice.value
            for element in annotation.slice
            if isinstance(element.slice, cst.Index)
        ]
        if head & {"typing.Annotated", "typing_extensions.Annotated", "Annotated"}:
            elements = elements[:1]
        kinds: set[str] = set()
        for element in elements:
            kinds |= _annotation_kinds(facts, element)
        return kinds
    names = facts.external_names(annotation)
    dotted = dotted_name(annotation)
    return names | ({dotted} if dotted else set())
