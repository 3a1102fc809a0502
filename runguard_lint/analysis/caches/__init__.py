"""The analysis behind the unbounded-cache rules, one component per question.

bindings (which dicts, and every use of each), writers (which writes run at
request time), keys (which keys are call data) with type_params, classes and
calls beneath it, entries (what an entry holds), annotations and syntax (small
shared questions); module_caches and functools_caches put them together into
the typed findings the rule modules turn into messages and fixes. How a use is
classified lives in analysis/dict_uses.py, shared with the prefilter and the fix.
"""
