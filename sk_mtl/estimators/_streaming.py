"""``fit`` on a table larger than memory (:class:`~sk_mtl.data.ParquetTable`,
:class:`~sk_mtl.data.DaskTable`): the same network builder and skorch net as an in-memory
fit, fed by :class:`~sk_mtl.data._stream.StreamData` instead of whole tensors.

What differs from ``fit(X, y)``, each decided before training:

- the pass of :func:`~sk_mtl.data._stream.prepare_stream` replaces holding the table: the
  tasks are fitted on its sample (classes: every label the pass found), the input
  scaling too (through :class:`~sk_mtl.data.StreamEncoder`, ``stream_encoder_``);
- the validation set is the table's held-out pieces (not ``validation_fraction``);
- settings that need every row at once are refused: retrieval features, cross-fitting,
  piecewise-linear embeddings (bins from every row), ``stratify``, ``class_weight=
  "balanced"``, sample weights, ``warm_start`` and ``partial_fit``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state

from ..data import resolve_batch_size, split_targets
from ..data._class_weights import resolve_class_weights
from ..data._stream import StreamData, StreamEncoder, prepare_stream
from ._builder import build_network, torch_device
from ._inputs import _ensemble_size, dropout_candidates, resolve_hidden_dims
from ._params import check_params
from ._targets import encode_rows
from ._training import MIN_VALID_ROWS, torch_threads

__all__ = ["fit_stream"]


def _refuse(est, table) -> None:
    """Settings a streamed fit cannot honour, refused before anything is read."""
    name = type(est).__name__
    if not getattr(est._input, "streams", False):
        raise TypeError(
            f"{name} does not fit on a streamed table ({type(table).__name__}); "
            "MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor do."
        )
    if est.warm_start and hasattr(est, "net_"):
        raise ValueError(
            "warm_start=True does not continue a fit on a streamed table; set "
            "warm_start=False (a streamed fit starts anew)."
        )
    if est.retrieval not in (None, "auto"):
        raise ValueError(
            f"retrieval={est.retrieval!r} looks up neighbours among all training rows, "
            "which a streamed fit does not hold; use retrieval=None (\"auto\" turns it off)."
        )
    if est.cross_fit:
        raise ValueError("cross_fit=True needs every row at once; a streamed fit has not.")
    if est.numeric_embedding == "piecewise":
        raise ValueError(
            'numeric_embedding="piecewise" takes its bins from every row; use None or '
            '"periodic" for a streamed fit.'
        )
    if est.stratify is not None:
        raise ValueError(
            "stratify splits rows; a streamed fit's validation set is held-out pieces "
            "(the table's validation=). Set stratify=None."
        )
    cw = est.class_weight
    if cw == "balanced" or (isinstance(cw, dict) and "balanced" in cw.values()):
        raise ValueError(
            "class_weight='balanced' is not supported on a streamed table; pass the weights "
            "as a dict class -> weight."
        )


def fit_stream(est, table) -> None:
    """Fit ``est`` on the streamed ``table`` (see the module docstring)."""
    check_params(est)
    _refuse(est, table)
    device = torch_device(est.device)
    parallel = est._data_parallel(device)
    seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    if parallel is not None:
        seed = parallel.broadcast_int(seed)
    est._seed = seed
    plan = prepare_stream(table, seed, parallel)

    one = isinstance(table.target, str)
    targets = split_targets(plan.sample[plan.targets[0]] if one else plan.sample[plan.targets])
    classes = {n: v for n, v in plan.labels.items() if v is not None}
    tplan, weighting, _ = est._plan(targets, classes, None)
    for name, task in tplan.tasks.items():
        if task.kind == "multilabel":
            raise ValueError(f"Task {name!r}: multilabel targets are not streamed.")
        if task.is_classification and plan.labels[name] is None:
            raise ValueError(
                f"Task {name!r} is {task.kind!r}, but its column holds more than "
                "1,000 distinct labels; declare it tasks={{{name!r}: 'regression'}} if it "
                "is a number."
            )
    from ._base import _check_parallel_weighting

    _check_parallel_weighting(parallel, weighting, est.weighting)
    tasks = tplan.tasks
    class_weights = resolve_class_weights(est.class_weight, tasks, {}, allow_balanced=False)

    encoder = StreamEncoder(plan.numeric, plan.categorical, est.input_scaling)
    encoder.fit(plan.sample, plan.categories)
    est.stream_encoder_ = encoder
    est.input_scaler_ = None  # the encoder scales the numeric columns
    est.n_features_in_ = len(plan.numeric) + len(plan.categorical)
    est.feature_names_in_ = np.asarray(plan.numeric + plan.categorical, dtype=object)
    est.ensemble_size_ = _ensemble_size(est, plan.n_train)
    est.hidden_dims_ = resolve_hidden_dims(est, plan.n_train)
    # One pass over the table per epoch is the cost: dropout="auto" trains once, at its
    # first rate.
    est.dropout_ = dropout_candidates(est, judged=False)[0]
    est.__dict__.pop("numeric_bins_", None)
    est.class_weight_ = class_weights
    est.retrieval_ = None
    est._record_plan(tplan, targets)

    target_columns = plan.targets[0] if one else plan.targets
    cpu = torch.device("cpu")

    def encode(frame):
        X = torch.from_numpy(encoder.transform(frame))
        chunk_targets = split_targets(frame[target_columns])
        data, _, _ = encode_rows(X, chunk_targets, tasks, cpu, class_weights=class_weights)
        return data

    columns = list(dict.fromkeys(plan.numeric + plan.categorical + plan.targets))
    data = StreamData(table, plan.train, plan.rows, columns, encode, list(tasks))
    valid = (StreamData(table, plan.valid, plan.rows, columns, encode, list(tasks))
             if plan.valid else None)
    if est.early_stopping is True and valid is None:
        raise ValueError(
            "early_stopping=True needs a validation set: the table's validation= holds "
            "out none."
        )
    early_stopping = est.early_stopping is True or (
        est.early_stopping == "auto" and valid is not None and len(valid) >= MIN_VALID_ROWS
    )
    est.batch_size_ = resolve_batch_size(est.batch_size, len(data))
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch_threads(est.n_threads):
        torch.manual_seed(seed)
        est.net_ = build_network(
            est, tasks, weighting, seed=seed, device=device, valid=valid,
            early_stopping=early_stopping, schedule=True, n_train=len(data), parallel=parallel,
        )
        est._start_parallel(parallel, (table.key(), None, len(data),
                                       0 if valid is None else len(valid)))
        est.net_.progress_delay_ = est._progress_delay(False, parallel)
        est.net_.partial_fit(data, None)
    est._after_training(data)
