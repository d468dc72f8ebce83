"""The README's Python snippets run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
# The snippets fit on the real wine table: 35 s.
pytestmark = pytest.mark.slow


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert set(namespace["search"].best_params_) == {
        "multitasknet__task_weights__grade",
        "multitasknet__hidden_dims",
    }
    assert namespace["cv"]["test_grade_roc_auc"].mean() > 0.8
