"""Class weights for a rare class: excellent wines (3%) next to their colour
=========================================================================

On the UCI wine data (6,497 wines, 11 measurements), one ``MultiTaskNetClassifier`` learns
two binary tasks: ``excellent`` (quality 8 or 9: 198 wines, 3%) and ``color``. With equal
class weights the network finds few excellent wines; ``class_weight={"excellent":
"balanced"}`` weighs each class by ``n / (2 * count)`` in that task's loss only, which trades
precision for recall and leaves the colour task alone. The script

1. fits the network with no class weights, ``"balanced"`` and ``{"yes": 5}`` for
   ``excellent``, over 3 seeds (mean of each score);
2. grid-searches ``class_weight__excellent`` with 3-fold CV, refitted on the balanced
   accuracy of ``excellent`` (scored per task with ``sk_mtl.metrics.task_scorers``);
3. fits scikit-learn's ``HistGradientBoostingClassifier`` with and without
   ``class_weight="balanced"`` as a reference;
4. prints recall, precision, balanced accuracy and ROC AUC of ``excellent`` and the colour
   accuracy on a fixed, stratified 25% holdout.

Run ``python examples/rare_class_weight.py`` (``--quick`` trains one seed for a few epochs,
for CI). The wine data ships with sk_mtl; a ``wine_quality_red_white.csv`` in the data folder
(``--data-home``, ``$SK_MTL_DATA`` or ``../shared/data`` beside the checkout) is read instead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskNetClassifier
from sk_mtl.datasets import load_wine_quality
from sk_mtl.metrics import task_scorers

CLASS_WEIGHTS = {
    "none": None,
    "balanced": "balanced",
    "{'yes': 5}": {"yes": 5.0},
}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, a few epochs (CI)")
    parser.add_argument("--data-home", default=None, help="folder holding the data files")
    args = parser.parse_args(argv)

    X, quality_color = load_wine_quality(data_home=args.data_home, return_X_y=True)
    y = pd.DataFrame({
        "excellent": np.where(quality_color["quality"] >= 8, "yes", "no"),
        "color": quality_color["color"],
    })
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y["excellent"]
    )
    seeds = [0] if args.quick else [0, 1, 2]
    # --quick (CI): 3 epochs at one dropout rate (not dropout="auto"'s two fits).
    extra = {"max_epochs": 3, "dropout": 0.1} if args.quick else {}
    rows = []

    def scores(proba_yes, pred, color_pred):
        truth = y_test["excellent"].to_numpy()
        return {
            "recall": recall_score(truth, pred, pos_label="yes"),
            "precision": precision_score(truth, pred, pos_label="yes", zero_division=0.0),
            "balanced acc": balanced_accuracy_score(truth, pred),
            "ROC AUC": roc_auc_score(truth == "yes", proba_yes),
            "color acc": accuracy_score(y_test["color"], color_pred),
        }

    def add(name, fits):
        """Mean of each score over the fits; ``fits`` yields (scores, fit seconds)."""
        results = list(fits)
        row = {"model": name, **{k: float(np.mean([r[0][k] for r in results]))
                                 for k in results[0][0]}}
        row["fit s"] = float(np.median([r[1] for r in results]))
        rows.append(row)
        print(f"{name}: recall {row['recall']:.3f}, {row['fit s']:.1f} s", flush=True)

    def network(class_weight, seed):
        net = make_pipeline(StandardScaler(), MultiTaskNetClassifier(
            class_weight={"excellent": class_weight}, random_state=seed, **extra))
        t0 = time.perf_counter()
        net.fit(X_train, y_train)
        fit_s = time.perf_counter() - t0
        pred = net.predict(X_test)
        proba = net.predict_proba(X_test)[0][:, 1]
        return scores(proba, pred[:, 0], pred[:, 1]), fit_s

    # 1. The same network with three class weightings of the rare task.
    for label, cw in CLASS_WEIGHTS.items():
        add(f"MultiTaskNetClassifier, class_weight {label}",
            (network(cw, seed) for seed in seeds))

    # 2. The class weight as a searched hyper-parameter.
    scoring = task_scorers({"excellent": "balanced_accuracy", "color": "accuracy"})
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), MultiTaskNetClassifier(
            class_weight={}, random_state=0, **extra)),
        {"multitasknetclassifier__class_weight__excellent": list(CLASS_WEIGHTS.values())},
        scoring=scoring, refit="excellent_balanced_accuracy", cv=2 if args.quick else 3,
    )

    def searched():
        t0 = time.perf_counter()
        grid.fit(X_train, y_train)
        fit_s = time.perf_counter() - t0
        pred = grid.predict(X_test)
        return scores(grid.predict_proba(X_test)[0][:, 1], pred[:, 0], pred[:, 1]), fit_s

    add("MultiTaskNetClassifier, grid-searched", [searched()])
    best = grid.best_params_["multitasknetclassifier__class_weight__excellent"]

    # 3. Gradient boosting per task, with and without balanced class weights.
    for cw in (None, "balanced"):
        def boosted(cw=cw):
            excellent = HistGradientBoostingClassifier(
                class_weight=cw, random_state=0, max_iter=10 if args.quick else 100)
            color = HistGradientBoostingClassifier(random_state=0,
                                                   max_iter=10 if args.quick else 100)
            t0 = time.perf_counter()
            excellent.fit(X_train, y_train["excellent"])
            color.fit(X_train, y_train["color"])
            fit_s = time.perf_counter() - t0
            proba = excellent.predict_proba(X_test)[:, 1]
            return scores(proba, excellent.predict(X_test), color.predict(X_test)), fit_s

        add(f"HistGradientBoosting, class_weight {cw or 'none'}", [boosted()])

    print()
    n_rare = int((y_train["excellent"] == "yes").sum())
    print(
        f"Excellent wine (quality >= 8, {n_rare} of {len(X_train)} training rows) + colour; "
        f"stratified 25% holdout of {len(X_test)} rows, networks: mean of "
        f"{len(seeds)} seed(s){' [--quick]' if args.quick else ''}"
    )
    print(f"grid search: best class_weight__excellent = {best!r}")
    keys = ("recall", "precision", "balanced acc", "ROC AUC", "color acc")
    header = f"{'model':<50}" + "".join(f"{k:>13}" for k in keys) + f"{'fit s':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<50}" + "".join(f"{r[k]:>13.3f}" for k in keys)
              + f"{r['fit s']:>8.1f}")
    return rows


if __name__ == "__main__":
    main()
