"""Renders the lookalike section of MODELS.md from the figures bench/models/run.sh measured
(bench/out/models-lookalike/figures/<people>/: audex-<run>.json, sklearn.json, load.txt,
versions.txt, machine.txt). Every scale measured gets its lookalike tables; prospecting comes from
the smallest (behavioral tags have their own section: bench/models/render_behavioral.py).
Rewrites only the text between <!-- lookalike:begin --> and <!-- lookalike:end --> (or prints
the section with REPORT empty)."""
from markers import write_sections
import json, os, pathlib, platform

out = pathlib.Path(os.environ.get("OUT", "bench/out/models-lookalike"))


def merged_runs(d):
    """The Audex figures of a scale: quality from the first run (every run must agree: training
    is deterministic), the best training and scoring times over the runs."""
    runs = [json.loads(p.read_text()) for p in sorted(d.glob("audex-*.json"))]
    if not runs:
        return None
    a = runs[0]
    for other in runs[1:]:
        for r, o in zip(a["lookalike"], other["lookalike"]):
            for m in ("centroid", "logistic"):
                if (r[m]["auc"], r[m]["recall_at_k"]) != (o[m]["auc"], o[m]["recall_at_k"]):
                    raise SystemExit(f"render_lookalike.py: {d}: runs disagree on {r['tag']} {m}")
                for t in ("train_ms", "score_ms"):
                    r[m][t] = min(r[m][t], o[m][t])
    a["runs"] = len(runs)
    return a


scales = []
for d in sorted((out / "figures").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1):
    a = merged_runs(d) if d.name.isdigit() else None
    if a is None or not (d / "sklearn.json").exists():
        continue
    read = lambda n: (d / n).read_text().strip() if (d / n).exists() else "?"
    machine = dict(l.split(": ", 1) for l in read("machine.txt").splitlines() if ": " in l)
    scales.append({
        "people": int(d.name), "a": a, "s": json.loads(read("sklearn.json")),
        "load": " → ".join(read("load.txt").splitlines()), "versions": read("versions.txt"), "machine": machine,
    })
if not scales:
    raise SystemExit("render_lookalike.py: no figures in " + str(out / "figures"))

f3 = lambda x: f"{x:.3f}"
r3 = lambda x: round(x + 1e-12, 3)
n_ = lambda x: f"{x:,}"
ms = lambda x: f"{x:,.0f}"


def lookalike(sc):
    a, sk = sc["a"], {r["tag"]: r for r in sc["s"]["seeds"]}
    rows, trows, behind, ratios = [], [], [], []
    for r in a["lookalike"]:
        t = r["tag"]; k = sk[t]
        c, l, lb, sg = r["centroid"], r["logistic"], k["lbfgs"], k["saga"]
        rows.append(f'| {t} | {n_(r["seed"])} | {n_(r["held_out"])} | {n_(r["evaluated"])} | {n_(r["k"])} '
                    f'| {f3(c["auc"])} / {f3(c["recall_at_k"])} | **{f3(l["auc"])} / {f3(l["recall_at_k"])}** '
                    f'| {f3(lb["auc"])} / {f3(lb["recall_at_k"])} | {f3(sg["auc"])} / {f3(sg["recall_at_k"])} |')
        for solver, q in (("lbfgs", lb), ("saga", sg)):
            for m in ("auc", "recall_at_k"):
                if r3(l[m]) < r3(q[m]):
                    behind.append(f'{t} {"AUC" if m == "auc" else "recall@k"} vs {solver} '
                                  f'({f3(l[m])} < {f3(q[m])})')
        audex = l["train_ms"] + l["score_ms"]
        lbt = lb["fit_ms"] + lb["predict_ms"]
        sgt = sg["fit_ms"] + sg["predict_ms"]
        ratios.append((lbt / max(audex, 1e-9), sgt / max(audex, 1e-9)))
        trows.append(f'| {t} | {n_(k["train_rows"])} ({k["train_nnz"] / 1e6:.1f} M) | {n_(k["test_rows"])} '
                     f'| {ms(l["train_ms"])} + {ms(l["score_ms"])} = **{ms(audex)}** ({l["iterations"]} it., {l["passes"]} passes) '
                     f'| {ms(lb["fit_ms"])} + {ms(lb["predict_ms"])} = {ms(lbt)} ({lb["iterations"]} it.) '
                     f'| {ms(sg["fit_ms"])} + {ms(sg["predict_ms"])} = {ms(sgt)} ({sg["iterations"]} ep.) '
                     f'| **{ratios[-1][0]:.1f}×** / {ratios[-1][1]:.1f}× |')
    pet = next((r for r in a["lookalike"] if r["tag"] == "pet_owner"), None)
    ceiling = f' (pet_owner\'s seed is a fifth of everyone: its ceiling is {min(1, pet["k"] / pet["held_out"]):.2f})' if pet else ""
    m = sc["machine"]
    verdict = ("level with or above scikit-learn's on every seed and both measures (3 decimals)"
               if not behind else "below scikit-learn's in " + "; ".join(behind) + " — differences of a few people, the width of rounding")
    lo_lb, lo_sg = min(x[0] for x in ratios), min(x[1] for x in ratios)
    return f"""#### {n_(sc["people"])} people

{n_(a["people"])} people with features ({n_(a["truth_people"])} joined to truth), features built in {a["features_ms"] / 1000:.1f} s.
Measured {m.get("date", "?")} (git {m.get("git", "?")}); load average {sc["load"]} (start → end); times
are the best of {a["runs"]} runs on each side.

| seed | seed size | held out | evaluated | k | Audex centroid cosine | Audex PU logistic | sklearn lbfgs | sklearn saga |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Audex's quality is {verdict}{ceiling}.

| seed | training rows (stored values) | scored rows | Audex train + score, ms | sklearn lbfgs fit + predict, ms | sklearn saga fit + predict, ms | sklearn ÷ Audex (lbfgs / saga) |
|---|---|---|---|---|---|---|
{chr(10).join(trows)}

Audex is {lo_lb:.0f}× or more faster than scikit-learn's default solver on every seed here, {lo_sg:.1f}× or more than saga.
"""


small, large = scales[0], scales[-1]
a = small["a"]
commands = sorted({sc["machine"].get("command", "?") for sc in scales})
mach = large["machine"]
p = a["prospecting"]
goal_scale = next((sc for sc in scales if sc["people"] >= 1_000_000), None)
if goal_scale:
    gr = [(k["lbfgs"]["fit_ms"] + k["lbfgs"]["predict_ms"], k["saga"]["fit_ms"] + k["saga"]["predict_ms"],
           r["logistic"]["train_ms"] + r["logistic"]["score_ms"])
          for r, k in zip(goal_scale["a"]["lookalike"], goal_scale["s"]["seeds"])]
    lo = min(x[0] / x[2] for x in gr)
    lo_sg = min(x[1] / x[2] for x in gr)
    goal = (f"The goal — training plus scoring at least 10× faster than scikit-learn at 1M people — is "
            f"{'met' if lo >= 10 else 'not met'} against its default solver (lbfgs, {lo:.0f}× or more on every seed) "
            f"and {'met' if lo_sg >= 10 else 'not met'} against saga ({lo_sg:.1f}× or more).")
else:
    goal = "The speed goal is set at 1M people, which this run did not measure."

beats = all(r["logistic"]["auc"] > r["centroid"]["auc"] and r["logistic"]["recall_at_k"] > r["centroid"]["recall_at_k"]
            for sc in scales for r in sc["a"]["lookalike"])
default_note = ("The default method is the PU logistic regression: it beats the centroid on every seed, at every scale."
                if beats else "The PU logistic regression does not beat the centroid on every seed here: see the tables.")

notes = []
for sc in scales:
    cmd = sc["machine"].get("command", "")
    how = ("an existing import of a sim of that many people (`--data … --truth … --now …`, no re-simulation"
           + ("; `--copy`: a private copy, the original being in use" if "--copy" in cmd else "") + ")"
           if "--data" in cmd and sc is scales[-1] else "simulated and imported by the script (seed 42)")
    notes.append(f'{n_(sc["people"])} people: {how}')
scale_note = "Scales: " + "; ".join(notes) + "."

body = f"""## Lookalike and prospecting

Regenerate: {" and ".join(f"`{c}`" for c in commands)} (release build; {mach.get("cpu", "?")}, {mach.get("mem", "?")} RAM,
shared with other builds and benchmarks — see the load average per scale; scikit-learn, numpy, scipy
{large["versions"]} in a venv). {scale_note}
Features: hashed sparse vectors, 2^{a["dim"].bit_length() - 1} columns (categories with ancestors, brands, price tiers,
event kind × recency, channel, publisher page categories, demographics, geo cell, country; `crates/models/src/features.rs`).

### Lookalike: held-out 20 % of the seed

Seeds are the people whose hidden truth carries a lifestyle or life stage (as a CRM upload of them
would be). 80 % train; the other 20 % are the positives of the evaluation, every non-seed person
not sampled as a training negative the negatives. k = 5 % of the evaluated people (the target
size); recall@k cannot exceed k / held out. Cells: **AUC / recall@k**. scikit-learn runs on the very same
exported features (float32 values, widened to float64), training rows (the seed's 80 % and the same
4 sampled non-seed people per seed member) and evaluated rows (`audex model report --export`, NumPy CSR parts;
`bench/models/lookalike_sklearn.py`): `LogisticRegression(C=1, class_weight="balanced")`, lbfgs (its default,
`tol` 1e-4) and saga (`tol` 1e-3). Nothing is subsampled on either side, at either scale.

Audex's PU logistic regression minimises the same objective (L2, C = 1, balanced class weights,
intercept not penalised) and solves it to convergence (`crates/models/src/logistic.rs`): full-batch L-BFGS
over the columns the training rows use, features centred implicitly (an exact reparametrisation), the
Hessian at zero as the initial metric — dense on the most frequent columns, diagonal on the others —
stopped when the largest gradient component is ≤ 1e-5 of C · Σ weights, ten times tighter than
scikit-learn's lbfgs on the same scale. The objective is strictly convex, so both reach the same optimum up to
where each solver stops. (Audex used to run 10 epochs of SGD, which stopped short of it: 0.001–0.002 AUC
below scikit-learn on every seed at 100k.)

Timing (ms): Audex train = copying the training rows into a compact matrix + L-BFGS (one pass over the rows
computes loss and gradient, 2 threads, blocks summed in a fixed order so the result does not depend on the
thread count); score = σ(w · x + b) of every evaluated person (rayon, 2 threads). scikit-learn: `fit` +
`predict_proba` on the same rows with its default threading (`it.`: lbfgs iterations, `ep.`: saga epochs).
Feature extraction and file loading are excluded on both sides. The machine is shared with other builds
and benchmarks, whose load moves absolute times by 2–3× from one minute to the next: each side is timed
several times (Audex: the whole report re-run; scikit-learn: each model refitted) and the best time kept.

{chr(10).join(lookalike(sc) for sc in scales)}
{default_note}

{goal} Training grows with the seed (the negatives are sampled in proportion), scoring with the
population, on both sides; scikit-learn's lbfgs also pays a fixed cost per iteration over all 2^18 hashed
columns, which Audex avoids by solving only for the used ones.

### Prospecting: 30-day time split ({n_(small["people"])} people)

Features and buyers as of 30 days before the end (purchases left out of the features); buyers
({p["buyers"]}) are the positives, a sample of the others the negatives. Two views: people active on the
site or app are scored on first-party features, the others (publisher pages, bid requests, ad exposure only)
on a publisher-view model (page categories, ads, demographics, geo) trained the same way. Every non-buyer at the
cutoff ({p["candidates"]}, sampled training negatives included, which is conservative) is scored, and the
{p["converters"]} who ordered in the last 30 days are the positives of the evaluation.
AUC **{f3(p["auc"])}** (baseline, number of site/app events before the cutoff: {f3(p["baseline_auc"])}); precision at
k = converters {f3(p["precision_at_k"])}; train + score {p["ms"]:.0f} ms. Prospecting trains the same logistic regression:
solved to convergence it measures {f3(p["auc"])} here where 10 SGD epochs measured 0.687 at 100k (stopping early acted as
extra regularisation there; the objective is scikit-learn's, as for lookalikes).
"""
if os.environ.get("REPORT"):
    write_sections([("lookalike", body)])
else:
    print(body)
