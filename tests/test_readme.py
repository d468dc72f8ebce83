"""The README's Python snippets run as written, each on its own (a reader copies one block
into a fresh session), and print what they compute."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
# The snippets fit small networks and searches: about a minute in all.
pytestmark = pytest.mark.slow


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_four_blocks():
    assert len(_blocks()) == 4


@pytest.mark.parametrize("index", range(4), ids=lambda i: f"block{i + 1}")
def test_readme_python_block_runs_alone(index, capsys):
    namespace: dict = {}  # nothing from the blocks before
    exec(compile(_blocks()[index], str(README), "exec"), namespace)
    out = capsys.readouterr().out
    if index == 1:
        assert set(namespace["search"].best_params_) == {
            "multitasknet__task_weights__grade",
            "multitasknet__hidden_dims",
        }
        assert namespace["cv"]["test_grade_roc_auc"].mean() > 0.8
    assert out.strip(), f"block {index + 1} prints nothing"  # each prints its results
