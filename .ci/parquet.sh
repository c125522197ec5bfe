#!/usr/bin/env bash
# Parquet bulk history with a real peer: `audex export` of a simulated shop is read by DuckDB
# (bench/.venv, bench/requirements.txt), whose counts per event and channel, distinct people and
# ad cost must equal what Audex stored; then the CLI round trip test (crates/cli/tests/parquet.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
echo "== parquet: lint and test the CLI with the parquet feature"
cargo clippy --quiet -p audex-cli --all-targets --features parquet -- -D warnings
cargo test --quiet -p audex-cli --features parquet --test parquet
cargo build --quiet -p audex-cli --bin audex --features parquet
AUDEX=${CARGO_TARGET_DIR:-$ROOT/target}/debug/audex
TAXONOMY=${AUDEX_TAXONOMY:-$ROOT/../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt}
VENV=${VENV:-$ROOT/bench/.venv}
if ! "$VENV/bin/python" -c "import duckdb" >/dev/null 2>&1; then
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    echo '*' > "$VENV/.gitignore"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
A=("$AUDEX" --data "$WORK/data" --taxonomy "$TAXONOMY")
"${A[@]}" sim --people 2000 --out "$WORK/sim" >/dev/null
"${A[@]}" import "$WORK/sim/events.ndjson" >/dev/null
"${A[@]}" export "$WORK/events.parquet" >/dev/null
echo "== parquet: DuckDB reads the export"
"$VENV/bin/python" - "$WORK/events.parquet" "$WORK/sim/events.ndjson" <<'PY'
import collections, json, sys
import duckdb
parquet, ndjson = sys.argv[1], sys.argv[2]
con = duckdb.connect()
got = dict(((t, e or "", c), n) for t, e, c, n in con.execute(
    "select type, event, channel, count(*) from read_parquet(?) group by all", [parquet]).fetchall())
want = collections.Counter()
cost = 0.0
anon = set()
for line in open(ndjson):
    e = json.loads(line)
    channel = "app" if e["type"] == "screen" or "app" in e.get("context", {}) else "web"
    want[(e["type"], e.get("event") or e.get("name") or "", channel)] += 1
    cost += e.get("properties", {}).get("cost", 0) if e.get("event") in ("Ad Impression", "Ad Clicked") else 0
    if e.get("anonymousId"):
        anon.add(e["anonymousId"])
assert got == dict(want), (got, dict(want))
(c,) = con.execute("select sum(cost) from read_parquet(?)", [parquet]).fetchone()
assert abs(c - cost) < 1e-6, (c, cost)
(n,) = con.execute("select count(distinct anonymous_id) from read_parquet(?)", [parquet]).fetchone()
assert n == len(anon), (n, len(anon))
(same,) = con.execute("select count(*) from read_parquet(?) where json_extract_string(json, '$.messageId') = message_id", [parquet]).fetchone()
(rows,) = con.execute("select count(*) from read_parquet(?)", [parquet]).fetchone()
assert same == rows == sum(want.values()), (same, rows)
print(f"parquet: DuckDB read {rows} events, {len(got)} (type, event, channel) groups, cost {c:.4f}: equal to the events sent")
PY
