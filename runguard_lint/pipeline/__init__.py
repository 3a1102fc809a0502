"""From files to reports: files -> parsed unit -> diagnostics -> fixes -> reports.

`files` reads, decodes and hashes; `check` turns one file into diagnostics;
`fix` applies their fixes to a fixpoint and writes back; `cache` keeps reports
by content hash; `pool` runs files in worker processes, crash-isolated;
`batch` puts them together for many files (and for standard input).
"""
