"""Build the gallery: find recipes, run them (or reuse what is up to date), write HTML + manifest."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable, Sequence

from ._context import DataChoice, RecipeContext, load_data
from .._io import SAFE_NAME, default_cache_dir, sha256, stable_hash, write_if_changed
from ._html import render_index, render_page

__all__ = ["build_gallery", "list_recipes", "run_recipe_main", "default_recipes_dir",
           "default_cache_dir", "MANIFEST_FORMAT"]

MANIFEST_FORMAT = "vizkit-gallery"
MANIFEST_VERSION = 1
_RECIPE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_ORDER = re.compile(r"^ORDER\s*=\s*(-?\d+)\s*$", re.M)


# ---------------------------------------------------------------------------- locations
def default_recipes_dir() -> Path:
    """``$VIZKIT_RECIPES``, else the ``recipes/`` folder beside the ``vizkit`` package (a
    source checkout), else ``./recipes``."""
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
        if not _RECIPE_NAME.match(p.stem):
            print(f"[gallery] skipping {p.name}: a recipe name is lower-case letters, digits and "
                  "'_'", file=sys.stderr)
            continue
        m = _ORDER.search(p.read_text(encoding="utf-8"))
        found.append((int(m.group(1)) if m else 100, p.stem, p))
    return {name: p for _, name, p in sorted(found)}


def list_recipes(recipes_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the gallery's recipes, in the order the gallery shows them.

    Examples
    --------
    >>> "gmm_decision_surfaces" in list_recipes()  # doctest: +SKIP
    True
    """
    return list(_discover(Path(recipes_dir) if recipes_dir else default_recipes_dir()))


# ---------------------------------------------------------------------------- running one
_LIB_HASH: str | None = None


def _library_hash() -> str:
    """Hash of vizkit's own sources: a change of library code re-runs the recipes' figures."""
    global _LIB_HASH
    if _LIB_HASH is None:
        root = Path(__file__).resolve().parents[1]
        h = []
        for p in sorted(root.rglob("*.py")):
            h.append([p.relative_to(root).as_posix(), sha256(p.read_bytes())])
        _LIB_HASH = stable_hash(h)
    return _LIB_HASH


def _scrub(text: str, roots: Iterable[Path]) -> str:
    """Remove this machine's folders from a traceback (the gallery is published)."""
    for r in sorted({str(p) for p in roots if str(p) not in ("", "/", ".")}, key=len, reverse=True):
        text = text.replace(r + os.sep, "").replace(r, "")
    return text


def _scrub_roots(recipes_dir: Path) -> list[Path]:
    import site

    roots = [recipes_dir.resolve().parent, Path(__file__).resolve().parents[2], Path(sys.prefix),
             Path(sys.base_prefix), Path.home()]
    try:
        roots += [Path(p) for p in site.getsitepackages()]
    except AttributeError:  # pragma: no cover - virtualenv's old site module
        pass
    return roots


def _docstring(source: str) -> str:
    try:
        return ast.get_docstring(ast.parse(source)) or ""
    except SyntaxError:
        return ""


def _run_recipe(task: dict, choice: DataChoice | None = None) -> dict:
    """Run one recipe; never raises (a failure becomes the record's error).

    ``choice`` shares the gallery's lazily resolved data choice when run in-process.
    """
    import matplotlib

    matplotlib.use("Agg")
    if task.get("threads"):
        import torch

        torch.set_num_threads(task["threads"])
    from .. import __version__
    from ..train import seed_everything

    name, path = task["name"], Path(task["path"])
    source = path.read_text(encoding="utf-8")
    log = print if task["verbose"] else None
    data = choice if choice is not None else DataChoice(task["data"], task["data_root"])
    ctx = RecipeContext(name, source=source, out=Path(task["out"]), cache_dir=Path(task["cache"]),
                        data=data, seed=task["seed"], retrain=task["retrain"],
                        lib_version=__version__, log=log)
    status, error, summary = "ok", "", ""
    t0 = time.perf_counter()
    with matplotlib.rc_context():
        try:
            seed_everything(task["seed"])
            spec = importlib.util.spec_from_file_location(f"vizkit_recipe_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            run = getattr(module, "run", None)
            if not callable(run):
                raise TypeError(f"recipe {name!r} has no function run(ctx).")
            run(ctx)
        except (Exception, SystemExit) as e:  # noqa: BLE001 - one failing recipe must not stop the rest
            roots = _scrub_roots(path.parent)
            status = "failed"
            error = _scrub(traceback.format_exc(), roots)
            first = (str(e).strip().splitlines() or [""])[0]
            summary = _scrub(f"{type(e).__name__}: {first}"[:300], roots)
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
    seconds = round(time.perf_counter() - t0, 1)
    uses_default = any(d["request"] == "default" for d in ctx.data_used_)
    cmd = f"vizkit gallery --only {name}"
    if uses_default:
        cmd += f" --data {data.name}"
    cmd += f"\npython recipes/{name}.py"
    rec = {
        "name": name, "page": f"{name}.html", "key": task["key"], "status": status,
        "error": error, "error_summary": summary, "seconds": seconds, "seed": task["seed"],
        "doc": _docstring(source), "command": cmd, "data": ctx.data_used_,
        "checkpoints": ctx.checkpoints_, "metrics": ctx.metrics_, "headline": ctx.headline_,
        "tables": ctx.tables_, "figures": ctx.figures_,
        "trained": ctx.n_trained, "cached": ctx.n_cached,
    }
    if task["verbose"]:
        what = f"{len(ctx.figures_)} figures, {ctx.n_trained} trained, {ctx.n_cached} cached"
        print(f"[gallery] {name}: {'built' if status == 'ok' else 'FAILED'} in {seconds} s ({what})"
              + (f": {summary}" if summary else ""), flush=True)
    return rec


def _run_in_subprocess(task: dict) -> dict:
    """Run one recipe in a fresh Python process (``--jobs N``); a crash becomes a failed record."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vizkit-gallery-") as tmp:
        task_path, result_path = Path(tmp) / "task.json", Path(tmp) / "result.json"
        task_path.write_text(json.dumps(task), encoding="utf-8")
        here = str(Path(__file__).resolve().parents[2])  # the folder that holds this vizkit
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
        proc = subprocess.run([sys.executable, "-m", "vizkit.gallery._worker", str(task_path),
                               str(result_path)], stderr=subprocess.PIPE, text=True, env=env)
        if proc.stderr:
            sys.stderr.write(proc.stderr)
        if proc.returncode == 0 and result_path.is_file():
            return json.loads(result_path.read_text(encoding="utf-8"))
    path = Path(task["path"])
    tail = _scrub("\n".join(proc.stderr.splitlines()[-30:]), _scrub_roots(path.parent))
    return {"name": task["name"], "page": f"{task['name']}.html", "key": task["key"],
            "status": "failed", "error": tail,
            "error_summary": f"the recipe's process ended with exit code {proc.returncode}",
            "seconds": 0.0, "seed": task["seed"], "doc": _docstring(path.read_text(encoding="utf-8")),
            "command": f"vizkit gallery --only {task['name']}\npython recipes/{task['name']}.py",
            "data": [], "checkpoints": [], "metrics": {}, "headline": [], "tables": [],
            "figures": [], "trained": 0, "cached": 0}


def _up_to_date(prev: dict | None, key: str, out: Path, data: DataChoice) -> bool:
    """A previous record can be reused: same recipe key, built fine, files intact, same data."""
    if not prev or prev.get("key") != key or prev.get("status") != "ok":
        return False
    for f in prev.get("figures", []):
        p = out / f["file"]
        try:
            if sha256(p.read_bytes()) != f["sha256"]:
                return False
        except (OSError, KeyError):
            return False
    for d in prev.get("data", []):
        name = data.name if d.get("request") == "default" else d.get("request")
        try:
            split = load_data(name, root=data.root, seed=d.get("seed", 0), **d.get("options", {}))
        except Exception:  # noqa: BLE001 - the data went away: run the recipe, which will say why
            return False
        if split.name != d.get("name") or split.fingerprint != d.get("fingerprint"):
            return False
    return True


def _read_manifest(out: Path) -> dict:
    try:
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return m if isinstance(m, dict) and m.get("format") == MANIFEST_FORMAT else {}


def _manifest(records: list[dict], seed: int) -> dict:
    from .. import __version__

    figures = [{"id": f["id"], "file": f["file"], "caption": f["caption"], "recipe": r["name"],
                "page": f'{r["page"]}#fig-{f["id"]}', "sha256": f["sha256"],
                "metrics": r["metrics"]} for r in records for f in r["figures"]]
    return {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, "vizkit": __version__,
            "seed": seed, "figures": figures, "recipes": records}


def _owned_files(manifest: dict) -> set[str]:
    files = {"index.html", "manifest.json"}
    for r in manifest.get("recipes", []):
        files.add(r.get("page", ""))
        files.update(f.get("file", "") for f in r.get("figures", []))
    return {f for f in files if f}


# ---------------------------------------------------------------------------- build
def build_gallery(out: str | os.PathLike = "gallery", *, data: str | None = None,
                  data_dir: str | os.PathLike | None = None,
                  only: str | Sequence[str] | None = None, retrain: bool = False, jobs: int = 1,
                  cache_dir: str | os.PathLike | None = None,
                  recipes_dir: str | os.PathLike | None = None, seed: int = 0,
                  verbose: bool = True) -> int:
    """Run the recipes and write a static gallery: ``index.html``, a page per recipe, PNGs and
    ``manifest.json``.

    Parameters
    ----------
    out : path, default='gallery'
    data : str, optional
        Data for the MNIST recipes (a :func:`vizkit.data.load` name); default
        :func:`vizkit.data.default_source` (``'mnist'`` when present, else ``'mnist-5k'``).
    data_dir : path, optional
        Data root for ``'mnist'`` / ``'fashion-mnist'``.
    only : str or list of str, optional
        Recipe names (a comma-separated string works too); the other recipes keep what an
        earlier build wrote.
    retrain : bool, default=False
        Ignore cached checkpoints and up-to-date figures: train and draw everything again.
    jobs : int, default=1
        Recipes run in that many processes at once.
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

    Notes
    -----
    A recipe whose source, vizkit's code, seed and data are unchanged since the last build, and
    whose figures are intact, is not run again; unchanged files are never rewritten (their
    modification times stay), and every file is written atomically.

    Examples
    --------
    >>> build_gallery("gallery", only="gmm_decision_surfaces")  # doctest: +SKIP
    0
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1. Got {jobs!r} instead.")
    out = Path(out)
    rdir = Path(recipes_dir) if recipes_dir is not None else default_recipes_dir()
    recipes = _discover(rdir)
    if only is not None:
        names = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
        unknown = [n for n in names if n not in recipes]
        if unknown or not names:
            raise ValueError(f"`only` must name recipes among {', '.join(map(repr, recipes))}. "
                             f"Got {', '.join(map(repr, unknown or names))} instead.")
        selected = [n for n in recipes if n in names]
    else:
        selected = list(recipes)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    choice = DataChoice(data, data_dir)
    prev = _read_manifest(out)
    prev_recs = {r["name"]: r for r in prev.get("recipes", []) if isinstance(r, dict) and "name" in r}
    lib = _library_hash()
    from .. import __version__

    t0 = time.perf_counter()
    records: dict[str, dict] = {}
    tasks = []
    for name in selected:
        path = recipes[name]
        key = stable_hash({"recipe": sha256(path.read_bytes()), "library": lib, "seed": seed,
                           "vizkit": __version__})
        if not retrain and _up_to_date(prev_recs.get(name), key, out, choice):
            records[name] = prev_recs[name]
            if verbose:
                print(f"[gallery] {name}: up to date", flush=True)
            continue
        tasks.append({"name": name, "path": str(path), "out": str(out), "cache": str(cache),
                      "data": data, "data_root": None if data_dir is None else str(data_dir),
                      "seed": seed, "retrain": retrain, "key": key, "verbose": verbose})
    if tasks and jobs > 1 and len(tasks) > 1:
        if data is None:
            resolved = choice.name  # probe once here, not in every worker
            for t in tasks:
                t["data"] = resolved
        from concurrent.futures import ThreadPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // jobs)
        for t in tasks:
            t["threads"] = threads
        with ThreadPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            for rec in pool.map(_run_in_subprocess, tasks):
                records[rec["name"]] = rec
    else:
        for t in tasks:
            rec = _run_recipe(t, choice)
            records[rec["name"]] = rec
    for t in tasks:  # the same failure again: keep the page as it was (its timing included)
        rec, old = records[t["name"]], prev_recs.get(t["name"])
        if (rec["status"] == "failed" and old and old.get("status") == "failed"
                and old.get("key") == rec["key"] and old.get("error") == rec["error"]):
            rec["seconds"] = old.get("seconds", rec["seconds"])
    ran = [records[t["name"]] for t in tasks]
    # recipes not selected keep their earlier records (if their recipe still exists)
    ordered = [records.get(n) or prev_recs.get(n) for n in recipes]
    ordered = [r for r in ordered if r is not None]
    for r in ordered:  # records come from disk too: only safe names reach a file path
        if not _RECIPE_NAME.match(r["name"]) or any(
                not SAFE_NAME.match(f["id"]) or f["file"] != f'{r["name"]}/{f["id"]}.png'
                for f in r.get("figures", [])):
            raise ValueError(f"manifest record {r['name']!r} has an unsafe file name; delete "
                             f"{out / 'manifest.json'} and build again.")
    footer = f"vizkit {__version__} · seed {seed} · built by `vizkit gallery`"
    for r in ordered:
        write_if_changed(out / r["page"], render_page(r, footer=footer).encode())
    write_if_changed(out / "index.html", render_index(ordered, footer=footer).encode())
    manifest = _manifest(ordered, seed)
    write_if_changed(out / "manifest.json",
                     (json.dumps(manifest, indent=1, sort_keys=False, allow_nan=False) + "\n").encode())
    for rel in sorted(_owned_files(prev) - _owned_files(manifest)):
        p = out / rel
        if p.is_file() and ".." not in Path(rel).parts:
            p.unlink()
    failed = [r["name"] for r in ran if r["status"] != "ok"]
    if verbose:
        print(f"[gallery] {len(ran)} run, {len(ordered) - len(ran)} kept, {len(failed)} failed"
              + (f" ({', '.join(failed)})" if failed else "")
              + f"; {time.perf_counter() - t0:.1f} s; open {out / 'index.html'}", flush=True)
    return 1 if failed else 0


# ---------------------------------------------------------------------------- one recipe
def run_recipe_main(file: str | os.PathLike, argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python recipes/NAME.py``: build just that recipe into ``gallery/``.

    Exits with :func:`build_gallery`'s status.
    """
    path = Path(file).resolve()
    p = argparse.ArgumentParser(prog=f"python recipes/{path.name}",
                                description=_docstring(path.read_text(encoding="utf-8")).split("\n\n")[0])
    p.add_argument("--out", default="gallery", help="gallery folder (default: gallery)")
    p.add_argument("--data", default=None, help="data for MNIST recipes (default: mnist or mnist-5k)")
    p.add_argument("--data-dir", default=None, help="data root for mnist / fashion-mnist")
    p.add_argument("--retrain", action="store_true", help="ignore cached models")
    args = p.parse_args(argv)
    sys.exit(build_gallery(args.out, data=args.data, data_dir=args.data_dir, only=[path.stem],
                           retrain=args.retrain, recipes_dir=path.parent))
