import sys, glob, random, ast
from runguard_lint.catalog import build_catalog
from runguard_lint.analysis.project.collect import summary_of
from runguard_lint.analysis.project.facts import join
from runguard_lint.analysis.project import module_of
cat = build_catalog()
files = sorted(f for r in sys.argv[1:] for f in glob.glob(r + "/**/*.py", recursive=True))
sums=[]
for f in files:
    try:
        text=open(f,encoding="utf-8").read(); tree=ast.parse(text)
        m,p=module_of(f); sums.append(summary_of(tree,text,m,p,cat))
    except Exception: pass
base = join(sums, cat)
for seed in range(3):
    random.Random(seed).shuffle(sums)
    f2 = join(sums, cat)
    print(seed, f2.digest == base.digest)
    if f2.digest != base.digest:
        for fld in ["built_per_call","closed_by_builders","loggers","logger_factories","released_by_class","constant_params","factories","releasers","takers"]:
            a, b = getattr(base, fld), getattr(f2, fld)
            if a != b:
                if isinstance(a, dict):
                    diff = {k:(a.get(k),b.get(k)) for k in set(a)|set(b) if a.get(k)!=b.get(k)}
                    print(" ", fld, len(diff), list(diff.items())[:3])
                else:
                    print(" ", fld, a ^ b if isinstance(a, frozenset) else "")
