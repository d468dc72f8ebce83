"""Does the modality alignment loss help? Clothing reviews, text + table, a modality missing.

The dict set-up of ``bench_fusion_clothing.py`` (``{"text": title + review, "table": one-hot
+ scaled}``), fixed holdout. Each network trains with ``modality_dropout=0.2`` (so it can
predict without a whole modality) and ``alignment_weight`` in ``--weights``; each is scored
on the holdout with both modalities, with the table absent (text only) and with the text
absent (table only). Rating accuracy and Recommended ROC AUC, mean ± std over ``--seeds``.

Usage::

    python benchmarks/bench_alignment.py [--seeds 0 1] [--weights 0 0.1 0.5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_fusion_clothing import as_dict, load
from sklearn.metrics import accuracy_score, roc_auc_score

from sk_mtl import FusionNetClassifier

TASKS = ["Rating", "Recommended IND"]


def scores(net, X, y):
    pred = net.predict(X)
    proba = net.predict_proba(X)
    return (accuracy_score(y["Rating"], pred[:, net.task_names_.index("Rating")]),
            roc_auc_score(y["Recommended IND"],
                          proba[net.task_names_.index("Recommended IND")][:, 1]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.1, 0.5])
    parser.add_argument("--quick", action="store_true", help="300/100 rows, 2 epochs (CI)")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load(args.data_home, args.quick)
    D_train, D_test = as_dict(X_train, X_test)
    views = {"both": D_test, "text only": {"text": D_test["text"]},
             "table only": {"table": D_test["table"]}}
    rows = []
    for weight in args.weights:
        results = {view: [] for view in views}
        fit_s = []
        for seed in args.seeds:
            net = FusionNetClassifier(modality_dropout=0.2, alignment_weight=weight,
                                      random_state=seed,
                                      **({"max_epochs": 2} if args.quick else {}))
            t0 = time.perf_counter()
            net.fit(D_train, y_train[TASKS])
            fit_s.append(time.perf_counter() - t0)
            for view, X in views.items():
                results[view].append(scores(net, X, y_test))
        rows.append((weight, results, statistics.median(fit_s)))
        print(f"  done: alignment_weight={weight:g}", flush=True)

    def cell(values):
        sd = f" ±{statistics.stdev(values):.4f}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.4f}{sd}"

    print(f"\nWomen's clothing reviews, {len(X_train)} training / {len(X_test)} holdout rows, "
          f"modality_dropout=0.2, seeds {args.seeds}{' [--quick]' if args.quick else ''}")
    header = f"{'alignment_weight':>16} {'predict with':<11} {'Rating acc':>16} {'AUC':>16}"
    print(header + f" {'fit s':>6}\n" + "-" * (len(header) + 7))
    for weight, results, fit_s in rows:
        for i, (view, values) in enumerate(results.items()):
            print(f"{weight:>16g} {view:<11} {cell([v[0] for v in values]):>16} "
                  f"{cell([v[1] for v in values]):>16}" + (f" {fit_s:>6.1f}" if not i else ""))
    print(f"(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
