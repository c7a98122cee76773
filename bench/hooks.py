"""Cost of recording every leaf layer, side by side with the plain forward pass.

Run:  python bench/hooks.py            (one thread, about a minute and a half)
      python bench/hooks.py --threads 4 --rounds 9 --batch 8

Models: resnet18 (batch 16, 224 px; goal: vizkit steady <= 1.10x the plain forward), then the
vizkit MLP and CNN from ``build_default`` (batch 128, 28 px; goal: vizkit's default mode
<= 1.10x). All rows of a table are timed in one run, interleaved round by round, median of the
rounds. A sample of the small models is a loop of passes of one variant (``--sample`` seconds
of plain passes: about 30 MLP passes, one CNN pass), as a loop over batches runs them. By
default the clock is this process's CPU time, user + system (page faults included), which
stays stable on a busy shared machine; --clock wall for elapsed time. Rows:
- plain forward (eval, no_grad);
- vizkit record, steady: every leaf, in-place safe, copied into CaptureBuffers reused
  across forward passes (what a loop over batches reaches; ``collect`` does the same);
- vizkit record, cold: the default, no buffers: captures are kept by reference and copied
  only when an in-place operation is about to write them (copy-on-write), so every
  forward pass needs new memory;
- torchvision create_feature_extractor returning the same layers (resnet18);
- plain reference hooks (``outputs.append(o)``): fast but corrupted by in-place ops; the
  control that keeps the same activations alive with no vizkit code at all;
- (small models) the same reference hooks inside vizkit's copy-on-write mode: the cost of the
  in-place guard alone;
- (small models) torch forward hooks that do nothing: the cost of torch's hook machinery
  (registering, removing, and the slower module call) before anything is kept.
The ``faults`` column counts page faults per pass. Memory that glibc handed back to the system
must be faulted in again when used, and whether glibc hands it back follows the sizes freed
earlier in the process (its thresholds move): in a fresh process even the plain forward of the
vizkit CNN takes thousands of faults a pass, and keeping activations alive (any recorder does)
can take thousands more. So every model is timed twice in the same run: first as the process's
allocator stands, then after telling glibc to keep freed memory (``mallopt``, for every row
alike, the plain forward included; jemalloc and tcmalloc, which PyTorch's CPU performance
tuning guide recommends, also keep freed memory for reuse). The goals are judged in the second
state, where no row takes faults and the ratios measure the recording code, not the allocator's
history; the summary prints both.
The ``bn1 min`` note shows the corruption: a correct record of ``bn1`` has negative values.
Under each small-model table, what bounds the overhead that remains: the Python cost of one
hooked call (torch's hook dispatch + vizkit's hook), of one ``record`` block (resolve, install,
remove), and of one operation seen by the copy-on-write mode, each timed alone, with their sum
for one forward pass next to the measured difference; and the ``bound`` line, which splits the
default mode's overhead into torch's hook machinery, keeping the activations alive, the guard,
and vizkit's own Python, from the control rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import statistics
import sys
import time
from typing import Callable

import torch

from vizkit.hooks import CaptureBuffers, layer_names, record


GOAL_SMALL = 1.10  # vizkit record, default mode, on the vizkit MLP and CNN
GOAL_RESNET = 1.10  # vizkit record, steady, on resnet18
STATES = {"as found": "allocator as this process left it", "kept": "glibc keeping freed memory (mallopt)"}
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = time.process_time


def _minor_faults() -> int:
    """Page faults of this process so far that needed no disk: mostly new memory touched first."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _time(fn: Callable[[], object], passes: int = 1) -> tuple[float, float]:
    """Run ``fn`` ``passes`` times in a row, dropping what it returned each time, all timed
    (a loop over batches pays for both); returns the time and the page faults per pass."""
    faults, start = _minor_faults(), _clock()
    for _ in range(passes):
        result = fn()
        del result
    return (_clock() - start) / passes, (_minor_faults() - faults) / passes


def measure(variants: dict[str, Callable[[], object]], rounds: int, warmup: int,
            sample_s: float = 0.0) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Interleave the variants round by round so drifting load hits them alike. One sample of a
    variant is as many passes in a row as fill ``sample_s`` seconds of the plain forward (at
    least one): what a loop over batches runs, not one pass among other code. Returns the times
    per pass and the page faults per pass (median over the rounds), by variant."""
    plain_s, _ = _time(variants["plain forward"])
    passes = max(1, round(sample_s / max(plain_s, 1e-9)))
    for _ in range(warmup):
        for fn in variants.values():
            _time(fn, passes)
    times: dict[str, list[float]] = {k: [] for k in variants}
    faults: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            t, f = _time(fn, passes)
            times[name].append(t)
            faults[name].append(f)
    return times, {k: statistics.median(v) for k, v in faults.items()}


def table(title: str, times: dict[str, list[float]], faults: dict[str, float], notes: dict[str, str],
          goal: str) -> None:
    base = statistics.median(times["plain forward"])
    print(f"\n{title}")
    print(f"{'variant (per forward pass)':<44}{'median ms':>11}{'min ms':>9}{'ratio':>8}{'faults':>8}  {'note'}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<44}{med * 1e3:>11.1f}{min(ts) * 1e3:>9.1f}{med / base:>7.2f}x"
              f"{faults[name]:>8.0f}  {notes.get(name, '')}")
    print(f"goal: {goal}  (faults: page faults per forward pass, median; each maps in 4 KiB of new memory)")


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
                     mode: Callable[[], object], keep: bool = True) -> Callable[[], object]:
    """A forward pass whose hooks keep a detached reference to every leaf's output (or, with
    ``keep=False``, do nothing at all), inside ``mode()`` (a context manager)."""

    def refs_pass() -> object:
        refs: list[torch.Tensor] = []
        hook = (lambda m, i, o: refs.append(o.detach())) if keep else _noop
        handles = [model.get_submodule(n).register_forward_hook(hook) for n in leaves]
        try:
            with torch.no_grad(), mode():
                model(x)
        finally:
            for h in handles:
                h.remove()
        return refs

    return refs_pass


def bench_resnet(args: argparse.Namespace, allocator: str) -> float:
    """resnet18: returns the steady mode's ratio to the plain forward."""
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
    times, faults = measure(variants, args.rounds, args.warmup)

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
        f"{len(leaves)} leaf modules ({len(nodes)} leaf calls) recorded, {args.rounds} rounds; {allocator}",
        times,
        faults,
        notes,
        f"vizkit steady <= {GOAL_RESNET:.2f}x the plain forward (cold reported for reference)",
    )
    return steady / base


def bench_vizkit_model(args: argparse.Namespace, name: str, allocator: str) -> float:
    """The vizkit MLP or CNN at batch 128: returns the default mode's ratio to the plain forward."""
    from vizkit.models import build_default

    x = torch.rand(128, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = build_default(name, (1, 28, 28), 10).eval()
    leaves = layer_names(model, leaves=True)
    variants = recorders(model, x, leaves)
    variants["plain reference hooks + copy-on-write mode"] = _refs_in_mode(model, x, leaves)
    variants["torch forward hooks that do nothing"] = _reference_hooks(
        model, x, leaves, contextlib.nullcontext, keep=False)
    times, faults = measure(variants, args.rounds * 5, args.warmup * 2, sample_s=args.sample)
    table(
        f"vizkit {name} (build_default, 1x28x28 -> 10), eval, no_grad, batch 128, "
        f"{len(leaves)} leaf modules recorded, {args.rounds * 5} rounds; {allocator}",
        times,
        faults,
        {},
        f"vizkit record, default (copy-on-write) <= {GOAL_SMALL:.2f}x the plain forward",
    )
    overhead(model, x, leaves, times)
    return _ratio(times, "vizkit record, cold (default, copy-on-write)")


def _ratio(times: dict[str, list[float]], name: str) -> float:
    return statistics.median(times[name]) / statistics.median(times["plain forward"])


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed memory in the heap (no trimming, no mmap for large blocks),
    from now on, for every allocation of this process. False where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4
    return bool(mallopt(m_trim_threshold, 2**31 - 1)) and bool(mallopt(m_mmap_max, 0))


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
    noop = statistics.median(times["torch forward hooks that do nothing"])
    refs = statistics.median(times["plain reference hooks"])
    moded_refs = statistics.median(times["plain reference hooks + copy-on-write mode"])
    print(f"  bound: torch's hook machinery (hooks that do nothing) costs {noop / base - 1:+.1%}; "
          f"keeping the activations alive {(refs - noop) / base:+.1%}; the in-place guard (the mode) "
          f"{(moded_refs - refs) / base:+.1%}; together {moded_refs / base:.2f}x before any vizkit "
          f"code; vizkit's own Python (hook bodies, resolve, Recording, exit checks) "
          f"{(cold - moded_refs) / base:+.1%}")
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
    parser.add_argument("--sample", type=float, default=0.02,
                        help="seconds of plain forward passes per timed sample of the vizkit models "
                        "(default 0.02: about 30 MLP passes, one CNN pass)")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    torch.set_num_threads(args.threads)
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), clock {args.clock}, python "
        f"{sys.version.split()[0]}, CPU; malloc env: {malloc or 'default'}"
    )
    start = time.perf_counter()
    ratios: dict[tuple[str, str], float] = {}
    for state, allocator in STATES.items():
        if state == "kept" and not keep_freed_memory():
            print("\n(the C library is not glibc: the run with freed memory kept is skipped)")
            break
        print(f"\n=== {allocator} ===")
        if not args.skip_resnet:
            ratios["resnet18, vizkit steady", state] = bench_resnet(args, allocator)
        for name in ("mlp", "cnn"):
            ratios[f"vizkit {name}, vizkit default", state] = bench_vizkit_model(args, name, allocator)
    print("\nsummary (ratio to the plain forward, goal <= 1.10x; the goal is judged with freed memory "
          "kept, where no row takes page faults; as found, the faults follow the allocator's history)")
    for (name, state), ratio in ratios.items():
        goal = GOAL_RESNET if name.startswith("resnet") else GOAL_SMALL
        verdict = ("met" if ratio <= goal else "NOT met") if state == "kept" else "(for reference)"
        print(f"  {name:<28}{STATES[state]:<40}{ratio:>6.2f}x  {verdict}")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
