"""Which task-balancing methods help, on what? Holdout quality of multi-task networks.

Three real two-task problems, each with a fixed holdout; preprocessing is fitted on the
training part only (by hand, once per data set: it does not depend on the model seed):

- ``wine``: 11 standardized measurements -> ``quality`` (regression: MAE, R^2) and ``color``
  (binary: accuracy); ``train_test_split(test_size=0.25, random_state=0)``.
- ``wine-hard``: ``alcohol`` dropped from the inputs (10 measurements) -> ``quality`` and
  ``alcohol`` (both regression: MAE, R^2); same split.
- ``clothing``: Women's clothing reviews with review text; ``test_size=0.2, random_state=0``
  (the data README's holdout). Features: TF-IDF of Title + " " + Review Text (1-2 grams,
  ``min_df=3``, ``sublinear_tf``) reduced by ``TruncatedSVD(128, random_state=0)``, one-hot
  Division/Department/Class Name, standardized Age and Positive Feedback Count (161 dense
  columns). Tasks ``Rating`` (5-class: accuracy) and ``Recommended IND`` (binary: ROC AUC from
  ``predict_proba``).

Methods, all networks with the library's default hyper-parameters (only ``random_state`` is
set: a (128, 128) trunk, AdamW at 2e-3 with cosine decay, ``batch_size="auto"``, early
stopping on a 10% validation split; see ``docs/defaults.md``):

- ``single-task``: one ``MultiTaskNetClassifier``/``MultiTaskNetRegressor`` per task (1-D y);
- ``static (equal)``: one multi-task net, ``task_weights=None`` (1.0 each);
- ``static (grid)``: ``GridSearchCV(cv=3, n_jobs=2)`` over ``task_weights__<second task>`` in
  ``GRID`` (the other weight stays 1), refit on the estimator's own ``score`` (mean of per-task
  accuracy / R^2); the chosen weight of each seed is printed under the table;
- ``uncertainty``, ``dwa``, ``gradnorm``, ``pcgrad``, ``mgda``: ``weighting=<name>``, defaults;
- ``mmoe``: ``trunk=MMoE(n_experts=4, expert_dims=(64,))``, static equal weights
  (``hidden_dims`` is then unused);
- ``ple``: ``trunk=PLE(n_shared_experts=2, n_task_experts=1, n_levels=2,
  expert_dims=(64,))`` (Progressive Layered Extraction), static equal weights;
- ``mlp (one network)``: the default MLP trunk as one network (``ensemble_size=1``), the
  like-for-like reference of ``mmoe`` and ``ple`` (a custom trunk is one network, where
  the default trains an ensemble of eight members on up to 10,000 rows);
- ``legacy defaults``: one multi-task net with ``sk_mtl.LEGACY_DEFAULTS`` (the defaults before
  the measured recipe: one hidden layer of 100, Adam 1e-3, batch 128, 100 epochs, no early
  stopping), static equal weights;
- ``HGB``: scikit-learn's ``HistGradientBoostingClassifier``/``Regressor`` per task, defaults;
- ``RF``: ``RandomForestClassifier``/``Regressor(n_estimators=300, n_jobs=2)`` per task.

Every method runs with ``random_state=seed`` for each seed. A table per data set gives, per
method, mean +- std (``ddof=1``) over seeds of each holdout metric, the mean fit time (for
``single-task`` and ``HGB`` the sum over tasks; for the grid the whole search with its refit),
the mean number of epochs trained (early stopping included; for the grid, its refit; ``-`` for
HGB), and Delta_m (%) = mean over tasks of ``100 * s * (M - M_single) / |M_single|``, where M
is the task's first metric (MAE for regression, accuracy or ROC AUC for classification),
``s = -1`` for MAE and +1 otherwise, and M_single is the single-task net of the same seed;
Delta_m is computed per seed, then averaged. Positive Delta_m = better than single-task nets.

Run time: about 15 minutes on 2 CPU cores for the full run (3 seeds, 3 data sets; nothing was
cut to fit the budget); ``--methods`` runs a subset. Torch runs on ONE intra-op thread
(``--threads``): these nets are too small to gain from two, and on a 2-core machine that
something else is also using, two torch threads spin-waiting for each other slowed an epoch
down ~70x (2.9 s instead of 0.04 s on ``wine``). ``GridSearchCV(n_jobs=2)`` workers get one
thread each from joblib. Fit times are wall-clock on a possibly shared machine: compare them
within one run only.

Usage::

    python benchmarks/bench_mtl_quality.py [--datasets wine wine-hard clothing]
        [--seeds 0 1 2] [--data-home DIR] [--threads 1] [--quick] [--methods ...]

``--quick`` (1 seed, ``max_epochs=3``, a few hundred rows) is a smoke test of seconds whose
figures mean nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sk_mtl import LEGACY_DEFAULTS, MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from sk_mtl.datasets import load_wine_quality, load_womens_clothing_reviews
from sk_mtl.trunks import PLE, MMoE

GRID = [0.25, 0.5, 1.0, 2.0, 4.0]
NET: dict = {}  # the defaults
WEIGHTINGS = ["uncertainty", "dwa", "gradnorm", "pcgrad", "mgda"]
METHODS = [
    "single-task", "static (equal)", "static (grid)", *WEIGHTINGS, "mmoe", "ple",
    "mlp (one network)", "legacy defaults", "HGB", "RF",
]
TREES = {"HGB": (HistGradientBoostingRegressor, HistGradientBoostingClassifier, {}),
         "RF": (RandomForestRegressor, RandomForestClassifier,
                {"n_estimators": 300, "n_jobs": 2})}
QUICK_TRAIN, QUICK_TEST = 300, 200


# ---------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable  # fn(y_true, y_pred, proba_positive) -> float
    higher_is_better: bool


MAE = Metric("MAE", lambda y, p, _: mean_absolute_error(y, p), False)
R2 = Metric("R2", lambda y, p, _: r2_score(y, p), True)
ACC = Metric("acc", lambda y, p, _: accuracy_score(y, p), True)
AUC = Metric("AUC", lambda y, _, s: roc_auc_score(y, s), True)


@dataclass
class Dataset:
    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: pd.DataFrame
    y_test: pd.DataFrame
    tasks: dict[str, str]  # task -> kind
    metrics: dict[str, list[Metric]]  # task -> metrics; the first one enters Delta_m
    net_class: type
    grid: list[float] = field(default_factory=lambda: list(GRID))

    @property
    def second_task(self) -> str:
        return list(self.tasks)[1]


# ---------------------------------------------------------------------------- data
def _split(X, y, test_size, quick):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=0)
    if quick:
        X_tr, y_tr = X_tr.iloc[:QUICK_TRAIN], y_tr.iloc[:QUICK_TRAIN]
        X_te, y_te = X_te.iloc[:QUICK_TEST], y_te.iloc[:QUICK_TEST]
    return X_tr, X_te, y_tr.reset_index(drop=True), y_te.reset_index(drop=True)


def _scale(X_tr, X_te):
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_te).astype(np.float32))


def load_wine(data_home, quick):
    X, y = load_wine_quality(data_home=data_home, return_X_y=True)
    X_tr, X_te, y_tr, y_te = _split(X, y, 0.25, quick)
    X_tr, X_te = _scale(X_tr, X_te)
    return Dataset(
        "wine", X_tr, X_te, y_tr, y_te,
        tasks={"quality": "regression", "color": "binary"},
        metrics={"quality": [MAE, R2], "color": [ACC]},
        net_class=MultiTaskNet,
    )


def load_wine_hard(data_home, quick):
    X, y = load_wine_quality(data_home=data_home, return_X_y=True)
    y = pd.DataFrame({"quality": y["quality"].astype(float), "alcohol": X["alcohol"]})
    X = X.drop(columns="alcohol")
    X_tr, X_te, y_tr, y_te = _split(X, y, 0.25, quick)
    X_tr, X_te = _scale(X_tr, X_te)
    return Dataset(
        "wine-hard", X_tr, X_te, y_tr, y_te,
        tasks={"quality": "regression", "alcohol": "regression"},
        metrics={"quality": [MAE, R2], "alcohol": [MAE, R2]},
        net_class=MultiTaskNetRegressor,
    )


def load_clothing(data_home, quick):
    X, y = load_womens_clothing_reviews(data_home=data_home, return_X_y=True)
    keep = X["Review Text"].notna().to_numpy()
    X_tr, X_te, y_tr, y_te = _split(X[keep], y[keep], 0.2, quick)

    def text(d):
        return (d["Title"].fillna("") + " " + d["Review Text"]).to_numpy()

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True)
    svd = TruncatedSVD(n_components=128, random_state=0)
    T_tr = svd.fit_transform(tfidf.fit_transform(text(X_tr)))
    T_te = svd.transform(tfidf.transform(text(X_te)))
    cats = ["Division Name", "Department Name", "Class Name"]
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    C_tr = onehot.fit_transform(X_tr[cats].fillna("missing"))
    C_te = onehot.transform(X_te[cats].fillna("missing"))
    N_tr, N_te = _scale(X_tr[["Age", "Positive Feedback Count"]],
                        X_te[["Age", "Positive Feedback Count"]])
    F_tr = np.hstack([T_tr, C_tr, N_tr]).astype(np.float32)
    F_te = np.hstack([T_te, C_te, N_te]).astype(np.float32)
    return Dataset(
        "clothing", F_tr, F_te, y_tr, y_te,
        tasks={"Rating": "multiclass", "Recommended IND": "binary"},
        metrics={"Rating": [ACC], "Recommended IND": [AUC]},
        net_class=MultiTaskNetClassifier,
    )


LOADERS = {"wine": load_wine, "wine-hard": load_wine_hard, "clothing": load_clothing}


# ---------------------------------------------------------------------------- methods
def _outputs(est, X, task_names):
    """task -> (predictions, probability of the last class or None)."""
    preds = est.predict_tasks(X)
    out = {}
    probas = est.predict_proba(X) if hasattr(est, "predict_proba") else None
    if probas is not None and not isinstance(probas, list):
        probas = [probas]
    for i, name in enumerate(est.task_names_):
        proba = None if probas is None or probas[i] is None else probas[i][:, -1]
        out[name] = (preds[name], proba)
    return {name: out[name] for name in task_names}


def _net(ds, seed, cfg, **params):
    return ds.net_class(tasks=ds.tasks, random_state=seed, **{**cfg, **params})


def _timed_fit(est, X, y):
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0


def _epochs(est):
    return len(est.history_)


def run_method(method, ds, seed, cfg):
    """Fit one method; return (task -> (pred, proba)), fit seconds, epochs, note."""
    X, y = ds.X_train, ds.y_train
    names = list(ds.tasks)
    if method in ("single-task", *TREES):
        out, seconds, epochs = {}, 0.0, []
        for name, kind in ds.tasks.items():
            if method in TREES:
                regressor, classifier, params = TREES[method]
                cls = regressor if kind == "regression" else classifier
                est = cls(random_state=seed, **params)
            else:
                cls = MultiTaskNetRegressor if kind == "regression" else MultiTaskNetClassifier
                est = cls(random_state=seed, **cfg)
            seconds += _timed_fit(est, X, y[name].to_numpy())
            if method == "single-task":
                epochs.append(_epochs(est))
            proba = est.predict_proba(ds.X_test)[:, -1] if kind != "regression" else None
            out[name] = (est.predict(ds.X_test), proba)
        return out, seconds, (np.mean(epochs) if epochs else np.nan), ""
    if method == "static (grid)":
        key = f"task_weights__{ds.second_task}"
        search = GridSearchCV(_net(ds, seed, cfg), {key: ds.grid}, cv=3, n_jobs=2)
        seconds = _timed_fit(search, X, y)
        chosen = search.best_params_[key]
        best = search.best_estimator_
        return _outputs(best, ds.X_test, names), seconds, _epochs(best), f"{chosen:g}"
    if method == "static (equal)":
        est = _net(ds, seed, cfg)
    elif method == "legacy defaults":
        est = _net(ds, seed, cfg, **LEGACY_DEFAULTS)
    elif method == "mmoe":
        est = _net(ds, seed, cfg, trunk=MMoE(n_experts=4, expert_dims=(64,)))
    elif method == "ple":
        est = _net(ds, seed, cfg, trunk=PLE(n_shared_experts=2, n_task_experts=1, n_levels=2,
                                            expert_dims=(64,)))
    elif method == "mlp (one network)":
        est = _net(ds, seed, cfg, ensemble_size=1)
    else:
        est = _net(ds, seed, cfg, weighting=method)
    seconds = _timed_fit(est, X, y)
    return _outputs(est, ds.X_test, names), seconds, _epochs(est), ""


def score(ds, outputs):
    """(task, metric name) -> value on the holdout."""
    scores = {}
    for name, metrics in ds.metrics.items():
        y_true = ds.y_test[name].to_numpy()
        pred, proba = outputs[name]
        for metric in metrics:
            scores[name, metric.name] = float(metric.fn(y_true, pred, proba))
    return scores


def delta_m(ds, scores, reference):
    deltas = []
    for name, metrics in ds.metrics.items():
        metric = metrics[0]
        m, ref = scores[name, metric.name], reference[name, metric.name]
        sign = 1.0 if metric.higher_is_better else -1.0
        deltas.append(100.0 * sign * (m - ref) / abs(ref))
    return float(np.mean(deltas))


# ---------------------------------------------------------------------------- report
def _mean_std(values, fmt):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {std:{fmt.lstrip('+')}}"


def print_table(ds, results, seeds):
    columns = [(name, m.name) for name, metrics in ds.metrics.items() for m in metrics]
    labels = [f"{name} {metric}" for name, metric in columns]
    widths = [max(len(label), 15) for label in labels]
    arrows = {
        (name, m.name): ("↑" if m.higher_is_better else "↓")
        for name, metrics in ds.metrics.items() for m in metrics
    }
    print(
        f"\n== {ds.name}: {len(ds.X_train)} train / {len(ds.X_test)} test rows, "
        f"{ds.X_train.shape[1]} features, tasks {ds.tasks}, seeds {seeds}"
    )
    header = f"{'method':<17}" + "".join(
        f" {label + ' ' + arrows[col]:>{w + 2}}" for label, col, w in zip(labels, columns, widths)
    ) + f" {'Δ_m % ↑':>15} {'fit s':>7} {'epochs':>6}"
    print(header)
    print("-" * len(header))
    for method in METHODS:
        if method not in results:
            continue
        runs = results[method]
        cells = "".join(
            f" {_mean_std([r['scores'][col] for r in runs], '.4f'):>{w + 2}}"
            for col, w in zip(columns, widths)
        )
        delta = _mean_std([r["delta"] for r in runs], '+.2f')
        fit = np.mean([r["seconds"] for r in runs])
        epochs = np.mean([r["epochs"] for r in runs])
        epochs = "-" if np.isnan(epochs) else f"{epochs:.0f}"
        print(f"{method:<17}{cells} {delta:>15} {fit:>7.1f} {epochs:>6}")
    if "static (grid)" in results:
        chosen = [r["note"] for r in results["static (grid)"]]
        print(
            f"  static (grid): chosen task_weights__{ds.second_task} per seed {chosen} "
            f"(grid {ds.grid})"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(LOADERS), default=list(LOADERS))
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="model seeds (default 0 1 2; 0 with --quick)")
    parser.add_argument("--data-home", default=None,
                        help="folder with the data files (default: sk_mtl's data home)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads of the main process (default 1)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS,
                        help="methods to run (single-task always runs: it is the reference)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 seed, max_epochs=3, a few hundred rows")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
    cfg = dict(NET, max_epochs=3) if args.quick else dict(NET)
    warnings.filterwarnings("ignore", category=UserWarning, module="skorch")
    torch.set_num_threads(args.threads)

    t_start = time.perf_counter()
    print(
        f"sk_mtl task-balancing quality benchmark; torch threads {torch.get_num_threads()}, "
        f"net {cfg}" + ("  [--quick: figures mean nothing]" if args.quick else "")
    )
    for ds_name in args.datasets:
        t0 = time.perf_counter()
        ds = LOADERS[ds_name](args.data_home, args.quick)
        print(f"\n[{ds_name}] features built in {time.perf_counter() - t0:.1f} s", flush=True)
        results: dict[str, list[dict]] = {}
        for seed in seeds:
            reference = None
            for method in [m for m in METHODS if m in args.methods or m == "single-task"]:
                outputs, seconds, epochs, note = run_method(method, ds, seed, cfg)
                scores = score(ds, outputs)
                if method == "single-task":
                    reference = scores
                results.setdefault(method, []).append(
                    {"scores": scores, "seconds": seconds, "epochs": epochs, "note": note,
                     "delta": delta_m(ds, scores, reference)}
                )
                print(f"  [{ds_name} seed {seed}] {method}: {seconds:.1f} s",
                      file=sys.stderr, flush=True)
        print_table(ds, results, seeds)
        print(f"  ({ds_name} total {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nTotal run time: {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
