#!/usr/bin/env bash
# Side-by-side benchmarks (issue 6): Audex against DuckDB and chDB, same machine, same run, same
# data, reported as ratios. One command:
#
#   bench/run.sh --people 100000                  # build, simulate, import, evaluate, compare
#   bench/run.sh --people 1000000 --p1-runs 1     # bigger: one import per engine
#   bench/run.sh --people 10000 --smoke           # CI: DuckDB only, one run each, no timing
#                                                 # assertions, exit 1 on any membership mismatch
#   bench/run.sh --people 100000 --only-serving   # P3/P4/P6-after-serving again on the data
#                                                 # imported by an earlier run in the same --work
#
# Options:
#   --people N      people to simulate (required)
#   --days D        days of activity (default 120)      --seed S     (default 42)
#   --smoke         quick correctness run: debug build, DuckDB only, 1 run, BENCHMARKS.md untouched
#   --p1-runs K     imports per engine (default 3; 1 with --smoke)
#   --runs R        timed runs per query / evaluation (default 7; 1 with --smoke)
#   --engines LIST  SQL peers (default duckdb,chdb; duckdb with --smoke)
#   --sim-dir DIR   use this existing `audex sim` output instead of simulating (read only)
#   --data-dir DIR  with --p1-runs 0: copy this already-imported data directory (never written)
#   --audex BIN     use this audex binary instead of building one
#   --work DIR      scratch (default bench/out/work-N); databases and copies live here
#   --size-runs K   `audex audience size` CLI calls per definition (live preview; default 3)
#   --no-report     do not touch BENCHMARKS.md
#   --no-serving    skip P3 lookups / P4 freshness / P6 after serving (bench/serving.py)
#   --only-serving  only those, on WORK/data of an earlier run (its other figures are kept)
# Serving needs wrk, redis-server, redis-cli, redis-benchmark: installed with apt-get (sudo when
# not root) when missing. SERVING_ARGS adds options to bench/serving.py (e.g. "--rate 20000";
# "--in-place" serves WORK/data itself instead of a copy, when the disk is short at 1M people).
# Environment: PEERS_ARGS adds options to bench/peers.py (e.g. "--memory-limit 12GB --threads 2").
#
# Output: bench/out/results-N.json (all figures, the machine, the command) and, unless --smoke or
# --no-report, the N-people tables in BENCHMARKS.md (bench/report.py). Exit status: 0 when every
# definition's members are identical in Audex and the SQL peers, 1 on a mismatch, 2 on errors.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CMDLINE="bench/run.sh $*"

PEOPLE="" DAYS=120 SEED=42 SMOKE="" P1_RUNS="" RUNS="" ENGINES="" SIM_DIR="" DATA_DIR=""
AUDEX_BIN="" WORK="" REPORT=1 SIZE_RUNS="" SERVING=1 ONLY_SERVING=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --people) PEOPLE=$2; shift 2 ;;
        --days) DAYS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --smoke) SMOKE=1; shift ;;
        --p1-runs) P1_RUNS=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --engines) ENGINES=$2; shift 2 ;;
        --sim-dir) SIM_DIR=$2; shift 2 ;;
        --data-dir) DATA_DIR=$2; shift 2 ;;
        --audex) AUDEX_BIN=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --size-runs) SIZE_RUNS=$2; shift 2 ;;
        --no-report) REPORT=""; shift ;;
        --no-serving) SERVING=""; shift ;;
        --only-serving) ONLY_SERVING=1; shift ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -n "$PEOPLE" ]] || { echo "run.sh: --people N is required" >&2; exit 2; }
if [[ -n "$SMOKE" ]]; then
    P1_RUNS=${P1_RUNS:-1}; RUNS=${RUNS:-1}; ENGINES=${ENGINES:-duckdb}; PROFILE=debug; REPORT=""
    SIZE_RUNS=${SIZE_RUNS:-1}
else
    P1_RUNS=${P1_RUNS:-3}; RUNS=${RUNS:-7}; ENGINES=${ENGINES:-duckdb,chdb}; PROFILE=release
    SIZE_RUNS=${SIZE_RUNS:-3}
fi
if [[ -n "$DATA_DIR" && "$P1_RUNS" != 0 ]]; then
    echo "run.sh: --data-dir is for --p1-runs 0 (reuse an import instead of timing one)" >&2; exit 2
fi
END_DATE=2026-11-28
NOW=2026-11-29T00:00:00Z       # the day after the simulated days
TAXONOMY=${AUDEX_TAXONOMY:-$ROOT/../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt}
[[ -f "$TAXONOMY" ]] || { echo "run.sh: taxonomy not found at $TAXONOMY" >&2; exit 2; }
WORK=${WORK:-$ROOT/bench/out/work-$PEOPLE}
RAW="$WORK/raw"
OUT="$ROOT/bench/out/results-$PEOPLE.json"
VENV=${VENV:-$ROOT/bench/.venv}
mkdir -p "$WORK" "$RAW"
start=$(date +%s)
say() { echo "== bench [$(( $(date +%s) - start ))s, load $(cut -d' ' -f1-3 /proc/loadavg)]: $*"; }
phase() { echo "{\"phase\":\"$1\",\"t\":$(date +%s),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$RAW/phases.ndjson"; }

# wrk and Redis for P3 (Debian packages), installed when missing.
ensure_serving_tools() {
    local missing=""
    for t in wrk redis-server redis-cli redis-benchmark; do
        command -v "$t" >/dev/null 2>&1 || missing=1
    done
    [[ -z "$missing" ]] && return 0
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo=sudo
    say "apt-get install wrk redis-server redis-tools"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq wrk redis-server redis-tools >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq wrk redis-server redis-tools >/dev/null; }
}
[[ -z "$SERVING" ]] || ensure_serving_tools

if [[ -z "$ONLY_SERVING" ]]; then
rm -f "$RAW"/machine.txt "$RAW"/phases.ndjson "$RAW"/stats.* "$RAW"/eval.* "$RAW"/peers.json \
    "$RAW"/serving.json
# With --p1-runs 0 the imports timed by an earlier invocation in this work directory (same data)
# are kept and reported; otherwise they are measured again.
[[ "$P1_RUNS" == 0 ]] || rm -f "$RAW"/import-*

say "machine"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_total: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "mem_available: $(free -h | awk '/^Mem:/ {print $7}')"
    echo "uptime: $(uptime)"
    echo "kernel: $(uname -r)"
    echo "rustc: $(rustc --version 2>/dev/null || echo '?')"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "command: $CMDLINE"
} > "$RAW/machine.txt"
cat "$RAW/machine.txt"
fi

# ---- build ----
if [[ -z "$AUDEX_BIN" ]]; then
    say "build audex ($PROFILE)"
    if [[ "$PROFILE" == release ]]; then
        cargo build --quiet --release -p audex-cli
    else
        cargo build --quiet -p audex-cli
    fi
    AUDEX_BIN="$ROOT/target/$PROFILE/audex"
fi
# A private copy, so a concurrent build cannot swap the binary halfway through the run.
cp "$AUDEX_BIN" "$WORK/audex"
AUDEX="$WORK/audex"
[[ -n "$ONLY_SERVING" ]] || echo "profile: $PROFILE ($AUDEX_BIN)" >> "$RAW/machine.txt"

# ---- data ----
if [[ -n "$SIM_DIR" ]]; then
    SIM="$SIM_DIR"
else
    SIM="$WORK/sim"
    stamp="people=$PEOPLE days=$DAYS seed=$SEED end=$END_DATE"
    if [[ -f "$SIM/events.ndjson" && "$(cat "$SIM/.stamp" 2>/dev/null)" == "$stamp" ]]; then
        say "reuse simulated data in $SIM ($stamp)"
    else
        say "simulate $stamp"
        rm -rf "$SIM"
        "$AUDEX" --taxonomy "$TAXONOMY" sim --people "$PEOPLE" --days "$DAYS" --seed "$SEED" \
            --end-date "$END_DATE" --out "$SIM" 2>&1 | tail -n 1
        echo "$stamp" > "$SIM/.stamp"
    fi
fi
EVENTS="$SIM/events.ndjson"
[[ -f "$EVENTS" ]] || { echo "run.sh: no $EVENTS" >&2; exit 2; }
DATA="$WORK/data"
rc=0
if [[ -z "$ONLY_SERVING" ]]; then
ls -l "$EVENTS" | awk '{print "events_bytes: " $5}' >> "$RAW/machine.txt"

# ---- P1 Audex: import (durable log + profiles + snapshot), peak RSS (P6) ----
if [[ "$P1_RUNS" == 0 ]]; then
    if [[ -n "$DATA_DIR" ]]; then
        say "copy the imported data directory $DATA_DIR (P1 for Audex not timed in this run)"
        rm -rf "$DATA"
        cp -a "$DATA_DIR" "$DATA"
        rm -f "$DATA/LOCK"
    fi
    [[ -d "$DATA" ]] || { echo "run.sh: --p1-runs 0 needs an imported $DATA or --data-dir" >&2; exit 2; }
else
    for i in $(seq 1 "$P1_RUNS"); do
        say "P1 audex import $i/$P1_RUNS"
        rm -rf "$DATA"
        "$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" catalog import "$SIM/catalog.tsv" > /dev/null
        sync
        phase "audex-import-$i"
        /usr/bin/time -v -o "$RAW/import-$i.time" \
            "$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" import "$EVENTS" --json --allow-rejects \
            > "$RAW/import-$i.json"
        cat "$RAW/import-$i.json" | head -c 300; echo
    done
fi

# ---- P6: resident memory of a process holding the loaded snapshot ----
say "P6 audex stats (loads the snapshot)"
phase "audex-stats"
# MIMALLOC_PURGE_DELAY=0: memory freed while loading (the snapshot file buffer) goes back to the
# OS at once, as it would within a second in a long-running process, so the RSS read when the
# command prints is what the loaded state holds.
MIMALLOC_PURGE_DELAY=0 python3 bench/rss.py --out "$RAW/stats.rss" -- "$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" \
    stats --json > "$RAW/stats.json"
cat "$RAW/stats.json"; echo

# ---- P2 Audex: steady-state evaluation of every definition on loaded data ----
# `tag big_spender` in bench/eval/kinds.json needs the tag defined (peers.py TAGS: same rule).
"$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" tag create big_spender --rule "buying_power in (very_high)" > /dev/null
say "P2 audex bench eval ($RUNS runs)"
phase "audex-eval"
MIMALLOC_PURGE_DELAY=0 python3 bench/rss.py --out "$RAW/eval.rss" -- "$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" bench eval \
    --defs bench/eval/kinds.json --now "$NOW" --runs "$RUNS" --json > "$RAW/eval.json"

# ---- Python peers ----
say "python venv ($VENV)"
need="import duckdb"
[[ "$ENGINES" == *chdb* ]] && need="import duckdb, chdb"
if ! "$VENV/bin/python" -c "$need" >/dev/null 2>&1; then
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    echo '*' > "$VENV/.gitignore"
    if [[ "$ENGINES" == *chdb* ]]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    else
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "$(grep -E '^duckdb==' bench/requirements.txt)"
    fi
fi

say "P1/P2 SQL peers: $ENGINES"
phase "peers"
set +e
"$VENV/bin/python" bench/peers.py --events "$EVENTS" --catalog "$SIM/catalog.tsv" \
    --taxonomy "$TAXONOMY" --defs bench/eval/kinds.json --now "$NOW" --work "$WORK/peers" \
    --out "$RAW/peers.json" --audex "$AUDEX" --data "$DATA" --engines "$ENGINES" \
    --p1-runs "$P1_RUNS" --runs "$RUNS" --size-runs "$SIZE_RUNS" ${PEERS_ARGS:-}
rc=$?
set -e
fi

# ---- P3 lookups (wrk vs redis-benchmark), P4 freshness, P6 after serving ----
if [[ -n "$SERVING" ]]; then
    [[ -d "$DATA" ]] || { echo "run.sh: --only-serving needs an imported $DATA" >&2; exit 2; }
    say "P3/P4 serving: audex serve + wrk, redis-server + redis-benchmark, collector load"
    phase "serving"
    set +e
    python3 bench/serving.py --audex "$AUDEX" --data "$DATA" --taxonomy "$TAXONOMY" \
        --defs bench/eval/kinds.json --events "$EVENTS" --work "$WORK/serving" \
        --out "$RAW/serving.json" --command "$CMDLINE" ${SMOKE:+--smoke} ${SERVING_ARGS:-}
    src=$?
    set -e
    if (( src > rc )); then rc=$src; fi
fi
[[ -n "$ONLY_SERVING" ]] || phase "done"

say "results → $OUT"
"$VENV/bin/python" bench/report.py merge --raw "$RAW" --out "$OUT" --people "$PEOPLE" \
    ${SMOKE:+--smoke}
if [[ -n "$REPORT" ]]; then
    "$VENV/bin/python" bench/report.py markdown --results "$OUT" --doc BENCHMARKS.md \
        ${ONLY_SERVING:+--serving-only}
fi
say "done (exit $rc)"
exit $rc
