"""The evidence behind the default hyper-parameters (docs/defaults.md), in one run.

Parts (``--parts``, all by default):

- ``wine``: UCI wine, ``train_test_split(test_size=0.25, random_state=0)``,
  ``make_pipeline(StandardScaler(), MultiTaskNet(tasks={"quality": "regression", "color":
  "binary"}, random_state=seed))`` for seeds 0, 1, 2 with the defaults, with the defaults but
  ``retrieval=None``, and with ``sk_mtl.LEGACY_DEFAULTS``; against
  ``HistGradientBoosting*`` and ``RandomForest*(300)`` per task. Mean +- std over seeds of
  quality MAE and R^2, colour accuracy, and the fit time.
- ``small``: a 400-row random subsample of wine (``RandomState(0)``), 5-fold CV
  (``KFold(shuffle=True, random_state=0)``): defaults and legacy networks (seed 0), HGB, and
  predicting the training mean / majority colour. Mean +- std over folds.
- ``fusion``: the same holdout and seeds, ``FusionNet(tasks=..., random_state=seed)`` on the
  raw wine table (its one modality, standardized inside) with its defaults, with
  ``retrieval=None``, and with the MultiTaskNet recipe (``TABLE_RECIPE`` below) plus
  retrieval; against ``HistGradientBoosting*``.
- ``search``: ``GridSearchCV`` over ``task_weights__quality`` in (0.5, 1, 2, 4), ``cv=3``, on
  the wine training part, with ``n_jobs=1`` and ``n_jobs=2``: wall time of each.
- ``threads``: fit time of the default ``MultiTaskNetClassifier`` with ``n_threads=1`` and
  ``2`` on a census-style one-hot CSR table (``bench_overhead.make_csr``: 50,000 x 500, a
  binary and a 4-class task, ``max_epochs=2``), on an
  idle machine and with a second process spinning on one core (the "loaded" column).

Fit times are medians over ``--repeats`` runs where a part repeats fits; compare them within
one run only. Usage::

    python benchmarks/bench_defaults.py [--parts wine small fusion search threads] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import (
    LEGACY_DEFAULTS,
    PRE_SUITE_DEFAULTS,
    FusionNet,
    MultiTaskNet,
    MultiTaskNetClassifier,
)
from sk_mtl.datasets import load_wine_quality

sys.path.insert(0, str(Path(__file__).parent))
from bench_overhead import make_csr

TASKS = {"quality": "regression", "color": "binary"}
SEEDS = (0, 1, 2)
#: MultiTaskNet's default recipe, spelled out for FusionNet (whose defaults are text-tuned).
TABLE_RECIPE = dict(hidden_dims=(128, 128), dropout=0.1, optimizer="adamw", lr=2e-3,
                    lr_schedule="cosine", max_epochs=100, batch_size="auto",
                    early_stopping="auto", n_iter_no_change=10, n_threads=1)


def _pm(values, fmt=".3f"):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {std:{fmt}}"


def _scores(y_true, quality, color):
    return (
        mean_absolute_error(y_true["quality"], quality),
        r2_score(y_true["quality"], quality),
        accuracy_score(y_true["color"], color),
    )


def _net_run(params, X_tr, y_tr, X_te, y_te, scaler=True):
    net = MultiTaskNet(tasks=TASKS, **params)
    if scaler:
        net = make_pipeline(StandardScaler(), net)
    t0 = time.perf_counter()
    net.fit(X_tr, y_tr)
    seconds = time.perf_counter() - t0
    pred = net.predict(X_te)
    return (*_scores(y_te, pred[:, 0].astype(float), pred[:, 1]), seconds)


def _trees_run(regressor, classifier, X_tr, y_tr, X_te, y_te):
    t0 = time.perf_counter()
    regressor.fit(X_tr, y_tr["quality"])
    classifier.fit(X_tr, y_tr["color"])
    seconds = time.perf_counter() - t0
    return (*_scores(y_te, regressor.predict(X_te), classifier.predict(X_te)), seconds)


def _table(title, rows):
    print(f"\n{title}")
    header = (f"{'model':<34} {'quality MAE':>15} {'quality R2':>15} {'color acc':>15} "
              f"{'fit s':>12}")
    print(header)
    print("-" * len(header))
    for name, runs in rows.items():
        r = np.array(runs)
        print(f"{name:<34} {_pm(r[:, 0]):>15} {_pm(r[:, 1]):>15} {_pm(r[:, 2], '.4f'):>15} "
              f"{_pm(r[:, 3], '.1f'):>12}")


def part_wine(X, y):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    rows = {name: [] for name in ("defaults", "defaults, raw columns (no scaler)",
                                  "defaults, retrieval=None", "PRE_SUITE_DEFAULTS",
                                  "LEGACY_DEFAULTS", "HistGradientBoosting",
                                  "RandomForest(300)")}
    for seed in SEEDS:
        rows["defaults"].append(_net_run({"random_state": seed}, X_tr, y_tr, X_te, y_te))
        rows["defaults, raw columns (no scaler)"].append(
            _net_run({"random_state": seed}, X_tr, y_tr, X_te, y_te, scaler=False))
        rows["PRE_SUITE_DEFAULTS"].append(
            _net_run({**PRE_SUITE_DEFAULTS, "random_state": seed}, X_tr, y_tr, X_te, y_te))
        rows["defaults, retrieval=None"].append(
            _net_run({"random_state": seed, "retrieval": None}, X_tr, y_tr, X_te, y_te))
        rows["LEGACY_DEFAULTS"].append(
            _net_run({**LEGACY_DEFAULTS, "random_state": seed}, X_tr, y_tr, X_te, y_te))
        rows["HistGradientBoosting"].append(_trees_run(
            HistGradientBoostingRegressor(random_state=seed),
            HistGradientBoostingClassifier(random_state=seed), X_tr, y_tr, X_te, y_te))
        rows["RandomForest(300)"].append(_trees_run(
            RandomForestRegressor(300, random_state=seed, n_jobs=2),
            RandomForestClassifier(300, random_state=seed, n_jobs=2), X_tr, y_tr, X_te, y_te))
        print(f"  [wine] seed {seed} done", file=sys.stderr, flush=True)
    _table(f"wine, 25% holdout ({len(X_tr)} / {len(X_te)} rows), seeds {list(SEEDS)}", rows)


def _fusion_run(params, X_tr, y_tr, X_te, y_te):
    net = FusionNet(tasks=TASKS, **params)
    t0 = time.perf_counter()
    net.fit(X_tr, y_tr)
    seconds = time.perf_counter() - t0
    pred = net.predict_tasks(X_te)
    return (*_scores(y_te, pred["quality"], pred["color"]), seconds)


def part_fusion(X, y):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    runs = {
        "FusionNet defaults": {},
        "FusionNet, retrieval=None": {"retrieval": None},
        "FusionNet, TABLE_RECIPE": TABLE_RECIPE,
    }
    rows = {name: [] for name in (*runs, "HistGradientBoosting")}
    for seed in SEEDS:
        for name, params in runs.items():
            rows[name].append(
                _fusion_run({**params, "random_state": seed}, X_tr, y_tr, X_te, y_te))
        rows["HistGradientBoosting"].append(_trees_run(
            HistGradientBoostingRegressor(random_state=seed),
            HistGradientBoostingClassifier(random_state=seed), X_tr, y_tr, X_te, y_te))
        print(f"  [fusion] seed {seed} done", file=sys.stderr, flush=True)
    _table(f"FusionNet on the wine table, 25% holdout, seeds {list(SEEDS)}", rows)


def part_small(X, y):
    idx = np.random.RandomState(0).choice(len(X), 400, replace=False)
    X, y = X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)
    rows = {name: [] for name in ("defaults", "LEGACY_DEFAULTS", "HistGradientBoosting",
                                  "training mean / majority")}
    for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
        X_tr, X_te, y_tr, y_te = X.iloc[tr], X.iloc[te], y.iloc[tr], y.iloc[te]
        rows["defaults"].append(_net_run({"random_state": 0}, X_tr, y_tr, X_te, y_te))
        rows["LEGACY_DEFAULTS"].append(
            _net_run({**LEGACY_DEFAULTS, "random_state": 0}, X_tr, y_tr, X_te, y_te))
        rows["HistGradientBoosting"].append(_trees_run(
            HistGradientBoostingRegressor(random_state=0),
            HistGradientBoostingClassifier(random_state=0), X_tr, y_tr, X_te, y_te))
        mean = np.full(len(te), y_tr["quality"].mean())
        majority = np.full(len(te), y_tr["color"].mode()[0])
        rows["training mean / majority"].append((*_scores(y_te, mean, majority), 0.0))
    _table("wine, 400-row subsample, 5-fold CV (mean ± std over folds)", rows)


def part_search(X, y, repeats):
    X_tr, _, y_tr, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    times = {1: [], 2: []}
    for _ in range(repeats):
        for n_jobs in (1, 2):
            search = GridSearchCV(
                make_pipeline(StandardScaler(), MultiTaskNet(tasks=TASKS, random_state=0)),
                {"multitasknet__task_weights__quality": [0.5, 1.0, 2.0, 4.0]},
                cv=3, n_jobs=n_jobs,
            )
            t0 = time.perf_counter()
            search.fit(X_tr, y_tr)
            times[n_jobs].append(time.perf_counter() - t0)
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"\nGridSearchCV, 4 weights x 3 folds + refit on wine, median of {repeats}:")
    print(f"  n_jobs=1 {t1:.1f} s   n_jobs=2 {t2:.1f} s   ratio n_jobs=2 / n_jobs=1 "
          f"{t2 / t1:.2f}")


def _spin(stop):
    x = 0
    while not stop.is_set():
        x += 1


def part_threads(repeats):
    X, y = make_csr()  # the overhead benchmark's table
    results = {}
    for load in ("idle", "loaded"):
        stop = mp.Event()
        spinner = None
        if load == "loaded":
            spinner = mp.Process(target=_spin, args=(stop,), daemon=True)
            spinner.start()
        try:
            for n_threads in (1, 2):
                times = []
                for _ in range(repeats):
                    net = MultiTaskNetClassifier(max_epochs=2, n_threads=n_threads,
                                                 random_state=0)
                    t0 = time.perf_counter()
                    net.fit(X, y)
                    times.append(time.perf_counter() - t0)
                results[load, n_threads] = statistics.median(times)
        finally:
            stop.set()
            if spinner is not None:
                spinner.join()
    print(f"\nDefault MultiTaskNetClassifier, {X.shape[0]} x {X.shape[1]} one-hot CSR, 2 tasks,"
          f" max_epochs=2, median of {repeats} (s):")
    print(f"  {'':<8} {'1 thread':>9} {'2 threads':>10} {'2 / 1':>7}")
    for load in ("idle", "loaded"):
        one, two = results[load, 1], results[load, 2]
        print(f"  {load:<8} {one:>9.2f} {two:>10.2f} {two / one:>7.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["wine", "small", "fusion", "search", "threads"]
    parser.add_argument("--parts", nargs="+", default=parts, choices=parts)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    X, y = load_wine_quality(data_home=args.data_home, return_X_y=True)
    t0 = time.perf_counter()
    if "wine" in args.parts:
        part_wine(X, y)
    if "small" in args.parts:
        part_small(X, y)
    if "fusion" in args.parts:
        part_fusion(X, y)
    if "search" in args.parts:
        part_search(X, y, args.repeats)
    if "threads" in args.parts:
        part_threads(args.repeats)
    print(f"\nTotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
