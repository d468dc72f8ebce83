"""FusionNet on the Women's clothing reviews: every fusion strategy against TF-IDF + LR.

Predicts ``Rating`` (5 classes, accuracy) and ``Recommended IND`` (ROC AUC) together from the
review title and text plus the tabular columns (age, positive-feedback count, division,
department, class, clothing id), on the fixed holdout of the data README: rows with review
text, ``train_test_split(test_size=0.2, random_state=0)``.

Rows:

- ``TF-IDF + LR`` baseline, one logistic regression per task on TF-IDF (1-2 grams) of title
  and of review text, one-hot categories and scaled numbers (the data README's reference:
  ROC AUC 0.961, accuracy 0.658), run here in the same process;
- ``FusionNetClassifier()`` with its defaults (only ``modalities`` given);
- one row per ``fusion`` strategy (other parameters at their defaults);
- text-only and tabular-only networks.

Usage::

    python benchmarks/bench_fusion_clothing.py [--quick] [--seeds 0] [--data-home DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_mtl import FusionNetClassifier
from sk_mtl.datasets import load_womens_clothing_reviews
from sk_mtl.estimators._fusion import FUSIONS

TEXT = ["Title", "Review Text"]
NUM = ["Age", "Positive Feedback Count"]
CAT = ["Division Name", "Department Name", "Class Name", "Clothing ID"]
MODALITIES = {"text": TEXT, "num": NUM, "cat": CAT}
#: The data README's TF-IDF + logistic regression figures (Rating accuracy, Recommended AUC).
REFERENCE = (0.658, 0.961)


def load(data_home, quick):
    X, y = load_womens_clothing_reviews(data_home=data_home, return_X_y=True)
    keep = X["Review Text"].notna()
    X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    if quick:
        X_train, y_train = X_train.iloc[:1500], y_train.iloc[:1500]
        X_test, y_test = X_test.iloc[:500], y_test.iloc[:500]
    return X_train, X_test, y_train, y_test


def baseline(X_train, X_test, y_train, y_test):
    tfidf = dict(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    pre = ColumnTransformer([
        ("title", TfidfVectorizer(**tfidf), "Title"),
        ("review", TfidfVectorizer(**tfidf), "Review Text"),
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
    return (
        accuracy_score(y_test["Rating"], rating.predict(X_test)),
        roc_auc_score(y_test["Recommended IND"], rec.predict_proba(X_test)[:, 1]),
        fit_s,
    )


def network(params, columns, X_train, X_test, y_train, y_test, seed):
    modalities = {m: c for m, c in MODALITIES.items() if set(c) <= set(columns)}
    net = FusionNetClassifier(modalities=modalities, random_state=seed, **params)
    t0 = time.perf_counter()
    net.fit(X_train[columns], y_train)
    fit_s = time.perf_counter() - t0
    pred = net.predict(X_test[columns])
    proba = net.predict_proba(X_test[columns])
    rec = net.task_names_.index("Recommended IND")
    return (
        accuracy_score(y_test["Rating"], pred[:, net.task_names_.index("Rating")]),
        roc_auc_score(y_test["Recommended IND"], proba[rec][:, 1]),
        fit_s,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsample, 2 epochs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--fusions", nargs="+", default=list(FUSIONS))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load(args.data_home, args.quick)
    quick = {"max_epochs": 2} if args.quick else {}
    all_columns = TEXT + NUM + CAT

    rows = [("TF-IDF + LR (per task)", [baseline(X_train, X_test, y_train, y_test)])]
    runs = [("FusionNetClassifier() defaults", {}, all_columns)]
    runs += [(f"fusion={f!r}", {"fusion": f}, all_columns) for f in args.fusions]
    runs += [("text only", {}, TEXT), ("tabular only", {}, NUM + CAT)]
    for name, params, columns in runs:
        results = [
            network({**params, **quick}, columns, X_train, X_test, y_train, y_test, seed)
            for seed in args.seeds
        ]
        rows.append((name, results))
        print(f"  done: {name}", flush=True)

    base_acc, base_auc, _ = rows[0][1][0]
    print(
        f"\nWomen's clothing reviews, {len(X_train)} training / {len(X_test)} holdout rows, "
        f"seeds {args.seeds}{' [--quick]' if args.quick else ''}"
    )
    header = (f"{'model':<48} {'Rating acc':>13} {'Recommended AUC':>16} {'fit s':>7} "
              f"{'> LR here':>10} {'> 0.658/0.961':>14}")
    print(header)
    print("-" * len(header))
    for name, results in rows:
        acc = statistics.mean(r[0] for r in results)
        auc = statistics.mean(r[1] for r in results)
        fit_s = statistics.mean(r[2] for r in results)
        spread = ""
        if len(results) > 1:
            spread = f" ±{statistics.stdev(r[0] for r in results):.3f}"
            auc_sd = statistics.stdev(r[1] for r in results)
            name = f"{name} (AUC ±{auc_sd:.4f})"
        if name.startswith("TF-IDF"):
            here = ref = ""
        else:
            here = "both" if acc > base_acc and auc > base_auc else (
                "acc" if acc > base_acc else "auc" if auc > base_auc else "no")
            ref = "both" if acc > REFERENCE[0] and auc > REFERENCE[1] else "no"
        print(f"{name:<48} {acc:>7.4f}{spread:<6} {auc:>16.4f} {fit_s:>7.1f} {here:>10} "
              f"{ref:>14}")
    print(f"(total {time.perf_counter() - start:.0f} s; torch threads "
          f"{__import__('torch').get_num_threads()})")


if __name__ == "__main__":
    main()
