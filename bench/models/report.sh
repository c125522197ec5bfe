#!/usr/bin/env bash
# The whole quality report (issue 5) in one command → MODELS.md.
#
#   bench/models/report.sh                 # every section at its default scale (release build)
#   bench/models/report.sh --data-1m DIR --truth-1m FILE
#                                          # also lookalike speed and quality on a 1M import: DIR is
#                                          # a data directory imported from a 1M sim, FILE its truth
#                                          # (bench/run.sh --people 1000000 leaves such a directory
#                                          # in bench/out/work-1000000/data)
#
# Runs, in order, each rewriting only its own markers in MODELS.md:
#   bench/models/context_recs.sh   contextual accuracy beside TF-IDF + linear; recommendations
#                                  hit-rate@5 beside a popularity baseline (20k-person sim)
#   bench/models/run.sh            lookalike recall@target and AUC, both methods, beside
#                                  scikit-learn, and prospecting (100k-person sim; + 1M with --data-1m)
#   bench/models/behavioral.sh     behavioral tags against truth with the supervised ceiling
#                                  (100k-person sim, seed 42; thresholds were calibrated on seed 7)
# The release binary is built once here; each script's own build is then a no-op.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DATA_1M="" TRUTH_1M=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data-1m) DATA_1M=$2; shift 2 ;;
        --truth-1m) TRUTH_1M=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "report.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
say() { printf '=== %s\n' "$*" >&2; }
say "building audex (release)"
cargo build --release -q -p audex-cli
say "contextual and recommendations"
bench/models/context_recs.sh
say "lookalike and prospecting"
if [[ -n "$DATA_1M" ]]; then
    [[ -f "$TRUTH_1M" ]] || { echo "report.sh: --data-1m needs --truth-1m FILE" >&2; exit 2; }
    bench/models/run.sh --people 100000 --data "$DATA_1M" --truth "$TRUTH_1M" --copy
else
    bench/models/run.sh --people 100000
fi
say "behavioral tags"
bench/models/behavioral.sh --people 100000 --seed 42
say "MODELS.md regenerated"
