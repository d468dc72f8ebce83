"""Serving speed: the exported ONNX graph in onnxruntime against the model's own ``predict``.

One fitted model: the wine ``Pipeline`` (``StandardScaler`` then the default
``MultiTaskNet(tasks={"quality": "regression", "color": "binary"})``; eight ensemble
members, two scaled views of each column and retrieval features over the training rows)
trained on the wine holdout's training rows (75%, ``train_test_split(random_state=0)``).

For one row and for 1,024 rows of the holdout: the seconds of ``pipe.predict`` (labels of
both tasks) and of one onnxruntime ``InferenceSession.run`` (labels and probabilities of both
tasks; one intra-op thread, as the estimator's ``n_threads=1``), median of ``--repeats``
timed calls after a warm-up, their ratio, and rows per second; then the sizes of the ONNX
file and of ``sk_mtl.save``'s files (with and without the optimizer state), and the seconds
``to_onnx`` takes. The graph is checked against ``predict`` first (``sk_mtl.onnx.check``).
Usage::

    python benchmarks/bench_onnx.py [--data-home DIR] [--repeats 50] [--quick]

``--quick`` trains two epochs and times 5 repeats (what the test suite runs).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskNet, save
from sk_mtl.datasets import load_wine_quality
from sk_mtl.onnx import check, to_onnx


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations, onnxruntime's lazy initialisation
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    repeats = 5 if args.quick else args.repeats
    X, y = load_wine_quality(data_home=args.data_home, return_X_y=True)
    X = X.to_numpy(np.float32)
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
    net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"}, random_state=0,
                       **({"max_epochs": 2} if args.quick else {}))
    pipe = make_pipeline(StandardScaler(), net).fit(X_train, y_train)

    t0 = time.perf_counter()
    model = to_onnx(pipe, X_train[:5])
    export_s = time.perf_counter() - t0
    onnx_bytes = model.SerializeToString()
    check(pipe, X_test, model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])

    print(f"wine Pipeline(StandardScaler, MultiTaskNet): {len(X_train)} training rows, "
          f"{pipe[-1].ensemble_size_} members, retrieval over {len(X_train)} rows; "
          f"median of {repeats}")
    print(f"{'rows':>6} {'predict s':>11} {'onnxruntime s':>14} {'ratio':>7} "
          f"{'predict rows/s':>15} {'onnx rows/s':>12}")
    for n in (1, 1024):
        rows = X_test[:n]
        t_py = median_seconds(lambda rows=rows: pipe.predict(rows), repeats)
        t_ox = median_seconds(lambda rows=rows: session.run(None, {"X": rows}), repeats)
        print(f"{n:>6} {t_py:>11.5f} {t_ox:>14.5f} {t_py / t_ox:>6.1f}x "
              f"{n / t_py:>15,.0f} {n / t_ox:>12,.0f}")

    sizes = {}
    for optimizer in (True, False):
        buffer = io.BytesIO()
        save(pipe, buffer, include_optimizer=optimizer)
        sizes[optimizer] = len(buffer.getvalue())
    print(f"\nfile sizes: ONNX {len(onnx_bytes) / 1e6:.2f} MB; sk_mtl.save "
          f"{sizes[True] / 1e6:.2f} MB with the optimizer state, "
          f"{sizes[False] / 1e6:.2f} MB without (ONNX / save without: "
          f"{len(onnx_bytes) / sizes[False]:.2f}x)")
    print(f"to_onnx: {export_s:.1f} s")


if __name__ == "__main__":
    main()
