"""How much of each receptive field sits on pixels the training data never inks.

For every receptive-field figure, prints per layer and per view the ratio of the mean |field| on
never-inked pixels (ink in < 1 % of the training images) to that on inked pixels (> 5 %). A field
that learned from the data is near 0 where no image ever puts ink (ratio well under 1); a field
that kept its random initial weights there is about 1. Target for the receptive_fields recipe:
at most 0.2 on every layer shown.

Run::

    python bench/receptive_ink.py gallery/receptive_fields    # the .npz files a build wrote
    python bench/receptive_ink.py                             # train the recipe's net and measure
    python bench/receptive_ink.py --compare                   # also the seed's setting (no decay)

The folder mode reads each ``<figure id>.npz`` (``fields`` of shape (views, units, H, W) or
(units, H, W), ``ink``, ``layer``, ``views``); the direct mode trains the recipe's net on
mnist-5k (or ``--data``) with ``recipes/receptive_fields.py``'s ``CONFIG``, as the gallery does.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _row(name: str, layer: str, views, ratios, extra: str = "") -> str:
    cells = "  ".join(f"{v}: {r:.3f}" for v, r in zip(views, ratios))
    worst = max(ratios)
    return f"{name:<32} {layer:<10} {cells}   max {worst:.3f} {'ok' if worst <= 0.2 else 'OVER 0.2'}{extra}"


def from_folder(folder: Path) -> int:
    from vizkit.analysis.receptive_fields import ink_ratio

    files = sorted(folder.glob("*.npz"))
    if not files:
        print(f"no .npz files in {folder}", file=sys.stderr)
        return 2
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            if "fields" not in z or "ink" not in z:
                print(f"{f.stem:<32} (no fields and ink map: skipped)")
                continue
            fields = z["fields"] if z["fields"].ndim == 4 else z["fields"][None]
            views = [str(v) for v in z["views"]] if "views" in z else ["fields"]
            ratios = [ink_ratio(v, z["ink"]) for v in fields]
            print(_row(f.stem, str(z["layer"]) if "layer" in z else "?", views, ratios))
    return 0


def _recipe_config() -> dict:
    spec = importlib.util.spec_from_file_location("_rf_recipe", ROOT / "recipes" / "receptive_fields.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.CONFIG)


def direct(data: str, compare: bool, seed: int) -> int:
    import torch

    from vizkit.analysis.receptive_fields import field_views, ink_frequency, mlp_layers
    from vizkit.data import load
    from vizkit.train import train_model

    torch.set_num_threads(1)
    split = load(data, seed=seed)
    ink = ink_frequency(split.x_train)
    print(f"{data}: {(ink < 0.01).sum()} never-inked pixels, {(ink > 0.05).sum()} inked, "
          f"{len(split.y_train)} training images")
    configs = {"recipe": _recipe_config()}
    if compare:
        configs["the deep defaults, no weight decay"] = {"epochs": 20}
    g = torch.Generator().manual_seed(seed)
    xs = split.x_test[torch.randperm(len(split.x_test), generator=g)[:500]]
    for label, cfg in configs.items():
        t = time.perf_counter()
        model, _, metrics = train_model("deep", split, {**cfg, "seed": seed})
        print(f"-- {label}: {cfg}  test accuracy {metrics['accuracy']:.3f}  "
              f"({time.perf_counter() - t:.0f} s)")
        for i, name, n in mlp_layers(model):
            out = i == len(mlp_layers(model))
            v = field_views(model, i, xs, ink, n_units=10 if out else (16 if i == 1 else 8))
            every = field_views(model, i, xs, ink, n_units=n)
            print(_row(f"layer {i} ({n} units), shown", name, v.views, v.ratios))
            if len(every.units) != len(v.units):
                print(_row(f"layer {i}, all {n} units", name, every.views, every.ratios))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", nargs="?", help="a folder of receptive-field .npz files")
    p.add_argument("--data", default="mnist-5k")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compare", action="store_true", help="also train without weight decay")
    a = p.parse_args(argv)
    if a.folder:
        return from_folder(Path(a.folder))
    return direct(a.data, a.compare, a.seed)


if __name__ == "__main__":
    sys.exit(main())
