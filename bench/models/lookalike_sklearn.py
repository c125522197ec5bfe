"""scikit-learn's LogisticRegression on the exact features and split Audex used (exported by
`audex model export-features` / `model report --export`: NumPy CSR parts per seed tag): same
positives, same sampled negatives, same evaluated people, the same float32 values (widened to
float64, scikit-learn's usual precision). Prints JSON: per seed tag and solver, AUC, recall and
precision at k, fit and predict milliseconds (the best of REPEAT fits and predictions of the
same model: the machine is shared) and iterations. Loading is not timed.

    lookalike_sklearn.py EXPORT_DIR TAG[,TAG…] [REPEAT [SOLVER[,SOLVER…]]]   (default 1, lbfgs,saga)
"""
import json, pathlib, sys, time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

export = pathlib.Path(sys.argv[1])
tags = sys.argv[2].split(",")
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
solvers = sys.argv[4].split(",") if len(sys.argv) > 4 else ["lbfgs", "saga"]
MODELS = {
    # scikit-learn's defaults but for max_iter (lbfgs stops at its tol = 1e-4 well before 1000).
    "lbfgs": lambda: LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, solver="lbfgs"),
    # saga, its fastest solver for sparse rows here, at a looser tol (1e-3); a fixed shuffle seed.
    "saga": lambda: LogisticRegression(C=1.0, class_weight="balanced", max_iter=200, solver="saga", tol=1e-3,
                                       random_state=0),
}


def load(tag, part, dim):
    read = lambda name: np.load(export / f"{tag}.{part}_{name}.npy")
    indptr, indices, values, labels = read("indptr"), read("indices"), read("values"), read("labels")
    # int32 indices (what lbfgs and saga expect), float64 values.
    x = sp.csr_matrix((values.astype(np.float64), indices.astype(np.int32), indptr.astype(np.int32)),
                      shape=(len(labels), dim))
    return x, labels.astype(np.float64)


out = {"sklearn": __import__("sklearn").__version__, "seeds": []}
for tag in tags:
    meta = json.loads((export / f"{tag}.meta.json").read_text())
    dim, k = meta["dim"], meta["k"]
    xtr, ytr = load(tag, "train", dim)
    xte, yte = load(tag, "test", dim)
    row = {"tag": tag, "train_rows": int(xtr.shape[0]), "test_rows": int(xte.shape[0]),
           "train_nnz": int(xtr.nnz), "test_nnz": int(xte.nnz)}
    for name in solvers:
        fit_s = predict_s = float("inf")
        for _ in range(max(1, repeat)):
            model = MODELS[name]()
            t = time.perf_counter()
            model.fit(xtr, ytr)
            fit_s = min(fit_s, time.perf_counter() - t)
            t = time.perf_counter()
            s = model.predict_proba(xte)[:, 1]
            predict_s = min(predict_s, time.perf_counter() - t)
        # Best first; ties by lower row (= lower person id), as Audex does.
        order = np.lexsort((np.arange(len(s)), -s))[:k]
        hits = int(yte[order].sum())
        row[name] = {
            "auc": float(roc_auc_score(yte, s)),
            "recall_at_k": hits / max(1, int(yte.sum())),
            "precision_at_k": hits / max(1, k),
            "fit_ms": fit_s * 1e3,
            "predict_ms": predict_s * 1e3,
            "iterations": int(np.max(model.n_iter_)),
            "repeat": max(1, repeat),
        }
        print(f"{tag} {name}: AUC {row[name]['auc']:.4f} fit {fit_s:.1f} s ({row[name]['iterations']} it.)",
              file=sys.stderr, flush=True)
    out["seeds"].append(row)
    del xtr, xte
print(json.dumps(out))
