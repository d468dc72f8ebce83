"""sk_mtl.encoders: the encoder specifications of ``encoders=`` (the table, make_encoder,
plan_modality, what each spec builds) and the encoders at work in a FusionNet."""

import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _helpers import BAD, FUSION, GOOD, multimodal
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV
from skorch.helper import SliceDict
from torch import nn

from sk_mtl import FusionNetClassifier, FusionNetRegressor
from sk_mtl.encoders import (
    CNN,
    DEFAULT_ENCODERS,
    ENCODERS,
    GRU,
    MLP,
    Embedding,
    Encoder,
    Linear,
    SentenceEmbedding,
    Tfidf,
    TokenBag,
    TorchModule,
    make_encoder,
    plan_modality,
)
from sk_mtl.modules import SparseRows

#: What a FusionNet with its default ``text_*`` settings leaves to the encoders.
DEFAULTS = {"max_features": 50_000, "ngram_range": (1, 2), "min_df": 2, "max_len": 200,
            "device": "cpu"}
N = 6


def _blocks():
    """One tiny block of each data kind, ``N`` rows each."""
    rng = np.random.RandomState(0)
    return {
        "tabular": rng.normal(size=(N, 3)),
        "sparse": sp.random(N, 40, density=0.2, format="csr", random_state=0),
        "text": np.array(["good soft warm", "bad thin", "good neat", "awful poor cheap",
                          "lovely", "ugly torn dull"], dtype=object),
        "categorical": np.array([["a", "x"], ["b", "x"], ["c", "y"]] * 2, dtype=object),
        "image": rng.normal(size=(N, 1, 8, 8)).astype(np.float32),
    }


def _encode(spec, block, width=5, **build_kwargs):
    """The module ``spec`` builds for ``block`` (seeded) and its output on ``block``."""
    encoder, modality = plan_modality("m", block, make_encoder(spec, "m"), DEFAULTS)
    modality.fit(block)
    torch.manual_seed(0)
    module = encoder.build(modality, width, **build_kwargs)
    values, _ = modality.transform(block)
    if sp.issparse(values):
        values = SparseRows.from_csr(values)
    module.eval()
    with torch.no_grad():
        return module, module(values)


# ======================================================================== the table, make_encoder
def test_every_name_builds_its_class_and_every_kind_has_a_default_that_reads_it():
    for name, cls in ENCODERS.items():
        spec = make_encoder(name)
        assert type(spec) is cls and isinstance(spec, Encoder)
        assert spec.get_params() == cls().get_params()
    assert set(DEFAULT_ENCODERS) == {"tabular", "text", "categorical", "image"}
    for kind, name in DEFAULT_ENCODERS.items():
        assert kind in ENCODERS[name].kinds


def test_a_spec_is_cloned_and_a_module_is_wrapped():
    spec = Tfidf(ngram_range=(1, 1), wide=False)
    made = make_encoder(spec)
    assert made is not spec and repr(made) == repr(spec)
    made.set_params(wide=True)
    assert spec.wide is False
    module = nn.Linear(3, 2)
    wrapped = make_encoder(module, "img")
    assert isinstance(wrapped, TorchModule) and wrapped.module is module


def test_unknown_names_and_other_objects_are_refused_naming_the_modality():
    with pytest.raises(ValueError, match=r"encoders\['text'\]='bert' is not known; use one of "
                                         r"\['bag', 'cnn'"):
        make_encoder("bert", "text")
    with pytest.raises(ValueError, match=r"^encoder='bert' is not known"):
        make_encoder("bert")
    with pytest.raises(TypeError, match=r"encoders\['text'\] must be .*got int"):
        make_encoder(3, "text")


def test_specs_are_estimators_with_searchable_params():
    spec = Tfidf(max_features=10)
    assert isinstance(spec, BaseEstimator)
    assert spec.get_params()["max_features"] == 10
    assert repr(clone(spec)) == "Tfidf(max_features=10)"
    net = FusionNetClassifier(encoders={"text": spec})
    net.set_params(encoders__text__ngram_range=(1, 3))
    assert net.encoders["text"].ngram_range == (1, 3)


# ======================================================================== plan_modality
def test_plan_modality_reads_the_kind_from_the_data_and_the_encoder():
    blocks = _blocks()
    for kind in ("tabular", "text", "categorical", "image"):
        encoder, modality = plan_modality("m", blocks[kind], None, DEFAULTS)
        assert modality.kind == kind
        assert type(encoder) is ENCODERS[DEFAULT_ENCODERS[kind]]
    # Strings the data leaves open: a token encoder reads the categories as text.
    encoder, modality = plan_modality("m", blocks["categorical"][:, 0], GRU(), DEFAULTS)
    assert modality.kind == "text" and modality.form == "tokens"
    assert modality.max_len == 200  # the estimator's text_max_len
    with pytest.raises(ValueError, match="Modality 'm' is tabular data; its encoder reads "
                                         "text modalities"):
        plan_modality("m", blocks["tabular"], GRU(), DEFAULTS)


def test_text_encoders_ask_for_their_form_with_the_estimator_settings_as_fallback():
    assert Tfidf().modality_options(DEFAULTS) == {
        "form": "tfidf", "max_features": 50_000, "ngram_range": (1, 2), "min_df": 2}
    assert Tfidf(max_features=7).modality_options(DEFAULTS)["max_features"] == 7
    assert GRU(max_len=9).modality_options(DEFAULTS) == {
        "form": "tokens", "max_features": 50_000, "max_len": 9}
    assert TokenBag().modality_options({}) == {"form": "tokens"}
    assert MLP().modality_options(DEFAULTS) == {}


# ======================================================================== what each spec builds
@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("mlp", "tabular"), (MLP(hidden_dims=(4,)), "tabular"), ("mlp", "sparse"),
        ("linear", "tabular"), ("linear", "image"), ("tfidf", "text"),
        (Tfidf(hidden_dims=(4,)), "text"), ("bag", "text"), ("gru", "text"),
        ("embedding", "categorical"), (Embedding(embedding_dim=3), "categorical"),
        ("cnn", "image"), (CNN(channels=(4,)), "image"),
    ],
    ids=repr,
)
def test_each_spec_builds_a_module_of_the_asked_width(spec, kind):
    module, out = _encode(spec, _blocks()[kind], width=5)
    assert isinstance(module, nn.Module) and module.out_features == 5
    assert out.shape == (N, 5) and torch.isfinite(out).all()
    # Seeded builds are the same module; each build is a new one.
    again, out_again = _encode(spec, _blocks()[kind], width=5)
    assert again is not module
    torch.testing.assert_close(out_again, out, rtol=0, atol=0)


@pytest.mark.parametrize("spec", ["mlp", "tfidf", "cnn"])
def test_early_fusion_asks_for_a_linear_projection_of_the_raw_input(spec):
    kind = {"mlp": "tabular", "tfidf": "text", "cnn": "image"}[spec]
    module, out = _encode(spec, _blocks()[kind], width=4, linear=True)
    linears = [m for m in module.modules() if isinstance(m, nn.Linear | nn.EmbeddingBag)]
    assert len(linears) == 1 and out.shape == (N, 4)


def test_the_wide_path_is_the_tfidf_rows_at_a_multiple_of_lr():
    block = _blocks()["text"]
    _, modality = plan_modality("m", block, Tfidf(), DEFAULTS)
    modality.fit(block)
    assert Tfidf().wide_features(modality) == (modality.n_features_, 20.0)
    assert Tfidf(wide_lr=2).wide_features(modality) == (modality.n_features_, 2.0)
    assert Tfidf(wide=False).wide_features(modality) is None
    assert MLP().wide_features(modality) is None
    for bad in (0, -1.0, True, "10"):
        with pytest.raises(ValueError, match="Tfidf: wide_lr must be a number > 0"):
            Tfidf(wide_lr=bad).wide_features(modality)


def test_a_torch_module_is_copied_and_its_width_found_by_a_dry_run():
    user = nn.Sequential(nn.Linear(3, 7), nn.Tanh())  # no out_features of its own
    module, out = _encode(user, _blocks()["tabular"])
    assert module is not user and module.out_features == 7 and out.shape == (N, 7)
    assert not hasattr(user, "out_features")


@pytest.mark.parametrize(
    ("spec", "kind", "error", "match"),
    [
        (MLP(hidden_dims=(4, 0)), "tabular", ValueError, r"MLP: hidden_dims must be positive"),
        (Tfidf(hidden_dims=-2), "text", ValueError, "Tfidf: hidden_dims must be positive"),
        (Embedding(embedding_dim=0), "categorical", ValueError,
         "Embedding: embedding_dim must be positive"),
        (CNN(channels=(4, 2.5)), "image", ValueError, "CNN: channels must be positive"),
        (TorchModule(), "tabular", TypeError, "TorchModule needs an nn.Module, got NoneType"),
        (nn.Sequential(nn.Linear(5, 2)), "tabular", ValueError,
         r"encoder of modality 'm' \(Sequential\) failed on a batch of that modality"),
        (nn.Flatten(0), "tabular", ValueError,
         r"encoder of modality 'm' must return a 2-D tensor \(n, width\)"),
    ],
    ids=repr,
)
def test_bad_specs_fail_when_they_build_naming_what_is_wrong(spec, kind, error, match):
    with pytest.raises(error, match=match):
        _encode(spec, _blocks()[kind])


def test_the_base_spec_leaves_build_to_subclasses():
    assert Encoder().kinds == () and Encoder().wide_features(None) is None
    with pytest.raises(NotImplementedError):
        Encoder().build(None, 4)
    assert Linear.kinds == ("tabular", "image") and SentenceEmbedding.kinds == ("text",)


# ======================================================================== in a FusionNet
class _MeanPool(Encoder):
    """A toy encoder added through the public extension point: token ids, averaged
    embeddings, a fixed scale."""

    kinds = ("text",)

    def __init__(self, scale=1.0):
        self.scale = scale

    def modality_options(self, defaults):
        return {"form": "tokens", "max_len": 8}

    def build(self, modality, width, dropout=0.0, linear=False):
        bag = torch.nn.EmbeddingBag(modality.n_features_, width, mode="mean", padding_idx=0)
        bag.out_features = width
        return bag


def test_a_new_encoder_is_one_class_and_one_table_row(monkeypatch):
    monkeypatch.setitem(ENCODERS, "meanpool", _MeanPool)
    X, y = multimodal()
    net = FusionNetClassifier(encoders={"text": "meanpool"}, **FUSION)
    net.set_params(encoders__text__scale=2.0).fit(X, y["label"])
    assert net.encoders_["text"].get_params() == {"scale": 2.0}
    assert net.modalities_["text"].form == "tokens"
    assert isinstance(net.module_.trunk.encoders[0], torch.nn.EmbeddingBag)
    assert (net.predict(X) == y["label"]).mean() > 0.85
    with pytest.raises(ValueError, match="Modality 'tab' is tabular data; its encoder reads "
                                         "text"):
        FusionNetClassifier(encoders={"tab": "meanpool"}, **FUSION).fit(X, y["label"])


def test_text_encoders_bag_and_gru_and_custom_module():
    X, y = multimodal()
    for enc in ("bag", "gru"):
        net = FusionNetClassifier(encoders={"text": enc}, **FUSION).fit(X, y["label"])
        assert (net.predict(X) == y["label"]).mean() > 0.8, enc
    custom = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
    net = FusionNetRegressor(encoders={"tab": custom}, **FUSION).fit(X, y["amount"])
    assert net.module_.trunk.encoders[net.modality_names_.index("tab")].out_features == 5
    assert custom[0].weight.grad is None  # the user's module was copied, not trained


def test_tfidf_text_has_a_wide_path_at_its_own_learning_rate():
    X, y = multimodal()
    net = FusionNetClassifier(**FUSION).fit(X, y["label"])
    wide = net.module_.wide
    assert wide.names == ["text"] and wide.lr_scale == [20.0]
    groups = net.net_.optimizer_sparse_.param_groups
    scaled = [g for g in groups if any(p is wide.linears[0].bag.weight for p in g["params"])]
    assert scaled[0]["lr"] == pytest.approx(20 * FUSION["lr"])
    assert wide.linears[0].bag.weight.abs().sum() > 0  # it trained
    off = FusionNetClassifier(encoders={"text": Tfidf(wide=False)}, **FUSION).fit(X, y["label"])
    assert off.module_.wide is None
    late = FusionNetClassifier(fusion="late", **FUSION).fit(X, y["label"])
    assert late.module_.wide is not None and (late.predict(X) == y["label"]).mean() > 0.85
    with pytest.raises(ValueError, match="wide_lr must be a number > 0"):
        FusionNetClassifier(encoders={"text": Tfidf(wide_lr=0)}, **FUSION).fit(X, y["label"])


class _CountingSentenceModel:
    """A stand-in sentence model: word-count features, every encoded text recorded."""

    words = GOOD + BAD

    def __init__(self):
        self.encoded = []

    def get_embedding_dimension(self):
        return len(self.words) + 1

    def encode(self, texts, batch_size=32, **kwargs):
        self.encoded += list(texts)
        return np.array([[t.split().count(w) for w in self.words] + [1.0] for t in texts],
                        dtype=np.float32)


@pytest.fixture
def counting_sentence_model(monkeypatch):
    import sk_mtl.data._embeddings as embeddings

    model = _CountingSentenceModel()
    monkeypatch.setattr(embeddings, "load_sentence_model", lambda name, device="cpu": model)
    embeddings.clear_embedding_cache()
    yield model
    embeddings.clear_embedding_cache()


def test_sentence_encoder_in_a_grid_search_encodes_each_text_once(counting_sentence_model):
    X, y = multimodal(120)
    X = SliceDict(text=X["text"], tab=X["tab"])
    search = GridSearchCV(
        FusionNetClassifier(encoders={"text": SentenceEmbedding(model="stub")}, **FUSION),
        {"fusion": ["concat", "weighted_sum", "late"], "fusion_weights__text": [0.5, 2.0]},
        cv=2,
    ).fit(X, y["label"])
    encoded = counting_sentence_model.encoded
    assert sorted(encoded) == sorted(set(X["text"]) - {""})  # once each, over 13 fits
    best = search.best_estimator_
    assert best.modalities_["text"].form == "embeddings"
    assert best.modalities_["text"].n_features_ == len(GOOD + BAD) + 1
    assert search.best_score_ > 0.8
    best.predict(X)
    assert len(counting_sentence_model.encoded) == len(encoded)  # prediction hits the cache


class _LoggingSentenceModel(nn.Module):
    """A stand-in sentence model that worker processes share through the disk cache: a torch
    module (keyed by its weights and repr, the same in every process), word-count features,
    and each encode call written to a file of its own under ``log_dir``, in whatever process
    it runs."""

    words = GOOD + BAD

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self.register_buffer("scale", torch.ones(()))

    def extra_repr(self):  # in the model's key: a new key for each test's folder
        return f"log_dir={self.log_dir!r}"

    def get_embedding_dimension(self):
        return len(self.words) + 1

    def encode(self, texts, batch_size=32, **kwargs):
        texts = list(texts)
        (Path(self.log_dir) / f"{os.getpid()}-{uuid.uuid4().hex}.json").write_text(
            json.dumps(texts))
        return np.array([[t.split().count(w) for w in self.words] + [1.0] for t in texts],
                        dtype=np.float32)


def test_a_parallel_grid_search_encodes_each_text_once_across_processes(tmp_path):
    # The disk cache (tests/conftest.py puts it in a temporary folder before any worker
    # starts) is shared by the two worker processes and by this one.
    import sk_mtl.data._embeddings as embeddings

    log = tmp_path / "encode-calls"
    log.mkdir()
    embeddings.clear_embedding_cache()
    embeddings.embedding_stats(reset=True)
    X, y = multimodal(120)
    X = SliceDict(text=X["text"], tab=X["tab"])
    sentence = SentenceEmbedding(model=_LoggingSentenceModel(log), progress=False)
    search = GridSearchCV(FusionNetClassifier(encoders={"text": sentence}, **FUSION),
                          {"fusion_weights__text": [0.5, 2.0]}, cv=2, n_jobs=2)
    search.fit(X, y["label"])
    calls = [(int(path.name.split("-")[0]), json.loads(path.read_text()))
             for path in log.iterdir()]
    encoded = [text for _, texts in calls for text in texts]
    # Four fits and their scoring in two worker processes, then the refit here: each
    # distinct text encoded once in all.
    assert sorted(encoded) == sorted(set(X["text"]))
    assert os.getpid() not in {pid for pid, _ in calls}
    stats = embeddings.embedding_stats()
    assert stats["texts_encoded"] == 0  # the refit read every text from disk
    assert stats["disk_hits"] == len(set(X["text"]))
    assert search.best_score_ > 0.8


def test_sentence_encoder_beside_tfidf_on_the_same_text(counting_sentence_model):
    X, y = multimodal()
    X = {"text": X["text"], "meaning": X["text"], "tab": X["tab"]}
    net = FusionNetClassifier(encoders={"meaning": SentenceEmbedding(model="stub")}, **FUSION)
    net.fit(X, y["label"])
    assert isinstance(net.encoders_["text"], Tfidf)
    assert net.modalities_["meaning"].form == "embeddings"
    assert (net.predict(X) == y["label"]).mean() > 0.85


def test_a_sentence_encoder_model_file_names_its_model(counting_sentence_model, tmp_path):
    import sk_mtl

    X, y = multimodal()
    net = FusionNetClassifier(encoders={"text": SentenceEmbedding(model="stub")}, **FUSION)
    net.fit(X, y["label"])
    sk_mtl.save(net, tmp_path / "net.safetensors")
    loaded = sk_mtl.load(tmp_path / "net.safetensors")
    assert loaded.modalities_["text"].embedder.model == "stub"
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
