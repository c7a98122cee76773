"""vizkit.gallery._links: which names have API pages, which a recipe uses, the links in its code."""

from pathlib import Path

import pytest

from vizkit.gallery._links import (api_modules, api_pages, bindings, canonical_name, link_code,
                                   link_page, names_used, page_of)

ROOT = Path(__file__).resolve().parents[1]


def _highlight(code: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight"))


def test_every_public_module_and_exported_name_has_a_page():
    import importlib
    import types

    modules = api_modules()
    assert "vizkit.hooks" in modules and "vizkit.lab.pt_deep" in modules
    assert not any(part.startswith("_") for m in modules for part in m.split("."))
    pages = api_pages()
    for m in modules:
        parent, _, leaf = m.rpartition(".")
        shadowed = parent and not isinstance(getattr(importlib.import_module(parent), leaf, None),
                                             types.ModuleType)  # a function named like it
        assert pages[m] == (f"api/generated/{m}.html" if shadowed else f"api/{m}.html")
        mod = importlib.import_module(m)
        for name in mod.__all__:
            if not isinstance(getattr(mod, name), types.ModuleType):
                assert pages[f"{m}.{name}"] == f"api/generated/{m}.{name}.html"


def test_page_of_methods_aliases_and_strangers():
    assert page_of("vizkit.hooks.record") == ("vizkit.hooks.record",
                                              "api/generated/vizkit.hooks.record.html")
    # a private home resolves to the public page of the same object
    assert page_of("vizkit.hooks._record.record")[0] == "vizkit.hooks.record"
    # a method is an anchor on its class's documenting page
    assert page_of("vizkit.gallery.RecipeContext.train") == (
        "vizkit.gallery.RecipeContext",
        "api/generated/vizkit.gallery.RecipeContext.html#vizkit.gallery.RecipeContext.train")
    assert page_of("vizkit.gallery.RecipeContext._private") is None
    assert page_of("vizkit.hooks.no_such_name") is None
    assert page_of("numpy.zeros") is None and page_of("vizkit.x; drop") is None


def test_canonical_name_is_the_shallowest_home():
    assert canonical_name("vizkit.lab.ksvm_wrap.KSVMWrap") == "vizkit.models.KSVMWrap"
    assert canonical_name("vizkit.models.KSVMWrap") == "vizkit.models.KSVMWrap"
    assert canonical_name("vizkit.train.OPTIMIZERS") == "vizkit.train.OPTIMIZERS"  # data


def test_bindings_read_imports_and_the_recipe_context_without_running():
    source = ("import os\nimport vizkit\nimport vizkit.plot as vp\n"
              "from vizkit.hooks import record as rec, layer_names\nfrom . import local\n"
              "def run(ctx):\n    from vizkit.train import fit\n")
    assert bindings(source) == {"vizkit": "vizkit", "vp": "vizkit.plot",
                                "rec": "vizkit.hooks.record",
                                "layer_names": "vizkit.hooks.layer_names",
                                "fit": "vizkit.train.fit", "ctx": "vizkit.gallery.RecipeContext"}
    assert bindings("def broken(:\n") == {}
    assert bindings("raise SystemExit('never run')\nimport vizkit.hooks as h") == {
        "h": "vizkit.hooks"}


def test_names_used_counts_calls_methods_and_families():
    source = ("from vizkit import hooks\nimport vizkit.plot as vp\n"
              "def run(ctx):\n    ctx.train('k', 'mlp', None)\n"
              "    hooks.record(m, ['fc'])\n    vp.plot_embedding\n    other.record\n")
    assert names_used(source) == {"vizkit.hooks", "vizkit.hooks.record", "vizkit.plot",
                                  "vizkit.plot.plot_embedding", "vizkit.gallery.RecipeContext"}
    assert names_used("import numpy as np\nnp.zeros(3)") == set()


def test_link_code_links_bound_names_and_leaves_the_text():
    code = ("from vizkit.hooks import record\nimport vizkit.plot as vp\n"
            "with record(model, ['fc']) as r:\n    vp.plot_embedding(r.record)\n"
            "record = 3\nfoo.record\n")
    html = _highlight(code)
    out = link_code(html, bindings(code), prefix="../../")
    rec = 'href="../../api/generated/vizkit.hooks.record.html"'
    assert out.count(rec) == 3  # the import, the call and the rebinding's name (no scopes)
    assert 'href="../../api/vizkit.hooks.html"' in out  # the module path of the import
    assert out.count('href="../../api/generated/vizkit.plot.plot_embedding.html"') == 1
    assert out.count('href="../../api/vizkit.plot.html"') == 3  # import path, alias, its use
    # attributes of unbound objects are not linked (r.record, foo.record)
    assert out.count('class="vizkit-api"') == 8
    import re

    assert re.sub(r"</?a[^>]*>", "", out) == html  # only links added


def test_link_page_touches_only_highlighted_code():
    page = ('<p><span class="n">record</span></p>'
            + _highlight("from vizkit.hooks import record\nrecord(m, 'fc')\n"))
    out = link_page(page, "from vizkit.hooks import record")
    assert out.startswith('<p><span class="n">record</span></p>')
    assert out.count("vizkit.hooks.record.html") == 2
    assert link_page(page, "import numpy") == page


@pytest.mark.parametrize("recipe", sorted(p.stem for p in (ROOT / "recipes").glob("*.py")))
def test_every_recipe_uses_a_documented_name(recipe):
    used = names_used((ROOT / "recipes" / f"{recipe}.py").read_text())
    assert "vizkit.gallery.RecipeContext" in used and used <= set(api_pages())
