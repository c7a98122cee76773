"""The gallery engine on toy recipes (tiny models on gmm-2d): manifest, caching, failures,
escaping, safe names, deterministic PNGs (the real browser: test_gallery_browser.py)."""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from pathlib import Path

import pytest

import vizkit.train
from vizkit.gallery import build_gallery, list_recipes, run_recipe_main, safe_name
from vizkit._io import SAFE_NAME, png_bytes
from vizkit._runs import LOCK_NAME

EVIL = "<script>alert('x')</script> & \"quotes\""

TOY_OK = f'''
"""A toy recipe: a tiny MLP on 2D data.

Run: ``python recipes/toy_ok.py``.
"""
ORDER = 1


def run(ctx):
    import matplotlib.pyplot as plt

    split = ctx.data("gmm-2d", K=2, C=2, N=20)
    model, hist, metrics = ctx.train("tiny", "mlp", split, {{"epochs": 5, "batch_size": 16}},
                                     hidden=(4,))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.scatter(split.x_train[:, 0], split.x_train[:, 1], c=split.y_train, s=8)
    ax.plot(hist.series("epoch"), hist.series("train_loss"))
    ctx.figure("Scatter <b>Plot</b>/../x", fig, {EVIL!r})
    ctx.metric("test accuracy", metrics["accuracy"], headline=True)
    ctx.metric("note", {EVIL!r})
    ctx.table("t", ["a", "b"], [[1, 0.5], ["<i>", None]], "a <table> caption")
'''

TOY_SECOND = '''
"""Second toy recipe: figures from vizkit.figures.Figure objects."""
ORDER = 2


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np
    from vizkit.plot.figure import Figure

    rng = np.random.default_rng(ctx.seed)
    figs = []
    for k in range(2):
        fig, ax = plt.subplots(figsize=(2.5, 2))
        ax.imshow(rng.random((8, 8)), cmap="gray")
        figs.append(Figure(id=f"noise-{k}", fig=fig, caption=f"seeded noise {k}",
                           data={"noise": rng.random((2, 2))}))
    ctx.figures(figs, prefix="rnd")
    ctx.metric("n", 2)
'''

TOY_FAIL = '''
"""A recipe that fails half way: its first figure is kept, the error is shown."""
ORDER = 3


def run(ctx):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    ctx.figure("before", fig, "made before the failure")
    raise RuntimeError("boom <b>bold</b>")
'''


def _write_recipes(folder: Path, **recipes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in recipes.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    (folder / "_helper.py").write_text("raise RuntimeError('never imported: underscore files are not recipes')\n")
    return folder


@pytest.fixture
def toy(tmp_path):
    rdir = _write_recipes(tmp_path / "recipes", toy_ok=TOY_OK, toy_second=TOY_SECOND,
                          toy_fail=TOY_FAIL)
    return {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}


def _build(t, **kw):
    kw.setdefault("data", "mnist-5k")  # never probe the network: toy recipes use gmm-2d only
    return build_gallery(t["out"], recipes_dir=t["recipes"], cache_dir=t["cache"], verbose=False, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One full toy build shared by the read-only tests."""
    base = tmp_path_factory.mktemp("built")
    rdir = _write_recipes(base / "recipes", toy_ok=TOY_OK, toy_second=TOY_SECOND, toy_fail=TOY_FAIL)
    t = {"recipes": rdir, "out": base / "gallery", "cache": base / "cache"}
    status = _build(t)
    return t, status


def _files(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- manifest, pages
def test_manifest_lists_every_figure_with_recipe_caption_and_metrics(built):
    t, status = built
    out = t["out"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["format"] == "vizkit-gallery"
    assert [r["name"] for r in m["recipes"]] == ["toy_ok", "toy_second", "toy_fail"]
    by_id = {(f["recipe"], f["id"]): f for f in m["figures"]}
    assert set(by_id) == {("toy_ok", "scatter-b-plot-b-x"), ("toy_second", "rnd-noise-0"),
                          ("toy_second", "rnd-noise-1"), ("toy_fail", "before")}
    f = by_id[("toy_ok", "scatter-b-plot-b-x")]
    assert f["file"] == "toy_ok/scatter-b-plot-b-x.png" and (out / f["file"]).is_file()
    assert f["caption"] == EVIL
    assert 0.0 <= f["metrics"]["test accuracy"] <= 1.0
    ok = m["recipes"][0]
    assert ok["status"] == "ok" and ok["checkpoints"][0]["key"] == "tiny"
    assert re.fullmatch(r"[0-9a-f]{16}", ok["checkpoints"][0]["hash"])
    assert ok["data"][0]["name"] == "gmm-2d" and ok["data"][0]["options"] == {"C": 2, "K": 2, "N": 20}
    assert ok["tables"][0]["rows"] == [[1, 0.5], ["<i>", None]]
    for r in m["recipes"]:
        assert (out / r["page"]).is_file()


def test_failing_recipe_is_shown_and_the_others_still_build(built):
    t, status = built
    assert status == 1
    out = t["out"]
    m = json.loads((out / "manifest.json").read_text())
    rec = {r["name"]: r for r in m["recipes"]}
    assert rec["toy_ok"]["status"] == "ok" and rec["toy_second"]["status"] == "ok"
    assert rec["toy_fail"]["status"] == "failed"
    assert rec["toy_fail"]["error_summary"] == "RuntimeError: boom <b>bold</b>"
    assert [f["id"] for f in rec["toy_fail"]["figures"]] == ["before"]  # what it made is kept
    page = (out / "toy_fail/index.html").read_text()
    assert 'id="error"' in page and "boom &lt;b&gt;bold&lt;/b&gt;" in page
    assert "Traceback" in page and 'toy_fail.py' in page
    assert str(Path.home()) not in page and str(t["recipes"]) not in page  # no machine paths
    index = (out / "index.html").read_text()
    summary = index[index.index('id="summary"'):index.index("</header>")]
    assert "1 failed" in summary and 'href="toy_fail/index.html"' in summary
    assert "2 built" in summary


def test_text_is_escaped_everywhere(built):
    t, _ = built
    for name in ("index.html", "toy_ok/index.html", "toy_fail/index.html", "toy_second/index.html"):
        text = (t["out"] / name).read_text()
        assert "<script" not in text.lower()
        assert "<b>bold" not in text and "<b>Plot" not in text and "<i>" not in text
    page = (t["out"] / "toy_ok/index.html").read_text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in page
    assert "a &lt;table&gt; caption" in page and "<td>&lt;i&gt;</td>" in page


def test_pages_are_static_and_offline(built):
    t, _ = built
    for page in t["out"].rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"(https?:|ftp:)?//[a-z0-9]", text, re.I), page.name
        assert "@import" not in text and "url(" not in text and "<script" not in text
        assert "<link" not in text  # CSS is inline
        for ref in re.findall(r'(?:src|href)="([^"]*)"', text):
            path = ref.split("#")[0]
            if path:
                assert (page.parent / path).resolve().is_file(), (page.name, ref)


def test_file_names_come_from_a_safe_alphabet(built):
    t, _ = built
    for rel in _files(t["out"]):
        if rel == LOCK_NAME:  # the empty lock a run holds (vizkit._runs.run_lock)
            continue
        for part in Path(rel).parts:
            stem, dot, ext = part.partition(".")
            assert SAFE_NAME.match(stem) and ext in ("", "png", "npz", "jpg", "py", "ipynb", "html",
                                                     "json", "zip"), rel
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("Weights λ=0.1 <b>") == "weights-0-1-b"
    assert safe_name("...") == "item" and len(safe_name("x" * 500)) == 80


def test_files_get_the_usual_permissions_and_no_temp_files_are_left(built):
    t, _ = built
    mask = os.umask(0)
    os.umask(mask)
    for p in t["out"].rglob("*"):
        assert not p.name.startswith(".") or p.name == LOCK_NAME, p
        if p.is_file():  # as open() would create them, not mkstemp's 0600
            assert p.stat().st_mode & 0o777 == 0o666 & ~mask, p


# ----------------------------------------------------------------------------- caching
def test_second_build_trains_nothing_and_rewrites_no_file(toy, monkeypatch):
    assert _build(toy) == 1
    before_out, before_cache = _files(toy["out"]), _files(toy["cache"])
    assert any(k.endswith(".pt") for k in before_cache)
    calls = []
    real = vizkit.train.train_model
    monkeypatch.setattr(vizkit.train, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    time.sleep(0.05)  # a rewrite would show in the mtimes
    assert _build(toy) == 1  # the failing recipe runs again and fails again
    assert calls == []
    assert _files(toy["out"]) == before_out
    assert _files(toy["cache"]) == before_cache

    # a changed recipe re-runs and retrains (its source is in the key); the others stay put
    src = toy["recipes"] / "toy_ok.py"
    src.write_text(src.read_text() + "\n# changed\n")
    assert _build(toy) == 1
    assert calls == [1]
    after = _files(toy["out"])
    assert after["toy_second/rnd-noise-0.png"] == before_out["toy_second/rnd-noise-0.png"]
    # same seed, same data, same training: the retrained figure has the very same bytes
    assert after["toy_ok/scatter-b-plot-b-x.png"] == before_out["toy_ok/scatter-b-plot-b-x.png"]

    # a deleted figure is drawn again from the cached checkpoint, without training
    (toy["out"] / "toy_ok/scatter-b-plot-b-x.png").unlink()
    assert _build(toy) == 1
    assert calls == [1] and (toy["out"] / "toy_ok/scatter-b-plot-b-x.png").is_file()

    # --retrain trains again
    assert _build(toy, only="toy_ok", retrain=True) == 0
    assert calls == [1, 1]


def test_only_builds_the_named_recipes_and_keeps_the_rest(toy):
    assert _build(toy, only="toy_ok") == 0
    m = json.loads((toy["out"] / "manifest.json").read_text())
    assert [r["name"] for r in m["recipes"]] == ["toy_ok"]
    assert _build(toy, only=["toy_second", "toy_fail"]) == 1
    m = json.loads((toy["out"] / "manifest.json").read_text())
    assert [r["name"] for r in m["recipes"]] == ["toy_ok", "toy_second", "toy_fail"]
    assert _build(toy, only="toy_second") == 0  # the exit code is about the recipes run


def test_removed_figures_and_recipes_are_cleaned_up(toy):
    assert _build(toy) == 1
    assert (toy["out"] / "toy_second/rnd-noise-1.png").is_file()
    src = toy["recipes"] / "toy_second.py"
    src.write_text(src.read_text().replace("range(2)", "range(1)"))
    (toy["recipes"] / "toy_fail.py").unlink()
    _build(toy)
    assert not (toy["out"] / "toy_second/rnd-noise-1.png").exists()
    assert (toy["out"] / "toy_second/rnd-noise-0.png").is_file()
    assert not (toy["out"] / "toy_fail/index.html").exists()
    assert not (toy["out"] / "toy_fail").exists()
    assert not (toy["out"] / "toy_fail/before.png").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"only": "nope"}, "`only` must name recipes among 'toy_ok', 'toy_second', 'toy_fail'. Got 'nope'"),
    ({"only": ""}, "`only` must name recipes"),
    ({"jobs": 0}, "`jobs` must be an integer >= 1 or None (one per CPU, at most 4). Got 0 instead."),
    ({"jobs": 1.5}, "`jobs` must be an integer >= 1 or None"),
])
def test_bad_arguments(toy, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _build(toy, **kwargs)


def test_list_recipes_skips_private_files_and_orders_by_ORDER(toy):
    assert list_recipes(toy["recipes"]) == ["toy_ok", "toy_second", "toy_fail"]


def test_run_recipe_main_builds_just_that_recipe(toy, monkeypatch):
    monkeypatch.setenv("VIZKIT_CACHE", str(toy["cache"]))
    with pytest.raises(SystemExit) as e:
        run_recipe_main(toy["recipes"] / "toy_second.py", ["--out", str(toy["out"]), "--data", "mnist-5k"])
    assert e.value.code == 0
    m = json.loads((toy["out"] / "manifest.json").read_text())
    assert [r["name"] for r in m["recipes"]] == ["toy_second"]


SHARED_TRAIN = '''
"""Trains the model its twin trains too (shared=True)."""
ORDER = {order}


def run(ctx):
    split = ctx.data("gmm-2d", K=2, C=2, N=20)
    _, _, m = ctx.train("same", "mlp", split, {{"epochs": 30, "batch_size": 8}}, shared=True,
                        hidden=(64, 64))
    ctx.metric("test accuracy", m["accuracy"])
'''


@pytest.mark.parametrize("cpus, jobs", [(None, 1), (1, 1), (2, 2), (3, 3), (64, 4)])
def test_default_jobs_one_per_cpu_at_most_four(monkeypatch, cpus, jobs):
    from vizkit.gallery import default_jobs

    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    assert default_jobs() == jobs


def test_cli_gallery_runs_side_by_side_by_default(monkeypatch, tmp_path):
    from vizkit import cli
    import vizkit.gallery

    seen = {}
    monkeypatch.setattr(vizkit.gallery, "build_gallery", lambda out, **kw: seen.update(kw) or 0)
    assert cli.main(["gallery", "--out", str(tmp_path / "g")]) == 0
    assert seen["jobs"] is None  # build_gallery then takes default_jobs()
    assert cli.main(["gallery", "--out", str(tmp_path / "g"), "--jobs", "1"]) == 0
    assert seen["jobs"] == 1


def test_jobs_side_by_side_train_a_shared_model_once(tmp_path):
    rdir = _write_recipes(tmp_path / "recipes", twin_a=SHARED_TRAIN.format(order=1),
                          twin_b=SHARED_TRAIN.format(order=2))
    t = {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}
    assert _build(t, jobs=2) == 0
    rec = {r["name"]: r for r in json.loads((t["out"] / "manifest.json").read_text())["recipes"]}
    # whichever took the lock first trained; the other waited for it and loaded its checkpoint
    assert sorted(r["trained"] for r in rec.values()) == [0, 1]
    assert sorted(r["cached"] for r in rec.values()) == [0, 1]
    assert rec["twin_a"]["metrics"] == rec["twin_b"]["metrics"]
    assert len(list((t["cache"] / "_shared").glob("*.pt"))) == 1


THREADS_SEEN = '''
"""Says which thread limits its process got."""
ORDER = {order}


def run(ctx):
    import os

    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        ctx.metric(k, os.environ.get(k, "unset"))
'''


def test_recipes_side_by_side_hold_numba_and_openmp_to_their_torch_threads(tmp_path, monkeypatch):
    rdir = _write_recipes(tmp_path / "recipes", seen_a=THREADS_SEEN.format(order=1),
                          seen_b=THREADS_SEEN.format(order=2))
    t = {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's own setting wins
    assert _build(t, jobs=2) == 0
    for r in json.loads((t["out"] / "manifest.json").read_text())["recipes"]:
        assert r["metrics"] == {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "3"}, r["name"]


def test_file_lock_makes_a_second_holder_wait(tmp_path):
    import threading
    import time

    from vizkit._io import file_lock

    order, waited = [], []
    lock = tmp_path / "sub" / "x.lock"
    with file_lock(lock):
        def other():
            with file_lock(lock, on_wait=lambda: waited.append(True)):
                order.append("other")

        th = threading.Thread(target=other)
        th.start()
        time.sleep(0.3)
        order.append("first")
    th.join(5)
    assert order == ["first", "other"] and waited == [True]
    with file_lock(lock, on_wait=lambda: waited.append("again")):  # free again: no wait
        pass
    assert waited == [True]


def test_jobs_run_recipes_in_processes_with_the_same_result(built, tmp_path):
    crash = '"""Dies without a Python error."""\nORDER = 9\n\n\ndef run(ctx):\n    import os\n    os._exit(3)\n'
    rdir = _write_recipes(tmp_path / "recipes", toy_second=TOY_SECOND, toy_fail=TOY_FAIL,
                          toy_crash=crash)
    t = {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}
    assert _build(t, jobs=2) == 1
    m = json.loads((t["out"] / "manifest.json").read_text())
    rec = {r["name"]: r for r in m["recipes"]}
    assert rec["toy_crash"]["status"] == "failed"
    assert "exit code 3" in rec["toy_crash"]["error_summary"]
    assert rec["toy_fail"]["error_summary"] == "RuntimeError: boom <b>bold</b>"
    # the same figures, byte for byte, as the in-process build of the same recipe
    one = json.loads((built[0]["out"] / "manifest.json").read_text())
    sha = lambda man, name: [f["sha256"] for r in man["recipes"] if r["name"] == name for f in r["figures"]]
    assert sha(m, "toy_second") == sha(one, "toy_second") and len(sha(m, "toy_second")) == 2


# ----------------------------------------------------------------------------- determinism
def _png_chunks(data: bytes) -> list[str]:
    import struct

    pos, kinds = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kinds.append(data[pos + 4:pos + 8].decode("ascii"))
        pos += 12 + n
    return kinds


def test_pngs_are_byte_identical_across_fresh_builds(tmp_path):
    rdir = _write_recipes(tmp_path / "recipes", toy_ok=TOY_OK, toy_second=TOY_SECOND)
    outs = []
    for k in range(2):
        t = {"recipes": rdir, "out": tmp_path / f"g{k}", "cache": tmp_path / f"c{k}"}
        assert _build(t) == 0
        outs.append({rel: (t["out"] / rel).read_bytes() for rel in _files(t["out"])
                     if rel.endswith(".png")})
    assert len(outs[0]) == 3 and outs[0] == outs[1]
    for data in outs[0].values():
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(_png_chunks(data))


def test_png_bytes_have_no_metadata(pyplot):
    fig, ax = pyplot.subplots()
    ax.plot([0, 1])
    a, b = png_bytes(fig), png_bytes(fig)
    assert a == b and "tEXt" not in _png_chunks(a)


def test_png_bytes_are_the_same_pixels_as_matplotlibs_png_in_fewer_bytes(pyplot):
    import io

    import numpy as np
    from PIL import Image

    fig, ax = pyplot.subplots()
    ax.imshow(np.random.default_rng(0).random((30, 30)), cmap="viridis")
    ax.plot([0, 29], [0, 29], "r-")
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=220, metadata={"Software": None}, facecolor="white",
                bbox_inches="tight", pad_inches=0.1)
    ours = png_bytes(fig)
    assert len(ours) < len(raw.getvalue())
    with Image.open(io.BytesIO(ours)) as a, Image.open(raw) as b:
        assert a.mode == "RGB" and b.mode == "RGBA"  # the opaque alpha channel dropped
        assert np.array_equal(np.asarray(a), np.asarray(b.convert("RGB")))
        assert a.info["dpi"] == pytest.approx((220, 220), abs=0.1)


def test_recipe_docstring_is_rendered_as_markdown_and_escaped():
    from vizkit.gallery._html import _doc_html

    out = str(_doc_html("Shows **two** things:\n\n- ``fit`` with <script>alert(1)</script>\n- more"))
    assert "<strong>two</strong>" in out and "<li><code>fit</code>" in out
    assert "<script>" not in out and "&lt;script&gt;" in out


@pytest.mark.parametrize("env, expected", [(None, 1), ("2", 2)])
def test_recipes_run_with_one_torch_thread_unless_told(tmp_path, monkeypatch, env, expected):
    import json

    import torch

    if env is None:
        monkeypatch.delenv("VIZKIT_THREADS", raising=False)
    else:
        monkeypatch.setenv("VIZKIT_THREADS", env)
    rdir = _write_recipes(tmp_path / "recipes", threads='''
        """Threads.

        Run: ``python recipes/threads.py``.
        """


        def run(ctx):
            import torch

            ctx.metric("threads", torch.get_num_threads())
        ''')
    before = torch.get_num_threads()
    t = {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}
    assert _build(t) == 0
    manifest = json.loads((t["out"] / "manifest.json").read_text())
    (rec,) = [r for r in manifest["recipes"] if r["name"] == "threads"]
    assert rec["metrics"]["threads"] == expected
    assert torch.get_num_threads() == before  # the caller's setting is put back


def test_a_checkpoint_left_by_an_interrupted_training_is_trained_again(toy, tmp_path):
    import json

    from vizkit import checkpoint

    assert _build(toy, only="toy_ok") == 0
    (cached,) = sorted(toy["cache"].rglob("*.pt"))
    model, meta = checkpoint.load(cached)
    meta.pop("metrics")  # what a build killed in the middle of fit leaves behind
    checkpoint.save(cached, model, **{k: v for k, v in meta.items() if k not in ("versions", "path")})
    again = {**toy, "out": tmp_path / "second"}
    assert _build(again, only="toy_ok") == 0
    manifest = json.loads((again["out"] / "manifest.json").read_text())
    (rec,) = [r for r in manifest["recipes"] if r["name"] == "toy_ok"]
    assert rec["status"] == "ok" and rec["trained"] == 1 and rec["cached"] == 0
    assert "accuracy" in checkpoint.load(cached)[1]["metrics"]
