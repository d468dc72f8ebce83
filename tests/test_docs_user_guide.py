"""The user guide's examples run and print what the pages say: docs/user_guide/*.rst, the
home page docs/index.rst and the getting-started page docs/getting_started.rst are doctests
(the ``>>>`` lines), run here as ``python -m doctest`` would run them.

Lines marked ``# doctest: +SKIP`` are shown but not checked: scores whose last digits move
with the library's defaults (Sphinx hides the marker). Code that needs a Dask cluster or a
GPU is shown in literal blocks, not as doctests.
"""

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
GUIDE = sorted((DOCS / "user_guide").glob("*.rst"))
PAGES = [DOCS / "index.rst", *(p for p in GUIDE if ">>>" in p.read_text(encoding="utf-8"))]


def test_the_guide_has_examples():
    assert len(PAGES) >= 8


def _run_page(path, monkeypatch, tmp_path) -> doctest.TestResults:
    monkeypatch.chdir(tmp_path)  # a page that saves a model file writes it here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    result = doctest.testfile(
        str(path), module_relative=False, name=path.name,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {path}"
    return result


@pytest.mark.slow  # the pages fit real models: 15 s in all
@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_user_guide_page_runs(path, monkeypatch, tmp_path):
    _run_page(path, monkeypatch, tmp_path)


def test_getting_started_page_runs(monkeypatch, tmp_path):
    """The page a new user copies first: the packaged wine data, a two-task fit, per-task
    scores, a search over task weights, a dict and a SliceDict. Small fits (1,000 rows, 10
    epochs, one member): a few seconds, so it is not marked slow."""
    result = _run_page(DOCS / "getting_started.rst", monkeypatch, tmp_path)
    assert result.attempted >= 35  # every block ran, none was lost to a markup slip
