"""The private skorch net that trains a multi-task module on whole-tensor batches.

This module and ``_base.py`` are the only places that know skorch internals. The public
estimators compose this net (``estimator.net_``) instead of subclassing skorch, so that their
own parameters are plain scikit-learn parameters.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring
from torch import Tensor, nn

from ..data import BatchIterator, TensorData
from ..exceptions import TrainingDivergedError
from ..modules import FusionTrunk, set_fusion_weights
from ..weighting import Weighting
from ._training import WeightAverage

__all__ = ["EVAL_BATCH_SIZE", "MultiTaskCriterion", "MultiTaskSkorchNet"]

#: Smallest batch for validation passes (rows).
EVAL_BATCH_SIZE = 1024
#: Rows of every prediction batch on the CPU: inputs are predicted in blocks of this many
#: rows, the last one padded, so that a row's output does not depend on the rows sent with it
#: (float32 kernels may round differently for other shapes).
PREDICT_BLOCK_SIZE = 256
#: The same on an accelerator (CUDA): each block is one kernel launch per layer, so 256-row
#: blocks made prediction of 50,000 rows 7x slower than a hand loop's 2,048-row batches on an
#: H200 (``bench_overhead.py --device cuda``); a padded 4,096-row block costs about as much as
#: a 256-row one there.
DEVICE_PREDICT_BLOCK_SIZE = 4096

#: Tasks of one loss kind computed in one call from this many on (for fewer, the stacking
#: costs more than the separate calls it saves).
_MIN_BATCHED_TASKS = 4


def predict_block_size(device) -> int:
    """Rows of each (padded) prediction block on ``device``: :data:`PREDICT_BLOCK_SIZE` on
    the CPU, :data:`DEVICE_PREDICT_BLOCK_SIZE` on an accelerator. Fixed per device, so a
    row's output does not depend on the rows predicted with it on either."""
    return PREDICT_BLOCK_SIZE if torch.device(device).type == "cpu" else DEVICE_PREDICT_BLOCK_SIZE


class MultiTaskCriterion(nn.Module):
    """Per-task masked losses: ``({task: pred}, {task: (target, mask)}) -> {task: loss}``.

    ``weighting_module`` holds the learnable parameters of the task weighting, if any, so that
    skorch trains, moves and saves them with the network.
    """

    def __init__(
        self, losses: Mapping[str, nn.Module], weighting_module: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.task_names = list(losses)
        self.losses = nn.ModuleList(losses.values())
        self.weighting_module = weighting_module
        # Tasks whose losses share a ``batch_key`` (one output column each: binary,
        # regression with the same error) are computed in one call on their stacked columns:
        # with 64 tasks that is one loss call per batch instead of 64.
        groups: dict[tuple, list[int]] = {}
        for i, loss in enumerate(self.losses):
            key = getattr(loss, "batch_key", None)
            groups.setdefault(("single", i) if key is None else key, []).append(i)
        small = [idx for idx in groups.values() if len(idx) < _MIN_BATCHED_TASKS]
        self._batched = [idx for idx in groups.values() if len(idx) >= _MIN_BATCHED_TASKS]
        self._single = sorted(i for idx in small for i in idx)

    def forward(
        self, preds: Mapping[str, Tensor], targets: Mapping[str, tuple[Tensor, Tensor | None]]
    ) -> dict[str, Tensor]:
        names = self.task_names
        preds, targets = _flatten_members(preds, targets)
        out: dict[str, Tensor] = {}
        for group in self._batched:
            group_names = [names[i] for i in group]
            columns = torch.cat([preds[n] for n in group_names], dim=1)
            target = torch.stack([targets[n][0] for n in group_names], dim=1)
            masks = [targets[n][1] for n in group_names]
            mask = None
            if any(m is not None for m in masks):
                mask = torch.stack(
                    [torch.ones_like(target[:, 0], dtype=torch.bool) if m is None else m
                     for m in masks],
                    dim=1,
                )
            values = self.losses[group[0]].forward_columns(columns, target, mask)
            out.update(zip(group_names, values.unbind(0)))
        for i in self._single:
            out[names[i]] = self.losses[i](preds[names[i]], *targets[names[i]])
        return {name: out[name] for name in names}


def _flatten_members(preds, targets):
    """Ensemble members' outputs ``(n, k, d)`` as ``n * k`` rows, each row's target repeated
    per member, and its mask too, unless the mask is already per member ``(n, k)`` (rows that
    a member does not see weigh 0 in its loss): the members' losses, averaged."""
    k = next((p.shape[1] for p in preds.values() if p.ndim == 3), None)
    if k is None:
        return preds, targets
    preds = {n: p.reshape(-1, p.shape[-1]) for n, p in preds.items()}
    targets = {n: (t.repeat_interleave(k, dim=0), _member_mask(m, k))
               for n, (t, m) in targets.items()}
    return preds, targets


def _member_mask(mask: Tensor | None, k: int) -> Tensor | None:
    if mask is None:
        return None
    return mask.reshape(-1) if mask.ndim == 2 else mask.repeat_interleave(k, dim=0)


def _per_member(yi) -> bool:
    """Whether a batch's masks are per ensemble member (cross-fitted validation rows)."""
    return any(m is not None and m.ndim == 2 for _, m in yi.values())


@dataclass
class _EpochLog:
    """What the batches of one epoch leave for its per-task averages."""

    losses: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    objectives: list = field(default_factory=list)
    alignments: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    batch_count: int = 0


class MultiTaskSkorchNet(NeuralNet):
    """skorch ``NeuralNet`` over :class:`~sk_mtl.data.TensorData` with per-task losses.

    Differences from ``NeuralNet``:

    - batches are sliced from whole tensors by :class:`~sk_mtl.data.BatchIterator`;
    - the criterion returns one loss per task and ``weighting.backward`` turns them into
      gradients (a weighted sum, or an aggregation of per-task gradients), plus the
      gradients of the L1/L2 penalties;
    - ``history`` gets ``train_loss_<task>`` / ``valid_loss_<task>`` (means over labelled rows),
      ``train_objective`` (the weighted, penalised loss) and ``weight_<task>`` every epoch;
      ``train_loss`` / ``valid_loss`` are the unweighted sums of task losses, so early stopping
      compares fairly across task weightings;
    - a non-finite training loss or weight ends the fit: ``on_divergence="raise"`` raises
      :class:`~sk_mtl.exceptions.TrainingDivergedError`, ``"restore"`` puts back the weights of
      the last finite epoch, warns and stops;
    - every completed epoch leaves a snapshot (weights, optimizer, weighting and callback
      states, random number generators) that :meth:`resume` continues from, so an interrupted
      fit resumed to ``max_epochs`` ends where an uninterrupted one does;
    - with BatchNorm layers, a one-row training batch is skipped (batch statistics of one row
      are undefined);
    - with ``ema_decay``, an exponential moving average of the weights
      (:class:`~sk_mtl.estimators._training.WeightAverage`, ``average_``) follows every
      optimizer step; between training epochs the module holds it, so validation, early
      stopping's best weights, snapshots and predictions read the average, and each
      training epoch goes on from the trained weights;
    - with ``data_parallel_`` set (a :class:`~sk_mtl.estimators._parallel.DataParallel`,
      by the estimator before each call that trains), the module trains wrapped in torch's
      ``DistributedDataParallel``: each process takes its share of every batch, each
      task's loss is rescaled so that the averaged gradient is the global batch's, and the
      epoch's losses (``train_loss``, ``valid_loss`` and the per-task ones) are summed over
      the processes before any callback reads them.
    """

    def __init__(
        self,
        *args,
        weighting: Weighting,
        lambda_l1: float = 0.0,
        lambda_l2: float = 0.0,
        shuffle_seed: int = 0,
        on_divergence: str = "raise",
        alignment_weight: float = 0.0,
        fusion_conditioning=None,
        ema_decay: float | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ema_decay = ema_decay
        self.alignment_weight = alignment_weight
        self.fusion_conditioning = fusion_conditioning
        self.weighting = weighting
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.shuffle_seed = shuffle_seed
        self.on_divergence = on_divergence

    def initialize_module(self):
        super().initialize_module()
        self.has_batch_norm_ = any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.module_.modules()
        )
        self.average_ = None if self.ema_decay is None else WeightAverage(self.ema_decay)
        return self

    def _aligned_trunks(self) -> list[FusionTrunk]:
        if not self.alignment_weight:
            return []
        return [m for m in self.module_.modules()
                if isinstance(m, FusionTrunk) and m.aligner is not None]

    def _pop_alignment(self) -> Tensor | None:
        """The alignment loss the last forward pass left (``alignment_weight > 0``), from the
        trunks the running epoch records it in."""
        losses = []
        for trunk in getattr(self, "_recording", ()):
            if trunk.alignment_loss_ is not None:
                losses.append(trunk.alignment_loss_)
                trunk.alignment_loss_ = None
        return sum(losses) if losses else None

    def get_default_callbacks(self):
        # skorch's epoch-level train_loss / valid_loss, summed over the processes of a
        # data-parallel fit.
        return [
            (name, _GroupPassthrough(cb.name, cb.lower_is_better, cb.on_train))
            if isinstance(cb, PassthroughScoring) else (name, cb)
            for name, cb in super().get_default_callbacks()
        ]

    @property
    def _parallel(self):
        return getattr(self, "data_parallel_", None)

    # --- batching -------------------------------------------------------------------------
    def get_iterator(self, dataset: TensorData, training: bool = False) -> BatchIterator:
        generator = None
        batch_size = self.batch_size
        parallel = self._parallel
        shard = None if parallel is None else (parallel.rank, parallel.world_size)
        if training:
            # One generator for the whole training, across resumed fits.
            if getattr(self, "shuffle_generator_", None) is None:
                self.shuffle_generator_ = torch.Generator().manual_seed(self.shuffle_seed)
            generator = self.shuffle_generator_
        elif not dataset.targets:  # prediction: fixed, padded blocks
            return BatchIterator(dataset, predict_block_size(self.device), device=self.device,
                                 pad=True)
        elif batch_size != -1:
            # Validation and prediction need no small batches: fewer, larger ones make the
            # validation pass cost about one forward pass over its rows.
            batch_size = max(batch_size, EVAL_BATCH_SIZE)
        # Data-parallel validation computes each global batch's losses exactly (its
        # counts summed over the processes) where the processes share the global batches;
        # a streamed table's processes read different pieces.
        self._global_batches = not hasattr(dataset, "iterator")
        if hasattr(dataset, "iterator"):  # a streamed table (sk_mtl.data._stream)
            return dataset.iterator(batch_size, training, generator, self.device, shard)
        return BatchIterator(
            dataset, batch_size, shuffle=training, generator=generator, device=self.device,
            shard=shard,
        )

    def infer(self, x: Tensor, **fit_params) -> dict[str, Tensor]:
        return self.module_(x, **fit_params)

    def _set_training(self, training: bool = True) -> None:
        # Called on every batch by skorch; switching modes walks every submodule.
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    # --- optimizers -----------------------------------------------------------------------
    def _sparse_parameters(self) -> set[int]:
        return {
            id(m.weight)
            for m in self.module_.modules()
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse
        }

    def initialize_optimizer(self, triggered_directly=None):
        """The user's optimizer for dense parameters; ``SparseAdam`` (same ``lr``, or the
        multiple a module's ``scaled_parameters()`` asks for) for embedding tables with
        sparse gradients (the n-gram tables of text encoders and wide paths)."""
        sparse_ids = self._sparse_parameters()
        named = list(self.get_all_learnable_params())
        dense = [(n, p) for n, p in named if id(p) not in sparse_ids]
        sparse = [p for _, p in named if id(p) in sparse_ids]
        args, kwargs = self.get_params_for_optimizer("optimizer", dense)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        if sparse:
            # A module may ask for a multiple of lr for some of its parameters (a wide path
            # through ``scaled_parameters()``).
            scale_of = {
                id(p): float(scale)
                for m in self.module_.modules() if hasattr(m, "scaled_parameters")
                for p, scale in m.scaled_parameters()
            }
            scales = sorted({scale_of.get(id(p), 1.0) for p in sparse})
            groups = [
                {"params": [p for p in sparse if scale_of.get(id(p), 1.0) == scale],
                 "lr": self.lr * scale}
                for scale in scales
            ]
            self.optimizer_sparse_ = torch.optim.SparseAdam(groups, lr=self.lr)
        return self

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The initialized optimizers by name (``"optimizer"``, and ``"optimizer_sparse"``
        when sparse embedding tables train apart), in the order they step."""
        return {name: getattr(self, name + "_") for name in self._optimizers}

    def _step_optimizer(self, step_fn):
        # The closure runs once, through the first optimizer; the others just step.
        names = list(self._optimizers)
        getattr(self, names[0] + "_").step(step_fn)
        for name in names[1:]:
            getattr(self, name + "_").step()

    # --- loss -----------------------------------------------------------------------------
    def penalty(self) -> Tensor | None:
        """``lambda_l1 * ||W||_1 + lambda_l2 * ||W||_2^2`` over weight matrices (not biases,
        not the sparse n-gram tables, whose dense penalty gradient would defeat sparsity)."""
        if not (self.lambda_l1 or self.lambda_l2):
            return None
        total = None
        sparse_ids = self._sparse_parameters()
        for param in self.module_.parameters():
            if param.ndim < 2 or not param.requires_grad or id(param) in sparse_ids:
                continue
            term = 0.0
            if self.lambda_l1:
                term = self.lambda_l1 * param.abs().sum()
            if self.lambda_l2:
                term = term + self.lambda_l2 * param.pow(2).sum()
            total = term if total is None else total + term
        return total

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """``(objective, {task: loss})``; the objective is ``weighting.combine`` of the losses."""
        task_losses = self.criterion_(y_pred, y_true)
        return self.weighting.combine(task_losses), task_losses

    def train_step_single(self, batch, **fit_params):
        if getattr(self, "_ddp", None) is not None:
            return self._train_step_parallel(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        fusion = getattr(self, "fusion_conditioning", None)
        if fusion is not None:  # a fresh fusion-weight vector for every training row
            set_fusion_weights(self.module_, fusion.names_, fusion.draw(_batch_len(batch)))
        if self._conditioned:  # a fresh task-weight vector for every training row
            drawn = self.weighting.draw(_batch_len(batch))
            self.module_.trunk.set_condition(drawn)
            y_pred = self.infer(Xi, **fit_params)
            task_losses = self.weighting.training_losses(self.criterion_, y_pred, yi, drawn)
        else:
            y_pred = self.infer(Xi, **fit_params)
            task_losses = self.criterion_(y_pred, yi)
        alignment = self._pop_alignment()
        if alignment is not None:
            # First, keeping the graph the task losses share with it through the encoders;
            # every weighting adds its gradients to these.
            (self.alignment_weight * alignment).backward(retain_graph=True)
        objective = self.weighting.backward(task_losses, self.module_)
        penalty = self.penalty()
        if penalty is not None:
            penalty.backward()
            objective = objective + penalty.detach()
        step = {"loss": objective, "y_pred": y_pred, "task_losses": task_losses}
        if alignment is not None:
            step["alignment"] = alignment.detach()
            step["loss"] = objective + self.alignment_weight * step["alignment"]
        return step

    def _train_step_parallel(self, batch, **fit_params):
        """One process's step of a data-parallel batch: its part's task losses, each
        rescaled by the part's share of the task's labelled rows in the global batch,
        combined with the penalty into one objective, back-propagated once through DDP
        (which averages the gradients over the processes as they are computed).

        The step's ``loss`` and ``batch_loss`` are this process's part of the global
        batch's objective and summed task losses, ``batch_weight`` its part of the global
        batch's rows: their weighted sums over the processes are the global values."""
        self._set_training(True)
        Xi, yi = batch
        y_pred = self._ddp(Xi, **fit_params)
        task_losses = self.criterion_(y_pred, yi)
        scaled, weight = self._parallel.scale_losses(task_losses, yi, _batch_len(batch))
        objective = self.weighting.combine(scaled)
        penalty = self.penalty()
        if penalty is not None:
            objective = objective + penalty
        objective.backward()
        return {"loss": objective.detach(), "y_pred": y_pred, "task_losses": task_losses,
                "batch_loss": sum(scaled.values()).detach(), "batch_weight": weight}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        # Cross-fitted members are validated one by one on the rows they did not see (the
        # out-of-fold loss), not averaged.
        members = _per_member(yi)
        with torch.no_grad():
            self.module_.member_outputs = members
            try:
                y_pred = self.infer(Xi, **fit_params)
            finally:
                self.module_.member_outputs = False
            objective, task_losses = self.get_loss(y_pred, yi, X=Xi, training=False)
            alignment = self._pop_alignment()
        step = {"loss": objective, "y_pred": y_pred, "task_losses": task_losses}
        if self._parallel is not None and self._global_batches:
            # This process's parts of the global batch's values.
            scaled, step["batch_weight"] = self._parallel.scale_losses(
                task_losses, yi, _batch_len(batch))
            step["loss"] = self.weighting.combine(scaled)
            step["batch_loss"] = sum(scaled.values())
        if alignment is not None:
            step["alignment"] = alignment
        return step

    # --- the epoch ------------------------------------------------------------------------
    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        # The alignment loss is computed in training and validation epochs only; the trunks
        # that record it are looked up once per epoch, not per batch.
        self._recording = self._aligned_trunks()
        for trunk in self._recording:
            trunk.record_alignment = True
        average = self._average if training else None
        if average is not None:
            average.train(self.module_)
        try:
            self._run_epoch(iterator, training, prefix, step_fn, **fit_params)
        finally:
            for trunk in self._recording:
                trunk.record_alignment = False
                trunk.alignment_loss_ = None
            self._recording = ()
        if average is not None:  # what validation and the callbacks read
            average.show(self.module_)

    @property
    def _average(self) -> WeightAverage | None:
        return getattr(self, "average_", None)

    def _run_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if not training:
            self._condition_on_target()
        log = self._run_batches(iterator, training, prefix, step_fn, fit_params)
        self.history.record(prefix + "_batch_count", log.batch_count)
        # A process whose share of the validation rows is empty still takes part in the
        # sums over the processes.
        if not log.batch_count and self._parallel is None:
            return
        epoch_losses = self._record_losses(log, prefix)
        if training:
            self._end_training_epoch(log, epoch_losses)

    def _run_batches(self, iterator, training, prefix, step_fn, fit_params) -> _EpochLog:
        """Run ``step_fn`` on every batch; one row per batch of all tasks' losses and
        labelled-row counts: a few tensor ops a batch whatever the number of tasks."""
        names = self.weighting.task_names_
        log = _EpochLog()
        skip_single = training and getattr(self, "has_batch_norm_", False)
        for batch in iterator:
            if skip_single and _batch_len(batch) == 1:
                continue  # BatchNorm cannot normalise one row
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            if training and self._average is not None:
                self._average.step(self.module_)
            task_losses = step["task_losses"]
            row = torch.stack([task_losses[name] for name in names]).detach()
            # A data-parallel step gives this process's part of the global batch's loss
            # and weight (its sums over the processes are the global batch's).
            self.history.record_batch(prefix + "_loss",
                                      float(step.get("batch_loss", row.sum())))
            size = _batch_len(batch)
            weight = step.get("batch_weight", size)
            self.history.record_batch(prefix + "_batch_size", weight)
            log.sizes.append(weight)
            if training:  # the weighted objective is logged for training epochs only
                log.objectives.append(step["loss"])
            if "alignment" in step:
                log.alignments.append(step["alignment"])
            log.losses.append(row)
            masks = [batch[1][name][1] for name in names]
            if all(m is None for m in masks):
                log.counts.append(float(size))  # every task labelled on every row
            else:
                # Summed on the masks' device, without a host sync per batch.
                full = torch.full((), float(size), dtype=torch.float64, device=row.device)
                log.counts.append(
                    torch.stack([full if m is None else m.sum().double() for m in masks])
                )
            self.notify("on_batch_end", batch=batch, training=training, **step)
            log.batch_count += 1
        return log

    def _record_losses(self, log: _EpochLog, prefix: str) -> dict[str, float]:
        """Each task's mean loss over its labelled rows of the epoch (and the alignment)."""
        names = self.weighting.task_names_
        if log.losses:
            values = torch.stack(log.losses).double().cpu()  # (batches, tasks)
            weights = torch.stack([
                torch.full((len(names),), c, dtype=torch.float64) if isinstance(c, float)
                else c.cpu()
                for c in log.counts
            ])
        else:  # this process's share of a data-parallel validation set is empty
            values = weights = torch.zeros((0, len(names)), dtype=torch.float64)
        if log.alignments:
            values_a = torch.stack(log.alignments).double().cpu()
            sizes_a = torch.tensor(log.sizes, dtype=torch.float64)
            self.history.record(f"{prefix}_alignment",
                                float((values_a * sizes_a).sum() / sizes_a.sum()))
        sums, totals = (values * weights).sum(dim=0), weights.sum(dim=0)
        if self._parallel is not None:
            sums, totals = self._parallel.sum(torch.cat([sums, totals])).split(len(names))
        means = sums / totals.clamp_min(1.0)
        epoch_losses = {}
        for j, name in enumerate(names):
            mean = float(means[j]) if totals[j] else float("nan")
            self.history.record(f"{prefix}_loss_{name}", mean)
            epoch_losses[name] = mean
        return epoch_losses

    def _end_training_epoch(self, log: _EpochLog, epoch_losses: dict[str, float]) -> None:
        """Log the objective and the task weights; let the weighting adapt; check that
        training is still finite."""
        values = torch.stack(log.objectives).double().cpu()
        weights = torch.tensor(log.sizes, dtype=torch.float64)
        total, size = (values * weights).sum(), weights.sum()
        if self._parallel is not None:
            total, size = self._parallel.sum(torch.stack([total, size]))
        self.history.record("train_objective", float(total / size))
        for name, weight in self.weighting.current_weights().items():
            self.history.record(f"weight_{name}", weight)
        self.weighting.epoch_end(epoch_losses)
        self._condition_on_target()
        self._check_finite(epoch_losses, float(self.history[-1, "train_objective"]))

    @property
    def _conditioned(self) -> bool:
        return getattr(self.weighting, "conditions", False)

    def _condition_on_target(self) -> None:
        """Validation and prediction read the bound task and fusion weights, not a training
        draw."""
        if self._conditioned:
            self.weighting.end_draws()
            self.module_.trunk.set_condition(self.weighting.target())
        fusion = getattr(self, "fusion_conditioning", None)
        if fusion is not None:
            set_fusion_weights(self.module_, fusion.names_, fusion.target())

    # --- divergence, interruption, resuming -----------------------------------------------
    def _check_finite(self, epoch_losses: dict[str, float], objective: float) -> None:
        bad_losses = {n: v for n, v in epoch_losses.items() if not math.isfinite(v)}
        # A task without labelled rows in the epoch has a NaN mean: not a divergence.
        bad_losses = {n: v for n, v in bad_losses.items() if not math.isnan(v) or
                      math.isnan(objective)}
        bad_params = [
            n for n, p in self.module_.named_parameters() if not bool(torch.isfinite(p).all())
        ]
        if math.isfinite(objective) and not bad_losses and not bad_params:
            return
        epoch = len(self.history)
        what = (f"the training loss is {objective:.3g}" if not math.isfinite(objective)
                else f"the weights {bad_params[:3]} are not finite")
        message = (
            f"Training diverged in epoch {epoch}: {what}"
            + (f" (task losses {bad_losses})" if bad_losses else "")
            + f". Lower the learning rate (lr={self.lr}), scale the inputs (e.g. "
            "StandardScaler) and targets, or lower large task/fusion weights."
        )
        snapshot = getattr(self, "snapshot_", None)
        if self.on_divergence == "restore" and snapshot is not None:
            self._restore(snapshot)
            warnings.warn(
                f"{message} The weights of epoch {len(self.history)}, the last finite one, "
                "were restored and training stopped.",
                UserWarning,
                stacklevel=2,
            )
            self.diverged_ = True
            raise KeyboardInterrupt  # skorch's way to end fit_loop
        raise TrainingDivergedError(message)

    def notify(self, method_name, **cb_kwargs):
        if method_name == "on_train_end" and self._average is not None:
            # A training epoch that was interrupted left the trained weights in the
            # module; the fit ends on the average (early stopping may then restore a
            # better epoch's).
            self._average.show(self.module_)
        super().notify(method_name, **cb_kwargs)
        # Every callback has seen the epoch: it is complete. Keep it if its weights are finite.
        if method_name == "on_epoch_end" and all(
            bool(torch.isfinite(p).all()) for p in self.module_.parameters()
        ):
            self.snapshot_ = self._snapshot()

    def _snapshot(self) -> dict:
        state = {
            "epochs": len(self.history),
            "module": self.module_.state_dict(),
            "criterion": self.criterion_.state_dict(),
            "optimizers": {n: getattr(self, n + "_").state_dict() for n in self._optimizers},
            "weighting": self.weighting,
            "callbacks": self.callbacks_,
            "average": self._average,
            "shuffle": self.shuffle_generator_.get_state(),
            "rng": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and str(self.device).startswith("cuda"):
            state["cuda_rng"] = torch.cuda.get_rng_state(torch.device(self.device))
        return copy.deepcopy(state)

    def _restore(self, snapshot: dict) -> None:
        snapshot = copy.deepcopy(snapshot)
        del self.history[snapshot["epochs"]:]
        self.module_.load_state_dict(snapshot["module"])
        self.criterion_.load_state_dict(snapshot["criterion"])
        for name, state in snapshot["optimizers"].items():
            getattr(self, name + "_").load_state_dict(state)
        self.weighting = snapshot["weighting"]
        self.callbacks_ = snapshot["callbacks"]
        self.average_ = snapshot["average"]
        self.shuffle_generator_.set_state(snapshot["shuffle"])
        torch.set_rng_state(snapshot["rng"])
        if "cuda_rng" in snapshot:
            torch.cuda.set_rng_state(snapshot["cuda_rng"], torch.device(self.device))

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, telling apart an early stop, a divergence and a user's
        interruption (``interrupted_``), which skorch all end with ``KeyboardInterrupt``."""
        if not self.initialized_:
            self.initialize()
        routing_method = fit_params.pop("_routing_method", "partial_fit")
        epochs = fit_params.pop("epochs", None)
        self.interrupted_ = self.stopped_early_ = self.diverged_ = False
        parallel = self._parallel
        if parallel is not None:  # rank 0's weights broadcast to every process
            # Not through skorch's __setattr__, which would register a module set on the
            # net as one of its own (saved, moved, its parameters listed twice).
            object.__setattr__(self, "_ddp", parallel.wrap(
                self.module_, self.criterion_, torch.device(self.device)))
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, epochs=epochs, _routing_method=routing_method, **fit_params)
        except KeyboardInterrupt:
            self.interrupted_ = not (self.stopped_early_ or self.diverged_)
        except BaseException:
            for _, callback in self.callbacks_:  # a live progress bar ends with the fit
                if hasattr(callback, "close_bar"):
                    callback.close_bar()
            raise
        finally:
            # It holds the process group: not kept, copied or pickled with the net.
            object.__setattr__(self, "_ddp", None)
        self.notify("on_train_end", X=X, y=y)
        self.resuming_ = False
        if not self.interrupted_:
            self.snapshot_ = None  # only a resume after an interruption needs it
            self.rng_state_ = torch.get_rng_state()
        return self

    def resume(self, X, epochs: int) -> MultiTaskSkorchNet:
        """Train ``epochs`` more epochs from the last completed epoch (after an interruption)
        or from the current state, with the same generators and callback states."""
        snapshot = getattr(self, "snapshot_", None)
        if snapshot is not None:
            self._restore(snapshot)
        elif getattr(self, "rng_state_", None) is not None:
            torch.set_rng_state(self.rng_state_)
        self.resuming_ = True
        if epochs > 0:
            self.partial_fit(X, None, epochs=epochs)
        self.resuming_ = False
        return self


class _GroupPassthrough(PassthroughScoring):
    """skorch's ``PassthroughScoring`` (the epoch's batch-size-weighted mean of a batch
    score), over the batches of every process of a data-parallel fit: each process sums
    its batches, the sums are added over the processes, and every process records the
    same value (so early stopping stops them all at the same epoch)."""

    def on_epoch_end(self, net, **kwargs):
        parallel = getattr(net, "data_parallel_", None)
        if parallel is None:
            return super().on_epoch_end(net, **kwargs)
        key = "train_batch_size" if self.on_train else "valid_batch_size"
        batches = [b for b in net.history[-1, "batches"] if self.name in b and key in b]
        local = torch.tensor([sum(b[key] * b[self.name] for b in batches),
                              sum(b[key] for b in batches)], dtype=torch.float64)
        total, size = parallel.sum(local).tolist()
        if not size:  # no process had such batches (e.g. no validation set)
            return
        score = total / size
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        net.history.record(self.name, score)
        if is_best is not None:
            net.history.record(self.name + "_best", bool(is_best))


def _batch_len(batch) -> int:
    X, y = batch
    if isinstance(X, Tensor):
        return len(X)
    return len(next(iter(y.values()))[0])  # several modalities: count the target rows
