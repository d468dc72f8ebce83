"""Whole-tensor data and a batch iterator that slices it (no per-row ``__getitem__``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import train_test_split
from torch import Tensor

from ..modules import SparseRows

__all__ = ["BatchIterator", "TensorData", "resolve_batch_size", "validation_split"]

Batch = tuple[Tensor, dict[str, tuple[Tensor, Tensor | None]]]


class TensorData(torch.utils.data.Dataset):
    """Inputs and per-task targets held as whole tensors on the training device.

    Parameters
    ----------
    X : Tensor of shape (n, n_features), scipy CSR matrix, or dict
        Dense inputs live on ``device``; a sparse matrix stays in host memory and each batch
        is densified on its way to the device. Several modalities come as a dict
        ``{modality: (values, present)}``, where ``values`` is a tensor or a CSR matrix (whose
        batches become :class:`~sk_mtl.modules.SparseRows`, never dense) and ``present`` a
        boolean tensor of rows that have the modality (``None``: all rows).
    targets : mapping of str to Tensor, optional
        Encoded target per task.
    masks : mapping of str to Tensor or None, optional
        Boolean mask of labelled rows per task; ``None`` when every row is labelled.
    weights : mapping of str to Tensor of shape (n,), optional
        Row weights per task (sample weights times class weights; a task left out weighs
        every row 1). :class:`BatchIterator` then gives that task's batch the float mask
        ``weights * labelled``, which the masked losses read as a weighted mean.
    members : Tensor of shape (n, k), optional
        For an ensemble of ``k`` members that see different rows (cross-fitting): the weight
        of each row in each member's loss (0: the member does not see the row). Every task's
        batch mask then has shape ``(n, k)``, the row's mask times its member weights.
    """

    def __init__(
        self,
        X: Tensor | sp.csr_matrix,
        targets: Mapping[str, Tensor] | None = None,
        masks: Mapping[str, Tensor | None] | None = None,
        weights: Mapping[str, Tensor] | None = None,
        members: Tensor | None = None,
    ) -> None:
        self.X = X
        self.targets = dict(targets or {})
        self.masks = dict(masks or {})
        self.weights = dict(weights or {})
        self.members = members

    def __len__(self) -> int:
        X = self.X
        while isinstance(X, (dict, tuple)):
            X = next(iter(X.values())) if isinstance(X, dict) else X[0]
        return X.shape[0]

    def __getitem__(self, i):  # pragma: no cover - batches are sliced, never indexed per row
        raise TypeError("TensorData is sliced in whole batches by BatchIterator.")

    def take(self, idx: np.ndarray) -> TensorData:
        """The rows ``idx`` (a 1-D integer array)."""
        t_idx = {}

        def rows(t):
            if t is None:
                return None
            if sp.issparse(t):
                return t[idx]
            if isinstance(t, tuple):
                return tuple(rows(v) for v in t)
            if isinstance(t, dict):
                return {k: rows(v) for k, v in t.items()}
            key = t.device
            if key not in t_idx:
                t_idx[key] = torch.as_tensor(idx, device=key)
            return t[t_idx[key]]

        return TensorData(
            rows(self.X),
            {k: rows(v) for k, v in self.targets.items()},
            {k: rows(v) for k, v in self.masks.items()},
            {k: rows(v) for k, v in self.weights.items()},
            rows(self.members),
        )

    def with_members(self, members: Tensor | None) -> TensorData:
        """The same rows (sharing every tensor) with other member weights."""
        return TensorData(self.X, self.targets, self.masks, self.weights, members)


class BatchIterator:
    """Yields ``(X_batch, {task: (target_batch, mask_batch)})`` sliced from whole tensors.

    Parameters
    ----------
    data : TensorData
        The data to iterate over.
    batch_size : int
        Rows per batch; ``-1`` means all rows in one batch.
    shuffle : bool, default=False
        Draw a new permutation each epoch (with ``generator``). This is the training mode: a
        last batch of a single row is then merged into the one before it.
    generator : torch.Generator, optional
        Source of the permutations, so shuffling is reproducible.
    device : str or torch.device, default="cpu"
        Device that the dense tensors live on and sparse batches are densified onto.
    pad : bool, default=False
        Pad a last, shorter batch with zero rows (rows without their modalities) to
        ``batch_size`` rows, so that every batch has one shape: float32 kernels then run the
        same way for a row whatever else is in the batch, and a row's output does not depend
        on which rows were sent with it (prediction). The caller drops the padded rows'
        outputs (the first ``len(data)`` rows are the real ones).
    shard : tuple of (int, int), optional
        ``(rank, world_size)`` of a data-parallel fit: yield only this process's part of
        each batch. Every process draws the same permutation (when shuffling) and takes its
        contiguous part (sizes differ by at most one row) of each global batch of
        ``batch_size`` rows, so that the processes together see the batches one process
        would; a last global batch of fewer than ``world_size`` rows joins the one before
        it (each process needs a row in every step).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.data import BatchIterator, TensorData
    >>> data = TensorData(torch.arange(10.0).reshape(5, 2), {"t": torch.arange(5.0)}, {"t": None})
    >>> [(xb.shape[0], yb["t"][0].tolist()) for xb, yb in BatchIterator(data, batch_size=2)]
    [(2, [0.0, 1.0]), (2, [2.0, 3.0]), (1, [4.0])]
    """

    def __init__(
        self,
        data: TensorData,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        pad: bool = False,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.data = data
        self.batch_size = len(data) if batch_size == -1 else batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device)
        self.pad = pad
        self.shard = shard

    def _starts(self, n: int) -> list[int]:
        starts = list(range(0, n, self.batch_size))
        # A one-row training batch breaks BatchNorm and gives a noisy step: the row joins
        # the batch before it. Sharded, every batch must give each process a row.
        smallest = 2 if self.shuffle else 1
        if self.shard is not None:
            smallest = max(smallest, self.shard[1])
        if len(starts) > 1 and n - starts[-1] < smallest:
            starts.pop()
        return starts

    def __len__(self) -> int:
        return len(self._starts(len(self.data)))

    def __iter__(self) -> Iterator[Batch]:
        data, bs, n = self.data, self.batch_size, len(self.data)
        sparse = sp.issparse(data.X)
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator)
            perm_np = perm.numpy()
            perm = perm.to(self.device)
        starts = self._starts(n)
        ends = [*starts[1:], n]
        modal = isinstance(data.X, dict)
        for start, end in zip(starts, ends):
            if self.shard is not None:  # this process's part of the global batch
                offset, stop = _share(end - start, *self.shard)
                start, end = start + offset, start + stop
            missing = bs - (end - start) if self.pad and not self.shuffle else 0
            if self.shuffle:
                rows = perm[start:end]
                x_rows = perm_np[start:end] if sparse else rows
                np_rows = perm_np[start:end]
            else:
                rows = x_rows = np_rows = slice(start, end)
            if modal:
                Xb = {
                    m: (
                        self._modality_rows(v, rows, np_rows, missing),
                        _pad(None if p is None else p[rows], missing, end - start,
                             self.device),
                    )
                    for m, (v, p) in data.X.items()
                }
            else:
                Xb = data.X[x_rows]
                if sparse:
                    Xb = torch.from_numpy(_pad_csr(Xb, missing).toarray())
                Xb = Xb.to(self.device, non_blocking=True)  # no-op when already there
                if missing and not sparse:
                    Xb = torch.cat([Xb, Xb.new_zeros((missing, *Xb.shape[1:]))])
            yield Xb, {task: task_rows(data, task, rows) for task in data.targets}

    def _modality_rows(self, values, rows, np_rows, missing: int = 0):
        if sp.issparse(values):
            return SparseRows.from_csr(_pad_csr(values[np_rows], missing), self.device)
        out = values[rows].to(self.device, non_blocking=True)
        if missing:
            out = torch.cat([out, out.new_zeros((missing, *out.shape[1:]))])
        return out


def task_rows(data: TensorData, task: str, rows) -> tuple[Tensor, Tensor | None]:
    """``task``'s targets on ``rows`` and what each of those rows counts in its loss: the
    label mask, times the sample weights, times the ensemble members' bootstrap counts
    (``(rows, k)``), where ``data`` has them; ``None`` when every row counts once."""
    mask = data.masks.get(task)
    mask = None if mask is None else mask[rows]
    weights = data.weights.get(task)
    if weights is not None:
        weights = weights[rows]
        mask = weights if mask is None else weights * mask
    if data.members is not None:
        members = data.members[rows]
        mask = members if mask is None else members * mask.unsqueeze(-1)
    return data.targets[task][rows], mask


def _share(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of process ``rank`` when ``n`` rows are split in ``world``
    contiguous parts as evenly as can be (the first ``n % world`` get one row more)."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def _pad_csr(matrix, missing: int):
    """``matrix`` with ``missing`` empty rows below."""
    if not missing:
        return matrix
    return sp.vstack([matrix, sp.csr_matrix((missing, matrix.shape[1]), dtype=matrix.dtype)],
                     format="csr")


def _pad(present: Tensor | None, missing: int, n: int, device) -> Tensor | None:
    """A modality's present-mask of ``n`` rows with ``missing`` absent rows below."""
    if not missing:
        return None if present is None else present.to(device, non_blocking=True)
    if present is None:
        present = torch.ones(n, dtype=torch.bool)
    present = present.to(device, non_blocking=True)
    return torch.cat([present, present.new_zeros(missing)])


def validation_split(
    n_samples: int,
    fraction: float,
    stratify: np.ndarray | None,
    random_state: int,
    task_name: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and validation parts.

    ``stratify`` holds one integer code per row (missing labels may have their own code).
    """
    idx = np.arange(n_samples)
    try:
        train, valid = train_test_split(
            idx, test_size=fraction, stratify=stratify, random_state=random_state
        )
    except ValueError as exc:
        if stratify is None:
            raise ValueError(f"Cannot make a validation split: {exc}") from None
        raise ValueError(
            f"Cannot make a validation split stratified on task {task_name!r}: {exc}"
        ) from None
    return np.sort(train), np.sort(valid)


def resolve_batch_size(batch_size: int | str, n_samples: int) -> int:
    """The batch size to train with: ``batch_size`` itself, or for ``"auto"`` the power of
    two nearest ``n_samples / 16``, clipped to ``[32, 512]``.

    So a few hundred rows get ~10+ steps an epoch, a few thousand ~16 (256 rows each) and
    large tables 512-row batches, which keeps the per-step overhead small on big data
    without starving small data of updates. ``-1`` means one batch of all rows.

    Examples
    --------
    >>> from sk_mtl.data import resolve_batch_size
    >>> [resolve_batch_size("auto", n) for n in (100, 400, 4_000, 50_000)]
    [32, 32, 256, 512]
    >>> resolve_batch_size(64, 400), resolve_batch_size(-1, 400)
    (64, 400)
    """
    if batch_size == -1:
        return max(int(n_samples), 1)
    if batch_size == "auto":
        target = max(n_samples / 16, 1.0)
        return int(min(max(2 ** round(np.log2(target)), 32), 512))
    return int(batch_size)
