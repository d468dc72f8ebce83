"""Sphinx configuration of the sk_mtl documentation site (``make docs``).

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html``. The gallery runs every
``examples/*.py``; ``SK_MTL_DOCS_QUICK=1`` runs them with ``--quick`` (what CI builds).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import sk_mtl

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))

import sk_mtl_docs  # noqa: E402  (docs/sphinxext, on the path just above)

project = "sk_mtl"
author = "the sk_mtl developers"
copyright = "the sk_mtl developers, BSD-3-Clause"
version = release = sk_mtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sk_mtl_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    # sphinx-gallery writes these beside its pages; they are included, not pages.
    "auto_examples/*.md5",
    "sg_execution_times.rst",
]
# The README's links point at docs/<page>.md; the site keeps those Markdown pages where they
# are, and reads their ``#`` headings as page sections.
myst_heading_anchors = 3

# API reference: one generated page per public name (docs/api/*.rst list them).
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's "Parameters" sections carry the types
autodoc_member_order = "groupwise"
toc_object_entries_show_parents = "hide"  # "fit()" rather than "MultiTaskNet.fit()"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The gallery: every example script, each run as __main__ with sk_mtl_docs.reset_argv's
# arguments; printed output and matplotlib figures are shown on its page.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/[^/]+\.py$",  # execute every example, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "sk_mtl_docs.reset_argv",
    "within_subsection_order": "sk_mtl_docs.ExampleOrder",
    "image_scrapers": ("matplotlib",),
    "capture_repr": (),
    "min_reported_time": 0,
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_signature": False,
}
if sk_mtl_docs.quick():
    print(f"sk_mtl docs: {sk_mtl_docs.QUICK_ENV} is set, the gallery runs with --quick")

html_theme = "pydata_sphinx_theme"
html_title = f"sk_mtl {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "auto_examples/index": []}
html_show_sourcelink = False
html_static_path: list[str] = []
os.environ.setdefault("MPLBACKEND", "Agg")
