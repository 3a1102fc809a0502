"""runguard-lint: find and fix the resource leaks of LLM-agent and web-service code.

This module stays light: `runguard_lint.runtime` (the re-export of runguard-runtime,
which fixed code may import) must not pull in libcst, click or rich through it.
`runtime/runguard_runtime/__init__.py` carries the same version number.
"""

__version__ = "0.1.0"
