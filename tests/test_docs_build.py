"""The documentation site builds offline with warnings as errors, and holds what it promises."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

_EXTERNAL_LOAD = re.compile(
    r'<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*'
    r'(?:src|href|data)\s*=\s*["\']?\s*(?:[a-z]+:)?//', re.I)
_CSS_EXTERNAL = re.compile(r'(?:url\(\s*["\']?|@import\s+["\'])\s*(?:[a-z]+:)?//', re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                           "-d", str(out / ".doctrees"), str(ROOT / "docs"), str(out / "html")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out / "html"


def _local_targets(page: Path, text: str):
    for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
        if re.match(r"[a-z]+:|//|#", ref, re.I):
            continue
        yield ref, (page.parent / re.split(r"[#?]", ref)[0]).resolve()


@pytest.mark.slow
def test_every_exported_name_and_module_has_a_page(site):
    from vizkit.gallery._links import api_pages

    pages = api_pages()
    assert len(pages) > 300
    missing = [name for name, page in pages.items() if not (site / page).is_file()]
    assert not missing, missing[:20]
    # a module page lists its names, each linked to the name's page
    text = (site / "api" / "vizkit.hooks.html").read_text()
    assert 'href="generated/vizkit.hooks.record.html' in text


@pytest.mark.slow
def test_api_pages_list_the_recipes_that_use_them(site):
    from vizkit_api import backrefs

    refs = backrefs()
    assert "png_folder_mlp" in refs["vizkit.train.fit"]
    assert len(refs["vizkit.gallery.RecipeContext"]) == len(list((ROOT / "recipes").glob("*.py")))
    from vizkit.gallery._links import api_pages

    for name, recipes in refs.items():
        page = site / api_pages()[name]
        text = page.read_text()
        assert f"Examples using <code" in text, name
        for r in recipes:
            href = f"gallery/{r}/index.html"
            assert href in text, (name, r)
    # the link from a name's page reaches the copied gallery page
    page = site / "api" / "generated" / "vizkit.train.fit.html"
    targets = dict(_local_targets(page, page.read_text()))
    assert targets["../../gallery/png_folder_mlp/index.html"].is_file()


@pytest.mark.slow
def test_gallery_pages_code_links_to_the_api(site):
    page = site / "gallery" / "png_folder_mlp" / "index.html"
    text = page.read_text()
    links = re.findall(r'<a class="vizkit-api" href="([^"]+)">([^<]+)</a>', text)
    assert ("../../api/generated/vizkit.train.fit.html", "fit") in links
    for href, _ in links:
        target, _, anchor = href.partition("#")
        path = (page.parent / target).resolve()
        assert path.is_file(), href
        if anchor:
            assert f'id="{anchor}"' in path.read_text(), href
    # the committed gallery itself is untouched: it links only to its own files
    assert "vizkit-api" not in (ROOT / "gallery" / "png_folder_mlp" / "index.html").read_text()


@pytest.mark.slow
def test_the_site_loads_nothing_from_outside_and_its_links_resolve(site):
    n_pages = 0
    for path in site.rglob("*"):
        if path.suffix in (".html", ".css", ".js") and path.is_file():
            text = path.read_text(errors="replace")
            assert not _EXTERNAL_LOAD.search(text), path
            if "_modules" not in path.parts:  # (viewcode's pages show source text, not CSS)
                assert not _CSS_EXTERNAL.search(text), path
    for page in [site / "index.html", site / "examples.html", *site.glob("guide/*.html"),
                 site / "api" / "index.html", site / "api" / "vizkit.train.html"]:
        n_pages += 1
        for ref, target in _local_targets(page, page.read_text()):
            assert target.exists(), (page.name, ref)
    assert n_pages >= 10
    # the CLI reference comes from argparse: every verb of the parser is on the page
    from vizkit.cli import build_parser

    cli = (site / "guide" / "cli.html").read_text()
    parser = build_parser()
    for verb, sub in parser.verbs.items():
        assert f'href="#vizkit-{verb}"' in cli, verb  # a section per verb
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":  # (sphinx-argparse omits help)
                    assert flag in cli, (verb, flag)
