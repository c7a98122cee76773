"""Run one recipe into a staging folder and return its :class:`RecipeRecord` as JSON data.

A recipe runs in this process (:func:`run_recipe`) or in a fresh one (:func:`run_in_subprocess`,
``vizkit gallery --jobs N``); either way it never raises: a failure becomes the record's error,
with this machine's folders replaced by the names of their roots (``$VIZKIT_DATA/...``,
``$VIZKIT_CACHE/...``, ``<out>/...``, ``~/...``: the gallery is published). A failure of the
machine rather than the recipe (a full or read-only disk) is reported apart, under the key
``"environment"``: the gallery keeps the recipe's previous pages then.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from .._runs import environment_error
from ._context import DataChoice, RecipeContext
from ._record import RecipeRecord

__all__ = ["run_recipe", "run_in_subprocess", "Workers", "docstring", "module_constant",
           "library_hash", "provenance", "failed_record", "scrub_paths"]

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


_PATH_END = r"(?![\w.~-])"  # a root ends at a '/' or where a path cannot go on


def scrub_paths(text: str, task: dict) -> str:
    """``text`` with this machine's folders replaced by the names of their roots.

    Files under the data root become ``$VIZKIT_DATA/...``, under the model cache
    ``$VIZKIT_CACHE/...``, under the gallery folder ``<out>/...``, under the temporary folder
    ``$TMPDIR/...``, under the home folder ``~/...``; vizkit's own sources, the recipes and the
    Python installation are named relative to their folders; the current folder is ``.``.
    The longest root wins (the data root inside the home folder is still ``$VIZKIT_DATA``).
    """
    for root, label in _roots(task):
        if not label:
            text = re.sub(re.escape(root + os.sep) + "+", "", text)
        text = re.sub(re.escape(root) + _PATH_END, lambda m: label or ".", text)
    return text


def _roots(task: dict) -> list[tuple[str, str]]:
    """(folder, label) pairs, longest folder first; label '' means "drop the folder"."""
    import site

    from ..data import default_root

    plain = [Path(task["path"]).parent.parent, Path(__file__).resolve().parents[2],
             Path(sys.prefix), Path(sys.base_prefix)]
    try:
        plain += [Path(p) for p in site.getsitepackages()]
    except AttributeError:  # pragma: no cover - virtualenv's old site module
        pass
    data_root = Path(task["data_root"]).expanduser() if task.get("data_root") else default_root()
    named = [(Path(task["out"]), "<out>") if task.get("out") else None,
             (Path(task["cache"]), "$VIZKIT_CACHE"), (data_root, "$VIZKIT_DATA"),
             (Path(tempfile.gettempdir()), "$TMPDIR"), (Path.home(), "~"), (Path.cwd(), ".")]
    found: dict[str, str] = {}
    for folder, label in [(p, "") for p in plain] + [n for n in named if n is not None]:
        for form in (Path(os.path.abspath(folder)), folder.resolve()):
            text = str(form).rstrip(os.sep)
            if text and text != str(form.anchor).rstrip(os.sep):
                found.setdefault(text, label)
    return sorted(found.items(), key=lambda kv: len(kv[0]), reverse=True)


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
    status, error, summary, machine = "ok", "", "", None
    printed = io.StringIO()
    t0 = time.perf_counter()
    with matplotlib.rc_context(), contextlib.redirect_stdout(printed):
        try:
            _exec_recipe(name, path, ctx, task["seed"])
        except (Exception, SystemExit) as e:  # noqa: BLE001 - one failing recipe must not stop the rest
            status = "failed"
            error = scrub_paths(traceback.format_exc(), task)
            first = (str(e).strip().splitlines() or [""])[0]
            summary = scrub_paths(f"{type(e).__name__}: {first}", task)[:300]
            machine = environment_error(e)
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
    seconds = round(time.perf_counter() - t0, 1)
    output = scrub_paths(printed.getvalue(), task)[-_MAX_OUTPUT:]
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
    result = rec.to_dict()
    if machine is not None:
        result["environment"] = scrub_paths(
            f"{machine.strerror or machine}" + (f": {machine.filename}" if machine.filename else ""),
            task)
    return result


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


class Workers:
    """The recipe processes of one build: started here, all stopped at once by :meth:`stop`
    (a build interrupted by Ctrl-C or SIGTERM), after which none starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen] = set()
        self._stopped = False

    def start(self, cmd: list[str], env: dict) -> subprocess.Popen | None:
        """A started process, or None once the build is stopping."""
        with self._lock:
            if self._stopped:
                return None
            proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
            self._live.add(proc)
            return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._live.discard(proc)

    def stop(self) -> None:
        """Kill the running recipe processes; start no other."""
        with self._lock:
            self._stopped = True
            for proc in self._live:
                proc.kill()


def run_in_subprocess(task: dict, workers: Workers | None = None) -> dict:
    """Run one recipe in a fresh Python process; a crash becomes a failed record.

    The task and its record pass through ``<stage>.job/`` beside the recipe's staging folder
    (inside the gallery's scratch folder, which the next build removes whatever happened);
    the process stops by itself within seconds when this one dies (see ``_worker``).
    """
    job = Path(task["stage"]).with_suffix(".job")
    job.mkdir(parents=True, exist_ok=True)
    task_path, result_path = job / "task.json", job / "result.json"
    task_path.write_text(json.dumps(task), encoding="utf-8")
    here = str(Path(__file__).resolve().parents[2])  # the folder that holds this vizkit
    path = [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**_thread_limits(task.get("threads") or 1), **os.environ,
           "PYTHONPATH": os.pathsep.join(path)}
    cmd = [sys.executable, "-m", "vizkit.gallery._worker", str(task_path), str(result_path),
           str(os.getpid())]
    workers = workers if workers is not None else Workers()
    proc = workers.start(cmd, env)
    if proc is None:
        return failed_record(task, "the build was stopped before the recipe ran")
    try:
        _, stderr = proc.communicate()
    finally:
        workers.done(proc)
    if stderr:
        sys.stderr.write(stderr)
    if proc.returncode == 0 and result_path.is_file():
        return json.loads(result_path.read_text(encoding="utf-8"))
    tail = scrub_paths("\n".join(stderr.splitlines()[-30:]), task)
    return failed_record(task, f"the recipe's process ended with exit code {proc.returncode}", tail)
