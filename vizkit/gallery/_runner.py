"""Run one recipe into a staging folder and return its :class:`RecipeRecord` as JSON data.

A recipe runs in this process (:func:`run_recipe`) or in a fresh one (:func:`run_in_subprocess`,
``vizkit gallery --jobs N``); either way it never raises: a failure becomes the record's error,
with this machine's folders scrubbed from the traceback (the gallery is published).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable

from ._context import DataChoice, RecipeContext
from ._record import RecipeRecord

__all__ = ["run_recipe", "run_in_subprocess", "docstring", "module_constant", "library_hash",
           "provenance", "failed_record"]

_MAX_OUTPUT = 20_000


def docstring(source: str) -> str:
    """The recipe's module docstring ('' when it has none or does not parse)."""
    try:
        return ast.get_docstring(ast.parse(source)) or ""
    except (SyntaxError, ValueError):
        return ""


def module_constant(source: str, name: str, kind: type, default):
    """A module-level ``NAME = <literal>`` of the recipe, read without running it."""
    m = re.search(rf"^{name}\s*=\s*(.+?)\s*$", source, re.M)
    if not m:
        return default
    try:
        value = ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        return default
    return value if isinstance(value, kind) and not isinstance(value, bool) else default


_LIB_HASH: str | None = None


def library_hash() -> str:
    """Hash of vizkit's own sources and templates: a change re-runs the recipes' figures."""
    global _LIB_HASH
    if _LIB_HASH is None:
        from .._io import sha256, stable_hash

        root = Path(__file__).resolve().parents[1]
        h = []
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".py", ".html", ".css", ".js"):
                h.append([p.relative_to(root).as_posix(), sha256(p.read_bytes())])
        _LIB_HASH = stable_hash(h)
    return _LIB_HASH


def provenance() -> dict:
    """What made the figures: vizkit's version and source hash, and the versions it ran on."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"vizkit": __version__, "vizkit source hash": library_hash()}
    for pkg in ("torch", "torchvision", "numpy", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _scrub(text: str, roots: Iterable[Path]) -> str:
    """Remove this machine's folders from a traceback."""
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


def _exec_recipe(name: str, path: Path, ctx: RecipeContext, seed: int) -> None:
    from ..train import seed_everything

    seed_everything(seed)
    spec = importlib.util.spec_from_file_location(f"vizkit_recipe_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"recipe {name!r} has no function run(ctx).")
    run(ctx)


def run_recipe(task: dict, choice: DataChoice | None = None) -> dict:
    """Run one recipe; never raises (a failure becomes the record's error).

    ``task`` holds ``name``, ``path``, ``stage`` (the folder its figures go to), ``cache``,
    ``data``, ``data_root``, ``seed``, ``retrain``, ``key``, ``verbose`` and optionally
    ``threads``; ``choice`` shares the gallery's lazily resolved data choice in-process.
    """
    import matplotlib

    matplotlib.use("Agg")
    import torch

    threads = torch.get_num_threads()
    try:
        if task.get("threads"):
            torch.set_num_threads(task["threads"])
        return _run_recipe(task, choice)
    finally:
        torch.set_num_threads(threads)


def _run_recipe(task: dict, choice: DataChoice | None) -> dict:
    import matplotlib

    from .. import __version__

    name, path = task["name"], Path(task["path"])
    source = path.read_text(encoding="utf-8")
    real_out = sys.stdout
    log = (lambda msg: print(msg, file=real_out, flush=True)) if task["verbose"] else None
    data = choice if choice is not None else DataChoice(task["data"], task["data_root"])
    ctx = RecipeContext(name, source=source, out=Path(task["stage"]), cache_dir=Path(task["cache"]),
                        data=data, seed=task["seed"], retrain=task["retrain"],
                        lib_version=__version__, log=log, path=str(path))
    status, error, summary = "ok", "", ""
    printed = io.StringIO()
    t0 = time.perf_counter()
    with matplotlib.rc_context(), contextlib.redirect_stdout(printed):
        try:
            _exec_recipe(name, path, ctx, task["seed"])
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
    output = _scrub(printed.getvalue(), _scrub_roots(path.parent))[-_MAX_OUTPUT:]
    rec = RecipeRecord.from_dict({
        "name": name, "key": task["key"], "status": status, "error": error,
        "error_summary": summary, "seconds": seconds,
        "train_seconds": round(sum(c.get("train_seconds") or 0 for c in ctx.checkpoints_), 1),
        "seed": task["seed"], "doc": docstring(source),
        "topic": module_constant(source, "TOPIC", str, ""), "data": ctx.data_used_,
        "checkpoints": ctx.checkpoints_, "metrics": ctx.metrics_, "headline": ctx.headline_,
        "tables": ctx.tables_, "figures": ctx.figures_, "assets": ctx.assets_, "output": output,
        "provenance": provenance(),
        "trained": ctx.n_trained, "cached": ctx.n_cached})
    if task["verbose"]:
        what = f"{len(ctx.figures_)} figures, {ctx.n_trained} trained, {ctx.n_cached} cached"
        print(f"[gallery] {name}: {'built' if status == 'ok' else 'FAILED'} in {seconds} s ({what})"
              + (f": {summary}" if summary else ""), flush=True)
    return rec.to_dict()


def failed_record(task: dict, summary: str, error: str = "") -> dict:
    """The record of a recipe whose process died before it could say anything."""
    source = Path(task["path"]).read_text(encoding="utf-8")
    return RecipeRecord(name=task["name"], key=task["key"], status="failed", error=error,
                        error_summary=summary, seed=task["seed"], doc=docstring(source),
                        topic=module_constant(source, "TOPIC", str, ""),
                        provenance=provenance()).to_dict()


def _thread_limits(threads: int) -> dict[str, str]:
    """Thread pools of the other libraries a recipe uses (numba's, under UMAP; OpenMP and BLAS
    under scikit-learn and numpy), held to the recipe's torch threads: recipes run side by side,
    and a parallel loop waiting for a thread whose core another recipe holds was measured 7x
    slower (the embeddings recipe, 20 s alone, 144 s beside another job). A variable the user
    set wins."""
    n = str(int(threads))
    return {k: n for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                           "MKL_NUM_THREADS")}


def run_in_subprocess(task: dict) -> dict:
    """Run one recipe in a fresh Python process; a crash becomes a failed record."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vizkit-gallery-") as tmp:
        task_path, result_path = Path(tmp) / "task.json", Path(tmp) / "result.json"
        task_path.write_text(json.dumps(task), encoding="utf-8")
        here = str(Path(__file__).resolve().parents[2])  # the folder that holds this vizkit
        path = [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = {**_thread_limits(task.get("threads") or 1), **os.environ,
               "PYTHONPATH": os.pathsep.join(path)}
        proc = subprocess.run([sys.executable, "-m", "vizkit.gallery._worker", str(task_path),
                               str(result_path)], stderr=subprocess.PIPE, text=True, env=env)
        if proc.stderr:
            sys.stderr.write(proc.stderr)
        if proc.returncode == 0 and result_path.is_file():
            return json.loads(result_path.read_text(encoding="utf-8"))
    tail = _scrub("\n".join(proc.stderr.splitlines()[-30:]), _scrub_roots(Path(task["path"]).parent))
    return failed_record(task, f"the recipe's process ended with exit code {proc.returncode}", tail)
