"""The ``vizkit`` command: train | evaluate | analyze | explain | gallery | layers | datasets | search.

Expected failures (a bad option, a damaged checkpoint, data of the wrong shape, a full or
read-only disk, a diverged run, Ctrl-C) end with exit status 2 and one line on stderr, no
traceback; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

from ._runs import ENVIRONMENT_ERRNOS, LOCK_NAME

__all__ = ["main", "build_parser"]

#: Exit status of every expected failure.
EXIT_FAILURE = 2

# OS errors that are the user's situation, not a bug: reported in one line
_EXPECTED_ERRNOS = {errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG,
                    errno.ENOENT} | ENVIRONMENT_ERRNOS


def _threads() -> None:
    import torch

    from ._runs import env_threads

    torch.set_num_threads(env_threads(max(1, min(os.cpu_count() or 1, 8))))


def _check_out(args) -> None:
    """Refuse an empty ``--out`` (an unset shell variable) before any work: it would write into
    the current folder."""
    if isinstance(getattr(args, "out", None), str) and not args.out.strip():
        raise ValueError(f"--out is empty (an unset shell variable?); give the output folder, "
                         f"e.g. vizkit {args.command} ... --out {args.command}-out.")


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``kill``), raised like Ctrl-C so that every cleanup runs."""


def _terminate(signum, frame) -> None:
    raise _Terminated


def _load_data(name: str | None, data_dir: str | None, seed: int, download=None):
    from . import data

    if name is None:
        name = data.default_source(root=data_dir, download=download)
    return data.load(name, root=data_dir, download=download, seed=seed)


def _json_bytes(obj: Any) -> bytes:
    """Strict JSON (no bare NaN/Infinity): non-finite floats are written as ``null``."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return (json.dumps(clean(obj), indent=2, allow_nan=False) + "\n").encode()


@contextlib.contextmanager
def _out_dir(path: str, flag: str = "--out") -> Iterator[Path]:
    """Make the output folder; remove the folders made here again if the command fails and
    left them empty. A path that exists and is not a folder is refused before any work."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{flag} {path} exists and is not a folder; give a folder path.")
    made = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    ok = False
    try:
        yield out
        ok = True
    finally:
        if not ok:
            if out in made:  # the lock of a run that failed in the folder it made
                with contextlib.suppress(OSError):
                    (out / LOCK_NAME).unlink()
            for p in made:  # deepest first
                with contextlib.suppress(OSError):
                    p.rmdir()  # only succeeds on an empty folder


def _check_input_shape(model_meta: dict, split, checkpoint: str) -> None:
    """Refuse data whose example shape differs from the one the checkpoint was trained on."""
    want = model_meta.get("spec", {}).get("input_shape") or model_meta.get("data", {}).get("input_shape")
    if want is not None and list(want) != [int(s) for s in split.input_shape]:
        raise ValueError(f"{checkpoint} takes examples of shape {list(want)}, but data "
                         f"{split.name!r} has {list(split.input_shape)}; pass --data with the "
                         "kind of data the model was trained on.")


# ---------------------------------------------------------------------------- train
def _train_config(args):
    """The training config from the flags and key=value options, checked before data loads."""
    from .train import TrainConfig, check_device, default_config

    opts = {"seed": args.seed if args.seed is not None else 0,
            "log_every": args.log_every if args.log_every is not None else 100}
    for key, value in TrainConfig.parse_overrides(args.set or []).items():
        flag = {"seed": args.seed, "log_every": args.log_every}.get(key)
        if flag is not None and flag != value:
            raise ValueError(f"{key} is given twice with different values ({flag} as a flag, "
                             f"{value} as {key}=); give it once.")
        opts[key] = value
    cfg = default_config(args.model, **opts)  # validates names, types and ranges
    check_device(cfg.device)
    return opts


def cmd_train(args) -> int:
    from .models import list_models
    from .train import default_config, train_model

    if args.model not in list_models():
        raise ValueError(f"--model must be one of {', '.join(list_models())}. Got {args.model!r} instead.")
    opts = _train_config(args)
    model_kw = {}
    if args.hidden:
        model_kw["hidden"] = args.hidden
    if args.dropout is not None:
        model_kw["dropout"] = args.dropout
    split = _load_data(args.data, args.data_dir, opts["seed"])
    cfg = default_config(args.model, n_train=len(split.y_train), **opts)
    recorder = None
    if args.record_views:  # the over-training family's views, stored beside model.pt
        from .figures import get_family

        recorder = get_family("over-training").recorder(split, seed=cfg.seed, epochs=cfg.epochs)
    from ._runs import run_lock

    with _out_dir(args.out) as out, run_lock(out, "vizkit train", wait=False):
        ckpt = out / "model.pt"
        print(f"training {args.model} on {split!r}")
        model, hist, metrics = train_model(args.model, split, cfg, checkpoint=ckpt,
                                           tensorboard=args.tensorboard, recorder=recorder,
                                           **model_kw)
        summary = {"checkpoint": str(ckpt), "test_accuracy": metrics["accuracy"],
                   "val_accuracy": metrics["val_acc"], "best_epoch": hist.best_epoch,
                   "epochs_run": len(hist.epochs), "seconds": round(hist.seconds, 2)}
        from ._io import atomic_write_bytes

        atomic_write_bytes(out / "metrics.json", _json_bytes(metrics))
    print(_json_bytes(summary).decode().rstrip())
    return 0


# ---------------------------------------------------------------------------- evaluate, analyze
def _checkpoint_and_data(args):
    from .checkpoint import load

    model, meta = load(args.checkpoint)
    d = meta.get("data", {})
    split = _load_data(args.data or d.get("name"), args.data_dir, int(meta.get("seed", 0)))
    _check_input_shape(meta, split, args.checkpoint)
    if d.get("fingerprint") and d["fingerprint"] != split.fingerprint:
        print(f"note: data fingerprint differs from the checkpoint's ({d['fingerprint']} vs "
              f"{split.fingerprint})", file=sys.stderr)
    return model, meta, split


def cmd_evaluate(args) -> int:
    from .train import evaluate

    model, meta, split = _checkpoint_and_data(args)
    x, y = split.part(args.part)
    if len(y) == 0:
        raise ValueError(f"the {args.part} part of {split.name!r} has no examples; choose another --part.")
    m = evaluate(model, x, y, classes=split.classes)
    print(f"{args.part} accuracy: {m['accuracy']:.4f}  loss: {m['loss']:.4f}  (n = {m['n']})")
    print(f"{'class':<14}{'precision':>10}{'recall':>10}{'AP':>8}")
    for c, p, r, ap in zip(m["classes"], m["precision"], m["recall"], m["average_precision"]):
        print(f"{str(c):<14}{p:>10.4f}{r:>10.4f}{ap:>8.4f}")
    print("confusion (rows: true, columns: predicted):")
    for row in m["confusion"]:
        print(" ".join(f"{v:5d}" for v in row))
    return 0


def _families(what: str) -> tuple[list[str], bool]:
    from .figures import list_families

    names = [w.strip() for w in what.split(",") if w.strip()]
    if names == ["all"]:
        return list_families(), False
    bad = [n for n in names if n not in list_families()]
    if bad or not names:
        raise ValueError(f"--what must be among {', '.join(list_families())} or 'all'. "
                         f"Got {', '.join(map(repr, bad)) or repr(what)} instead.")
    return names, True


def cmd_analyze(args) -> int:
    from .figures import NotApplicable, make_figures

    names, strict = _families(args.what)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} exists and is not a folder; give a folder path.")
    model, meta, split = _checkpoint_and_data(args)
    from .train import NoViews, load_views

    try:  # views recorded while it trained (`vizkit train --record-views`), replayed as they are
        meta["views"], _ = load_views(args.checkpoint)
    except NoViews as e:
        meta["views_missing"] = str(e)
    import matplotlib

    matplotlib.use("Agg")
    from .figures import write_figures

    status, written, taken = 0, 0, set()
    with _out_dir(args.out) as out:
        for name in names:
            try:
                figs = make_figures(name, model, split, meta=meta, seed=args.seed)
            except NotApplicable as e:
                print(f"{name}: not applicable to this model: {e}", file=sys.stderr)
                status = EXIT_FAILURE if strict else status
                continue
            # the gallery's write path: safe names unique within --out, PNG + .npz of the arrays
            for f, path in zip(figs, write_figures(figs, out, taken=taken, dpi=args.dpi)):
                written += 1
                print(f"{path}: {f.caption}")
        if not written:
            raise ValueError(f"no figure of {', '.join(names)} applies to this model; nothing written.")
    return status


def cmd_explain(args) -> int:
    from .explain import check_indices, explain, write_explanation

    if args.images is not None and args.index is not None:
        raise ValueError("give --images N or --index I,... (not both): --images picks the inputs, "
                         "--index names them.")
    if args.images is not None and args.images < 1:
        raise ValueError(f"--images must be an int >= 1. Got {args.images} instead.")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} exists and is not a folder; give a folder path.")
    model, meta, split = _checkpoint_and_data(args)
    indices = None
    if args.index is not None:
        indices = check_indices(args.index.split(","), len(split.y_test), name="--index")
    expl = explain(model, split, indices=indices, n_images=args.images or 100, seed=args.seed)
    with _out_dir(args.out) as out:
        paths = write_explanation(expl, out)
    wrong = int((expl.labels != expl.predictions).sum())
    print(f"{paths[0]}: {len(expl)} test images explained ({wrong} misclassified); "
          f"arrays in {paths[1].name}")
    return 0


# ---------------------------------------------------------------------------- layers, datasets, gallery
def cmd_layers(args) -> int:
    from . import hooks

    ref = args.model
    if Path(ref).is_file():
        from .checkpoint import load

        model, meta = load(ref)
        known = meta["spec"].get("input_shape") or meta.get("data", {}).get("input_shape") or ()
        shape = (1, *known)
    elif ref.startswith("torchvision:"):
        model = hooks.resolve_model_ref(ref)
        shape = hooks.example_input_shape(ref)
    else:
        raise ValueError(f"{ref!r} is neither a checkpoint file nor a reference such as "
                         "'torchvision:resnet18'.")
    if args.input_shape:
        shape = (1, *args.input_shape)
    if len(shape) < 2:
        raise ValueError("cannot tell the input shape; pass --input-shape C,H,W")
    try:
        rows = hooks.summary(model, shape)
    except RuntimeError as e:
        raise ValueError(f"{ref} cannot run on an input of shape {list(shape)}: "
                         f"{str(e).splitlines()[0][:200]}; pass the shape it takes with "
                         "--input-shape.") from None
    print(hooks.format_summary(rows))
    return 0


def cmd_datasets(args) -> int:
    from . import data

    rows = data.list_sources(root=args.data_dir)
    for r in rows:
        r = r if isinstance(r, dict) else r._asdict()
        mark = "yes" if r.get("available_offline") else "no "
        print(f"{r['name']:<15} offline: {mark}  {r.get('description', '')}"
              + (f"  [{r['where']}]" if r.get("where") else ""))
    return 0


def cmd_gallery(args) -> int:
    from .gallery import build_gallery

    only = [s.strip() for s in args.only.split(",")] if args.only is not None else None
    return build_gallery(args.out, data=args.data, data_dir=args.data_dir, only=only,
                         retrain=args.retrain, jobs=args.jobs)


# ---------------------------------------------------------------------------- search
# Training options of `vizkit search` that are NetClassifier parameters (the rest go to
# ``train_options``); seed, progress and device are the estimator's own.
_ESTIMATOR_KEYS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "patience")


def _search_fixed(args) -> dict:
    """NetClassifier parameters fixed for every candidate, from --model and key=value options."""
    from .models import list_models
    from .train import TrainConfig, check_device, default_config

    if args.model not in list_models():
        raise ValueError(f"--model must be one of {', '.join(list_models())}. Got {args.model!r} "
                         "instead.")
    cfg = default_config(args.model, **TrainConfig.parse_overrides(list(args.set or [])))
    check_device(cfg.device)
    fixed: dict[str, Any] = {"model": args.model, "device": cfg.device}
    options = {}
    for k, v in cfg.to_dict().items():
        if k in _ESTIMATOR_KEYS:
            fixed[k] = v
        elif k not in ("seed", "progress", "log_every", "device") and \
                v != TrainConfig.__dataclass_fields__[k].default:
            options[k] = v
    if options:
        fixed["train_options"] = options
    return fixed


def cmd_search(args) -> int:
    """Random search on a data set, refit the best, write ``model.pt``, ``results.json``,
    ``results.csv`` to ``--out``; print the results table and the best model's test accuracy."""
    import time

    import torch

    from ._io import atomic_write_bytes
    from .estimator import format_results, plain_params, results_csv, search, search_results
    from .train import evaluate

    fixed = _search_fixed(args)
    split = _load_data(args.data, args.data_dir, args.seed)
    X = torch.cat([split.x_train, split.x_val]).numpy()
    y = torch.cat([split.y_train, split.y_val]).numpy()
    print(f"search: {args.n_iter} candidates x {args.cv} folds of {args.model} on {split!r} "
          f"(train + val: {len(y)} examples; test kept apart), n_jobs={args.jobs}")
    t0 = time.perf_counter()
    rs = search(X, y, n_iter=args.n_iter, cv=args.cv, n_jobs=args.jobs, seed=args.seed,
                progress=None, **fixed)
    seconds = time.perf_counter() - t0
    rows = search_results(rs)
    print(format_results(rows))
    best = rs.best_estimator_
    index = {c: i for i, c in enumerate(best.classes_.tolist())}
    y_test = torch.tensor([index[c] for c in split.y_test.tolist()], dtype=torch.int64)
    metrics = evaluate(best.model_, split.x_test, y_test, classes=[str(c) for c in best.classes_.tolist()])
    metrics.update(cv_score=float(rs.best_score_), best_epoch=best.history_.best_epoch,
                   train_seconds=best.history_.seconds)
    best_params = plain_params(rs.best_params_)
    with _out_dir(args.out) as out:
        ckpt = best.save_checkpoint(
            out / "model.pt", metrics=metrics, data={**split.record(), "fit_fingerprint": best.data_fingerprint_},
            search={"n_iter": args.n_iter, "cv": args.cv, "best_params": best_params,
                    "best_score": float(rs.best_score_)})
        summary = {"best_params": best_params, "best_cv_score": float(rs.best_score_),
                   "test_accuracy": metrics["accuracy"], "n_iter": args.n_iter, "cv": args.cv,
                   "n_jobs": args.jobs, "seed": args.seed, "seconds": round(seconds, 2),
                   "data": {"name": split.name, "fingerprint": split.fingerprint},
                   "fixed": plain_params(fixed), "checkpoint": ckpt.name, "candidates": rows}
        atomic_write_bytes(out / "results.json", _json_bytes(summary))
        atomic_write_bytes(out / "results.csv", results_csv(rows))
    print(f"best: {best_params}  cv accuracy {rs.best_score_:.4f}  "
          f"test accuracy {metrics['accuracy']:.4f}  ({seconds:.1f} s)")
    print(f"wrote {ckpt}, {out / 'results.json'}, {out / 'results.csv'}")
    return 0


# ---------------------------------------------------------------------------- parser
def _int_list(flag: str, example: str):
    """An argparse type: comma-separated positive integers, named by ``flag`` when wrong."""
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(","))
        except ValueError:
            values = ()
        if not values or any(v < 1 for v in values):
            raise argparse.ArgumentTypeError(f"{flag} must be comma-separated positive integers "
                                             f"such as {example}. Got {text!r} instead.")
        return values
    return parse


def _add_train(sub) -> None:
    t = sub.add_parser("train", help="train a model and write a checkpoint")
    t.add_argument("--model", required=True, help="logreg, mlp, deep, cnn or rbf")
    _data_args(t)
    t.add_argument("--out", required=True, help="output folder (model.pt, metrics.json)")
    t.add_argument("--seed", type=int, default=None, help="seed of weights, shuffling and split (default 0)")
    t.add_argument("--hidden", type=_int_list("--hidden", "360,187"), default=None,
                   help="hidden sizes for mlp/deep, e.g. 360,187")
    t.add_argument("--dropout", type=float, default=None)
    t.add_argument("--log-every", type=int, default=None,
                   help="print train-loss/train-err every N batches (0: off; default 100)")
    t.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="write per-epoch TensorBoard logs there (pip install 'vizkit[tensorboard]')")
    t.add_argument("--record-views", action="store_true",
                   help="record views over training (attribution maps, activation-maximization "
                        "images, penultimate embedding at epochs 0, 1, 2, 4, ...) beside model.pt, "
                        "for `vizkit analyze model.pt --what over-training`")
    t.add_argument("set", nargs="*", metavar="KEY=VALUE", help="training options, e.g. lr=0.01 epochs=5 optimizer=sgd")
    t.set_defaults(func=cmd_train)


def _data_args(sp, default=None) -> None:
    sp.add_argument("--data", default=default, help="data source (see `vizkit datasets`)")
    sp.add_argument("--data-dir", default=None, help="data root (default $VIZKIT_DATA or ~/.cache/vizkit)")


def _add_others(sub) -> None:
    e = sub.add_parser("evaluate", help="accuracy, per-class table and confusion of a checkpoint")
    e.add_argument("checkpoint")
    _data_args(e)
    e.add_argument("--part", default="test", choices=["train", "val", "test"])
    e.set_defaults(func=cmd_evaluate)

    a = sub.add_parser("analyze", help="write figures (PNG + the arrays as .npz) of a checkpoint")
    a.add_argument("checkpoint")
    from .figures import list_families

    a.add_argument("--what", default="all", metavar="FAMILY,...|all",
                   help=f"comma list of {', '.join(list_families())}, or all")
    a.add_argument("--out", required=True)
    _data_args(a)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--dpi", type=int, default=100)
    a.set_defaults(func=cmd_analyze)

    x = sub.add_parser("explain", help="one static page explaining single predictions of a checkpoint")
    x.add_argument("checkpoint")
    x.add_argument("--out", required=True, help="output folder (index.html, explanation.npz)")
    x.add_argument("--images", type=int, default=None,
                   help="how many test images: all misclassified + a stratified sample of the "
                        "correct ones (default 100)")
    x.add_argument("--index", default=None, metavar="I,...", help="test-set positions to explain")
    _data_args(x)
    x.add_argument("--seed", type=int, default=0)
    x.set_defaults(func=cmd_explain)

    g = sub.add_parser("gallery", help="run the recipes and write the static HTML gallery")
    g.add_argument("--out", default="gallery")
    _data_args(g)
    g.add_argument("--only", default=None, help="comma list of recipe names")
    g.add_argument("--retrain", action="store_true", help="ignore cached checkpoints")
    g.add_argument("--jobs", type=int, default=None,
                   help="recipes run side by side (default: one per CPU, at most 4; each recipe "
                        "uses one torch thread, so the figures are the same whatever the count)")
    g.set_defaults(func=cmd_gallery)

    lay = sub.add_parser("layers", help="list a model's layers with output shapes and parameters")
    lay.add_argument("model", help="a checkpoint file, or torchvision:NAME (weights=None)")
    lay.add_argument("--input-shape", type=_int_list("--input-shape", "3,224,224"), default=None,
                     help="C,H,W of one example")
    lay.set_defaults(func=cmd_layers)

    d = sub.add_parser("datasets", help="list data sources and whether they are available offline")
    d.add_argument("--data-dir", default=None)
    d.set_defaults(func=cmd_datasets)

    s = sub.add_parser("search", help="random hyper-parameter search with cross-validation")
    s.add_argument("--model", default="deep")
    _data_args(s, default="mnist-5k")
    s.add_argument("--n-iter", type=int, default=20)
    s.add_argument("--cv", type=int, default=3)
    s.add_argument("--jobs", "--n-jobs", dest="jobs", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.add_argument("set", nargs="*", metavar="KEY=VALUE")
    s.set_defaults(func=cmd_search)


def build_parser() -> argparse.ArgumentParser:
    """The ``vizkit`` argument parser (each verb's sub-parser is ``parser.verbs[name]``).

    Each verb's parsed arguments carry ``func``, the function that runs it (:func:`main` calls
    ``args.func(args)``).

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the extra attribute ``verbs``: verb name -> its sub-parser.

    Examples
    --------
    >>> parser = build_parser()
    >>> sorted(parser.verbs)
    ['analyze', 'datasets', 'evaluate', 'explain', 'gallery', 'layers', 'search', 'train']
    >>> args = parser.parse_args(["train", "--model", "mlp", "--out", "run", "epochs=2"])
    >>> args.model, args.set, args.func.__name__
    ('mlp', ['epochs=2'], 'cmd_train')
    """
    from . import __version__

    p = argparse.ArgumentParser(prog="vizkit", description="Train small PyTorch networks and show what they learned.")
    p.add_argument("--version", action="version", version=f"vizkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_others(sub)
    p.verbs = dict(sub.choices)
    return p


def _expected(e: BaseException) -> str | None:
    """The one-line message of an expected failure, or None for a bug."""
    from .train import TrainingDiverged

    if isinstance(e, TrainingDiverged):
        return str(e)  # it says what to change
    if isinstance(e, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)) \
            or (isinstance(e, OSError) and e.errno in _EXPECTED_ERRNOS):
        if e.strerror is None:
            return str(e)
        return f"{e.strerror}: {e.filename}" if e.filename else str(e.strerror)
    if isinstance(e, ValueError):
        return str(e)
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the ``vizkit`` command; returns the exit status.

    Expected failures (a missing file, a bad value, a diverged run, Ctrl-C or ``SIGTERM``) print
    one line ``vizkit <verb>: error: ...`` on stderr and return :data:`EXIT_FAILURE`; anything
    else is a bug and raises with its traceback. The command sets torch's thread count (from
    ``$VIZKIT_THREADS``, else one per CPU, at most 8).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``vizkit``; by default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, :data:`EXIT_FAILURE` (2) on an expected failure.

    Examples
    --------
    >>> import os
    >>> from vizkit import checkpoint
    >>> from vizkit.models import PTDeep
    >>> _ = checkpoint.save("tiny.pt", PTDeep([2, 3, 2]))
    >>> os.environ["VIZKIT_THREADS"] = "1"
    >>> main(["layers", "tiny.pt", "--input-shape", "2"])
    Layer         Type        Output shape  Params
    (model)       PTDeep      [1, 2]        17
      norm        Identity    [1, 2]        0
      flatten     Flatten     [1, 2]        0
      layers      Sequential  [1, 2]        17
        layers.0  Linear      [1, 3]        9
        layers.1  ReLU        [1, 3]        0
        layers.2  Linear      [1, 2]        8
    <BLANKLINE>
    Total params: 17
    0
    >>> main(["layers", "missing.pt"])  # one line on stderr, no traceback
    2
    >>> del os.environ["VIZKIT_THREADS"]
    """
    command = "vizkit"
    on_term = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_term else None
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # the verb's usage, not the top-level one
            parser.verbs[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        command = f"vizkit {args.command}"
        _check_out(args)
        _threads()
        return int(args.func(args) or 0)
    except KeyboardInterrupt as e:
        print(f"{command}: {'terminated' if isinstance(e, _Terminated) else 'interrupted'}",
              file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:  # `vizkit layers ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - expected failures become one line, bugs re-raise
        message = _expected(e)
        if message is None:
            raise
        print(f"{command}: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if on_term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


if __name__ == "__main__":
    sys.exit(main())
