"""The ONNX export: a skl2onnx converter for the sk_mtl estimators, ``to_onnx`` and ``check``.

The estimators are registered with skl2onnx (:func:`register`), so a ``Pipeline`` or
``ColumnTransformer`` holding one converts as a whole: scikit-learn's steps through
skl2onnx's own converters, the sk_mtl estimator through :func:`_convert`, which exports the
estimator's prediction (:func:`._graph.serving_module`) with ``torch.onnx.export`` (the
dynamo exporter, a dynamic batch dimension), copies that graph's nodes and constants into
skl2onnx's graph under fresh names, and maps label indices to the labels.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..exceptions import ExportError
from ._graph import fusion_serving_module, serving_module

__all__ = ["check", "register", "to_onnx"]

#: The opset the graphs are written for unless ``target_opset`` says otherwise: the newest
#: one both torch's exporter and skl2onnx's converters are tested with.
DEFAULT_OPSET = 21
#: The oldest opset torch's dynamo exporter writes.
MIN_OPSET = 18
#: The ``ai.onnx.ml`` opset written beside it (skl2onnx's converters of scikit-learn steps).
ML_OPSET = 3

#: Rows of the example inputs the exporter traces (the batch dimension is dynamic): a
#: number no other dimension of a network is likely to have.
_SAMPLE_ROWS = 97

_REGISTERED = False


def _onnx_modules():
    try:
        import onnx
        import skl2onnx
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"ONNX export needs the onnx extra ({exc.name} is missing): "
            "pip install 'sk_mtl[onnx]'."
        ) from None
    return onnx, skl2onnx


def _estimator_classes():
    from .. import estimators as e

    return (e.MultiTaskNet, e.MultiTaskNetClassifier, e.MultiTaskNetRegressor, e.FusionNet,
            e.FusionNetClassifier, e.FusionNetRegressor)


def register() -> None:
    """Register the sk_mtl estimators with skl2onnx (done by :func:`to_onnx`; call it to
    use ``skl2onnx.to_onnx`` or ``convert_sklearn`` directly)."""
    global _REGISTERED
    if _REGISTERED:
        return
    _, skl2onnx = _onnx_modules()
    for cls in _estimator_classes():
        skl2onnx.update_registered_converter(
            cls, f"SkMtl{cls.__name__}", _shapes, _convert, parser=_parse
        )
    _REGISTERED = True


# --------------------------------------------------------------------------- outputs
def _outputs(est) -> list[tuple[str, str, str]]:
    """``(output name, task, what)`` in the order :class:`._graph.Decode` returns them,
    ``what`` one of ``"label"``, ``"probabilities"``, ``"value"``."""
    single = est._single_output
    out = []
    for name in est.task_names_:
        if est.tasks_[name].kind == "regression":
            out.append(("variable" if single else f"label_{name}", name, "value"))
        else:
            suffix = "" if single else f"_{name}"
            out.append((f"label{suffix}", name, "label"))
            out.append((f"probabilities{suffix}", name, "probabilities"))
    return out


def _label_type(task):
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )

    if task.kind == "multilabel":
        return Int64TensorType  # a 0/1 indicator per label, in classes_ order
    kind = task.classes_.dtype.kind
    if kind in "iu":
        return Int64TensorType
    if kind == "f":
        return DoubleTensorType
    if kind == "b":
        return BooleanTensorType
    if all(isinstance(c, str) for c in task.classes_):
        return StringTensorType
    raise ExportError(
        f"Task {task!r} has labels of type {type(task.classes_[0]).__name__}; ONNX outputs "
        "take strings, integers, floats or booleans."
    )


def _parse(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    operator = scope.declare_local_operator(f"SkMtl{type(model).__name__}", model)
    operator.inputs = inputs
    for output, task, what in _outputs(model):
        kind = {"probabilities": FloatTensorType, "value": DoubleTensorType}.get(what) or \
            _label_type(model.tasks_[task])
        operator.outputs.append(scope.declare_local_variable(output, kind()))
    return operator.outputs


def _shapes(operator) -> None:
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    for variable, (_, task, what) in zip(operator.outputs, _outputs(est)):
        t = est.tasks_[task]
        width = len(t.classes_) if what == "probabilities" or t.kind == "multilabel" else None
        if what == "value":
            width = 1 if est._single_output else None
        variable.type = type(variable.type)([n] if width is None else [n, width])


# --------------------------------------------------------------------------- converter
@contextlib.contextmanager
def _quiet():
    """torch's exporter reports each step and warns about optional packages: keep it quiet."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_network(est, opset: int):
    """The ONNX model (``ModelProto``) of the fitted estimator's prediction after the
    steps that need string operations: for a one-table estimator, one float32 input of
    ``n_features_in_`` columns; for a FusionNet, the inputs of
    :func:`._graph.fusion_serving_module`. A dynamic number of rows; the outputs of
    :class:`._graph.Decode`."""
    import torch

    if opset < MIN_OPSET:
        raise ExportError(
            f"target_opset={opset}: the network exports with torch's exporter, which writes "
            f"opset {MIN_OPSET} or newer."
        )
    if _is_fusion(est):
        module = fusion_serving_module(est)
        samples = []
        for m in module.names:
            converter = est.modalities_[m]
            if converter.kind == "tabular":
                samples.append(torch.zeros(_SAMPLE_ROWS, converter.n_columns_))
            elif converter.kind == "categorical":
                samples += [torch.zeros(_SAMPLE_ROWS, converter.n_features_, dtype=torch.long),
                            torch.ones(_SAMPLE_ROWS, dtype=torch.bool)]
            elif converter.kind == "image":
                samples.append(torch.zeros(_SAMPLE_ROWS, *converter.shape_))
            else:
                samples += [torch.zeros(_SAMPLE_ROWS, converter.n_features_),
                            torch.ones(_SAMPLE_ROWS, dtype=torch.bool)]
    else:
        module = serving_module(est)
        samples = [torch.zeros(_SAMPLE_ROWS, est.n_features_in_)]
    return _export(module, tuple(samples), est, opset)


def _export(module, samples: tuple, est, opset: int):
    import onnx
    import onnx.inliner
    import torch

    batch = torch.export.Dim("batch", min=1)
    # The batch dimension of every input is dynamic; FusionServing takes them as *inputs.
    specs = tuple({0: batch} for _ in samples)
    first = next(iter(inspect.signature(module.forward).parameters.values()))
    dynamic = {first.name: specs} if first.kind is first.VAR_POSITIONAL else specs
    try:
        with _quiet():
            program = torch.onnx.export(
                module, samples, dynamo=True, opset_version=opset, verbose=False,
                dynamic_shapes=dynamic, optimize=True,
            )
    except Exception as exc:
        raise ExportError(
            f"torch's ONNX exporter could not export {type(est).__name__}'s network "
            f"({type(est.net_.module_.trunk).__name__} trunk): {str(exc).splitlines()[0]} "
            "A custom trunk or encoder must use operations the exporter supports; otherwise "
            "save the model with sk_mtl.save."
        ) from exc
    model = onnx.inliner.inline_local_functions(program.model_proto)
    for node in model.graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
               for a in node.attribute):
            raise ExportError(
                f"{type(est).__name__}'s network exports with control flow ({node.op_type}), "
                "which sk_mtl cannot embed in a pipeline graph."
            )
    return model


def _embed(model, scope, container, inputs: list[str], prefix: str) -> list[str]:
    """Copy ``model``'s graph into skl2onnx's ``container``, its inputs read from
    ``inputs`` (in order); returns the names of its outputs in the container."""
    from onnx import helper, numpy_helper

    opsets = {o.domain: o.version for o in model.opset_import}
    graph = model.graph
    names = {i.name: given for i, given in zip(graph.input, inputs)}
    names[""] = ""

    def rename(name: str) -> str:
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"{prefix}_{name}")
        return names[name]

    for init in graph.initializer:
        _add_constant(container, rename(init.name), numpy_helper.to_array(init))
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        op_type, node_inputs = _without_missing_inputs(node)
        container.add_node(
            op_type, [rename(i) for i in node_inputs], [rename(o) for o in node.output],
            op_domain=node.domain, op_version=opsets.get(node.domain, opsets[""]),
            name=scope.get_unique_operator_name(f"{prefix}_{node.op_type}"), **attrs,
        )
    return [names[o.name] for o in graph.output]


def _without_missing_inputs(node) -> tuple[str, list[str]]:
    """The node's operator and inputs without left-out optional inputs (named ``""``),
    which skl2onnx's graph sorting cannot place: trailing ones are dropped, a ``Clip``
    with one bound becomes ``Min`` or ``Max``."""
    inputs = list(node.input)
    while inputs and not inputs[-1]:
        inputs.pop()
    if node.op_type == "Clip" and len(inputs) == 3 and not inputs[1]:
        return "Min", [inputs[0], inputs[2]]
    if "" in inputs:
        raise ExportError(
            f"the exported network has a {node.op_type} node with a left-out input, which "
            "sk_mtl cannot embed in a pipeline graph."
        )
    if node.op_type == "Clip" and len(inputs) == 2:
        return "Max", inputs
    return node.op_type, inputs


def _add_constant(container, name: str, array: np.ndarray) -> None:
    """``array`` (numbers, booleans or strings) as the initializer ``name``."""
    from onnx import TensorProto, numpy_helper

    if array.dtype.kind in "OUS":
        container.add_initializer(name, TensorProto.STRING, [len(array)],
                                  [str(v).encode("utf-8") for v in array])
        return
    tensor = numpy_helper.from_array(array, name)
    container.add_initializer(name, tensor.data_type, list(tensor.dims), tensor)


class _Graph:
    """Adds nodes to skl2onnx's container under fresh names (the converter's helpers)."""

    def __init__(self, scope, container) -> None:
        self.scope, self.container = scope, container

    def name(self, seed: str) -> str:
        return self.scope.get_unique_variable_name(f"sk_mtl_{seed}")

    def node(self, op: str, inputs: list[str], output: str | None = None, domain: str = "",
             version: int | None = None, **attrs) -> str:
        output = output or self.name(op.lower())
        self.container.add_node(op, inputs, [output], op_domain=domain, op_version=version,
                                name=self.scope.get_unique_operator_name(f"sk_mtl_{op}"),
                                **attrs)
        return output

    def constant(self, seed: str, array: np.ndarray) -> str:
        name = self.name(seed)
        _add_constant(self.container, name, array)
        return name

    def cast(self, x: str, to: int) -> str:
        return self.node("Cast", [x], to=to)

    def concat(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=1)

    def any_row(self, flags: list[str]) -> str:
        """Per row, whether any of the (n, 1) boolean ``flags`` holds: (n,) bool."""
        from onnx import TensorProto

        wide = self.concat([self.cast(f, TensorProto.INT64) for f in flags])
        axes = self.constant("axes", np.array([1], dtype=np.int64))
        top = self.node("ReduceMax", [wide, axes], keepdims=0)
        return self.cast(top, TensorProto.BOOL)


def _float_input(graph: _Graph, variable) -> str:
    from onnx import TensorProto
    from skl2onnx.common.data_types import FloatTensorType

    if isinstance(variable.type, FloatTensorType):
        return variable.full_name
    return graph.cast(variable.full_name, TensorProto.FLOAT)


def _string_input(graph: _Graph, variable, column: str) -> str:
    from skl2onnx.common.data_types import StringTensorType

    if not isinstance(variable.type, StringTensorType):
        raise ExportError(
            f"Column {column!r} is read as categories or text: declare it as a string input "
            "(StringTensorType); a missing value is the empty string."
        )
    return variable.full_name


def _categorical(graph: _Graph, converter, inputs: list, columns: list[str]) -> list[str]:
    """Category codes ``(n, k)`` int64 (0: unknown or missing) and the present rows."""
    codes, given = [], []
    for variable, column, mapping in zip(inputs, columns, converter.categories_):
        text = _string_input(graph, variable, column)
        codes.append(graph.node(
            "LabelEncoder", [text], domain="ai.onnx.ml", version=ML_OPSET,
            keys_strings=list(mapping), values_int64s=list(mapping.values()),
            default_int64=0,
        ))
        empty = graph.constant("empty", np.array([""], dtype=object))
        given.append(graph.node("Not", [graph.node("Equal", [text, empty])]))
    return [graph.concat(codes), graph.any_row(given)]


#: scikit-learn's token pattern ``(?u)\\b\\w\\w+\\b`` for onnxruntime's tokenizer, whose
#: ``\\w`` is ASCII only: Python's ``\\w`` is a letter, a digit or ``_`` in any script.
_TOKEN = r"[\p{L}\p{N}_][\p{L}\p{N}_]+"


def _text(graph: _Graph, converter, inputs: list, columns: list[str], opset: int) -> list[str]:
    """Each text column's n-gram counts in its vocabulary (side by side) and the rows
    with some non-blank text. The counts come from skl2onnx's ``CountVectorizer``
    converter with scikit-learn's token pattern (:data:`_TOKEN`), lower-cased in the C
    locale (the one every machine has): capitals outside ASCII stay capitals."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import CountVectorizer

    if len(converter.vectorizers_) != len(inputs):
        raise ExportError(
            f"Modality {converter.name!r} joins its {len(inputs)} text columns into one text; "
            "only one TF-IDF vocabulary per column exports."
        )
    counts, given = [], []
    for variable, column, vectorizer in zip(inputs, columns, converter.vectorizers_):
        text = _string_input(graph, variable, column)
        if vectorizer.token_pattern != r"(?u)\b\w\w+\b" or vectorizer.analyzer != "word":
            raise ExportError(f"Modality {converter.name!r}: only word n-grams of the default "
                              "token pattern export.")
        counter = CountVectorizer(vocabulary=vectorizer.vocabulary_, dtype=np.float32,
                                  ngram_range=vectorizer.ngram_range).fit([""])
        model = convert_sklearn(
            counter, initial_types=[("text", StringTensorType([None, 1]))],
            target_opset={"": opset, "ai.onnx.ml": ML_OPSET},
            options={CountVectorizer: {"locale": "C", "tokenexp": _TOKEN}},
        )
        counts += _embed(model, graph.scope, graph.container, [text], prefix="sk_mtl_text")
        blank = graph.node("RegexFullMatch", [text], pattern=r"(?s)\s*")
        given.append(graph.node("Not", [blank]))
    return [graph.concat(counts), graph.any_row(given)]


def _fusion_inputs(graph: _Graph, operator, est, opset: int) -> list[str]:
    """The inputs of :func:`._graph.fusion_serving_module`, made from the graph's inputs
    (one per column of the DataFrame the model was fitted on)."""
    plan = est.__dict__.get("_modality_plan")
    by_name = {v.raw_name: v for v in operator.inputs}
    if plan is None and est.modality_names_ == ["X"]:  # one 2-D table: one float input
        return [_float_input(graph, operator.inputs[0])]
    if plan is None:  # a dict of arrays: one input per modality, named after it
        plan = [(m, m, est.modalities_[m].kind, None) for m in est.modality_names_]
    missing = [c for c, *_ in plan if c not in by_name]
    if missing:
        raise ExportError(
            f"The graph has no input for column(s) {missing[:10]} the model was fitted on; "
            "export with X holding every column (one input per column)."
        )
    out = []
    for m in est.modality_names_:
        columns = [c for c, modality, *_ in plan if modality == m]
        variables = [by_name[c] for c in columns]
        converter = est.modalities_[m]
        if converter.kind in ("tabular", "image"):
            out.append(graph.concat([_float_input(graph, v) for v in variables]))
        elif converter.kind == "categorical":
            out += _categorical(graph, converter, variables, columns)
        else:
            out += _text(graph, converter, variables, columns, opset)
    return out


def _convert(scope, operator, container) -> None:
    est = operator.raw_operator
    graph = _Graph(scope, container)
    model = export_network(est, container.target_opset)
    if _is_fusion(est):
        inputs = _fusion_inputs(graph, operator, est, container.target_opset)
    else:
        inputs = [_float_input(graph, operator.inputs[0])]
    produced = _embed(model, scope, container, inputs, prefix="sk_mtl")
    for variable, raw, (_, task, what) in zip(operator.outputs, produced, _outputs(est)):
        t = est.tasks_[task]
        out = variable.full_name
        if what == "label" and t.kind != "multilabel":
            classes = np.asarray(t.classes_)
            # The declared label type: int64 for any integers, float64 for any floats.
            cast = {"i": np.int64, "u": np.int64, "f": np.float64}.get(classes.dtype.kind)
            classes = graph.constant(f"classes_{task}",
                                     classes if cast is None else classes.astype(cast))
            graph.node("Gather", [classes, raw], out, axis=0)
        elif what == "value" and not est._single_output:
            axes = graph.constant("axes", np.array([1], dtype=np.int64))
            graph.node("Squeeze", [raw, axes], out)
        else:
            graph.node("Identity", [raw], out)


def _is_fusion(est) -> bool:
    from ..estimators._modality_input import ModalityInput

    return isinstance(est._input, ModalityInput)


# --------------------------------------------------------------------------- public
def _final(model):
    from sklearn.pipeline import Pipeline

    return model[-1] if isinstance(model, Pipeline) else model


def to_onnx(model, X=None, *, path=None, target_opset: int | None = None,
            initial_types=None):
    """Export a fitted sk_mtl estimator, or a fitted ``Pipeline`` ending in one, as one
    ONNX graph: preprocessing, network and label decoding.

    scikit-learn steps convert through skl2onnx's converters, the network through
    ``torch.onnx.export`` (dynamo exporter); the result runs in onnxruntime or any ONNX
    runtime, with a dynamic number of rows.

    Parameters
    ----------
    model : estimator or Pipeline
        A fitted ``MultiTaskNet``, ``MultiTaskNetClassifier`` or ``MultiTaskNetRegressor``,
        alone or as the last step of a ``Pipeline`` (any steps skl2onnx converts:
        ``ColumnTransformer``, ``OneHotEncoder``, ``SimpleImputer``, ``StandardScaler``...);
        or a fitted ``FusionNet*`` alone, fitted on a DataFrame (numeric, categorical and
        TF-IDF text columns), on a dict of arrays (tables, images, TF-IDF text) or on one
        2-D table.
    X : array-like or DataFrame, optional
        A few input rows, from which the graph's input types are read as skl2onnx does: an
        array gives one float input ``X``; a DataFrame one input per column, named after
        it. Default: one float input of ``n_features_in_`` columns; for a FusionNet, one
        input per column of the DataFrame, or per modality of the dict, it was fitted on.
    path : str or path-like, optional
        Also write the model there.
    target_opset : int, optional
        The ONNX opset (default 21; at least 18, the oldest torch's exporter writes).
    initial_types : list, optional
        skl2onnx's input declarations, instead of reading them from ``X``.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Outputs, per task ``t`` (``task_names_`` order): ``label_<t>`` (labels in their
        original type; for a multilabel task a 0/1 column per label) and
        ``probabilities_<t>`` (float, ``classes_`` order) for classification, ``label_<t>``
        in the original unit for regression (float64). An estimator fitted on a 1-D ``y`` has
        scikit-learn's names instead: ``label`` and ``probabilities``, or ``variable``.

    Raises
    ------
    ExportError
        For what has no ONNX form (token or sentence-embedding text, a sparse table, a
        custom trunk the exporter rejects), naming the part, before anything is written.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.onnx import to_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3)).astype(np.float32)
    >>> y = np.column_stack([X[:, 0] > 0, X[:, 1] * 2.0])
    >>> est = MultiTaskNet(tasks={"y0": "binary", "y1": "regression"}, max_epochs=2,
    ...                    random_state=0).fit(X, y)
    >>> onnx_model = to_onnx(est, X)
    >>> session = ort.InferenceSession(onnx_model.SerializeToString())
    >>> [o.name for o in session.get_outputs()]
    ['label_y0', 'probabilities_y0', 'label_y1']
    """
    onnx, skl2onnx = _onnx_modules()
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    register()
    final = _final(model)
    if not hasattr(final, "net_"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(final)  # raises NotFittedError for an unfitted sk_mtl estimator
        raise ExportError(
            f"sk_mtl.onnx.to_onnx exports sk_mtl's MultiTaskNet* estimators (alone or last "
            f"in a Pipeline); got {type(final).__name__}. Use skl2onnx.to_onnx for others."
        )
    # Fails early, naming the part, for what has no ONNX form.
    (fusion_serving_module if _is_fusion(final) else serving_module)(final)
    opset = DEFAULT_OPSET if target_opset is None else int(target_opset)
    if initial_types is None and model is final and _is_fusion(final):
        initial_types = _fusion_types(final, X)
    if initial_types is None:
        if X is None:
            n = getattr(model, "n_features_in_", None)
            if n is None:
                raise ValueError("Pass X (a few input rows) to read the input types from.")
            initial_types = [("X", FloatTensorType([None, int(n)]))]
        elif model is final or not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=np.float32)
            initial_types = [("X", FloatTensorType([None, X.shape[1]]))]
        else:
            from skl2onnx.algebra.type_helper import guess_initial_types

            # Numbers as float32, as skl2onnx recommends: onnxruntime lacks double kernels
            # of some ai.onnx.ml operators (Imputer, for SimpleImputer).
            initial_types = [
                (name, FloatTensorType(t.shape) if isinstance(t, DoubleTensorType) else t)
                for name, t in guess_initial_types(X.iloc[:1], None)
            ]
    onnx_model = skl2onnx.convert_sklearn(
        model, initial_types=initial_types, target_opset={"": opset, "ai.onnx.ml": ML_OPSET},
        name=type(final).__name__,
    )
    onnx.checker.check_model(onnx_model)
    if path is not None:
        onnx.save_model(onnx_model, str(path))
    return onnx_model


def _fusion_types(est, X) -> list | None:
    """The graph inputs of a FusionNet fitted on a DataFrame: one per column, numbers as
    float, categories and text as strings (None: fitted on one 2-D table)."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    plan = est.__dict__.get("_modality_plan")
    if plan is None and est.modality_names_ == ["X"]:
        return None
    if plan is None:  # a dict of arrays: one input per modality
        types = []
        for m in est.modality_names_:
            converter = est.modalities_[m]
            if converter.kind == "text":
                types.append((m, StringTensorType([None, 1])))
            elif converter.kind == "image":
                types.append((m, FloatTensorType([None, *converter.shape_])))
            else:
                types.append((m, FloatTensorType([None, converter.n_columns_])))
        return types
    if isinstance(X, pd.DataFrame) and set(map(str, X.columns)) != {c for c, *_ in plan}:
        raise ValueError(
            f"X has columns {list(map(str, X.columns))[:20]}; the model was fitted on "
            f"{[c for c, *_ in plan][:20]}."
        )
    order = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else [c for c, *_ in plan]
    kinds = {c: kind for c, _, kind, _ in plan}
    return [(c, (FloatTensorType if kinds[c] == "tabular" else StringTensorType)([None, 1]))
            for c in order]


#: The numpy type onnxruntime takes for each input type.
_INPUT_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64,
                 "tensor(int64)": np.int64, "tensor(string)": object}


def _column_values(column: pd.Series, onnx_type: str) -> np.ndarray:
    """One DataFrame column as a graph input ``(n, 1)``: missing strings as ``""``."""
    if onnx_type == "tensor(string)":
        values = [("" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                   else str(v)) for v in column.astype(object).tolist()]
        return np.array(values, dtype=object).reshape(-1, 1)
    return pd.to_numeric(column, errors="coerce").to_numpy(
        dtype=_INPUT_DTYPES[onnx_type], na_value=np.nan).reshape(-1, 1)


def _feeds(session, X) -> dict:
    """The onnxruntime inputs of ``X`` for the graph's declared inputs."""
    inputs = session.get_inputs()
    dtypes = _INPUT_DTYPES
    if isinstance(X, Mapping):  # one input per modality
        return {i.name: (_column_values(pd.Series(np.asarray(X[i.name], dtype=object)), i.type)
                         if i.type == "tensor(string)"
                         else np.asarray(X[i.name]).astype(dtypes[i.type]))
                for i in inputs}
    if len(inputs) == 1:
        values = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        return {inputs[0].name: values.astype(dtypes[inputs[0].type])}
    # skl2onnx names an input after its column, characters other than letters, digits
    # and "_" replaced by "_" ("Review Text" -> "Review_Text").
    columns = {re.sub(r"[^a-zA-Z0-9_]", "_", str(c)): c for c in X.columns}
    columns.update({str(c): c for c in X.columns})
    return {i.name: _column_values(X[columns[i.name]], i.type) for i in inputs}


def check(model, X, onnx_model=None, *, rtol: float = 0.0, atol: float = 1e-5) -> dict:
    """Run the exported graph in onnxruntime on ``X`` and compare it with the model's own
    predictions and probabilities.

    Parameters
    ----------
    model : estimator or Pipeline
        The fitted model that was exported.
    X : array-like or DataFrame
        Rows to compare on (rows other than the training rows: the model's own prediction
        of its training rows leaves each row out of its retrieval neighbours, which the
        graph does not know).
    onnx_model : onnx.ModelProto, bytes or path, optional
        The exported model (default: ``to_onnx(model, X)``).
    rtol, atol : float
        Tolerances on probabilities and regression values (absolute ``atol`` plus ``rtol``
        times the value). A label may differ only where the model's own probabilities of
        its two likeliest labels are within ``2 * atol`` (a tie up to rounding).

    Returns
    -------
    differences : dict of str to float
        Largest absolute difference per output (mismatched labels count as 1.0).

    Raises
    ------
    AssertionError
        If an output differs beyond the tolerances; the message names it.
    """
    import onnxruntime as ort

    if onnx_model is None:
        onnx_model = to_onnx(model, X)
    if hasattr(onnx_model, "SerializeToString"):
        onnx_model = onnx_model.SerializeToString()
    elif not isinstance(onnx_model, bytes):
        onnx_model = str(onnx_model)
    session = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, _feeds(session, X))))

    final = _final(model)
    Xt = model[:-1].transform(X) if final is not model else X
    raw = final._raw_outputs(Xt)
    report, failures = {}, []
    for output, task, what in _outputs(final):
        if output not in got:
            failures.append(f"{output}: not an output of the graph")
            continue
        t, value = final.tasks_[task], got[output]
        if what == "value":
            expected = t.decode(raw[task])
            diff = np.abs(value.reshape(-1) - expected)
            bad = diff > atol + rtol * np.abs(expected)
        elif what == "probabilities":
            expected = t.proba(raw[task])
            diff = np.abs(value - expected)
            bad = diff > atol + rtol * np.abs(expected)
        else:
            expected = t.decode(raw[task])
            if t.kind == "multilabel":
                expected = (raw[task] > 0).astype(np.int64)
                close = np.abs(t.proba(raw[task]) - 0.5) <= atol
                diff = (value != expected) & ~close
            else:
                proba = t.proba(raw[task])
                top = np.sort(proba, axis=1)
                close = (top[:, -1] - top[:, -2]) <= 2 * atol
                diff = (value.reshape(-1) != expected) & ~close
            diff = diff.astype(np.float64)
            bad = diff > 0
        report[output] = float(diff.max()) if diff.size else 0.0
        if bad.any():
            failures.append(f"{output}: {int(bad.sum())} value(s) differ, up to {diff.max():.3g}")
    if failures:
        raise AssertionError("The ONNX graph differs from the model: " + "; ".join(failures))
    return report
