"""One network for wine quality (regression) and colour (binary), against per-task models
========================================================================================

The README's main job. On the UCI wine data (6,497 wines, 11 measurements) it

1. fits one ``MultiTaskNet`` in a ``Pipeline`` (``StandardScaler`` then the network) that
   predicts ``quality`` as a regression and ``color`` as a binary task;
2. grid-searches ``task_weights__quality`` with 3-fold CV, scored per task with
   ``sk_mtl.metrics.task_scorers`` and refitted on quality's MAE;
3. fits single-task networks, and scikit-learn's ``HistGradientBoosting*`` and
   ``RandomForest*`` per task;
4. prints per-task scores on a fixed 25% holdout (``train_test_split(random_state=0)``);
5. with ``--plot``, draws the first network's training and validation loss of each task
   per epoch and the cosine between the two tasks' gradients on the shared trunk
   (``sk_mtl.diagnostics.plot_history``, ``GradientCosine``, which leaves the training as
   it is; ``--plot FILE`` saves the figure).

Every network uses the library's default hyper-parameters (only ``random_state`` is set), so
the table shows what a new user gets. One line per model is printed as it finishes (on a
terminal, a network fit that lasts over 2 seconds also draws its progress bar over epochs).

Run ``python examples/wine_multitask.py`` (``--quick`` trains for a few epochs at dropout
0.1 only, for CI).
The wine data ships with sk_mtl; a ``wine_quality_red_white.csv`` in the data folder
(``--data-home``, ``$SK_MTL_DATA`` or ``../shared/data`` beside the checkout) is read instead.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from sk_mtl.datasets import load_wine_quality
from sk_mtl.diagnostics import GradientCosine, plot_history
from sk_mtl.metrics import task_scorers

TASKS = {"quality": "regression", "color": "binary"}


def network_params(quick: bool) -> dict:
    """The defaults, seeded; ``--quick`` (CI) trains 3 epochs at one dropout rate (not
    ``dropout="auto"``'s two fits)."""
    return dict(random_state=0, **({"max_epochs": 3, "dropout": 0.1} if quick else {}))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs at dropout 0.1 (CI)")
    parser.add_argument("--data-home", default=None, help="folder holding the data files")
    parser.add_argument("--plot", nargs="?", const="", default=None, metavar="FILE",
                        help="draw the multi-task training curves; save them to FILE if given")
    args = parser.parse_args(argv)

    X, y = load_wine_quality(data_home=args.data_home, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    params = network_params(args.quick)
    rows = []

    def report(name, fit, predict_quality, predict_color):
        t0 = time.perf_counter()
        fit()
        fit_s = time.perf_counter() - t0
        print(f"fitted {name} in {fit_s:.1f} s", flush=True)
        quality, color = predict_quality(), predict_color()
        rows.append({
            "model": name,
            "quality MAE": mean_absolute_error(y_test["quality"], quality) if quality is not None
            else np.nan,
            "quality R2": r2_score(y_test["quality"], quality) if quality is not None
            else np.nan,
            "color accuracy": accuracy_score(y_test["color"], color) if color is not None
            else np.nan,
            "fit s": fit_s,
        })

    # 1. One multi-task network in a Pipeline (for --plot, it also records the cosine of the
    # tasks' gradients each epoch; the callback does not change the training).
    cosines = [GradientCosine(random_state=0)] if args.plot is not None else None
    mtl = make_pipeline(StandardScaler(), MultiTaskNet(tasks=TASKS, callbacks=cosines, **params))
    report(
        "MultiTaskNet (equal weights)",
        lambda: mtl.fit(X_train, y_train),
        lambda: mtl.predict(X_test)[:, 0].astype(float),
        lambda: mtl.predict(X_test)[:, 1],
    )

    # 2. Grid search over the weight of the quality task, refitted on quality's MAE.
    scoring = task_scorers({"quality": "neg_mean_absolute_error", "color": "accuracy"})
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), MultiTaskNet(tasks=TASKS, **params)),
        {"multitasknet__task_weights__quality": [0.5, 1.0, 2.0, 4.0]},
        scoring=scoring,
        refit="quality_neg_mean_absolute_error",
        cv=2 if args.quick else 3,
        n_jobs=2,
    )
    report(
        "MultiTaskNet (grid-searched task weight)",
        lambda: grid.fit(X_train, y_train),
        lambda: grid.predict(X_test)[:, 0].astype(float),
        lambda: grid.predict(X_test)[:, 1],
    )
    best_w = grid.best_params_["multitasknet__task_weights__quality"]

    # 3. Single-task networks with the same trunk and training settings.
    reg = make_pipeline(StandardScaler(), MultiTaskNetRegressor(**params))
    report(
        "single-task networks: quality",
        lambda: reg.fit(X_train, y_train["quality"]),
        lambda: reg.predict(X_test),
        lambda: None,
    )
    clf = make_pipeline(StandardScaler(), MultiTaskNetClassifier(**params))
    report(
        "single-task networks: color",
        lambda: clf.fit(X_train, y_train["color"]),
        lambda: None,
        lambda: clf.predict(X_test),
    )

    # 4. Gradient boosting, one model per task.
    hgb_r = HistGradientBoostingRegressor(random_state=0, max_iter=10 if args.quick else 100)
    report(
        "HistGradientBoostingRegressor: quality",
        lambda: hgb_r.fit(X_train, y_train["quality"]),
        lambda: hgb_r.predict(X_test),
        lambda: None,
    )
    hgb_c = HistGradientBoostingClassifier(random_state=0, max_iter=10 if args.quick else 100)
    report(
        "HistGradientBoostingClassifier: color",
        lambda: hgb_c.fit(X_train, y_train["color"]),
        lambda: None,
        lambda: hgb_c.predict(X_test),
    )

    # 5. Random forests, one model per task (they memorise the data set's duplicate rows).
    n_trees = 10 if args.quick else 300
    rf_r = RandomForestRegressor(n_trees, random_state=0, n_jobs=2)
    report(
        "RandomForestRegressor: quality",
        lambda: rf_r.fit(X_train, y_train["quality"]),
        lambda: rf_r.predict(X_test),
        lambda: None,
    )
    rf_c = RandomForestClassifier(n_trees, random_state=0, n_jobs=2)
    report(
        "RandomForestClassifier: color",
        lambda: rf_c.fit(X_train, y_train["color"]),
        lambda: None,
        lambda: rf_c.predict(X_test),
    )

    print()
    print(
        f"Wine quality + colour, {len(X_train)} training / {len(X_test)} holdout rows "
        f"(25%, random_state=0){' [--quick]' if args.quick else ''}"
    )
    print(f"grid search: best task_weights__quality = {best_w}")
    header = f"{'model':<42} {'quality MAE':>12} {'quality R2':>11} {'color acc':>10} {'fit s':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        cells = [
            "" if np.isnan(r[k]) else f"{r[k]:.3f}"
            for k in ("quality MAE", "quality R2", "color accuracy")
        ]
        print(f"{r['model']:<42} {cells[0]:>12} {cells[1]:>11} {cells[2]:>10} {r['fit s']:>7.1f}")
    if args.plot is not None:
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")  # a file only: no window
        fig = plot_history(mtl)  # the first network: task losses, weights, gradient cosine
        fig.suptitle("MultiTaskNet (equal weights) on the wine data, per epoch")
        show_or_save(fig, args.plot)
    return rows


def show_or_save(fig, path: str) -> None:
    """Save ``fig`` to ``path``, or show it (``--plot`` without a file)."""
    if path:
        fig.savefig(path, dpi=120, bbox_inches="tight")
        print(f"plot saved to {path}")
    else:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    main()
