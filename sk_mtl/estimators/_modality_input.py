"""The modality input of the ``FusionNet*`` estimators (see :mod:`._inputs`).

``X`` as a dict of modalities, a DataFrame split by ``modalities=`` (or by column kind), or
one 2-D block: each modality's converter (:mod:`sk_mtl.data`) fitted, its encoder chosen
(:mod:`sk_mtl.encoders`), the fusion (:mod:`sk_mtl.fusion`) joining them, and retrieval
features read as one more modality. Reads the estimator's ``modalities``, ``encoders``,
``fusion``, ``fusion_weights``, ``learn_fusion_weights``, ``fusion_conditioning``,
``encoder_dim``, ``fusion_dim``, ``modality_dropout``, ``text_*``, ``retrieval`` and
``alignment_weight``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..data import NeighbourTargets, plan_modalities, split_modalities
from ..data._retrieval import make_retrieval
from ..encoders import MLP, make_encoder, plan_modality
from ..fusion import FUSIONS, make_fusion, make_fusion_conditioning
from ..modules import (
    FusionTrunk,
    ModalityAligner,
    ModalityWeights,
    WidePath,
    infer_out_features,
    set_fusion_weights,
)
from ..tasks import Task
from ..weighting import (
    MAX_WEIGHT,
    WEIGHTINGS,
    GradientWeighting,
    make_weighting,
    resolve_weights,
)
from ._builder import dropout_rate, trunk_module
from ._inputs import NetworkInput, n_rows, validate_table
from ._training import torch_threads

__all__ = ["RETRIEVAL_MODALITY", "ModalityInput"]

#: The network's name for the retrieval features, read as one more modality.
RETRIEVAL_MODALITY = "_neighbours"


class ModalityInput(NetworkInput):
    """Several modalities, each converted and encoded on its own, joined by a fusion."""

    def _retrieval_sources(self, est) -> list[str]:
        """The dense tabular modalities, whose joined columns the retrieval looks up."""
        return [
            m for m in est.modality_names_
            if est.modalities_[m].kind == "tabular" and not est.modalities_[m].sparse_
        ]

    def make_retrieval(self, est, X_data) -> NeighbourTargets | None:
        sources = self._retrieval_sources(est)
        width = sum(est.modalities_[m].n_features_ for m in sources)
        return make_retrieval(est.retrieval, (n_rows(X_data), width), False, False)

    def retrieval_rows(self, est, X_data) -> np.ndarray:
        # Standardized by their modality; a row without the modality reads zeros (the
        # training mean) and its retrieval features are marked missing with it.
        return np.hstack([super(ModalityInput, self).retrieval_rows(est, X_data[m][0])
                          for m in self._retrieval_sources(est)])

    def with_retrieval(self, est, X_data: dict, columns: np.ndarray) -> dict:
        masks = [X_data[m][1] for m in self._retrieval_sources(est)]
        masks = [mask for mask in masks if mask is not None]
        present = None
        if masks:
            present = masks[0]
            for mask in masks[1:]:
                present = present & mask
        values = torch.from_numpy(columns).to(_tensor_device(X_data))
        return {**X_data, RETRIEVAL_MODALITY: (values, present)}

    # ------------------------------------------------------------------ parameters
    def check_params(self, est) -> None:
        for name in ("encoder_dim", "fusion_dim", "text_max_features", "text_min_df",
                     "text_max_len"):
            value = getattr(est, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        md = est.modality_dropout
        if not (isinstance(md, numbers.Real) and 0 <= md < 1):
            raise ValueError(f"modality_dropout must be in [0, 1), got {md!r}.")
        aw = est.alignment_weight
        if (not isinstance(aw, numbers.Real) or isinstance(aw, bool) or not math.isfinite(aw)
                or not 0 <= aw <= MAX_WEIGHT):
            raise ValueError(
                f"alignment_weight must be a finite number in [0, {MAX_WEIGHT:g}], got {aw!r}."
            )
        if aw > 0 and _gradient_level(est.weighting):
            raise ValueError(
                f"alignment_weight > 0 adds a loss outside the tasks, which a gradient-level "
                f"weighting (weighting={est.weighting!r}) does not aggregate; use a "
                "loss-level weighting (static, uncertainty, dwa, gradnorm) with it."
            )
        if est.encoders is not None and not isinstance(est.encoders, Mapping):
            raise TypeError(f"encoders must be a dict modality -> encoder, got {est.encoders!r}.")
        if est.fusion_weights is not None and not isinstance(est.fusion_weights, Mapping):
            raise TypeError(
                f"fusion_weights must be a dict modality -> weight, got {est.fusion_weights!r}."
            )
        self._check_conditioning(est)

    def _check_conditioning(self, est) -> None:
        """``fusion_conditioning``: its parameters, and the fusion and weighting it needs."""
        spec = make_fusion_conditioning(est.fusion_conditioning)
        if spec is None:
            return
        spec.check()
        fusion = make_fusion(est.fusion)
        if not fusion.reads_weights:
            raise ValueError(
                f"fusion_conditioning trains the network for every fusion_weights vector, but "
                f"fusion={est.fusion!r} learns its own weights per row and reads none. Use a "
                f"fusion that reads them "
                f"({sorted(n for n, c in FUSIONS.items() if c.reads_weights)})."
            )
        if est.learn_fusion_weights:
            raise ValueError(
                "fusion_conditioning trains the network for every fusion_weights vector; "
                "learn_fusion_weights=True would learn one vector instead. Set one of them "
                "off."
            )
        try:
            weighting = make_weighting(est.weighting)
        except (TypeError, ValueError):  # reported where the weighting is made
            return
        if getattr(weighting, "conditions", False) and (
            weighting.conditioning != "film" or weighting.layers != "last"
        ):
            raise ValueError(
                "fusion_conditioning with weighting='conditioned' needs the task weights read "
                "by FiLM on the trunk's output (weighting__conditioning='film', "
                f"weighting__layers='last'); got conditioning={weighting.conditioning!r}, "
                f"layers={weighting.layers!r}, which would also rewrap the layers that read "
                "the fusion weights."
            )

    def _resolve_fusion_weights(self, est, names: list[str]) -> dict[str, float]:
        """The fusion weight of every modality, checked once per fit; a fusion that does not
        read them refuses weights other than 1 and ``learn_fusion_weights``."""
        weights = resolve_weights(
            est.fusion_weights, names, param="fusion_weights", unit="modalities",
            overflow="it scales float32 embeddings, which would overflow.",
            nothing="no modality would be used",
        )
        if not est.fusion_.reads_weights:
            fixed = {m: w for m, w in weights.items() if w != 1.0}
            if fixed or est.learn_fusion_weights:
                what = f"fusion_weights {fixed}" if fixed else "learn_fusion_weights=True"
                raise ValueError(
                    f"fusion={est.fusion!r} learns its own weights per row and does not read "
                    f"fusion weights, so {what} would be ignored. Use a fusion that reads "
                    f"them ({sorted(n for n, c in FUSIONS.items() if c.reads_weights)}), or "
                    "leave them out."
                )
        return weights

    def _network_names(self, est) -> list[str]:
        """The modalities the network reads, in its order: the retrieval features last."""
        extra = [RETRIEVAL_MODALITY] if getattr(est, "retrieval_", None) is not None else []
        return [*est.modality_names_, *extra]

    def condition(self, est, module: nn.Module) -> None:
        # A network conditioned on the fusion weights reads them as they are set now.
        spec = getattr(est.net_, "fusion_conditioning", None)
        if spec is None:
            return
        weights = self._resolve_fusion_weights(est, est.modality_names_)
        set_fusion_weights(module, spec.names_, spec.target(weights))

    # ------------------------------------------------------------------ input
    def modality_names(self, est, X) -> list[str]:
        """The modalities ``est`` would read in ``X``, without fitting anything (a search
        checks its grid with them)."""
        if self._is_single_table(est, X):
            return ["X"]
        mapping = est.modalities
        if isinstance(X, pd.DataFrame) and mapping is None:
            mapping = plan_modalities(X)
        return [str(m) for m in split_modalities(X, mapping)]

    def _is_single_table(self, est, X) -> bool:
        """Whether ``X`` is one numeric table, validated the scikit-learn way.

        Everything that is not a dict, a mapped DataFrame, free text (1-D strings), string
        categories (2-D strings) or images (4-D) goes through ``validate_data``, which also
        gives scikit-learn's messages for 1-D or 3-D numeric input.
        """
        if sp.issparse(X):  # before Mapping: a dok_matrix is a dict
            return est.modalities is None
        if est.modalities is not None or isinstance(X, Mapping):
            return False
        if isinstance(X, pd.DataFrame):
            return all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
        if isinstance(X, pd.Series):
            return pd.api.types.is_numeric_dtype(X.dtype)
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):  # let validate_data report it
            return True
        if arr.ndim == 4 or arr.dtype.kind in "US":
            return False
        if arr.dtype.kind == "O":
            try:
                arr.astype(np.float64)
            except ValueError:  # strings: text (1-D) or categories (2-D)
                return arr.ndim not in (1, 2)
            except TypeError:  # e.g. a dict in a cell: validate_data says so
                return True
        return True

    def fit_transform(self, est, X) -> dict:
        # The fusion specification of this fit, built once (the name checked here, before
        # any data is read); the network is built from it.
        est.fusion_ = make_fusion(est.fusion)
        if self._is_single_table(est, X):
            # The 2-D single-modality form: scikit-learn's own validation and messages; NaN
            # is imputed by the tabular modality.
            values = validate_table(est, X, reset=True, allow_nan=True)
            est.__dict__.pop("_modality_plan", None)
            return self._fit_modalities(est, {"X": values}, single=True)
        mapping = est.modalities
        if isinstance(X, pd.DataFrame) and mapping is None:
            # A raw DataFrame: its columns grouped by kind at fit, that plan used after.
            mapping = plan_modalities(X)
        blocks = split_modalities(X, mapping)
        est.__dict__.pop("feature_names_in_", None)  # left by an earlier 2-D fit
        est.__dict__.pop("_modality_plan", None)
        data = self._fit_modalities(est, blocks)
        if isinstance(X, pd.DataFrame):
            # Plain tuples, so that a model file holds them; modality_plan_ shows a table.
            est._modality_plan = [
                (str(c), m, est.modalities_[m].kind, type(est.encoders_[m]).__name__)
                for m, block in blocks.items()
                for c in (block.columns if isinstance(block, pd.DataFrame) else [block.name])
            ]
        return data

    def transform(self, est, X) -> dict:
        check_is_fitted(est)
        if isinstance(X, pd.DataFrame) and "_modality_plan" in est.__dict__:
            # Fitted on a DataFrame (with modalities= or without): its columns by name.
            return self._transform_modalities(est, self._plan_blocks(est, X))
        if self._is_single_table(est, X):
            values = validate_table(est, X, reset=False, allow_nan=True)
            return {"X": est.modalities_["X"].transform(values)}
        mapping = est.modalities
        if isinstance(X, pd.DataFrame) and mapping is None:
            mapping = self._fitted_mapping(est, X)
        return self._transform_modalities(est, split_modalities(X, mapping))

    def _plan_blocks(self, est, X: pd.DataFrame) -> dict:
        """Each modality's block of ``X``, its columns taken by name in the order of the fit
        (a modality ``modalities=`` gave as one column name is a Series, as in fit)."""
        by_name = {str(c): c for c in X.columns}
        specs = est.modalities or {}
        blocks = {}
        for m, columns in self._fitted_mapping(est, X).items():
            spec = specs.get(m)
            if isinstance(spec, str) and columns == [spec]:
                blocks[m] = X[by_name[spec]]
            else:
                blocks[m] = X[[by_name[c] for c in columns]]
        return blocks

    def _fitted_mapping(self, est, X) -> dict:
        """``{modality: [column, ...]}`` of the fitted plan, in the order of the fit, for the
        modalities whose columns ``X`` has (by name, in any order)."""
        plan = est.modality_plan_ if "_modality_plan" in est.__dict__ else None
        if plan is None:
            raise ValueError(
                f"{type(est).__name__} was fitted on {est.modality_names_} without a "
                "DataFrame; predict with the same form of X."
            )
        given = [str(c) for c in X.columns]
        repeated = sorted({c for c in given if given.count(c) > 1})
        if repeated:
            raise ValueError(
                f"X repeats column name(s) {repeated[:10]}; columns are read by name, so "
                "each must be unique."
            )
        missing = [c for c in plan.index if c not in set(given)]
        extra = [c for c in given if c not in plan.index]
        if extra:
            raise ValueError(
                f"X has column(s) {extra[:10]} that the model was not fitted on; columns are "
                f"matched by name, in any order, and must be among those of the fit: "
                f"{list(plan.index)[:20]}."
            )
        present = plan.drop(index=missing)
        if missing and est.modality_dropout == 0:
            raise ValueError(
                f"X lacks column(s) {missing[:10]} the model was fitted on. A model predicts "
                "without a whole modality only when trained for it: fit with "
                "modality_dropout > 0."
            )
        full = plan.groupby("modality", sort=False).size()
        kept = present.groupby("modality", sort=False).size()
        partial = [m for m in kept.index if kept[m] != full[m]]
        if partial:
            raise ValueError(
                f"X lacks some but not all columns of modality(ies) {partial}: missing "
                f"{missing[:10]}. Give those columns with NaN where values are unknown (a "
                "missing value is imputed; a row whose columns of a modality are all NaN, or "
                "whose text is empty, is read as lacking that modality), or leave out all "
                "columns of the modality"
                + (" (the model was trained for it: modality_dropout > 0)."
                   if est.modality_dropout > 0 else
                   " after fitting with modality_dropout > 0.")
            )
        return {m: list(cols.index) for m, cols in present.groupby("modality", sort=False)}

    def _modality_defaults(self, est) -> dict:
        """What encoders leave to the estimator: the ``text_*`` settings and the device."""
        return dict(max_features=est.text_max_features, ngram_range=est.text_ngram_range,
                    min_df=est.text_min_df, max_len=est.text_max_len, device=est.device)

    def _fit_modalities(self, est, blocks: dict, single: bool = False) -> dict:
        """Fit each modality's converter and choose its encoder (``single``: ``X`` was one
        2-D block, whose ``n_features_in_`` validation has set)."""
        given = dict(est.encoders or {})
        unknown = sorted(set(given) - set(blocks))
        if unknown:
            raise ValueError(
                f"encoders has key(s) {unknown} that are not modalities of X; the modalities "
                f"are {list(blocks)}."
            )
        self._check_rows(est, blocks)
        if RETRIEVAL_MODALITY in blocks:
            raise ValueError(
                f"The modality name {RETRIEVAL_MODALITY!r} is reserved for the retrieval "
                "features; rename that modality."
            )
        defaults = self._modality_defaults(est)
        converters, encoders = {}, {}
        for m, block in blocks.items():
            spec = make_encoder(given[m], m) if m in given else None
            encoders[m], converter = plan_modality(m, block, spec, defaults)
            converters[m] = converter.fit(block)
            if converter.n_features_ < 1:
                shape = getattr(converter, "shape_", None)
                raise ValueError(
                    f"Modality {m!r} has no "
                    + (f"pixels or channels (images of shape {shape})" if shape is not None
                       else "columns")
                    + "; drop it from X or give it data."
                )
        est.modalities_ = converters
        est.modality_names_ = list(converters)
        est.encoders_ = encoders
        if not single:
            est.n_features_in_ = {m: c.n_features_ for m, c in converters.items()}
        est.initial_fusion_weights_ = self._resolve_fusion_weights(est, est.modality_names_)
        return {m: converters[m].transform(block) for m, block in blocks.items()}

    def _check_rows(self, est, blocks: dict) -> None:
        rows = {m: (b.shape[0] if hasattr(b, "shape") else len(b)) for m, b in blocks.items()}
        if len(set(rows.values())) > 1:
            raise ValueError(
                f"The modalities have different numbers of rows: {rows}; each row of X is one "
                "sample in every modality."
            )

    def _transform_modalities(self, est, blocks: dict) -> dict:
        unknown = sorted(set(blocks) - set(est.modality_names_))
        if unknown:
            raise ValueError(
                f"X has modality(ies) {unknown} that the model was not fitted on; its "
                f"modalities are {est.modality_names_}."
            )
        self._check_rows(est, blocks)
        n = next(iter(blocks.values()))
        n = n.shape[0] if hasattr(n, "shape") else len(n)
        out = {}
        for m in est.modality_names_:
            if m in blocks:
                out[m] = est.modalities_[m].transform(blocks[m])
            elif est.modality_dropout > 0:
                out[m] = est.modalities_[m].absent(n)
            else:
                raise ValueError(
                    f"Modality {m!r} is absent from X. A model predicts without a whole "
                    "modality only when trained for it: fit with modality_dropout > 0."
                )
        return out

    # ------------------------------------------------------------------ the network
    def build_module(self, est, tasks: dict[str, Task], n_conditions: int = 0) -> nn.Module:
        if n_conditions:
            raise ValueError(
                "weighting__conditioning='input' appends the task weights to one input table; "
                "a FusionNet has modalities: use weighting__conditioning='film'."
            )
        fusion = est.fusion_
        if fusion.mlp_per_modality and est.trunk is not None:
            raise ValueError(
                f"fusion={est.fusion!r} gives each modality its own MLP (hidden_dims); a "
                "custom trunk= is not supported with it."
            )
        width = fusion.encoder_width(est.encoder_dim, est.fusion_dim)
        linear = fusion.linear_encoders
        encoders = {
            m: est.encoders_[m].build(est.modalities_[m], width, dropout_rate(est), linear)
            for m in est.modality_names_
        }
        if est.retrieval_ is not None:
            # The neighbours' labels are a modality of their own, with its own MLP encoder.
            neighbours = _Width(est.retrieval_.n_features_out_)
            encoders[RETRIEVAL_MODALITY] = MLP().build(neighbours, width, dropout_rate(est),
                                                       linear)
        weights = {m: est.initial_fusion_weights_.get(m, 1.0) for m in encoders}
        head_sizes = {n: t.n_outputs_ for n, t in tasks.items()}
        conditioning = make_fusion_conditioning(est.fusion_conditioning)
        # Wide paths of the modalities in use (a zero fusion weight drops a modality; a
        # network conditioned on the weights has them all, each scaled by its weight).
        wide = {m: est.encoders_[m].wide_features(est.modalities_[m])
                for m in est.modality_names_ if weights[m] > 0 or conditioning is not None}
        wide = {m: w for m, w in wide.items() if w is not None}

        def make_mlp(n_features: int) -> nn.Module:
            mlp, _ = trunk_module(est, n_features, list(tasks))
            return _with_width(mlp, n_features)

        aligner = self._aligner(est, encoders)
        module = fusion.build(
            encoders, head_sizes, make_mlp, aligner=aligner,
            weights=weights, learn_weights=est.learn_fusion_weights,
            fusion_dim=est.fusion_dim, modality_dropout=est.modality_dropout,
            wide=WidePath(
                {m: n for m, (n, _) in wide.items()}, sum(head_sizes.values()),
                {m: lr for m, (_, lr) in wide.items()},
                weights if conditioning is not None else None,
            ) if wide else None,
        )
        if conditioning is not None:
            for trunk in module.modules():
                if isinstance(trunk, FusionTrunk):
                    trunk.condition_on_weights(conditioning.layers)
        return module

    def _aligner(self, est, encoders: dict) -> ModalityAligner | None:
        """The projections of the alignment loss (``alignment_weight > 0``), or None."""
        if est.alignment_weight <= 0:
            return None
        if len(est.modality_names_) < 2:
            raise ValueError(
                f"alignment_weight={est.alignment_weight} aligns modalities with each "
                f"other; X has one ({est.modality_names_}). Set alignment_weight=0."
            )
        return ModalityAligner(
            {m: encoders[m].out_features for m in est.modality_names_}, est.fusion_dim
        )

    def net_options(self, est, weighting) -> dict:
        conditioning = make_fusion_conditioning(est.fusion_conditioning)
        if conditioning is not None:
            names = self._network_names(est)
            conditioning.bind(names, est.modality_names_,
                              {m: est.initial_fusion_weights_.get(m, 1.0) for m in names})
        return {"alignment_weight": float(est.alignment_weight),
                "fusion_conditioning": conditioning}

    def after_training(self, est, data) -> None:
        est.fusion_weights_ = self._weights_in_effect(est, data)

    def _weights_in_effect(self, est, data) -> dict[str, float]:
        """The fixed or learned fusion weights; for a fusion that weighs each row (attention,
        gates), its mean weights over the training rows of ``data``."""
        module = est.net_.module_
        trunk = next(m for m in module.modules() if isinstance(m, FusionTrunk))
        wide = {id(m) for w in module.modules() if isinstance(w, WidePath) for m in w.modules()}
        held = [m for m in module.modules()
                if isinstance(m, ModalityWeights) and id(m) not in wide]
        if held:
            values = held[0].weights.detach().cpu().tolist()
            return dict(zip(held[0].names, map(float, values)))
        if not hasattr(trunk.fusion, "row_weights"):
            return dict(est.initial_fusion_weights_)
        total, n = torch.zeros(len(trunk.names)), 0
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), torch_threads(est.n_threads):
                for batch, _ in est.net_.get_iterator(data):
                    rows = trunk.fusion.row_weights(trunk.embed(batch))
                    total += rows.sum(0).cpu()
                    n += len(rows)
        finally:
            module.train(was_training)
        return dict(zip(trunk.names, (total / max(n, 1)).tolist()))


def _gradient_level(weighting) -> bool:
    """Whether ``weighting=`` (a name or an object) is a gradient-level weighting, read
    from its class (the weighting itself is made once, for the fit)."""
    cls = WEIGHTINGS.get(weighting) if isinstance(weighting, str) else type(weighting)
    return isinstance(cls, type) and issubclass(cls, GradientWeighting)


def _tensor_device(X_data: dict) -> torch.device:
    for values, _ in X_data.values():
        if isinstance(values, torch.Tensor):
            return values.device
    return torch.device("cpu")


class _Width:
    """Stands in for a fitted modality where an encoder needs only its width."""

    def __init__(self, n_features: int) -> None:
        self.n_features_ = n_features


def _with_width(module: nn.Module, in_features: int) -> nn.Module:
    if not isinstance(getattr(module, "out_features", None), int):
        module.out_features = infer_out_features(module, in_features)
    return module
