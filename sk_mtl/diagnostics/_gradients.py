"""GradientCosine: per-epoch cosines between the tasks' gradients on the shared trunk."""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.callbacks import Callback
from torch import Tensor, nn

from ..data import BatchIterator

__all__ = ["GradientCosine"]


class GradientCosine(Callback):
    """Record the cosine similarity of the tasks' gradients on the shared trunk every epoch.

    At the end of each epoch, the callback takes a fixed sample of training rows, computes
    each task's (unweighted) loss on it with one forward pass, and the gradient of each task
    loss with respect to the shared parameters (``module_.trunk.parameters()``) with
    :func:`torch.autograd.grad`. It records in the net's history, for every pair of tasks
    ``a``, ``b`` (in task order), ``grad_cos_<a>__<b>``: the cosine similarity of the two
    flattened gradients, and for every task ``grad_norm_<task>``: the Euclidean norm of its
    gradient. A cosine near 1 means the tasks push the trunk the same way; a negative cosine
    means they conflict.

    The measurement does not change training: the module and criterion are put in eval
    mode for it (so dropout adds no noise and batch-norm statistics are not updated) and
    their modes are restored afterwards; no ``.grad`` attribute, optimizer state or torch
    random number generator is touched, so a fit gives the same network with or without
    the callback. It costs one forward and one backward pass per task over at most
    ``max_rows`` rows per epoch.

    Parameters
    ----------
    max_rows : int, default=1024
        Largest number of training rows in the sample. The rows are drawn without
        replacement at the first epoch of each fit and reused at every epoch, so that the
        curves show the change of the network rather than of the sample. All training rows
        are used when there are no more than ``max_rows``. Sparse rows are densified.
    random_state : int, RandomState instance or None, default=None
        Draws the sample of rows (with numpy, not torch, so training is unaffected). Pass
        an int for the same rows in every fit.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_sample_rows,)
        Sorted positions, in the net's training data, of the rows measured on.

    See Also
    --------
    compare_single_task : Whether training the tasks together helps each task.
    plot_history : Plot the recorded cosines beside the per-task losses.

    Notes
    -----
    The cosine is NaN when one of the two gradients is zero, for instance for a task that
    has no labelled row in the sample, or when the trunk has no trainable parameter
    (``hidden_dims=()``). Gradients are those of the task losses ``L_t`` before the task
    weights ``w_t`` are applied; a positive weight changes a gradient's norm, never a cosine.

    Each gradient reaches the trunk through its task's own head, so the cosine compares
    what the tasks ask of the shared representation, not the targets themselves: two copies
    of one task with independently initialised heads do not give 1 (their heads read the
    trunk differently), while two copies with equal heads give exactly 1, and so do ``y``
    and ``-y`` with opposite heads.

    References
    ----------
    .. [1] T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman and C. Finn, "Gradient Surgery
       for Multi-Task Learning", NeurIPS 2020.
    .. [2] Y. Du, W. M. Czarnecki, S. M. Jayakumar, M. Farajtabar, R. Pascanu and
       B. Lakshminarayanan, "Adapting Auxiliary Losses Using Gradient Similarity",
       arXiv:1812.02224, 2018.

    Examples
    --------
    Three regression tasks give three pairs, named in task order:

    >>> import numpy as np
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.diagnostics import GradientCosine
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ rng.normal(size=(3, 3))  # a 2-D array: tasks "y0", "y1", "y2"
    >>> net = MultiTaskNet(hidden_dims=(16,), max_epochs=3, random_state=0,
    ...                    callbacks=[GradientCosine(random_state=0)]).fit(X, y)
    >>> sorted(key for key in net.history_[-1] if key.startswith("grad_cos_"))
    ['grad_cos_y0__y1', 'grad_cos_y0__y2', 'grad_cos_y1__y2']
    >>> len(net.history_[:, "grad_norm_y2"])  # one value per epoch
    3
    """

    def __init__(self, max_rows: int = 1024, random_state=None) -> None:
        self.max_rows = max_rows
        self.random_state = random_state

    def initialize(self) -> GradientCosine:
        """Check the parameters and forget the sample of a previous fit."""
        max_rows = self.max_rows
        if (
            not isinstance(max_rows, numbers.Integral)
            or isinstance(max_rows, bool)
            or max_rows < 1
        ):
            raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}.")
        self.sample_indices_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Forget the sample of a previous fit: a new one is drawn at the first epoch."""
        self.sample_indices_ = None

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs) -> None:
        """Measure the gradients on the sample and record them in ``net.history``."""
        if dataset_train is None or len(dataset_train) == 0:
            return
        if not hasattr(dataset_train, "take"):
            raise TypeError(
                "GradientCosine works with sk_mtl estimators, whose training data is an "
                f"sk_mtl.data.TensorData; got {type(dataset_train).__name__}."
            )
        if getattr(self, "sample_indices_", None) is None:
            self.sample_indices_ = _sample_rows(
                len(dataset_train), self.max_rows, self.random_state
            )
        sample = dataset_train.take(self.sample_indices_)
        cosines, norms = _task_gradient_stats(net, sample)
        for name, value in norms.items():
            net.history.record(f"grad_norm_{name}", value)
        for (a, b), value in cosines.items():
            net.history.record(f"grad_cos_{a}__{b}", value)


def _sample_rows(n: int, max_rows: int, random_state) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _shared_parameters(module: nn.Module) -> list[Tensor]:
    trunk = getattr(module, "trunk", None)
    if not isinstance(trunk, nn.Module):
        raise TypeError(
            "GradientCosine needs a module with a shared `trunk` submodule (an "
            f"sk_mtl.modules.MultiTaskModule); got {type(module).__name__}."
        )
    return [p for p in trunk.parameters() if p.requires_grad]


def _task_gradient_stats(net, sample) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Cosines between task gradients and their norms, on the shared parameters."""
    module, criterion = net.module_, net.criterion_
    params = _shared_parameters(module)
    modes = [(m, m.training) for m in itertools.chain(module.modules(), criterion.modules())]
    try:
        module.eval()
        criterion.eval()
        with torch.enable_grad():
            X_batch, y_batch = next(iter(BatchIterator(sample, -1, device=net.device)))
            losses = criterion(module(X_batch), y_batch)
            names = list(losses)
            flat = {}
            for i, name in enumerate(names):
                flat[name] = _flat_gradient(losses[name], params, retain_graph=i < len(names) - 1)
    finally:
        for m, training in modes:
            m.training = training
    norms = {name: float(g.norm()) for name, g in flat.items()}
    cosines = {}
    for a, b in itertools.combinations(names, 2):
        if norms[a] > 0 and norms[b] > 0:
            cos = float(flat[a] @ flat[b]) / (norms[a] * norms[b])
            cosines[a, b] = min(1.0, max(-1.0, cos))
        else:
            cosines[a, b] = math.nan
    return cosines, norms


def _flat_gradient(loss: Tensor, params: list[Tensor], retain_graph: bool) -> Tensor:
    """``d loss / d params`` flattened into one float64 vector (zeros where unused)."""
    if not params:
        return torch.zeros(0, dtype=torch.float64)
    if loss.requires_grad:
        grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
    else:  # a loss that does not depend on any parameter
        grads = (None,) * len(params)
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g.to_dense() if g.is_sparse else g)
            .reshape(-1)
            .double()
            for g, p in zip(grads, params)
        ]
    )


# =============================================================================== comparison
