"""The clothing benchmark runs end to end in its --quick size (the CI size)."""

import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

from sk_mtl.datasets import get_data_home

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_fusion_clothing.py"
HAS_TEXT_EXTRA = importlib.util.find_spec("sentence_transformers") is not None


def test_clothing_benchmark_quick(monkeypatch, capsys):
    if not (get_data_home() / "womens_clothing_ecommerce_reviews.csv.gz").exists():
        pytest.skip(f"real data not found in {get_data_home()}")
    args = ["--quick", "--seeds", "0", "--wide-lr", "10", "--raw"]
    if HAS_TEXT_EXTRA:
        args.append("--sentence")
    monkeypatch.setattr(sys, "argv", [str(BENCH), *args])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(BENCH), run_name="__main__")
    out = capsys.readouterr().out
    assert "300 training / 100 holdout rows" in out
    assert out.count("TF-IDF + LR (per task") == 3
    assert "FusionNetClassifier(), no modalities=" in out
    assert "Tfidf(wide_lr=10)" in out and "Tfidf(wide=False)" in out
    if HAS_TEXT_EXTRA:
        assert "+ 'sentence' beside the TF-IDF text" in out and "texts/s" in out


def test_alignment_benchmark_quick(monkeypatch, capsys):
    if not (get_data_home() / "womens_clothing_ecommerce_reviews.csv.gz").exists():
        pytest.skip(f"real data not found in {get_data_home()}")
    path = BENCH.parent / "bench_alignment.py"
    monkeypatch.setattr(sys, "argv", [str(path), "--quick", "--seeds", "0", "--weights", "0",
                                      "0.5"])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("table only") == 2 and out.count("text only") == 2
