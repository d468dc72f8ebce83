"""The default network against gradient boosting and random forests on the 20-table suite.

Per table of ``../shared/data/suite`` (``sk_mtl.datasets.load_suite_table``): K-fold CV
(``KFold(n_splits, shuffle=True, random_state=seed)``) of

- the network candidates named by ``--models`` (``defaults``: ``MultiTaskNet(tasks=...)``
  behind the preprocessing a user needs for it, see below; ``today``: the defaults before the
  suite, ``sk_mtl.PRE_SUITE_DEFAULTS``, behind impute + ``StandardScaler`` + one-hot, the
  starting row; ``fusion``: ``FusionNet(tasks=...)`` on the raw table, only where it has
  categorical columns; ``legacy``: ``sk_mtl.LEGACY_DEFAULTS`` behind the same preprocessing
  as ``today``), every task in one network;
- one ``HistGradientBoosting*`` per task on the raw table (categories as pandas categories,
  NaN native), one ``RandomForest*`` (scikit-learn's defaults) per task behind median
  imputation with missing indicators and one-hot, and the trivial model per task (the
  training mean, the majority class, a constant score for binary tasks: AUC 0.5); rows with
  a missing label are left out of that task's fit.

``defaults`` and ``legacy`` see the numeric columns median-imputed with missing indicators
(``MultiTaskNet`` refuses NaN) and the categorical ones one-hot encoded, and no scaler: the
network scales its own numeric input.

Each task is scored on its pooled out-of-fold predictions over the rows that have its label:
R^2 for regression, ROC AUC for binary, accuracy for multiclass (pooling keeps AUC defined
for rare labels). The summary gives, for each network, the share of (table, task) pairs where
it is at least as good as HGB and as the better of HGB and RF, both over all pairs and with
each table weighted equally (a table with 19 labels does not outvote one with 2), the mean
score difference to HGB (table-weighted), the mean rank among the network, HGB and RF, the
tasks where the network is at or below the trivial model while a tree is above it, and the
median fit time per fold.

Tree results depend on nothing of sk_mtl: they are kept in ``--cache`` (a JSON file per
table, fold plan and model) and reused; ``--no-cache`` recomputes them. Usage::

    python benchmarks/bench_suite.py [--tables enb slump ...] [--models defaults today]
        [--folds 3] [--seed 0 | --seeds 0 1 ...] [--quick] [--data-home DIR]
        [--cache DIR] [--json OUT] [--params JSON] [--rows N]

``--seeds S ...`` runs the whole thing once per seed (each as ``--seed``: the fold plan
and every model's ``random_state``) and then summarises across the plans: each summary
figure's mean and range, and for every task a network has at or below the trivial model
in some plan, in how many plans the network and each tree are at or below it and their mean
scores (``--json`` then keys the results by seed). On a table as small and noisy as
``foodtruck`` one fold plan can put a weak label below chance for any model.

``--rows N`` cuts each table to N random rows (seeded by ``--seed``; classification tasks
left with one class are dropped): the defaults checked on small tables they were not
chosen on.

``--quick`` runs three small tables with ``max_epochs=5`` and 10-tree forests: a smoke test
of seconds whose figures mean nothing (CI runs it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

import sk_mtl
from sk_mtl import FusionNet, MultiTaskNet
from sk_mtl.data import RobustSmoothClip
from sk_mtl.datasets import load_suite_table, suite_names

QUICK_TABLES = ("slump", "flags", "palmer_penguins")
TREES = ("HGB", "RF", "trivial")


# ----------------------------------------------------------------------------- models
def _preprocess(bunch, scale):
    """Median imputation with missing indicators (+ a scaler) and one-hot categories.

    ``scale``: False, True (``StandardScaler``) or a transformer."""
    numeric = [c for c in bunch.feature_names if c not in bunch.categorical_features]
    steps = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale is True:
        steps.append(StandardScaler())
    elif scale is not False:
        steps.append(scale)
    parts = [("num", make_pipeline(*steps), numeric)]
    if bunch.categorical_features:
        parts.append((
            "cat",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            bunch.categorical_features,
        ))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def _with_object_categories(X, bunch):
    """The categorical columns as plain strings (NaN kept), as a user's raw table has them."""
    X = X.copy()
    for c in bunch.categorical_features:
        X[c] = X[c].astype(object)
    return X


#: Network candidates tried while choosing the defaults (``--models``): the scaler in front
#: of the network (False: none) and the parameters that differ from the defaults.
CANDIDATES = {
    "std": (True, {}),
    "qt": (QuantileTransformer(output_distribution="normal", random_state=0), {}),
    # Both views of each column: its quantiles and its standardized value.
    "qs": (FeatureUnion([
        ("q", QuantileTransformer(output_distribution="normal", random_state=0)),
        ("s", StandardScaler()),
    ]), {"input_scaling": None}),
    "qr": (FeatureUnion([
        ("q", QuantileTransformer(output_distribution="normal", random_state=0)),
        ("r", RobustSmoothClip()),
    ]), {"input_scaling": None}),
}
#: Parameters given to every candidate network (``--params``).
EXTRA_PARAMS: dict = {}


def make_network(model: str, bunch, quick: bool, seed: int):
    """The estimator of the network candidate ``model`` for one table, and whether it reads
    the raw table (``FusionNet``) rather than the preprocessed one."""
    extra = {"max_epochs": 5} if quick else {}
    if model in CANDIDATES:
        scale, params = CANDIDATES[model]
        net = MultiTaskNet(tasks=bunch.tasks, random_state=seed,
                           **{**params, **EXTRA_PARAMS, **extra})
        return make_pipeline(_preprocess(bunch, scale=clone(scale) if scale not in (
            True, False) else scale), net), False
    if model == "defaults":
        net = MultiTaskNet(tasks=bunch.tasks, random_state=seed, **{**EXTRA_PARAMS, **extra})
        return make_pipeline(_preprocess(bunch, scale=False), net), False
    if model == "today":
        net = MultiTaskNet(tasks=bunch.tasks, random_state=seed,
                           **{**sk_mtl.PRE_SUITE_DEFAULTS, **extra})
        return make_pipeline(_preprocess(bunch, scale=True), net), False
    if model == "legacy":
        net = MultiTaskNet(tasks=bunch.tasks, random_state=seed,
                           **{**sk_mtl.LEGACY_DEFAULTS, **extra})
        return make_pipeline(_preprocess(bunch, scale=True), net), False
    if model == "fusion":
        return FusionNet(tasks=bunch.tasks, random_state=seed, **extra), True
    raise ValueError(f"unknown model {model!r}")


def _tree(model: str, kind: str, bunch, quick: bool, seed: int):
    if model == "HGB":
        est = (HistGradientBoostingRegressor if kind == "regression"
               else HistGradientBoostingClassifier)(
            categorical_features="from_dtype", random_state=seed)
        return est, True
    if model == "RF":
        n = 10 if quick else 100
        est = (RandomForestRegressor if kind == "regression" else RandomForestClassifier)(
            n_estimators=n, random_state=seed, n_jobs=2)
        return make_pipeline(_preprocess(bunch, scale=False), est), False
    raise ValueError(model)


# ----------------------------------------------------------------------------- scoring
def _score(kind: str, y_true: np.ndarray, pred: np.ndarray) -> float:
    if kind == "regression":
        return float(r2_score(y_true.astype(float), pred.astype(float)))
    if kind == "binary":
        return float(roc_auc_score(y_true, pred))
    return float(accuracy_score(y_true.astype(str), pred.astype(str)))


class _OOF:
    """Out-of-fold predictions of one model per task: positive-class probability for binary
    tasks (against the table's sorted classes), the label otherwise."""

    def __init__(self, bunch):
        self.bunch = bunch
        n = len(bunch.target)
        self.pred = {t: np.full(n, np.nan, dtype=object) for t in bunch.tasks}
        self.times: list[float] = []

    def scores(self) -> dict[str, float]:
        out = {}
        for task, kind in self.bunch.tasks.items():
            y = self.bunch.target[task]
            labelled = y.notna().to_numpy()
            yt = y.to_numpy()[labelled]
            pred = self.pred[task][labelled]
            if kind == "binary":
                positive = np.sort(pd.unique(yt))[-1]
                out[task] = _score(kind, (yt == positive).astype(int), pred.astype(float))
            else:
                out[task] = _score(kind, yt, pred)
        return out


def _positive_column(classes, proba, table_classes):
    classes = list(classes)
    positive = table_classes[-1]
    if positive in classes:
        return proba[:, classes.index(positive)]
    return np.zeros(len(proba))  # the fold never saw the positive class


def run_network(model, bunch, folds, quick, seed, verbose=False):
    oof = _OOF(bunch)
    X = _with_object_categories(bunch.data, bunch)
    y = bunch.target
    for k, (tr, te) in enumerate(folds):
        est, _ = make_network(model, bunch, quick, seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X.iloc[tr], y.iloc[tr])
            oof.times.append(time.perf_counter() - t0)
            labels = np.asarray(est.predict(X.iloc[te]), dtype=object)
            if labels.ndim == 1:
                labels = labels[:, None]
            proba = est.predict_proba(X.iloc[te]) if any(
                kind != "regression" for kind in bunch.tasks.values()) else None
        classes = est.classes_ if hasattr(est, "classes_") else est[-1].classes_
        if len(bunch.tasks) == 1:
            proba, classes = [proba], [classes]
        for j, (task, kind) in enumerate(bunch.tasks.items()):
            if kind == "binary":
                table_classes = np.sort(pd.unique(y[task].dropna()))
                oof.pred[task][te] = _positive_column(classes[j], proba[j], table_classes)
            else:
                oof.pred[task][te] = labels[:, j]
        if verbose:
            print(f"    fold {k}: {oof.times[-1]:.1f} s", flush=True)
    return oof


def run_trees(model, bunch, folds, quick, seed):
    oof = _OOF(bunch)
    X_raw = bunch.data
    X_obj = _with_object_categories(bunch.data, bunch)
    y = bunch.target
    for tr, te in folds:
        elapsed = 0.0
        for task, kind in bunch.tasks.items():
            yt = y[task].iloc[tr]
            keep = yt.notna().to_numpy()
            yk = yt[keep]
            t0 = time.perf_counter()
            if model == "trivial" or (yk.nunique() < 2 and kind != "regression"):
                if kind == "regression":
                    pred = np.full(len(te), float(yk.astype(float).mean()))
                elif kind == "binary":
                    # A constant score: AUC 0.5 however the folds are pooled (fold-wise
                    # priors would rank the folds against each other).
                    pred = np.full(len(te), 0.5)
                else:
                    pred = np.full(len(te), yk.mode().iloc[0], dtype=object)
            else:
                est, raw = _tree(model, kind, bunch, quick, seed)
                X = X_raw if raw else X_obj
                yk_fit = yk.astype(float) if kind == "regression" else yk.astype(str)
                est.fit(X.iloc[tr][keep], yk_fit)
                if kind == "binary":
                    positive = str(np.sort(pd.unique(y[task].dropna()))[-1])
                    pred = _positive_column(est.classes_, est.predict_proba(X.iloc[te]),
                                            [positive])
                else:
                    pred = est.predict(X.iloc[te])
            elapsed += time.perf_counter() - t0
            if kind == "multiclass":
                pred = np.asarray(pred).astype(str)
            oof.pred[task][te] = pred
        oof.times.append(elapsed)
    if any(k == "multiclass" for k in bunch.tasks.values()):
        # trees were fitted on string labels: compare strings
        for task, kind in bunch.tasks.items():
            if kind == "multiclass":
                oof.pred[task] = oof.pred[task].astype(str).astype(object)
    return oof


def _cache_key(name, model, n_folds, seed, quick, rows=None):
    return (f"{name}-{model}-k{n_folds}-s{seed}{'-quick' if quick else ''}"
            f"{f'-n{rows}' if rows else ''}")


def subsample(bunch, n_rows: int, seed: int, n_folds: int):
    """``bunch`` cut to ``n_rows`` random rows (seeded), and its folds, without the
    classification tasks left with one class in a fold's training rows (a network cannot
    be fitted on them); unchanged when it is smaller."""
    if len(bunch.data) <= n_rows:
        return bunch, list(KFold(n_folds, shuffle=True, random_state=seed).split(bunch.data))
    rows = np.random.RandomState(seed).permutation(len(bunch.data))[:n_rows]
    data = bunch.data.iloc[rows].reset_index(drop=True)
    target = bunch.target.iloc[rows].reset_index(drop=True)
    folds = list(KFold(n_folds, shuffle=True, random_state=seed).split(data))
    tasks = {t: k for t, k in bunch.tasks.items() if k == "regression" or all(
        target[t].iloc[tr].dropna().nunique() >= 2 for tr, _ in folds)}
    dropped = [t for t in bunch.tasks if t not in tasks]
    if dropped:
        print(f"  {len(dropped)} task(s) with one class in a fold's training rows left out: "
              f"{dropped}", flush=True)
    extra = {"target_names": list(tasks)} if "target_names" in bunch else {}
    return type(bunch)(**{**bunch, "data": data, "target": target[list(tasks)],
                          "tasks": tasks, **extra}), folds


def tree_result(model, name, bunch, folds, args):
    key = _cache_key(name, model, args.folds, args.seed, args.quick, args.rows)
    path = Path(args.cache) / f"{key}.json" if args.cache and model != "trivial" else None
    if path is not None and path.is_file() and not args.no_cache:
        stored = json.loads(path.read_text())
        if stored.get("targets") == _targets_digest(bunch):
            return stored["scores"], stored["times"]
    oof = run_trees(model, bunch, folds, args.quick, args.seed)
    scores, times = oof.scores(), oof.times
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"scores": scores, "times": times,
                                    "targets": _targets_digest(bunch)}))
    return scores, times


def _targets_digest(bunch) -> str:
    h = hashlib.sha256(pd.util.hash_pandas_object(bunch.target, index=False).to_numpy())
    h.update(pd.util.hash_pandas_object(bunch.data, index=False).to_numpy())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- summary
def summarise(results: dict, networks: list[str]) -> list[dict]:
    """One summary row per network model over ``results[table][model] = (scores, times)``."""
    rows = []
    for model in networks:
        per_table = []
        for name, res in results.items():
            if model not in res:
                continue
            net, hgb, rf, triv = (res[m][0] for m in (model, "HGB", "RF", "trivial"))
            tasks = list(net)
            vs_hgb = [net[t] >= hgb[t] for t in tasks]
            vs_best = [net[t] >= max(hgb[t], rf[t]) for t in tasks]
            diff = [net[t] - hgb[t] for t in tasks]
            ranks = []
            for t in tasks:
                trio = [net[t], hgb[t], rf[t]]
                ranks.append(1 + sum(v > net[t] for v in trio))
            below = [t for t in tasks
                     if net[t] <= triv[t] + 1e-9 and max(hgb[t], rf[t]) > triv[t] + 1e-9]
            per_table.append(dict(name=name, n=len(tasks), vs_hgb=vs_hgb, vs_best=vs_best,
                                  diff=diff, ranks=ranks, below=below,
                                  time=statistics.median(res[model][1])))
        if not per_table:
            continue
        pairs = sum(p["n"] for p in per_table)
        rows.append(dict(
            model=model,
            tables=len(per_table),
            tasks=pairs,
            hgb_pairs=sum(sum(p["vs_hgb"]) for p in per_table) / pairs,
            hgb_tables=float(np.mean([np.mean(p["vs_hgb"]) for p in per_table])),
            best_pairs=sum(sum(p["vs_best"]) for p in per_table) / pairs,
            best_tables=float(np.mean([np.mean(p["vs_best"]) for p in per_table])),
            diff=float(np.mean([np.mean(p["diff"]) for p in per_table])),
            rank=float(np.mean([np.mean(p["ranks"]) for p in per_table])),
            below=[f"{p['name']}:{t}" for p in per_table for t in p["below"]],
            max_time=max(p["time"] for p in per_table),
            total_time=sum(p["time"] for p in per_table),
        ))
    return rows


def print_table(name, bunch, res, models):
    print(f"\n== {name}: {len(bunch.target)} rows, {bunch.data.shape[1]} features "
          f"({len(bunch.categorical_features)} categorical), {len(bunch.tasks)} tasks")
    head = f"{'task':28s} {'kind':10s}" + "".join(f"{m:>10s}" for m in models)
    print(head)
    print("-" * len(head))
    for task, kind in bunch.tasks.items():
        cells = "".join(f"{res[m][0][task]:10.4f}" for m in models)
        print(f"{task[:28]:28s} {kind[:10]:10s}{cells}")
    times = "".join(f"{statistics.median(res[m][1]):10.1f}" for m in models)
    print(f"{'fit s per fold (median)':39s}{times}", flush=True)


def print_summary(rows):
    print("\nSummary (score >= HGB / >= the better of HGB and RF: over all (table, task) pairs"
          " and with each table weighted equally; diff: mean score - HGB's, table-weighted;"
          " rank among net, HGB, RF)")
    head = (f"{'model':10s} {'tables':>6s} {'tasks':>5s} {'>=HGB':>6s} {'tbl':>6s} "
            f"{'>=best':>6s} {'tbl':>6s} {'diff':>8s} {'rank':>5s} {'max s':>7s} "
            f"{'sum s':>7s}  at/below trivial")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:10s} {r['tables']:6d} {r['tasks']:5d} {r['hgb_pairs']:6.0%} "
              f"{r['hgb_tables']:6.0%} {r['best_pairs']:6.0%} {r['best_tables']:6.0%} "
              f"{r['diff']:+8.4f} {r['rank']:5.2f} {r['max_time']:7.1f} {r['total_time']:7.1f}"
              f"  {', '.join(r['below']) or '-'}")


def across_plans(plans: dict, networks: list[str]) -> tuple[list[dict], list[dict]]:
    """The summary over several fold plans: ``plans[seed] = results`` as ``main`` gives
    them for one seed.

    Returns one row per network (each summary figure's mean, minimum and maximum over the
    plans) and one row per (table, task) where a network is at or below the trivial model
    while a tree is above it in some plan: for the networks and both trees, in how many
    plans each is at or below the trivial model and its mean score over the plans (so a
    task that one fold plan puts below chance can be told from one a model never learns).
    """
    per_plan = {seed: {r["model"]: r for r in summarise(res, networks)}
                for seed, res in plans.items()}
    rows = []
    for model in networks:
        got = [p[model] for p in per_plan.values() if model in p]
        if not got:
            continue
        row = {"model": model, "plans": len(got)}
        for key in ("hgb_pairs", "hgb_tables", "best_pairs", "best_tables", "diff", "rank"):
            values = [g[key] for g in got]
            row[key] = (float(np.mean(values)), float(min(values)), float(max(values)))
        rows.append(row)
    flagged = sorted({b for p in per_plan.values() for r in p.values() for b in r["below"]})
    tasks = []
    for pair in flagged:
        name, task = pair.split(":", 1)
        row = {"task": pair}
        for model in [*networks, "HGB", "RF"]:
            scores = [(res[name][model][0][task], res[name]["trivial"][0][task])
                      for res in plans.values()
                      if task in res.get(name, {}).get(model, ({},))[0]]
            if scores:
                row[model] = (sum(s <= t + 1e-9 for s, t in scores), len(scores),
                              float(np.mean([s for s, _ in scores])))
        tasks.append(row)
    return rows, tasks


def print_across_plans(rows, tasks, seeds):
    print(f"\nAcross {len(seeds)} fold plans (seeds {', '.join(map(str, seeds))}): mean "
          "(min-max) of each plan's summary, tables weighted equally")
    head = (f"{'model':10s} {'plans':>5s} {'>=HGB':>16s} {'>=best':>16s} {'diff':>24s} "
            f"{'rank':>16s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        pct = [f"{m:.0%} ({lo:.0%}-{hi:.0%})" for m, lo, hi in
               (r["hgb_tables"], r["best_tables"])]
        m, lo, hi = r["diff"]
        rm, rlo, rhi = r["rank"]
        print(f"{r['model']:10s} {r['plans']:5d} {pct[0]:>16s} {pct[1]:>16s} "
              f"{f'{m:+.4f} ({lo:+.4f}-{hi:+.4f})':>24s} {f'{rm:.2f} ({rlo:.2f}-{rhi:.2f})':>16s}")
    if not tasks:
        return
    print("\nTasks a network has at or below the trivial model (a tree above it) in some "
          "plan: plans at or below the trivial model / plans, mean score")
    for t in tasks:
        cells = "  ".join(f"{m} {t[m][0]}/{t[m][1]} {t[m][2]:.4f}" for m in t
                          if m != "task")
        print(f"{t['task']:36s} {cells}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", help="table names (default: all, or the three "
                        "quick ones with --quick)")
    parser.add_argument("--models", nargs="+", default=["defaults", "today"],
                        help="network models: defaults today legacy fusion")
    parser.add_argument("--folds", type=int, default=3)
    plan = parser.add_mutually_exclusive_group()
    plan.add_argument("--seed", type=int, default=0)
    plan.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="run every fold plan of these seeds (each as --seed) and "
                        "summarise across them")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "sk_mtl" / "bench_suite"),
                        help="folder for the tree/trivial results ('' for none)")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--json", default=None, help="write every score and time here")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--params", default="{}",
                        help="JSON dict of parameters for every candidate network")
    parser.add_argument("--rows", type=int, default=None,
                        help="cut each table to this many random rows (seeded by --seed): "
                        "the defaults on small tables they were not chosen on")
    args = parser.parse_args(argv)
    EXTRA_PARAMS.update(json.loads(args.params))

    names = args.tables or (list(QUICK_TABLES) if args.quick
                            else suite_names(data_home=args.data_home))
    if not args.seeds:
        results, rows = run_plan(args, names)
        if args.json:
            Path(args.json).write_text(json.dumps(_as_json(results), indent=1))
        return results, rows
    plans = {}
    for seed in args.seeds:
        plans[seed], _ = run_plan(argparse.Namespace(**{**vars(args), "seed": seed}), names)
    rows, tasks = across_plans(plans, args.models)
    print_across_plans(rows, tasks, args.seeds)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {str(seed): _as_json(res) for seed, res in plans.items()}, indent=1))
    return plans, (rows, tasks)


def _as_json(results):
    return {n: {m: {"scores": s, "times": t} for m, (s, t) in r.items()}
            for n, r in results.items()}


def run_plan(args, names):
    """Every table of ``names`` under the fold plan of ``args.seed``: the per-table rows and
    the summary printed; ``results[table][model] = (scores, times)`` and the summary rows
    returned."""
    print(f"suite: {len(names)} tables, {args.folds}-fold CV (seed {args.seed}), networks "
          f"{args.models}" + ("  [--quick: figures mean nothing]" if args.quick else ""),
          flush=True)
    results = {}
    for name in names:
        bunch = load_suite_table(name, data_home=args.data_home)
        if args.rows:
            bunch, folds = subsample(bunch, args.rows, args.seed, args.folds)
        else:
            folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(
                bunch.data))
        res = {}
        for model in TREES:
            res[model] = tree_result(model, name, bunch, folds, args)
        shown = []
        for model in args.models:
            if model == "fusion" and not bunch.categorical_features:
                continue
            oof = run_network(model, bunch, folds, args.quick, args.seed, args.verbose)
            res[model] = (oof.scores(), oof.times)
            shown.append(model)
        results[name] = res
        print_table(name, bunch, res, shown + list(TREES))
    rows = summarise(results, args.models)
    print_summary(rows)
    return results, rows


if __name__ == "__main__":
    main()
