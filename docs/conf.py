"""Sphinx configuration of vizkit's documentation (built offline).

Build: ``python -m sphinx -W -b html docs docs/_build/html`` from the repository's root. The API
pages are generated from every public module's ``__all__`` (``_ext/vizkit_api.py``), the gallery
(built by ``vizkit gallery``, not run here) is copied into the site as its Examples.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "_ext"))

from vizkit import __version__  # noqa: E402

project = "vizkit"
author = "the vizkit authors"
copyright = "the vizkit authors"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",  # source pages inside the site: the links work offline
    "numpydoc",
    "sphinxarg.ext",
    "vizkit_api",  # API pages from __all__, "Examples using this", the gallery as Examples
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
root_doc = "index"

# Nothing is fetched from the network: no intersphinx. Names of torch, numpy and matplotlib in
# signatures and parameter types then have no target; they render as plain text (not nitpicky).
nitpicky = False
numpydoc_xref_param_type = False
numpydoc_show_class_members = False  # the class page documents its members itself
numpydoc_validation_checks = set()  # validated by tests/test_docs_numpydoc.py instead

autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_inherit_docstrings = False  # a method without its own docstring shows none (not sklearn's)
add_module_names = False
viewcode_line_numbers = True

html_theme = "pydata_sphinx_theme"
html_title = f"vizkit {release}"
html_static_path = ["_static"]
html_copy_source = False
html_show_sourcelink = False
html_show_sphinx = False  # no footer link out of the site
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
