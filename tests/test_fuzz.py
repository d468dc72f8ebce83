"""Property-based tests of "nothing silent": whatever the input, an estimator fails with a
clear error or predicts in the label space.

Random tables, targets, task dicts, modality dicts and parameters go through ``fit``,
``predict``, ``predict_tasks``, ``predict_proba`` and ``score``. The property:

* the only exceptions are a ``ValueError`` or ``TypeError`` with a non-empty message, raised
  by sk_mtl (or scikit-learn's validation) rather than from inside torch, numpy, pandas,
  scipy or skorch, and not a raw Python/torch message such as "mat1 and mat2 shapes cannot be
  multiplied" or "index 3 is out of bounds";
* a fit that raises leaves the estimator unfitted;
* a successful ``predict`` has one row per input row, one column per predicted task, finite
  regression values and classification labels among the task's fitted ``classes_``;
  ``predict_proba`` rows are finite, in [0, 1] and sum to 1 for binary and multiclass tasks;
  ``score`` is a number no larger than 1.

The strategies and the checker live here only; ``benchmarks/fuzz_counts.py`` imports them
for a longer run that counts the outcomes instead of stopping at the first failure.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import traceback

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from sk_mtl.data import split_targets
from sk_mtl.tasks import BinaryTask

ESTIMATORS = {
    cls.__name__: cls
    for cls in (MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor,
                FusionNet, FusionNetClassifier, FusionNetRegressor)
}
TABLE_ESTIMATORS = ("MultiTaskNet", "MultiTaskNetClassifier", "MultiTaskNetRegressor")
FUSION_ESTIMATORS = ("FusionNet", "FusionNetClassifier", "FusionNetRegressor")

#: Values planted in inputs and targets.
SPECIALS = (np.nan, np.inf, -np.inf, 1e300, 3e38, -1e20, 1e15, 5e-324, -0.0)
KINDS = ("binary", "multiclass", "multilabel", "regression", "ordinal")
FUSIONS = ("concat", "early", "weighted_sum", "attention", "gated", "late")
WORDS = ("good", "bad", "ok", "the", "fits", "small", "great", "and")

# ============================================================================ the checker
#: Libraries whose own frames must not be where an error is raised: their messages do not
#: name the task, modality or column at fault.
RAW_LIBRARIES = ("torch", "numpy", "pandas", "scipy", "skorch")
#: Raw torch / numpy / Python messages (matched at the start of the message), whichever
#: frame raised them.
RAW_MESSAGES = (
    "Expected more than 1 value per channel",
    "mat1 and mat2 shapes cannot be multiplied",
    "index .* is out of bounds",
    ".*out of bounds",
    "zero-size array",
    "could not broadcast",
    "cannot reshape",
    "setting an array element with a sequence",
    "operands could not be broadcast",
    "The truth value of an",
    "unhashable type",
    ".*not supported between instances of",
    "unsupported operand type",
    ".*object is not (iterable|subscriptable|callable)",
    ".*argument must be a string or a (real )?number",
    "can't multiply sequence",
    "invalid literal for int",
    "could not convert string to float",
    "Given groups=",
    "Expected (input|target|tensor)",
    "Calculated padded input size",
    "Kernel size can't be greater",
    "negative dimensions are not allowed",
    "cannot convert float NaN to integer",
    "math domain error",
    "division by zero",
    "too many indices",
    "need at least one array to concatenate",
    "tuple index out of range",
    "list index out of range",
    "the size of tensor",
    "The size of tensor",
    "Sizes of tensors must match",
    "Dimension out of range",
    "min\\(\\): Expected reduction dim",
    "max\\(\\): Expected reduction dim",
)
_RAW = re.compile("|".join(f"(?:{m})" for m in RAW_MESSAGES))


@dataclasses.dataclass
class Outcome:
    """What one case did: ``kind`` is "clean", "error" (a clear ValueError/TypeError),
    "crash" (anything else) or "garbage" (a result that breaks the property)."""

    kind: str
    stage: str = ""
    detail: str = ""
    where: str = ""

    def key(self) -> tuple:
        """Identity of the failure for counting distinct ones (numbers and reprs blurred)."""
        text = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", self.detail)
        text = re.sub(r"'[^']*'", "'?'", text)[:90]
        return (self.kind, self.stage, text, self.where)


def _last_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    path = frames[-1].filename.replace(os.sep, "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/sk_mtl/" in path:
        path = "sk_mtl/" + path.rsplit("/sk_mtl/", 1)[1]
    return f"{path}:{frames[-1].lineno}"


def classify_exception(exc: BaseException, stage: str) -> Outcome:
    """A clear error (ValueError/TypeError with a message of sk_mtl's or scikit-learn's) or
    a crash."""
    where = _last_frame(exc)
    message = str(exc).strip()
    detail = f"{type(exc).__name__}: {message}"
    if not isinstance(exc, (ValueError, TypeError)) or not message:
        return Outcome("crash", stage, detail, where)
    library = where.split("/", 1)[0]
    if where.rsplit(":", 1)[0].endswith("test_fuzz.py"):  # a bug of the checker: say so
        return Outcome("crash", stage, detail + " (raised by the checker)", where)
    if library in RAW_LIBRARIES or _RAW.match(message):
        return Outcome("crash", stage, detail, where)
    return Outcome("error", stage, detail, where)


def _n_rows(X) -> int | None:
    if isinstance(X, dict):
        if not X:
            return None
        return _n_rows(next(iter(X.values())))
    if hasattr(X, "shape") and len(X.shape):
        return X.shape[0]
    return len(X)


def _labels(values) -> list:
    return np.asarray(values, dtype=object).tolist() if np.ndim(values) else [values]


def _check_predictions(est, case: Case, n: int) -> str | None:
    """What is wrong with ``predict`` and ``predict_tasks`` on ``case.X_pred``, or None."""
    names = list(est.task_names_)
    pred = np.asarray(est.predict(case.X_pred), dtype=object)
    if pred.shape[:1] != (n,):
        return f"predict returned shape {pred.shape} for {n} rows"
    if pred.ndim == 1 and len(names) != 1:
        return f"predict is 1-D for {len(names)} tasks {names}"
    if pred.ndim == 2 and pred.shape[1] != len(names):
        return f"predict has {pred.shape[1]} columns for tasks {names}"
    if pred.ndim not in (1, 2):
        return f"predict returned a {pred.ndim}-D array"
    if split_targets(case.y).one_dimensional and pred.ndim != 1:
        return f"1-D y but predict returned shape {pred.shape}"
    per_task = est.predict_tasks(case.X_pred)
    if list(per_task) != names:
        return f"predict_tasks keys {list(per_task)} != task_names_ {names}"
    for j, name in enumerate(names):
        values = per_task[name]
        task = est.tasks_[name]
        if len(values) != n:
            return f"predict_tasks[{name!r}] has {len(values)} rows for {n}"
        column = pred if pred.ndim == 1 else pred[:, j]
        if _labels(column) != _labels(values):
            return f"predict's column {name!r} differs from predict_tasks[{name!r}]"
        if task.kind == "regression":
            as_float = np.asarray(values, dtype=np.float64)
            if not np.isfinite(as_float).all():
                return f"regression task {name!r}: predict returned {as_float[:5]}"
            continue
        classes = _labels(task.classes_)
        if task.kind == "multilabel":
            for row in _labels(values):
                if not isinstance(row, tuple) or any(v not in classes for v in row):
                    return f"multilabel task {name!r}: {row!r} is not a tuple of {classes}"
            continue
        for v in _labels(values):
            if v not in classes or (isinstance(v, float) and math.isnan(v)):
                return f"task {name!r}: predicted {v!r} is not among classes_ {classes}"
    return None


def _check_proba(est, case: Case, n: int) -> str | None:
    names = list(est.task_names_)
    proba = est.predict_proba(case.X_pred)
    if len(names) == 1 and not isinstance(proba, list):
        proba = [proba]
    if not isinstance(proba, list) or len(proba) != len(names):
        return f"predict_proba returned {type(proba).__name__} for tasks {names}"
    per_task = est.predict_tasks(case.X_pred)
    for name, p in zip(names, proba):
        task = est.tasks_[name]
        if not task.is_classification:
            if p is not None:
                return f"predict_proba for regression task {name!r} is not None"
            continue
        p = np.asarray(p, dtype=np.float64)
        width = len(task.classes_)
        if p.shape != (n, width):
            return f"predict_proba[{name!r}] has shape {p.shape}, expected {(n, width)}"
        if not np.isfinite(p).all():
            return f"predict_proba[{name!r}] is not finite: {p[~np.isfinite(p)][:3]}"
        if (p < 0).any() or (p > 1).any():
            return f"predict_proba[{name!r}] outside [0, 1]: {p.min()} .. {p.max()}"
        if task.kind == "multilabel" or not n:
            continue
        if not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-6):
            return f"predict_proba[{name!r}] rows sum to {p.sum(axis=1)[:5]}"
        classes = _labels(task.classes_)
        predicted = _labels(per_task[name])
        for i in range(n):
            k = classes.index(predicted[i])
            if p[i, k] < p[i].max() - 1e-12:
                return (f"task {name!r} row {i}: predict says {predicted[i]!r} but "
                        f"predict_proba is {p[i].tolist()}")
    return None


def run_case(case: Case) -> Outcome:
    """Fit, predict, predict_proba and score one case; what happened."""
    est = case.build()
    try:
        est.fit(case.X, case.y)
    except Exception as exc:
        outcome = classify_exception(exc, "fit")
        if outcome.kind == "error" and hasattr(est, "net_"):
            return Outcome("garbage", "fit", f"a failed fit left net_ behind ({outcome.detail})",
                           outcome.where)
        return outcome
    n = _n_rows(case.X_pred)
    stage = "predict"
    try:
        problem = _check_predictions(est, case, n)
        if problem is None and hasattr(est, "predict_proba"):
            stage = "predict_proba"
            problem = _check_proba(est, case, n)
        if problem is not None:
            return Outcome("garbage", stage, problem)
    except Exception as exc:
        return classify_exception(exc, stage)
    try:
        score = est.score(case.X, case.y)
    except Exception as exc:
        return classify_exception(exc, "score")
    if not isinstance(score, float) or score > 1 + 1e-9:
        return Outcome("garbage", "score", f"score returned {score!r}")
    return Outcome("clean")


# ============================================================================ cases
@dataclasses.dataclass
class Case:
    """One estimator, its parameters, the training data and the data to predict."""

    estimator: str
    params: dict
    X: object
    y: object
    X_pred: object

    def build(self):
        return ESTIMATORS[self.estimator](**self.params)

    def code(self, stage: str = "predict", limit: int | None = None) -> str:
        """Python lines that replay the case up to ``stage``; each value cut to ``limit``
        characters when given."""

        def value(obj):
            text = to_code(obj)
            if limit is not None and len(text) > limit:
                text = text[:limit] + " ...<cut>"
            return text

        lines = [
            f"est = {self.estimator}(**{value(self.params)})",
            f"X = {value(self.X)}",
            f"y = {value(self.y)}",
            "est.fit(X, y)",
        ]
        if stage != "fit":
            same = self.X_pred is self.X
            lines.append("X_pred = X" if same else f"X_pred = {value(self.X_pred)}")
            call = {"predict": "est.predict(X_pred)", "predict_proba":
                    "est.predict_proba(X_pred)", "score": "est.score(X, y)"}
            lines.append(call.get(stage, "est.predict(X_pred)"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Case:\n" + self.code(limit=400)


def to_code(obj) -> str:
    """A Python expression for ``obj`` (numpy as ``np``, pandas as ``pd``, scipy.sparse as
    ``sp``; ``objarr(shape, items)`` for object arrays whose cells are lists)."""
    if isinstance(obj, np.generic):
        return to_code(obj.item())
    if isinstance(obj, float):
        if math.isnan(obj):
            return "np.nan"
        if math.isinf(obj):
            return "np.inf" if obj > 0 else "-np.inf"
        return repr(obj)
    if isinstance(obj, (list, tuple)):
        inner = ", ".join(to_code(v) for v in obj)
        if isinstance(obj, tuple):
            return f"({inner},)" if len(obj) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{to_code(k)}: {to_code(v)}" for k, v in obj.items()) + "}"
    if sp.issparse(obj):
        return f"sp.csr_matrix({to_code(obj.toarray())})"
    if isinstance(obj, pd.DataFrame):
        names = list(obj.columns)
        if not names or len(set(names)) < len(names):
            return (f"pd.DataFrame({to_code(obj.to_numpy())}, columns={to_code(names)}, "
                    f"index=range({len(obj)}))")
        cols = ", ".join(f"{to_code(c)}: {to_code(obj.iloc[:, j].to_numpy())}"
                         for j, c in enumerate(names))
        return f"pd.DataFrame({{{cols}}}, index=range({len(obj)}))"
    if isinstance(obj, pd.Series):
        return (f"pd.Series({to_code(obj.to_numpy())}, name={to_code(obj.name)}, "
                f"index=range({len(obj)}))")
    if isinstance(obj, np.ndarray):
        if obj.dtype == object and any(isinstance(v, (list, tuple)) for v in obj.ravel()):
            return f"objarr({obj.shape}, {to_code(obj.ravel().tolist())})"
        if obj.size == 0:
            return f"np.empty({obj.shape}, dtype={str(obj.dtype)!r})"
        return f"np.array({to_code(obj.tolist())}, dtype={str(obj.dtype)!r})"
    return repr(obj)


def objarr(shape, items) -> np.ndarray:
    """An object array of ``shape`` holding ``items`` (lists kept as cells)."""
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out.reshape(shape)


def take(X, rows):
    """Rows ``rows`` (a slice) of any input form used here."""
    if isinstance(X, dict):
        return {k: take(v, rows) for k, v in X.items()}
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[rows]
    if isinstance(X, list):
        return X[rows]
    return X[rows]


# ---------------------------------------------------------------------------- choices
#: Whether the case being drawn may take ``rare`` values; set per case by
#: :func:`wild_or_tame`, so that a share of the cases is well-formed and reaches predict.
_WILD = [True]


def wild_or_tame(draw) -> None:
    """Let two cases in three take rare values, the third only common ones."""
    _WILD[0] = draw(st.integers(0, 2)) > 0


def pick(draw, common, rare=(), one_in: int = 12):
    """One of ``common``, or (in a wild case, about once in ``one_in`` draws) one of
    ``rare``: the values that should fail. Shrinks towards ``common[0]``."""
    if rare and _WILD[0] and draw(st.integers(0, one_in - 1)) == one_in - 1:
        return draw(st.sampled_from(rare))
    return draw(st.sampled_from(common))


def specials(draw, dims: int = 2, one_in: int = 8):
    """Positions (``dims`` indices, taken modulo the shape) and values to plant, usually
    none."""
    count = pick(draw, [0], [1, 2], one_in)
    index = st.tuples(*[st.integers(0, 50)] * dims)
    return [(*draw(index), draw(st.sampled_from(SPECIALS))) for _ in range(count)]


# ---------------------------------------------------------------------------- tables
def make_table(spec: dict, n: int, seed: int):
    """A numeric-ish table of ``n`` rows from a drawn ``spec``."""
    rng = np.random.RandomState(seed)
    k = spec["k"]
    values = rng.randn(n, k) * spec["scale"]
    if spec["constant"] and k:
        values[:, 0] = 7.0
    dtype = spec["dtype"]
    if dtype in ("float64", "float32", "object"):
        values = values.astype(dtype)
        for i, j, v in spec["specials"]:
            if n and k:
                values[i % n, j % k] = v
        if dtype == "object" and spec["none"] and n and k:
            values[0, 0] = None
    elif dtype == "int64":
        values = np.round(values).astype(np.int64) if spec["scale"] < 1e15 else (
            (values > 0).astype(np.int64))
    elif dtype == "bool":
        values = values > 0
    elif dtype == "numstr":
        values = np.round(values, 2).astype(str)
    elif dtype == "str":
        values = rng.choice(["a", "b", "c"], size=(n, k)).astype(object)
    if spec["missing_row"] and n > 1 and values.dtype.kind == "f":
        values[-1, :] = np.nan  # a row without this modality (fusion); NaN input otherwise
    container = spec["container"]
    names = {"str": [f"x{j}" for j in range(k)], "int": list(range(k)),
             "mixed": [f"x{j}" if j % 2 else j for j in range(k)],
             "dup": ["x"] * k}[spec["names"]]
    if container == "frame":
        frame = pd.DataFrame(values, columns=names)
        if spec["text_column"]:
            frame["note"] = rng.choice(["u", "v"], size=n)
        return frame
    if container == "list":
        return values.tolist()
    return values


@st.composite
def table_specs(draw, numeric_only: bool = False):
    rare_dtypes = [] if numeric_only else ["str"]
    return {
        "k": pick(draw, [2, 1, 3, 6], [0]),
        "dtype": pick(draw, ["float64", "float32", "int64", "bool"]
                      + ([] if numeric_only else ["object", "numstr"]), rare_dtypes),
        "scale": pick(draw, [1.0, 1e-30, 1e8], [1e16]),
        "constant": draw(st.booleans()),
        "specials": specials(draw),
        "none": pick(draw, [False], [True]),
        "missing_row": pick(draw, [False], [True], 5 if numeric_only else 8),
        "container": pick(draw, ["array", "frame"] + ([] if numeric_only else ["list"])),
        "names": pick(draw, ["str", "int"], ["mixed", "dup"]),
        "text_column": not numeric_only and pick(draw, [False], [True]),
    }


# ---------------------------------------------------------------------------- targets
CLASSIFICATION_TARGETS = (
    "binary_int", "multiclass_str", "binary_str", "multiclass_int", "binary_bool", "counts",
    "multilabel", "float_labels",
)
REGRESSION_TARGETS = ("regression", "tiny", "binary_int", "counts", "float_labels")
#: Targets that should fail (or fail for some estimators).
BAD_TARGETS = ("one_class", "all_missing", "huge", "mixed_types", "regression", "binary_str",
               "mixed_float_str", "mixed_bool_str", "lists_and_labels", "ragged_mixed",
               "nested_lists")


def make_target(kind: str, n: int, rng: np.random.RandomState, missing: int, specials):
    """One target column (1-D array) of ``kind``."""
    if kind == "binary_int":
        col = rng.randint(0, 2, n)
    elif kind == "regression":
        col = rng.randn(n)
    elif kind == "huge":
        col = rng.randn(n) * 1e300
    elif kind == "tiny":
        col = rng.randn(n) * 1e-300
    elif kind == "multiclass_str":
        col = rng.choice(["a", "b", "c"], n).astype(object)
    elif kind == "binary_str":
        col = rng.choice(["yes", "no"], n).astype(object)
    elif kind == "multiclass_int":
        col = rng.randint(0, 4, n)
    elif kind == "binary_bool":
        col = rng.rand(n) > 0.5
    elif kind == "counts":
        col = rng.randint(0, 40, n)
    elif kind == "multilabel":
        col = objarr((n,), [sorted(rng.choice(["p", "q", "r"], rng.randint(0, 3), replace=False)
                                   .tolist()) for _ in range(n)])
    elif kind == "one_class":
        col = np.ones(n, dtype=np.int64)
    elif kind == "all_missing":
        col = np.full(n, np.nan)
    elif kind == "mixed_types":
        col = objarr((n,), [("a" if i % 2 else 1) for i in range(n)])
    elif kind == "mixed_float_str":
        col = objarr((n,), [("a" if i % 3 else float(rng.randn())) for i in range(n)])
    elif kind == "mixed_bool_str":
        col = objarr((n,), [("no" if i % 2 else True) for i in range(n)])
    elif kind == "lists_and_labels":  # ragged lists of labels, some rows a bare label
        col = objarr((n,), [(["p", "q"][: 1 + i % 2] if i % 3 else "r") for i in range(n)])
    elif kind == "ragged_mixed":  # ragged lists mixing numbers and strings
        col = objarr((n,), [([1, "p"] if i % 2 else ["q"]) for i in range(n)])
    elif kind == "nested_lists":
        col = objarr((n,), [[["p"], ["q"]][: 1 + i % 2] for i in range(n)])
    else:  # float_labels
        col = rng.randint(0, 2, n).astype(np.float64)
    missing = min(missing, n - 2)  # two labels left: "all_missing" is the kind for none
    if missing > 0:
        rows = rng.choice(n, missing, replace=False)
        if col.dtype.kind == "f":
            col[rows] = np.nan
        else:
            col = col.astype(object)
            for r in rows:
                col[r] = None
    if col.dtype.kind == "f":
        for i, v in specials:
            if n:
                col[i % n] = v
    return col


@st.composite
def targets(draw, n: int, estimator: str):
    """``y`` of ``n`` rows (rarely a wrong number), and its task names."""
    layout = pick(draw, ["frame", "1d", "2d", "series", "list"])
    n_tasks = 1 if layout in ("1d", "series", "list") else draw(st.integers(1, 3))
    common = {"Classifier": CLASSIFICATION_TARGETS, "Regressor": REGRESSION_TARGETS}.get(
        estimator.replace("MultiTaskNet", "").replace("FusionNet", ""),
        CLASSIFICATION_TARGETS + REGRESSION_TARGETS)
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    rows = n + pick(draw, [0], [1, -1], 20)
    rows = max(rows, 0)
    columns = []
    for _ in range(n_tasks):
        kind = pick(draw, common, BAD_TARGETS, 14)
        missing = draw(st.sampled_from([0, 1, 2]))
        columns.append(make_target(kind, rows, rng, missing, specials(draw, 1, 10)))
    if layout == "frame":
        names = ["a", "b", "c"][:n_tasks]
        return pd.DataFrame(dict(zip(names, columns))), names
    if layout == "series":
        return pd.Series(columns[0], name="s"), ["s"]
    if layout in ("1d", "list"):
        y = columns[0] if layout == "1d" else columns[0].tolist()
        return y, ["y"]
    dtypes = {c.dtype for c in columns}
    out = np.empty((rows, n_tasks), dtype=object if len(dtypes) > 1 or any(
        c.dtype == object for c in columns) else columns[0].dtype)
    for j, c in enumerate(columns):
        for i in range(rows):
            out[i, j] = c[i]
    return out, [f"y{j}" for j in range(n_tasks)]


@st.composite
def task_params(draw, names: list[str]):
    """``tasks``, ``task_weights``, ``auxiliary_tasks`` and ``stratify`` for these targets."""
    params = {}
    if pick(draw, [False], [True], 4):
        params["tasks"] = {
            pick(draw, names, ["zzz"], 6): pick(draw, KINDS[:4], KINDS[4:], 6)
            for _ in range(draw(st.integers(1, 2)))
        }
    if pick(draw, [False], [True], 3):
        params["task_weights"] = {
            pick(draw, names, ["zzz"]): pick(draw, GOOD_WEIGHTS, BAD_WEIGHTS, 6)
            for _ in range(draw(st.integers(1, 2)))
        }
    if pick(draw, [False], [True], 8):
        params["auxiliary_tasks"] = [draw(st.sampled_from(names))]
    if pick(draw, [False], [True], 8):
        params["stratify"] = draw(st.sampled_from(names))
    return params


@st.composite
def training_params(draw):
    """The training parameters every estimator shares, kept tiny."""
    params = {
        "hidden_dims": pick(draw, [(4,), (4, 4)], [()], 4),
        "max_epochs": draw(st.integers(1, 2)),
        "batch_size": pick(draw, [2, "auto", -1, 4], [1], 8),
        "batch_norm": draw(st.booleans()),
        "validation_fraction": draw(st.sampled_from([None, 0.1, 0.5, 0.0])),
        "early_stopping": pick(draw, [False, "auto"], [True], 8),
        "retrieval": draw(st.sampled_from([None, "auto", 1])),
        "weighting": pick(draw, ["static"], ["uncertainty", "dwa", "gradnorm", "pcgrad",
                                              "mgda"], 3),
        "lr": pick(draw, [1e-2], [10.0, 1e8], 8),
        "dropout": draw(st.sampled_from([0.0, 0.1])),
        "random_state": 0,
        "n_threads": 1,
    }
    if pick(draw, [False], [True], 8):
        params["lambda_l2"] = draw(st.sampled_from([1e-3, 1e12]))
    if pick(draw, [False], [True], 4):
        params["on_divergence"] = "restore"
    return params


ROWS = ([12, 30, 5, 3, 2], [0, 1])


@st.composite
def table_cases(draw):
    """A MultiTaskNet* case: one table ``X``, one or more targets."""
    wild_or_tame(draw)
    estimator = draw(st.sampled_from(TABLE_ESTIMATORS))
    n = pick(draw, *ROWS, 8)
    spec = draw(table_specs())
    seed = draw(st.integers(0, 2**16))
    X = make_table(spec, n, seed)
    y, names = draw(targets(n, estimator))
    params = {**draw(training_params()), **draw(task_params(names))}
    X_pred = draw(predict_tables(X, spec, n, seed))
    return Case(estimator, params, X, y, X_pred)


@st.composite
def predict_tables(draw, X, spec: dict, n: int, seed: int):
    how = pick(draw, ["same", "fresh", "rows1"], ["rows0", "wider", "other"], 5)
    if how == "same":
        return X
    if how == "rows0":
        return take(X, slice(0, 0))
    if how == "rows1":
        return take(X, slice(0, 1))
    if how == "fresh":
        fresh = {**spec, "specials": specials(draw, 2, 3)}
        return make_table(fresh, draw(st.sampled_from([n, 4, 1])), seed + 1)
    if how == "wider":
        return make_table({**spec, "k": spec["k"] + 1}, n, seed)
    return make_table(draw(table_specs()), draw(st.sampled_from([n, 3])), seed + 2)


# ---------------------------------------------------------------------------- modalities
def make_block(spec: dict, n: int, seed: int):
    """One modality block of ``n`` rows from a drawn ``spec``."""
    rng = np.random.RandomState(seed)
    kind = spec["kind"]
    if kind == "table":
        return make_table(spec["table"], n, seed)
    if kind == "text":
        pool = spec["pool"]
        texts = []
        for _ in range(n):
            item = pool[rng.randint(len(pool))]
            if item == "words":
                item = " ".join(rng.choice(WORDS, rng.randint(1, 4)).tolist())
            texts.append(item)
        return objarr((n,), texts) if spec["container"] == "array" else texts
    if kind == "cat":
        values = rng.choice(spec["levels"], size=(n, spec["k"])).astype(object)
        if spec["none"] and n:
            values[0, 0] = None
        return values
    if kind == "codes":
        return rng.randint(0, 3, size=(n, spec["k"]))
    if kind == "sparse":
        dense = rng.randn(n, spec["k"]) * (rng.rand(n, spec["k"]) > 0.5)
        for i, j, v in spec["specials"]:
            if n:
                dense[i % n, j % spec["k"]] = v
        return sp.csr_matrix(dense)
    # image
    values = rng.rand(n, *spec["shape"]).astype(spec["dtype"])
    if spec["dtype"] == "uint8":
        values = (rng.rand(n, *spec["shape"]) * 255).astype(np.uint8)
    for i, v in spec["specials"]:
        if values.size and values.dtype.kind == "f":
            values.reshape(-1)[i % values.size] = v
    return values


@st.composite
def modality_specs(draw):
    kind = draw(st.sampled_from(["table", "text", "cat", "image", "sparse", "codes"]))
    if kind == "table":
        return {"kind": kind, "table": draw(table_specs(numeric_only=True))}
    if kind == "text":
        pool = [pick(draw, ["words"], ["", None, "  ", np.nan, "good", 5, b"bytes"], 4)
                for _ in range(draw(st.integers(1, 3)))]
        return {"kind": kind, "pool": pool, "container": pick(draw, ["array", "list"])}
    if kind == "cat":
        return {"kind": kind, "k": draw(st.sampled_from([1, 2])),
                "none": pick(draw, [False], [True], 4),
                "levels": pick(draw, [["x", "y", "z"]], [["x"], ["x", 1]], 6)}
    if kind == "codes":
        return {"kind": kind, "k": draw(st.sampled_from([1, 2]))}
    if kind == "sparse":
        return {"kind": kind, "k": draw(st.sampled_from([3, 1])), "specials": specials(draw)}
    return {
        "kind": "image",
        "shape": pick(draw, [(1, 2, 2), (1, 1, 1), (2, 3, 3)],
                      [(0, 2, 2), (1, 0, 3), (3, 4), (1, 1, 1, 1)], 6),
        "dtype": draw(st.sampled_from(["float32", "float64", "uint8"])),
        "specials": [(i, v) for i, _, v in specials(draw)],
    }


#: Encoders that fit each modality kind, and all names (most of which do not).
ENCODERS_FOR = {"table": ["mlp", "linear"], "sparse": ["mlp", "linear"],
                "text": ["tfidf", "bag", "gru"], "cat": ["embedding"],
                "codes": ["embedding", "mlp", "linear"], "image": ["cnn", "linear"]}
ENCODER_NAMES = ("mlp", "linear", "tfidf", "bag", "gru", "embedding", "cnn")
GOOD_WEIGHTS = (1.0, 0.5, 2, 0.0, 1e-300, 1e6)
BAD_WEIGHTS = (-1.0, 1e300, np.nan, np.inf, 2e6)


@st.composite
def fusion_cases(draw):
    """A FusionNet* case: a dict of modalities (or one block, or a DataFrame with
    ``modalities=``)."""
    wild_or_tame(draw)
    estimator = draw(st.sampled_from(FUSION_ESTIMATORS))
    n = pick(draw, *ROWS, 8)
    seed = draw(st.integers(0, 2**16))
    layout = pick(draw, ["dict", "dict", "single", "frame"])
    params = {
        **draw(training_params()),
        "encoder_dim": 4,
        "fusion_dim": 4,
        "fusion": draw(st.sampled_from(FUSIONS)),
        "modality_dropout": draw(st.sampled_from([0.0, 0.3])),
        "learn_fusion_weights": draw(st.booleans()),
    }
    if draw(st.booleans()):
        params["text_min_df"] = 1
    if pick(draw, [False], [True], 4):
        params["text_max_len"] = 2
    specs = {}
    if layout == "frame":
        rng = np.random.RandomState(seed)
        X = pd.DataFrame({
            "num": rng.randn(n),
            "txt": [" ".join(rng.choice(WORDS, 3)) for _ in range(n)],
            "cat": rng.choice(["x", "y"], n),
        })
        mapping = pick(draw, [{"tab": "num", "text": "txt", "kind": "cat"},
                              {"tab": "n*", "text": "t*", "kind": "c*"}],
                       [{"tab": "num", "text": "txt"}, {"tab": ["num"], "rest": ["txt", "cat"]},
                        {"tab": "num", "text": "txt", "kind": "cat", "none": "zz*"}])
        params["modalities"] = mapping
        names = list(mapping)
        how = pick(draw, ["same", "rows1"], ["rows0", "drop"], 5)
        X_pred = {"same": X, "rows1": X.iloc[:1], "rows0": X.iloc[:0],
                  "drop": X.drop(columns="cat")}[how]
    else:
        count = 1 if layout == "single" else draw(st.integers(1, 3))
        for i in range(count):
            spec = draw(modality_specs())
            name = spec["kind"] if spec["kind"] not in specs else f"{spec['kind']}{i}"
            specs[name] = spec
        if layout == "dict" and pick(draw, [False], [True], 16):
            specs["_neighbours"] = specs.pop(next(iter(specs)))
        names = list(specs)
        blocks = {m: make_block(s, n, seed + i) for i, (m, s) in enumerate(specs.items())}
        X = blocks if layout == "dict" else next(iter(blocks.values()))
        X_pred = draw(predict_modalities(X, specs, n, seed))
        if pick(draw, [False], [True], 4):
            params["encoders"] = {
                m: pick(draw, ENCODERS_FOR[s["kind"]], ENCODER_NAMES, 4)
                for m, s in specs.items() if draw(st.booleans())
            }
            if pick(draw, [False], [True], 6):
                params["encoders"]["zzz"] = "mlp"
    if pick(draw, [False], [True], 3):
        params["fusion_weights"] = {
            pick(draw, names, ["zzz"]): pick(draw, GOOD_WEIGHTS, BAD_WEIGHTS, 4)
            for _ in range(draw(st.integers(1, 2)))
        }
    y, task_names = draw(targets(n, estimator))
    params.update(draw(task_params(task_names)))
    return Case(estimator, params, X, y, X_pred)


@st.composite
def predict_modalities(draw, X, specs: dict, n: int, seed: int):
    how = pick(draw, ["same", "fresh", "rows1"], ["rows0", "drop", "extra", "reshape"], 5)
    if how == "same":
        return X
    if how == "rows0":
        return take(X, slice(0, 0))
    if how == "rows1":
        return take(X, slice(0, 1))
    rows = draw(st.sampled_from([n, 3]))
    fresh = {m: make_block(s, rows, seed + 100 + i) for i, (m, s) in enumerate(specs.items())}
    if how == "fresh" or not isinstance(X, dict):
        return fresh if isinstance(X, dict) else next(iter(fresh.values()))
    if how == "drop":
        fresh.pop(draw(st.sampled_from(sorted(fresh))))
        return fresh
    if how == "extra":
        return {**fresh, "unseen": np.zeros((rows, 1))}
    for m, s in specs.items():  # reshape: images of another shape, tables of another width
        if s["kind"] == "image":
            fresh[m] = make_block({**s, "shape": (1, 5, 5)}, rows, seed)
        elif s["kind"] == "table":
            fresh[m] = make_table({**s["table"], "k": s["table"]["k"] + 1}, rows, seed)
    return fresh


# ============================================================================ the tests
FUZZ_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)


def expected_warnings(test):
    """Ignore the warnings these inputs are expected to cause (overflow in numpy, sklearn's
    undefined metrics, torch's and sk_mtl's UserWarnings); FutureWarnings from sk_mtl stay
    errors (pyproject.toml)."""
    for category in ("UserWarning", "RuntimeWarning", "DeprecationWarning"):
        test = pytest.mark.filterwarnings(f"ignore::{category}")(test)
    return test


# Cases the counting run (benchmarks/fuzz_counts.py) found, kept as explicit examples so that
# they are tried on every run, whatever the random draw reaches.
_RNG = np.random.RandomState(0)
_X20, _Y20, _R20 = _RNG.randn(20, 2), np.arange(20) % 2, _RNG.randn(20)
_IMAGES = _RNG.rand(20, 1, 2, 2)
_CATEGORIES = np.array([["a"], ["b"]] * 10, dtype=object)
_TINY = {"hidden_dims": (4,), "max_epochs": 1, "random_state": 0, "n_threads": 1}
TABLE_EXAMPLES = [
    # pcgrad/mgda on a trunk without parameters: torch's "`inputs` argument to `grad()`
    # cannot be empty" (gradnorm says clearly that it needs a weight matrix).
    Case("MultiTaskNetClassifier", {**_TINY, "hidden_dims": (), "weighting": "pcgrad"},
         _X20, _Y20, _X20),
    Case("MultiTaskNetClassifier", {**_TINY, "hidden_dims": (), "weighting": "mgda"},
         _X20, _Y20, _X20),
    # A large lr under uncertainty weighting: OverflowError (math range error) in
    # UncertaintyWeighting.current_weights instead of TrainingDivergedError.
    Case("MultiTaskNetClassifier", {**_TINY, "weighting": "uncertainty", "lr": 1e3},
         _X20, _Y20, _X20),
]
FUSION_EXAMPLES = [
    # predict on 0 rows without a dense table (nothing for sklearn's validation to refuse):
    # numpy's "need at least one array to concatenate".
    Case("FusionNetRegressor", {**_TINY, "encoder_dim": 4}, _IMAGES, _R20, _IMAGES[:0]),
    Case("FusionNetRegressor", {**_TINY, "encoder_dim": 4}, {"c": _CATEGORIES}, _R20,
         {"c": _CATEGORIES[:0]}),
]


def with_examples(cases):
    def decorate(test):
        for case in reversed(cases):
            test = example(case=case)(test)
        return test
    return decorate


def _assert_nothing_silent(case: Case) -> None:
    outcome = run_case(case)
    assert outcome.kind in ("clean", "error"), (
        f"{outcome.kind} at {outcome.stage}: {outcome.detail}\n  raised at {outcome.where}\n"
        f"{case.code(outcome.stage)}"
    )


@pytest.mark.slow  # hundreds of fits: 20 s
@expected_warnings
@settings(max_examples=350, **FUZZ_SETTINGS)
@given(case=table_cases())
@with_examples(TABLE_EXAMPLES)
def test_multitask_estimators_fail_clearly_or_predict_in_label_space(case):
    _assert_nothing_silent(case)


@pytest.mark.slow  # hundreds of fits: 20 s
@expected_warnings
@settings(max_examples=300, **FUZZ_SETTINGS)
@given(case=fusion_cases())
@with_examples(FUSION_EXAMPLES)
def test_fusion_estimators_fail_clearly_or_predict_in_label_space(case):
    _assert_nothing_silent(case)


def test_the_checker_tells_crashes_from_clear_errors():
    def raised(exc, where="/lib/sk_mtl/estimators/_base.py"):
        try:
            exec(compile("raise exc", where, "exec"), {"exc": exc})
        except Exception as caught:
            return classify_exception(caught, "fit").kind

    torch_file = "/venv/lib/site-packages/torch/nn/functional.py"
    assert raised(ValueError("Task 'a' has only one class")) == "error"
    assert raised(TypeError("tasks must be None or a dict")) == "error"
    assert raised(ValueError("")) == "crash"
    assert raised(IndexError("index 3 is out of bounds")) == "crash"
    assert raised(ValueError("need at least one array to concatenate")) == "crash"
    assert raised(ValueError("Expected more than 1 value per channel when training")) == "crash"
    assert raised(ValueError("a message"), torch_file) == "crash"
    assert raised(ValueError("a message"), __file__) == "crash"


def test_the_checker_tells_garbage_from_good_predictions():
    class Fitted:  # what _check_predictions reads of a fitted one-task classifier
        task_names_ = ["y"]
        tasks_ = {"y": BinaryTask().fit(np.array([0, 1]), "y")}

        def __init__(self, labels):
            self.labels = np.asarray(labels)

        def predict(self, X):
            return self.labels

        def predict_tasks(self, X):
            return {"y": self.labels}

    case = Case("MultiTaskNetClassifier", {}, np.zeros((2, 1)), np.array([0, 1]),
                np.zeros((2, 1)))
    assert _check_predictions(Fitted([1, 0]), case, 2) is None
    assert "not among classes_" in _check_predictions(Fitted([0, 2]), case, 2)
    assert "shape" in _check_predictions(Fitted([0]), case, 2)

