"""The gallery in a real browser (Selenium + Debian's chromium-driver) and what a page offers:
code, downloads (a notebook that runs), thumbnails, navigation, the embedding explorer."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from vizkit.gallery import build_gallery

EMBED = '''
"""A toy embedding: points with labels, predictions and tiny images."""
ORDER = 1
TOPIC = "Maps"


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(ctx.seed)
    coords = rng.normal(size=(40, 2))
    labels = (coords[:, 0] > 0).astype(int)
    # the map
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.scatter(coords[:, 0], coords[:, 1], c=labels, s=6)
    ctx.figure("map", fig, "a toy map", data={
        "coords": coords, "labels": labels, "predictions": labels[::-1].copy(),
        "images": (rng.random((40, 6, 6)) * 255).astype(np.uint8),
        "class_names": np.array(["left", "right"])})
    print("points:", len(coords))
    # a wide strip
    fig, ax = plt.subplots(figsize=(9, 1.5))
    ax.plot(coords[:, 0])
    ctx.figure("strip", fig, "a wide strip")
'''

PLAIN = '''
"""A second toy: a bar chart."""
ORDER = 2
TOPIC = "Bars"


def run(ctx):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar([0, 1, 2], [3, 1, 2])
    ctx.figure("bars", fig, "three bars", data={"heights": [3, 1, 2]})
'''


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    base = tmp_path_factory.mktemp("browse")
    rdir = base / "recipes"
    rdir.mkdir()
    (rdir / "toy_embed.py").write_text(textwrap.dedent(EMBED))
    (rdir / "toy_bars.py").write_text(textwrap.dedent(PLAIN))
    out = base / "gallery"
    assert build_gallery(out, recipes_dir=rdir, cache_dir=base / "cache", data="mnist-5k",
                         verbose=False) == 0
    return out


# ----------------------------------------------------------------------------- pages, files
def test_each_page_shows_its_run_function_with_figures_after_their_code(gallery):
    for name in ("toy_embed", "toy_bars"):
        page = (gallery / name / "index.html").read_text()
        text = page.replace("<span", "\n<span")
        assert 'class="highlight"' in page and "run" in text and "ctx" in text
        assert (gallery / name / f"{name}.py").read_text().count("def run(ctx)") == 1
    page = (gallery / "toy_embed" / "index.html").read_text()
    # the map's figure follows the block that drew it, before the block of the strip
    assert page.index('id="fig-map"') < page.index("a wide strip") and \
        page.count('class="highlight"') == 3  # preamble, map block, strip block
    assert page.index('id="fig-map"') < page.index("wide strip")
    assert "points: 40" in page  # what it printed
    for f in ("map", "strip"):  # every figure links to its full-size PNG
        assert f'<a href="{f}.png"><img src="{f}.png"' in page


def test_downloads_notebook_zip_and_data(gallery):
    import nbformat
    import numpy as np

    d = gallery / "toy_embed"
    nb = nbformat.read(d / "toy_embed.ipynb", as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def run(ctx):" in code and "RecipeContext.standalone" in code
    with np.load(d / "map.npz") as z:
        assert z["coords"].shape == (40, 2) and z["images"].dtype == np.uint8
    assert not (d / "strip.npz").exists()
    with zipfile.ZipFile(gallery / "recipes.zip") as zf:
        assert sorted(zf.namelist()) == ["recipes/toy_bars.py", "recipes/toy_embed.py"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())


def test_thumbnails_are_small_separate_files_and_the_index_is_light(gallery):
    index = (gallery / "index.html").read_text()
    weight = len(index.encode())
    for name in ("toy_embed", "toy_bars"):
        thumb = gallery / name / "thumbnail.jpg"
        assert thumb.read_bytes()[:2] == b"\xff\xd8" and thumb.stat().st_size < 50_000
        assert f'src="{name}/thumbnail.jpg"' in index and 'loading="lazy"' in index
        weight += thumb.stat().st_size
    assert weight < 1_500_000
    assert ".png" not in index  # the index loads no full figure
    from PIL import Image

    with Image.open(gallery / "toy_embed" / "thumbnail.jpg") as im:
        assert im.size == (480, 360)
    # grouped by topic, with the times
    assert index.index("Maps") < index.index("Bars") and "training every model from scratch took" in index


def test_prev_next_and_provenance(gallery):
    a = (gallery / "toy_embed" / "index.html").read_text()
    b = (gallery / "toy_bars" / "index.html").read_text()
    assert 'href="../toy_bars/index.html" rel="next"' in a and 'rel="prev"' not in a
    assert 'href="../toy_embed/index.html" rel="prev"' in b
    m = json.loads((gallery / "manifest.json").read_text())
    prov = m["provenance"]
    assert set(prov) >= {"vizkit", "vizkit source hash", "torch", "torchvision", "numpy", "matplotlib"}
    assert m["recipes"][0]["provenance"] == prov and prov["torch"] in a


def test_the_notebook_runs_top_to_bottom_in_a_fresh_kernel(gallery, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.read(gallery / "toy_bars" / "toy_bars.ipynb", as_version=4)
    monkeypatch.setenv("VIZKIT_CACHE", str(tmp_path / "cache"))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert (tmp_path / "toy_bars-figures" / "bars.png").is_file()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)


# ----------------------------------------------------------------------------- real browser
def _chromium() -> tuple[str, str] | None:
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    return (exe, driver) if exe and driver else None


@pytest.fixture(scope="module")
def browser():
    found = _chromium()
    if found is None:
        pytest.skip("chromium / chromedriver are not installed (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=webdriver.ChromeService(executable_path=found[1]), options=opts)
    yield drv
    drv.quit()


_PROBE = """return {
  images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
};"""


def _crawl(drv, start: Path, width: int) -> dict[str, dict]:
    drv.set_window_size(width, 900)
    seen, todo = {}, [start.resolve().as_uri()]
    while todo:
        url = todo.pop(0)
        if url in seen:
            continue
        drv.get(url)
        drv.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # lazy images load
        drv.execute_script("return Promise.all(Array.from(document.images).map(i => i.decode()"
                           ".catch(() => null)))")
        probe = drv.execute_script(_PROBE)
        probe["errors"] = [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        seen[url] = probe
        todo += [link.split("#")[0] for link in probe["links"]
                 if link.startswith("file:") and link.split("#")[0].endswith(".html")]
    return seen


def _problems(pages: dict[str, dict]) -> list[str]:
    bad = []
    for url, p in pages.items():
        bad += [f"{url}: {e}" for e in p["errors"]]
        bad += [f"{url}: image {src} did not load" for src, ok, w in p["images"] if not (ok and w > 0)]
        if p["scroll"] > 0:
            bad.append(f"{url}: scrolls sideways by {p['scroll']} px")
        for link in p["links"]:
            u = urlparse(link)
            if u.scheme != "file":
                bad.append(f"{url}: external link {link}")
            elif not Path(unquote(u.path)).is_file():
                bad.append(f"{url}: broken link {link}")
            elif u.fragment and u.fragment not in pages.get(link.split("#")[0], {}).get("ids", [u.fragment]):
                bad.append(f"{url}: link to missing anchor {link}")
    return bad


def test_browser_detects_a_broken_page(browser, tmp_path):
    (tmp_path / "ok.png").write_bytes(b"not a png")
    (tmp_path / "index.html").write_text(
        '<!DOCTYPE html><html><body><img src="missing.png"><img src="ok.png">'
        '<div style="width:2000px">wide</div>'
        '<a href="nowhere.html">x</a><a href="index.html#nope">y</a></body></html>')
    text = "\n".join(_problems(_crawl(browser, tmp_path / "index.html", 420)))
    assert "image missing.png did not load" in text and "image ok.png did not load" in text
    assert "broken link" in text and "missing anchor" in text and "scrolls sideways" in text


@pytest.mark.parametrize("width", [1400, 420])
def test_gallery_opens_in_a_real_browser(browser, gallery, width, tmp_path):
    pages = _crawl(browser, gallery / "index.html", width)
    visited = {Path(unquote(urlparse(u).path)).relative_to(gallery).as_posix() for u in pages}
    assert visited == {"index.html", "toy_embed/index.html", "toy_bars/index.html"}
    assert _problems(pages) == []
    shots = Path(os.environ.get("VIZKIT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for u in pages:
        browser.get(u)
        rel = Path(unquote(urlparse(u).path)).relative_to(gallery)
        browser.save_screenshot(str(shots / f"{width}-{'-'.join(rel.with_suffix('').parts)}.png"))


def test_the_embedding_explorer_answers_a_hover(browser, gallery):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.set_window_size(1400, 900)
    browser.get((gallery / "toy_embed" / "index.html").resolve().as_uri())
    canvas = browser.find_element(By.CSS_SELECTOR, ".embed canvas.map")
    browser.execute_script("arguments[0].scrollIntoView()", canvas)
    info = browser.find_element(By.ID, "embed-info")
    assert "label: –" in info.text
    data = json.loads(browser.find_element(By.CSS_SELECTOR, ".embed").get_attribute("data-points"))
    # hover the first point: its position on the canvas, from the same scaling as the script
    xs, ys = [c[0] for c in data["coords"]], [c[1] for c in data["coords"]]
    size = canvas.size["width"]
    fx = 14 + (xs[0] - min(xs)) / (max(xs) - min(xs)) * (520 - 28)
    fy = 520 - 14 - (ys[0] - min(ys)) / (max(ys) - min(ys)) * (520 - 28)
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(fx * size / 520 - size / 2), int(fy * size / 520 - size / 2)).perform()
    i = int(info.get_attribute("data-index"))
    names = data["class_names"]
    assert f"label {names[data['labels'][i]]}, prediction {names[data['predictions'][i]]}" in info.text
