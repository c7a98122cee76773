"""Activation maximization: N targets in one batch against one target at a time.

    python bench/actmax.py            # ~1-2 minutes on one CPU thread
    python bench/actmax.py --epochs 0 # untrained CNN (no data needed)
    python bench/actmax.py --device cuda   # on a GPU (wall clock, synchronized)

The spine's CNN (``vizkit.models.build_default('cnn', (1, 28, 28), 10)``) is trained briefly on
``mnist-5k`` (or left untrained when the data cannot be loaded; the report says which). Then the
10 class logits are maximized for ``--steps`` (256, half the default) steps with the gallery's
other settings (the defaults of ``activation_maximization``, with the training images as the data prior when the data loads): once as ONE batch of 10 images, once as 10 runs of one image, with the same
settings and no random transforms. The report gives the wall-clock speed-up and, per target,
the activation reached by each run.

Both runs optimize the same problem: the model is in eval mode (batch norm uses its running
statistics), so image k's gradient depends on image k only and Adam works per pixel; the two
results differ only by floating-point rounding (a batch of 10 runs other convolution kernels than
a batch of 1, and Adam's normalized steps amplify the rounding of near-zero gradients).
The script also times one forward+backward pass at batch 1 and 10, which bounds the speed-up
batching can give on this machine.
"""

from __future__ import annotations

import argparse
import time

import torch


def _clock(device):
    """CPU time of this process on one CPU thread (robust on a shared machine); wall time with
    several threads (CPU time would add them up), synchronized on a GPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return time.perf_counter()
    return time.process_time() if torch.get_num_threads() == 1 else time.perf_counter()


def _fwd_bwd_ms(model, batch: int, device, repeats: int = 20) -> float:
    """Best of 3: milliseconds of one forward + input-backward pass at ``batch``."""
    x = torch.zeros(batch, 1, 28, 28, requires_grad=True, device=device)
    for _ in range(3):
        model(x)[:, 0].sum().backward()
    best = float("inf")
    for _ in range(3):
        t = _clock(device)
        for _ in range(repeats):
            model(x)[:, 0].sum().backward()
        best = min(best, (_clock(device) - t) / repeats * 1e3)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (0: untrained)")
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    from vizkit.analysis.actmax import activation_maximization
    from vizkit.models import build_default

    trained = "untrained"
    model = prior = None
    if args.epochs > 0:
        try:
            from vizkit.data import load
            from vizkit.train import train_model

            split = load("mnist-5k", seed=args.seed)
            prior = split.x_train
            t = time.perf_counter()
            model, _, metrics = train_model("cnn", split, {"epochs": args.epochs,
                                                           "progress": False,
                                                           "device": str(device)},
                                            seed=args.seed)
            trained = (f"trained {args.epochs} epoch(s) on mnist-5k in "
                       f"{time.perf_counter() - t:.0f} s, test accuracy "
                       f"{metrics['accuracy']:.3f}")
        except Exception as e:  # data unavailable: say so and go on untrained
            trained = f"untrained (mnist-5k unavailable: {type(e).__name__}: {e})"
            model = None
    if model is None:
        torch.manual_seed(args.seed)
        model = build_default("cnn", (1, 28, 28), 10)
    model.to(device).eval()

    # no random transforms here: their per-image draws depend on the batch size, so a batch of 10
    # and ten runs of one would see different shifts; everything else is the gallery's
    settings = dict(n_steps=args.steps, seed=args.seed, prior=prior, transforms=None)
    targets = list(range(10))
    # warm-up at both batch sizes (oneDNN builds its kernels per shape on first use)
    activation_maximization(model, [0], **dict(settings, n_steps=3))
    activation_maximization(model, targets, **dict(settings, n_steps=3))

    # on the CPU, the CPU time of this process is the measure: on a shared machine the wall
    # clock also counts the time other processes hold the core (both are printed)
    w, c = time.perf_counter(), _clock(device)
    batched = activation_maximization(model, targets, **settings)
    t_batched, w_batched = _clock(device) - c, time.perf_counter() - w
    w, c = time.perf_counter(), _clock(device)
    singles = [activation_maximization(model, [k], **settings) for k in targets]
    t_single, w_single = _clock(device) - c, time.perf_counter() - w

    # the same comparison in float64 (3 targets): if the two runs solve the same problems, they
    # agree to ~1e-12, and the float32 differences above are rounding, not a different problem
    import copy

    m64 = copy.deepcopy(model).double()
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        b64 = activation_maximization(m64, targets[:3], **settings)
        s64 = [activation_maximization(m64, [k], **settings) for k in targets[:3]]
    finally:
        torch.set_default_dtype(dtype)
    diff64 = max(float((b64.images[k] - s64[k].images[0]).abs().max()) for k in range(3))
    act64 = max(abs(float(b64.activations[k] - s64[k].activations[0])) for k in range(3))

    frozen = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    ms1, ms10 = _fwd_bwd_ms(model, 1, device), _fwd_bwd_ms(model, 10, device)
    for p, f in zip(model.parameters(), frozen):
        p.requires_grad_(f)

    a_b = batched.activations
    a_s = torch.cat([r.activations for r in singles])
    rel = (a_b - a_s) / a_s.abs().clamp_min(1e-8)
    img_diff = max(float((batched.images[k] - singles[k].images[0]).abs().max()) for k in targets)
    speedup = t_single / t_batched
    bound = 10 * ms1 / ms10

    print(f"model: vizkit cnn (ConvNet 1x28x28, 10 classes), {trained}")
    shown = dict(settings, prior=None if prior is None else f"{len(prior)} training images")
    print(f"settings: {shown}; device {device}, torch threads: {torch.get_num_threads()}")
    print("batch norm is in eval mode (running statistics): the 10 images are independent, so "
          "the batched run solves the same 10 problems as the one-at-a-time runs.")
    print(f"\n{'target':<8}{'batched':>10}{'one-by-one':>12}{'rel. diff':>11}  batched >= single")
    for k in targets:
        ok = "yes" if a_b[k] >= a_s[k] else f"no ({float(rel[k]):+.1e}, rounding)"
        print(f"class {k:<2}{float(a_b[k]):>10.4f}{float(a_s[k]):>12.4f}"
              f"{float(rel[k]):>+11.1e}  {ok}")
    clock = ("GPU wall" if device.type == "cuda" else
             "CPU time" if torch.get_num_threads() == 1 else "wall time")
    print(f"\n{clock}  batched: {t_batched:.2f} s   one at a time: {t_single:.2f} s   "
          f"speed-up: {speedup:.2f}x (goal >= 5x: {'met' if speedup >= 5 else 'NOT met'})")
    print(f"wall time batched: {w_batched:.2f} s   one at a time: {w_single:.2f} s   "
          f"speed-up: {w_single / w_batched:.2f}x")
    print(f"targets where batched >= one-at-a-time: {int((a_b >= a_s).sum())}/10; largest relative "
          f"shortfall {float(rel.min()):+.2e}; largest pixel difference {img_diff:.2e}")
    print(f"float64 check (classes 0-2): largest pixel difference {diff64:.1e}, largest activation "
          f"difference {act64:.1e} between batched and one-at-a-time: the same optimization, so "
          "the float32 differences are rounding amplified over the steps.")
    print(f"one forward+backward: {ms1:.2f} ms at batch 1, {ms10:.2f} ms at batch 10 -> batching "
          f"can save at most {bound:.1f}x of the network's time here; the rest of the speed-up "
          "comes from the per-step Python/optimizer overhead shared by the batch.")
    # speed-up = 10 (F + c1) / (F + c10) for a per-step overhead F shared by the batch, so 5x
    # needs F >= c10 - 2 c1: the less overhead a step has, the less batching can win
    n_steps = settings["n_steps"]
    step1, step10 = t_single / 10 / n_steps * 1e3, t_batched / n_steps * 1e3
    overhead = step1 - ms1
    need = ms10 - 2 * ms1
    print(f"per step: {step1:.2f} ms for one image, {step10:.2f} ms for ten; the part that is not "
          f"the network (optimizer, penalties, jitter, objectives) is about {overhead:.2f} ms. "
          f"5x needs at least {need:.2f} ms of such shared overhead per step "
          f"({'reachable' if overhead >= need else 'out of reach on this device'}: "
          "a leaner step lowers the speed-up; on a GPU, where batch 10 costs about what batch 1 "
          "does, it nears 10x).")
    return {"speedup": speedup, "t_batched": t_batched, "t_single": t_single,
            "wall_batched": w_batched, "wall_single": w_single,
            "batched": a_b.tolist(), "single": a_s.tolist(), "fwd_bwd_ms": (ms1, ms10),
            "trained": trained, "float64_max_pixel_diff": diff64,
            "overhead_ms": overhead, "overhead_needed_ms": need}


if __name__ == "__main__":
    main()
