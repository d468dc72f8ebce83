"""Text + table, two tasks: FusionNetClassifier on the Women's clothing reviews
=============================================================================

Predicts a review's ``Rating`` (1-5) and whether the shopper recommends the product from the
review title and text, the shopper's age, the review's positive-feedback count and the
product's division, department, class and id. It

1. grid-searches ``fusion`` and ``fusion_weights__text`` with 3-fold CV, scored per task and
   refitted on the recommendation's ROC AUC;
2. cross-validates the chosen model with per-task scorers;
3. prints holdout scores (the data README's fixed holdout) next to a TF-IDF + logistic
   regression baseline.

Run ``python examples/clothing_fusion.py`` (``--quick`` uses a small subsample, for CI).
The reviews are read from the data folder (``--data-home``, else ``$SK_MTL_DATA``, else
``../shared/data`` beside the checkout, else ``~/sk_mtl_data``); when they are not there,
they are downloaded once into it (``sk_mtl.datasets.fetch_womens_clothing_reviews``,
8.5 MB, SHA-256 checked).
"""

from __future__ import annotations

import argparse
import time

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_mtl import FusionNetClassifier
from sk_mtl.datasets import fetch_womens_clothing_reviews
from sk_mtl.metrics import task_scorers

MODALITIES = {
    "text": ["Title", "Review Text"],
    "num": ["Age", "Positive Feedback Count"],
    "cat": ["Division Name", "Department Name", "Class Name", "Clothing ID"],
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsample (CI)")
    parser.add_argument("--data-home", default=None, help="folder holding the data files")
    args = parser.parse_args(argv)

    X, y = fetch_womens_clothing_reviews(data_home=args.data_home, return_X_y=True)
    keep = X["Review Text"].notna()
    X_train, X_test, y_train, y_test = train_test_split(
        X[keep], y[keep], test_size=0.2, random_state=0
    )
    if args.quick:
        X_train, y_train = X_train.iloc[:1200], y_train.iloc[:1200]
        X_test, y_test = X_test.iloc[:400], y_test.iloc[:400]
    extra = {"max_epochs": 2} if args.quick else {}
    scoring = task_scorers({"Recommended IND": "roc_auc", "Rating": "accuracy"})

    # 1. Grid search over the fusion strategy and the text modality's weight.
    search = GridSearchCV(
        FusionNetClassifier(modalities=MODALITIES, random_state=0, **extra),
        {"fusion": ["concat", "weighted_sum", "late"], "fusion_weights__text": [0.5, 1.0, 2.0]},
        scoring=scoring, refit="Recommended IND_roc_auc", cv=2 if args.quick else 3, n_jobs=2,
    )
    t0 = time.perf_counter()
    search.fit(X_train, y_train)
    search_s = time.perf_counter() - t0
    best = search.best_estimator_

    # 2. Per-task cross-validation of the chosen configuration.
    cv = cross_validate(best, X_train, y_train, scoring=scoring, cv=2 if args.quick else 3)

    # 3. Holdout scores beside TF-IDF + logistic regression, one model per task.
    proba = best.predict_proba(X_test)
    pred = best.predict(X_test)
    rec, rating = best.task_names_.index("Recommended IND"), best.task_names_.index("Rating")
    tfidf = dict(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    pre = ColumnTransformer([
        ("title", TfidfVectorizer(**tfidf), "Title"),
        ("review", TfidfVectorizer(**tfidf), "Review Text"),
        ("cat", OneHotEncoder(handle_unknown="ignore"), MODALITIES["cat"][:3]),
        ("num", StandardScaler(), MODALITIES["num"]),
    ])
    Xb_train, Xb_test = X_train.fillna({"Title": ""}), X_test.fillna({"Title": ""})
    lr_rec = make_pipeline(pre, LogisticRegression(max_iter=2000)).fit(
        Xb_train, y_train["Recommended IND"])
    lr_rating = make_pipeline(pre, LogisticRegression(max_iter=2000)).fit(
        Xb_train, y_train["Rating"])

    print(
        f"Women's clothing reviews: {len(X_train)} training / {len(X_test)} holdout rows"
        f"{' [--quick]' if args.quick else ''}"
    )
    print(f"grid search ({search_s:.0f} s): best {search.best_params_}")
    print(
        "cross-validated best model: Recommended AUC "
        f"{cv['test_Recommended IND_roc_auc'].mean():.3f} "
        f"± {cv['test_Recommended IND_roc_auc'].std():.3f}, Rating accuracy "
        f"{cv['test_Rating_accuracy'].mean():.3f} ± {cv['test_Rating_accuracy'].std():.3f}"
    )
    header = f"{'model':<36} {'Rating acc':>11} {'Recommended AUC':>16}"
    print(header)
    print("-" * len(header))
    rows = {
        "FusionNetClassifier (grid-searched)": (
            accuracy_score(y_test["Rating"], pred[:, rating]),
            roc_auc_score(y_test["Recommended IND"], proba[rec][:, 1]),
        ),
        "TF-IDF + logistic regression": (
            accuracy_score(y_test["Rating"], lr_rating.predict(Xb_test)),
            roc_auc_score(y_test["Recommended IND"], lr_rec.predict_proba(Xb_test)[:, 1]),
        ),
    }
    for name, (acc, auc) in rows.items():
        print(f"{name:<36} {acc:>11.3f} {auc:>16.3f}")
    print("(holdout scores: the model column says which model)")
    return rows


if __name__ == "__main__":
    main()
