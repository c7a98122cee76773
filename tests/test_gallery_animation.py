"""Animations in the gallery: ``ctx.animation`` writes ``<id>.gif`` that the page shows and links."""

import io
import json
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vizkit.gallery import build_gallery
from vizkit.gallery._context import DataChoice, RecipeContext
from vizkit.gallery._record import FigureRecord

TOY_ANIM = '''
"""A toy recipe with an animation.

Run: ``python recipes/toy_anim.py``.
"""
ORDER = 1


def run(ctx):
    import io
    import numpy as np
    from PIL import Image

    frames = [Image.fromarray(np.full((20, 30, 3), 40 * k, np.uint8)) for k in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    ctx.animation("grey <ramp>", buf.getvalue(), "three grey frames",
                  data={"levels": np.arange(3) * 40})
'''


def _gif(n=3, size=(30, 20)):
    frames = [Image.fromarray(np.full((size[1], size[0], 3), 40 * k, np.uint8)) for k in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


def _ctx(tmp_path):
    return RecipeContext("r", source="", out=tmp_path, cache_dir=tmp_path / "c",
                         data=DataChoice("mnist-5k"))


def test_animation_writes_the_gif_its_data_and_a_record(tmp_path):
    ctx = _ctx(tmp_path)
    gif = _gif()
    fid = ctx.animation("Grow/../x", gif, "a caption", data={"a": np.arange(3)})
    assert fid == "grow-x" and (tmp_path / "grow-x.gif").read_bytes() == gif
    with np.load(tmp_path / "grow-x.npz") as z:
        assert z["a"].tolist() == [0, 1, 2]
    rec = FigureRecord.from_dict(ctx.figures_[0])
    assert (rec.ext, rec.width, rec.height, rec.data) == ("gif", 30, 20, ["a"])
    assert rec.file("r") == "r/grow-x.gif"
    # ids are shared with figures: the same name gets a new one
    assert ctx.animation("grow x", gif, "again") == "grow-x-2"


@pytest.mark.parametrize("gif, match", [
    (b"\x89PNG\r\n", "must be the bytes of a GIF file"),
    ("GIF89a", "must be the bytes of a GIF file"),
    (b"GIF89a-broken", "could not be read as a GIF"),
    (_gif(n=1), "an animation needs at least 2 frames. Got 1"),
])
def test_animation_errors(tmp_path, gif, match):
    with pytest.raises(ValueError, match=match):
        _ctx(tmp_path).animation("a", gif, "c")


def test_figure_record_ext_is_checked():
    good = {"id": "a", "caption": "", "sha256": "0" * 64, "width": 1, "height": 1}
    assert FigureRecord.from_dict(good).ext == "png"  # older manifests: a PNG
    from vizkit.gallery._store import GalleryError

    with pytest.raises(GalleryError):
        FigureRecord.from_dict({**good, "ext": "../x"})


def test_page_shows_and_links_the_gif_and_a_rebuild_changes_nothing(tmp_path):
    rdir = tmp_path / "recipes"
    rdir.mkdir()
    (rdir / "toy_anim.py").write_text(textwrap.dedent(TOY_ANIM))
    out = tmp_path / "gallery"
    assert build_gallery(out, recipes_dir=rdir, cache_dir=tmp_path / "cache", data="mnist-5k",
                         verbose=False) == 0
    gif = out / "toy_anim" / "grey-ramp.gif"
    with Image.open(gif) as im:
        assert im.n_frames == 3 and im.size == (30, 20)
    page = (out / "toy_anim" / "index.html").read_text()
    assert '<a href="grey-ramp.gif"><img src="grey-ramp.gif"' in page
    assert 'width="30" height="20"' in page and "grey-ramp.npz" in page
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["figures"][0]["file"] == "toy_anim/grey-ramp.gif"
    assert (out / "toy_anim" / "thumbnail.jpg").is_file()  # from the first frame
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    time.sleep(0.05)
    assert build_gallery(out, recipes_dir=rdir, cache_dir=tmp_path / "cache", data="mnist-5k",
                         verbose=False) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes
    gif.unlink()  # a missing animation makes the recipe run again
    assert build_gallery(out, recipes_dir=rdir, cache_dir=tmp_path / "cache", data="mnist-5k",
                         verbose=False) == 0
    assert gif.is_file()
