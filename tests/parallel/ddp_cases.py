"""Cases of data-parallel fits, run by tests/parallel/test_data_parallel.py under
``torchrun --nproc-per-node 2``: what must be refused before training (with the message
each process gets) and what must train the same model in every process.

``python ddp_cases.py DATA.npz OUT_DIR PARQUET_DIR`` writes ``OUT_DIR/cases-rank<r>.json``,
``OUT_DIR/uncertainty-rank<r>.npz`` and ``OUT_DIR/stream-rank<r>.npz`` (a streamed fit on
the Parquet files of ``PARQUET_DIR``, see :data:`STREAM`).
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from ddp_fit import SETTINGS

from sk_mtl import FusionNetClassifier, MultiTaskNet
from sk_mtl.data import ParquetTable

#: The streamed fit: the table's options and the estimator's.
STREAM = dict(table=dict(target=["size", "colour"], validation=0.25, buffer_rows=300),
              est=dict(hidden_dims=(16,), dropout=0.0, max_epochs=4, ensemble_size=1,
                       random_state=0, lr=0.01, early_stopping=False, batch_size=64))


class CountingTable(ParquetTable):
    """Counts the rows this process reads."""

    rows_read = 0

    def _read(self, piece, columns):
        for chunk in super()._read(piece, columns):
            self.rows_read += len(chunk)
            yield chunk


def stream_fit(folder):
    table = CountingTable(folder, **STREAM["table"])
    return MultiTaskNet(**STREAM["est"]).fit(table), table


def _error(fn) -> str | None:
    try:
        fn()
    except ValueError as exc:
        return str(exc)
    return None


def _checksum(est) -> float:
    return float(sum(p.detach().double().sum() for p in est.net_.module_.parameters()))


def main(data_path, out_dir, parquet_dir):
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    data = np.load(data_path, allow_pickle=False)
    X = data["X"]
    y = pd.DataFrame({"size": data["y_size"], "colour": data["y_colour"]})
    out = {}
    # Each process passes other rows: refused, in every process, before training.
    rows = slice(None) if rank == 0 else slice(10, None)
    out["other_data"] = _error(lambda: MultiTaskNet(**SETTINGS).fit(X[rows], y[rows]))
    # A gradient-level weighting cannot average the processes' gradients.
    out["pcgrad"] = _error(lambda: MultiTaskNet(**{**SETTINGS, "weighting": "pcgrad"})
                           .fit(X, y))
    out["fusion"] = _error(lambda: FusionNetClassifier(max_epochs=1).fit(
        {"tab": X}, y["colour"]))
    out["batch_of_one"] = _error(lambda: MultiTaskNet(**{**SETTINGS, "batch_size": 1})
                                 .fit(X, y))
    out["batch_norm"] = _error(lambda: MultiTaskNet(**{**SETTINGS, "batch_norm": True})
                               .fit(X, y))
    # partial_fit, one epoch per call: the same weights in every process.
    est = MultiTaskNet(**SETTINGS)
    for start in (0, 400):
        est.partial_fit(X[start:start + 400], y[start:start + 400])
    out["partial_fit_checksum"] = _checksum(est)
    out["partial_fit_epochs"] = len(est.net_.history)
    # Uncertainty weighting: its learnable log-variances are averaged with the network.
    est = MultiTaskNet(**{**SETTINGS, "weighting": "uncertainty"}).fit(X, y)
    out["uncertainty_checksum"] = _checksum(est)
    np.savez(os.path.join(out_dir, f"uncertainty-rank{rank}.npz"),
             size=est.predict_tasks(X)["size"], proba=est.predict_proba(X)[1],
             valid_loss=np.array(est.net_.history[:, "valid_loss"]))
    # A streamed fit: each process reads its own row groups.
    est, table = stream_fit(parquet_dir)
    out["stream_rows_read"] = table.rows_read
    out["stream_checksum"] = _checksum(est)
    history = est.net_.history
    np.savez(os.path.join(out_dir, f"stream-rank{rank}.npz"),
             encoded=est.stream_encoder_.transform(pd.DataFrame(X, columns=[f"x{j}" for j in
                                                                           range(X.shape[1])])),
             valid_loss=np.array(history[:, "valid_loss"]),
             batches=np.array(history[:, "train_batch_count"]))
    out["world_size"] = dist.get_world_size()
    out["threads"] = torch.get_num_threads()
    with open(os.path.join(out_dir, f"cases-rank{rank}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
