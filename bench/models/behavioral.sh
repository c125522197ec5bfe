#!/usr/bin/env bash
# Behavioral tags against the simulator's truth (issue 5, item 4) → MODELS.md.
#
#   bench/models/behavioral.sh                          # release build, 100k-person sim, seed 42
#   bench/models/behavioral.sh --people 100000 --seed 7 --no-report   # the calibration shop
#   bench/models/behavioral.sh --data DIR --truth FILE [--now T]      # an existing import
#
# Options:
#   --people N     people to simulate and import (default 100000)   --seed S (default 42)
#   --data DIR     measure an already imported data directory instead (no sim, no import) ...
#   --truth FILE   ... with the truth.ndjson of the sim it was imported from
#   --now TIME     ... at this evaluation time (default DIR/.now: the last event's timestamp)
#   --audex BIN    use this audex binary instead of building one (release)
#   --no-report    print the section, leave MODELS.md alone
#   --no-ceiling   skip the supervised ceiling (scikit-learn trained on the truth; ~1.5 min)
#   --render-only  only re-render MODELS.md from the figures of the last run
#
# Steps: build audex (release); `audex sim` and import into bench/out/models-behavioral/ (the
# events file is deleted after the import: truth and catalog stay, so a re-run measures the same
# import); `audex model report --behavioral-only`; bench/models/render_behavioral.py rewrites
# only the text between <!-- behavioral:begin --> and <!-- behavioral:end --> in MODELS.md.
# The report also exports everyone's evidence and truth tags; bench/models/behavioral_ceiling.py
# (scikit-learn, in a venv) trains supervised models on half the people's truth and measures on
# the other half: what these events allow at best, beside what Audex infers without truth.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PEOPLE=100000 SEED=42 AUDEX_BIN="" REPORT=1 RENDER_ONLY="" DATA_DIR="" TRUTH="" NOW_ARG="" CEILING=1
ARGS=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --people) PEOPLE=$2; ARGS+=" $1 $2"; shift 2 ;;
        --seed) SEED=$2; ARGS+=" $1 $2"; shift 2 ;;
        --data) DATA_DIR=$2; ARGS+=" $1 $2"; shift 2 ;;
        --truth) TRUTH=$2; ARGS+=" $1 $2"; shift 2 ;;
        --now) NOW_ARG=$2; ARGS+=" $1 $2"; shift 2 ;;
        --audex) AUDEX_BIN=$2; shift 2 ;;
        --no-report) REPORT=""; shift ;;
        --no-ceiling) CEILING=""; shift ;;
        --render-only) RENDER_ONLY=1; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "behavioral.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
SHARED=${AUDEX_SHARED:-$ROOT/../shared/data}
TAXONOMY=${AUDEX_TAXONOMY:-$SHARED/google-product-taxonomy/taxonomy-with-ids.en-US.txt}
[[ -f "$TAXONOMY" ]] || { echo "behavioral.sh: missing $TAXONOMY" >&2; exit 2; }
OUT=$ROOT/bench/out/models-behavioral
FIG=$OUT/figures
mkdir -p "$OUT"
. "$ROOT/bench/models/common.sh"
say() { printf '== %s\n' "$*" >&2; }

if [[ -z "$RENDER_ONLY" ]]; then
    if [[ -z "$AUDEX_BIN" ]]; then
        say "building audex (release)"
        cargo build --release -q -p audex-cli
        AUDEX_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/audex
    fi
    if [[ -n "$DATA_DIR" ]]; then
        [[ -f "$TRUTH" ]] || { echo "behavioral.sh: --data needs --truth FILE" >&2; exit 2; }
        DATA=$DATA_DIR
        NOW=${NOW_ARG:-$(cat "$DATA/.now" 2>/dev/null || true)}
        [[ -n "$NOW" ]] || { echo "behavioral.sh: no $DATA/.now: give --now" >&2; exit 2; }
        SCALE="an existing import (\`--data\`, truth $(basename "$TRUTH"))"
    else
        SIM=$OUT/sim-$PEOPLE-$SEED
        DATA=$OUT/data-$PEOPLE-$SEED
        TRUTH=$SIM/truth.ndjson
        sim_import "$AUDEX_BIN" "$TAXONOMY" "$PEOPLE" "$SEED" "$SIM" "$DATA"
        NOW=${NOW_ARG:-$(cat "$DATA/.now")}
        SCALE="simulated (seed $SEED) and imported by the script"
    fi
    say "audex model report --behavioral-only"
    rm -rf "$FIG.new" "$OUT/export"
    mkdir -p "$FIG.new"
    EXPORT=()
    [[ -z "$CEILING" ]] || EXPORT=(--behavioral-export "$OUT/export")
    "$AUDEX_BIN" --data "$DATA" --taxonomy "$TAXONOMY" model report --behavioral-only \
        --truth "$TRUTH" --now "$NOW" "${EXPORT[@]}" > "$FIG.new/audex.json"
    if [[ -n "$CEILING" ]]; then
        models_venv
        say "supervised ceiling (scikit-learn trained on half the people's truth)"
        "$VENV/bin/python" bench/models/behavioral_ceiling.py "$OUT/export" > "$FIG.new/ceiling.json"
        rm -rf "$OUT/export"
    fi
    { echo "date: $(date -u +%FT%TZ)"
      echo "git: $(git rev-parse --short HEAD)$(git diff --quiet -- crates/models crates/cli || echo +local)"
      echo "cpu: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
      echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
      echo "scale: $SCALE"
      echo "command: bench/models/behavioral.sh${ARGS:- --people $PEOPLE --seed $SEED}"; } > "$FIG.new/machine.txt"
    rm -rf "$FIG"
    mv "$FIG.new" "$FIG"
fi
REPORT=$REPORT OUT=$OUT python3 bench/models/render_behavioral.py
