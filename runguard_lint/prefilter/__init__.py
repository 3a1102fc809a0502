"""The cheap, sound stages before LibCST: which files and functions need the full analysis?

LibCST with scope metadata costs ~2k lines/s, a hundred times the stdlib
parser, so it sees only what a check could report on:

1. text (text.py): a regex over the catalog's distinctive names (and, for the
   dict-cache rule, over the names of module- and class-level dicts) finds
   the lines worth a look;
2. the stdlib `ast` tree (already built for the syntax check), walked only in
   the top-level statements and class members that span such a line, finds
   the candidate acquisitions (acquisitions.py) and the dicts some function
   may insert into (caches.py);
3. every other function body is blanked (same line numbers) before LibCST
   parses the file (plan.py): functions with no candidate acquisition, and
   for the dict-cache rule those outside the closure of callers and helpers
   the full analysis follows.

Before all of them, `plan.may_report` asks the first test of each stage of the
text alone: a file it rules out is not parsed at all (and so gets no RG900
unless `check-syntax` asks for it).

Every stage over-approximates what the LibCST checks look at, so it never
drops a finding: every fixture, and the corpus of real packages, give the
same findings with and without them (tests/test_caches.py,
`scripts/corpus_report.py soundness`).
"""

from runguard_lint.prefilter.plan import AnalysisPlan, analysis_plan, may_report

__all__ = ["AnalysisPlan", "analysis_plan", "may_report"]
