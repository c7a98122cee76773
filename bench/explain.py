"""`vizkit explain` on the gallery's CNN: build time for 100 test images and the page's weight.

    python bench/explain.py                  # CNN, 100 images, 2 torch threads
    python bench/explain.py --model mlp      # the gallery's MLP instead
    python bench/explain.py --images 30 --threads 1

The model is the explain_prediction recipe's (CNN with 16 and 32 channels, 6 epochs; MLP with 300
hidden units, 8 epochs) trained once on ``--data`` (default mnist-5k) and kept as a checkpoint in
``--cache`` (default: a folder under the system's temporary directory), so that a second run
measures the build alone ("with the model cached"). The report gives the wall-clock seconds of
each stage (selection and probabilities, attributions, faithfulness curves, units and
activation maximization, neighbours, the page) from one timed run of ``explain`` +
``write_explanation``, the process's CPU time (all threads), and the weight of the page.
Wall-clock time on a machine shared with other jobs is an upper bound.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

MODELS = {"cnn": ({"epochs": 6}, {"channels": (16, 32)}), "mlp": ({"epochs": 8}, {})}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn", choices=sorted(MODELS))
    parser.add_argument("--data", default="mnist-5k")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="checkpoint folder (default: a temp folder)")
    parser.add_argument("--out", default=None, help="page folder (default: a temp folder)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from vizkit import checkpoint
    from vizkit.data import load
    from vizkit.explain import explain, write_explanation
    from vizkit.train import train_model

    split = load(args.data, seed=args.seed)
    cache = Path(args.cache or Path(tempfile.gettempdir()) / "vizkit-bench-explain")
    ckpt = cache / f"{args.model}-{args.data}-{args.seed}.pt"
    if ckpt.is_file():
        model, _ = checkpoint.load(ckpt)
        how = "cached"
    else:
        cache.mkdir(parents=True, exist_ok=True)
        cfg, kw = MODELS[args.model]
        t = time.perf_counter()
        model, _, _ = train_model(args.model, split, {**cfg, "seed": args.seed, "log_every": 0},
                                  checkpoint=ckpt, **kw)
        how = f"trained now in {time.perf_counter() - t:.1f} s (run again for the cached case)"
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="vizkit-explain-"))
    t0, c0 = time.perf_counter(), time.process_time()
    expl = explain(model, split, n_images=args.images, seed=args.seed)
    t1 = time.perf_counter()
    page, arrays = write_explanation(expl, out)
    t2, c2 = time.perf_counter(), time.process_time()
    res = {"model": args.model, "data": args.data, "images": len(expl),
           "misclassified": int((expl.labels != expl.predictions).sum()),
           "threads": args.threads, "model_from": how, "explain_s": round(t1 - t0, 1),
           "page_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
           "cpu_s": round(c2 - c0, 1),
           "page_mb": round(page.stat().st_size / 1e6, 2),
           "arrays_mb": round(arrays.stat().st_size / 1e6, 2), "page": str(page)}
    print(f"{res['model']} on {res['data']} ({how}), {res['images']} test images "
          f"({res['misclassified']} misclassified), {args.threads} torch threads:")
    res["stages_s"] = expl.settings["seconds"]
    print("  stages (s): " + ", ".join(f"{k} {v}" for k, v in res["stages_s"].items()))
    print(f"  explain {res['explain_s']} s + page {res['page_s']} s = {res['total_s']} s; "
          f"CPU time {res['cpu_s']} s; page {res['page_mb']} MB, arrays {res['arrays_mb']} MB ({page})")
    return res


if __name__ == "__main__":
    main()
