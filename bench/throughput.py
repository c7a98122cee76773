"""Training throughput of ``vizkit.train.fit`` (index slices of in-memory tensors) against the
textbook loop over a ``DataLoader`` on a ``TensorDataset``: same model, batch size, optimizer,
side by side in one run. Also the MLP's training GFLOP/s as a fraction of a plain sgemm measured
in the same run (the machine's limit).

    python bench/throughput.py [--threads 1] [--batch 256] [--epochs 5] [--repeats 5]

Each route runs ``--repeats`` times, interleaved with the other, after one warm-up run of each;
the best run of each route counts (the least disturbed by the rest of the machine), and so does
the best of the sgemm blocks.

Targets (issue 2): >= 1.2x on the MLP, >= 3x on logistic regression; MLP GFLOP/s >= 0.75 of sgemm
at a batch of 256.
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from vizkit.data import Split, fingerprint, load
from vizkit.models import build_default
from vizkit.train import fit, seed_everything


def dataloader_loop(model, x, y, batch, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def sgemm_gflops(m, k, n, repeats=50, blocks=5):
    """The best of ``blocks`` timings of ``repeats`` products into one output buffer."""
    a, b, c = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
    for _ in range(5):
        torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n * repeats / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    full = load("mnist-5k")
    x = torch.cat([full.x_train, full.x_val])
    y = torch.cat([full.y_train, full.y_val])
    n = len(y)
    # no validation part: measure the training loop alone
    split = Split("bench", x, y, x[:0], y[:0], x[:0], y[:0], full.classes, full.input_shape,
                  fingerprint(x, y))
    print(f"{n} images, batch {a.batch}, {a.epochs} epochs, Adam, {a.threads} thread(s), "
          f"best of {a.repeats}")
    print(f"{'model':<8}{'fit samples/s':>15}{'DataLoader samples/s':>22}{'ratio':>8}{'target':>8}")
    results = {}
    for name, target in (("mlp", 1.2), ("logreg", 3.0)):
        rates = {}
        # a warm-up run of each route, then interleaved repeats; the best of each counts
        for rep in range(a.repeats + 1):
            for route in ("fit", "loader"):
                seed_everything(0)
                model = build_default(name, full.input_shape, 10)
                epochs = 1 if rep == 0 else a.epochs
                t0 = time.perf_counter()
                if route == "fit":
                    fit(model, split, {"epochs": epochs, "batch_size": a.batch, "lr": 1e-3,
                                       "progress": False})
                else:
                    dataloader_loop(model, x, y, a.batch, epochs, 1e-3)
                if rep:
                    rate = epochs * n / (time.perf_counter() - t0)
                    rates[route] = max(rates.get(route, 0), rate)
        results[name] = rates
        print(f"{name:<8}{rates['fit']:>15,.0f}{rates['loader']:>22,.0f}"
              f"{rates['fit'] / rates['loader']:>8.2f}{target:>8}")
    # MLP 784-300-10: forward 2*(784*300 + 300*10) flops per sample; backward twice that except
    # the input gradient of the first layer, which is not needed.
    fwd = 2 * (784 * 300 + 300 * 10)
    train_flops = fwd + 2 * fwd - 2 * 784 * 300
    mlp_gflops = results["mlp"]["fit"] * train_flops / 1e9
    peak = sgemm_gflops(a.batch, 784, 300)
    print(f"MLP training {mlp_gflops:.1f} GFLOP/s; sgemm {a.batch}x784x300 {peak:.1f} GFLOP/s; "
          f"fraction {mlp_gflops / peak:.2f} (target >= 0.75)")


if __name__ == "__main__":
    main()
