"""Training throughput of ``vizkit.train.fit`` (batches gathered from in-memory tensors) against
the textbook loop over a ``DataLoader`` on a ``TensorDataset``: same model, batch size and
optimizer (Adam), side by side in one run. Also the MLP's training GFLOP/s as a fraction of a plain
sgemm measured in the same run (the machine's limit).

    python bench/throughput.py [--threads 1] [--batch 256] [--epochs 5] [--repeats 5]
                               [--device cpu|cuda]

A third route, "no data path", trains on batches sliced before the clock starts: the model's
own forward, backward and optimizer step with nothing else. No data path can beat it, so its ratio
to the DataLoader is the ceiling of the fit/DataLoader ratio on this machine.

Each route runs ``--repeats`` times, interleaved with the others, after one warm-up run of each;
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


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def dataloader_loop(model, x, y, batch, epochs, lr, device):
    """The textbook loop: a shuffling DataLoader over a TensorDataset, batches moved per step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def no_data_path_loop(model, batches, epochs, lr):
    """The same step on batches prepared in advance (fused Adam, like fit): the ceiling."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    model.train()
    for _ in range(epochs):
        for xb, yb in batches:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def sgemm_gflops(m, k, n, device, repeats=50, blocks=5):
    """The best of ``blocks`` timings of ``repeats`` products into one output buffer."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    c = torch.empty(m, n, device=device)
    for _ in range(5):
        torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(blocks):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b, out=c)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n * repeats / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    full = load("mnist-5k")
    x = torch.cat([full.x_train, full.x_val])
    y = torch.cat([full.y_train, full.y_val])
    n = len(y)
    # no validation part: measure the training loop alone
    split = Split("bench", x, y, x[:0], y[:0], x[:0], y[:0], full.classes, full.input_shape,
                  fingerprint(x, y))
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(n, generator=g)
    batches = [(x[perm[i:i + a.batch]].to(device), y[perm[i:i + a.batch]].to(device))
               for i in range(0, n, a.batch)]
    print(f"{n} images, batch {a.batch}, {a.epochs} epochs, Adam, device {device}, "
          f"{a.threads} CPU thread(s), best of {a.repeats}")
    print(f"{'model':<8}{'fit':>11}{'DataLoader':>12}{'no data path':>14}  "
          f"{'fit/DataLoader':>15}{'ceiling':>9}{'target':>8}   (samples/s)")
    results = {}
    for name, target in (("mlp", 1.2), ("logreg", 3.0)):
        rates = {}
        # a warm-up run of each route, then interleaved repeats; the best of each counts
        for rep in range(a.repeats + 1):
            for route in ("fit", "loader", "ceiling"):
                seed_everything(0)
                model = build_default(name, full.input_shape, 10).to(device)
                epochs = 1 if rep == 0 else a.epochs
                _sync(device)
                t0 = time.perf_counter()
                if route == "fit":
                    fit(model, split, {"epochs": epochs, "batch_size": a.batch, "lr": 1e-3,
                                       "progress": False, "device": str(device)})
                elif route == "loader":
                    dataloader_loop(model, x, y, a.batch, epochs, 1e-3, device)
                else:
                    no_data_path_loop(model, batches, epochs, 1e-3)
                _sync(device)
                if rep:
                    rate = epochs * n / (time.perf_counter() - t0)
                    rates[route] = max(rates.get(route, 0), rate)
        results[name] = rates
        print(f"{name:<8}{rates['fit']:>11,.0f}{rates['loader']:>12,.0f}{rates['ceiling']:>14,.0f}"
              f"  {rates['fit'] / rates['loader']:>15.2f}"
              f"{rates['ceiling'] / rates['loader']:>9.2f}{target:>8}")
    # MLP 784-300-10: forward 2*(784*300 + 300*10) flops per sample; backward twice that except
    # the input gradient of the first layer, which is not needed.
    fwd = 2 * (784 * 300 + 300 * 10)
    train_flops = fwd + 2 * fwd - 2 * 784 * 300
    mlp_gflops = results["mlp"]["fit"] * train_flops / 1e9
    peak = sgemm_gflops(a.batch, 784, 300, device)
    print(f"MLP training {mlp_gflops:.1f} GFLOP/s; sgemm {a.batch}x784x300 {peak:.1f} GFLOP/s; "
          f"fraction {mlp_gflops / peak:.2f} (target >= 0.75)")


if __name__ == "__main__":
    main()
