"""Safe model files: :func:`save` and :func:`load` a fitted estimator without pickle.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_ file. Its header
metadata holds a JSON description of the estimator (constructor parameters, tasks, classes,
target scalers, text vocabularies, category codes, retrieval rows, fitted attributes); its
tensors hold the network weights and every numeric array (and, for a ``Pipeline``, the
scikit-learn steps before the estimator as a ``skops`` archive, a byte tensor).

Loading never unpickles and never imports a name that the file chooses: each class named in
the description is looked up in an explicit allow-list below (the six estimators, the task,
weighting, trunk, fusion and fusion-conditioning tables, the modality converters,
scikit-learn's TF-IDF vectorizer, the optimizers and activations of the estimators' tables,
numpy scalar types) and built from
plain values; the network is rebuilt as ``fit`` builds it, and the weights are copied in. The
``skops`` part is loaded with skops's default trusted types only. What cannot be described
this way (a custom ``nn.Module`` trunk or encoder, a callable, user callbacks, a class outside
the tables) makes :func:`save` raise a ``TypeError`` that names the parameter; pickle is never
used as a fallback.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import struct
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
import torch
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from torch import nn

from ._version import __version__ as _SK_MTL_VERSION
from .data import (
    CategoricalModality,
    ImageModality,
    NeighbourTargets,
    QuantileRobust,
    RobustSmoothClip,
    StreamEncoder,
    TabularModality,
    TextEmbedder,
    TextModality,
)
from .encoders import ENCODERS
from .estimators import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from .estimators._builder import OPTIMIZERS, build_module, build_network, torch_device
from .estimators._training import torch_threads
from .fusion import FUSION_CONDITIONINGS, FUSIONS, make_fusion
from .modules import ACTIVATIONS
from .tasks import TASK_KINDS
from .trunks import TRUNKS
from .weighting import WEIGHTINGS, make_weighting

__all__ = ["load", "save"]

#: ``format`` entry of a model file's metadata, and the version of its description layout.
FORMAT = "sk_mtl.model"
FORMAT_VERSION = 1
#: safetensors' own limit on the JSON header (bytes).
_MAX_HEADER = 100_000_000
#: Name of the tensor holding a Pipeline's preprocessing steps (a skops archive).
_SKOPS_TENSOR = "skops/steps"
#: Types a Pipeline's steps may hold beyond skops's default trusted types: exact,
#: fully qualified scikit-learn names only. None so far: the common preprocessors
#: (StandardScaler, OneHotEncoder, OrdinalEncoder, ColumnTransformer, ...) are trusted by
#: skops as they are.
_SKOPS_TRUSTED: tuple[str, ...] = ()
#: dict ``str -> int`` of at least this many entries (vocabularies, category codes) keep
#: their keys in the JSON and their values in one int64 tensor.
_MIN_VOCAB = 16

_NUMERIC_DTYPES = frozenset({
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
})


def _named(prefix: str, classes) -> dict[str, type]:
    return {f"{prefix}.{cls.__name__}": cls for cls in classes}


#: The estimators a model file may hold.
_ESTIMATORS: dict[str, type] = _named("sk_mtl", (
    FusionNet, FusionNetClassifier, FusionNetRegressor,
    MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor,
))
#: Objects a description may build (from their constructor parameters, then fitted state).
_OBJECTS: dict[str, type] = {
    **_named("sk_mtl.tasks", TASK_KINDS.values()),
    **_named("sk_mtl.weighting", WEIGHTINGS.values()),
    **_named("sk_mtl.trunks", TRUNKS.values()),
    **_named("sk_mtl.encoders", ENCODERS.values()),
    **_named("sk_mtl.fusion", (*FUSIONS.values(), *FUSION_CONDITIONINGS.values())),
    **_named("sk_mtl.data", (
        CategoricalModality, ImageModality, NeighbourTargets, QuantileRobust, RobustSmoothClip,
        StreamEncoder, TabularModality, TextEmbedder, TextModality,
    )),
    **_named("sklearn.feature_extraction.text", (TfidfTransformer, TfidfVectorizer)),
    # The network's own input scaling (input_scaling=).
    **_named("sklearn.preprocessing", (QuantileTransformer, StandardScaler)),
}
#: Classes a description may name as a value (``optimizer=``, ``activation=``, ``dtype=``).
_TORCH_OPTIMIZERS = (
    "ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
    "Rprop", "SGD",
)
_CLASSES: dict[str, type] = {
    **_named("torch.optim", {*OPTIMIZERS.values(),
                             *(getattr(torch.optim, n) for n in _TORCH_OPTIMIZERS)}),
    **_named("torch.nn", ACTIVATIONS.values()),
    **{f"numpy.{name}": np.dtype(name).type for name in sorted(_NUMERIC_DTYPES)},
}
_ESTIMATOR_NAMES = {cls: name for name, cls in _ESTIMATORS.items()}
_OBJECT_NAMES = {cls: name for name, cls in _OBJECTS.items()}
_CLASS_NAMES = {cls: name for name, cls in _CLASSES.items()}
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STR_DTYPE = re.compile(r"[<>=|]?U[0-9]{1,9}")


# ---------------------------------------------------------------------------------- save
def save(estimator, file, *, include_optimizer: bool = True) -> None:
    """Save a fitted estimator (or a Pipeline ending in one) to one safe model file.

    The file is a safetensors file: the estimator's description (parameters, tasks,
    classes, target scalers, vocabularies, category codes, retrieval rows, fitted
    attributes, training history) is JSON in its metadata; the network weights and numeric
    arrays are tensors. :func:`load` rebuilds the estimator from it without unpickling
    anything, so a model file from an untrusted source cannot run code.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A :class:`~sk_mtl.MultiTaskNet`, :class:`~sk_mtl.MultiTaskNetClassifier`,
        :class:`~sk_mtl.MultiTaskNetRegressor`, :class:`~sk_mtl.FusionNet`,
        :class:`~sk_mtl.FusionNetClassifier` or :class:`~sk_mtl.FusionNetRegressor`
        (fitted or not), or a ``sklearn.pipeline.Pipeline`` whose last step is one. The
        Pipeline's other steps are stored with ``skops.io`` and must hold only types that
        skops trusts by default (scikit-learn's preprocessors do).
    file : str, path-like or binary file object
        Where to write. ``.safetensors`` is a good extension.
    include_optimizer : bool, default=True
        Also store the optimizer state (e.g. Adam's moment estimates, about twice the size
        of the weights), the training random generators and, with ``ema_decay``, the
        trained weights that the weights' moving average follows (the network's weights
        are the average), so that ``warm_start=True`` or ``partial_fit`` on the loaded
        estimator continues training as the saved one would.
        ``False`` writes a smaller file for prediction only; further training then starts
        from a fresh optimizer.

    Notes
    -----
    An estimator fitted data-parallel (over the processes of a ``torch.distributed``
    group, its ``data_parallel_`` set) is written by rank 0 alone: every process holds the
    same model, and in the other processes ``save`` writes nothing and returns at once
    (it does not wait for rank 0's file).

    Raises
    ------
    TypeError
        When a parameter or fitted attribute cannot be described without pickle: a custom
        ``nn.Module`` trunk or encoder, a callable, user ``callbacks``, a class outside
        sk_mtl's tables (e.g. a custom optimizer or task class). The message names it.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskNetRegressor, load, save
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 3)).astype("float32")
    >>> net = MultiTaskNetRegressor(hidden_dims=(8,), max_epochs=2, random_state=0)
    >>> net = net.fit(X, X[:, 0])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.safetensors")
    ...     save(net, path)
    ...     loaded = load(path)
    >>> bool((loaded.predict(X) == net.predict(X)).all())
    True
    """
    from safetensors.torch import save as save_tensors

    final = estimator.steps[-1][1] if type(estimator) is Pipeline else estimator
    parallel = getattr(final, "data_parallel_", None)
    if isinstance(parallel, dict) and parallel.get("rank", 0) != 0:
        return  # rank 0 of the data-parallel fit writes the (same) model
    writer = _Writer()
    if type(estimator) is Pipeline:
        description = {
            "object": "pipeline",
            "pipeline": _describe_pipeline(estimator, writer, include_optimizer),
        }
    elif type(estimator) in _ESTIMATOR_NAMES:
        description = {"object": "estimator",
                       "estimator": _describe_estimator(estimator, writer, include_optimizer)}
    else:
        raise TypeError(
            "sk_mtl.save takes one of the six sk_mtl estimators (MultiTaskNet*, FusionNet*) "
            f"or a sklearn Pipeline ending in one; got {_type_name(estimator)}."
        )
    try:
        text = json.dumps(description, allow_nan=False, separators=(",", ":"))
    except ValueError as exc:  # a non-finite float that escaped the encoder: a bug here
        raise TypeError(f"sk_mtl.save could not write the description: {exc}") from None
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "description": text,
        "versions": json.dumps({
            "sk_mtl": _SK_MTL_VERSION, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "numpy": np.__version__,
        }),
    }
    data = save_tensors(writer.tensors, metadata=metadata)
    if hasattr(file, "write"):
        file.write(data)
    else:
        with open(os.fspath(file), "wb") as f:
            f.write(data)


def _describe_estimator(est, writer: _Writer, include_optimizer: bool) -> dict:
    params = est.get_params(deep=False)
    # "_input_memo" is a prediction cache (BaseMultiTaskNet._prediction_input), not state;
    # "fusion_" is made again from the fusion parameter at load.
    state = {k: v for k, v in vars(est).items()
             if k not in params and k not in ("net_", "_input_memo", "fusion_")}
    net = vars(est).get("net_")
    return {
        "class": _ESTIMATOR_NAMES[type(est)],
        "params": {k: writer.encode(v, f"parameter {k!r}") for k, v in params.items()},
        "state": {k: writer.encode(v, f"fitted attribute {k!r}") for k, v in state.items()},
        "net": None if net is None else _describe_net(net, writer, include_optimizer),
    }


def _describe_net(net, writer: _Writer, include_optimizer: bool) -> dict:
    for prefix, module in (("module", net.module_), ("criterion", net.criterion_)):
        for key, tensor in module.state_dict().items():
            writer.tensors[f"{prefix}/{key}"] = tensor.detach().to("cpu", copy=True).contiguous()
    callbacks = [name for name, _ in (getattr(net, "callbacks_", None) or [])]
    history = [dict(epoch) for epoch in net.history]
    node = {
        "shuffle_seed": int(net.shuffle_seed),
        "early_stopping": "early_stopping" in callbacks,
        "schedule": "lr_schedule" in callbacks,
        "history": writer.encode(history, "the training history (net_.history)"),
        "optimizers": None,
        "generators": None,
    }
    if include_optimizer:
        node["optimizers"] = {
            name: writer.encode(optimizer.state_dict(), f"net_.{name}_")
            for name, optimizer in net.optimizers().items()
        }
        # The training random generators, where the net keeps them between fits.
        generators = {}
        shuffle = getattr(net, "shuffle_generator_", None)
        if isinstance(shuffle, torch.Generator):
            generators["shuffle_generator_"] = writer.tensor(shuffle.get_state())
        rng_state = getattr(net, "rng_state_", None)
        if isinstance(rng_state, torch.Tensor):
            generators["rng_state_"] = writer.tensor(rng_state)
        node["generators"] = generators
        # The weights' moving average (ema_decay) and the trained weights it follows.
        average = getattr(net, "average_", None)
        state = None if average is None else average.state_dict()
        if state is not None:
            node["average"] = {
                "steps": int(state["steps"]),
                "names": state["names"],
                "average": [writer.tensor(t) for t in state["average"]],
                "live": None if state["live"] is None else [writer.tensor(t)
                                                            for t in state["live"]],
            }
    return node


def _describe_pipeline(pipe: Pipeline, writer: _Writer, include_optimizer: bool) -> dict:
    import skops.io as sio

    if not pipe.steps:
        raise TypeError("sk_mtl.save got an empty Pipeline.")
    final_name, final = pipe.steps[-1]
    if type(final) not in _ESTIMATOR_NAMES:
        raise TypeError(
            "sk_mtl.save takes a Pipeline whose last step is one of the six sk_mtl "
            f"estimators; its last step {final_name!r} is {_type_name(final)}."
        )
    params = {k: v for k, v in pipe.get_params(deep=False).items() if k != "steps"}
    if params.get("memory") is not None:
        raise TypeError(
            "sk_mtl.save cannot store a Pipeline with memory= set: a cache folder holds "
            "pickles that a later fit would load. Set memory=None before saving."
        )
    node = {
        "params": {k: writer.encode(v, f"Pipeline parameter {k!r}") for k, v in params.items()},
        "final_step": final_name,
        "estimator": _describe_estimator(final, writer, include_optimizer),
        "steps": None,
    }
    steps = list(pipe.steps[:-1])
    if steps:
        try:
            archive = sio.dumps(steps, compression=zipfile.ZIP_DEFLATED)
        except Exception as exc:
            raise TypeError(
                f"sk_mtl.save could not store the Pipeline steps {[n for n, _ in steps]} "
                f"with skops: {exc}"
            ) from None
        untrusted = [t for t in sio.get_untrusted_types(data=archive) if t not in _SKOPS_TRUSTED]
        if untrusted:
            raise TypeError(
                f"sk_mtl.save cannot store the Pipeline steps {[n for n, _ in steps]} safely: "
                f"they hold type(s) {untrusted} that skops does not trust by default, so "
                "loading them would need a wider trust than sk_mtl.load gives. Keep such "
                "a Pipeline with pickle/joblib, for trusted files only."
            )
        writer.tensors[_SKOPS_TENSOR] = torch.frombuffer(bytearray(archive), dtype=torch.uint8)
        node["steps"] = _SKOPS_TENSOR
    return node


class _Writer:
    """Turns values into JSON nodes; arrays go to ``tensors`` and are referenced by key."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._keys: dict[int, str] = {}
        self._alive: list = []  # keeps the arrays whose id() is a key in _keys alive
        self._n_tensors = 0

    def array(self, arr: np.ndarray) -> str:
        key = self._keys.get(id(arr))
        if key is None:
            key = f"array/{len(self._keys)}"
            self._keys[id(arr)] = key
            self._alive.append(arr)
            native = np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C", copy=True)
            self.tensors[key] = torch.from_numpy(native)
        return key

    def tensor(self, tensor: torch.Tensor) -> str:
        key = f"tensor/{self._n_tensors}"
        self._n_tensors += 1
        self.tensors[key] = tensor.detach().to("cpu", copy=True).contiguous()
        return key

    def encode(self, value: Any, path: str) -> Any:
        """The JSON node of ``value`` (``path`` names it in errors), by the value handlers."""
        encoder = _ENCODERS.get(type(value))
        if encoder is None:
            encoder = next((enc for check, enc in _ENCODER_CHECKS if check(value)), None)
        if encoder is None:
            raise _unsupported(value, path)
        return encoder(self, value, path)


def _unsupported(value, path: str) -> TypeError:
    if isinstance(value, nn.Module):
        what = f"a custom torch module ({_type_name(value)})"
    elif isinstance(value, type):
        what = f"the class {value.__module__}.{value.__qualname__}, which is not in its tables"
    elif callable(value):
        what = f"a callable ({getattr(value, '__qualname__', _type_name(value))})"
    else:
        what = f"a {_type_name(value)}, which is not in its allow-lists"
    return TypeError(
        f"sk_mtl.save cannot describe {path}: it is {what}. A model file holds only plain "
        "values and sk_mtl's named building blocks, so that loading it never runs code: use "
        "names from sk_mtl's tables (e.g. trunk='mmoe', encoders={'text': 'gru'}, "
        "optimizer='adam', tasks={'y': 'binary'}) and no callbacks, or keep this model with "
        "pickle/joblib and load it only from a source you trust."
    )


def _type_name(value) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _param_names(cls) -> list[str]:
    signature = inspect.signature(cls.__init__)
    return [
        p.name for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


# ---------------------------------------------------------------------------------- load
def load(file, *, device=None):
    """Load an estimator (or Pipeline) written by :func:`save`, without unpickling.

    The description is read as JSON and every class it names is looked up in sk_mtl's
    allow-lists; the network is rebuilt as ``fit`` builds it from the restored fitted state
    and its weights are copied in (no training). Predictions equal those of the saved
    estimator.

    Parameters
    ----------
    file : str, path-like or binary file object
        A file written by :func:`save`.
    device : str, default=None
        Torch device to load the network on, replacing the estimator's ``device`` parameter
        (e.g. ``"cpu"`` for a model trained with ``device="cuda"``); ``None`` keeps the one
        it was saved with. Predictions on another device can differ in the last bits.

    Returns
    -------
    estimator : estimator or Pipeline
        The fitted estimator (or Pipeline).

    Raises
    ------
    ValueError
        When the file is not a valid model file: not a safetensors file (e.g. a pickle),
        extra bytes after the tensors, a class outside the allow-lists, weights whose names or
        shapes do not fit the network the description builds, or a malformed description.
        Nothing in the file is run or imported before it is refused.

    See Also
    --------
    save : Write the file.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskNetClassifier, load, save
    >>> X = np.random.RandomState(0).normal(size=(40, 3)).astype("float32")
    >>> clf = MultiTaskNetClassifier(hidden_dims=(8,), max_epochs=2, random_state=0)
    >>> clf = clf.fit(X, np.where(X[:, 0] > 0, "yes", "no"))
    >>> buffer = io.BytesIO()
    >>> save(clf, buffer)
    >>> loaded = load(io.BytesIO(buffer.getvalue()))
    >>> loaded.classes_
    array(['no', 'yes'], dtype='<U3')
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if device is not None and not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be None or a torch device string, got {device!r}.")
    if hasattr(file, "read"):
        data = file.read()
    else:
        with open(os.fspath(file), "rb") as f:
            data = f.read()
    tensors, metadata = _read(bytes(data))
    try:
        description = json.loads(metadata["description"])
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"The model file's description is not valid JSON: {exc}") from None
    reader = _Reader(tensors, None if device is None else str(device))
    try:
        kind = description["object"]
        if kind == "estimator":
            return _load_estimator(description["estimator"], reader)
        if kind == "pipeline":
            return _load_pipeline(description["pipeline"], reader)
        raise ValueError(f"The model file holds an unknown kind of object {kind!r}.")
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        raise ValueError(
            f"The model file's description is malformed ({type(exc).__name__}: {exc}); it was "
            "not written by sk_mtl.save, or was changed since."
        ) from None


def _read(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file, checked before anything is used."""
    from safetensors.torch import load as load_tensors

    not_model = "It is not an sk_mtl model file (sk_mtl.save writes safetensors files)"
    if len(data) < 8:
        raise ValueError(f"{not_model}: it has only {len(data)} bytes.")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or n > len(data) - 8:
        raise ValueError(f"{not_model}: its first 8 bytes do not give a safetensors header.")
    try:
        # Checks the header, dtypes and offsets, and that the tensors cover the rest of the
        # file exactly (appended bytes, e.g. a pickle payload, are refused).
        tensors = load_tensors(data)
    except Exception as exc:
        raise ValueError(f"{not_model}: safetensors refused it ({exc}).") from None
    try:
        header = json.loads(data[8 : 8 + n])
        metadata = header.get("__metadata__") or {}
    except (ValueError, AttributeError, RecursionError) as exc:
        raise ValueError(f"{not_model}: its header is not a JSON object ({exc}).") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{not_model}: its metadata has no format={FORMAT!r} entry.")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ValueError(
            f"The model file has format version {version!r}; this sk_mtl reads version "
            f"{FORMAT_VERSION}. Load it with the sk_mtl version that wrote it."
        )
    if not isinstance(metadata.get("description"), str):
        raise ValueError(f"{not_model}: its metadata has no description.")
    return tensors, metadata


#: Parameters added after model files were first written, with the value that rebuilds the
#: network of a file that does not give them (the defaults then).
_ADDED_PARAMS = {"front_scale": None, "ema_decay": None}


def _load_estimator(node: dict, reader: _Reader):
    name = node["class"]
    cls = _ESTIMATORS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _not_allowed(name, "estimator")
    params = reader.params(cls, node["params"])
    for name, value in _ADDED_PARAMS.items():
        # A file written before the parameter existed: the network it describes.
        if name in _param_names(cls) and name not in params:
            params[name] = value
    if reader.device is not None:
        params["device"] = reader.device
    est = cls(**params)
    reader.restore_state(est, node["state"])
    if "modalities_" in vars(est):
        # fusion_ is made from the fusion parameter, as fit makes it (not written: a fusion
        # registered by name after import is saved as its name, as before).
        est.fusion_ = make_fusion(est.fusion)
        if "initial_fusion_weights_" not in vars(est):
            # Files written before this attribute: fusion_weights checked and completed
            # with 1.0, as fit resolves it.
            given = est.fusion_weights or {}
            est.initial_fusion_weights_ = {
                m: float(given.get(m, 1.0)) for m in est.modality_names_
            }
    if node["net"] is not None:
        _rebuild_net(est, node["net"], reader)
    return est


def _load_pipeline(node: dict, reader: _Reader) -> Pipeline:
    import skops.io as sio

    params = reader.params(Pipeline, node["params"])
    params.pop("steps", None)
    if params.get("memory") is not None:
        raise ValueError("The model file's Pipeline has memory= set; sk_mtl.save writes None.")
    final_name = node["final_step"]
    if not isinstance(final_name, str):
        raise ValueError(f"The model file names the final Pipeline step {final_name!r}.")
    estimator = _load_estimator(node["estimator"], reader)
    steps = []
    if node["steps"] is not None:
        if node["steps"] != _SKOPS_TENSOR or _SKOPS_TENSOR not in reader.tensors:
            raise ValueError("The model file refers to Pipeline steps that it does not hold.")
        archive = reader.tensors[_SKOPS_TENSOR]
        if archive.dtype != torch.uint8 or archive.ndim != 1:
            raise ValueError(f"The model file's {_SKOPS_TENSOR!r} tensor is not a byte string.")
        try:
            steps = sio.loads(archive.numpy().tobytes(), trusted=list(_SKOPS_TRUSTED) or None)
        except Exception as exc:
            raise ValueError(
                f"The model file's Pipeline steps were refused by skops.io: {exc}"
            ) from None
        if not isinstance(steps, list) or not all(
            isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) for s in steps
        ):
            raise ValueError("The model file's Pipeline steps are not a list of (name, step).")
    return Pipeline([*steps, (final_name, estimator)], **params)


def _rebuild_net(est, node: dict, reader: _Reader) -> None:
    """Build ``est.net_`` as ``fit`` does (module, criterion, skorch net), without training,
    and copy the file's weights in."""
    from skorch.history import History

    seed = node["shuffle_seed"]
    if type(seed) is not int:
        raise ValueError(f"The model file's shuffle seed {seed!r} is not an int.")
    tasks = est.tasks_
    device = torch_device(est.device)
    module_weights = reader.weights("module/")
    criterion_weights = reader.weights("criterion/")
    # A first build on the meta device (no memory) checks the weights' names and shapes, so
    # that a description asking for a huge network is refused before it is allocated.
    weighting = make_weighting(est.weighting)
    weighting.bind(list(tasks), est.task_weights_)
    try:
        with torch.device("meta"):
            meta = build_module(est, tasks, weighting)
    except Exception:  # a module that cannot be built on meta: checked below instead
        meta = None
    if meta is not None:
        _check_weights(meta.state_dict(), module_weights, "network")
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch_threads(est.n_threads):
        torch.manual_seed(seed)
        net = build_network(
            est, tasks, weighting, seed=seed, device=device,
            early_stopping=bool(node["early_stopping"]),
            schedule=bool(node["schedule"]),  # False after partial_fit
        )
    _check_weights(net.module_.state_dict(), module_weights, "network")
    _check_weights(net.criterion_.state_dict(), criterion_weights, "loss (criterion)")
    net.module_.load_state_dict(module_weights, strict=True)
    net.criterion_.load_state_dict(criterion_weights, strict=True)
    _restore_training_state(net, node, reader)
    history = reader.decode(node["history"])
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise ValueError("The model file's training history is not a list of epochs.")
    net.history = History(history)
    est.net_ = net


def _restore_training_state(net, node: dict, reader: _Reader) -> None:
    """The optimizers' states and the training generators, when the file has them."""
    optimizers = node["optimizers"]
    if optimizers is None:
        # A fresh optimizer: an LR schedule resumed at the saved epoch needs its start value.
        for optimizer in net.optimizers().values():
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        return
    if not isinstance(optimizers, dict) or sorted(optimizers) != sorted(net.optimizers()):
        raise ValueError(
            f"The model file has optimizer states for {sorted(optimizers)}, but the network "
            f"its description builds has the optimizers {sorted(net.optimizers())}."
        )
    built = net.optimizers()
    for name, state in optimizers.items():
        try:
            built[name].load_state_dict(reader.decode(state))
        except (KeyError, RuntimeError, TypeError) as exc:
            raise ValueError(
                f"The model file's state of net_.{name}_ does not fit its network: {exc}"
            ) from None
    generators = node["generators"] or {}
    if not isinstance(generators, dict) or not set(generators) <= {
        "shuffle_generator_", "rng_state_"
    }:
        raise ValueError("The model file's training generators are malformed.")
    try:
        if "shuffle_generator_" in generators:
            shuffle = torch.Generator()
            shuffle.set_state(reader.tensor(generators["shuffle_generator_"]).clone())
            net.shuffle_generator_ = shuffle
        if "rng_state_" in generators:
            state = reader.tensor(generators["rng_state_"]).clone()
            torch.Generator().set_state(state)  # checks it, without touching torch's
            net.rng_state_ = state
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"The model file's training generators are malformed: {exc}") from None
    average = node.get("average")
    if average is not None:
        if getattr(net, "average_", None) is None or not isinstance(average, dict):
            raise ValueError("The model file has a weight average (ema_decay) that its "
                             "network does not keep.")
        try:
            live = average.get("live")
            net.average_.load_state_dict({
                "steps": average.get("steps"),
                "names": average.get("names"),
                "average": [reader.tensor(k) for k in average.get("average")],
                "live": None if live is None else [reader.tensor(k) for k in live],
            }, net.module_)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"The model file's weight average is malformed: {exc}") from None


def _check_weights(expected: dict, found: dict, what: str) -> None:
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"The model file's weights do not fit the {what} its description builds: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}."
        )
    for key, tensor in expected.items():
        if tuple(found[key].shape) != tuple(tensor.shape) or found[key].dtype != tensor.dtype:
            raise ValueError(
                f"The model file's weight {key!r} has shape {tuple(found[key].shape)} and "
                f"dtype {found[key].dtype}, but the {what} its description builds expects "
                f"{tuple(tensor.shape)} and {tensor.dtype}."
            )


def _not_allowed(name, what: str) -> ValueError:
    return ValueError(
        f"The model file names {name!r} as {what}, which is not in sk_mtl's allow-lists; "
        "refusing to load it (nothing from the file was run or imported)."
    )


class _Reader:
    """Turns JSON nodes back into values; classes come from the allow-lists only."""

    def __init__(self, tensors: dict[str, torch.Tensor], device: str | None = None) -> None:
        self.tensors = tensors
        self.device = device
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, key) -> np.ndarray:
        if not (isinstance(key, str) and key.startswith("array/") and key in self.tensors):
            raise ValueError(f"The model file refers to an array {key!r} that it does not hold.")
        if key not in self._arrays:
            self._arrays[key] = self.tensors[key].numpy()
        return self._arrays[key]

    def tensor(self, key) -> torch.Tensor:
        if not (isinstance(key, str) and key.startswith("tensor/") and key in self.tensors):
            raise ValueError(f"The model file refers to a tensor {key!r} that it does not hold.")
        return self.tensors[key]

    def weights(self, prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: t for k, t in self.tensors.items() if k.startswith(prefix)}

    def params(self, cls, node) -> dict:
        if not isinstance(node, dict):
            raise ValueError(f"The model file's parameters of {cls.__name__} are not a mapping.")
        unknown = sorted(set(node) - set(_param_names(cls)))
        if unknown:
            raise ValueError(
                f"The model file gives {cls.__name__} parameter(s) {unknown} that this "
                "sk_mtl version does not have."
            )
        return {k: self.decode(v) for k, v in node.items()}

    def restore_state(self, obj, node) -> None:
        if not isinstance(node, dict):
            raise ValueError(f"The model file's state of {type(obj).__name__} is not a mapping.")
        cls = type(obj)
        for name, value in node.items():
            static = inspect.getattr_static(cls, name, None)
            if (not _ATTRIBUTE.fullmatch(name) or name.startswith("__") or name in vars(obj)
                    or callable(static) or isinstance(static, (property, classmethod,
                                                               staticmethod))):
                raise ValueError(
                    f"The model file sets {cls.__name__} attribute {name!r}, which is not a "
                    "fitted attribute."
                )
            vars(obj)[name] = self.decode(value)

    def decode(self, node) -> Any:
        """The value of a JSON node, by the value handlers."""
        if node is None or type(node) in (bool, str, int, float):
            return node
        if type(node) is list:
            return [self.decode(v) for v in node]
        if type(node) is not dict:
            raise ValueError(f"The model file holds an unexpected value {node!r}.")
        tags = [k for k in node if k.startswith("$")]
        decoder = _DECODERS.get(tags[0]) if len(tags) == 1 else None
        if decoder is None:
            raise ValueError(f"The model file holds an unknown kind of value {sorted(node)[:4]}.")
        return decoder(self, node)


def _list(value) -> list:
    if type(value) is not list:
        raise ValueError(f"The model file holds {type(value).__name__} where a list belongs.")
    return value


def _shape(value) -> tuple[int, ...]:
    shape = _list(value)
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"The model file holds a bad shape {shape!r}.")
    return tuple(shape)


# ------------------------------------------------------------------------- value handlers
# Each kind of value a description holds has an encoder (value -> JSON node; arrays and
# tensors go to the writer's tensors) and, where its node is tagged, a decoder (node ->
# value; checks the node's keys and types). Values in plain JSON (None, bool, str, int, a
# finite float, a list) need no tag. ``_ENCODERS`` picks the encoder by the value's exact
# type (subclasses are refused: a dict subclass may not round-trip as one); the type checks
# in ``_ENCODER_CHECKS`` are tried in order after it, for values whose type is not one class
# (numpy scalars, allow-listed classes, dtypes); ``_DECODERS`` picks the decoder by the
# node's tag. To describe one more kind of value: an encoder, a decoder and one row in each
# table (and, for a class of sk_mtl objects, only a row in ``_OBJECTS`` above).
def _encode_plain(writer: _Writer, value, path: str):
    return value


def _encode_float(writer: _Writer, value: float, path: str):
    return value if math.isfinite(value) else {"$float": repr(value)}


def _decode_float(reader: _Reader, node):
    value = node["$float"]
    if value not in ("nan", "inf", "-inf"):
        raise ValueError(f"The model file holds an unknown float {value!r}.")
    return float(value)


def _encode_numpy_scalar(writer: _Writer, value: np.generic, path: str):
    if isinstance(value, np.str_):
        return {"$np": "str", "value": str(value)}
    if value.dtype.name not in _NUMERIC_DTYPES:
        raise _unsupported(value, path)
    return {"$np": value.dtype.name, "value": writer.encode(value.item(), path)}


def _decode_numpy_scalar(reader: _Reader, node):
    name, value = node["$np"], reader.decode(node["value"])
    if name == "str" and type(value) is str:
        return np.str_(value)
    if name not in _NUMERIC_DTYPES or type(value) not in (bool, int, float):
        raise ValueError(f"The model file holds an unknown numpy scalar {name!r}.")
    try:
        return np.dtype(name).type(value)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"The model file holds a bad numpy {name} ({exc}).") from None


def _encode_list(writer: _Writer, value: list, path: str):
    return [writer.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _encode_tuple(writer: _Writer, value: tuple, path: str):
    return {"$tuple": _encode_list(writer, value, path)}


def _decode_tuple(reader: _Reader, node):
    return tuple(reader.decode(v) for v in _list(node["$tuple"]))


def _encode_dict(writer: _Writer, value: dict, path: str):
    if len(value) >= _MIN_VOCAB and all(type(k) is str for k in value):
        vocabulary = _encode_vocabulary(writer, value)
        if vocabulary is not None:
            return vocabulary
    return {"$dict": [
        [writer.encode(k, f"{path} (a key)"), writer.encode(v, f"{path}[{k!r}]")]
        for k, v in value.items()
    ]}


def _decode_dict(reader: _Reader, node):
    out = {}
    for pair in _list(node["$dict"]):
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("The model file holds a malformed dict entry.")
        key = reader.decode(pair[0])
        try:
            out[key] = reader.decode(pair[1])
        except TypeError:  # an unhashable key
            raise ValueError(f"The model file holds a dict key {key!r}.") from None
    return out


def _encode_vocabulary(writer: _Writer, value: dict[str, int]):
    """A large ``str -> int`` dict (a vocabulary, category codes): its keys in the JSON and
    its values in one int64 tensor; None when its values are not all ints of one kind."""
    ids = list(value.values())
    numpy_ints = all(type(i) is np.int64 for i in ids)
    if numpy_ints or all(type(i) is int and -(2**63) <= i < 2**63 for i in ids):
        return {"$vocab": list(value), "numpy": numpy_ints,
                "ids": writer.array(np.array(ids, dtype=np.int64))}
    return None


def _decode_vocabulary(reader: _Reader, node):
    keys, ids = _list(node["$vocab"]), reader.array(node["ids"])
    if not all(type(k) is str for k in keys) or ids.dtype != np.int64 or ids.shape != (
        len(keys),
    ):
        raise ValueError("The model file holds a malformed vocabulary.")
    values = ids.tolist()
    if node["numpy"]:
        values = [np.int64(v) for v in values]
    return dict(zip(keys, values))


def _encode_array(writer: _Writer, arr: np.ndarray, path: str):
    encoder = _ARRAY_ENCODERS.get(arr.dtype.kind)
    if encoder is None:
        raise _unsupported(arr, path)
    return encoder(writer, arr, path)


def _encode_numeric_array(writer: _Writer, arr: np.ndarray, path: str):
    if arr.dtype.name not in _NUMERIC_DTYPES:
        raise _unsupported(arr, path)
    return {"$array": writer.array(arr)}


def _decode_numeric_array(reader: _Reader, node):
    return reader.array(node["$array"])


def _encode_str_array(writer: _Writer, arr: np.ndarray, path: str):
    return {"$strarray": arr.ravel().tolist(), "dtype": arr.dtype.str, "shape": list(arr.shape)}


def _decode_str_array(reader: _Reader, node):
    values, dtype, shape = _list(node["$strarray"]), node["dtype"], _shape(node["shape"])
    if not (isinstance(dtype, str) and _STR_DTYPE.fullmatch(dtype)) or not all(
        type(v) is str for v in values
    ) or len(values) != math.prod(shape):
        raise ValueError("The model file holds a malformed string array.")
    width = max([len(v) for v in values] + [1024])
    if np.dtype(dtype).itemsize > 4 * width:  # not wider than its strings need
        raise ValueError(f"The model file holds a string array of dtype {dtype!r}.")
    return np.array(values, dtype=dtype).reshape(shape)


def _encode_object_array(writer: _Writer, arr: np.ndarray, path: str):
    return {"$objarray": _encode_list(writer, arr.ravel().tolist(), path),
            "shape": list(arr.shape)}


def _decode_object_array(reader: _Reader, node):
    values, shape = _list(node["$objarray"]), _shape(node["shape"])
    if len(values) != math.prod(shape):
        raise ValueError("The model file holds a malformed object array.")
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = reader.decode(v)
    return out.reshape(shape)


def _encode_csr(writer: _Writer, value, path: str):
    return {
        "$csr": "array" if type(value) is sp.csr_array else "matrix",
        "data": writer.array(value.data), "indices": writer.array(value.indices),
        "indptr": writer.array(value.indptr), "shape": [int(n) for n in value.shape],
    }


def _decode_csr(reader: _Reader, node):
    kind = node["$csr"]
    if kind not in ("matrix", "array"):
        raise ValueError(f"The model file holds an unknown sparse kind {kind!r}.")
    parts = (reader.array(node["data"]), reader.array(node["indices"]),
             reader.array(node["indptr"]))
    try:
        cls = sp.csr_array if kind == "array" else sp.csr_matrix
        matrix = cls(parts, shape=_shape(node["shape"]))
        matrix.check_format(full_check=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"The model file holds a malformed sparse matrix: {exc}") from None
    return matrix


def _encode_class(writer: _Writer, value: type, path: str):
    return {"$class": _CLASS_NAMES[value]}


def _decode_class(reader: _Reader, node):
    name = node["$class"]
    cls = _CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _not_allowed(name, "a class")
    return cls


def _encode_dtype(writer: _Writer, value: np.dtype, path: str):
    if value.name not in _NUMERIC_DTYPES:
        raise _unsupported(value, path)
    return {"$dtype": value.name}


def _decode_dtype(reader: _Reader, node):
    name = node["$dtype"]
    if name not in _NUMERIC_DTYPES:
        raise ValueError(f"The model file holds an unknown dtype {name!r}.")
    return np.dtype(name)


def _encode_tensor(writer: _Writer, value: torch.Tensor, path: str):
    if value.layout != torch.strided:
        raise _unsupported(value, path)
    return {"$tensor": writer.tensor(value)}


def _decode_tensor(reader: _Reader, node):
    return reader.tensor(node["$tensor"]).clone()


def _encode_device(writer: _Writer, value: torch.device, path: str):
    return {"$device": str(value)}


def _decode_device(reader: _Reader, node):
    name = node["$device"]
    try:
        return torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"The model file holds a bad device {name!r}: {exc}") from None


def _encode_random_state(writer: _Writer, value: np.random.RandomState, path: str):
    _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
    return {"$random_state": writer.array(keys), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _decode_random_state(reader: _Reader, node):
    keys = reader.array(node["$random_state"])
    rs = np.random.RandomState()
    try:
        rs.set_state(("MT19937", keys, int(node["pos"]), int(node["has_gauss"]),
                      float(node["cached_gaussian"])))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"The model file holds a bad random state: {exc}") from None
    return rs


def _encode_object(writer: _Writer, obj, path: str) -> dict:
    """An allow-listed object: its constructor parameters, then its other attributes."""
    cls = type(obj)
    params = {}
    for name in _param_names(cls):
        if name not in vars(obj):
            raise TypeError(
                f"sk_mtl.save cannot describe {path}: its {cls.__name__} has no attribute "
                f"{name!r} for its constructor parameter of that name."
            )
        params[name] = vars(obj)[name]
    state = {k: v for k, v in vars(obj).items() if k not in params}
    node = {"$obj": _OBJECT_NAMES[cls]}
    if cls is NeighbourTargets and "index_" in state:
        node["index"] = _encode_index(writer, state.pop("index_"), obj, path)
    node["params"] = {k: writer.encode(v, f"{path}.{k}") for k, v in params.items()}
    node["state"] = {k: writer.encode(v, f"{path}.{k}") for k, v in state.items()}
    return node


def _decode_object(reader: _Reader, node):
    name = node["$obj"]
    cls = _OBJECTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _not_allowed(name, "a class")
    try:
        obj = cls(**reader.params(cls, node["params"]))
    except TypeError as exc:
        raise ValueError(f"The model file's {cls.__name__} could not be built: {exc}") from None
    if cls is TfidfVectorizer and obj.input != "content":
        # "filename"/"file" would make transform open the paths it is given as text.
        raise ValueError(
            f"The model file's TfidfVectorizer has input={obj.input!r}; sk_mtl writes "
            "'content' only."
        )
    reader.restore_state(obj, node["state"])
    if cls is NeighbourTargets and "index" in node:
        index_params = reader.params(NearestNeighbors, node["index"])
        obj.index_ = NearestNeighbors(**index_params).fit(obj.X_)
    return obj


def _encode_index(writer: _Writer, index, retrieval: NeighbourTargets, path: str) -> dict:
    """A nearest-neighbour index is stored as its parameters; :func:`load` refits it on the
    retrieval's rows ``X_`` (what ``NeighbourTargets.fit`` fits it on)."""
    if type(index) is not NearestNeighbors or not _same_rows(
        getattr(index, "_fit_X", None), retrieval.X_
    ):
        raise TypeError(
            f"sk_mtl.save cannot describe {path}.index_: expected a NearestNeighbors index "
            f"fitted on its rows X_, got {_type_name(index)}."
        )
    return {k: writer.encode(v, f"{path}.index_.{k}")
            for k, v in index.get_params(deep=False).items()}


def _same_rows(a, b) -> bool:
    if a is b:
        return True
    if a is None or b is None or a.shape != b.shape or sp.issparse(a) != sp.issparse(b):
        return False
    if sp.issparse(a):
        return (a != b).nnz == 0
    return bool(np.array_equal(a, b))


#: Encoder by the value's exact type.
_ENCODERS: dict[type, Any] = {
    type(None): _encode_plain, bool: _encode_plain, str: _encode_plain, int: _encode_plain,
    float: _encode_float,
    list: _encode_list,
    tuple: _encode_tuple,
    dict: _encode_dict,
    np.ndarray: _encode_array,
    sp.csr_matrix: _encode_csr, sp.csr_array: _encode_csr,
    torch.Tensor: _encode_tensor,
    torch.device: _encode_device,
    np.random.RandomState: _encode_random_state,
    **{cls: _encode_object for cls in _OBJECTS.values()},
}
#: (check, encoder) for the values whose type is not in ``_ENCODERS``, tried in order.
_ENCODER_CHECKS: tuple = (
    (lambda value: isinstance(value, np.generic), _encode_numpy_scalar),
    (lambda value: isinstance(value, type) and value in _CLASS_NAMES, _encode_class),
    (lambda value: isinstance(value, np.dtype), _encode_dtype),
)
#: Encoder of an ndarray by its dtype's kind.
_ARRAY_ENCODERS = {
    "b": _encode_numeric_array, "i": _encode_numeric_array, "u": _encode_numeric_array,
    "f": _encode_numeric_array, "U": _encode_str_array, "O": _encode_object_array,
}
#: Decoder by the node's tag.
_DECODERS: dict[str, Any] = {
    "$float": _decode_float,
    "$np": _decode_numpy_scalar,
    "$tuple": _decode_tuple,
    "$dict": _decode_dict,
    "$vocab": _decode_vocabulary,
    "$array": _decode_numeric_array,
    "$strarray": _decode_str_array,
    "$objarray": _decode_object_array,
    "$csr": _decode_csr,
    "$class": _decode_class,
    "$dtype": _decode_dtype,
    "$tensor": _decode_tensor,
    "$device": _decode_device,
    "$random_state": _decode_random_state,
    "$obj": _decode_object,
}
