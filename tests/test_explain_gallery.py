"""A recipe's own pages in the gallery (``ctx.asset``): written, linked, kept, cleaned, checked."""

from __future__ import annotations

import json
import textwrap

import pytest

from vizkit.gallery import build_gallery
from vizkit.gallery._context import RecipeContext
from vizkit.gallery._record import RecipeRecord
from vizkit.gallery._store import GalleryError

RECIPE = '''
"""A recipe with a page of its own."""
ORDER = 1
TOPIC = "Pages"


def run(ctx):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    ctx.figure("line", fig, "a line")
    {asset}
'''
ASSET = 'ctx.asset("explain-toy.html", b"<!doctype html><p>toy</p>", "explain one <toy>")'


def _build(base, asset: str) -> int:
    rdir = base / "recipes"
    rdir.mkdir(exist_ok=True)
    (rdir / "toy_page.py").write_text(textwrap.dedent(RECIPE.format(asset=asset)))
    return build_gallery(base / "gallery", recipes_dir=rdir, cache_dir=base / "cache",
                         data="digits", verbose=False)


def test_asset_is_written_linked_kept_and_removed(tmp_path):
    assert _build(tmp_path, ASSET) == 0
    folder = tmp_path / "gallery" / "toy_page"
    assert (folder / "explain-toy.html").read_bytes() == b"<!doctype html><p>toy</p>"
    page = (folder / "index.html").read_text()
    assert '<a href="explain-toy.html">explain one &lt;toy&gt;</a>' in page
    manifest = json.loads((tmp_path / "gallery" / "manifest.json").read_text())
    rec = next(r for r in manifest["recipes"] if r["name"] == "toy_page") \
        if isinstance(manifest.get("recipes"), list) else manifest["recipes"]["toy_page"]
    assert [a["file"] for a in rec["assets"]] == ["explain-toy.html"]
    mtime = (folder / "explain-toy.html").stat().st_mtime_ns
    assert _build(tmp_path, ASSET) == 0                       # up to date: kept, untouched
    assert (folder / "explain-toy.html").stat().st_mtime_ns == mtime
    (folder / "explain-toy.html").write_bytes(b"tampered")    # not what the record says: rebuilt
    assert _build(tmp_path, ASSET) == 0
    assert (folder / "explain-toy.html").read_bytes() == b"<!doctype html><p>toy</p>"
    assert _build(tmp_path, "pass") == 0                      # no longer written: removed
    assert not (folder / "explain-toy.html").exists() and (folder / "line.png").exists()


@pytest.mark.parametrize("name, data, message", [
    ("page.js", b"x", r"'<id>' \+ one of .html"),
    (".html", b"x", r"'<id>' \+ one of .html"),
    ("page.html", "text", "`data` must be bytes"),
])
def test_asset_bad_input(tmp_path, name, data, message):
    ctx = RecipeContext.standalone("toy", out=tmp_path / "o", cache_dir=tmp_path / "c")
    (tmp_path / "o").mkdir()
    with pytest.raises(ValueError, match=message):
        ctx.asset(name, data)
    assert list((tmp_path / "o").iterdir()) == []


def test_asset_names_are_made_safe_and_unique(tmp_path):
    ctx = RecipeContext.standalone("toy", out=tmp_path, cache_dir=tmp_path / "c")
    assert ctx.asset("../Evil Page.html", b"a") == "evil-page.html"
    assert ctx.asset("evil-page.html", b"b") == "evil-page-2.html"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == \
        ["evil-page-2.html", "evil-page.html"]


@pytest.mark.parametrize("asset", [
    {"file": "../x.html", "caption": ""}, {"file": "index.html", "caption": ""},
    {"file": "x.js", "caption": ""}, {"file": "x.html", "caption": 3}, "x.html",
])
def test_a_manifest_asset_outside_the_rules_is_refused(asset):
    with pytest.raises(GalleryError, match="asset"):
        RecipeRecord.from_dict({"name": "toy", "key": "k", "status": "ok", "assets": [asset]})
