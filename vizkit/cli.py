"""The ``vizkit`` command: train | evaluate | analyze | gallery | layers | datasets | search."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _threads() -> None:
    import torch

    n = int(os.environ.get("VIZKIT_THREADS", "0")) or max(1, min(os.cpu_count() or 1, 8))
    torch.set_num_threads(n)


def _load_data(name: str | None, data_dir: str | None, seed: int, download=None):
    from . import data

    if name is None:
        name = data.default_source(root=data_dir, download=download)
    return data.load(name, root=data_dir, download=download, seed=seed)


def cmd_train(args) -> int:
    from .train import TrainConfig, default_config, train_model
    from .models import list_models

    if args.model not in list_models():
        raise ValueError(f"--model must be one of {', '.join(list_models())}. Got {args.model!r} instead.")
    overrides = TrainConfig.parse_overrides(args.set or [])
    model_kw = {}
    if args.hidden:
        model_kw["hidden"] = tuple(int(h) for h in args.hidden.split(","))
    if args.dropout is not None:
        model_kw["dropout"] = args.dropout
    split = _load_data(args.data, args.data_dir, args.seed)
    cfg = default_config(args.model, n_train=len(split.y_train), seed=args.seed,
                         log_every=args.log_every, **overrides)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "model.pt"
    print(f"training {args.model} on {split!r}")
    model, hist, metrics = train_model(args.model, split, cfg, checkpoint=ckpt,
                                       tensorboard=args.tensorboard, **model_kw)
    summary = {"checkpoint": str(ckpt), "test_accuracy": metrics["accuracy"],
               "val_accuracy": metrics["val_acc"], "best_epoch": hist.best_epoch,
               "epochs_run": len(hist.epochs), "seconds": round(hist.seconds, 2)}
    from ._io import atomic_write_bytes

    atomic_write_bytes(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    print(json.dumps(summary, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from .checkpoint import load
    from .train import evaluate

    model, meta = load(args.checkpoint)
    d = meta.get("data", {})
    split = _load_data(args.data or d.get("name"), args.data_dir, int(meta.get("seed", 0)))
    if d.get("fingerprint") and d["fingerprint"] != split.fingerprint:
        print(f"note: data fingerprint differs from the checkpoint's ({d['fingerprint']} vs "
              f"{split.fingerprint})", file=sys.stderr)
    x, y = split.part(args.part)
    m = evaluate(model, x, y, classes=split.classes)
    print(f"{args.part} accuracy: {m['accuracy']:.4f}  loss: {m['loss']:.4f}  (n = {m['n']})")
    print(f"{'class':<14}{'precision':>10}{'recall':>10}{'AP':>8}")
    for c, p, r, ap in zip(m["classes"], m["precision"], m["recall"], m["average_precision"]):
        print(f"{str(c):<14}{p:>10.4f}{r:>10.4f}{ap:>8.4f}")
    print("confusion (rows: true, columns: predicted):")
    for row in m["confusion"]:
        print(" ".join(f"{v:5d}" for v in row))
    return 0


def cmd_analyze(args) -> int:
    from .checkpoint import load
    from .figures import NotApplicable, list_families, make_figures

    model, meta = load(args.checkpoint)
    names = [w.strip() for w in args.what.split(",") if w.strip()]
    if names == ["all"]:
        names, strict = list_families(), False
    else:
        strict = True
        bad = [n for n in names if n not in list_families()]
        if bad:
            raise ValueError(f"--what must be among {', '.join(list_families())} or 'all'. "
                             f"Got {', '.join(map(repr, bad))} instead.")
    d = meta.get("data", {})
    split = _load_data(args.data or d.get("name"), args.data_dir, int(meta.get("seed", 0)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._io import atomic_write_bytes
    from ._io import png_bytes

    status = 0
    for name in names:
        try:
            figs = make_figures(name, model, split, meta=meta, seed=args.seed)
        except NotApplicable as e:
            print(f"{name}: not applicable to this model: {e}", file=sys.stderr)
            if strict:
                status = 2
            continue
        for f in figs:
            data = png_bytes(f.fig, dpi=args.dpi)  # the gallery's deterministic PNG writer
            plt.close(f.fig)
            path = atomic_write_bytes(out / f"{f.id}.png", data)
            print(f"{path}: {f.caption}")
    return status


def cmd_layers(args) -> int:
    from . import hooks

    ref = args.model
    if Path(ref).is_file():
        from .checkpoint import load

        model, meta = load(ref)
        shape = (1, *meta["spec"].get("input_shape", ()))
    elif ref.startswith("torchvision:"):
        model = hooks.resolve_model_ref(ref)
        shape = hooks.example_input_shape(ref)
    else:
        raise ValueError(f"{ref!r} is neither a checkpoint file nor a reference such as "
                         "'torchvision:resnet18'.")
    if args.input_shape:
        shape = (1, *(int(s) for s in args.input_shape.split(",")))
    if len(shape) < 2:
        raise ValueError("cannot tell the input shape; pass --input-shape C,H,W")
    print(hooks.format_summary(hooks.summary(model, shape)))
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

    only = [s.strip() for s in args.only.split(",")] if args.only else None
    return build_gallery(args.out, data=args.data, data_dir=args.data_dir, only=only,
                         retrain=args.retrain, jobs=args.jobs)


def cmd_search(args) -> int:
    from .estimator import search_main

    return search_main(args)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="vizkit", description="Train small PyTorch networks and show what they learned.")
    p.add_argument("--version", action="version", version=f"vizkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_args(sp, default=None):
        sp.add_argument("--data", default=default, help="data source (see `vizkit datasets`)")
        sp.add_argument("--data-dir", default=None, help="data root (default $VIZKIT_DATA or ~/.cache/vizkit)")

    t = sub.add_parser("train", help="train a model and write a checkpoint")
    t.add_argument("--model", required=True, help="logreg, mlp, deep, cnn or rbf")
    data_args(t)
    t.add_argument("--out", required=True, help="output folder (model.pt, metrics.json)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--hidden", default=None, help="hidden sizes for mlp/deep, e.g. 360,187")
    t.add_argument("--dropout", type=float, default=None)
    t.add_argument("--log-every", type=int, default=100, help="print train-loss/train-err every N batches (0: off)")
    t.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="write per-epoch TensorBoard logs there (pip install 'vizkit[tensorboard]')")
    t.add_argument("set", nargs="*", metavar="KEY=VALUE", help="training options, e.g. lr=0.01 epochs=5 optimizer=sgd")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="accuracy, per-class table and confusion of a checkpoint")
    e.add_argument("checkpoint")
    data_args(e)
    e.add_argument("--part", default="test", choices=["train", "val", "test"])
    e.set_defaults(func=cmd_evaluate)

    a = sub.add_parser("analyze", help="write figures of a checkpoint")
    a.add_argument("checkpoint")
    a.add_argument("--what", default="all", help="comma list of weights, receptive-fields, actmax, bottleneck, "
                   "decision-surface, errors, attributions, embedding, or all")
    a.add_argument("--out", required=True)
    data_args(a)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--dpi", type=int, default=100)
    a.set_defaults(func=cmd_analyze)

    g = sub.add_parser("gallery", help="run the recipes and write the static HTML gallery")
    g.add_argument("--out", default="gallery")
    data_args(g)
    g.add_argument("--only", default=None, help="comma list of recipe names")
    g.add_argument("--retrain", action="store_true", help="ignore cached checkpoints")
    g.add_argument("--jobs", type=int, default=1)
    g.set_defaults(func=cmd_gallery)

    lay = sub.add_parser("layers", help="list a model's layers with output shapes and parameters")
    lay.add_argument("model", help="a checkpoint file, or torchvision:NAME (weights=None)")
    lay.add_argument("--input-shape", default=None, help="C,H,W of one example")
    lay.set_defaults(func=cmd_layers)

    d = sub.add_parser("datasets", help="list data sources and whether they are available offline")
    d.add_argument("--data-dir", default=None)
    d.set_defaults(func=cmd_datasets)

    s = sub.add_parser("search", help="random hyper-parameter search with cross-validation")
    s.add_argument("--model", default="deep")
    data_args(s, default="mnist-5k")
    s.add_argument("--n-iter", type=int, default=20)
    s.add_argument("--cv", type=int, default=3)
    s.add_argument("--jobs", "--n-jobs", dest="jobs", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True)
    s.add_argument("set", nargs="*", metavar="KEY=VALUE")
    s.set_defaults(func=cmd_search)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _threads()
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f"vizkit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vizkit layers ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
