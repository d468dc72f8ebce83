"""Trading tasks off: search task weights with one network per fold, see the Pareto front
=========================================================================================

Wine "hard" version: predict the quality and the alcohol content from the other columns
(alcohol dropped from X). The script

1. fits ``TaskWeightSearchCV`` over 9 weight ratios quality : alcohol from 1/16 to 16 plus the
   ``inverse_count`` rule, 3-fold CV, with ONE weight-conditioned ``MultiTaskNet``
   (``weighting="conditioned"``) per fold;
2. prints one row per weight vector (mean CV R^2 of each task, on the front or not), the
   hypervolume of the front and the vector chosen by the mean of the two R^2;
3. scores the refitted network, set to that vector, on a 25% holdout
   (``train_test_split(random_state=0)``), and shows that changing the weights afterwards
   needs no refit;
4. draws the front with ``--plot`` (saved to a file with ``--plot FILE``).

Usage::

    python examples/task_weight_search.py [--quick] [--plot [pareto.png]] [--data-home DIR]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskNet
from sk_mtl.datasets import load_wine_quality
from sk_mtl.metrics import task_scorers
from sk_mtl.model_selection import TaskWeightSearchCV


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="800 rows, 3 epochs at dropout 0.1")
    parser.add_argument("--plot", nargs="?", const="", default=None, metavar="FILE",
                        help="draw the Pareto front; save it to FILE if given")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)

    X, y = load_wine_quality(data_home=args.data_home, return_X_y=True)
    y = y.assign(alcohol=X["alcohol"])[["quality", "alcohol"]]
    X = X.drop(columns=["alcohol"])
    if args.quick:
        X, y = X.iloc[:800], y.iloc[:800]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    net = MultiTaskNet(
        tasks={"quality": "regression", "alcohol": "regression"},
        weighting="conditioned",
        random_state=0,
        **({"max_epochs": 3, "dropout": 0.1} if args.quick else {}),
    )
    ratios = np.geomspace(1 / 16, 16, 9)
    search = TaskWeightSearchCV(
        make_pipeline(StandardScaler(), net),
        [{"quality": float(r), "alcohol": 1.0} for r in ratios],  # + "inverse_count" (rules)
        scoring=task_scorers({"quality": "r2", "alcohol": "r2"}),
        cv=KFold(3, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - start

    results = search.cv_results_
    front = set(search.pareto_front_["index"].tolist())
    print(f"\nTaskWeightSearchCV on wine-hard, {len(X_train)} training rows, 3 folds: "
          f"{search.n_splits_} fits + 1 refit in {seconds:.1f} s")
    print(f"{'weights quality:alcohol':<26} {'quality R2':>11} {'alcohol R2':>11} {'front':>6}")
    print("-" * 57)
    for i, params in enumerate(results["params"]):
        w = params["task_weights"]
        label = w if isinstance(w, str) else f"{w['quality']:g} : {w['alcohol']:g}"
        print(f"{label:<26} {results['mean_test_quality_r2'][i]:>11.4f} "
              f"{results['mean_test_alcohol_r2'][i]:>11.4f} {'*' if i in front else '':>6}")
    print(f"hypervolume of the front above the worst scores: {search.hypervolume_:.6f}")
    print(f"chosen (best mean R2): {search.best_params_['task_weights']}")

    pred = search.predict(X_test)
    best = search.best_estimator_[-1]
    print(f"\nmodel on the 25% holdout ({len(X_test)} rows), quality R2 / alcohol R2")
    print(f"  chosen weights     {r2_score(y_test['quality'], pred[:, 0]):.4f} / "
          f"{r2_score(y_test['alcohol'], pred[:, 1]):.4f}")
    for weights in ({"quality": 16.0, "alcohol": 1.0}, {"quality": 1.0, "alcohol": 16.0}):
        best.set_params(task_weights=weights)  # no refit: the network reads the weights
        pred = search.best_estimator_.predict(X_test)
        print(f"  {weights['quality']:g} : {weights['alcohol']:g} (no refit)"
              f"{r2_score(y_test['quality'], pred[:, 0]):>10.4f} / "
              f"{r2_score(y_test['alcohol'], pred[:, 1]):.4f}")
    if args.plot is not None:
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")  # a file only: no window
        ax = search.plot_pareto()
        ax.figure.tight_layout()  # room for the tick labels
        show_or_save(ax.figure, args.plot)


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
