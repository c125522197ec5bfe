"""scikit-learn's LogisticRegression on the exact features and split Audex used (exported by
`audex model export-features`): same positives, same sampled negatives, same evaluated people.
Prints JSON: per seed tag, AUC, recall/precision at k and fit/predict seconds."""
import json, pathlib, sys, time

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

export = pathlib.Path(sys.argv[1])
tags = sys.argv[2].split(",")
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
out = {"sklearn": __import__("sklearn").__version__, "seeds": []}
for tag in tags:
    meta = json.loads((export / f"{tag}.meta.json").read_text())
    dim = meta["dim"]
    xtr, ytr = load_svmlight_file(str(export / f"{tag}.train.svm"), n_features=dim)
    xte, yte = load_svmlight_file(str(export / f"{tag}.test.svm"), n_features=dim)
    # lbfgs/saga want 32-bit sparse indices.
    to32 = lambda m: sp.csr_matrix((m.data, m.indices.astype(np.int32), m.indptr.astype(np.int32)), shape=m.shape)
    xtr, xte = to32(xtr), to32(xte)
    row = {"tag": tag, "train_rows": int(xtr.shape[0]), "test_rows": int(xte.shape[0])}
    for name, model in [
        ("lbfgs", LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, solver="lbfgs")),
        ("saga", LogisticRegression(C=1.0, class_weight="balanced", max_iter=200, solver="saga", tol=1e-3)),
    ]:
        t = time.perf_counter()
        model.fit(xtr, ytr)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        s = model.predict_proba(xte)[:, 1]
        predict_s = time.perf_counter() - t
        k = meta["k"]
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
        }
    out["seeds"].append(row)
print(json.dumps(out))
