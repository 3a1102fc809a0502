"""runguard-lint: find and fix the resource leaks of LLM-agent and web-service code.

This module stays light: `runguard_lint.runtime`, which fixed code imports, must
not pull in libcst, click or rich through it.
"""

__version__ = "0.1.0"
