"""Every example runs end to end on the real data in --quick mode."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))
# Each example trains on a real table: seconds each, 40 s in all.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.usefixtures("wine")  # skipped without the real data
def test_example_runs(path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "model" in out and "holdout" in out
