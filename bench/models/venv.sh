# Sourced by the bench/models scripts (run.sh, behavioral.sh, context_recs.sh): the Python venv
# with scikit-learn as pinned in requirements.txt, made on first use. Needs ROOT and say();
# sets VENV (default bench/models/.venv).
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
