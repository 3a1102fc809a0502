"""What a rule must see of a file: the vocabulary between rules and the prefilter.

Rules declare their needs; the prefilter keeps exactly what the enabled rules
need and may blank the rest. Kept apart from both so that neither imports the
other.
"""

from __future__ import annotations

import enum


class Need(enum.Enum):
    """What a rule must see of a file, so the prefilter knows what it may drop."""

    # Candidate acquisitions of catalog resources and the functions holding them.
    ACQUISITIONS = "acquisitions"
    # `with` items too (a resource built and released per call is still a finding).
    WITH_ITEMS = "with-items"
    # Module- and class-level dicts and every function that may write to them.
    DICT_CACHES = "dict-caches"
    # The whole module when it uses `functools.cache`/`lru_cache`.
    FUNCTOOLS_CACHES = "functools-caches"
    # Nothing beyond the syntax check every file gets.
    SYNTAX = "syntax"
