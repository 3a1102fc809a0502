"""What the unbounded-cache rule, its prefilter and its fix call a dict and its uses:
the word lists all three read, so that they cannot drift apart, and `UseKind`.

Apart from the classifier (analysis/dict_uses.py), which reads the LibCST tree: the
prefilter reads only this, and a check whose files never reach LibCST never loads it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

# --- the vocabulary ------------------------------------------------------------------------

# Callables that build an empty dict when called without arguments.
DICT_FACTORIES = frozenset({"builtins.dict", "collections.OrderedDict", "typing.OrderedDict"})
# ... and the one whose lookups insert (`c[k].append(v)` is a write).
DEFAULTDICT_FACTORIES = frozenset({"collections.defaultdict"})
FUNCTOOLS_CACHE = "functools.cache"
FUNCTOOLS_LRU_CACHE = "functools.lru_cache"
CACHE_DECORATORS = frozenset({FUNCTOOLS_CACHE, FUNCTOOLS_LRU_CACHE})

EVICTING_METHODS = frozenset({"pop", "popitem", "clear", "__delitem__"})
# Methods that insert the key given as their first argument.
KEYED_WRITE_METHODS = frozenset({"setdefault", "__setitem__"})
# Methods that insert every key of the mapping (or keywords) handed to them.
MERGE_METHODS = frozenset({"update"})
# Reading methods of every Mapping, and those only a dict (or OrderedDict) has.
MAPPING_READING_METHODS = frozenset(
    {"get", "keys", "values", "items", "__contains__", "__getitem__", "__len__", "__iter__"}
)
READING_METHODS = MAPPING_READING_METHODS | frozenset({"copy", "move_to_end"})
# What `BoundedCache` supports of the dict API: all of MutableMapping.
MUTABLE_MAPPING_METHODS = (
    EVICTING_METHODS | KEYED_WRITE_METHODS | MERGE_METHODS | MAPPING_READING_METHODS
)

# Builtins that only read a mapping through the Mapping protocol.
MAPPING_READERS = frozenset(
    f"builtins.{name}"
    for name in (
        "len",
        "list",
        "sorted",
        "tuple",
        "set",
        "frozenset",
        "iter",
        "dict",
        "bool",
        "any",
        "all",
        "enumerate",
    )
)
# Callables that only read a dict handed to them; anything else may keep or evict it.
READ_ONLY_CALLABLES = (
    MAPPING_READERS
    | frozenset(
        f"builtins.{name}"
        for name in (
            "reversed",
            "repr",
            "str",
            "print",
            "sum",
            "max",
            "min",
            "isinstance",
            "id",
            "zip",
            "format",
            "type",
        )
    )
    | frozenset(
        {"json.dumps", "json.dump", "copy.copy", "copy.deepcopy", "pprint.pprint", "pprint.pformat"}
    )
)


def terminals(qualified_names: Iterable[str]) -> frozenset[str]:
    """The last names (`OrderedDict` for `collections.OrderedDict`): what the prefilter,
    which resolves no names, can match."""
    return frozenset(name.rsplit(".", 1)[-1] for name in qualified_names)


class UseKind(enum.Enum):
    """What one use of a dict does to its entries."""

    READ = "read"
    WRITE = "write"
    EVICT = "evict"
    # Handed on, aliased, returned or in doubt: someone else may evict.
    ESCAPE = "escape"
