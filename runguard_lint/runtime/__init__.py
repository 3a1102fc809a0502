"""`runguard_runtime` under its former name, for code fixed before it was a distribution.

The helpers (ResourceScope, per_loop, BoundedCache) live in the stdlib-only
`runguard-runtime` distribution, built from runtime/ in this repository; the
linter's wheel ships the same package, so a project that declares runguard-lint
can import either name. The objects are the same: `isinstance` and `except`
clauses work across both names.
"""

from __future__ import annotations

from runguard_runtime import *  # noqa: F403  (the same objects, under this name)
from runguard_runtime import __all__ as __all__
