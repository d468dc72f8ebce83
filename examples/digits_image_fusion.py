"""Fuse an image modality with a tabular one on real handwritten digits (sklearn's digits)
========================================================================================

Each 8x8 digit image is split into two views that a real system might get from two
sensors: the left half as an image (a CNN encoder) and the right half as 32 numbers (an MLP
encoder). One ``FusionNetClassifier`` learns two tasks from both views, the digit (10
classes) and whether it is odd; it is compared with networks that see one view only, on a
fixed 25% holdout.

Run ``python examples/digits_image_fusion.py`` (``--quick`` trains a few epochs, for CI).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from sk_mtl import FusionNetClassifier


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only (CI)")
    args = parser.parse_args(argv)

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # (n, 1, 8, 8)
    left = images[:, :, :, :4]  # (n, 1, 8, 4) image view
    right = images[:, 0, :, 4:].reshape(len(images), -1)  # (n, 32) tabular view
    y = pd.DataFrame({"digit": digits.target, "odd": digits.target % 2 == 1})
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.25, random_state=0, stratify=digits.target
    )
    params = dict(hidden_dims=(64,), lr=3e-3, batch_size=64, random_state=0,
                  max_epochs=3 if args.quick else 60, early_stopping=not args.quick,
                  n_iter_no_change=8)
    views = {
        "both views (left image + right half)": {"left": left, "right": right},
        "left half only (image, CNN)": {"left": left},
        "right half only (32 numbers, MLP)": {"right": right},
    }
    rows = []
    for name, X in views.items():
        train = {m: v[idx_train] for m, v in X.items()}
        test = {m: v[idx_test] for m, v in X.items()}
        net = FusionNetClassifier(**params)
        t0 = time.perf_counter()
        net.fit(train, y.iloc[idx_train])
        fit_s = time.perf_counter() - t0
        pred = net.predict(test)
        rows.append({
            "model": name,
            "digit accuracy": accuracy_score(y["digit"].iloc[idx_test], pred[:, 0].astype(int)),
            "odd accuracy": accuracy_score(y["odd"].iloc[idx_test], pred[:, 1].astype(bool)),
            "fit s": fit_s,
            "kinds": ", ".join(f"{m}: {c.kind}" for m, c in net.modalities_.items()),
        })
    print(
        f"Digits ({len(idx_train)} training / {len(idx_test)} holdout images), two tasks"
        f"{' [--quick]' if args.quick else ''}"
    )
    header = f"{'model':<40} {'digit acc':>10} {'odd acc':>8} {'fit s':>6}  modalities"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<40} {r['digit accuracy']:>10.3f} {r['odd accuracy']:>8.3f} "
              f"{r['fit s']:>6.1f}  {r['kinds']}")
    return rows


if __name__ == "__main__":
    main()
