"""Sphinx extension: vizkit's API reference generated from ``__all__``, linked to the gallery.

- On ``config-inited``: writes ``api/index.rst`` and one ``api/<module>.rst`` per public module
  (:func:`vizkit.gallery._links.api_modules`), each with an ``autosummary`` table of the names
  of its ``__all__``; autosummary then generates ``api/generated/<module>.<name>.rst``. Nothing is
  hand-listed: a new module or name appears on the next build.
- On ``source-read``: appends "Examples using this" to an API page, listing the gallery recipes
  whose code uses the name (:func:`vizkit.gallery._links.names_used`: read with ``ast``, never
  run).
- The directive ``vizkit-examples`` lists the recipes with their summaries and gallery links.
- On ``build-finished``: copies the committed ``gallery/`` (built by ``vizkit gallery``, not
  re-run here) into the site as ``gallery/``, and links the vizkit names of each page's code to
  their API pages (:func:`vizkit.gallery._links.link_page`; the gallery alone links only to its
  own files).
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import types
from functools import lru_cache
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

from vizkit._io import write_if_changed
from vizkit.gallery._links import (API_DIR, GALLERY_DIR, api_modules, api_pages, canonical_name,
                                  link_page, names_used)

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes"
GALLERY = ROOT / "gallery"
_MARK = ".. vizkit-api: generated\n"


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` atomically unless the file already holds it (Sphinx then rebuilds
    nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(path, text.encode("utf-8"))


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def module_page(module: str) -> str:
    """The reStructuredText of one module's page: its docstring, then its ``__all__``."""
    mod = importlib.import_module(module)
    names = [n for n in getattr(mod, "__all__", ()) if hasattr(mod, n)]
    submodules = [getattr(mod, n).__name__ for n in names
                  if isinstance(getattr(mod, n), types.ModuleType)]
    members = [n for n in names if not isinstance(getattr(mod, n), types.ModuleType)]
    # a module named like a function of its package (vizkit.analysis.attributions) is indexed
    # under the function's page; the module page does not claim the same target
    clash = api_pages().get(module, "").startswith(f"{API_DIR}/generated/")
    lines = [_MARK, _title(module), f".. automodule:: {module}\n   :no-members:\n"
             + ("   :no-index:\n" if clash else ""),
             f".. currentmodule:: {module}\n"]
    if submodules:
        lines.append(".. rubric:: Modules\n")
        lines.append("".join(f"* :doc:`{s}`\n" for s in submodules))
    if members:
        lines.append(".. rubric:: Names\n")
        lines.append(".. autosummary::\n   :toctree: generated/\n   :nosignatures:\n\n"
                     + "".join(f"   {n}\n" for n in members))
    return "\n".join(lines)


def index_page(modules: list[str]) -> str:
    """The reference's front page: every public module, as a table and a toctree."""
    return "\n".join([
        _MARK, _title("API reference"),
        "One page per public module, one per name of its ``__all__`` (generated from the code).",
        "Each page lists the gallery recipes that use it.\n",
        ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {m}\n" for m in modules)])


def write_api_sources(srcdir: Path) -> list[str]:
    """Write ``api/index.rst`` and the module pages under ``srcdir``; remove stale ones."""
    modules = list(api_modules())
    api = srcdir / API_DIR
    wanted = {api / "index.rst"} | {api / f"{m}.rst" for m in modules}
    _write_if_changed(api / "index.rst", index_page(modules))
    for m in modules:
        _write_if_changed(api / f"{m}.rst", module_page(m))
    for old in api.glob("*.rst"):
        if old not in wanted and old.read_text(encoding="utf-8").startswith(_MARK):
            old.unlink()
    return modules


def recipe_summaries() -> dict[str, str]:
    """Recipe name -> the first line of its docstring, for every ``recipes/*.py``."""
    out = {}
    for path in sorted(RECIPES.glob("*.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        except SyntaxError:
            doc = ""
        out[path.stem] = doc.strip().split("\n\n")[0].replace("\n", " ").replace("``", "")
    return out


@lru_cache(maxsize=1)
def backrefs() -> dict[str, list[str]]:
    """Documented dotted name -> the recipes whose code uses it (sorted)."""
    refs: dict[str, list[str]] = {}
    for path in sorted(RECIPES.glob("*.py")):
        for name in names_used(path.read_text(encoding="utf-8")):
            refs.setdefault(name, []).append(path.stem)
    return refs


def _examples_rst(name: str, depth: int) -> str:
    recipes = backrefs().get(name, [])
    if not recipes:
        return ""
    up = "../" * depth
    items = "".join(f"* `{r} <{up}{GALLERY_DIR}/{r}/index.html>`__\n" for r in recipes)
    return f"\n\n.. rubric:: Examples using ``{name}``\n\n.. container:: vizkit-examples\n\n" \
           + "".join(f"   {line}\n" for line in items.splitlines()) + "\n"


def _on_source_read(app, docname: str, source: list[str]) -> None:
    parts = docname.split("/")
    if parts[0] != API_DIR or parts[-1] == "index":
        return
    source[0] += _examples_rst(parts[-1], len(parts) - 1)


class ExamplesDirective(Directive):
    """``.. vizkit-examples::``: every recipe, its summary, and a link to its gallery page."""

    has_content = False

    def run(self):
        items = nodes.bullet_list()
        for name, summary in recipe_summaries().items():
            para = nodes.paragraph()
            para += nodes.reference(name, name, refuri=f"{GALLERY_DIR}/{name}/index.html")
            if summary:
                para += nodes.Text(f": {summary}")
            items += nodes.list_item("", para)
        return [items]


def aliases() -> dict[str, str]:
    """Documented class names that are another documented name's class -> that name.

    Their pages render with ``:no-index:`` and point to the page that documents the class, so
    Sphinx indexes each class once.
    """
    out = {}
    for name in api_pages():
        home = canonical_name(name)
        if home != name and isinstance(_object(name), type):
            out[name] = home
    return out


def _object(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr, None) if module else None


_SHAPE = re.compile(r"(\()([^)]*)")


def _escape_shapes(app, what, name, obj, options, lines: list[str]) -> None:
    """``(N, *input_shape)`` in a type is a shape, not reST emphasis: escape its stars (runs
    before numpydoc reads the sections)."""
    for i, line in enumerate(lines):
        if "*" in line and "of shape (" in line:
            lines[i] = _SHAPE.sub(lambda m: m.group(1) + re.sub(r"(?<!\\)\*", r"\\*",
                                                                   m.group(2)), line)


def _skip_foreign(app, what, name, obj, skip, options):
    """Members that vizkit did not write (scikit-learn's generated ``set_*_request``) are left
    to their own library's documentation."""
    module = getattr(obj, "__module__", None) or ""
    if callable(obj) and module and not module.startswith("vizkit"):
        return True
    return None


def _on_config_inited(app, config) -> None:
    write_api_sources(Path(app.srcdir))
    config.autosummary_context = {**config.autosummary_context, "vizkit_aliases": aliases()}


def _on_build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or not GALLERY.is_dir():
        return
    copy_gallery(GALLERY, Path(app.outdir) / GALLERY_DIR)


def copy_gallery(src: Path, dest: Path) -> None:
    """Copy the gallery into the site and link each recipe page's code to the API pages.

    The names come from the recipe's own ``<recipe>.py`` beside its page (read with ``ast``).
    """
    shutil.copytree(src, dest, dirs_exist_ok=True)
    for page in sorted(dest.glob("*/index.html")):
        source = page.parent / f"{page.parent.name}.py"
        if source.is_file():
            html = page.read_text(encoding="utf-8")
            linked = link_page(html, source.read_text(encoding="utf-8"))
            write_if_changed(page, linked.encode("utf-8"))


def setup(app):
    app.connect("config-inited", _on_config_inited)
    app.connect("autodoc-process-docstring", _escape_shapes, priority=400)
    app.connect("autodoc-skip-member", _skip_foreign)
    app.connect("source-read", _on_source_read)
    app.connect("build-finished", _on_build_finished)
    app.add_directive("vizkit-examples", ExamplesDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
