"""Activation maximization (seed 004's addendum, made to work): the input that most excites a unit.

Seed 004 failed because the optimized input was not a leaf tensor, so its gradient was ``None``.
Here ONE fresh leaf tensor ``[N, C, H, W]`` (``requires_grad_()`` on a new tensor) holds the
parameters of N images, optimized together with Adam, one target per image. The model is put in
eval mode with frozen parameters (both restored afterwards), hooks are set only on the layers the
objectives read and removed in ``finally``, and every random step is seeded. In eval mode every
layer (batch norm included) treats the images independently, so N targets at once give the same
images as N separate runs, only faster.

Objectives (module :mod:`vizkit.analysis._actmax_objectives`, re-exported here) are Lucent-style
factories combinable with ``+``, ``-`` and scalar ``*``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from ._actmax_common import capture, frozen_eval, model_input_shape
from ._actmax_objectives import (Objective, as_objective, channel, class_logit, l2, neuron,
                                 total_variation, unit)

__all__ = ["ActMaxResult", "activation_maximization", "Objective", "class_logit", "unit",
           "channel", "neuron", "l2", "total_variation", "gaussian_blur", "hartley"]

_PARAMS = ("clamp", "sigmoid", "none")


@dataclass
class ActMaxResult:
    """What :func:`activation_maximization` found.

    Attributes
    ----------
    images : Tensor of shape (N, C, H, W)
        The optimized inputs (in the model's raw input range), one per target.
    activations : Tensor of shape (N,)
        Each target's objective on its final image (no jitter), without the penalties.
    history : Tensor of shape (n_steps, N)
        Each target's objective at every step (measured on the jittered image fed that step).
    grad_norms : Tensor of shape (n_steps, N)
        Norm of the gradient reaching each image's parameters at every step (never ``None``).
    names : list of str
        One name per target (``'class 3'``, ``'features.0:5'``, ...).
    settings : dict
        The options used.
    """

    images: torch.Tensor
    activations: torch.Tensor
    history: torch.Tensor
    grad_norms: torch.Tensor
    names: list
    settings: dict = field(default_factory=dict)


def hartley(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2-D discrete Hartley transform over the last two dims (real -> real, its own
    inverse): ``Re(F) - Im(F)`` of the orthonormal FFT."""
    f = torch.fft.fft2(x, norm="ortho")
    return f.real - f.imag


def _freq_scale(H: int, W: int, decay: float = 1.0) -> torch.Tensor:
    fy = torch.fft.fftfreq(H)[:, None]
    fx = torch.fft.fftfreq(W)[None, :]
    f = torch.sqrt(fy * fy + fx * fx)
    floor = 1.0 / max(H, W)
    return (floor / torch.clamp(f, min=floor)) ** decay  # 1 at DC, ~1/f above


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of ``x`` ``[N, C, H, W]`` with a Gaussian of std ``sigma`` pixels."""
    if sigma <= 0:
        return x
    r = max(1, int(math.ceil(2 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    C = x.shape[1]
    pad = min(r, x.shape[2] - 1, x.shape[3] - 1)
    if pad < r:
        r = pad
        k = k[len(k) // 2 - r: len(k) // 2 + r + 1]
        k = k / k.sum()
    y = nn.functional.pad(x, (r, r, r, r), mode="reflect")
    y = nn.functional.conv2d(y, k.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return nn.functional.conv2d(y, k.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def _check_nonneg(**kw) -> None:
    for name, v in kw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"`{name}` must be a number >= 0. Got {v!r} instead.")


def activation_maximization(model: nn.Module, targets, *, n_steps: int = 256, lr: float = 0.05,
                            l2: float = 0.0, tv: float = 0.0, jitter: int = 0,
                            blur_every: int = 0, blur_sigma: float = 0.5, fourier: bool = False,
                            parametrization: str | None = None,
                            init: str | torch.Tensor = "zeros",
                            input_shape: Sequence[int] | None = None,
                            value_range: tuple[float, float] | None = None, seed: int = 0,
                            objective: Objective | Callable | None = None,
                            class_names: Sequence[str] | None = None) -> ActMaxResult:
    """Optimize one input image per target so that the target's activation is as large as possible.

    Parameters
    ----------
    model : nn.Module
        Any model taking ``[N, C, H, W]`` raw inputs (vizkit models normalize inside).
    targets : int, str, Objective, callable or a list of them
        One image per target: an ``int`` is a class logit; ``'layer:k'`` is unit ``k`` of a flat
        layer or the mean of channel ``k`` of a conv layer (layer names as in
        ``model.named_modules()``); an :class:`Objective` (``class_logit``, ``unit``,
        ``channel``, ``neuron``, ``l2``, ``total_variation``, combined with ``+ - *``).
    n_steps : int, default=256
    lr : float, default=0.05
        Adam's learning rate.
    l2 : float, default=0.0
        Weight of the penalty ``||x||^2`` on each image.
    tv : float, default=0.0
        Weight of the total-variation penalty (smoother images).
    jitter : int, default=0
        Roll the images by a random shift of up to ``jitter`` pixels each step (seeded, same
        shift for all images), for images that do not rely on exact pixel positions.
    blur_every : int, default=0
        Blur the pixel parameters every that many steps (0: never; not with ``fourier``).
    blur_sigma : float, default=0.5
    fourier : bool, default=False
        Parametrize the images by scaled 2-D Hartley (real Fourier) coefficients, ``1/f``
        frequency scaling: low frequencies move first (Lucent's idea). Uses ``'sigmoid'``.
    parametrization : {'clamp', 'sigmoid', 'none'}, optional
        How pixels stay in ``value_range``: ``'clamp'`` projects the pixels back after every step
        (the leaf is the image); ``'sigmoid'`` maps the leaf through a sigmoid; ``'none'`` leaves
        them free (use ``l2``). Default: ``'sigmoid'`` with ``fourier``, else
        ``'clamp'``. For a bounded-norm image use ``'none'`` with ``l2``: the optimum of
        ``w.x - l2 ||x||^2`` is ``x = w / (2 l2)``, exactly along ``w`` for a linear score (a
        projection onto an L2 ball is *not* offered: with Adam's per-pixel step sizes the
        projected iteration settles near ``sign(w)``, not ``w``).
    init : {'zeros', 'noise'} or Tensor, default='zeros'
        ``'zeros'``: the leaf is zero (black images with ``'clamp'``, mid-range with
        ``'sigmoid'``; a bias-free conv + ReLU net has zero gradient at a zero input, which is
        warned about); ``'noise'``: mid-range plus seeded Gaussian noise of 10 % of the range; a
        tensor ``[N, C, H, W]`` or ``[C, H, W]`` of starting images (pixel values).
    input_shape : (C, H, W), optional
        Default: ``model.vizkit_spec['input_shape']`` or the init tensor's shape; never a guess.
    value_range : (float, float), optional
        Valid pixel range; default ``(0, 1)``, the raw images vizkit models take.
    seed : int, default=0
        Seeds the noise init and the jitter: same seed, same images.
    objective : Objective or callable, optional
        Added to every target's objective (e.g. ``-0.1 * unit('layers.0', 3)``).
    class_names : list of str, optional
        Names for int targets (``'class cat'``).

    Returns
    -------
    ActMaxResult
        ``images`` ``[N, C, H, W]``, ``activations`` ``[N]``, ``history`` ``[n_steps, N]``.

    Examples
    --------
    >>> from vizkit.models import build_default
    >>> net = build_default("logreg", (1, 8, 8), 3)
    >>> r = activation_maximization(net, [0, 1, 2], n_steps=20)
    >>> tuple(r.images.shape), bool((r.history[-1] > r.history[0]).all())
    ((3, 1, 8, 8), True)
    """
    # ---- validate
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be an nn.Module. Got {type(model).__name__} instead.")
    if isinstance(targets, (list, tuple)):
        targets = list(targets)
    else:
        targets = [targets]
    if not targets:
        raise ValueError("`targets` is empty; give at least one class, 'layer:unit' or Objective.")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"`n_steps` must be a positive int. Got {n_steps!r} instead.")
    _check_nonneg(lr=lr, l2=l2, tv=tv, blur_sigma=blur_sigma)
    for name, v in (("jitter", jitter), ("blur_every", blur_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"`{name}` must be an int >= 0. Got {v!r} instead.")
    if parametrization is None:
        parametrization = "sigmoid" if fourier else "clamp"
    if parametrization not in _PARAMS:
        raise ValueError(f"`parametrization` must be one of 'clamp', 'sigmoid', 'none'. Got "
                         f"{parametrization!r} instead.")
    if fourier and parametrization == "clamp":
        raise ValueError("`fourier=True` cannot use parametrization='clamp' (the leaf holds "
                         "frequencies, not pixels); use 'sigmoid' or 'none'.")
    if fourier and blur_every:
        raise ValueError("`blur_every` blurs pixel parameters; with `fourier=True` the 1/f "
                         "scaling already damps high frequencies. Set blur_every=0.")
    lo, hi = (0.0, 1.0) if value_range is None else (float(value_range[0]), float(value_range[1]))
    if not hi > lo:
        raise ValueError(f"`value_range` must be (low, high) with high > low. Got "
                         f"{value_range!r} instead.")
    objs = [as_objective(t, class_names=class_names) for t in targets]
    extra = None if objective is None else as_objective(objective)
    N = len(objs)

    # ---- shapes and init (pixel space), then the ONE leaf tensor
    init_t = None
    if isinstance(init, torch.Tensor):
        init_t = init.detach().float()
        if init_t.dim() == 3:
            init_t = init_t.unsqueeze(0).expand(N, *init_t.shape)
        if init_t.dim() != 4 or init_t.shape[0] != N:
            raise ValueError(f"`init` must be [N, C, H, W] with N = {N} targets, or [C, H, W]. "
                             f"Got shape {tuple(init.shape)} instead.")
        shape = tuple(init_t.shape[1:]) if input_shape is None else model_input_shape(model,
                                                                                      input_shape)
        if tuple(init_t.shape[1:]) != shape:
            raise ValueError(f"`init` has image shape {tuple(init_t.shape[1:])}, `input_shape` is "
                             f"{shape}.")
    elif init in ("zeros", "noise"):
        shape = model_input_shape(model, input_shape)
    else:
        raise ValueError(f"`init` must be 'zeros', 'noise' or a tensor. Got {init!r} instead.")
    if len(shape) != 3:
        raise ValueError(f"activation maximization needs image inputs (C, H, W). Got input shape "
                         f"{shape} instead.")
    C, H, W = shape
    p0 = next(iter(model.parameters()), None)
    device = p0.device if p0 is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(int(seed))
    if isinstance(init, str) and init == "noise":
        init_t = (lo + hi) / 2 + 0.1 * (hi - lo) * torch.randn(N, C, H, W, generator=gen)
        init_t = init_t.clamp(lo, hi)
    scale = _freq_scale(H, W).to(device) if fourier else None

    def to_leaf(img: torch.Tensor) -> torch.Tensor:
        z = img
        if parametrization == "sigmoid":
            u = ((img - lo) / (hi - lo)).clamp(1e-4, 1 - 1e-4)
            z = torch.log(u) - torch.log1p(-u)
        if fourier:
            z = hartley(z) / scale
        return z

    def render(leaf: torch.Tensor) -> torch.Tensor:
        z = hartley(leaf * scale) if fourier else leaf
        if parametrization == "sigmoid":
            return lo + (hi - lo) * torch.sigmoid(z)
        return z

    if init_t is None:
        leaf = torch.zeros(N, C, H, W, device=device)
    else:
        leaf = to_leaf(init_t.to(device)).clone()
    leaf = leaf.detach().clone().requires_grad_()  # a fresh leaf, never a non-leaf
    opt = torch.optim.Adam([leaf], lr=lr)

    layers = []
    for o in objs + ([extra] if extra is not None else []):
        layers += [n for n in o.layers if n not in ("input", "output")]
    total_objs = [o if extra is None else o + extra for o in objs]
    history = torch.empty(n_steps, N)
    grad_norms = torch.empty(n_steps, N)
    shifts = (torch.randint(-jitter, jitter + 1, (n_steps, 2), generator=gen).tolist()
              if jitter else None)

    def evaluate(img, store, fed) -> tuple[torch.Tensor, torch.Tensor]:
        out = model(fed)
        ctx = {"input": img, "output": out, **store}
        missing = [n for n in layers if n not in ctx]
        if missing:
            raise ValueError(f"layers {missing} produced no output in the forward pass.")
        per_target = torch.stack([o(ctx)[k] for k, o in enumerate(objs)])
        total = (per_target if extra is None else
                 torch.stack([o(ctx)[k] for k, o in enumerate(total_objs)]))
        return per_target, total

    with frozen_eval(model), capture(model, layers) as store:
        with torch.enable_grad():
            for step in range(n_steps):
                opt.zero_grad(set_to_none=True)
                img = render(leaf)
                fed = img
                if shifts is not None and any(shifts[step]):
                    fed = torch.roll(img, shifts=tuple(shifts[step]), dims=(2, 3))
                per_target, total = evaluate(img, store, fed)
                loss = -total.sum()
                if l2:
                    loss = loss + l2 * img.pow(2).sum()
                if tv:
                    loss = loss + tv * (
                        (img[:, :, 1:] - img[:, :, :-1]).abs().sum()
                        + (img[:, :, :, 1:] - img[:, :, :, :-1]).abs().sum())
                loss.backward()
                if leaf.grad is None:  # the failure of seed 004, never silent here
                    raise RuntimeError("the input received no gradient: the objective does not "
                                       "depend on the input.")
                history[step] = per_target.detach().cpu()
                grad_norms[step] = leaf.grad.detach().flatten(1).norm(dim=1).cpu()
                if step == 0 and not (grad_norms[0] > 0).all():
                    dead = [objs[k].name for k in range(N) if not grad_norms[0, k] > 0]
                    warnings.warn(f"the gradient is exactly zero at the initial image of {dead} "
                                  "(e.g. an all-zero input into a bias-free conv + ReLU); these "
                                  "images will not move. Use init='noise'.", RuntimeWarning,
                                  stacklevel=2)
                opt.step()
                with torch.no_grad():
                    if blur_every and (step + 1) % blur_every == 0:
                        leaf.copy_(gaussian_blur(leaf, blur_sigma))
                    if parametrization == "clamp":
                        leaf.clamp_(lo, hi)
        with torch.no_grad():
            images = render(leaf).detach()
            final, _ = evaluate(images, store, images)
    settings = dict(n_steps=n_steps, lr=lr, l2=l2, tv=tv, jitter=jitter, blur_every=blur_every,
                    blur_sigma=blur_sigma, fourier=fourier, parametrization=parametrization,
                    init=init if isinstance(init, str) else "tensor",
                    input_shape=shape, value_range=(lo, hi), seed=seed)
    return ActMaxResult(images=images.cpu(), activations=final.detach().cpu(), history=history,
                        grad_norms=grad_norms, names=[o.name for o in objs], settings=settings)
