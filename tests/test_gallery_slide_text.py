"""A room can read every figure: the smallest text of each figure, scaled to fit a 1920x1080
slide, is recorded in the manifest (``slide_text_px``) and is at least 20 px in the gallery."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from vizkit._io import png_size
from vizkit.gallery._context import DataChoice, RecipeContext
from vizkit.gallery._html import DISPLAY_DPI, PNG_DPI
from vizkit.gallery._record import MIN_SLIDE_TEXT_PX, FigureRecord, slide_text_px

GALLERY = Path(__file__).resolve().parents[1] / "gallery"


def _ctx(tmp_path):
    return RecipeContext("r", source="", out=tmp_path, cache_dir=tmp_path / "c",
                         data=DataChoice("mnist-5k"))


def test_hand_worked_cases():
    # 9 pt at 220 dpi is 27.5 px; a 3840 px wide image is halved to fit 1920 px
    assert slide_text_px(9.0, 3840, 1000, 220) == pytest.approx(13.75, abs=0.051)
    # a square image fits by its height (1080 / 2160 = 0.5) even though it is narrower than 1920
    assert slide_text_px(12.0, 2160, 2160, 220) == pytest.approx(12 / 72 * 220 * 0.5, abs=0.051)
    # a small image is scaled up: 12 pt at 110 dpi is 18.33 px, 1100 -> 1080 tall
    assert slide_text_px(12.0, 1100, 1100, 110) == pytest.approx(18.0, abs=0.051)
    assert slide_text_px(0.0, 10, 10, 100) == 0.0
    for bad in [(9, 0, 10, 220), (9, 10, 10, 0), (-1, 10, 10, 220)]:
        with pytest.raises(ValueError, match="positive size"):
            slide_text_px(*bad)


def test_the_record_takes_the_smallest_visible_text_and_the_png_size(tmp_path):
    ctx = _ctx(tmp_path)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.set_title("big title", fontsize=16)
    ax.tick_params(labelsize=11)
    ax.text(0.5, 0.5, "tiny", fontsize=5, visible=False)  # hidden: not counted
    ax.text(0.2, 0.2, "   ", fontsize=4)  # blank: not counted
    ctx.figure("f", fig, "a caption")
    rec = FigureRecord.from_dict(ctx.figures_[0])
    w, h = png_size((tmp_path / "f.png").read_bytes())
    assert (rec.width, rec.height) == (w, h) and rec.min_font == 11.0
    assert rec.slide_text_px == slide_text_px(11.0, w, h, PNG_DPI)
    # second route: the font's pixel height at 220 dpi, times the fit-to-slide scale by hand
    assert rec.slide_text_px == pytest.approx(11 * 220 / 72 * min(1920 / w, 1080 / h), abs=0.051)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.tick_params(labelsize=11)
    ax.set_xlabel("a small label", fontsize=7)
    ctx.figure("g", fig, "a caption")
    small = FigureRecord.from_dict(ctx.figures_[1])
    assert small.min_font == 7.0 and small.slide_text_px < rec.slide_text_px


def test_an_animation_is_measured_at_its_own_dpi(tmp_path):
    import io

    import numpy as np
    from PIL import Image

    frames = [Image.fromarray(np.full((540, 960, 3), 40 * k, np.uint8)) for k in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    ctx = _ctx(tmp_path)
    ctx.animation("a", buf.getvalue(), "caption", min_font=9.0)
    rec = FigureRecord.from_dict(ctx.figures_[0])
    # 9 pt at 110 dpi = 13.75 px, the 960x540 animation doubled to fill the slide
    assert rec.slide_text_px == pytest.approx(27.5, abs=0.051) == slide_text_px(9, 960, 540,
                                                                                  DISPLAY_DPI)


def test_a_record_with_a_malformed_measure_is_refused():
    from vizkit.gallery._store import GalleryError

    good = {"id": "a", "caption": "c", "sha256": "0" * 64, "width": 10, "height": 10,
            "slide_text_px": 21.0}
    assert FigureRecord.from_dict(good).slide_text_px == 21.0
    for bad in (-1.0, float("nan"), "21", True):
        with pytest.raises(GalleryError):
            FigureRecord.from_dict({**good, "slide_text_px": bad})


def _gallery_figures():
    manifest = json.loads((GALLERY / "manifest.json").read_text())
    return [(r["name"], f) for r in manifest["recipes"] for f in r.get("figures", [])]


@pytest.mark.skipif(not (GALLERY / "manifest.json").exists(), reason="no committed gallery")
def test_every_gallery_figure_is_readable_on_a_slide():
    figures = _gallery_figures()
    assert figures
    small = []
    for recipe, f in figures:
        path = GALLERY / recipe / f"{f['id']}.{f.get('ext', 'png')}"
        if f.get("ext", "png") == "png":
            w, h = png_size(path.read_bytes())  # second route: the file's own header
            dpi = PNG_DPI
        else:
            from PIL import Image

            with Image.open(path) as im:
                w, h = im.size
            dpi = DISPLAY_DPI
        assert (w, h) == (f["width"], f["height"]), path
        assert f["min_font"] > 0, f"{path} records no text"
        assert f["slide_text_px"] == slide_text_px(f["min_font"], w, h, dpi), path
        if f["slide_text_px"] < MIN_SLIDE_TEXT_PX:
            small.append(f"{recipe}/{f['id']}: {f['slide_text_px']} px")
    assert not small, "text below 20 px on a 1920x1080 slide: " + ", ".join(small)
