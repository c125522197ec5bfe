# Sourced by the bench/models scripts (run.sh, behavioral.sh, context_recs.sh). Needs ROOT and
# say().

# The Python venv with scikit-learn as pinned in requirements.txt, made on first use; sets VENV
# (default bench/models/.venv).
models_venv() {
    VENV=${VENV:-$ROOT/bench/models/.venv}
    if ! "$VENV/bin/python" -c "import sklearn, numpy, scipy" >/dev/null 2>&1; then
        say "python venv ($VENV)"
        [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
        echo '*' > "$VENV/.gitignore"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$ROOT/bench/models/requirements.txt"
    fi
}

# sim_import BIN TAXONOMY PEOPLE SEED SIM DATA: `audex sim` into SIM and its import (catalog,
# events, snapshot) into DATA, unless DATA was already imported from it; DATA/.now is the last
# event's timestamp (models are measured as of then). The events file is deleted afterwards
# (truth and catalog stay), so a re-run measures the same import.
sim_import() {
    local bin=$1 taxonomy=$2 people=$3 seed=$4 sim=$5 data=$6
    if [[ ! -f "$data/.imported" || ! -f "$sim/truth.ndjson" ]]; then
        say "sim: $people people, seed $seed"
        "$bin" sim --people "$people" --seed "$seed" --out "$sim" --taxonomy "$taxonomy" >&2
        say "import into $data"
        rm -rf "$data"
        "$bin" --data "$data" --taxonomy "$taxonomy" catalog import "$sim/catalog.tsv" >&2
        "$bin" --data "$data" --taxonomy "$taxonomy" import "$sim/events.ndjson" >&2
        "$bin" --data "$data" snapshot >&2
        touch "$data/.imported"
    fi
    if [[ ! -s "$data/.now" ]]; then
        python3 -c "import json,sys; print(max(json.loads(l)['timestamp'] for l in open(sys.argv[1])))" \
            "$sim/events.ndjson" > "$data/.now"
    fi
    rm -f "$sim/events.ndjson"
}
