"""Every example runs end to end on the real data in --quick mode."""

import runpy
import sys
from pathlib import Path

import pytest

from sk_mtl.datasets import get_data_home

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, capsys):
    if not (get_data_home() / "wine_quality_red_white.csv").exists():
        pytest.skip(f"real data not found in {get_data_home()}")
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "model" in out and "holdout" in out
