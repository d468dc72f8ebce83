"""Training recipe pieces the estimators share: LR schedules, the thread policy.

Each is chosen by measurement; see ``docs/defaults.md`` for the figures.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
from skorch.callbacks import EarlyStopping, LRScheduler

__all__ = [
    "LEGACY_DEFAULTS",
    "LR_SCHEDULES",
    "MIN_VALID_ROWS",
    "CosineDecay",
    "ResumableEarlyStopping",
    "cosine_schedule",
    "torch_threads",
]

#: The ``MultiTaskNet*`` defaults before the measured recipe of ``docs/defaults.md``:
#: ``MultiTaskNet(**LEGACY_DEFAULTS)`` trains as sk_mtl 0.1.0.dev0 did (Adam at a constant
#: 1e-3, one hidden layer of 100, batches of 128, 100 epochs without early stopping, no
#: retrieval features, torch's own thread count).
LEGACY_DEFAULTS: dict = {
    "hidden_dims": (100,),
    "dropout": 0.0,
    "optimizer": "adam",
    "lr": 1e-3,
    "lr_schedule": None,
    "batch_size": 128,
    "early_stopping": False,
    "n_threads": None,
    "retrieval": None,
}

#: ``early_stopping="auto"`` stops early only when the validation split has this many rows;
#: below it the validation loss is too noisy to pick an epoch by.
MIN_VALID_ROWS = 20


class CosineDecay:
    """The factor ``(1 + cos(pi * epoch / max_epochs)) / 2`` of the learning rate (0 from
    ``max_epochs`` on): ``CosineAnnealingLR``'s closed form, a function of the epoch alone, so
    that a resumed fit continues the schedule exactly where it stopped.

    Examples
    --------
    >>> [round(CosineDecay(4)(e), 3) for e in range(6)]
    [1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """

    def __init__(self, max_epochs: int) -> None:
        self.max_epochs = max_epochs

    def __call__(self, epoch: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, self.max_epochs) / self.max_epochs))


def cosine_schedule(max_epochs: int) -> LRScheduler:
    """skorch callback: cosine decay of the learning rate from ``lr`` to 0 over ``max_epochs``
    (torch's ``LambdaLR`` with :class:`CosineDecay`, stepped once per epoch; skorch starts it
    at the epoch the history has reached, so a resumed fit continues it)."""
    return LRScheduler(
        policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=CosineDecay(max_epochs),
        step_every="epoch",
    )


class ResumableEarlyStopping(EarlyStopping):
    """skorch ``EarlyStopping`` that a resumed fit continues (its patience count, best score
    and best weights are kept) and that tells the net it stopped the training.

    skorch stops a fit by raising ``KeyboardInterrupt`` from a callback; the net sets
    ``stopped_early_`` from here to tell that apart from a user's Ctrl-C.
    """

    def on_train_begin(self, net, **kwargs):
        if getattr(net, "resuming_", False) and hasattr(self, "misses_"):
            return
        super().on_train_begin(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return  # an epoch without validation (``partial_fit`` after ``fit``)
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            net.stopped_early_ = True
            raise


#: Names accepted by ``lr_schedule=``: a function ``max_epochs -> skorch callback``, or None
#: for a constant learning rate.
LR_SCHEDULES: dict[str | None, Callable[[int], LRScheduler] | None] = {
    None: None,
    "constant": None,
    "cosine": cosine_schedule,
}


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_threads)``, then restore the old count.

    ``None`` leaves torch's setting alone. The count is process-wide: this is meant for the
    estimator's own fit and predict, not for code running in other threads at the same time.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.estimators._training import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    if before == n_threads:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
