#!/usr/bin/env bash
# Record what the linter says and what its fixes would write, on the fixtures,
# the example project and (when given) a corpus directory, into OUT/. Two
# snapshots taken before and after a refactor must be byte-identical:
#
#   scripts/behaviour_snapshot.sh OUT_BEFORE [CORPUS_DIR]
#   ...refactor...
#   scripts/behaviour_snapshot.sh OUT_AFTER [CORPUS_DIR] && diff -r OUT_BEFORE OUT_AFTER
set -uo pipefail
out="$1"
corpus="${2:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
run() {  # name, then arguments for the CLI
    local name="$1"
    shift
    (cd "$root" && python -m runguard_lint --no-cache "$@" >"$out/$name.out" 2>"$out/$name.err")
    echo "exit $?" >>"$out/$name.out"
}
targets=(fixtures examples)
for target in "${targets[@]}"; do
    run "$target.json" --output-format json --select RG,RG202,RG402 "$target"
    run "$target.diff" --diff --unsafe-fixes --select RG,RG202,RG402 "$target"
    run "$target.diff-safe" --diff --select RG,RG202,RG402 "$target"
done
if [ -n "$corpus" ]; then
    for package in "$corpus"/*/; do
        name="$(basename "$package")"
        run "corpus-$name.json" --output-format json --select RG,RG202,RG402 "$package"
        run "corpus-$name.diff" --diff --unsafe-fixes --select RG,RG202,RG402 "$package"
    done
fi
