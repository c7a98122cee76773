"""Interrupted and concurrent runs: every named file exists at every instant of a rebuild, what a
killed build left is removed, workers die with their parent, SIGTERM cleans up, and two runs
into one folder neither mix nor lose an update (real processes and signals where it matters)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from vizkit._runs import LOCK_NAME, OWNER_NAME, run_lock
from vizkit.cli import main
from vizkit.gallery import build_gallery

ROOT = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process states are read from /proc")


def _figure_recipe(figures: dict[str, str]) -> str:
    """A recipe drawing one small figure (with data) per id, captioned as given."""
    return textwrap.dedent(f'''
        """Figures {sorted(figures)}."""


        def run(ctx):
            import matplotlib.pyplot as plt

            for fid, caption in {figures!r}.items():
                fig, ax = plt.subplots(figsize=(2, 1.5))
                ax.plot([0, 1], [0, len(caption)])
                ctx.figure(fid, fig, caption, data={{"y": [0, len(caption)]}})
        ''')


SLEEPER = '''
"""Says it started (its pid in $RUNS_MARKS/<name>), then waits for the file $RUNS_GO (at most
120 s)."""
import os
import time
from pathlib import Path


def run(ctx):
    Path(os.environ["RUNS_MARKS"], ctx.name).write_text(str(os.getpid()))
    go, deadline = os.environ.get("RUNS_GO", ""), time.monotonic() + 120
    while time.monotonic() < deadline and not (go and os.path.exists(go)):
        time.sleep(0.1)
    ctx.metric("slept", 1)
'''

QUICK = '''
"""Records a number."""


def run(ctx):
    ctx.metric("n", 1)
'''


def _write(folder: Path, **recipes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in recipes.items():
        (folder / f"{name}.py").write_text(text)
    return folder


def _build(tmp_path: Path, **kw) -> int:
    return build_gallery(tmp_path / "gallery", recipes_dir=tmp_path / "recipes",
                         cache_dir=tmp_path / "cache", data="mnist-5k", verbose=False, **kw)


# ----------------------------------------------------------------------------- every instant
def _missing(out: Path) -> list[str]:
    """Files that the manifest or a page on disk names and that do not exist."""
    named: list[tuple[str, Path]] = []
    man = out / "manifest.json"
    if man.is_file():
        m = json.loads(man.read_text())
        for r in m["recipes"]:
            named.append(("manifest", out / r["page"]))
            for f in r["figures"]:
                named += [("manifest", out / f["file"])] + (
                    [("manifest", out / f["data_file"])] if f.get("data_file") else [])
    for page in [out / "index.html", *out.glob("*/index.html")]:
        if not page.is_file():
            continue
        for link in re.findall(r'(?:href|src)="([^"]*)"', page.read_text()):
            link = html.unescape(link).split("#")[0]
            if link and ":" not in link and not link.startswith("//"):
                named.append((page.relative_to(out).as_posix(), page.parent / unquote(link)))
    return [f"{who} -> {p.relative_to(out) if out in p.parents else p}"
            for who, p in named if not p.exists()]


def test_every_file_the_manifest_and_pages_name_exists_at_every_instant_of_a_rebuild(
        tmp_path, monkeypatch):
    _write(tmp_path / "recipes", changes=_figure_recipe({"a": "one", "b": "two", "c": "three"}),
           fades=_figure_recipe({"only": "the one figure"}), goes=_figure_recipe({"g": "gone"}),
           stays=_figure_recipe({"s": "same"}))
    assert _build(tmp_path) == 0
    out = tmp_path / "gallery"
    assert _missing(out) == [] and (out / "fades/thumbnail.jpg").is_file()
    # figures removed, changed and added; a recipe left with no figure; a recipe removed
    _write(tmp_path / "recipes", changes=_figure_recipe({"b": "two, changed", "d": "four"}),
           fades=_figure_recipe({}))
    (tmp_path / "recipes/goes.py").unlink()

    seen, steps = [], [0]

    def checked(fn):
        def call(*a, **k):
            result = fn(*a, **k)
            steps[0] += 1
            seen.extend(f"after {fn.__name__}{a[:2]}: {m}" for m in _missing(out))
            return result
        return call

    for name in ("replace", "rename", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, checked(getattr(os, name)))
    monkeypatch.setattr(shutil, "rmtree", checked(shutil.rmtree))
    assert _build(tmp_path) == 0
    monkeypatch.undo()
    assert steps[0] > 10 and seen == []
    m = json.loads((out / "manifest.json").read_text())
    assert {r["name"]: [f["id"] for f in r["figures"]] for r in m["recipes"]} == {
        "changes": ["b", "d"], "fades": [], "stays": ["s"]}
    assert sorted(p.name for p in (out / "changes").iterdir()) == [
        "b.npz", "b.png", "changes.ipynb", "changes.py", "d.npz", "d.png", "index.html",
        "thumbnail.jpg"]
    assert not (out / "fades/thumbnail.jpg").exists() and not (out / "goes").exists()


def test_a_build_killed_while_moving_files_in_is_made_whole_by_the_next(tmp_path, monkeypatch):
    _write(tmp_path / "recipes", changes=_figure_recipe({"a": "one", "b": "two"}))
    assert _build(tmp_path) == 0
    out = tmp_path / "gallery"
    _write(tmp_path / "recipes", changes=_figure_recipe({"b": "two, changed", "c": "three"}))
    real, moved = os.replace, []

    def dies_after_the_first_figure(src, dst, *a, **k):
        if Path(src).parent.name == "changes.new" and moved:
            raise KeyboardInterrupt  # what kill -9 leaves, without a process to kill
        real(src, dst, *a, **k)
        moved.append(dst)

    monkeypatch.setattr(os, "replace", dies_after_the_first_figure)
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path)
    monkeypatch.undo()
    assert _missing(out) == [] and not (out / ".vizkit-tmp").exists()
    assert _build(tmp_path) == 0  # the moved figure's bytes differ from the manifest's: re-run
    m = json.loads((out / "manifest.json").read_text())
    assert [f["id"] for f in m["recipes"][0]["figures"]] == ["b", "c"]
    assert not (out / "changes/a.png").exists() and _missing(out) == []


# ----------------------------------------------------------------------------- leftovers
def test_what_an_interrupted_build_left_is_removed_and_nothing_else(tmp_path):
    _write(tmp_path / "recipes", quick=QUICK, figs=_figure_recipe({"a": "one"}))
    assert _build(tmp_path) == 0
    out = tmp_path / "gallery"
    left = []
    for folder, name in [(out, "index.html"), (out, "manifest.json"), (out, "recipes.zip"),
                         (out / "figs", "index.html"), (out, OWNER_NAME)]:
        fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)  # as killed
        os.close(fd)
        left.append(Path(path))
    (out / ".vizkit-tmp/figs.new").mkdir(parents=True)
    (out / ".vizkit-tmp/figs.new/a.png").write_bytes(b"half")
    users = [out / ".index.html.mine.tmp", out / ".notes.tmp", out / "notes.txt"]
    for p in users:
        p.write_text("mine")
    assert _build(tmp_path) == 0
    assert [p for p in left if os.path.lexists(p)] == [] and not (out / ".vizkit-tmp").exists()
    assert all(p.read_text() == "mine" for p in users)


# ----------------------------------------------------------------------------- two runs at once
def test_a_second_train_into_a_folder_in_use_exits_2_naming_the_first(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.setenv("VIZKIT_THREADS", "1")
    out = tmp_path / "run"
    out.mkdir()
    argv = ["train", "--model", "mlp", "--data", "gmm-2d", "--out", str(out), "--log-every", "0",
            "epochs=1", "progress=false"]
    with run_lock(out, "vizkit train", wait=False):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"in use by vizkit train (pid {os.getpid()}, started 20" in err
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, OWNER_NAME]
    assert main(argv) == 0  # free again: trains, and says no more who held it
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "metrics.json", "model.pt"]


def _env(tmp_path: Path, **extra: str) -> dict:
    (tmp_path / "marks").mkdir(exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT), "VIZKIT_RECIPES": str(tmp_path / "recipes"),
            "VIZKIT_CACHE": str(tmp_path / "cache"), "VIZKIT_THREADS": "1", "MPLBACKEND": "Agg",
            "VIZKIT_OFFLINE": "1", "TMPDIR": str(tmp_path / "tmp"),
            "RUNS_MARKS": str(tmp_path / "marks"), **extra}


def _gallery(tmp_path: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vizkit", "gallery", "--out",
                             str(tmp_path / "gallery"), "--data", "mnist-5k", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _marks(tmp_path: Path, n: int, proc: subprocess.Popen, wait: float = 180) -> list[int]:
    """The pids of the first ``n`` recipes that started (waiting for them)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = sorted((tmp_path / "marks").iterdir())
        if len(found) >= n and all(p.read_text() for p in found):
            return [int(p.read_text()) for p in found]
        if proc.poll() is not None:
            pytest.fail(f"the build ended before its recipes started: {proc.communicate()}")
        time.sleep(0.2)
    pytest.fail("the recipes did not start")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def _stop(proc: subprocess.Popen, pids: list[int] = ()) -> None:
    """Kill what this test started and is still there."""
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


@linux_only
@pytest.mark.parametrize("first, second", [("sleeper", "quick"), ("sleeper", "sleeper")])
def test_two_builds_into_one_out_take_turns_and_both_land(first, second, tmp_path):
    _write(tmp_path / "recipes", sleeper=SLEEPER, quick=QUICK)
    go = tmp_path / "go"
    env = _env(tmp_path, RUNS_GO=str(go))
    a = _gallery(tmp_path, env, "--only", first, "--jobs", "1")
    b = None
    try:
        _marks(tmp_path, 1, a)  # the first holds the folder, its recipe waiting for "go"
        b = _gallery(tmp_path, env, "--only", second, "--jobs", "1")
        said = b.stderr.readline()  # the second says whom it waits for (or ends: a bug)
        go.touch()
        out_b, err_b = b.communicate(timeout=300)
        out_a, err_a = a.communicate(timeout=300)
    finally:
        go.touch()
        _stop(a)
        if b is not None:
            _stop(b)
    assert a.returncode == 0 and b.returncode == 0, (err_a, said + err_b)
    assert f"is in use by vizkit gallery (pid {a.pid}, started 20" in said
    gallery = tmp_path / "gallery"
    m = json.loads((gallery / "manifest.json").read_text())
    names = sorted({first, second})
    assert sorted(r["name"] for r in m["recipes"]) == names
    assert all(r["status"] == "ok" for r in m["recipes"])
    index = (gallery / "index.html").read_text()
    assert all(f'href="{n}/index.html"' in index for n in names)
    if first == second:
        assert "1 kept" in out_b and "0 run" in out_b  # it waited, then found it built
    assert sorted(p.name for p in gallery.iterdir() if p.name.startswith(".")) == [LOCK_NAME]


# ----------------------------------------------------------------------------- signals
@linux_only
def test_workers_stop_when_their_parent_is_killed(tmp_path):
    _write(tmp_path / "recipes", sleeper=SLEEPER, sleeper_two=SLEEPER)
    proc = _gallery(tmp_path, _env(tmp_path), "--jobs", "2")
    pids = []
    try:
        pids = _marks(tmp_path, 2, proc)
        assert all(map(_alive, pids)) and proc.pid not in pids
        os.kill(proc.pid, signal.SIGKILL)
        assert _gone_within(pids, 15) == []
    finally:
        _stop(proc, pids)


@linux_only
def test_the_watchdog_stops_a_worker_when_prctl_is_not_there(tmp_path):
    child = ("import sys, time; sys.platform = 'elsewhere'; "  # no prctl: the watchdog alone
             "from vizkit.gallery._worker import die_with_parent; "
             "die_with_parent(int(sys.argv[1])); print('ready', flush=True); time.sleep(120)")
    parent = ("import subprocess, sys, os, time; "
              f"p = subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())]); "
              "print(p.pid, flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    pid = 0
    try:
        pid = int(proc.stdout.readline())
        assert proc.stdout.readline().strip() == "ready" and _alive(pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _gone_within([pid], 60) == []
    finally:
        _stop(proc, [pid] if pid else [])


@linux_only
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_ends_the_build_cleanly(jobs, tmp_path):
    _write(tmp_path / "recipes", sleeper=SLEEPER, sleeper_two=SLEEPER)
    proc = _gallery(tmp_path, _env(tmp_path), "--jobs", jobs)
    pids = []
    try:
        pids = _marks(tmp_path, int(jobs), proc)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        _stop(proc, pids)
    assert proc.returncode == 2 and err.strip().splitlines()[-1] == "vizkit gallery: terminated"
    assert _gone_within(pids, 15) == []
    assert list((tmp_path / "tmp").iterdir()) == []  # no vizkit-gallery-* left in $TMPDIR
    gallery = tmp_path / "gallery"
    assert sorted(p.name for p in gallery.iterdir()) == [LOCK_NAME]  # no scratch, no owner
