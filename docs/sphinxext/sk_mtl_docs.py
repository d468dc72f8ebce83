"""Sphinx helpers of the sk_mtl docs: gallery arguments and two docstring additions.

Loaded by ``docs/conf.py`` as the extension ``sk_mtl_docs``; sphinx-gallery calls
:func:`reset_argv` by its name.

Gallery. The examples are command-line scripts (``main(argv=None)`` with argparse). The
gallery runs each one as ``__main__`` with the arguments :func:`reset_argv` returns:

- ``--quick`` when the environment variable ``SK_MTL_DOCS_QUICK`` is set to anything but
  ``""`` or ``"0"`` (the fast gallery that CI builds: the same short runs as
  ``tests/examples/test_examples.py``), nothing otherwise (the full runs);
- ``--plot`` for an example that has that option, so that it draws its figures, which the
  gallery's matplotlib scraper shows below its output.

Every example needs a module docstring that starts with a reStructuredText title (a line,
then ``=`` under it): the gallery takes the page title from it
(``tests/test_docs_gallery.py`` checks this).

Docstrings (``autodoc-process-docstring``):

- a public constant re-exported by a package ``__init__`` (``sk_mtl.tasks.TASK_KINDS``, ...)
  gets the ``#:`` comment written above its assignment in the sk_mtl module that defines it
  (autodoc looks for it only in the module that exports it);
- methods inherited from scikit-learn (``get_metadata_routing``, ``set_fit_request``,
  ``set_output``, ...) cite labels of scikit-learn's own site with ``:ref:`` and ``:term:``;
  those become links to scikit-learn's pages instead of unresolved references. Only
  docstrings of objects defined outside sk_mtl are touched, and only for the labels listed
  in ``SKLEARN_PAGES``: any other unresolved reference still fails the build.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

#: Environment variable that selects the fast gallery.
QUICK_ENV = "SK_MTL_DOCS_QUICK"

SKLEARN = "https://scikit-learn.org/stable/"
#: scikit-learn labels and glossary terms cited by the docstrings sk_mtl inherits.
SKLEARN_PAGES = {
    "metadata_routing": SKLEARN + "metadata_routing.html",
    "df_output_transform": SKLEARN + "auto_examples/miscellaneous/plot_set_output.html",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py":
        SKLEARN + "auto_examples/miscellaneous/plot_set_output.html",
    "meta-estimator": SKLEARN + "glossary.html#term-meta-estimator",
    "meta-estimators": SKLEARN + "glossary.html#term-meta-estimators",
}
_ROLE = re.compile(r":(ref|term):`([^`<]*?)\s*(?:<([^`>]+)>)?`")


def quick() -> bool:
    """Whether the gallery runs the examples with ``--quick``."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def reset_argv(gallery_conf, script_vars) -> list[str]:
    """The command-line arguments of one example (sphinx-gallery's ``reset_argv`` hook).

    Also gives the example its module docstring back as ``__doc__``: sphinx-gallery runs it
    with ``__doc__ = ""``, and the examples build their argparse description from it.
    """
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    script_vars["example_globals"]["__doc__"] = ast.get_docstring(ast.parse(source))
    argv = ["--quick"] if quick() else []
    if '"--plot"' in source:
        argv.append("--plot")
    return argv


class ExampleOrder:
    """Gallery order (sphinx-gallery's ``within_subsection_order``): the README's demo
    (``wine_multitask.py``) first, then the other examples by file name."""

    FIRST = "wine_multitask.py"

    def __init__(self, src_dir) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[bool, str]:
        return (filename != self.FIRST, filename)

    def __repr__(self) -> str:  # sphinx-gallery caches the configuration by its repr
        return f"{type(self).__name__}()"


def _sklearn_link(match: re.Match) -> str:
    text, label = match.group(2), match.group(3) or match.group(2)
    url = SKLEARN_PAGES.get(label)
    if url is None:
        return match.group(0)
    if label.startswith("sphx_glr_") and match.group(3) is None:
        text = "scikit-learn's example"
    return f"`{text} <{url}>`__"


def _constant_comment(name: str, obj) -> list[str]:
    """The ``#:`` comment above the assignment of ``obj`` in the sk_mtl module defining it."""
    from sphinx.pycode import ModuleAnalyzer

    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("sk_mtl.") or getattr(module, name, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # a module without source: look further
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return []


def process_docstring(app, what, name, obj, options, lines) -> None:
    if what == "data":
        # A constant has no docstring of its own (autodoc hands over its type's, e.g. dict's).
        lines[:] = _constant_comment(name.rpartition(".")[2], obj)
        return
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] != "sk_mtl":
        lines[:] = [_ROLE.sub(_sklearn_link, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
