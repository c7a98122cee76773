"""The gallery never deletes, writes or links what it did not derive itself: crafted manifests,
planted links, bad arguments, a recipe named ``index``, interrupted builds, and fuzzed bytes."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from vizkit.gallery import GalleryError, build_gallery
from vizkit.gallery import _build, _store
from vizkit.gallery._record import parse_manifest

PLAIN = '''
"""A recipe with no training: one seeded figure with data."""
ORDER = {order}
TOPIC = "toys"


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(ctx.seed)
    values = rng.random(5) * {scale}
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(range(5), values)
    ctx.figure("bars", fig, "{caption}", data={{"values": values}})
    print("sum", round(float(values.sum()), 3))
'''


def _recipe(order=1, scale=1.0, caption="five bars"):
    return textwrap.dedent(PLAIN.format(order=order, scale=scale, caption=caption))


def _setup(tmp_path, **recipes):
    rdir = tmp_path / "recipes"
    rdir.mkdir()
    for name, text in recipes.items():
        (rdir / f"{name}.py").write_text(text)
    return {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}


def _build_it(t, **kw):
    kw.setdefault("data", "mnist-5k")
    return build_gallery(t["out"], recipes_dir=t["recipes"], cache_dir=t["cache"], verbose=False, **kw)


def _snapshot(folder: Path, skip: Path | None = None) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and (skip is None or skip not in p.parents)}


@pytest.fixture
def toy(tmp_path):
    return _setup(tmp_path, one=_recipe(1), two=_recipe(2, 2.0, "more bars"))


def _victims(tmp_path: Path) -> dict[str, Path]:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "notes.txt").write_text("do not touch")
    (outside / "pic.png").write_bytes(b"not yours")
    return {"txt": outside / "notes.txt", "png": outside / "pic.png", "dir": outside}


# ----------------------------------------------------------------------------- crafted manifests
def test_crafted_manifest_deletes_and_writes_nothing_outside_and_links_nothing(toy, tmp_path):
    assert _build_it(toy) == 0
    v = _victims(tmp_path)
    man_path = toy["out"] / "manifest.json"
    m = json.loads(man_path.read_text())
    gone = {"name": "gone", "page": str(v["txt"]), "key": "x", "status": "ok",
            "figures": [{"id": "pic", "file": str(v["png"]), "caption": "c", "sha256": "0" * 64,
                         "width": 1, "height": 1}]}
    m["recipes"][0]["page"] = "javascript:alert(1)"
    m["recipes"][0]["figures"][0]["file"] = "../precious/pic.png"
    m["recipes"][1]["page"] = "../precious/notes.txt"
    m["recipes"].append(gone)
    m["figures"].append({"file": str(v["png"]), "page": "javascript:alert(2)"})
    man_path.write_text(json.dumps(m))
    before = _snapshot(tmp_path, skip=toy["out"])
    assert _build_it(toy) == 0
    assert _snapshot(tmp_path, skip=toy["out"]) == before  # nothing outside changed
    assert v["txt"].read_text() == "do not touch" and v["png"].read_bytes() == b"not yours"
    for page in toy["out"].rglob("*.html"):
        text = page.read_text()
        assert "javascript:" not in text and "precious" not in text, page
    m2 = json.loads(man_path.read_text())
    assert [r["page"] for r in m2["recipes"]] == ["one/index.html", "two/index.html"]


def test_removed_recipe_cleanup_deletes_only_gallery_files_inside_out(toy, tmp_path):
    assert _build_it(toy) == 0
    # a folder named like a listed recipe, holding something the gallery did not write
    own = toy["out"] / "ghost"
    own.mkdir()
    (own / "keep.txt").write_text("mine")
    (own / "old.png").write_bytes(b"png-ish")
    m = json.loads((toy["out"] / "manifest.json").read_text())
    m["recipes"] += [{"name": "ghost"}, {"name": "../precious"}, {"name": "/etc"}]
    (toy["out"] / "manifest.json").write_text(json.dumps(m))
    v = _victims(tmp_path)
    assert _build_it(toy) == 0
    assert (own / "keep.txt").read_text() == "mine" and not (own / "old.png").exists()
    assert v["txt"].is_file() and v["png"].is_file()


def test_a_planted_link_in_the_gallery_is_refused(toy, tmp_path):
    assert _build_it(toy) == 0
    v = _victims(tmp_path)
    before = _snapshot(v["dir"])
    import shutil

    shutil.rmtree(toy["out"] / "two")
    (toy["out"] / "two").symlink_to(v["dir"], target_is_directory=True)
    src = toy["recipes"] / "two.py"
    src.write_text(src.read_text() + "\n# changed\n")
    with pytest.raises(GalleryError, match="not a folder the gallery wrote"):
        _build_it(toy)
    assert _snapshot(v["dir"]) == before
    (toy["out"] / "two").unlink()
    (toy["out"] / ".vizkit-tmp").symlink_to(v["dir"], target_is_directory=True)
    with pytest.raises(GalleryError, match="scratch folder"):
        _build_it(toy)
    assert _snapshot(v["dir"]) == before


# ----------------------------------------------------------------------------- arguments, names
def test_out_that_is_a_file_is_refused_before_any_recipe_runs(toy, tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(_build, "run_recipe", lambda *a, **k: ran.append(a))
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(GalleryError, match=re.escape(f"`out` must be a folder; {f} is a file")):
        build_gallery(f, recipes_dir=toy["recipes"], cache_dir=toy["cache"], verbose=False)
    assert ran == [] and f.read_text() == "x"


@pytest.mark.parametrize("only, message", [
    ("", "`only` must name recipes among 'one', 'two'. Got '' instead."),
    (" , ", "`only` must name recipes among 'one', 'two'."),
    ([], "`only` must name recipes among 'one', 'two'."),
    ("one,nope", "Got 'nope' instead."),
])
def test_an_empty_or_unknown_selection_is_refused(toy, only, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _build_it(toy, only=only)
    assert not toy["out"].exists()


def test_a_recipe_named_index_has_its_own_page(tmp_path):
    t = _setup(tmp_path, index=_recipe(1, caption="index recipe"), two=_recipe(2))
    assert _build_it(t) == 0
    top = (t["out"] / "index.html").read_text()
    assert "vizkit gallery" in top and 'href="index/index.html"' in top
    assert "index recipe" in (t["out"] / "index" / "index.html").read_text()


# ----------------------------------------------------------------------------- transactions
def test_a_failed_write_leaves_the_recipe_as_it_was(toy, monkeypatch):
    assert _build_it(toy) == 0
    before = _snapshot(toy["out"] / "two")
    src = toy["recipes"] / "two.py"
    src.write_text(_recipe(2, 5.0, "changed caption"))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(_store.Store, "commit", boom)
    with pytest.raises(OSError, match="disk full"):
        _build_it(toy)
    assert _snapshot(toy["out"] / "two") == before  # old PNG, old data, old page together
    monkeypatch.undo()
    assert _build_it(toy) == 0
    after = _snapshot(toy["out"] / "two")
    assert after["bars.png"] != before["bars.png"] and after["bars.npz"] != before["bars.npz"]
    assert "changed caption" in after["index.html"].decode()
    assert not (toy["out"] / ".vizkit-tmp").exists()


def test_an_interrupted_swap_is_undone_on_the_next_build(toy, monkeypatch):
    assert _build_it(toy) == 0
    before = _snapshot(toy["out"] / "two")
    src = toy["recipes"] / "two.py"
    src.write_text(_recipe(2, 7.0, "changed"))
    real = os.replace

    def crash_second(a, b):  # the new figures moved in, then the process dies before the page
        if Path(a).parent.name == "two.new" and Path(a).name == "index.html":
            raise KeyboardInterrupt
        return real(a, b)

    monkeypatch.setattr(_store.os, "replace", crash_second)
    with pytest.raises(KeyboardInterrupt):
        _build_it(toy, only="two")
    monkeypatch.undo()
    after = _snapshot(toy["out"] / "two")  # the old page, and every file it names, are there
    assert after["index.html"] == before["index.html"] and set(before) <= set(after)
    assert _build_it(toy) == 0 and "changed" in (toy["out"] / "two/index.html").read_text()


# ----------------------------------------------------------------------------- fuzzing
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@pytest.fixture(scope="module")
def valid_manifest(tmp_path_factory):
    t = _setup(tmp_path_factory.mktemp("fuzz"), one=_recipe(1), two=_recipe(2))
    assert _build_it(t) == 0
    return (t["out"] / "manifest.json").read_bytes()


def _mutate(raw: bytes, edits: list[tuple[int, int]]) -> bytes:
    b = bytearray(raw)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b)


@given(st.binary(max_size=2000))
def test_manifest_reader_takes_any_bytes(raw):
    assert isinstance(parse_manifest(raw), dict)


@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8))
def test_manifest_reader_takes_mutated_manifests(valid_manifest, edits):
    records = parse_manifest(_mutate(valid_manifest, edits))
    for name, rec in records.items():  # whatever survives still follows the gallery's rules
        assert re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", name) and rec.page == f"{name}/index.html"
        assert all(f.file(name) == f"{name}/{f.id}.png" for f in rec.figures)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
_FIELDS = st.sampled_from(["name", "page", "key", "status", "figures", "id", "file", "caption",
                           "sha256", "width", "height", "data", "tables", "rows", "metrics"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_builds_over_a_fuzzed_manifest_write_only_inside_out(tmp_path, valid_manifest, data):
    case = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    case.mkdir()
    t = _setup(case, one=_recipe(1))
    v = _victims(case)
    m = json.loads(valid_manifest)
    for _ in range(data.draw(st.integers(1, 4))):
        rec = data.draw(st.sampled_from(m["recipes"] + [m]))
        target = rec if not rec.get("figures") or data.draw(st.booleans()) else rec["figures"][0]
        target[data.draw(_FIELDS)] = data.draw(_JSONISH | st.just(str(v["txt"])) | st.just("../precious"))
    t["out"].mkdir()
    (t["out"] / "manifest.json").write_text(json.dumps(m))
    before = _snapshot(case, skip=t["out"])
    try:
        _build_it(t)
    except GalleryError:
        pass
    assert _snapshot(case, skip=t["out"]) == before
    for page in t["out"].rglob("*.html"):
        assert "precious" not in page.read_text()
