"""Build the gallery: find recipes, run them (or reuse what is up to date), write HTML + manifest."""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import time
import zipfile
from functools import partial
from pathlib import Path
from typing import Sequence

from .._io import default_cache_dir, sha256, stable_hash, write_if_changed
from .._runs import env_threads, run_lock
from ._cache import sweep_stale_temporaries
from ._context import DataChoice, load_data
from ._html import render_index, render_page
from ._record import MANIFEST_FORMAT, MANIFEST_VERSION, RecipeRecord, parse_manifest, removed_names
from ._downloads import choose_thumbnail, notebook_bytes, recipes_zip, thumbnail_bytes
from ._runner import (Workers, docstring, failed_record, library_hash, module_constant,
                      provenance, run_in_subprocess, run_recipe)
from ._store import RECIPE_NAME, TOP_FILES, GalleryError, Store

__all__ = ["build_gallery", "list_recipes", "run_recipe_main", "default_recipes_dir", "default_jobs",
           "default_cache_dir", "MANIFEST_FORMAT", "GalleryError"]

_MAX_MANIFEST = 64 << 20
#: What the gallery's own ``index.html`` says near its top.
_GENERATOR = b'<meta name="generator" content="vizkit gallery">'
_ZIP_MEMBER = re.compile(r"^recipes/[a-z0-9][a-z0-9_]*\.py$")


# ---------------------------------------------------------------------------- locations
def default_recipes_dir() -> Path:
    """``$VIZKIT_RECIPES``, else the ``recipes/`` folder beside the ``vizkit`` package (a
    source checkout), else ``./recipes``.

    The folder is only named here; :func:`list_recipes` says when it does not exist.

    Returns
    -------
    pathlib.Path
        The recipes folder (``~`` expanded).

    Examples
    --------
    >>> import os
    >>> os.environ["VIZKIT_RECIPES"] = "~/my-recipes"
    >>> default_recipes_dir() == Path.home() / "my-recipes"
    True
    >>> del os.environ["VIZKIT_RECIPES"]
    >>> default_recipes_dir().name
    'recipes'
    """
    env = os.environ.get("VIZKIT_RECIPES")
    if env:
        return Path(env).expanduser()
    beside = Path(__file__).resolve().parents[2] / "recipes"
    return beside if beside.is_dir() else Path("recipes")


def _discover(recipes_dir: Path) -> dict[str, Path]:
    if not recipes_dir.is_dir():
        raise FileNotFoundError(f"no recipes folder at {recipes_dir}: run from a vizkit source "
                                "checkout or set $VIZKIT_RECIPES.")
    found = []
    for p in sorted(recipes_dir.glob("*.py")):
        if p.stem.startswith("_"):
            continue
        if not RECIPE_NAME.match(p.stem):
            print(f"[gallery] skipping {p.name}: a recipe name is lower-case letters, digits and "
                  "'_'", file=sys.stderr)
            continue
        order = module_constant(p.read_text(encoding="utf-8"), "ORDER", int, 100)
        found.append((order, p.stem, p))
    return {name: p for _, name, p in sorted(found)}


def list_recipes(recipes_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the gallery's recipes, in the order the gallery shows them.

    A recipe is a file ``<name>.py`` of the folder, its name lower-case letters, digits and
    ``_`` (a file starting with ``_`` is a helper, not a recipe; another name is skipped with a
    warning on stderr). They are ordered by their module constant ``ORDER`` (default 100), read
    without running the file, then by name.

    Parameters
    ----------
    recipes_dir : str or os.PathLike, optional
        The recipes folder; by default :func:`default_recipes_dir`.

    Returns
    -------
    list of str
        Recipe names (file stems).

    Raises
    ------
    FileNotFoundError
        There is no such folder.

    Examples
    --------
    >>> from pathlib import Path
    >>> folder = Path("my-recipes")
    >>> folder.mkdir()
    >>> _ = (folder / "weights.py").write_text("ORDER = 20")
    >>> _ = (folder / "embedding.py").write_text("ORDER = 10")
    >>> _ = (folder / "_shared.py").write_text("")
    >>> list_recipes(folder)
    ['embedding', 'weights']
    """
    return list(_discover(Path(recipes_dir) if recipes_dir else default_recipes_dir()))


# ---------------------------------------------------------------------------- the previous build
def _read_previous(store: Store) -> bytes:
    """The bytes of ``OUT/manifest.json`` (b'' when absent, a link, or unreasonably large)."""
    path = store.top("manifest.json")
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_MANIFEST:
            return b""
        return path.read_bytes()
    except OSError:
        return b""


def _is_ours(name: str, path: Path, manifest: bytes) -> bool:
    """Did vizkit gallery write ``OUT/<name>`` (one of :data:`TOP_FILES`)? A link is not ours."""
    if path.is_symlink() or not path.is_file():
        return False
    if name == "manifest.json":
        try:
            m = json.loads(manifest.decode("utf-8"))
        except (ValueError, RecursionError):
            return False
        return isinstance(m, dict) and m.get("format") == MANIFEST_FORMAT
    try:
        if name == "index.html":
            with open(path, "rb") as f:
                return _GENERATOR in f.read(4096)
        with zipfile.ZipFile(path) as zf:
            return all(_ZIP_MEMBER.match(n) for n in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _check_top_files(store: Store, manifest: bytes) -> None:
    """Refuse to overwrite a top file of ``--out`` that vizkit did not write (the user's own
    ``index.html``, say), as recipe folders that vizkit did not write are refused."""
    for name in TOP_FILES:
        path = store.top(name)
        if os.path.lexists(path) and not _is_ours(name, path, manifest):
            raise GalleryError(f"{path} was not written by vizkit gallery; move it away or "
                               "choose another --out.")


def _up_to_date(prev: RecipeRecord | None, key: str, store: Store, data: DataChoice) -> bool:
    """A previous record can be reused: same recipe key, built fine, files intact, same data."""
    if prev is None or prev.key != key or prev.status != "ok":
        return False
    folder = store.recipe_dir(prev.name)
    if not (folder / "index.html").is_file():
        return False
    for f in prev.figures:
        try:
            if sha256((folder / f.name).read_bytes()) != f.sha256:
                return False
        except OSError:
            return False
        if f.data and not (folder / f"{f.id}.npz").is_file():
            return False
    for a in prev.assets:  # a recipe's own pages, as intact as its figures
        try:
            if sha256((folder / a["file"]).read_bytes()) != a.get("sha256"):
                return False
        except OSError:
            return False
    for d in prev.data:
        name = data.name if d.get("request") == "default" else d.get("request")
        try:
            split = load_data(str(name), root=data.root, seed=d.get("seed", 0),
                              **(d.get("options") or {}))
        except Exception:  # noqa: BLE001 - the data went away: run the recipe, which will say why
            return False
        if split.name != d.get("name") or split.fingerprint != d.get("fingerprint"):
            return False
    return True


# ---------------------------------------------------------------------------- build
def _select(recipes: dict[str, Path], only) -> list[str]:
    if only is None:
        return list(recipes)
    names = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    unknown = [n for n in names if n not in recipes]
    if unknown or not names:
        raise ValueError(f"`only` must name recipes among {', '.join(map(repr, recipes))}. "
                         f"Got {', '.join(map(repr, unknown)) if unknown else repr('')} instead.")
    return [n for n in recipes if n in names]


def recipe_threads() -> int:
    """Torch threads per recipe process: ``$VIZKIT_THREADS``, else 1 (a ValueError when it is
    not an integer from 1 to 4 per CPU: :func:`vizkit._runs.env_threads`).

    The gallery's models are small: a second intra-op thread mostly adds its start-up to every
    tiny op (measured on 2 cores: the lab's 10x10 nets 20x slower, the RBF net 1.8x, the CNN no
    faster), and float rounding then depends on the thread count. One thread per recipe gives
    the same bytes whatever ``--jobs`` is; use ``--jobs`` to run recipes side by side.
    """
    return env_threads(1)


def default_jobs() -> int:
    """Recipes run side by side by ``vizkit gallery``: one per CPU, at most 4.

    Each recipe runs on one torch thread (:func:`recipe_threads`), so a second CPU is only used
    by a second recipe; at most 4 keeps memory in bounds (a recipe on full-size data holds up to
    2 GB). The figures are the same bytes whatever the count.

    Returns
    -------
    int
        ``min(4, os.cpu_count())``, at least 1.

    Examples
    --------
    >>> default_jobs() == max(1, min(4, os.cpu_count() or 1))
    True
    """
    return max(1, min(4, os.cpu_count() or 1))


def _run_tasks(tasks: list[dict], choice: DataChoice, jobs: int,
               threads: int) -> tuple[dict[str, RecipeRecord], dict[str, str]]:
    """Run the recipes (in this process, or ``jobs`` processes at once), each with ``threads``
    torch threads. Returns their records, and apart from them the recipes that the machine
    stopped (a full or read-only disk), with what it said."""
    for t in tasks:
        t["threads"] = threads
    if tasks and jobs > 1 and len(tasks) > 1:
        resolved = choice.name  # probe once here, not in every worker
        from concurrent.futures import ThreadPoolExecutor

        for t in tasks:
            t["data"] = resolved
        workers = Workers()
        with ThreadPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            try:
                results = list(pool.map(partial(run_in_subprocess, workers=workers), tasks))
            except BaseException:  # Ctrl-C, SIGTERM: no recipe goes on without us
                workers.stop()
                raise
    else:
        results = [run_recipe(t, choice) for t in tasks]
    records, machine = {}, {}
    for t, res in zip(tasks, results):
        if "environment" in res:
            machine[t["name"]] = str(res["environment"])
            continue
        try:
            records[t["name"]] = RecipeRecord.from_dict(res)
        except GalleryError as e:
            records[t["name"]] = RecipeRecord.from_dict(failed_record(t, f"bad record: {e}"))
    return records, machine


def _plan(selected, recipes, prev, store, choice, *, cache, data, data_dir, seed, retrain,
          verbose) -> tuple[list[dict], dict[str, RecipeRecord]]:
    """Which recipes run (tasks, each with its staging folder) and which records are kept."""
    lib = library_hash()
    kept, tasks = {}, []
    for name in selected:
        path = recipes[name]
        key = stable_hash({"recipe": sha256(path.read_bytes()), "library": lib, "seed": seed})
        if not retrain and _up_to_date(prev.get(name), key, store, choice):
            kept[name] = prev[name]
            if verbose:
                print(f"[gallery] {name}: up to date", flush=True)
            continue
        tasks.append({"name": name, "path": str(path), "stage": str(store.stage(name)),
                      "out": str(store.out), "cache": str(cache), "data": data,
                      "data_root": None if data_dir is None else str(data_dir), "seed": seed,
                      "retrain": retrain, "key": key, "verbose": verbose})
    return tasks, kept


def _own_files(rec: RecipeRecord) -> set[str]:
    """The files of the recipe's folder that its record names: page, figures, data, downloads
    and thumbnail."""
    return ({"index.html", f"{rec.name}.py", f"{rec.name}.ipynb"} | {f.name for f in rec.figures}
            | {f"{f.id}.npz" for f in rec.figures if f.data}
            | {a["file"] for a in getattr(rec, "assets", ())}  # pages of its own, where recorded
            | ({"thumbnail.jpg"} if choose_thumbnail(rec.figures) is not None else set()))


def _write_recipe(store: Store, rec: RecipeRecord, source: str, stage: Path | None,
                  nav: dict, footer: str) -> None:
    """The recipe's page (and, for a recipe that ran, its folder's new files: figures, data,
    downloads, thumbnail and page, moved in by :meth:`Store.commit`)."""
    folder = stage if stage is not None else store.recipe_dir(rec.name)
    page = render_page(rec, source=source, folder=folder, footer=footer, **nav).encode()
    if stage is None:  # kept: only the page can change (its neighbours, the footer)
        write_if_changed(folder / "index.html", page)
        return
    expected = _own_files(rec)
    for p in list(stage.iterdir()):
        if p.name not in expected:
            p.unlink()
    write_if_changed(stage / f"{rec.name}.py", source.encode())
    write_if_changed(stage / f"{rec.name}.ipynb", notebook_bytes(rec.name, source))
    thumb = choose_thumbnail(rec.figures)
    if thumb is not None:  # an animation's thumbnail is its first frame
        name = next(f.name for f in rec.figures if f.id == thumb)
        write_if_changed(stage / "thumbnail.jpg", thumbnail_bytes((stage / name).read_bytes()))
    write_if_changed(stage / "index.html", page)
    store.commit(rec.name, stage)


def _manifest(ordered: list[RecipeRecord], seed: int) -> bytes:
    from .. import __version__

    manifest = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
                "vizkit": __version__, "seed": seed, "provenance": provenance(),
                "figures": [{"id": f.id, "file": f.file(r.name), "recipe": r.name,
                             "caption": f.caption, "page": f"{r.page}#fig-{f.id}",
                             "sha256": f.sha256, "metrics": r.metrics}
                            for r in ordered for f in r.figures],
                "recipes": [r.to_dict() for r in ordered]}
    return (json.dumps(manifest, indent=1, allow_nan=False) + "\n").encode()


def _finish(store: Store, ordered: list[RecipeRecord], stages: dict[str, Path], raw_prev: bytes,
            recipes: dict[str, Path], seed: int) -> None:
    from .. import __version__

    footer = f"vizkit {__version__} · seed {seed} · built by vizkit gallery"
    for i, rec in enumerate(ordered):
        nav = {"prev": ordered[i - 1].name if i > 0 else None,
               "next": ordered[i + 1].name if i + 1 < len(ordered) else None}
        source = recipes[rec.name].read_text(encoding="utf-8")
        _write_recipe(store, rec, source, stages.get(rec.name), nav, footer)
    thumbs = {r.name for r in ordered if r.figures}
    write_if_changed(store.top("index.html"),
                     render_index(ordered, thumbs=thumbs, footer=footer).encode())
    write_if_changed(store.top("recipes.zip"), recipes_zip(list(recipes.values())))
    write_if_changed(store.top("manifest.json"), _manifest(ordered, seed))
    for rec in ordered:  # what no page and no manifest names any more
        store.prune(rec.name, _own_files(rec))
    for name in sorted(recipes):
        store.remove_legacy_page(name)
    for name in removed_names(raw_prev):
        if name not in recipes:
            store.remove_recipe(name)
    store.cleanup()


def build_gallery(out: str | os.PathLike = "gallery", *, data: str | None = None,
                  data_dir: str | os.PathLike | None = None,
                  only: str | Sequence[str] | None = None, retrain: bool = False, jobs: int | None = 1,
                  cache_dir: str | os.PathLike | None = None,
                  recipes_dir: str | os.PathLike | None = None, seed: int = 0,
                  verbose: bool = True) -> int:
    """Run the recipes and write a static gallery: ``index.html``, a folder per recipe (page,
    figures, data, downloads) and ``manifest.json``.

    Parameters
    ----------
    out : path, default='gallery'
        Must be a folder (checked before any recipe runs). Everything the gallery writes or
        deletes lies inside it, named by the gallery's own rules; no path is read from an
        existing ``manifest.json``.
    data : str, optional
        Data for the MNIST recipes (a :func:`vizkit.data.load` name); default
        :func:`vizkit.data.default_source` (``'mnist'`` when present, else ``'mnist-5k'``).
    data_dir : path, optional
        Data root for ``'mnist'`` / ``'fashion-mnist'``.
    only : str or list of str, optional
        Recipe names (a comma-separated string works too; an empty selection is an error);
        the other recipes keep what an earlier build wrote.
    retrain : bool, default=False
        Ignore cached checkpoints and up-to-date figures: train and draw everything again.
    jobs : int or None, default=1
        Recipes run in that many processes at once (None: :func:`default_jobs`, what
        ``vizkit gallery`` uses). Recipes that need the same cached model take turns: it is
        trained once.
    cache_dir : path, optional
        Trained models, by key; default :func:`default_cache_dir`.
    recipes_dir : path, optional
        Default :func:`default_recipes_dir`.
    seed : int, default=0
    verbose : bool, default=True
        Print one line per recipe (and per model trained or loaded).

    Returns
    -------
    int
        0 when every recipe run built, 1 when any failed (its page shows the error).

    Raises
    ------
    OSError
        When the machine stopped a recipe (a full, read-only or forbidden disk: not the
        recipe's own error), after the others were written; that recipe keeps the pages of
        the previous build.
    GalleryError
        When ``out`` cannot be used: a file, not writable, or holding files vizkit did not
        write (an ``index.html`` of your own, say).

    Notes
    -----
    One build at a time per ``out``: a second waits for the first (saying so on stderr), then
    starts from what the first wrote. A recipe whose source, vizkit's code, seed and data are
    unchanged since the last build, and whose figures are intact, is not run again; unchanged
    files are never rewritten. Each recipe that runs is built in a scratch folder and moved in;
    at every instant each file that the manifest and the pages name exists, and what an
    interrupted build left is cleaned up by the next one.

    Examples
    --------
    >>> build_gallery("gallery", only="gmm_decision_surfaces")  # doctest: +SKIP
    0
    """
    if jobs is None:
        jobs = default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1 or None (one per CPU, at most 4). "
                         f"Got {jobs!r} instead.")
    if not str(os.fspath(out)).strip():
        raise ValueError("`out` is empty (an unset shell variable?); give the gallery folder, "
                         "e.g. --out gallery.")
    threads = recipe_threads()
    recipes = _discover(Path(recipes_dir) if recipes_dir is not None else default_recipes_dir())
    selected = _select(recipes, only)
    store = Store(out)
    with run_lock(store.out, "vizkit gallery", wait=True):
        try:
            status, machine = _build(store, recipes, selected, data=data, data_dir=data_dir,
                                     retrain=retrain, jobs=jobs, threads=threads,
                                     cache_dir=cache_dir, seed=seed, verbose=verbose)
        finally:
            store.cleanup()
    if machine:
        raise OSError(errno.EIO, "the machine stopped " + "; ".join(
            f"{name} ({said})" for name, said in machine.items()) + ". Free space or fix the "
            "permissions and build again.")
    return status


def _build(store: Store, recipes: dict[str, Path], selected: list[str], *, data, data_dir,
           retrain: bool, jobs: int, threads: int, cache_dir, seed: int,
           verbose: bool) -> tuple[int, dict[str, str]]:
    """:func:`build_gallery` once it owns ``store``: (status, the recipes the machine stopped)."""
    store.recover()
    raw_prev = _read_previous(store)
    _check_top_files(store, raw_prev)
    prev = {n: r for n, r in parse_manifest(raw_prev).items() if n in recipes}
    choice = DataChoice(data, data_dir)
    t0 = time.perf_counter()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sweep_stale_temporaries(cache)  # what a run killed while writing a checkpoint left
    tasks, kept = _plan(selected, recipes, prev, store, choice, cache=cache,
                        data=data, data_dir=data_dir, seed=seed, retrain=retrain, verbose=verbose)
    ran, machine = _run_tasks(tasks, choice, jobs, threads)
    machine = {name: f"{said}; " + ("its previous pages were kept" if name in prev
                                    else "it is left out of the gallery")
               for name, said in machine.items()}
    for name, rec in ran.items():  # the same failure again: keep the page as it was
        old = prev.get(name)
        if rec.status == "failed" and old and old.status == "failed" and old.key == rec.key \
                and old.error == rec.error:
            rec.seconds = old.seconds
    records = {**prev, **kept, **ran}  # a recipe the machine stopped keeps its previous record
    ordered = [records[n] for n in recipes if n in records]
    _finish(store, ordered, {t["name"]: Path(t["stage"]) for t in tasks if t["name"] in ran},
            raw_prev, recipes, seed)
    failed = [n for n, r in ran.items() if r.status != "ok"] + list(machine)
    if verbose:
        print(f"[gallery] {len(ran)} run, {len(ordered) - len(ran)} kept, {len(failed)} failed"
              + (f" ({', '.join(failed)})" if failed else "")
              + f"; {time.perf_counter() - t0:.1f} s; open {store.top('index.html')}", flush=True)
    return (1 if failed else 0), machine


# ---------------------------------------------------------------------------- one recipe
def run_recipe_main(file: str | os.PathLike, argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python recipes/NAME.py``: build just that recipe into ``gallery/``.

    Exits with :func:`build_gallery`'s status. The command's description is the first paragraph
    of the recipe's docstring; its options are ``--out``, ``--data``, ``--data-dir`` and
    ``--retrain`` (as ``vizkit gallery``).

    Parameters
    ----------
    file : str or os.PathLike
        The recipe file (a recipe passes its ``__file__``); its folder is the recipes folder.
    argv : sequence of str, optional
        The command's arguments; by default ``sys.argv[1:]``.

    Raises
    ------
    SystemExit
        Always: with :func:`build_gallery`'s exit status, or argparse's for ``--help`` and bad
        options.

    Examples
    --------
    A recipe ends with::

        if __name__ == "__main__":
            from vizkit.gallery import run_recipe_main

            run_recipe_main(__file__)

    Its command line, here asked only for its help:

    >>> import contextlib, io
    >>> from pathlib import Path
    >>> _ = Path("hello.py").write_text("'Draw nothing, as a demonstration.'")
    >>> shown = io.StringIO()
    >>> with contextlib.redirect_stdout(shown):
    ...     try:
    ...         run_recipe_main("hello.py", ["--help"])
    ...     except SystemExit as e:
    ...         print("exit status", e.code)
    >>> print(shown.getvalue())
    usage: python recipes/hello.py [-h] [--out OUT] ...
    <BLANKLINE>
    Draw nothing, as a demonstration.
    ...
    exit status 0
    <BLANKLINE>
    """
    path = Path(file).resolve()
    p = argparse.ArgumentParser(prog=f"python recipes/{path.name}",
                                description=docstring(path.read_text(encoding="utf-8")).split("\n\n")[0])
    p.add_argument("--out", default="gallery", help="gallery folder (default: gallery)")
    p.add_argument("--data", default=None, help="data for MNIST recipes (default: mnist or mnist-5k)")
    p.add_argument("--data-dir", default=None, help="data root for mnist / fashion-mnist")
    p.add_argument("--retrain", action="store_true", help="ignore cached models")
    args = p.parse_args(argv)
    sys.exit(build_gallery(args.out, data=args.data, data_dir=args.data_dir, only=[path.stem],
                           retrain=args.retrain, recipes_dir=path.parent))
