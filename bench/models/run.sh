#!/usr/bin/env bash
# Lookalike and prospecting quality and speed (issue 5, items 1-3) → MODELS.md.
#
#   bench/models/run.sh                      # release build, 100k-person sim
#   bench/models/run.sh --people 20000       # smaller
#   bench/models/run.sh --people 100000 \
#       --data bench/out/work-1000000/data --truth /root/bench1m/sim/truth.ndjson \
#       --now 2026-11-28T23:59:59Z --copy    # 100k sim and an existing 1M import, one section
#
# Options:
#   --people N     people to simulate and import (default 100000 when no --data is given)
#   --seed S       sim and model seed (default 42)
#   --data DIR     also measure on an already imported data directory (no sim, no import) ...
#   --truth FILE   ... with the truth.ndjson of the sim it was imported from (required with --data)
#   --now TIME     ... and this evaluation time (default DIR/.now; the last event's timestamp —
#                  any time of the sim's last day gives the same features)
#   --copy         ... on a private copy of DIR (log segments hard-linked but the last, the rest
#                  copied; removed afterwards), when another process holds DIR's lock
#   --repeat R     time each side R times and keep the best (default 3: the machine is shared)
#   --seed-tags T  truth tags used as lookalike seeds (default luxury_buyer,pet_owner,new_parent)
#   --audex BIN    use this audex binary instead of building one (release)
#   --no-report    print the section, leave MODELS.md alone
#   --render-only  only re-render MODELS.md from the figures already measured
#
# Per scale: `audex model report` (Audex: both lookalike methods on a held-out 20 % of each seed,
# prospecting on a 30-day time split) with `--export` (the same features and split as NumPy CSR
# parts), run R times (the results are deterministic; the best times are kept); scikit-learn
# LogisticRegression (lbfgs and saga, in a venv) on the export, each fit R times, then the
# export is deleted. Figures land in bench/out/models-lookalike/figures/
# <people>/; bench/models/render_lookalike.py rewrites only the text between
# <!-- lookalike:begin --> and <!-- lookalike:end --> in MODELS.md from every scale measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PEOPLE="" SEED=42 REPEAT=3 AUDEX_BIN="" REPORT=1 TAGS=luxury_buyer,pet_owner,new_parent RENDER_ONLY=""
DATA_DIR="" TRUTH="" NOW_ARG="" COPY=""
ARGS="$*"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --people) PEOPLE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --data) DATA_DIR=$2; shift 2 ;;
        --truth) TRUTH=$2; shift 2 ;;
        --now) NOW_ARG=$2; shift 2 ;;
        --copy) COPY=1; shift ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --seed-tags) TAGS=$2; shift 2 ;;
        --audex) AUDEX_BIN=$2; shift 2 ;;
        --no-report) REPORT=""; shift ;;
        --render-only) RENDER_ONLY=1; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$PEOPLE" || -n "$DATA_DIR" ]] || PEOPLE=100000
if [[ -n "$DATA_DIR" ]]; then
    [[ -d "$DATA_DIR" ]] || { echo "run.sh: no data directory $DATA_DIR" >&2; exit 2; }
    [[ -f "$TRUTH" ]] || { echo "run.sh: --data needs --truth FILE (the sim's truth.ndjson)" >&2; exit 2; }
    DATA_DIR=$(cd "$DATA_DIR" && pwd)
fi
SHARED=${AUDEX_SHARED:-$ROOT/../shared/data}
TAXONOMY=${AUDEX_TAXONOMY:-$SHARED/google-product-taxonomy/taxonomy-with-ids.en-US.txt}
[[ -f "$TAXONOMY" ]] || { echo "run.sh: missing $TAXONOMY" >&2; exit 2; }
OUT=$ROOT/bench/out/models-lookalike
mkdir -p "$OUT/figures"
say() { printf '== %s\n' "$*" >&2; }

# Measures one scale: DATA (imported), TRUTH, NOW, the command that made it; figures → FIG.
measure() {
    local data=$1 truth=$2 now=$3 fig=$4 export=$OUT/export
    rm -rf "$fig.new" "$export"
    mkdir -p "$fig.new"
    cut -d' ' -f1-3 /proc/loadavg > "$fig.new/load.txt"
    for i in $(seq 1 "$REPEAT"); do
        say "audex model report on $data ($i/$REPEAT: features, lookalike both methods, prospecting)"
        local extra=()
        [[ $i != 1 ]] || extra=(--export "$export")
        "$AUDEX_BIN" --data "$data" --taxonomy "$TAXONOMY" model report --truth "$truth" \
            --seed-tags "$TAGS" --rng-seed "$SEED" --now "$now" "${extra[@]}" > "$fig.new/audex-$i.json"
    done
    du -sh "$export" | cut -f1 > "$fig.new/export-size.txt"
    say "scikit-learn LogisticRegression on the exported features"
    "$VENV/bin/python" bench/models/lookalike_sklearn.py "$export" "$TAGS" "$REPEAT" > "$fig.new/sklearn.json"
    rm -rf "$export"
    # Other work on the machine skews every timing: keep the load average beside the figures.
    cut -d' ' -f1-3 /proc/loadavg >> "$fig.new/load.txt"
    "$VENV/bin/python" -c "import sklearn, numpy, scipy; print(sklearn.__version__, numpy.__version__, scipy.__version__)" \
        > "$fig.new/versions.txt"
    { echo "date: $(date -u +%FT%TZ)"; echo "git: $(git rev-parse --short HEAD)$(git diff --quiet -- crates bench/models || echo +local)";
      echo "cpu: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)";
      echo "mem: $(free -g | awk '/Mem:/ {print $2}') GB"; echo "command: bench/models/run.sh $ARGS"; } > "$fig.new/machine.txt"
    rm -rf "$fig"
    mv "$fig.new" "$fig"
}

if [[ -z "$RENDER_ONLY" ]]; then
if [[ -z "$AUDEX_BIN" ]]; then
    say "building audex (release)"
    cargo build --release -q -p audex-cli
    AUDEX_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/audex
fi

. "$ROOT/bench/models/common.sh"
models_venv

if [[ -n "$PEOPLE" ]]; then
    SIM=$OUT/sim-$PEOPLE-$SEED
    DATA=$OUT/data-$PEOPLE-$SEED
    sim_import "$AUDEX_BIN" "$TAXONOMY" "$PEOPLE" "$SEED" "$SIM" "$DATA"
    measure "$DATA" "$SIM/truth.ndjson" "$(cat "$DATA/.now")" "$OUT/figures/$PEOPLE"
fi

if [[ -n "$DATA_DIR" ]]; then
    NOW=${NOW_ARG:-$(cat "$DATA_DIR/.now" 2>/dev/null || true)}
    [[ -n "$NOW" ]] || { echo "run.sh: no $DATA_DIR/.now: give --now (the last event's time)" >&2; exit 2; }
    N=$(wc -l < "$TRUTH" | tr -d ' ')
    DATA=$DATA_DIR
    if [[ -n "$COPY" ]]; then
        DATA=$OUT/data-copy
        say "private copy of $DATA_DIR in $DATA (log segments but the last hard-linked)"
        rm -rf "$DATA"
        last=$(find "$DATA_DIR" -path '*/log/*.log' | sort | tail -n 1)
        (cd "$DATA_DIR" && find . -type d) | while read -r d; do mkdir -p "$DATA/$d"; done
        (cd "$DATA_DIR" && find . -type f ! -name LOCK) | while read -r f; do
            if [[ "$f" == */log/*.log && "$DATA_DIR/${f#./}" != "$last" ]]; then
                ln "$DATA_DIR/$f" "$DATA/$f"
            else
                cp "$DATA_DIR/$f" "$DATA/$f"
            fi
        done
        trap 'rm -rf "$OUT/data-copy"' EXIT
    fi
    measure "$DATA" "$TRUTH" "$NOW" "$OUT/figures/$N"
    [[ -z "$COPY" ]] || rm -rf "$DATA"
fi
fi

REPORT=$REPORT OUT=$OUT python3 bench/models/render_lookalike.py
