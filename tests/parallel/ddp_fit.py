"""Fit one MultiTaskNet data-parallel; run by tests/parallel/test_data_parallel.py under
``torchrun --nproc-per-node 2`` (or alone, as one process without a process group).

``python ddp_fit.py DATA.npz OUT_DIR`` reads ``X``, ``y_size``, ``y_colour`` from the
``.npz``, fits with the settings of :data:`SETTINGS`, and writes to ``OUT_DIR``
``rank<r>.npz`` (predictions, probabilities, the history's validation losses) and, through
``sk_mtl.save`` in every process, ``model-rank<r>.safetensors`` (only rank 0's is written).
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

import sk_mtl
from sk_mtl import MultiTaskNet

#: One process with these settings gives the same model as two (same global batch).
SETTINGS = dict(hidden_dims=(32, 32), dropout=0.0, batch_size=64, max_epochs=60, lr=3e-3,
                early_stopping=True, n_iter_no_change=3, ensemble_size=1, retrieval=None,
                random_state=0, validation_fraction=0.2)


def fit(X, y, **extra):
    return MultiTaskNet(**{**SETTINGS, **extra}).fit(X, y)


def main(data_path, out_dir, weighting="static"):
    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    data = np.load(data_path, allow_pickle=False)
    X = data["X"]
    y = pd.DataFrame({"size": data["y_size"], "colour": data["y_colour"]})
    est = fit(X, y, weighting=weighting)
    sk_mtl.save(est, os.path.join(out_dir, f"model-rank{rank}.safetensors"))
    history = est.history_ if hasattr(est, "history_") else est.net_.history
    np.savez(
        os.path.join(out_dir, f"rank{rank}.npz"),
        predict=est.predict(X).astype(str),
        size=est.predict_tasks(X)["size"],
        proba=est.predict_proba(X)[1],
        valid_loss=np.array(history[:, "valid_loss"]),
    )
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump({"data_parallel_": est.data_parallel_, "epochs": len(history),
                   "threads": torch.get_num_threads()}, f)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
