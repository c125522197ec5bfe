"""TF-IDF + linear baselines (scikit-learn) on AG News with Audex's fixed split (index % 5 == 0
held out). AG News is NC-licensed: read at report time only. Prints JSON."""
import csv, gzip, json, sys, time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

path = sys.argv[1]
rows = list(csv.reader(gzip.open(path, "rt", encoding="utf-8")))
docs = [(int(r[0]) - 1, (r[1] + " " + " ".join(r[2:])).replace("\\n", " ").replace("\\$", "$")) for r in rows]
train = [d for i, d in enumerate(docs) if i % 5 != 0]
test = [d for i, d in enumerate(docs) if i % 5 == 0]
out = {"n_train": len(train), "n_test": len(test)}
vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
t0 = time.time()
xtr = vec.fit_transform([t for _, t in train])
xte = vec.transform([t for _, t in test])
ytr = [y for y, _ in train]
yte = [y for y, _ in test]
for name, model in [("tfidf_logreg", LogisticRegression(max_iter=2000, C=10.0)), ("tfidf_linearsvc", LinearSVC(C=1.0))]:
    t = time.time()
    model.fit(xtr, ytr)
    acc = sum(int(p == y) for p, y in zip(model.predict(xte), yte)) / len(yte)
    out[name] = {"accuracy": acc, "seconds": round(time.time() - t, 2)}
print(json.dumps(out))
