"""The benchmarks run end to end in their --quick sizes (the CI sizes)."""

import importlib.util
import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_fusion_clothing.py"
HAS_TEXT_EXTRA = importlib.util.find_spec("sentence_transformers") is not None
# Whole benchmark scripts on real data, if in their smallest size: a minute in all.
pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("clothing")  # skipped without the real data
def test_clothing_benchmark_quick(monkeypatch, capsys):
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


@pytest.mark.usefixtures("clothing")  # skipped without the real data
def test_alignment_benchmark_quick(monkeypatch, capsys):
    path = BENCH.parent / "bench_alignment.py"
    monkeypatch.setattr(sys, "argv", [str(path), "--quick", "--seeds", "0", "--weights", "0",
                                      "0.5"])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("table only") == 2 and out.count("text only") == 2


def _run_suite(monkeypatch, capsys, *argv):
    """``bench_suite.py`` run as a script with ``argv``, its stdout (skips without the
    suite's data)."""
    from sk_mtl.datasets import suite_names
    from sk_mtl.exceptions import DataFileNotFoundError

    try:
        suite_names()
    except DataFileNotFoundError as exc:
        pytest.skip(f"suite not found: {exc}")
    path = BENCH.parent / "bench_suite.py"
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    return capsys.readouterr().out


def test_suite_benchmark_quick(monkeypatch, capsys, tmp_path):
    out_json = tmp_path / "scores.json"
    out = _run_suite(monkeypatch, capsys, "--quick", "--cache", str(tmp_path / "c"),
                     "--models", "defaults", "today", "fusion", "--json", str(out_json))
    assert "suite: 3 tables, 3-fold CV (seed 0)" in out
    for table in ("slump", "flags", "palmer_penguins"):
        assert f"== {table}:" in out
    # One summary row per network; FusionNet only on the tables with categorical columns.
    summary = out.split("Summary")[1]
    assert "defaults        3    13" in summary and "today           3    13" in summary
    assert "fusion          2    10" in summary
    import json

    scores = json.loads(out_json.read_text())
    assert set(scores["palmer_penguins"]) == {"defaults", "today", "fusion", "HGB", "RF",
                                              "trivial"}
    # The trivial model's AUC is 0.5, its accuracy the majority share.
    assert scores["flags"]["trivial"]["scores"]["red"] == 0.5
    species = scores["palmer_penguins"]["trivial"]["scores"]["species"]
    assert species == pytest.approx(152 / 344, abs=0.01)
    # The tree results were cached for the next run (2 models x 3 tables).
    assert len(list((tmp_path / "c").glob("*.json"))) == 6


def test_suite_subsample_keeps_the_rows_and_drops_tasks_a_fold_cannot_fit(monkeypatch):
    import numpy as np

    from sk_mtl.datasets import load_suite_table
    from sk_mtl.exceptions import DataFileNotFoundError

    monkeypatch.syspath_prepend(str(BENCH.parent))
    import bench_suite

    try:
        yeast = load_suite_table("yeast")
    except DataFileNotFoundError as exc:
        pytest.skip(f"suite not found: {exc}")
    cut, folds = bench_suite.subsample(yeast, 100, seed=0, n_folds=3)
    assert len(cut.data) == len(cut.target) == 100 and len(folds) == 3
    # The rows are the seeded draw, data and labels still row for row.
    rows = np.random.RandomState(0).permutation(len(yeast.data))[:100]
    np.testing.assert_array_equal(cut.data.to_numpy(), yeast.data.iloc[rows].to_numpy())
    # A label with one class in some fold's training rows is left out, the rest kept.
    assert set(cut.tasks) < set(yeast.tasks) and list(cut.target) == list(cut.tasks)
    for task in cut.tasks:
        assert all(cut.target[task].iloc[tr].nunique() == 2 for tr, _ in folds), task
    dropped = set(yeast.tasks) - set(cut.tasks)
    assert dropped and all(
        any(yeast.target[t].iloc[rows].iloc[tr].nunique() < 2 for tr, _ in folds)
        for t in dropped)
    # A table smaller than the cut is left as it is.
    same, _ = bench_suite.subsample(yeast, 10**6, seed=0, n_folds=3)
    assert same is yeast


def test_suite_across_plans_counts_the_plans_below_chance(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH.parent))
    import bench_suite

    def plan(net, hgb, rf, r2):
        scores = {"defaults": {"a": net, "b": r2}, "HGB": {"a": hgb, "b": 0.5},
                  "RF": {"a": rf, "b": 0.4}, "trivial": {"a": 0.5, "b": 0.0}}
        return {"t": {m: (s, [1.0]) for m, s in scores.items()}}

    plans = {0: plan(0.45, 0.55, 0.60, 0.6), 1: plan(0.52, 0.48, 0.58, 0.3),
             2: plan(0.50, 0.50, 0.62, 0.5)}
    rows, tasks = bench_suite.across_plans(plans, ["defaults"])
    (row,) = rows
    assert row["plans"] == 3
    # At least HGB: plan 0 on b only, plan 1 on a only, plan 2 on both (ties count).
    mean, lo, hi = row["hgb_tables"]
    assert (lo, hi) == (0.5, 1.0) and mean == pytest.approx(2 / 3)
    # Against the better tree the network wins b only where it reaches 0.5 (plans 0, 2).
    assert row["best_tables"][1:] == (0.0, 0.5)
    # Task a is flagged (plans 0 and 2: at or below 0.5 with RF above); b never is.
    (flag,) = tasks
    assert flag["task"] == "t:a"
    assert flag["defaults"][:2] == (2, 3) and flag["defaults"][2] == pytest.approx(1.47 / 3)
    assert flag["HGB"][:2] == (2, 3) and flag["RF"][:2] == (0, 3)
    assert flag["RF"][2] == pytest.approx(0.60)
    bench_suite.print_across_plans(rows, tasks, [0, 1, 2])
    out = capsys.readouterr().out
    assert "Across 3 fold plans (seeds 0, 1, 2)" in out and "67% (50%-100%)" in out
    assert "t:a" in out and "defaults 2/3 0.4900  HGB 2/3 0.5100  RF 0/3 0.6000" in out


def test_suite_benchmark_seeds(monkeypatch, capsys, tmp_path):
    out_json = tmp_path / "scores.json"
    out = _run_suite(monkeypatch, capsys, "--quick", "--tables", "slump", "--models",
                     "defaults", "--seeds", "0", "1", "--cache", "", "--json", str(out_json))
    assert "3-fold CV (seed 0)" in out and "3-fold CV (seed 1)" in out
    assert "Across 2 fold plans (seeds 0, 1)" in out
    import json

    scores = json.loads(out_json.read_text())
    assert set(scores) == {"0", "1"}
    # Two fold plans: the same table, different out-of-fold scores.
    assert scores["0"]["slump"]["HGB"]["scores"] != scores["1"]["slump"]["HGB"]["scores"]


@pytest.mark.usefixtures("clothing")  # skipped without the real data
def test_onnx_benchmark_quick(monkeypatch, capsys):
    pytest.importorskip("onnxruntime")
    path = BENCH.parent / "bench_onnx.py"
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    # Each model's graph was checked against predict before it was timed.
    assert "== wine: 600 training rows" in out and "== clothing: 300 training rows" in out
    assert out.count("file sizes: ONNX") == 2


def test_scale_benchmark_quick(monkeypatch, capsys, tmp_path):
    pytest.importorskip("pyarrow")
    path = BENCH.parent / "bench_scale.py"
    out_json = tmp_path / "scale.json"
    monkeypatch.setattr(sys, "argv", [str(path), "--quick", "--data", str(tmp_path / "d"),
                                      "--json", str(out_json)])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "census tables in" in out and "20k rows" in out and "60k rows" in out
    import json

    results = json.loads(out_json.read_text())
    assert [(r["mode"], r["rows"], r["processes"]) for r in results] == [
        ("memory", 20_000, 1), ("stream", 20_000, 1), ("stream", 20_000, 2),
        ("stream", 60_000, 1)]
    for r in results:
        assert r["rows_per_s"] > 0 and 0 < r["peak_rss_mb"] < 2048
        assert 0 < r["test_loss"] < 1.5 and len(r["epoch_s"]) == 2
    assert "streamed 60k: peak RSS" in out and "2 processes / 1 process" in out


def test_weight_search_benchmark_quick(monkeypatch, capsys, tmp_path):
    """The overlaid-digits case with two conditioned variants against one grid search:
    each variant's table, the summary above the grid's lowest scores, the plot."""
    path = BENCH.parent / "bench_weight_search.py"
    monkeypatch.setattr(sys, "argv", [
        str(path), "--quick", "--data", "digits", "--seeds", "0", "1", "--ratios", "3",
        "--variants", '{"conditioning": "film"}', '{"conditioning": "members"}',
        "--plot", str(tmp_path / "front"),
    ])
    monkeypatch.syspath_prepend(str(BENCH.parent))
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("=== overlaid digits: (b) = ") == 2
    summary = out.split("overlaid digits: summary on the mean scores")[1]
    rows = [line for line in summary.splitlines() if line.startswith("conditioning=")]
    assert [row.split()[0] for row in rows] == ["conditioning=film", "conditioning=members"]
    assert all(row.split()[3] == f"{int(row.split()[3].split('/')[0])}/8" for row in rows)
    assert (tmp_path / "front_digits.png").stat().st_size > 10_000
