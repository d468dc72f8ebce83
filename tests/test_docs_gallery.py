"""Every example can be a page of the docs gallery (sphinx-gallery runs examples/*.py).

sphinx-gallery takes an example's page title from its module docstring, which must start
with a reStructuredText title: one line, then a line of ``=`` at least as long. Fast: the
scripts are parsed, not run (tests/examples/test_examples.py runs them).
"""

import ast
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_the_gallery_has_a_header():
    assert (EXAMPLES / "GALLERY_HEADER.rst").exists()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_example_docstring_starts_with_a_title(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
    assert docstring, f"{path.name} has no module docstring"
    lines = docstring.splitlines()
    assert len(lines) >= 2 and lines[0].strip(), f"{path.name}: docstring must start with a title"
    title, underline = lines[0], lines[1]
    assert set(underline) == {"="} and len(underline) >= len(title), (
        f"{path.name}: the docstring's first line must be underlined with '=' (at least "
        f"{len(title)} of them) to be a gallery page title"
    )
