"""What the behavioral evidence allows: supervised models trained on the truth itself.

Reads the export of `audex model report --behavioral-only --behavioral-export DIR`
(`evidence.npy`: everyone in the truth file × the evidence columns Audex's unsupervised mixture
reads, plus recent product days; `tags.npy`: their truth tags; `meta.json`: the names). Splits
the people in two halves (a fixed shuffle), trains on one half's truth labels and measures on
the other, per tag:

* HistGradientBoostingClassifier on the raw counts (non-linear: thresholds, interactions);
* LogisticRegression on log1p counts, standardised.

For each, the best recall any threshold reaches at precision >= 0.8 on the held-out half (the
sweep Audex's `recall @ p 0.8` uses), and the same for Audex's own scores (`scores.npy`) on that
half, so the two are compared on the same people. Neither model is available to Audex, which sees no truth:
they bound what these events let any scorer do. Prints JSON.

    behavioral_ceiling.py EXPORT_DIR [SEED]
"""
import json, pathlib, sys, time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

export = pathlib.Path(sys.argv[1])
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
meta = json.loads((export / "meta.json").read_text())
x = np.load(export / "evidence.npy")
y = np.load(export / "tags.npy")
audex = np.load(export / "scores.npy")
assert x.shape[0] == y.shape[0] == audex.shape[0] == meta["rows"], "export rows disagree"

order = np.random.default_rng(seed).permutation(x.shape[0])
half = len(order) // 2
train, test = order[:half], order[half:]


def recall_at_precision(scores, labels, floor=0.8):
    """Best recall at precision >= floor, thresholds swept from high to low over tied groups."""
    positives = int(labels.sum())
    if positives == 0:
        return None
    idx = np.argsort(-scores, kind="stable")
    s, l = scores[idx], labels[idx]
    # Last position of each group of equal scores.
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    tp = np.cumsum(l)[ends]
    n = ends + 1
    ok = tp >= floor * n
    return float(tp[ok].max() / positives) if ok.any() else 0.0


logx = np.log1p(x)
scaler = StandardScaler().fit(logx[train])
lx_train, lx_test = scaler.transform(logx[train]), scaler.transform(logx[test])

rows = []
for j, tag in enumerate(meta["tags"]):
    ytr, yte = y[train, j], y[test, j]
    row = {"tag": tag, "test_carriers": int(yte.sum()), "test_people": int(len(test)),
           "audex": recall_at_precision(audex[test, j], yte)}
    t = time.perf_counter()
    gb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, early_stopping=True,
                                        validation_fraction=0.15, random_state=seed)
    gb.fit(x[train], ytr)
    row["gbdt"] = recall_at_precision(gb.predict_proba(x[test])[:, 1], yte)
    row["gbdt_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit(lx_train, ytr)
    row["logistic"] = recall_at_precision(lr.predict_proba(lx_test)[:, 1], yte)
    row["logistic_s"] = round(time.perf_counter() - t, 2)
    row["ceiling"] = max(v for v in (row["gbdt"], row["logistic"]) if v is not None)
    rows.append(row)
    print(f"{tag}: gbdt {row['gbdt']:.3f} logistic {row['logistic']:.3f} audex {row['audex']:.3f}",
          file=sys.stderr)

print(json.dumps({"sklearn": __import__("sklearn").__version__, "rows": int(x.shape[0]),
                  "columns": int(x.shape[1]), "train": int(len(train)), "test": int(len(test)),
                  "seed": seed, "tags": rows}, indent=1))
