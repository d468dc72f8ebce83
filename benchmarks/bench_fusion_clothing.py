"""FusionNet on the Women's clothing reviews against TF-IDF + LR, in two set-ups.

Predicts ``Rating`` (5 classes, accuracy) and ``Recommended IND`` (ROC AUC) together on the
fixed holdout of the data README: rows with review text,
``train_test_split(test_size=0.2, random_state=0)``. Every comparison runs its linear model
in the same process, on the same inputs:

- **dict** (the simplest set-up a user writes): ``X = {"text": Title + ". " + Review Text,
  "table": one-hot division/department/class and scaled age and feedback count}``; the
  linear model is one logistic regression per task on TF-IDF (1-2 grams) of the text beside
  the table, with scikit-learn's default ``C=1`` and with ``C`` chosen by 5-fold
  ``LogisticRegressionCV`` (per task, by its own metric), which the network is judged
  against;
- **frame** (the benchmark's DataFrame): title and review text as separate columns, age and
  feedback count, division/department/class/clothing ID, with ``modalities=``; the linear
  model has a TF-IDF vocabulary per text column, one-hot categories and scaled numbers (the
  data README's reference: ROC AUC 0.961, accuracy 0.658).

Rows, mean ± std over ``--seeds``: ``FusionNetClassifier(random_state=seed)`` defaults in
each set-up; with ``--wide-lr``, the text's TF-IDF encoder without its wide path and with
each given wide learning-rate multiple; with ``--fusions``, one row per fusion (frame
set-up); with ``--raw``, the raw DataFrame (10% of ages set to NaN) without ``modalities=``
against the same frame with them written out; with ``--sentence``,
the pretrained sentence encoder (all-MiniLM-L6-v2, frozen; needs ``sk_mtl[text]``) alone
and beside the TF-IDF text (dict set-up), with the encoding throughput. The fit time of the
first sentence row includes encoding every distinct text once (unless an earlier run left
them in the disk cache, ``sk_mtl.data.get_embedding_cache_dir()``: the line after the table
says how many it read); later fits reuse the cache.

Usage::

    python benchmarks/bench_fusion_clothing.py [--quick] [--seeds 0 1 2] [--fusions ...]
        [--wide-lr 1 3 10 30] [--raw] [--sentence] [--data-home DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_mtl import FusionNetClassifier
from sk_mtl.datasets import load_womens_clothing_reviews
from sk_mtl.encoders import Tfidf

TEXT = ["Title", "Review Text"]
NUM = ["Age", "Positive Feedback Count"]
CAT = ["Division Name", "Department Name", "Class Name", "Clothing ID"]
MODALITIES = {"text": TEXT, "num": NUM, "cat": CAT}
#: The data README's TF-IDF + logistic regression figures (Rating accuracy, Recommended AUC).
REFERENCE = (0.658, 0.961)
TFIDF = dict(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
TASKS = ("Rating", "Recommended IND")


def load(data_home, quick):
    X, y = load_womens_clothing_reviews(data_home=data_home, return_X_y=True)
    keep = X["Review Text"].notna()
    X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    if quick:  # a size for CI: every row of the table, in seconds
        X_train, y_train = X_train.iloc[:300], y_train.iloc[:300]
        X_test, y_test = X_test.iloc[:100], y_test.iloc[:100]
    return X_train, X_test, y_train, y_test


def as_dict(X_train, X_test):
    """The dict set-up: one text, one dense table (encoders fitted on the training rows)."""
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X_train[CAT[:3]])
    scaler = StandardScaler().fit(X_train[NUM])

    def convert(X):
        text = (X["Title"].fillna("") + ". " + X["Review Text"]).to_numpy(dtype=object)
        table = np.hstack([onehot.transform(X[CAT[:3]]), scaler.transform(X[NUM])])
        return {"text": text, "table": table.astype(np.float32)}

    return convert(X_train), convert(X_test)


def _scores(y_test, rating, recommended_proba):
    return (accuracy_score(y_test["Rating"], rating),
            roc_auc_score(y_test["Recommended IND"], recommended_proba))


#: ``C`` values ``LogisticRegressionCV`` chooses from (5-fold CV on the training rows, each
#: task by its own metric: ROC AUC for Recommended, accuracy for Rating).
CS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def linear_dict(D_train, D_test, y_train, y_test, tuned=False):
    t0 = time.perf_counter()
    tfidf = TfidfVectorizer(**TFIDF).fit(D_train["text"])

    def matrix(D):
        return sp.hstack([tfidf.transform(D["text"]), D["table"]]).tocsr()

    A, B = matrix(D_train), matrix(D_test)
    if tuned:
        rec = LogisticRegressionCV(Cs=list(CS), cv=5, scoring="roc_auc", max_iter=2000)
        rating = LogisticRegressionCV(Cs=list(CS), cv=5, scoring="accuracy", max_iter=2000)
    else:
        rec, rating = LogisticRegression(max_iter=2000), LogisticRegression(max_iter=2000)
    rec.fit(A, y_train["Recommended IND"])
    rating.fit(A, y_train["Rating"])
    if tuned:
        print(f"  LogisticRegressionCV chose C={float(rec.C_[0]):g} (Recommended), "
              f"C={float(rating.C_[0]):g} (Rating)", flush=True)
    fit_s = time.perf_counter() - t0
    return (*_scores(y_test, rating.predict(B), rec.predict_proba(B)[:, 1]), fit_s)


def linear_frame(X_train, X_test, y_train, y_test):
    pre = ColumnTransformer([
        ("title", TfidfVectorizer(**TFIDF), "Title"),
        ("review", TfidfVectorizer(**TFIDF), "Review Text"),
        ("cat", OneHotEncoder(handle_unknown="ignore"), CAT[:3]),
        ("num", StandardScaler(), NUM),
    ])
    X_train, X_test = X_train.fillna({"Title": ""}), X_test.fillna({"Title": ""})
    t0 = time.perf_counter()
    rec = make_pipeline(pre, LogisticRegression(max_iter=2000))
    rec.fit(X_train, y_train["Recommended IND"])
    rating = make_pipeline(pre, LogisticRegression(max_iter=2000))
    rating.fit(X_train, y_train["Rating"])
    fit_s = time.perf_counter() - t0
    return (*_scores(y_test, rating.predict(X_test), rec.predict_proba(X_test)[:, 1]), fit_s)


def network(params, X_train, X_test, y_train, y_test, seed):
    net = FusionNetClassifier(random_state=seed, **params)
    t0 = time.perf_counter()
    net.fit(X_train, y_train[list(TASKS)])
    fit_s = time.perf_counter() - t0
    pred = net.predict(X_test)
    proba = net.predict_proba(X_test)
    return (*_scores(y_test, pred[:, net.task_names_.index("Rating")],
                     proba[net.task_names_.index("Recommended IND")][:, 1]), fit_s)


def raw_rows(X_train, X_test, y_train, y_test, nets):
    """The raw DataFrame without ``modalities=`` (kinds inferred per column, missing ages
    imputed) against the same frame with the modalities written out."""
    columns = TEXT + CAT[:3] + NUM
    rng = np.random.RandomState(0)
    R_train, R_test = X_train[columns].copy(), X_test[columns].copy()
    for R in (R_train, R_test):
        R.loc[rng.rand(len(R)) < 0.1, "Age"] = np.nan
    explicit = {"text": TEXT, "categorical": CAT[:3], "numeric": NUM}

    def run(params):
        return [network(params, R_train, R_test, y_train, y_test, seed) for seed in nets.seeds]

    base = linear_frame(R_train.fillna({"Age": R_train["Age"].mean()}),
                        R_test.fillna({"Age": R_train["Age"].mean()}), y_train, y_test)
    return [("TF-IDF + LR (per task; ages mean-imputed)", [base], None),
            ("FusionNetClassifier(), no modalities=", run(nets.quick), base),
            ("same, modalities= written out", run({**nets.quick, "modalities": explicit}),
             base)]


def wide_rows(nets, rates, modality, base):
    """Rows without the TF-IDF wide path and with each of its learning-rate multiples."""
    if not rates:
        return []
    rows = [("Tfidf(wide=False): deep path only",
             nets({"encoders": {modality: Tfidf(wide=False)}}), base)]
    return rows + [(f"Tfidf(wide_lr={r:g})", nets({"encoders": {modality: Tfidf(wide_lr=r)}}),
                    base) for r in rates]


def _row(name, results, base):
    acc = [r[0] for r in results]
    auc = [r[1] for r in results]
    fit_s = statistics.median(r[2] for r in results)

    def spread(values):
        return f"±{statistics.stdev(values):.4f}" if len(values) > 1 else ""

    beats = ""
    if base is not None:
        beats = "both" if min(acc) > base[0] and min(auc) > base[1] else (
            "mean" if statistics.mean(acc) > base[0] and statistics.mean(auc) > base[1]
            else "no")
    first = f"  (first fit {results[0][2]:.0f} s)" if results[0][2] > 2 * fit_s else ""
    return (f"{name:<44} {statistics.mean(acc):>7.4f} {spread(acc):<8} "
            f"{statistics.mean(auc):>7.4f} {spread(auc):<8} {fit_s:>7.1f} {beats:>9}{first}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300/100 rows, 2 epochs (CI)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--fusions", nargs="*", default=[],
                        help="also one row per fusion (frame set-up)")
    parser.add_argument("--wide-lr", type=float, nargs="*", default=[],
                        help="also rows with Tfidf(wide_lr=...) and without the wide path")
    parser.add_argument("--raw", action="store_true",
                        help="also the raw-DataFrame rows (no modalities=, 10%% ages NaN)")
    parser.add_argument("--sentence", action="store_true",
                        help="also the pretrained sentence encoder rows (sk_mtl[text])")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load(args.data_home, args.quick)
    D_train, D_test = as_dict(X_train, X_test)
    F_train, F_test = X_train[TEXT + NUM + CAT], X_test[TEXT + NUM + CAT]
    quick = {"max_epochs": 2} if args.quick else {}

    def nets(params, frame):
        data = (F_train, F_test) if frame else (D_train, D_test)
        params = {**params, **quick, **({"modalities": MODALITIES} if frame else {})}
        return [network(params, *data, y_train, y_test, seed) for seed in args.seeds]

    nets.seeds, nets.quick = args.seeds, quick

    groups = []
    plain = linear_dict(D_train, D_test, y_train, y_test)
    base = linear_dict(D_train, D_test, y_train, y_test, tuned=True)
    rows = [("TF-IDF + LR (per task)", [plain], None),
            ("TF-IDF + LogisticRegressionCV (per task)", [base], None),
            ("FusionNetClassifier() defaults", nets({}, False), base)]
    rows += wide_rows(lambda params: nets(params, False), args.wide_lr, "text", base)
    if args.sentence:
        from sk_mtl.data import embedding_stats

        embedding_stats(reset=True)
        rows.append(("encoders={'text': 'sentence'}",
                     nets({"encoders": {"text": "sentence"}}, False), base))
        stats = embedding_stats()
        D_train["sentence"], D_test["sentence"] = D_train["text"], D_test["text"]
        rows.append(("+ 'sentence' beside the TF-IDF text",
                     nets({"encoders": {"sentence": "sentence"}}, False), base))
        for D in (D_train, D_test):
            del D["sentence"]
    groups.append(("dict: {'text': title + review, 'table': one-hot + scaled}", rows))
    print("  done: dict set-up", flush=True)

    base = linear_frame(X_train, X_test, y_train, y_test)
    rows = [("TF-IDF + LR (per task)", [base], None),
            ("FusionNetClassifier() defaults", nets({}, True), base)]
    rows += wide_rows(lambda params: nets(params, True), args.wide_lr, "text", base)
    rows += [(f"fusion={f!r}", nets({"fusion": f}, True), base) for f in args.fusions]
    groups.append(("frame: separate title/review columns, clothing ID, modalities=", rows))
    if args.raw:
        groups.append(("raw: title, review, division/department/class, age (10% NaN), "
                       "feedback count", raw_rows(X_train, X_test, y_train, y_test, nets)))

    print(f"\nWomen's clothing reviews, {len(X_train)} training / {len(X_test)} holdout rows, "
          f"seeds {args.seeds}{' [--quick]' if args.quick else ''}")
    header = (f"{'model':<44} {'Rating acc':>16} {'Recommended AUC':>16} {'fit s':>7} "
              f"{'beats LR':>9}")
    for title, rows in groups:
        print(f"\n{title}\n{header}\n{'-' * len(header)}")
        for name, results, ref in rows:
            print(_row(name, results, ref))
    if args.sentence:
        from sk_mtl.data import TextEmbedder

        print(f"\nsentence encoding (backend {TextEmbedder().resolved_backend!r}): "
              f"{stats['texts_encoded']} distinct texts in {stats['encode_seconds']:.0f} s "
              f"({stats['texts_per_second']:.1f} texts/s), {stats['disk_hits']} read from the "
              f"disk cache {stats['disk_dir']}; fit s above is the median over seeds (the "
              f"first seed's fit paid the encoding)")
    print("beats LR: 'both' = every seed beats the same-process linear model on both tasks; "
          "'mean' = the means do")
    print(f"(total {time.perf_counter() - start:.0f} s; torch threads "
          f"{__import__('torch').get_num_threads()})")


if __name__ == "__main__":
    main()
