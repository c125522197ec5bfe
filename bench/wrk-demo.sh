#!/usr/bin/env bash
# Lookup throughput on the demo shop (issue 4): `audex serve --demo`, then wrk against
# GET /v1/people/{id}/audiences over the members of the demo audiences, at 64 connections
# (full load) and at 4 connections (light load). Prints wrk's figures and a JSON line each.
#
#   bench/wrk-demo.sh [--audex target/release/audex] [--people 20000] [--seconds 20]
set -euo pipefail
cd "$(dirname "$0")/.."
AUDEX=target/release/audex
PEOPLE=20000
SECONDS_RUN=20
while [ $# -gt 0 ]; do
    case "$1" in
        --audex) AUDEX=$2; shift 2 ;;
        --people) PEOPLE=$2; shift 2 ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$AUDEX" ] || cargo build --release -p audex-cli
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$AUDEX" --data "$WORK/data" serve --demo --demo-people "$PEOPLE" --addr "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
ID=$(sed -n 's/^  client id *//p' "$WORK/serve.log")
SECRET=$(sed -n 's/^  client secret *//p' "$WORK/serve.log")
TOKEN=$(curl -fs -u "$ID:$SECRET" -d grant_type=client_credentials "http://127.0.0.1:$PORT/oauth2/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Every member of every demo audience, by primary identifier.
curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/audiences" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); [print(a["id"]) for a in (d["audiences"] if isinstance(d, dict) else d)]' >"$WORK/audiences"
while read -r aud; do
    curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/audiences/$aud/members?format=csv" | tail -n +2 | cut -d, -f2
done <"$WORK/audiences" | sort -u | grep -v '^$' >"$WORK/ids"
echo "demo: $PEOPLE people simulated, $(wc -l <"$WORK/audiences") audiences, $(wc -l <"$WORK/ids") distinct members; load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in 64 4; do
    echo "== wrk -t2 -c$c -d${SECONDS_RUN}s"
    wrk -t2 -c"$c" -d"${SECONDS_RUN}s" --latency -s bench/lookups.lua "http://127.0.0.1:$PORT" -- "$WORK/ids" "$TOKEN"
done
