"""Every example runs end to end on the real data in --quick mode."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))
# Each example trains on a real table: seconds each, 40 s in all.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, capsys, request):
    if "womens_clothing" in path.read_text(encoding="utf-8"):
        # Skipped without a local copy: the example would download it, tests never do.
        request.getfixturevalue("clothing")
    monkeypatch.setattr(sys, "argv", [str(path), "--quick"])
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "model" in out and "holdout" in out


def test_the_demo_runs_from_the_repository_alone(tmp_path):
    """The main job needs nothing beside the repository: the files git tracks, copied to a
    folder with no ``../shared`` and no ``SK_MTL_DATA``, run ``make demo``'s script."""
    root = Path(__file__).parents[2]
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the tracked files are not known")
    copy = tmp_path / "alone" / "sk_mtl_checkout"
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (root / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, copy / name)
    env = {k: v for k, v in os.environ.items() if k not in ("SK_MTL_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(copy)  # the copy's sk_mtl, not the checkout's
    env["HOME"] = str(tmp_path / "home")  # an empty ~/sk_mtl_data, the last data folder
    run = subprocess.run(
        [sys.executable, "examples/wine_multitask.py", "--quick"], cwd=copy, env=env,
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert not (copy.parent / "shared").exists()
    assert not (tmp_path / "home" / "sk_mtl_data").exists()
    assert "MultiTaskNet (equal weights)" in run.stdout and "holdout" in run.stdout
