"""RBFLayer (||x||^2 - 2 x.w + ||w||^2, no [B, K, D] tensor) against the seed's expand-to-B x K x D
version, forward + backward, side by side in one run.

    python bench/rbf.py [--threads 1] [--repeats 20]

Targets (issue 2) at B = 1024, K = 100, D = 784: >= 5x faster, >= 10x less peak memory, same
outputs to 1e-5.
"""

import argparse
import time
import tracemalloc

import torch

from vizkit.models import RBFLayer, rbf_expanded


def peak_bytes(fn) -> int:
    """Peak CPU memory that torch allocates during fn(), via the profiler's memory accounting."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # walk the allocation events in time order to get the peak of live bytes
    events = sorted((e for e in prof.events() if e.cpu_memory_usage != 0),
                    key=lambda e: e.time_range.start)
    live = peak = 0
    for e in events:
        live += e.cpu_memory_usage
        peak = max(peak, live)
    return peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("-B", type=int, default=1024)
    ap.add_argument("-K", type=int, default=100)
    ap.add_argument("-D", type=int, default=784)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layer = RBFLayer(a.D, a.K)
    with torch.no_grad():
        layer.sigma.uniform_(20.0, 40.0)  # sigma on the scale of the distances, so h is not all 0
    x = torch.randn(a.B, a.D, requires_grad=True)

    def ours():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()

    def seed():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        rbf_expanded(x, layer.centers, layer.sigma).sum().backward()

    h1 = layer(x).detach()
    h2 = rbf_expanded(x, layer.centers, layer.sigma).detach()
    err = (h1 - h2).abs().max().item()
    times = {}
    for name, fn in (("vizkit", ours), ("seed", seed)):
        fn()
        t = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        t.sort()
        times[name] = t[len(t) // 2]
    mem = {"vizkit": peak_bytes(ours), "seed": peak_bytes(seed)}
    print(f"B={a.B} K={a.K} D={a.D}, {a.threads} thread(s), median of {a.repeats}, forward+backward")
    print(f"{'':<8}{'ms':>10}{'peak MiB':>10}")
    for n in ("vizkit", "seed"):
        print(f"{n:<8}{times[n] * 1e3:>10.2f}{mem[n] / 2**20:>10.1f}")
    print(f"speed-up {times['seed'] / times['vizkit']:.1f}x (target >= 5x), "
          f"memory {mem['seed'] / max(mem['vizkit'], 1):.1f}x less (target >= 10x), "
          f"max |difference| {err:.2e} (target <= 1e-5), mean h {h1.mean():.3f}")


if __name__ == "__main__":
    main()
