"""Task-weight search: GridSearchCV (one fit per vector and fold) against TaskWeightSearchCV
(one weight-conditioned fit per fold), on wine-hard and the clothing reviews; and the same for
fusion weights against FusionWeightSearchCV on the clothing reviews.

- ``wine-hard``: UCI wine, tasks ``quality`` and ``alcohol`` (both regression, R^2), alcohol
  dropped from X; ``make_pipeline(StandardScaler(), MultiTaskNet(...))`` with the defaults.
- ``clothing``: the women's clothing reviews (rows with review text; a random subsample of
  ``--clothing-rows``), ``Rating`` (5 classes, accuracy) and ``Recommended IND`` (binary,
  ROC AUC) from title + review text, age and feedback count, division/department/class, with
  ``FusionNetClassifier`` defaults.

- ``synthetic``: two unrelated regression targets (``sin(2 x0) + x1^2`` and
  ``cos(2 x2) x3``, 3,000 rows of 6 standard normal columns) for a network too small for both
  (``hidden_dims=(4,)``, ``--synthetic-width``; no retrieval, 100 epochs without early
  stopping): here the tasks compete for capacity and the weights must trade one for the
  other.

Grid: the first task's weight in 1/16 ... 16 (9 log-spaced ratios, the other task at 1), plus
the ``inverse_count`` rule; ``KFold(3, shuffle=True, random_state=seed)`` for seeds 0, 1, 2.
(a) ``GridSearchCV(net, {"task_weights": vectors}, cv, scoring)`` with the usual static
weighting; (b) ``TaskWeightSearchCV(net with weighting="conditioned", vectors, cv, scoring)``.
Per vector: each task's mean CV score under (a) and (b) (mean ± std over seeds), the gap
(b) - (a) in (a)'s standard deviations; per search: wall time, and the hypervolume of each
front above a common reference point (the lowest mean score of each task over both
searches and all seeds).

``clothing-fusion``: the ``clothing`` case's data and scorers, searching ``fusion_weights``:
the text's weight 0 (text off), 1/4, 1/2, 1, 2, 4 with ``num`` and ``cat`` at 1;
(a) ``GridSearchCV(net, {"fusion_weights": vectors})``, a fit per vector and fold, against
(b) ``FusionWeightSearchCV(net with fusion_conditioning="log_uniform", vectors)``, one fit
per fold.

``--variants`` compares conditioned networks on the same grid search: each is a JSON object
of ``WeightConditioning`` parameters (``'{"conditioning": "film"}'``); by default the one
variant is ``weighting="conditioned"`` as it ships. ``--ratios`` sets how many log-spaced
ratios span 1/16 ... 16. Usage::

    python benchmarks/bench_weight_search.py [--data wine clothing synthetic digits
        clothing-fusion] [--seeds 0 1 2] [--ratios 9] [--variants JSON ...]
        [--clothing-rows 6000] [--synthetic-width 4] [--quick] [--plot PREFIX]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.helper import SliceDict

from sk_mtl import FusionNetClassifier, MultiTaskNet
from sk_mtl.datasets import load_wine_quality, load_womens_clothing_reviews
from sk_mtl.metrics import task_scorers
from sk_mtl.model_selection import (
    FusionWeightSearchCV,
    TaskWeightSearchCV,
    _hypervolume,
    pareto_mask,
)
from sk_mtl.weighting import WeightConditioning

#: The per-vector searches run so far, by (case, seed, grid): shared by the variants.
_GRIDS: dict = {}
#: Hidden units of the synthetic case's network (``--synthetic-width``).
SYNTHETIC_WIDTH = [4]


def wine(data_home, quick, rows):
    X, y = load_wine_quality(data_home=data_home, return_X_y=True)
    y = y.assign(alcohol=X["alcohol"])[["quality", "alcohol"]]
    X = X.drop(columns=["alcohol"])
    if quick:
        X, y = X.iloc[:600], y.iloc[:600]
    tasks = {"quality": "regression", "alcohol": "regression"}
    # --quick (CI): 3 epochs, one dropout rate (not "auto"'s two fits).
    extra = {"max_epochs": 3, "dropout": 0.1} if quick else {}

    def make(**params):
        return make_pipeline(StandardScaler(), MultiTaskNet(tasks=tasks, **extra, **params))

    return X, y, make, task_scorers({"quality": "r2", "alcohol": "r2"}), "multitasknet__"


def clothing(data_home, quick, rows):
    X, y = load_womens_clothing_reviews(data_home=data_home, return_X_y=True)
    keep = X["Review Text"].notna()
    X, y = X[keep], y[keep][["Rating", "Recommended IND"]]
    n = 600 if quick else rows
    idx = np.random.RandomState(0).choice(len(X), min(n, len(X)), replace=False)
    X, y = X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)
    X = SliceDict(**{
        "text": (X["Title"].fillna("") + ". " + X["Review Text"]).to_numpy(dtype=object),
        "num": X[["Age", "Positive Feedback Count"]].to_numpy(dtype=float),
        "cat": X[["Division Name", "Department Name", "Class Name"]].fillna("?")
        .to_numpy(dtype=object),
    })
    extra = {"max_epochs": 2} if quick else {}

    def make(**params):
        return FusionNetClassifier(**extra, **params)

    scorers = task_scorers({"Rating": "accuracy", "Recommended IND": "roc_auc"})
    return X, y, make, scorers, ""


def synthetic(data_home, quick, rows):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600 if quick else 3000, 6))
    y = pd.DataFrame({"a": np.sin(2 * X[:, 0]) + X[:, 1] ** 2,
                      "b": np.cos(2 * X[:, 2]) * X[:, 3]})
    params = dict(hidden_dims=(SYNTHETIC_WIDTH[0],), retrieval=None, early_stopping=False,
                  max_epochs=3 if quick else 100)

    def make(**extra):
        return MultiTaskNet(**params, **extra)

    return X, y, make, task_scorers({"a": "r2", "b": "r2"}), ""


def overlay_digits(n_rows=3000, shift=2, seed=0):
    """Multi-MNIST at 8x8: two of scikit-learn's digits on a ``(8 + shift)``-square canvas,
    the left one at the top left, the right one ``shift`` pixels down and right, overlapping
    pixels taking the larger value. Returns ``X`` (``n_rows`` x ``(8 + shift)^2``, 0..16) and
    the two labels. Each image is drawn from the digits set at random (seeded), so an image
    can sit in several pairs."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.RandomState(seed)
    left, right = rng.randint(len(digits.target), size=(2, n_rows))
    size = 8 + shift
    canvas = np.zeros((n_rows, size, size))
    canvas[:, :8, :8] = digits.images[left]
    canvas[:, shift:, shift:] = np.maximum(canvas[:, shift:, shift:], digits.images[right])
    y = pd.DataFrame({"left": digits.target[left], "right": digits.target[right]})
    return canvas.reshape(n_rows, -1), y


def digits(data_home, quick, rows):
    X, y = overlay_digits(600 if quick else 3000)
    tasks = {"left": "multiclass", "right": "multiclass"}
    params = dict(tasks=tasks, max_epochs=3, dropout=0.1) if quick else dict(tasks=tasks)

    def make(**extra):
        return make_pipeline(StandardScaler(), MultiTaskNet(**params, **extra))

    return X, y, make, task_scorers({"left": "accuracy", "right": "accuracy"}), "multitasknet__"


#: What a case searches: the parameter, the conditioned estimator's own parameters, the
#: one-fit-per-fold search and its options.
TASK_SEARCH = ("task_weights", {"weighting": "conditioned"}, TaskWeightSearchCV, {"rules": ()})
FUSION_SEARCH = ("fusion_weights", {"fusion_conditioning": "log_uniform"},
                 FusionWeightSearchCV, {})
#: ``clothing-fusion``: the text's fusion weight (num and cat at 1); 0 turns the text off.
TEXT_WEIGHTS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


def _variants(args, search):
    """The conditioned estimators' parameters: one entry per ``--variants`` item."""
    param, conditioned, _, _ = search
    if param != "task_weights" or not args.variants:
        return {"conditioned": conditioned}
    out = {}
    for text in args.variants:
        options = json.loads(text)
        label = ",".join(f"{k}={v}" for k, v in options.items()) or "conditioned"
        out[label] = {"weighting": WeightConditioning(**options)}
    return out


def run(name, loader, args, search=TASK_SEARCH):
    X, y, make, scorers, prefix = loader(args.data_home, args.quick, args.clothing_rows)
    param, _, search_cls, options = search
    if param == "task_weights":
        tasks = list(y.columns)
        ratios = np.geomspace(1 / 16, 16, args.ratios)
        vectors = [{tasks[0]: float(r), tasks[1]: 1.0} for r in ratios] + ["inverse_count"]
    else:
        vectors = [{"text": w, "num": 1.0, "cat": 1.0} for w in TEXT_WEIGHTS]
    names = list(scorers)
    variants = _variants(args, search)
    results = {}
    for label, conditioned in variants.items():
        if len(variants) > 1:
            print(f"\n=== {name}: (b) = {label}", flush=True)
        results[label] = _run_one(name, X, y, make, scorers, prefix, param, conditioned,
                                  search_cls, options, vectors, names, args)
    _summary(name, results, vectors, names)
    return {label: r[:4] for label, r in results.items()}


def _summary(name, results, vectors, names):
    """One line per conditioned variant, on the mean scores over seeds: the hypervolume of
    its front above the grid's lowest mean score of each scorer (a fixed point, whatever
    the variants score), against the grid's; how many (vector, scorer) cells are within 2 of
    the grid's standard deviations (over seeds) or better; each scorer's spread over the
    weight vectors against the grid's ("opp": it moves the other way between the first and
    the last vector); the cost against three one-fits."""
    a = next(iter(results.values()))[0]
    numeric = [i for i, v in enumerate(vectors) if not isinstance(v, str)]
    a_mean = a.mean(0)
    ref = a_mean[numeric].min(axis=0) - 1e-9
    hv_a = _hypervolume(a_mean[numeric][pareto_mask(a_mean[numeric])], ref)
    print(f"\n{name}: summary on the mean scores, hypervolume above the grid's lowest "
          f"{np.round(ref, 4).tolist()}; grid (a) {hv_a:.5f}")
    header = (f"{'(b) variant':<48}{'HV (b)':>9}{'(b)/(a)':>9}{'within 2 sd':>13}"
              + "".join(f"{'spread ' + s:>22}" for s in names) + f"{'cost':>7}")
    print(header)
    print("-" * len(header))
    for label, (_, b, _, _, cost) in results.items():
        b_mean = b.mean(0)[numeric]
        hv_b = _hypervolume(b_mean[pareto_mask(b_mean)], ref)
        sd = a.std(axis=0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1:])
        gap = b.mean(0) - a_mean
        ok = int(np.sum(gap >= -2 * sd))
        row = f"{label:<48}{hv_b:>9.5f}{hv_b / hv_a if hv_a > 0 else float('nan'):>9.2f}"
        row += f"{f'{ok}/{gap.size}':>13}"
        for j in range(len(names)):
            am, bm = a_mean[numeric, j], b_mean[:, j]
            same = np.sign(am[-1] - am[0]) == np.sign(bm[-1] - bm[0])
            text = f"{np.ptp(bm):.3f}/{np.ptp(am):.3f}" + ("" if same else " (opp)")
            row += f"{text:>22}"
        print(row + f"{cost:>6.2f}x")


def _run_one(name, X, y, make, scorers, prefix, param, conditioned, search_cls, options,
             vectors, names, args):
    a_scores, b_scores, a_time, b_time, fit_time = [], [], [], [], []
    for seed in args.seeds:
        cv = KFold(3, shuffle=True, random_state=seed)
        key = (name, seed, json.dumps(vectors))
        if key not in _GRIDS:  # the per-vector search is the same for every variant
            start = time.perf_counter()
            grid = GridSearchCV(make(random_state=seed), {f"{prefix}{param}": vectors},
                                cv=cv, scoring=scorers, refit=False).fit(X, y)
            _GRIDS[key] = (
                time.perf_counter() - start,
                np.column_stack([grid.cv_results_[f"mean_test_{s}"] for s in names]),
                float(np.mean(grid.cv_results_["mean_fit_time"])),
            )
        grid_time, grid_scores, grid_fit = _GRIDS[key]
        a_time.append(grid_time)
        a_scores.append(grid_scores)
        fit_time.append(grid_fit)
        start = time.perf_counter()
        found = search_cls(make(random_state=seed, **conditioned), vectors, cv=cv,
                           scoring=scorers, refit=False, **options).fit(X, y)
        b_time.append(time.perf_counter() - start)
        b_scores.append(found._scores_matrix())
        print(f"  [{name}] seed {seed}: GridSearchCV {a_time[-1]:.0f} s, "
              f"{search_cls.__name__} {b_time[-1]:.0f} s", flush=True)
    a, b = np.array(a_scores), np.array(b_scores)  # (seeds, vectors, scorers)
    ref = np.minimum(a.min(axis=(0, 1)), b.min(axis=(0, 1))) - 1e-9
    keys = ":".join(vectors[0]) if param == "fusion_weights" else "vector"
    print(f"\n{name}: {len(y)} rows, 3 folds, seeds {args.seeds}; mean CV score per vector "
          "(mean ± std over seeds); gap = (b - a) / std(a)")
    header = f"{keys:<26}" + "".join(
        f"{s + ' (a) grid':>24}{s + ' (b) cond':>24}{'gap':>7}" for s in names
    )
    print(header)
    print("-" * len(header))
    for i, v in enumerate(vectors):
        label = v if isinstance(v, str) else ":".join(f"{w:g}" for w in v.values())
        row = f"{label:<26}"
        for j in range(len(names)):
            am, asd = a[:, i, j].mean(), a[:, i, j].std(ddof=1) if len(a) > 1 else 0.0
            bm, bsd = b[:, i, j].mean(), b[:, i, j].std(ddof=1) if len(b) > 1 else 0.0
            gap = (bm - am) / asd if asd > 0 else float("nan")
            row += f"{am:>15.4f} ± {asd:.4f}{bm:>15.4f} ± {bsd:.4f}{gap:>7.1f}"
        print(row)
    hv_a = [_hypervolume(s[pareto_mask(s)], ref) for s in a]
    hv_b = [_hypervolume(s[pareto_mask(s)], ref) for s in b]
    one_fit = statistics.mean(fit_time)
    print(f"wall time: (a) GridSearchCV {statistics.mean(a_time):.1f} s, (b) "
          f"{search_cls.__name__} {statistics.mean(b_time):.1f} s, (a) / (b) = "
          f"{statistics.mean(a_time) / statistics.mean(b_time):.2f}; one (a) fit per fold "
          f"{one_fit:.1f} s x 3 folds = {3 * one_fit:.1f} s; (b) / (3 one-fits) = "
          f"{statistics.mean(b_time) / (3 * one_fit):.2f}")
    print(f"hypervolume above {np.round(ref, 4).tolist()}: "
          f"(a) {statistics.mean(hv_a):.5f}, (b) {statistics.mean(hv_b):.5f}")
    return a, b, vectors, names, statistics.mean(b_time) / (3 * one_fit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["wine", "clothing", "synthetic", "digits"],
                        choices=["wine", "clothing", "synthetic", "digits", "clothing-fusion"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ratios", type=int, default=9,
                        help="log-spaced ratios of the first task's weight, 1/16 ... 16")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="WeightConditioning parameters as JSON, one search each")
    parser.add_argument("--clothing-rows", type=int, default=6000)
    parser.add_argument("--synthetic-width", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--plot", default=None,
                        help="save each task-weight case's fronts to PREFIX_<case>.png")
    args = parser.parse_args(argv)
    SYNTHETIC_WIDTH[0] = args.synthetic_width
    loaders = {"wine": ("wine-hard", wine), "clothing": ("clothing", clothing),
               "synthetic": ("synthetic, capacity-limited", synthetic),
               "digits": ("overlaid digits", digits),
               "clothing-fusion": ("clothing, fusion weights", clothing)}
    for key in args.data:
        name, loader = loaders[key]
        search = FUSION_SEARCH if key == "clothing-fusion" else TASK_SEARCH
        results = run(name, loader, args, search)
        if args.plot and search is TASK_SEARCH:
            _plot(results, name, f"{args.plot}_{key}.png")


def _plot(results, title, path):
    """The fronts of one case: the per-vector grid and each conditioned variant, mean over
    seeds, each point labelled with the first task's weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    first = next(iter(results.values()))
    curves = [(first[0].mean(0), "(a) GridSearchCV, a fit per vector", "C1")]
    curves += [(b.mean(0), f"(b) one conditioned fit: {label}", f"C{k}")
               for k, (label, (_, b, _, _)) in zip((0, 2, 3, 4, 5, 6), results.items())]
    vectors, names = first[2], first[3]
    for scores, label, color in curves:
        ax.scatter(scores[:, 0], scores[:, 1], color=color, label=label, s=18)
        front = np.flatnonzero(pareto_mask(scores))
        front = front[np.argsort(scores[front, 0])]
        ax.plot(scores[front, 0], scores[front, 1], "-", color=color)
        for k, v in enumerate(vectors):
            text = v if isinstance(v, str) else f"{next(iter(v.values())):g}"
            ax.annotate(text, scores[k], fontsize=6, xytext=(3, 3), textcoords="offset points",
                        color=color)
    ax.set_xlabel(f"{names[0]} (mean CV)")
    ax.set_ylabel(f"{names[1]} (mean CV)")
    ax.set_title(f"{title}: task-weight search, mean over seeds", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
