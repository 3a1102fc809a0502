"""One module per rule: its messages, remedies and fix choice (its prefilter needs
are in its TOML, read without loading the module).

A rule's documentation and catalog entries live in `rules/RGxxx.toml` beside
the package; its code lives here in `rgxxx.py`, which exposes `RULE`, an
instance of `base.Rule`. The registry pairs the two and derives every set of
codes from them, so adding a rule touches exactly one TOML, one module and
one fixture (plus a golden file when the rule has a fix).
"""
