"""Cost of recording every leaf layer, side by side with the plain forward pass.

Run:  python bench/hooks.py            (one thread, about 2-3 minutes)
      python bench/hooks.py --threads 4 --rounds 9 --batch 8

Rows (all timed in one run, interleaved round by round, median of the rounds; by default the
clock is this process's CPU time, user + system, which includes page faults and stays stable
on a busy shared machine; --clock wall for elapsed time):
- plain forward (eval, no_grad);
- vizkit record, steady: every leaf, in-place safe, copied into CaptureBuffers reused
  across forward passes (what a loop over batches reaches; ``collect`` does the same);
- vizkit record, cold: the default, no buffers: captures are kept by reference and copied
  only when an in-place operation is about to write them (copy-on-write), so every
  forward pass needs new memory;
- torchvision create_feature_extractor returning the same layers;
- plain reference hooks (``outputs.append(o)``): fast but corrupted by in-place ops; on the
  small models the control that keeps the same activations alive with no vizkit code at all;
- (small models) the same reference hooks inside vizkit's copy-on-write mode: the cost of the
  in-place guard alone. The ``bound`` line splits the default mode's overhead into keeping the
  activations alive, the guard, and vizkit's own Python.
Freed memory that glibc hands back to the system must be faulted in again, which is what
makes new capture memory expensive; --keep-freed-memory reruns with glibc keeping it, for
every row alike. The ``bn1 min`` note shows the corruption: a correct record of ``bn1`` has
negative values.
Then the vizkit MLP and CNN at batch 128 (goal: <= 1.10x the plain forward in the default
mode), and what bounds the overhead that remains: the Python cost of one hooked call (torch's
hook dispatch + vizkit's hook), of one ``record`` block (resolve, install, remove), and of one
operation seen by the copy-on-write mode, each timed alone; their sum for one forward pass is
printed next to the measured difference.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from typing import Callable

import torch

from vizkit.hooks import CaptureBuffers, layer_names, record


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = time.process_time


def _time(fn: Callable[[], object]) -> float:
    """Run ``fn`` and drop what it returned, both timed (a loop pays for both)."""
    start = _clock()
    result = fn()
    del result
    return _clock() - start


def measure(variants: dict[str, Callable[[], object]], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Interleave the variants round by round so drifting load hits them alike."""
    for _ in range(warmup):
        for fn in variants.values():
            _time(fn)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(_time(fn))
    return times


def table(title: str, times: dict[str, list[float]], notes: dict[str, str], goal: str) -> None:
    base = statistics.median(times["plain forward"])
    print(f"\n{title}")
    print(f"{'variant':<44}{'median ms':>11}{'min ms':>9}{'ratio':>8}  {'note'}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<44}{med * 1e3:>11.1f}{min(ts) * 1e3:>9.1f}{med / base:>7.2f}x  {notes.get(name, '')}")
    print(f"goal: {goal}")


def recorders(model: torch.nn.Module, x: torch.Tensor, leaves: list[str]) -> dict[str, Callable[[], object]]:
    buffers = CaptureBuffers()

    def plain() -> object:
        with torch.no_grad():
            return model(x)

    def steady() -> object:
        # the previous recording was dropped, so its buffers are free again
        with torch.no_grad(), record(model, leaves, buffers=buffers) as rec:
            model(x)
        return rec

    steady.buffers = buffers  # type: ignore[attr-defined]  # what one forward pass copies

    def cold() -> object:
        with torch.no_grad(), record(model, leaves) as rec:
            model(x)
        return rec

    return {
        "plain forward": plain,
        "vizkit record, steady (CaptureBuffers)": steady,
        "vizkit record, cold (default, copy-on-write)": cold,
        "plain reference hooks": _reference_hooks(model, x, leaves, contextlib.nullcontext),
    }


def _reference_hooks(model: torch.nn.Module, x: torch.Tensor, leaves: list[str],
                     mode: Callable[[], object]) -> Callable[[], object]:
    """A forward pass whose hooks keep a detached reference to every leaf's output, inside
    ``mode()`` (a context manager)."""

    def refs_pass() -> object:
        refs: list[torch.Tensor] = []
        handles = [
            model.get_submodule(n).register_forward_hook(lambda m, i, o: refs.append(o.detach()))
            for n in leaves
        ]
        try:
            with torch.no_grad(), mode():
                model(x)
        finally:
            for h in handles:
                h.remove()
        return refs

    return refs_pass


def bench_resnet(args: argparse.Namespace) -> None:
    import torchvision
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    leaves = layer_names(model, leaves=True)
    variants = recorders(model, x, leaves)

    leaf_set = set(leaves)
    nodes = [n for n in get_graph_node_names(model)[1] if re.sub(r"_\d+$", "", n) in leaf_set]
    fx = create_feature_extractor(model, return_nodes=nodes).eval()

    def feature_extractor() -> object:
        with torch.no_grad():
            return fx(x)

    variants["torchvision create_feature_extractor"] = feature_extractor
    plain_refs = variants.pop("plain reference hooks")
    variants["plain reference hooks"] = plain_refs  # last, as before
    times = measure(variants, args.rounds, args.warmup)

    with torch.no_grad():
        bn1_true = model.bn1(model.conv1(x)).min().item()
        ours = variants["vizkit record, steady (CaptureBuffers)"]()["bn1"].min().item()
        ours_cold = variants["vizkit record, cold (default, copy-on-write)"]()["bn1"].min().item()
        fx_bn1 = feature_extractor()["bn1"].min().item()
        refs_bn1 = plain_refs()[leaves.index("bn1")].min().item()
    notes = {
        "vizkit record, steady (CaptureBuffers)": f"bn1 min {ours:+.2f} (correct)",
        "vizkit record, cold (default, copy-on-write)": f"bn1 min {ours_cold:+.2f} (correct)",
        "torchvision create_feature_extractor": f"bn1 min {fx_bn1:+.2f} (clipped by in-place ReLU)",
        "plain reference hooks": f"bn1 min {refs_bn1:+.2f} (clipped by in-place ReLU)",
        "plain forward": f"bn1 min {bn1_true:+.2f} (true value)",
    }
    copied = variants["vizkit record, steady (CaptureBuffers)"].buffers.nbytes  # type: ignore[attr-defined]
    src = torch.rand(16 * 2**20)  # 64 MiB
    dst = torch.empty_like(src)
    bandwidth = src.nbytes / _per_call(lambda: dst.copy_(src), n=3, rounds=5)
    del src, dst
    base = statistics.median(times["plain forward"])
    steady = statistics.median(times["vizkit record, steady (CaptureBuffers)"])
    notes["vizkit record, steady (CaptureBuffers)"] += (
        f"; copies {copied / 2**20:.0f} MiB a pass = {copied / bandwidth * 1e3:.0f} ms at this "
        f"machine's copy_ speed ({bandwidth / 1e9:.1f} GB/s), measured +{(steady - base) * 1e3:.0f} ms"
    )
    table(
        f"resnet18 (weights=None), eval, no_grad, batch {args.batch}x3x224x224, "
        f"{len(leaves)} leaf modules ({len(nodes)} leaf calls) recorded, {args.rounds} rounds",
        times,
        notes,
        "vizkit steady <= 1.10x the plain forward (cold reported for reference)",
    )


def bench_vizkit_models(args: argparse.Namespace) -> None:
    try:
        from vizkit.models import build_default
    except ImportError as exc:  # pragma: no cover - only while the models package is missing
        print(f"\nvizkit MLP / CNN: skipped ({exc})")
        return
    x = torch.rand(128, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for name in ("mlp", "cnn"):
        torch.manual_seed(0)
        model = build_default(name, (1, 28, 28), 10).eval()
        leaves = layer_names(model, leaves=True)
        variants = recorders(model, x, leaves)
        variants["plain reference hooks + copy-on-write mode"] = _refs_in_mode(model, x, leaves)
        times = measure(variants, args.rounds * 10, args.warmup * 5)
        table(
            f"vizkit {name} (build_default, 1x28x28 -> 10), eval, no_grad, batch 128, "
            f"{len(leaves)} leaf modules recorded, {args.rounds * 10} rounds",
            times,
            {},
            "vizkit record, default (copy-on-write) <= 1.10x the plain forward",
        )
        overhead(model, x, leaves, times)


def _refs_in_mode(model: torch.nn.Module, x: torch.Tensor, leaves: list[str]) -> Callable[[], object]:
    """The reference hooks inside vizkit's copy-on-write mode, with no other vizkit code: what
    any in-place-safe recorder made of forward hooks and a torch function mode pays."""
    from vizkit.hooks._cow import CopyOnWrite

    return _reference_hooks(model, x, leaves, CopyOnWrite)


def _per_call(fn: Callable[[], object], n: int = 2000, rounds: int = 7) -> float:
    """Seconds per call of ``fn``: the least over ``rounds`` of ``n`` calls (load only adds)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = _clock()
        for _ in range(n):
            fn()
        best = min(best, (_clock() - start) / n)
    return best


def _ops_per_forward(model: torch.nn.Module, x: torch.Tensor) -> int:
    """How many torch functions one forward pass calls (each passes through the mode)."""
    from torch.overrides import TorchFunctionMode

    class Count(TorchFunctionMode):
        n = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Count():
        model(x)
    return Count.n


def overhead(model: torch.nn.Module, x: torch.Tensor, leaves: list[str], times: dict) -> None:
    """What one recorded forward pass costs on top of the plain one, part by part."""
    from vizkit.hooks._cow import CopyOnWrite

    ident, t = torch.nn.Identity(), torch.randn(8, 4)
    plain_call = _per_call(lambda: ident(t))
    handle = ident.register_forward_hook(lambda m, i, o: None)
    dispatch = _per_call(lambda: ident(t)) - plain_call  # torch's path for a module with a hook
    handle.remove()
    with torch.no_grad(), record(ident, [""], strict=False) as rec:
        hook = next(reversed(ident._forward_hooks.values()))
        body = _per_call(lambda: hook(ident, (t,), t))  # vizkit's hook, default mode
    del rec
    block = _per_call(lambda: _empty_block(model, leaves), n=300)
    modules = [model.get_submodule(n) for n in leaves]
    handles = _per_call(lambda: _register_remove(modules), n=300)  # torch's part of the block
    a, b = torch.randn(4), torch.randn(4)
    bare = _per_call(lambda: torch.add(a, b))
    with CopyOnWrite() as mode:
        mode.protect(torch.randn(2))  # something shared, so that every check runs
        moded = _per_call(lambda: torch.add(a, b))
    n_calls, n_ops = len(leaves), _ops_per_forward(model, x)
    parts = {
        f"torch hook dispatch, per hooked call (x{n_calls})": (dispatch, n_calls),
        f"vizkit hook body, per call (x{n_calls})": (body, n_calls),
        f"torch register_forward_hook + remove, per layer (x{n_calls})": (handles / n_calls, n_calls),
        "vizkit rest of a block: resolve, mode, Recording (x1)": (block - handles, 1),
        f"copy-on-write mode, per torch op (x{n_ops})": (moded - bare, n_ops),
    }
    print(f"{'  part':<60}{'us each':>9}{'us / forward':>14}")
    total = 0.0
    for name, (each, n) in parts.items():
        total += each * n
        print(f"  {name:<58}{each * 1e6:>9.2f}{each * n * 1e6:>14.1f}")
    base = statistics.median(times["plain forward"])
    cold = statistics.median(times["vizkit record, cold (default, copy-on-write)"])
    refs = statistics.median(times["plain reference hooks"])
    moded_refs = statistics.median(times["plain reference hooks + copy-on-write mode"])
    print(f"  bound: keeping the activations alive through hooks costs {refs / base - 1:+.1%}; the "
          f"in-place guard (the mode) {(moded_refs - refs) / base:+.1%}; together "
          f"{moded_refs / base:.2f}x before any vizkit code; vizkit's own Python (hook bodies, "
          f"resolve, Recording, exit checks) {(cold - moded_refs) / base:+.1%}")
    print(f"  Python parts together: {total * 1e6:.0f} us = {total / base:.1%} of the plain forward; "
          f"measured difference (default mode): {(cold - base) * 1e6:.0f} us = {cold / base - 1:.1%} "
          "(the rest: the captures stay alive, so later tensors get other, colder memory; "
          "'plain reference hooks' keeps the same tensors alive with no vizkit code)")


def _register_remove(modules: list[torch.nn.Module]) -> None:
    for h in [m.register_forward_hook(_noop) for m in modules]:
        h.remove()


def _noop(module: torch.nn.Module, args: tuple, output: object) -> None:
    return None


def _empty_block(model: torch.nn.Module, leaves: list[str]) -> None:
    with record(model, leaves, strict=False):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per variant (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument("--batch", type=int, default=16, help="resnet18 batch size (default 16)")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this process's CPU time, user + system (page faults included), robust on a "
        "shared machine; wall: elapsed time (use on an idle machine, or with --threads > 1)",
    )
    parser.add_argument("--skip-resnet", action="store_true", help="only the vizkit models")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="rerun with glibc told to keep freed memory (MALLOC_TRIM_THRESHOLD_, "
        "MALLOC_MMAP_MAX_), applied alike to every row: shows the cost without first-touch page faults",
    )
    args = parser.parse_args(argv)
    if args.keep_freed_memory and "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        env = dict(os.environ, MALLOC_TRIM_THRESHOLD_=str(2**40), MALLOC_MMAP_MAX_="0")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)
    global _clock
    _clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), clock {args.clock}, python "
        f"{sys.version.split()[0]}, CPU; malloc env: {malloc or 'default'}"
    )
    start = time.perf_counter()
    if not args.skip_resnet:
        bench_resnet(args)
    bench_vizkit_models(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
