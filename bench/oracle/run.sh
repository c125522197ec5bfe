#!/usr/bin/env bash
# Independent oracle: simulate a shop, import it into Audex, and check that Audex's audience
# members equal what DuckDB SQL computes straight from the NDJSON (bench/oracle/oracle.py).
#
#   bash bench/oracle/run.sh            # 3000 people, 120 days, seed 7
#   PEOPLE=20000 SEED=3 bash bench/oracle/run.sh
#   ORACLE_ONLY=buyers_90d,black_friday bash bench/oracle/run.sh
#   PERTURB=1 bash bench/oracle/run.sh     # shuffled order, mixed UTC offsets, retried messageIds
#   ORACLE_XFAIL=a,b bash bench/oracle/run.sh   # audiences with a tracked bug: shown, not failing
#
# Needs python3 (with venv) and cargo; reads ../shared/data/google-product-taxonomy. Exits
# non-zero when any audience differs (the differing ids and their events are printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

PEOPLE=${PEOPLE:-3000}
DAYS=${DAYS:-120}
SEED=${SEED:-7}
END_DATE=${END_DATE:-2026-11-28}
NOW=${NOW:-$(date -u -d "$END_DATE + 1 day" +%Y-%m-%dT00:00:00Z)}
PROFILE=${PROFILE:-debug}
TAXONOMY=${TAXONOMY:-$ROOT/../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt}
VENV=${VENV:-$ROOT/bench/.venv}
WORK=${ORACLE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/audex-oracle.XXXXXX")}
KEEP=${ORACLE_KEEP:-}
mkdir -p "$WORK"
start=$(date +%s)

if [[ -z "${ORACLE_WORK:-}" && -z "$KEEP" ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
[[ -f "$TAXONOMY" ]] || { echo "oracle: taxonomy not found at $TAXONOMY" >&2; exit 2; }

echo "== oracle: python venv ($VENV)"
if ! "$VENV/bin/python" -c 'import duckdb' >/dev/null 2>&1; then
    python3 -m venv "$VENV"
    echo '*' > "$VENV/.gitignore"   # keep the venv out of git status
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
fi
"$VENV/bin/python" -c 'import duckdb; print("duckdb", duckdb.__version__)'

echo "== oracle: build audex ($PROFILE)"
if [[ "$PROFILE" == release ]]; then
    cargo build --quiet --release -p audex-cli
else
    cargo build --quiet -p audex-cli
fi
# A private copy, so a concurrent build cannot swap the binary halfway through the run.
cp "${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/audex" "$WORK/audex"
AUDEX="$WORK/audex"

echo "== oracle: simulate $PEOPLE people, $DAYS days, seed $SEED → $WORK"
rm -rf "$WORK/sim" "$WORK/data"
"$AUDEX" --taxonomy "$TAXONOMY" sim --people "$PEOPLE" --days "$DAYS" --seed "$SEED" \
    --end-date "$END_DATE" --out "$WORK/sim" 2>&1 | tail -n 1

EVENTS="$WORK/sim/events.ndjson"
if [[ -n "${PERTURB:-}" ]]; then
    # Messy delivery of the same history (seeded by PERTURB): shuffled order, timestamps written
    # at assorted UTC offsets (same instants), and ~3% retries that reuse a messageId with altered
    # content (the first copy in the file must win, wherever it lands).
    echo "== oracle: perturb events (seed $PERTURB)"
    "$VENV/bin/python" - "$EVENTS" "$WORK/sim/events.perturbed.ndjson" "$PERTURB" <<'PY'
import datetime as dt, json, random, sys
src, dst, seed = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(seed)
out = []
with open(src, encoding="utf-8") as f:
    for line in f:
        e = json.loads(line)
        t = dt.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        off = dt.timezone(dt.timedelta(hours=rnd.choice([-8, -5, 0, 2, 5.5, 9, 14])))
        e["timestamp"] = t.astimezone(off).isoformat(timespec="milliseconds")
        out.append(json.dumps(e))
        if rnd.random() < 0.03:
            retry = dict(e, properties=dict(e.get("properties") or {}, retry=True))
            retry["timestamp"] = (t - dt.timedelta(days=3)).isoformat().replace("+00:00", "Z")
            out.append(json.dumps(retry))
rnd.shuffle(out)
with open(dst, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
PY
    EVENTS="$WORK/sim/events.perturbed.ndjson"
fi

echo "== oracle: import into Audex"
"$AUDEX" --data "$WORK/data" taxonomy import "$TAXONOMY" | tail -n 1
"$AUDEX" --data "$WORK/data" catalog import "$WORK/sim/catalog.tsv" | tail -n 1
"$AUDEX" --data "$WORK/data" import "$EVENTS" \
    --allow-rejects --json > "$WORK/import.json"
cat "$WORK/import.json" | head -c 300; echo

echo "== oracle: compare audiences at $NOW"
args=(--events "$EVENTS" --catalog "$WORK/sim/catalog.tsv" --taxonomy "$TAXONOMY"
      --now "$NOW" --audex "$AUDEX" --data "$WORK/data" --import-report "$WORK/import.json")
[[ -n "${ORACLE_ONLY:-}" ]] && args+=(--only "$ORACLE_ONLY")
set +e
"$VENV/bin/python" bench/oracle/oracle.py "${args[@]}"
rc=$?
set -e
echo "== oracle: done in $(( $(date +%s) - start ))s (exit $rc)${KEEP:+, files kept in $WORK}"
exit $rc
