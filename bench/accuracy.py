"""Test accuracy of every model with its default training settings.

    python bench/accuracy.py [--data mnist-5k] [--models logreg,mlp,cnn,rbf] [--threads 2]

Targets (issue 15), each default training (first run + refit on train + validation) in under
2 minutes on 2 cores: logreg >= 0.905, mlp (784-300-10) >= 0.960, cnn >= 0.985, rbf (2D
bottleneck) >= 0.950. The issue states them for the official 10,000-image MNIST test set; this
script measures mnist-5k's own 1,000 test images (never trained on) as the proxy, so one image
is 0.001. CPU seconds are the process's (all threads; the 2-minute check uses them, as wall
time on a shared machine counts the other users too); both include the refit. Results differ
slightly with --threads (float sums in another order change the training path).
On full Fashion-MNIST where installed (--data fashion-mnist): mlp >= 0.89, cnn >= 0.92.
Also: PTDeep([2, 10, 10, 2]) on sample_gmm_2d(6, 2, 10) with the lab's settings >= 0.95 train acc.
"""

import argparse
import time

import torch

from vizkit.data import Split, fingerprint, load, sample_gmm_2d
from vizkit.models import PTDeep
from vizkit.train import evaluate, fit, seed_everything, train_model

TARGETS = {"mnist-5k": {"logreg": 0.905, "mlp": 0.96, "deep": 0.95, "cnn": 0.985, "rbf": 0.95},
           "fashion-mnist": {"mlp": 0.89, "cnn": 0.92}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="mnist-5k")
    ap.add_argument("--models", default="logreg,mlp,cnn,rbf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    split = load(args.data, seed=args.seed)
    print(f"{split!r}, {args.threads} threads")
    print(f"{'model':<8}{'test acc':>10}{'target':>8}{'ok':>5}{'epochs':>8}{'best':>6}{'refit':>7}"
          f"{'cpu s':>8}{'wall s':>8}")
    for name in args.models.split(","):
        t0, c0 = time.perf_counter(), time.process_time()
        _, hist, m = train_model(name, split, {"progress": False, "seed": args.seed})
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        target = TARGETS.get(args.data, {}).get(name)
        # the 2-minute budget is for mnist-5k; full data sets are judged on accuracy alone. CPU
        # seconds, not wall: on a shared machine wall time measures the other users too
        fast = cpu < 120 or args.data != "mnist-5k"
        ok = "" if target is None else ("yes" if m["accuracy"] >= target and fast else "NO")
        print(f"{name:<8}{m['accuracy']:>10.4f}{target if target else '-':>8}{ok:>5}"
              f"{len(hist.epochs):>8}{hist.best_epoch:>6}{m.get('refit_epochs', 0):>7}"
              f"{cpu:>8.1f}{sec:>8.1f}", flush=True)

    X, Y = sample_gmm_2d(6, 2, 10, seed=100)
    X, Y = torch.tensor(X, dtype=torch.float32), torch.tensor(Y)
    gmm = Split("gmm", X, Y, X[:0], Y[:0], X, Y, ("0", "1"), (2,), fingerprint(X, Y))
    seed_everything(args.seed)
    net = PTDeep([2, 10, 10, 2])
    t0 = time.perf_counter()
    fit(net, gmm, {"epochs": 10_000, "batch_size": 0, "optimizer": "sgd", "lr": 0.1,
                   "param_lambda": 1e-4, "progress": False})
    acc = evaluate(net, X, Y)["accuracy"]
    print(f"PTDeep([2,10,10,2]) on sample_gmm_2d(6,2,10), 1e4 full-batch steps: train acc "
          f"{acc:.4f} (target 0.95) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
