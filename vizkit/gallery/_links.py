"""Links between the gallery and the API reference of the documentation site.

The site (``docs/``, built by Sphinx) has one page per public module (``api/<module>.html``) and
one per name of a module's ``__all__`` (``api/generated/<module>.<name>.html``); the gallery is
copied beside them (``gallery/<recipe>/index.html``). This module is the one home of that layout:
which modules and names have pages (:func:`api_pages`), which of them a recipe's code uses
(:func:`names_used`, read with :mod:`ast`, never run) and the links drawn into a page's
highlighted code (:func:`link_code`, :func:`link_page`).

The gallery itself links only to its own files (it opens from disk with or without the site):
the documentation build adds these links to its copy of the gallery (``docs/_ext/vizkit_api.py``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
import types
from functools import lru_cache

__all__ = ["API_DIR", "GALLERY_DIR", "api_modules", "api_pages", "bindings", "canonical_name", "names_used",
           "page_of", "link_code", "link_page"]

#: Folder of the API reference in the built site, and folder the gallery is copied to.
API_DIR = "api"
GALLERY_DIR = "gallery"

#: A recipe's ``run(ctx)`` receives this class.
_CONTEXT = "vizkit.gallery.RecipeContext"

_IDENT = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")


@lru_cache(maxsize=1)
def api_modules() -> tuple[str, ...]:
    """The modules the reference documents: ``vizkit`` and every module under it with no part of
    its dotted name starting with ``_``, sorted by name.

    Returns
    -------
    tuple of str
        Dotted module names.
    """
    import vizkit

    names = ["vizkit"]
    for info in pkgutil.walk_packages(vizkit.__path__, "vizkit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return tuple(sorted(names))


def _exported(module: str) -> list[tuple[str, object]]:
    mod = importlib.import_module(module)
    return [(name, getattr(mod, name)) for name in getattr(mod, "__all__", ())
            if hasattr(mod, name)]


@lru_cache(maxsize=1)
def api_pages() -> dict[str, str]:
    """Every documented dotted name and its page, relative to the site's root.

    A module's page is ``api/<module>.html``; a name of its ``__all__`` that is not itself a
    module has ``api/generated/<module>.<name>.html``.

    Returns
    -------
    dict of str to str
        Dotted name -> page path (forward slashes).
    """
    pages: dict[str, str] = {}
    for module in api_modules():
        pages[module] = f"{API_DIR}/{module}.html"
    for module in api_modules():
        for name, obj in _exported(module):
            if not isinstance(obj, types.ModuleType):
                pages[f"{module}.{name}"] = f"{API_DIR}/generated/{module}.{name}.html"
    return pages


@lru_cache(maxsize=1)
def _pages_by_object() -> dict[int, str]:
    """id of a documented class, function or module -> its first documented dotted name."""
    by_id: dict[int, str] = {}
    for module in sorted(api_modules(), key=lambda m: (m.count("."), m)):  # shallowest first
        by_id.setdefault(id(importlib.import_module(module)), module)
        for name, obj in _exported(module):
            if isinstance(obj, (type, types.FunctionType, types.ModuleType)):
                by_id.setdefault(id(obj), f"{module}.{name}" if not isinstance(
                    obj, types.ModuleType) else obj.__name__)
    return by_id


def _lookup(dotted: str):
    """The object a dotted ``vizkit`` name refers to, or None (imports modules, runs no recipe)."""
    parts = dotted.split(".")
    known = set(api_modules()) | set(sys.modules)
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module not in known:
            continue
        obj = importlib.import_module(module)
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def canonical_name(dotted: str) -> str:
    """The first documented name (shallowest module first, then by name) of the class, function or module that
    a documented name refers to; the name itself for other objects.

    Parameters
    ----------
    dotted : str
        A documented name, e.g. ``"vizkit.figures.Figure"``.

    Returns
    -------
    str
        The name whose page documents the object and its members, e.g. ``"vizkit.figures.Figure"``
        for the figure class also exported as ``vizkit.plot.Figure`` (``vizkit.figures`` sorts
        first).

    Examples
    --------
    >>> canonical_name("vizkit.lab.ksvm_wrap.KSVMWrap")
    'vizkit.models.KSVMWrap'
    """
    obj = _lookup(dotted)
    if isinstance(obj, (type, types.FunctionType, types.ModuleType)):
        return _pages_by_object().get(id(obj), dotted)
    return dotted


def page_of(dotted: str) -> tuple[str, str] | None:
    """The documented name and page (with an anchor for a method or attribute) of a dotted name.

    Parameters
    ----------
    dotted : str
        A dotted name starting with ``vizkit``, e.g. ``"vizkit.hooks.record"``.

    Returns
    -------
    tuple of (str, str) or None
        The documented name whose page shows it, and the page path with its anchor; None when no
        page shows it.

    Examples
    --------
    >>> page_of("vizkit.hooks.record")
    ('vizkit.hooks.record', 'api/generated/vizkit.hooks.record.html')
    >>> page_of("vizkit.gallery.RecipeContext.family")[1]
    'api/generated/vizkit.gallery.RecipeContext.html#vizkit.gallery.RecipeContext.family'
    >>> page_of("numpy.zeros") is None
    True
    """
    if not _IDENT.match(dotted) or dotted.split(".")[0] != "vizkit":
        return None
    pages = api_pages()
    if dotted in pages:
        return dotted, pages[dotted]
    owner, _, attr = dotted.rpartition(".")
    if owner in pages and not attr.startswith("_"):
        obj = _lookup(owner)
        if isinstance(obj, type) and attr in vars(obj):
            home = canonical_name(owner)  # the page that documents the members
            return owner, f"{pages[home]}#{home}.{attr}"
    obj = _lookup(dotted)
    if isinstance(obj, (type, types.FunctionType, types.ModuleType)):
        home = _pages_by_object().get(id(obj))
        if home is not None:
            return home, pages[home]
    return None


def bindings(source: str) -> dict[str, str]:
    """Local names bound to ``vizkit`` names by a source's imports, and ``run``'s context.

    Parameters
    ----------
    source : str
        Python source (parsed with :mod:`ast`, never run).

    Returns
    -------
    dict of str to str
        Local name -> dotted name; the first parameter of a top-level ``run`` maps to
        ``vizkit.gallery.RecipeContext``. Empty when the source does not parse.

    Examples
    --------
    >>> bindings("import vizkit.plot as vp\\nfrom vizkit.hooks import record as rec")
    {'vp': 'vizkit.plot', 'rec': 'vizkit.hooks.record'}
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "vizkit":
                    if a.asname:
                        bound[a.asname] = a.name
                    else:
                        bound["vizkit"] = "vizkit"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "vizkit":
            for a in node.names:
                if a.name != "*":
                    bound[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run" and node.args.args:
            bound.setdefault(node.args.args[0].arg, _CONTEXT)
    return bound


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + parts[::-1]
    return None


def _family_called(node: ast.AST, bound: dict[str, str]) -> str | None:
    """The family named by ``ctx.family("name", ...)`` or ``make_figures("name", ...)``."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return None
    parts = _dotted(node.func)
    if not parts or parts[0] not in bound:
        return None
    target = ".".join([bound[parts[0]]] + parts[1:])
    if target in (f"{_CONTEXT}.family", "vizkit.figures.make_figures"):
        return node.args[0].value
    return None


def names_used(source: str) -> set[str]:
    """The documented names a source refers to (a method counts as its class).

    Parameters
    ----------
    source : str
        Python source (parsed with :mod:`ast`, never run).

    Returns
    -------
    set of str
        Documented dotted names (keys of :func:`api_pages`) the code imports or calls; a figure
        family it draws (``ctx.family("weights", ...)``, ``make_figures("weights", ...)``)
        counts as its module ``vizkit.figures.weights`` when that module has a page.

    Examples
    --------
    >>> sorted(names_used("from vizkit import hooks\\nhooks.record(m, ['fc'])"))
    ['vizkit.hooks', 'vizkit.hooks.record']
    """
    bound = bindings(source)
    if not bound:
        return set()
    used = set()
    for target in bound.values():
        hit = page_of(target)
        if hit:
            used.add(hit[0])
    for node in ast.walk(ast.parse(source)):
        family = _family_called(node, bound)
        if family:
            hit = page_of(f"vizkit.figures.{family.replace('-', '_')}")
            if hit:
                used.add(hit[0])
        if isinstance(node, ast.Attribute):
            parts = _dotted(node)
            if parts and parts[0] in bound:
                hit = page_of(".".join([bound[parts[0]]] + parts[1:]))
                if hit:
                    used.add(hit[0])
    return used


_TOKEN = re.compile(r'<span class="(?P<cls>[a-z0-9]+)">(?P<text>[^<]*)</span>|<[^>]*>|[^<]+')
_NAME_CLASSES = {"n", "nn", "nc", "nf", "nb", "nv", "vm"}
_DOT = '<span class="o">.</span>'


def link_code(html: str, bound: dict[str, str], *, prefix: str = "../../") -> str:
    """Pygments' HTML of Python code with each name that a documented ``vizkit`` name is bound to
    wrapped in a link to its API page.

    Parameters
    ----------
    html : str
        What ``pygments.highlight(code, PythonLexer(), HtmlFormatter())`` returned.
    bound : dict of str to str
        Local names -> dotted names, from :func:`bindings` of the whole source.
    prefix : str, default='../../'
        Path from the page to the site's root (a gallery page is ``gallery/<recipe>/index.html``).

    Returns
    -------
    str
        The same HTML with ``<a class="vizkit-api" href="...">`` around linked names; text
        unchanged.

    Examples
    --------
    >>> html = '<span class="n">hooks</span><span class="o">.</span><span class="n">record</span>'
    >>> print(link_code(html, {"hooks": "vizkit.hooks"}))  # doctest: +NORMALIZE_WHITESPACE
    <span class="n"><a class="vizkit-api" href="../../api/vizkit.hooks.html">hooks</a></span><span
    class="o">.</span><span class="n"><a class="vizkit-api"
    href="../../api/generated/vizkit.hooks.record.html">record</a></span>
    """
    out: list[str] = []
    chain: list[str] | None = None  # the dotted name the previous tokens spelled
    after_dot = False
    for m in _TOKEN.finditer(html):
        token = m.group(0)
        cls, text = m.group("cls"), m.group("text")
        if token == _DOT:
            after_dot = True
            out.append(token)
            continue
        if cls in _NAME_CLASSES and text and _IDENT.match(text):
            first, *rest = text.split(".")
            if after_dot:  # an attribute: linked only when what it belongs to was
                chain = None if chain is None else chain + [text]
            elif cls == "nn" and first == "vizkit":  # a module path in an import
                chain = text.split(".")
            elif first in bound:
                chain = bound[first].split(".") + rest
            else:
                chain = None
            after_dot = False
            hit = page_of(".".join(chain)) if chain else None
            if hit:
                token = (f'<span class="{cls}"><a class="vizkit-api" href="{prefix}{hit[1]}">'
                         f'{text}</a></span>')
            out.append(token)
            continue
        chain, after_dot = None, False
        out.append(token)
    return "".join(out)


_HIGHLIGHT = re.compile(r'<div class="highlight"><pre>.*?</pre></div>', re.S)


def link_page(html: str, source: str, *, prefix: str = "../../") -> str:
    """A gallery page with the vizkit names of its highlighted code linked to their API pages.

    Parameters
    ----------
    html : str
        A recipe's gallery page (``gallery/<recipe>/index.html``).
    source : str
        The recipe's source (the page's ``<recipe>.py`` download), for its imports.
    prefix : str, default='../../'
        Path from the page to the site's root.

    Returns
    -------
    str
        The page with :func:`link_code` applied to each ``<div class="highlight">`` block; the
        rest of the page unchanged.

    Examples
    --------
    >>> page = ('<p>hooks</p><div class="highlight"><pre><span class="n">hooks</span>'
    ...         '</pre></div>')
    >>> link_page(page, "from vizkit import hooks").count('href="../../api/vizkit.hooks.html"')
    1
    """
    bound = bindings(source)
    if not bound:
        return html
    return _HIGHLIGHT.sub(lambda m: link_code(m.group(0), bound, prefix=prefix), html)
