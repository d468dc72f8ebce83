"""Serving the wine model from one ONNX file
===========================================

A fitted ``Pipeline`` (a ``StandardScaler`` and the default ``MultiTaskNet`` for the wine
quality score and the wine's colour) exported with :func:`sk_mtl.onnx.to_onnx` as one ONNX
graph, scaler, network and label decoding included, and run with onnxruntime alone: no
scikit-learn, torch or sk_mtl is needed where the file is served. The script

1. fits the pipeline on 75% of the UCI wine table (6,497 wines);
2. exports it, checks the graph against ``predict`` and ``predict_proba`` on the other 25%
   (:func:`sk_mtl.onnx.check`), and prints the graph's inputs and outputs;
3. prints the holdout scores of the pipeline's ``predict`` and of the graph in
   onnxruntime (the same, as the check says), a few of the graph's outputs, and the size
   of the file.

Run ``python examples/wine_onnx.py`` (``--quick`` trains 3 epochs at dropout 0.1, for CI).
The wine table ships inside the package.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskNet
from sk_mtl.datasets import load_wine_quality
from sk_mtl.onnx import check, to_onnx


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Export the wine pipeline to ONNX.")
    parser.add_argument("--quick", action="store_true", help="3 epochs at dropout 0.1 (CI)")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)

    X, y = load_wine_quality(data_home=args.data_home, return_X_y=True)
    X = X.to_numpy(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    net = MultiTaskNet(tasks={"quality": "regression", "color": "binary"}, random_state=0,
                       **({"max_epochs": 3, "dropout": 0.1} if args.quick else {}))
    pipe = make_pipeline(StandardScaler(), net).fit(X_train, y_train)

    path = Path(tempfile.mkdtemp()) / "wine.onnx"
    onnx_model = to_onnx(pipe, X_train[:5], path=path)
    differences = check(pipe, X_test, onnx_model)
    print("largest difference to the pipeline, per output:")
    for name, value in differences.items():
        print(f"  {name:22s} {value:.2g}")

    # What a service needs: onnxruntime and the file.
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    print("inputs: ", [(i.name, i.shape, i.type) for i in session.get_inputs()])
    print("outputs:", [(o.name, o.type) for o in session.get_outputs()])
    quality, color, proba = session.run(None, {"X": X_test})
    expected = pipe.predict(X_test)
    table = pd.DataFrame([
        {"model": "Pipeline.predict (Python)",
         "quality MAE (holdout)": mean_absolute_error(y_test["quality"],
                                                      expected[:, 0].astype(float)),
         "color accuracy (holdout)": accuracy_score(y_test["color"], expected[:, 1])},
        {"model": "ONNX graph (onnxruntime)",
         "quality MAE (holdout)": mean_absolute_error(y_test["quality"], quality),
         "color accuracy (holdout)": accuracy_score(y_test["color"], color)},
    ])
    print(table.to_string(index=False, float_format="%.4f"))
    print("first rows, onnxruntime's outputs:")
    print(pd.DataFrame({"quality": quality[:3].round(3), "color": color[:3],
                        "P(white)": proba[:3, 1].round(4)}).to_string(index=False))
    print(f"file: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
