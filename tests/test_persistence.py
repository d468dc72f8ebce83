"""sk_mtl.save / sk_mtl.load: round trips, refusals at save, tampered files refused at load."""

import io
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import SMALL
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import PrintLog
from torch import nn

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
    load,
    save,
)
from sk_mtl.tasks import MulticlassTask, RegressionTask
from sk_mtl.trunks import MMoE
from sk_mtl.weighting import DWAWeighting

N = 60
FAST = {**SMALL, "hidden_dims": (8,), "max_epochs": 2}
FUSION_FAST = dict(FAST, encoder_dim=8, fusion_dim=8, batch_size=32, text_max_len=12)


# ------------------------------------------------------------------------------ helpers
def round_trip(estimator):
    buffer = io.BytesIO()
    save(estimator, buffer)
    return load(io.BytesIO(buffer.getvalue()))


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert type(a[key]) is type(b[key]), key
        if isinstance(a[key], np.random.RandomState):
            assert repr(a[key].get_state()) == repr(b[key].get_state()), key
        else:
            assert repr(a[key]) == repr(b[key]), key


def assert_same_predictions(original, loaded, X) -> None:
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    if not hasattr(original, "predict_proba"):
        return
    before, after = original.predict_proba(X), loaded.predict_proba(X)
    if isinstance(before, list):
        assert len(before) == len(after)
        for p, q in zip(before, after):
            assert (p is None) == (q is None)
            if p is not None:
                np.testing.assert_array_equal(q, p)
    else:
        np.testing.assert_array_equal(after, before)


def assert_round_trip(estimator, X):
    loaded = round_trip(estimator)
    assert type(loaded) is type(estimator)
    assert_same_predictions(estimator, loaded, X)
    assert_same_params(estimator.get_params(), loaded.get_params())
    if hasattr(estimator, "net_"):
        assert sorted(vars(loaded)) == sorted(vars(estimator))
        assert len(loaded.history_) == len(estimator.history_)
        assert loaded.history_[-1, "train_loss"] == estimator.history_[-1, "train_loss"]
        assert loaded.batch_size_ == estimator.batch_size_
    return loaded


def multitask_targets(rng) -> pd.DataFrame:
    X0 = rng.normal(size=(N, 4)).astype("float32")
    tags = np.empty(N, dtype=object)
    for i in range(N):
        tags[i] = [t for t, on in zip(("dry", "red", "sweet"), rng.rand(3) > 0.5) if on]
    y = pd.DataFrame({
        "size": X0[:, 0] * 2.0 + 0.1 * rng.normal(size=N),
        "colour": np.where(X0[:, 1] > 0, "red", "blue").astype(object),
        "grade": rng.randint(0, 3, size=N).astype(float),
        "tags": tags,
    })
    y.loc[:7, "size"] = np.nan  # missing labels, per task
    y.loc[5:12, "colour"] = None
    y.loc[20:25, "grade"] = np.nan
    y.loc[30:33, "tags"] = None
    return X0, y


TASKS = {"size": "regression", "colour": "binary", "grade": "multiclass", "tags": "multilabel"}


# ------------------------------------------------------------------------------ MultiTaskNet*
@pytest.mark.parametrize("retrieval", [4, None])
def test_multitasknet_mixed_tasks_missing_labels(retrieval):
    X, y = multitask_targets(np.random.RandomState(0))
    est = MultiTaskNet(tasks=TASKS, retrieval=retrieval, **FAST).fit(X, y)
    assert (est.retrieval_ is None) == (retrieval is None)
    loaded = assert_round_trip(est, X)
    for name in TASKS:
        assert repr(loaded.tasks_[name]) == repr(est.tasks_[name])
    np.testing.assert_array_equal(loaded.tasks_["colour"].classes_, est.tasks_["colour"].classes_)
    assert loaded.tasks_["size"].mean_ == est.tasks_["size"].mean_
    assert loaded.task_names_ == est.task_names_
    assert loaded.task_weights_ == est.task_weights_
    for k, v in loaded.predict_tasks(X).items():
        np.testing.assert_array_equal(v, est.predict_tasks(X)[k])
    assert loaded.score(X, y) == est.score(X, y)
    # The loaded estimator is an ordinary estimator: it refits and takes nested params.
    loaded.set_params(task_weights__size=2.0, max_epochs=1).fit(X, y)
    assert loaded.task_weights_["size"] == 2.0


def test_multitasknet_spec_objects_and_dataframe_features():
    X, y = multitask_targets(np.random.RandomState(1))
    X = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = MultiTaskNet(
        tasks={"size": RegressionTask(loss="huber"), "grade": MulticlassTask(label_smoothing=0.1)},
        weighting=DWAWeighting(temperature=3.0),
        trunk=MMoE(n_experts=2, expert_dims=(8,)),
        optimizer=torch.optim.SGD,
        optimizer_params={"momentum": 0.9},
        lr_schedule=None,
        auxiliary_tasks=["tags"],
        **FAST,
    ).fit(X, y)
    loaded = assert_round_trip(est, X)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert loaded.auxiliary_task_names_ == ["tags"]


def test_multitasknet_learned_weighting_and_activation_class():
    X, y = multitask_targets(np.random.RandomState(2))
    est = MultiTaskNet(
        tasks=TASKS, weighting="uncertainty", activation=nn.Tanh, batch_norm=True,
        optimizer_params={"betas": (0.8, 0.99)}, **FAST,
    ).fit(X, y)
    loaded = assert_round_trip(est, X)
    before, after = est.net_.criterion_.state_dict(), loaded.net_.criterion_.state_dict()
    assert before.keys() == after.keys() and before
    for key in before:
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=0)


def test_classifier_one_dimensional_strings_on_disk(tmp_path):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(N, 3))
    y = np.array(["low", "mid", "high"], dtype=object)[np.digitize(X[:, 0], [-0.5, 0.5])]
    clf = MultiTaskNetClassifier(**FAST).fit(X, y)
    path = tmp_path / "clf.safetensors"
    save(clf, path)
    loaded = load(str(path))
    assert_same_predictions(clf, loaded, X)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype


def test_regressor_sparse_input_with_retrieval():
    rng = np.random.RandomState(4)
    X = sp.random(N, 12, density=0.3, format="csr", random_state=rng, dtype=np.float64)
    Y = np.column_stack([X @ rng.normal(size=12), X @ rng.normal(size=12)])
    reg = MultiTaskNetRegressor(retrieval=3, **FAST).fit(X, Y)
    assert sp.issparse(reg.retrieval_.X_)
    loaded = assert_round_trip(reg, X)
    assert loaded.score(X, Y) == reg.score(X, Y)


def test_random_state_instance_and_unfitted_estimator():
    X, y = multitask_targets(np.random.RandomState(5))
    est = MultiTaskNet(tasks=TASKS, **dict(FAST, random_state=np.random.RandomState(0)))
    unfitted = round_trip(est)
    assert not hasattr(unfitted, "net_")
    assert_same_params(est.get_params(), unfitted.get_params())
    est.fit(X, y)
    assert_round_trip(est, X)


@pytest.mark.skipif(not hasattr(MultiTaskNet, "partial_fit"), reason="no partial_fit yet")
@pytest.mark.parametrize("include_optimizer", [True, False])
def test_loaded_model_trains_on(include_optimizer):
    X, y = multitask_targets(np.random.RandomState(14))
    est = MultiTaskNet(tasks=TASKS, **FAST).fit(X, y)
    buffer = io.BytesIO()
    save(est, buffer, include_optimizer=include_optimizer)
    loaded = load(io.BytesIO(buffer.getvalue()))
    loaded.set_params(warm_start=True, max_epochs=4).fit(X, y)
    assert len(loaded.history_) == 4
    if include_optimizer:  # the optimizer's moments and the generators came along
        est.set_params(warm_start=True, max_epochs=4).fit(X, y)
        assert_same_predictions(est, loaded, X)
    partial = MultiTaskNet(tasks=TASKS, **FAST).partial_fit(X, y)
    again = round_trip(partial)
    assert_same_predictions(partial, again, X)
    again.partial_fit(X, y)
    assert len(again.history_) == 2


def test_without_optimizer_the_file_is_smaller():
    X, y = multitask_targets(np.random.RandomState(15))
    est = MultiTaskNet(tasks=TASKS, **FAST).fit(X, y)
    full, small = io.BytesIO(), io.BytesIO()
    save(est, full)
    save(est, small, include_optimizer=False)
    assert len(small.getvalue()) < len(full.getvalue())
    assert_same_predictions(est, load(io.BytesIO(small.getvalue())), X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_device_override_loads_a_cuda_model_on_cpu():
    X, y = multitask_targets(np.random.RandomState(17))
    est = MultiTaskNet(tasks=TASKS, **FAST).fit(X, y)
    buffer = io.BytesIO()
    save(est, buffer)

    def on_cuda(description):  # what a model trained with device="cuda" writes
        description["estimator"]["params"]["device"] = "cuda"

    data = rewrite(buffer.getvalue(), on_cuda)
    with pytest.raises(ValueError, match="CUDA is not available"):
        load(io.BytesIO(data))
    loaded = load(io.BytesIO(data), device="cpu")
    assert loaded.device == "cpu"
    assert_same_predictions(est, loaded, X)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_model_round_trip():
    X, y = multitask_targets(np.random.RandomState(18))
    est = MultiTaskNet(tasks=TASKS, device="cuda", **FAST).fit(X, y)
    loaded = assert_round_trip(est, X)
    assert next(loaded.module_.parameters()).device.type == "cuda"
    buffer = io.BytesIO()
    save(est, buffer)
    on_cpu = load(io.BytesIO(buffer.getvalue()), device="cpu")
    assert next(on_cpu.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(on_cpu.predict_proba(X)[1], est.predict_proba(X)[1], atol=1e-5)


# ------------------------------------------------------------------------------ FusionNet*
def fusion_frame(rng):
    words = np.array(["good", "great", "fine", "bad", "awful", "poor"])
    label = rng.randint(0, 2, size=N)
    body = [" ".join(rng.choice(words[3 * (1 - k):3 * (1 - k) + 3], 4)) for k in label]
    title = [" ".join(rng.choice(words, 2)) for _ in range(N)]
    X = pd.DataFrame({
        "title": title,
        "body": body,
        "dept": rng.choice(["tops", "dresses", "jackets"], size=N),
        "size": rng.choice(["S", "M", "L"], size=N),
        "age": rng.randint(18, 70, size=N).astype(float),
        "votes": rng.poisson(3, size=N).astype(float),
    })
    X.loc[3, "body"] = None  # a row without text
    return X, label


def test_fusionnet_dataframe_text_categorical_tabular():
    rng = np.random.RandomState(6)
    X, label = fusion_frame(rng)
    _, y = multitask_targets(rng)
    y["colour"] = np.where(label == 1, "yes", "no").astype(object)
    y.loc[10:14, "colour"] = None
    modalities = {"text": ["title", "body"], "cat": ["dept", "size"], "tab": ["age", "votes"]}
    est = FusionNet(modalities=modalities, tasks=TASKS, retrieval="auto", **FUSION_FAST)
    est.fit(X, y)
    text = est.modalities_["text"]
    assert text.kind == "text" and len(text.vectorizers_) == 2
    assert est.modalities_["cat"].kind == "categorical"
    loaded = assert_round_trip(est, X)
    before, after = text.vectorizers_[0], loaded.modalities_["text"].vectorizers_[0]
    assert after.vocabulary_ == before.vocabulary_
    np.testing.assert_array_equal(after.idf_, before.idf_)
    assert loaded.modalities_["cat"].categories_ == est.modalities_["cat"].categories_
    np.testing.assert_array_equal(loaded.modalities_["tab"].mean_, est.modalities_["tab"].mean_)
    assert est.retrieval_ is not None
    np.testing.assert_array_equal(loaded.retrieval_.X_, est.retrieval_.X_)


@pytest.mark.parametrize(
    ("encoder", "fusion", "retrieval"),
    [("tfidf", "weighted_sum", None), ("bag", "attention", 3), ("gru", "late", None)],
)
def test_fusionnet_dict_with_images_and_token_encoders(encoder, fusion, retrieval):
    rng = np.random.RandomState(7)
    frame, label = fusion_frame(rng)
    X = {
        "text": frame["body"].to_numpy(dtype=object),
        "tab": rng.normal(size=(N, 3)).astype("float32"),
        "img": rng.normal(size=(N, 1, 4, 4)).astype("float32"),
    }
    y = pd.DataFrame({"label": label.astype(float), "score": X["tab"][:, 0]})
    y.loc[:5, "label"] = np.nan
    weights = None if fusion == "attention" else {"img": 0.5}  # attention refuses them
    est = FusionNet(
        encoders={"text": encoder}, fusion=fusion, fusion_weights=weights,
        modality_dropout=0.2, retrieval=retrieval, **FUSION_FAST,
    ).fit(X, y)
    loaded = assert_round_trip(est, X)
    if encoder != "tfidf":
        assert loaded.modalities_["text"].vocabulary_ == est.modalities_["text"].vocabulary_
    partial = {"text": X["text"], "tab": X["tab"]}  # a whole modality absent
    np.testing.assert_array_equal(loaded.predict(partial), est.predict(partial))


def test_fusion_classifier_and_regressor():
    rng = np.random.RandomState(8)
    frame, label = fusion_frame(rng)
    X = {"text": frame["body"].to_numpy(dtype=object), "tab": rng.normal(size=(N, 2))}
    clf = FusionNetClassifier(encoders={"text": "bag"}, **FUSION_FAST).fit(
        X, np.where(label == 1, "pos", "neg")
    )
    assert_round_trip(clf, X)
    reg = FusionNetRegressor(encoders={"text": "gru"}, **FUSION_FAST).fit(
        X, np.column_stack([label * 2.0, X["tab"][:, 0]])
    )
    assert_round_trip(reg, X)


def test_fusionnet_single_table():
    rng = np.random.RandomState(9)
    X = pd.DataFrame(rng.normal(size=(N, 3)), columns=["u", "v", "w"])
    est = FusionNet(**FUSION_FAST).fit(X, X["u"] > 0)
    loaded = assert_round_trip(est, X)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)


# ------------------------------------------------------------------------------ Pipelines
def test_pipeline_standard_scaler():
    X, y = multitask_targets(np.random.RandomState(10))
    pipe = Pipeline([("scale", StandardScaler()), ("net", MultiTaskNet(tasks=TASKS, **FAST))])
    pipe.fit(X * 100.0 + 5.0, y)
    loaded = round_trip(pipe)
    assert type(loaded) is Pipeline and [n for n, _ in loaded.steps] == ["scale", "net"]
    np.testing.assert_array_equal(loaded[0].mean_, pipe[0].mean_)
    assert_same_predictions(pipe, loaded, X * 100.0 + 5.0)
    assert_same_params(pipe.get_params(), loaded.get_params())


def test_pipeline_column_transformer():
    rng = np.random.RandomState(11)
    X = pd.DataFrame({"num": rng.normal(size=N), "cat": rng.choice(["a", "b", "c"], size=N)})
    y = np.where(X["num"] > 0, "up", "down")
    pre = ColumnTransformer([("num", StandardScaler(), ["num"]),
                             ("cat", OneHotEncoder(sparse_output=False), ["cat"])])
    pipe = Pipeline([("pre", pre), ("clf", MultiTaskNetClassifier(**FAST))], verbose=False)
    pipe.fit(X, y)
    loaded = round_trip(pipe)
    assert_same_predictions(pipe, loaded, X)
    assert_same_params(pipe.get_params(), loaded.get_params())


# ------------------------------------------------------------------------------ refused at save
class MyTask(RegressionTask):
    pass


class MyOptimizer(torch.optim.SGD):
    pass


class MyEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 4)

    def forward(self, x):
        return self.linear(x)


@pytest.mark.parametrize(
    ("estimator", "named"),
    [
        (MultiTaskNet(trunk=nn.Sequential(nn.Linear(4, 8), nn.ReLU())), "parameter 'trunk'"),
        (MultiTaskNet(trunk=lambda n: nn.Linear(n, 8)), "parameter 'trunk'"),
        (MultiTaskNet(callbacks=[PrintLog()]), "parameter 'callbacks'[0]"),
        (MultiTaskNet(optimizer=MyOptimizer), "parameter 'optimizer'"),
        (MultiTaskNet(tasks={"y": MyTask()}), "parameter 'tasks'['y']"),
        (MultiTaskNet(activation=MyEncoder), "parameter 'activation'"),
        (FusionNet(encoders={"tab": MyEncoder()}), "parameter 'encoders'['tab']"),
    ],
)
def test_save_refuses_what_it_cannot_describe(estimator, named, tmp_path):
    path = tmp_path / "model.safetensors"
    with pytest.raises(TypeError, match="cannot describe") as info:
        save(estimator, path)
    assert named in str(info.value)
    assert not path.exists()


def test_save_refuses_other_objects():
    with pytest.raises(TypeError, match="six sk_mtl estimators"):
        save(LogisticRegression(), io.BytesIO())

    class MyNet(MultiTaskNet):
        pass

    with pytest.raises(TypeError, match="six sk_mtl estimators"):
        save(MyNet(), io.BytesIO())
    with pytest.raises(TypeError, match="last step"):
        save(Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]), io.BytesIO())


def test_save_refuses_pipeline_memory(tmp_path):
    pipe = Pipeline([("net", MultiTaskNet())], memory=str(tmp_path))
    with pytest.raises(TypeError, match="memory="):
        save(pipe, io.BytesIO())


def test_save_refuses_pipeline_steps_skops_does_not_trust():
    X = np.random.RandomState(12).normal(size=(N, 3))
    pipe = Pipeline([("impute", SimpleImputer()), ("net", MultiTaskNetRegressor(**FAST))])
    pipe.fit(X, X[:, 0])
    with pytest.raises(TypeError, match="skops does not trust"):
        save(pipe, io.BytesIO())


# ------------------------------------------------------------------------------ tampered files
class Payload:
    """Unpickling this creates the directory ``path`` (it stands for any code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture(scope="module")
def model_bytes():
    X, y = multitask_targets(np.random.RandomState(13))
    est = MultiTaskNet(tasks=TASKS, retrieval=None, **FAST).fit(X, y)
    buffer = io.BytesIO()
    save(est, buffer)
    return buffer.getvalue()


def read_file(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8 : 8 + n])["__metadata__"]
    return load_tensors(data), metadata, json.loads(metadata["description"])


def rewrite(data: bytes, change=None, tensors_change=None) -> bytes:
    tensors, metadata, description = read_file(data)
    if change is not None:
        change(description)
    if tensors_change is not None:
        tensors_change(tensors)
    return save_tensors(tensors, metadata={**metadata, "description": json.dumps(description)})


def test_payload_is_live(tmp_path):
    # The payload used below does run when unpickled: the tests' "nothing ran" means something.
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_untampered_file_loads(model_bytes):
    assert isinstance(load(io.BytesIO(model_bytes)), MultiTaskNet)


def test_file_records_the_versions(model_bytes):
    import sk_mtl

    (n,) = struct.unpack("<Q", model_bytes[:8])
    versions = json.loads(json.loads(model_bytes[8 : 8 + n])["__metadata__"]["versions"])
    assert versions["sk_mtl"] == sk_mtl.__version__
    assert versions["torch"] == torch.__version__
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    assert f'\nversion = "{sk_mtl.__version__}"\n' in pyproject.read_text()


@pytest.mark.parametrize("where", ["estimator", "task", "class", "weighting"])
def test_class_outside_the_allow_lists_is_refused(model_bytes, tmp_path, where):
    marker = tmp_path / "marker"

    def change(description):
        est = description["estimator"]
        if where == "estimator":
            est["class"] = "os.system"
            est["params"] = {"command": f"mkdir {marker}"}
        elif where == "task":
            tasks = est["state"]["tasks_"]["$dict"]
            tasks[0][1] = {"$obj": "builtins.eval", "params": {
                "source": f"__import__('os').mkdir({str(marker)!r})"}, "state": {}}
        elif where == "class":
            est["params"]["optimizer"] = {"$class": "builtins.eval"}
        else:
            est["params"]["weighting"] = {"$obj": "subprocess.Popen", "params": {
                "args": ["mkdir", str(marker)]}, "state": {}}

    with pytest.raises(ValueError, match="not in sk_mtl's allow-lists"):
        load(io.BytesIO(rewrite(model_bytes, change)))
    assert not marker.exists()


def test_a_name_in_the_file_is_never_imported(model_bytes):
    # "this" prints the Zen of Python when imported; nothing here imports it.
    assert "this" not in sys.modules

    def change(description):
        description["estimator"]["class"] = "this.Zen"

    with pytest.raises(ValueError, match="not in sk_mtl's allow-lists"):
        load(io.BytesIO(rewrite(model_bytes, change)))
    assert "this" not in sys.modules


def test_allow_listed_classes_with_unsafe_settings_are_refused(tmp_path):
    rng = np.random.RandomState(16)
    frame, label = fusion_frame(rng)
    pipe = Pipeline([("net", FusionNetClassifier(**FUSION_FAST))])
    pipe.fit({"text": frame["body"].to_numpy(dtype=object)}, label)
    data = io.BytesIO()
    save(pipe, data)

    def file_input(description):  # transform would open the paths it is given as text
        state = description["pipeline"]["estimator"]["state"]
        text = state["modalities_"]["$dict"][0][1]
        text["state"]["vectorizers_"][0]["params"]["input"] = "filename"

    def memory(description):  # a later fit would unpickle what the cache folder holds
        description["pipeline"]["params"]["memory"] = str(tmp_path)

    with pytest.raises(ValueError, match="input='filename'"):
        load(io.BytesIO(rewrite(data.getvalue(), file_input)))
    with pytest.raises(ValueError, match="memory="):
        load(io.BytesIO(rewrite(data.getvalue(), memory)))


def test_pickle_payload_appended_is_refused(model_bytes, tmp_path):
    marker = tmp_path / "marker"
    with pytest.raises(ValueError, match="not an sk_mtl model file"):
        load(io.BytesIO(model_bytes + pickle.dumps(Payload(marker))))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "joblib", "truncated", "empty", "plain_safetensors"])
def test_non_model_files_are_refused(model_bytes, tmp_path, kind):
    import joblib

    marker = tmp_path / "marker"
    path = tmp_path / "model.safetensors"
    if kind == "pickle":
        path.write_bytes(pickle.dumps(Payload(marker)))
    elif kind == "joblib":
        joblib.dump(Payload(marker), path)
    elif kind == "truncated":
        path.write_bytes(model_bytes[:-10])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(save_tensors({"w": torch.zeros(3)}))
    with pytest.raises(ValueError, match="not an sk_mtl model file"):
        load(path)
    assert not marker.exists()


def test_mismatched_weight_shape_is_refused(model_bytes):
    tensors, _, _ = read_file(model_bytes)
    key = next(k for k in tensors if k.startswith("module/") and k.endswith("weight"))

    def grow(tensors):
        tensors[key] = torch.zeros(tensors[key].shape[0] + 1, *tensors[key].shape[1:])

    with pytest.raises(ValueError, match="has shape") as info:
        load(io.BytesIO(rewrite(model_bytes, tensors_change=grow)))
    assert repr(key.removeprefix("module/")) in str(info.value)


def test_description_asking_for_a_huge_network_is_refused_before_allocating(model_bytes):
    def huge(description):  # the input scaler's output is what the network reads
        description["estimator"]["state"]["input_scaler_"]["state"]["n_features_out_"] = 10**9

    with pytest.raises(ValueError, match="has shape"):
        load(io.BytesIO(rewrite(model_bytes, huge)))


@pytest.mark.parametrize("bad", ["missing_array", "unknown_tag", "not_json", "version"])
def test_malformed_descriptions_are_refused(model_bytes, bad):
    tensors, metadata, description = read_file(model_bytes)
    state = description["estimator"]["state"]
    if bad == "missing_array":
        state["classes_"] = {"$array": "array/999"}
        text = json.dumps(description)
    elif bad == "unknown_tag":
        state["classes_"] = {"$pickle": "gASV"}
        text = json.dumps(description)
    elif bad == "not_json":
        text = "{not json"
    else:
        text = json.dumps(description)
        metadata["format_version"] = "99"
    data = save_tensors(tensors, metadata={**metadata, "description": text})
    with pytest.raises(ValueError):
        load(io.BytesIO(data))


def test_state_cannot_overwrite_methods(model_bytes):
    def change(description):
        description["estimator"]["state"]["predict"] = "gotcha"

    with pytest.raises(ValueError, match="not a fitted attribute"):
        load(io.BytesIO(rewrite(model_bytes, change)))


def test_params_compare_helper_sees_differences():
    # Guards the helper the round-trip tests rely on.
    with pytest.raises(AssertionError):
        assert_same_params(MultiTaskNet().get_params(), MultiTaskNet(lr=0.5).get_params())
    assert isinstance(MMoE(), BaseEstimator)


# ---------------------------------------------------------------------------- files written before
#: Model files written by ``sk_mtl.save`` at commit 956e160 (format version 1) and the outputs
#: of the models that wrote them. Files written before must keep loading, with the same
#: predictions, whatever becomes of the code that writes and reads them. Rewrite them only
#: with an intended change of format: ``SK_MTL_WRITE_LEGACY_FILES=1 pytest -k written_before``.
LEGACY = Path(__file__).with_name("persistence_files")
WRITE_LEGACY = os.environ.get("SK_MTL_WRITE_LEGACY_FILES") == "1"
#: As in tests/estimators/test_pinned_predictions.py: no tolerance on the machine that wrote them.
EXACT_PINS = os.environ.get("SK_MTL_PINS_EXACT") == "1"
LEGACY_WORDS = np.array([
    "good", "great", "fine", "lovely", "soft", "warm", "neat", "bright", "comfy", "perfect",
    "bad", "awful", "poor", "itchy", "thin", "loose", "dull", "torn", "stiff", "cheap",
])


def legacy_data(name):
    rng = np.random.RandomState(21)
    n = 24
    if name == "fusion":
        label = rng.randint(0, 2, size=n)
        text = np.array([" ".join(rng.choice(LEGACY_WORDS[10 * (1 - k):10 * (2 - k)], 3))
                         for k in label], dtype=object)
        text[2] = None  # a row without text
        X = {"text": text, "tab": rng.normal(size=(n, 2)).astype("float32")}
        return X, np.where(label == 1, "yes", "no")  # a '<U3' array: classes_ as strings
    if name == "pipeline":
        X = rng.normal(size=(n, 3)) * 10.0 + 3.0
        return X, pd.DataFrame({"a": np.digitize(X[:, 0], [0.0, 6.0]),
                                "b": np.where(X[:, 1] > 3.0, "hi", "lo")})
    X = sp.random(n, 8, density=0.4, format="csr", random_state=rng, dtype=np.float64)
    return X, np.column_stack([X @ rng.normal(size=8), X @ rng.normal(size=8)])


def legacy_model(name):
    """The tiny fitted models of the files. Together their files hold every kind of value
    that a fitted model's description does (arrays, string and object arrays, sparse rows,
    vocabularies, numpy scalars, tuples, classes, a random state, optimizer tensors, sk_mtl
    objects, a retrieval index, a skops archive)."""
    X, y = legacy_data(name)
    small = dict(FAST, hidden_dims=(4,))
    if name == "fusion":
        return FusionNetClassifier(
            encoders={"text": "bag"}, retrieval=3, fusion_weights={"tab": 0.5},
            **dict(FUSION_FAST, hidden_dims=(4,), encoder_dim=4, fusion_dim=4,
                   random_state=np.random.RandomState(0)),
        ).fit(X, y)
    if name == "pipeline":
        net = MultiTaskNetClassifier(
            trunk=MMoE(n_experts=2, expert_dims=(4,)), weighting="conditioned",
            task_weights={"a": 2.0}, activation=nn.Tanh, **small,
        )
        return Pipeline([("scale", StandardScaler()), ("net", net)]).fit(X, y)
    return MultiTaskNetRegressor(retrieval=3, **small).fit(X, y)


def model_outputs(model, X) -> dict[str, np.ndarray]:
    out = {"predict": np.asarray(model.predict(X))}
    if out["predict"].dtype == object:
        out["predict"] = out["predict"].astype(str)
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        for i, p in enumerate(proba if isinstance(proba, list) else [proba]):
            out[f"proba{i}"] = np.asarray(p)
    return out


@pytest.mark.parametrize("name", ["fusion", "pipeline", "sparse"])
def test_files_written_before_load_with_the_same_predictions(name):
    path, outputs = LEGACY / f"{name}.safetensors", LEGACY / f"{name}.npz"
    X, _ = legacy_data(name)
    if WRITE_LEGACY:
        model = legacy_model(name)
        LEGACY.mkdir(exist_ok=True)
        save(model, path, include_optimizer=name == "fusion")
        np.savez_compressed(outputs, **model_outputs(model, X))
    loaded = load(path)
    expected = np.load(outputs)
    found = model_outputs(loaded, X)
    assert sorted(found) == sorted(expected.files)
    for key in expected.files:
        if EXACT_PINS or found[key].dtype.kind in "OUiub":
            np.testing.assert_array_equal(found[key], expected[key])
        else:  # another CPU's float32 kernels may round otherwise
            np.testing.assert_allclose(found[key], expected[key], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- value handlers
HANDLED_VALUES = {
    "plain": [None, True, "a", -3, 2.5, [1, "b", None]],
    "float": float("nan"), "inf": float("-inf"),
    "numpy scalars": [np.float32(0.25), np.int64(-4), np.bool_(True), np.str_("abc")],
    "tuple": (1, (2.0, "c")),
    "dict": {"a": 1, 2: "b", (1, 2): None},
    "vocabulary": {f"w{i}": i for i in range(20)},
    "arrays": [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([True, False])],
    "string array": np.array([["a", "bc"]]),
    "object array": np.array([None, "a", 1.5], dtype=object),
    "sparse": [sp.csr_matrix(np.eye(3)), sp.csr_array(np.eye(2))],
    "classes": [torch.optim.Adam, nn.Tanh, np.float32],
    "dtype": np.dtype("int64"),
    "tensor": torch.arange(4.0),
    "device": torch.device("cpu"),
    "random state": np.random.RandomState(3),
    "sk_mtl object": MMoE(n_experts=2),
}


def same_value(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and all(
            same_value(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist())
        )
    if sp.issparse(a):
        return a.shape == b.shape and (a != b).nnz == 0
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.random.RandomState):
        return repr(a.get_state()) == repr(b.get_state())
    return repr(a) == repr(b)


@pytest.mark.parametrize("kind", list(HANDLED_VALUES))
def test_each_kind_of_value_round_trips(kind):
    from sk_mtl.persistence import _Reader, _Writer

    value = HANDLED_VALUES[kind]
    writer = _Writer()
    node = json.loads(json.dumps(writer.encode(value, kind), allow_nan=False))
    assert same_value(_Reader(writer.tensors).decode(node), value)


def test_each_tag_written_has_its_decoder():
    # One encoder and one decoder per kind of value: the tags the encoders write are the
    # decoders' tags, all of them.
    from sk_mtl.persistence import _DECODERS, _Writer

    def tags(node):
        if isinstance(node, list):
            return set().union(*map(tags, node))
        if isinstance(node, dict):
            own = {k for k in node if k.startswith("$")}
            return own.union(*map(tags, node.values()))
        return set()

    writer = _Writer()
    assert tags(writer.encode(HANDLED_VALUES, "values")) == set(_DECODERS)


def test_a_loaded_model_with_early_stopping_warm_starts_as_the_one_saved():
    """The early-stopping state (patience count, best score) is replayed from the saved
    history, so the loaded model trains on exactly as the model in memory does."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = X[:, 0] * 2 + 0.1 * rng.normal(size=300)
    net = MultiTaskNet(max_epochs=8, ensemble_size=1, early_stopping=True,
                       random_state=0).fit(X, y)
    buffer = io.BytesIO()
    save(net, buffer)
    loaded = load(io.BytesIO(buffer.getvalue()))
    for model in (net, loaded):
        model.set_params(warm_start=True, max_epochs=14).fit(X, y)
    assert len(loaded.history_) == len(net.history_) == 14
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
