"""RG106: Files, sockets, subprocesses, tempfiles, archives and sqlite3 connections left open.

The shared leak rule says it all; this family needs no words of its own.
"""

from __future__ import annotations

from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG106"


RULE = _Rule()
