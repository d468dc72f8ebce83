"""The API reference (docs/api/*.rst) lists every public name, so it cannot fall behind.

"Public": every name in the ``__all__`` of ``sk_mtl`` and of each module or package under it
whose dotted path has no component starting with ``_``. A name is listed when an
``autosummary`` entry of docs/api resolves to it, under its own module or under another
public path for the same object (``sk_mtl.save`` is ``sk_mtl.persistence.save``). Fast: the
reST sources are read as text, no Sphinx build.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import sk_mtl

API = Path(__file__).parents[1] / "docs" / "api"


def public_modules() -> list[str]:
    names = ["sk_mtl"]
    for info in pkgutil.walk_packages(sk_mtl.__path__, "sk_mtl."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return [n for n in names if hasattr(importlib.import_module(n), "__all__")]


def listed_entries() -> dict[str, str]:
    """Every autosummary entry of docs/api as a dotted name -> the file that lists it."""
    entries = {}
    for path in sorted(API.glob("*.rst")):
        module, in_autosummary = None, False
        for line in path.read_text(encoding="utf-8").splitlines():
            directive = re.match(r"\.\. (currentmodule|automodule|module)::\s*(\S+)", line)
            if directive:
                module, in_autosummary = directive.group(2), False
            elif line.startswith(".. autosummary::"):
                in_autosummary = True
            elif in_autosummary and line.strip() and not line.startswith(" "):
                in_autosummary = False
            elif in_autosummary and line.strip() and not line.strip().startswith(":"):
                name = line.strip().lstrip("~")
                full = name if name.startswith("sk_mtl.") or module is None else f"{module}.{name}"
                entries[full] = path.name
    return entries


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_api_pages_exist():
    assert (API / "index.rst").exists()
    assert len(listed_entries()) > 100


def test_every_entry_resolves_to_a_public_object():
    stale = []
    for dotted, page in listed_entries().items():
        try:
            resolve(dotted)
        except (ImportError, AttributeError):
            stale.append(f"{dotted} (docs/api/{page})")
    assert not stale, f"API reference entries that are not importable: {stale}"


@pytest.mark.parametrize("module_name", public_modules())
def test_every_public_name_is_in_the_api_reference(module_name):
    entries = listed_entries()
    documented = {id(resolve(dotted)) for dotted in entries}
    module = importlib.import_module(module_name)
    missing = [
        name for name in module.__all__
        if f"{module_name}.{name}" not in entries and id(getattr(module, name)) not in documented
    ]
    assert not missing, (
        f"{module_name}.__all__ names missing from the API reference: {missing}; add them "
        f"to an autosummary list in docs/api/ (one page is generated per entry)"
    )
