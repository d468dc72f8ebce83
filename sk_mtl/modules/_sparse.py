"""Sparse rows in the layout ``nn.EmbeddingBag`` consumes, and a sparse linear layer."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["SparseLinear", "SparseRows"]


class SparseRows(NamedTuple):
    """A batch of CSR rows: column ``indices``, row start ``offsets`` and ``values``.

    Built from a scipy CSR matrix with :meth:`from_csr`; the product with a weight matrix is
    then one ``EmbeddingBag`` call, with no dense ``(n, n_columns)`` tensor.
    """

    indices: Tensor
    offsets: Tensor
    values: Tensor

    @classmethod
    def from_csr(cls, matrix, device: str | torch.device = "cpu") -> SparseRows:
        indptr = np.asarray(matrix.indptr, dtype=np.int64)
        return cls(
            torch.from_numpy(np.asarray(matrix.indices, dtype=np.int64)).to(device),
            torch.from_numpy(indptr[:-1].copy()).to(device),
            torch.from_numpy(np.asarray(matrix.data, dtype=np.float32)).to(device),
        )

    def __len__(self) -> int:
        return len(self.offsets)


class SparseLinear(nn.Module):
    """``x @ W + b`` for sparse rows, as a sum-mode ``EmbeddingBag`` weighted by the values.

    With ``sparse_grad=True`` (for sparse inputs) ``W`` gets sparse gradients, only the rows
    of the columns present in the batch, which the estimators update with
    ``torch.optim.SparseAdam``: a step costs what the batch touches, not the size of a
    100,000-column vocabulary. Dense inputs need ``sparse_grad=False``.

    Examples
    --------
    >>> import scipy.sparse as sp, torch
    >>> from sk_mtl.modules import SparseLinear, SparseRows
    >>> layer = SparseLinear(1000, 4)
    >>> X = sp.random(3, 1000, density=0.01, format="csr", random_state=0, dtype="float32")
    >>> dense = torch.from_numpy(X.toarray()) @ layer.bag.weight + layer.bias
    >>> torch.allclose(layer(SparseRows.from_csr(X)), dense, atol=1e-6)
    True
    """

    def __init__(self, in_features: int, out_features: int, sparse_grad: bool = False) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(in_features, out_features, mode="sum", sparse=sparse_grad)
        bound = 1.0 / np.sqrt(in_features)
        nn.init.uniform_(self.bag.weight, -bound, bound)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.in_features, self.out_features = in_features, out_features

    def forward(self, x: SparseRows | Tensor) -> Tensor:
        if isinstance(x, Tensor):
            return x @ self.bag.weight + self.bias
        out = self.bag(x.indices, x.offsets, per_sample_weights=x.values)
        return out + self.bias
