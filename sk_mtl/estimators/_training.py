"""Training recipe pieces the estimators share: LR schedules, the weights' moving average,
the thread policy, the progress bar.

Each is chosen by measurement; see ``docs/defaults.md`` for the figures.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
from collections.abc import Callable, Iterator

import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from torch import nn
from torch.optim.swa_utils import get_ema_multi_avg_fn

__all__ = [
    "LEGACY_DEFAULTS",
    "LR_SCHEDULES",
    "MIN_VALID_ROWS",
    "PRE_SUITE_DEFAULTS",
    "PROGRESS_DELAY_S",
    "CosineDecay",
    "EpochProgressBar",
    "ResumableEarlyStopping",
    "WeightAverage",
    "cosine_schedule",
    "show_progress",
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
    "input_scaling": None,
    "ensemble_size": 1,
    "front_scale": None,
    "ema_decay": None,
    "optimizer_params": None,
}

#: The ``MultiTaskNet*`` defaults chosen on the wine table alone, before they were chosen on
#: the 20-table suite (``benchmarks/bench_suite.py``, ``docs/defaults.md``):
#: ``MultiTaskNet(**PRE_SUITE_DEFAULTS)`` trains as those did (dropout 0.1, no input scaling
#: of its own, one network rather than an ensemble); put a ``StandardScaler`` in front, as
#: they needed.
PRE_SUITE_DEFAULTS: dict = {
    "hidden_dims": (128, 128),
    "dropout": 0.1,
    "input_scaling": None,
    "ensemble_size": 1,
    "front_scale": None,
    "ema_decay": None,
    "optimizer_params": None,
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


class _SteppedTogether:
    """Several torch schedulers, one per optimizer, stepped as one."""

    def __init__(self, schedulers: list) -> None:
        self.schedulers = schedulers

    def step(self, *args) -> None:
        for scheduler in self.schedulers:
            scheduler.step(*args)

    def get_last_lr(self) -> list[float]:
        return [lr for scheduler in self.schedulers for lr in scheduler.get_last_lr()]


class EveryOptimizerLRScheduler(LRScheduler):
    """skorch's ``LRScheduler`` acting on every optimizer of the net, not only
    ``optimizer_``: the ``SparseAdam`` that trains the n-gram tables of text encoders and
    wide paths (``optimizer_sparse_``, its groups at ``lr`` or a multiple of it) follows the
    same schedule as the dense parameters, each group from its own starting rate. For
    policies indexed by the epoch (``LambdaLR`` and the like), as ``lr_schedule`` uses."""

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        optimizers = net.optimizers() if hasattr(net, "optimizers") else {
            "optimizer": net.optimizer_}
        if len(optimizers) == 1:
            return super()._get_scheduler(net, policy, **scheduler_kwargs)
        if "last_epoch" not in scheduler_kwargs:
            scheduler_kwargs["last_epoch"] = len(net.history) - 1
        schedulers = []
        for optimizer in optimizers.values():
            if scheduler_kwargs["last_epoch"] >= 0:
                # Resuming: a group that no schedule has started yet (a model file from
                # before the sparse tables followed it) starts from its rate now.
                for group in optimizer.param_groups:
                    group.setdefault("initial_lr", group["lr"])
            schedulers.append(policy(optimizer, **scheduler_kwargs))
        return _SteppedTogether(schedulers)


def cosine_schedule(max_epochs: int) -> LRScheduler:
    """skorch callback: cosine decay of the learning rate from ``lr`` to 0 over ``max_epochs``
    on every parameter group of every optimizer (torch's ``LambdaLR`` with
    :class:`CosineDecay`, stepped once per epoch; skorch starts it at the epoch the history
    has reached, so a resumed fit continues it)."""
    return EveryOptimizerLRScheduler(
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
        if getattr(net, "resuming_", False):
            if self.dynamic_threshold_ is not None:  # the same net goes on
                return
            if self._replay(net):  # a net rebuilt from a model file goes on
                return
        super().on_train_begin(net, **kwargs)

    def _replay(self, net) -> bool:
        """The patience count, best score and best epoch that the history's validation
        scores give, for a net rebuilt by ``sk_mtl.load`` (whose callbacks start new); the
        best weights are the net's own (``load_best`` restored them at the end of the fit
        that was saved). False when the history has no validation score."""
        scores = [(e["epoch"], e[self.monitor]) for e in net.history if self.monitor in e]
        if not scores:
            return False
        super().on_train_begin(net)
        for epoch, score in scores:
            if self._is_score_improved(score):
                self.misses_ = 0
                self.dynamic_threshold_ = self._calc_new_threshold(score)
                self.best_epoch_ = epoch
            else:
                self.misses_ += 1
        if self.load_best:
            self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())
        return True

    def on_epoch_end(self, net, **kwargs):
        if self.monitor not in net.history[-1]:
            return  # an epoch without validation (``partial_fit`` after ``fit``)
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            net.stopped_early_ = True
            raise


class WeightAverage:
    """An exponential moving average of a module's trainable parameters (``ema_decay``).

    After every optimizer step the average moves towards the weights:
    ``average = d * average + (1 - d) * weights`` (torch's
    ``torch.optim.swa_utils.get_ema_multi_avg_fn``), with ``d = min(decay, (1 + n) / (10 +
    n))`` at the ``n``-th step (TensorFlow's ``ExponentialMovingAverage(num_updates=...)``):
    until ``(1 + n) / (10 + n)`` reaches ``decay`` (about 2,000 steps for 0.995) the
    average weighs the ``k``-th of ``n`` steps about as ``(k / n) ** 8`` (60% of the weight
    on the last tenth), so neither the initial weights nor a horizon longer than the
    training dominate it. The average starts at the weights of the first training epoch's
    start.

    Between training epochs the module holds the average (:meth:`show`) and the trained
    weights wait in :attr:`live`; a training epoch puts them back first (:meth:`train`).
    Validation, early stopping's best epoch, snapshots and predictions thus all read the
    average, while the optimizer goes on with the trained weights.
    """

    def __init__(self, decay: float) -> None:
        self.decay = float(decay)
        self.steps = 0
        self.names: list[str] | None = None
        self.average: list[torch.Tensor] | None = None
        self.live: list[torch.Tensor] | None = None

    def _parameters(self, module: nn.Module) -> list[torch.Tensor]:
        params = dict(module.named_parameters())
        if self.names is None:
            self.names = [n for n, p in params.items() if p.requires_grad]
        return [params[n].detach() for n in self.names]

    def train(self, module: nn.Module) -> None:
        """Put the trained weights back in ``module`` (before a training epoch)."""
        params = self._parameters(module)
        if self.average is None:
            self.average = [p.clone() for p in params]
        if self.live is not None:
            for p, w in zip(params, self.live, strict=True):
                p.copy_(w)
            self.live = None

    def step(self, module: nn.Module) -> None:
        """Move the average towards ``module``'s weights (after an optimizer step)."""
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        get_ema_multi_avg_fn(decay)(self.average, self._parameters(module), None)
        self.steps += 1

    def show(self, module: nn.Module) -> None:
        """Put the average in ``module``, keeping its trained weights aside."""
        if self.live is not None or self.average is None:
            return
        params = self._parameters(module)
        self.live = [p.clone() for p in params]
        for p, w in zip(params, self.average, strict=True):
            p.copy_(w)

    def state_dict(self) -> dict | None:
        """The average's state (``None`` before training): its steps, the parameters'
        names, the average and the trained weights (``None`` while the module holds them)."""
        if self.average is None:
            return None
        return {"steps": self.steps, "names": list(self.names), "average": self.average,
                "live": self.live}

    def load_state_dict(self, state: dict, module: nn.Module) -> None:
        """Take ``state`` (from :meth:`state_dict`) for ``module``'s parameters, checking
        that it fits them; raises ``ValueError`` otherwise."""
        try:
            names, steps = list(state["names"]), state["steps"]
            average, live = list(state["average"]), state["live"]
            params = dict(module.named_parameters())
            expected = [n for n, p in params.items() if p.requires_grad]
            shapes_ok = all(
                len(ws) == len(names) and all(
                    tuple(w.shape) == tuple(params[n].shape) for n, w in zip(names, ws))
                for ws in ([average] if live is None else [average, list(live)])
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the weight average's state is malformed: {exc!r}") from None
        if names != expected or not shapes_ok or not isinstance(steps, int) or steps < 0:
            raise ValueError("the weight average's state does not fit the network's "
                             "parameters")
        device = next(iter(params.values())).device if params else None
        self.names, self.steps = names, steps
        self.average = [w.to(device, copy=True) for w in average]
        self.live = None if live is None else [w.to(device, copy=True) for w in live]


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


#: ``progress_bar="auto"`` draws its bar only once a fit has run this long, so that short
#: fits stay silent.
PROGRESS_DELAY_S = 2.0

#: Callers that fit many copies of an estimator: a fit called from code in these modules
#: draws no bar under ``"auto"`` (searches and their refit, ``cross_validate``,
#: ``cross_val_predict``, ``learning_curve``, bagging, calibration, one-vs-rest, ...,
#: ``TaskWeightSearchCV``, ``compare_single_task``, joblib and Dask workers)...
_QUIET_CALLERS = ("sklearn.", "joblib.", "distributed.", "dask.", "sk_mtl.model_selection",
                  "sk_mtl.diagnostics")
#: ...except these, which fit the estimator once: ``Pipeline``, ``ColumnTransformer`` and
#: ``TransformedTargetRegressor``, and scikit-learn's fit wrappers.
_SINGLE_FIT_CALLERS = ("sklearn.pipeline", "sklearn.compose", "sklearn.base", "sklearn.utils")


def _in_search() -> bool:
    """Whether this fit was called by code that fits many copies of an estimator."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.startswith(_QUIET_CALLERS) and not module.startswith(_SINGLE_FIT_CALLERS):
            return True
        frame = frame.f_back
    return False


def _interactive() -> bool:
    """Whether a person is likely watching: a Jupyter kernel, or stderr on a terminal."""
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def show_progress(progress_bar, partial: bool = False, verbose: int = 0) -> float | None:
    """The delay in seconds before a fit's epoch progress bar appears, or ``None`` for no
    bar.

    ``True`` draws it at once, ``False`` never. ``"auto"`` draws it after
    :data:`PROGRESS_DELAY_S` when someone is watching (a Jupyter kernel, or a terminal on
    stderr), except when the fit is called by code that fits many copies (a search and its
    refit, a cross-validation, an ensemble: the search's own ``verbose`` reports those), for
    ``partial_fit`` (one epoch per call) and with ``verbose`` > 0 (skorch's per-epoch table
    reports the epochs instead).

    Examples
    --------
    >>> show_progress(True), show_progress(False)
    (0.0, None)
    """
    if isinstance(progress_bar, bool):  # checked by the estimator: True, False or "auto"
        return 0.0 if progress_bar else None
    if partial or verbose or not _interactive() or _in_search():
        return None
    return PROGRESS_DELAY_S


class EpochProgressBar(Callback):
    """skorch callback: a tqdm bar over the epochs of a fit, with each task's latest loss
    (validation loss where there is a validation split, else training loss) in its postfix.

    ``tqdm.auto`` picks a notebook widget in Jupyter (a text bar where ipywidgets is
    missing) and a text bar in a terminal. The bar stops where early stopping stops, and
    then says so.

    Parameters
    ----------
    delay : float or None, default=0.0
        Seconds before the bar appears (tqdm's ``delay``): a fit that ends sooner draws
        nothing; ``None`` draws none. A net's ``progress_delay_``, which the estimators set
        before each call that trains, takes precedence.
    desc : str, default="fit"
        Label in front of the bar.
    file : file-like, default=None
        Where the bar is written (tqdm's default: ``sys.stderr``).
    """

    def __init__(self, delay: float | None = 0.0, desc: str = "fit", file=None) -> None:
        self.delay = delay
        self.desc = desc
        self.file = file

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.close_bar()
        delay = getattr(net, "progress_delay_", self.delay)
        if delay is None:
            return
        total = max(int(net.max_epochs) - len(net.history), 0)
        options = dict(total=total, unit="epoch", desc=self.desc, delay=delay,
                       file=self.file, leave=True, dynamic_ncols=True)
        try:
            from tqdm.auto import tqdm

            self.bar_ = tqdm(**options)
        except ImportError:  # a notebook without ipywidgets: a text bar instead
            from tqdm.std import tqdm

            self.bar_ = tqdm(**options)

    def on_epoch_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is None:
            return
        last = net.history[-1]
        names = net.weighting.task_names_
        prefix = "valid_loss_" if f"valid_loss_{names[0]}" in last else "train_loss_"
        bar.set_postfix({n: last[prefix + n] for n in names if prefix + n in last},
                        refresh=False)
        bar.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None and getattr(net, "stopped_early_", False):
            bar.set_description(f"{self.desc} (stopped early)", refresh=False)
        self.close_bar()

    def close_bar(self) -> None:
        """Close the bar, if one is drawn."""
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None

    def __getstate__(self):
        # The bar is a live terminal/widget handle: epoch snapshots and pickles leave it out.
        state = dict(self.__dict__)
        state.pop("bar_", None)
        return state
