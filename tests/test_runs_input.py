"""Careless input and an unkind machine, one table per surface: ``$VIZKIT_THREADS``, an empty
``--out``, top files of the user's own in the gallery folder, a disk that fails while a good
recipe is rebuilt, and machine paths in what a failed build publishes."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from vizkit._runs import OWNER_NAME, env_threads, max_threads
from vizkit.cli import main
from vizkit.gallery import GalleryError, build_gallery

CPUS = os.cpu_count() or 1

QUICK = '''
"""A recipe that only records a number."""


def run(ctx):
    ctx.metric("n", 1)
'''

TRAINS = '''
"""A tiny MLP on 2D data, one figure."""


def run(ctx):
    import matplotlib.pyplot as plt

    split = ctx.data("gmm-2d", K=2, C=2, N=10)
    model, hist, metrics = ctx.train("tiny", "mlp", split, {"epochs": 2, "batch_size": 8},
                                     hidden=(3,))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(hist.series("train_loss"))
    ctx.figure("loss", fig, "the training loss")
'''


def _setup(tmp_path: Path, **recipes: str) -> dict:
    rdir = tmp_path / "recipes"
    rdir.mkdir()
    for name, text in recipes.items():
        (rdir / f"{name}.py").write_text(textwrap.dedent(text))
    return {"recipes": rdir, "out": tmp_path / "gallery", "cache": tmp_path / "cache"}


def _build(t: dict, **kw) -> int:
    kw.setdefault("data", "mnist-5k")
    return build_gallery(t["out"], recipes_dir=t["recipes"], cache_dir=t["cache"], verbose=False,
                         **kw)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


# ----------------------------------------------------------------------------- $VIZKIT_THREADS
@pytest.mark.parametrize("value", ["-3", "0", "abc", "99999", "1.5", str(max_threads() + 1)])
def test_bad_vizkit_threads_is_one_line_and_exit_2(value, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VIZKIT_THREADS", value)
    monkeypatch.chdir(tmp_path)
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 2
    _one_line(capsys, "VIZKIT_THREADS", repr(value), f"from 1 to {4 * CPUS}")
    with pytest.raises(ValueError, match="VIZKIT_THREADS"):  # the gallery's own reading
        build_gallery(tmp_path / "g", recipes_dir=_setup(tmp_path, quick=QUICK)["recipes"])
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize("value, expected", [(None, 5), ("", 5), (" 3 ", 3), ("1", 1),
                                             (str(4 * CPUS), 4 * CPUS)])
def test_good_vizkit_threads(value, expected, monkeypatch):
    if value is None:
        monkeypatch.delenv("VIZKIT_THREADS", raising=False)
    else:
        monkeypatch.setenv("VIZKIT_THREADS", value)
    assert env_threads(5) == expected


# ----------------------------------------------------------------------------- --out ""
@pytest.mark.parametrize("argv", [
    ["gallery", "--out", ""],
    ["gallery", "--out", "  "],
    ["train", "--model", "mlp", "--data", "gmm-2d", "--out", ""],
    ["analyze", "model.pt", "--out", ""],
    ["search", "--out", ""],
])
def test_empty_out_is_refused_before_any_work(argv, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIZKIT_CACHE", str(tmp_path / "cache"))
    assert main(argv) == 2
    _one_line(capsys, "--out is empty")
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


def test_empty_out_is_refused_by_build_gallery(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="`out` is empty"):
        build_gallery("", recipes_dir=_setup(tmp_path, quick=QUICK)["recipes"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipes"]


# ----------------------------------------------------------------------------- top files
def _zip(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


USERS_OWN = [
    ("index.html", b"<html><body>my own home page</body></html>"),
    ("index.html", b""),
    ("manifest.json", b'{"mine": [1, 2, 3]}'),
    ("manifest.json", b"not json at all"),
    ("manifest.json", b'{"format": "vizkit-gallery-not"}'),
    ("recipes.zip", _zip({"notes.txt": b"my notes"})),
    ("recipes.zip", _zip({"recipes/../../x.py": b"x"})),
    ("recipes.zip", b"PK but not a zip"),
]


@pytest.mark.parametrize("name, content", USERS_OWN)
def test_a_top_file_vizkit_did_not_write_is_refused(name, content, tmp_path):
    t = _setup(tmp_path, quick=QUICK)
    t["out"].mkdir()
    (t["out"] / name).write_bytes(content)
    with pytest.raises(GalleryError, match=f"{name} was not written by vizkit gallery"):
        _build(t)
    assert (t["out"] / name).read_bytes() == content
    assert sorted(p.name for p in t["out"].iterdir() if not p.name.startswith(".")) == [name]


@pytest.mark.parametrize("name", ["index.html", "manifest.json", "recipes.zip"])
def test_a_top_file_that_is_a_link_is_refused_even_to_vizkits_own(name, tmp_path):
    t = _setup(tmp_path, quick=QUICK)
    assert _build(t) == 0
    real = tmp_path / f"real-{name}"
    os.replace(t["out"] / name, real)
    (t["out"] / name).symlink_to(real)
    with pytest.raises(GalleryError, match="was not written by vizkit gallery"):
        _build(t)
    assert (t["out"] / name).is_symlink()


def test_the_gallerys_own_top_files_are_rebuilt_over(tmp_path):
    t = _setup(tmp_path, quick=QUICK)
    assert _build(t) == 0
    (t["recipes"] / "quick.py").write_text(textwrap.dedent(QUICK).replace("1)", "2)"))
    assert _build(t) == 0
    manifest = json.loads((t["out"] / "manifest.json").read_text())
    assert manifest["recipes"][0]["metrics"] == {"n": 2}


# ----------------------------------------------------------------------------- the machine fails
def _fail_under(folder: Path, code: int, monkeypatch) -> None:
    """Every atomic replace into ``folder`` fails with OS error ``code``, as on a full disk
    (but for the note naming the run, so that the build gets to the files under test)."""
    real = os.replace
    root = str(folder.resolve())

    def replace(src, dst, *a, **k):
        if str(Path(dst).resolve()).startswith(root + os.sep) and Path(dst).name != OWNER_NAME:
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_the_machine_failing_keeps_the_previous_good_recipe(code, tmp_path, monkeypatch):
    t = _setup(tmp_path, trains=TRAINS, quick=QUICK)
    assert _build(t) == 0
    before = _snapshot(t["out"])
    _fail_under(t["cache"], code, monkeypatch)  # retraining cannot write its checkpoint
    with pytest.raises(OSError, match=os.strerror(code)) as e:
        _build(t, only="trains", retrain=True)
    text = str(e.value)
    assert "trains" in text and "its previous pages were kept" in text and "$VIZKIT_CACHE/" in text
    assert str(tmp_path) not in text and len(text.splitlines()) == 1
    monkeypatch.undo()
    assert _snapshot(t["out"]) == before  # figures, pages, manifest as they were
    assert not (t["out"] / ".vizkit-tmp").exists()


def test_the_machine_failing_on_a_new_recipe_leaves_it_out(tmp_path, monkeypatch):
    t = _setup(tmp_path, trains=TRAINS, quick=QUICK)
    _fail_under(t["cache"], errno.ENOSPC, monkeypatch)
    with pytest.raises(OSError, match="it is left out of the gallery"):
        _build(t)
    manifest = json.loads((t["out"] / "manifest.json").read_text())
    assert [r["name"] for r in manifest["recipes"]] == ["quick"]
    assert not (t["out"] / "trains").exists()


def test_a_recipes_own_os_error_is_its_failure_not_the_machines(tmp_path):
    t = _setup(tmp_path, broken='''
        """Opens a file that is not there."""


        def run(ctx):
            open("/nonexistent-vizkit-folder/file.txt")
        ''')
    assert _build(t) == 1
    (rec,) = json.loads((t["out"] / "manifest.json").read_text())["recipes"]
    assert rec["status"] == "failed" and rec["error_summary"].startswith("FileNotFoundError")


def test_the_machine_failing_is_one_line_and_exit_2_from_the_cli(tmp_path, monkeypatch, capsys):
    t = _setup(tmp_path, trains=TRAINS)
    assert _build(t) == 0
    monkeypatch.setenv("VIZKIT_RECIPES", str(t["recipes"]))
    monkeypatch.setenv("VIZKIT_CACHE", str(t["cache"]))
    monkeypatch.setenv("VIZKIT_THREADS", "1")
    _fail_under(t["cache"], errno.ENOSPC, monkeypatch)
    argv = ["gallery", "--out", str(t["out"]), "--data", "mnist-5k", "--jobs", "1", "--retrain"]
    assert main(argv) == 2
    _one_line(capsys, "No space left on device", "trains", "previous pages were kept")


def test_a_full_disk_while_writing_the_pages_keeps_the_previous_gallery(tmp_path, monkeypatch):
    t = _setup(tmp_path, quick=QUICK)
    assert _build(t) == 0
    before = _snapshot(t["out"])
    (t["recipes"] / "quick.py").write_text(textwrap.dedent(QUICK).replace("1)", "2)"))
    _fail_under(t["out"], errno.ENOSPC, monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        _build(t)
    monkeypatch.undo()
    assert _snapshot(t["out"]) == before


# ----------------------------------------------------------------------------- paths published
LEAKS = '''
"""Fails naming every folder of the machine it can think of."""


def run(ctx):
    import os
    import tempfile

    print("cwd", os.getcwd(), "home", os.path.expanduser("~"), "tmp", tempfile.gettempdir())
    print("cache", ctx._cache, "out", ctx._out)
    raise FileNotFoundError(2, "No such file", os.path.join(ctx._cache, "x", "model.pt"))
'''

NO_DATA = '''
"""Needs MNIST, which is not in the data root."""


def run(ctx):
    ctx.data("mnist")
'''


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_build_publishes_no_path_of_the_machine(jobs, tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    machine_home = os.path.expanduser("~")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("VIZKIT_OFFLINE", "1")
    monkeypatch.setenv("VIZKIT_THREADS", "1")
    monkeypatch.chdir(work)
    t = _setup(tmp_path, leaks=LEAKS, no_data=NO_DATA)
    assert build_gallery(t["out"], recipes_dir=t["recipes"], cache_dir=t["cache"],
                         data_dir=tmp_path / "data", jobs=jobs, verbose=False) == 1
    pages = {p.relative_to(t["out"]).as_posix(): p.read_text(errors="replace")
             for p in t["out"].rglob("*") if p.is_file() and p.suffix in (".html", ".json")}
    manifest = json.loads(pages["manifest.json"])
    recs = {r["name"]: r for r in manifest["recipes"]}
    assert "$VIZKIT_DATA/MNIST/raw" in recs["no_data"]["error"]
    assert "$VIZKIT_CACHE/x/model.pt" in recs["leaks"]["error_summary"]
    assert "home ~ " in recs["leaks"]["output"] and "out <out>" in recs["leaks"]["output"]
    assert "cwd . " in recs["leaks"]["output"]
    for rel, text in pages.items():
        for path in {str(tmp_path), machine_home, str(work), tempfile.gettempdir() + os.sep}:
            assert path not in text, (rel, path)
