"""Model file sizes: ``sk_mtl.save`` against ``pickle.dumps`` and ``joblib.dump``.

Two fitted models:

- ``wine``: ``MultiTaskNet(tasks={"quality": "regression", "color": "binary"},
  random_state=0)`` with the default parameters, on the whole UCI wine table (6,497 rows;
  the retrieval features keep the training rows in the model);
- ``clothing``: ``FusionNetClassifier(modalities=..., max_epochs=3, random_state=0)`` on the
  first 3,000 training rows of the Women's clothing reviews (the holdout split of
  ``bench_fusion_clothing.py``), predicting ``Rating`` and ``Recommended IND`` from the title
  and review text (TF-IDF vocabularies), the numbers and the categories.

For each: bytes of ``sk_mtl.save`` (with the optimizer state, the default, and with
``include_optimizer=False``), of ``pickle.dumps(estimator)`` and of ``joblib.dump`` (no
compression), each size over the ``sk_mtl.save`` one, and the seconds to save and load each
``sk_mtl`` file (median of ``--repeats``). Loaded models are checked to predict exactly as the
saved ones. Usage::

    python benchmarks/bench_persistence.py [--data-home DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import pickle
import statistics
import sys
import time
from pathlib import Path

import joblib
import numpy as np

from sk_mtl import FusionNetClassifier, MultiTaskNet, load, save
from sk_mtl.datasets import load_wine_quality

sys.path.insert(0, str(Path(__file__).parent))
from bench_fusion_clothing import MODALITIES
from bench_fusion_clothing import load as load_clothing


def wine(data_home):
    X, y = load_wine_quality(data_home=data_home, return_X_y=True)
    net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"}, random_state=0)
    return net.fit(X, y), X


def clothing(data_home):
    X_train, _, y_train, _ = load_clothing(data_home, quick=False)
    X, y = X_train.iloc[:3000], y_train.iloc[:3000]
    net = FusionNetClassifier(modalities=MODALITIES, max_epochs=3, random_state=0)
    return net.fit(X, y), X


def timed_median(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def measure(estimator, X, repeats):
    sizes, seconds = {}, {}
    for label, include in (("sk_mtl.save", True), ("sk_mtl.save (no optimizer)", False)):
        def dump(include=include):
            buffer = io.BytesIO()
            save(estimator, buffer, include_optimizer=include)
            return buffer.getvalue()

        data, save_s = timed_median(dump, repeats)
        loaded, load_s = timed_median(lambda data=data: load(io.BytesIO(data)), repeats)
        np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
        sizes[label] = len(data)
        seconds[label] = (save_s, load_s)
    sizes["pickle.dumps"] = len(pickle.dumps(estimator))
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    sizes["joblib.dump"] = len(buffer.getvalue())
    return sizes, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = []
    for name, make in (("wine MultiTaskNet", wine), ("clothing FusionNetClassifier", clothing)):
        t0 = time.perf_counter()
        estimator, X = make(args.data_home)
        fit_s = time.perf_counter() - t0
        results.append((name, fit_s, *measure(estimator, X, args.repeats)))
        print(f"  done: {name} (fit {fit_s:.1f} s)", flush=True)

    header = f"{'model':<30} {'file':<28} {'bytes':>12} {'/ save':>7} {'save s':>7} {'load s':>7}"
    print("\n" + header)
    print("-" * len(header))
    for name, _, sizes, seconds in results:
        reference = sizes["sk_mtl.save"]
        for label, size in sizes.items():
            save_s, load_s = seconds.get(label, (None, None))
            timing = "" if save_s is None else f" {save_s:>7.3f} {load_s:>7.3f}"
            print(f"{name:<30} {label:<28} {size:>12,} {size / reference:>7.2f}{timing}")
            name = ""
    print("(predictions of every loaded model equal the saved model's; seconds are medians of "
          f"{args.repeats})")


if __name__ == "__main__":
    main()
