"""Serving speed: the exported ONNX graph in onnxruntime against the model's own ``predict``.

Two fitted models:

- ``wine``: the ``Pipeline`` of a ``StandardScaler`` and the default
  ``MultiTaskNet(tasks={"quality": "regression", "color": "binary"})`` (eight ensemble
  members, two scaled views of each column and retrieval features over the training rows),
  trained on the wine holdout's training rows (75%, ``train_test_split(random_state=0)``);
- ``clothing``: the default ``FusionNetClassifier()`` on the raw DataFrame of the Women's
  clothing reviews (title and review text as TF-IDF with its wide path, three categories,
  three numbers, retrieval), ``Rating`` and ``Recommended IND``, trained for
  ``--clothing-epochs`` epochs on the training rows of ``bench_fusion_clothing.py``'s
  holdout split (prediction cost does not depend on the epochs; the vocabulary is the
  full one).

For one row and for 1,024 rows of each holdout: the seconds of ``predict`` (labels of every
task) and of one onnxruntime ``InferenceSession.run`` (labels and probabilities; one
intra-op thread, as the estimators' ``n_threads=1``), median of ``--repeats`` timed calls
after a warm-up, their ratio, and rows per second; then the sizes of the ONNX file and of
``sk_mtl.save``'s files (with and without the optimizer state), and the seconds ``to_onnx``
takes. Each graph is checked against the model first (``sk_mtl.onnx.check`` on the
holdout). Usage::

    python benchmarks/bench_onnx.py [--data-home DIR] [--repeats 50] [--quick]
        [--models wine clothing] [--clothing-epochs 3]

``--quick`` trains two epochs on a few hundred rows and times 5 repeats (what the test
suite runs).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import FusionNetClassifier, MultiTaskNet, save
from sk_mtl.datasets import load_wine_quality
from sk_mtl.onnx import check, to_onnx

sys.path.insert(0, str(Path(__file__).parent))
from bench_fusion_clothing import load as load_clothing


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations, onnxruntime's lazy initialisation
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wine(data_home, quick):
    X, y = load_wine_quality(data_home=data_home, return_X_y=True)
    X = X.to_numpy(np.float32)
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
    if quick:
        X_train, y_train = X_train[:600], y_train.iloc[:600]
    net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"}, random_state=0,
                       **({"max_epochs": 2} if quick else {}))
    pipe = make_pipeline(StandardScaler(), net).fit(X_train, y_train)
    return pipe, X_train[:5], X_test, f"{len(X_train)} training rows, " \
        f"{net.ensemble_size_} members, retrieval over {len(X_train)} rows"


def clothing(data_home, quick, epochs):
    X_train, X_test, y_train, _ = load_clothing(data_home, quick)
    net = FusionNetClassifier(max_epochs=2 if quick else epochs, random_state=0)
    net.fit(X_train, y_train)
    words = sum(len(v.vocabulary_) for v in net.modalities_["text"].vectorizers_)
    return net, X_train.iloc[:5], X_test, f"{len(X_train)} training rows, {words:,} n-grams"


def feeds(session, rows):
    from sk_mtl.onnx._convert import _feeds

    return _feeds(session, rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--models", nargs="+", default=["wine", "clothing"],
                        choices=["wine", "clothing"])
    parser.add_argument("--clothing-epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    repeats = 5 if args.quick else args.repeats
    for name in args.models:
        if name == "wine":
            model, sample, X_test, about = wine(args.data_home, args.quick)
        else:
            model, sample, X_test, about = clothing(args.data_home, args.quick,
                                                    args.clothing_epochs)
        t0 = time.perf_counter()
        onnx_model = to_onnx(model, sample)
        export_s = time.perf_counter() - t0
        onnx_bytes = onnx_model.SerializeToString()
        check(model, X_test, onnx_model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])

        print(f"\n== {name}: {about}; median of {repeats}")
        print(f"{'rows':>6} {'predict s':>11} {'onnxruntime s':>14} {'ratio':>7} "
              f"{'predict rows/s':>15} {'onnx rows/s':>12}")
        for n in (1, 1024):
            rows = X_test[:n]
            inputs = feeds(session, rows)
            t_py = median_seconds(lambda m=model, rows=rows: m.predict(rows), repeats)
            t_ox = median_seconds(lambda s=session, i=inputs: s.run(None, i), repeats)
            print(f"{len(rows):>6} {t_py:>11.5f} {t_ox:>14.5f} {t_py / t_ox:>6.1f}x "
                  f"{len(rows) / t_py:>15,.0f} {len(rows) / t_ox:>12,.0f}")

        sizes = {}
        for optimizer in (True, False):
            buffer = io.BytesIO()
            save(model, buffer, include_optimizer=optimizer)
            sizes[optimizer] = len(buffer.getvalue())
        print(f"file sizes: ONNX {len(onnx_bytes) / 1e6:.2f} MB; sk_mtl.save "
              f"{sizes[True] / 1e6:.2f} MB with the optimizer state, "
              f"{sizes[False] / 1e6:.2f} MB without (ONNX / save without: "
              f"{len(onnx_bytes) / sizes[False]:.2f}x)")
        print(f"to_onnx: {export_s:.1f} s")


if __name__ == "__main__":
    main()
