"""The optimization loop of activation maximization (Lucent's ``render``).

ONE fresh leaf tensor holds the parameters of all N images (seed 004 failed because its input
was not a leaf, so its gradient was ``None``); Adam moves it. The model is in eval mode with
frozen parameters (both restored afterwards), hooks sit only on the layers the objectives read
and are removed in ``finally``, and every random draw comes from one seeded generator. In eval
mode every layer treats the images independently, so unless an objective couples them (the
batch-norm prior's batch statistics, the diversity term) N targets at once give the same images
as N separate runs, only faster.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import torch
from torch import nn

from ..._torch import capture, frozen_eval, model_device, model_input_shape
from .._layers import hidden_layer
from .objectives import Objective
from .parametrization import ImageParam
from .transforms import Transform

__all__ = ["ActMaxResult", "optimize", "dataset_examples", "degenerate", "hidden_layer",
           "hidden_targets"]


@dataclass
class ActMaxResult:
    """What :func:`~vizkit.analysis.activation_maximization` found.

    Attributes
    ----------
    images : Tensor of shape (N, C, H, W)
        The optimized inputs (in the model's raw input range), one per target and facet.
    activations : Tensor of shape (N,)
        Each target's objective on its final image (no transform), without the penalties.
    probabilities : Tensor of shape (N,)
        The network's softmax probability of the target class (NaN for non-class targets).
    degenerate : Tensor of shape (N,), bool
        A constant image (pixel std under 1 % of the range) or a zero activation.
    history : Tensor of shape (n_steps, N)
        Each target's objective at every step (on the transformed image fed that step).
    grad_norms : Tensor of shape (n_steps, N)
        Norm of the gradient reaching each image's parameters at every step (never ``None``).
    names : list of str
        One name per image (``'class 3'``, ``'features.0:5'``, ``'layers.1'``...).
    targets : list
        The target each image was optimized for (as given).
    settings : dict
        The options used.
    """

    images: torch.Tensor
    activations: torch.Tensor
    probabilities: torch.Tensor
    degenerate: torch.Tensor
    history: torch.Tensor
    grad_norms: torch.Tensor
    names: list
    targets: list
    settings: dict = field(default_factory=dict)


#: Batches of images up to this many input values are optimized on one CPU thread: at this size
#: every op is microseconds long, and extra threads only wait for each other (on a 2-core
#: machine shared with another job, two threads made the gallery's actmax run 5x slower).
SMALL_BATCH = 1_000_000


@contextlib.contextmanager
def _cpu_threads(n_values: int, device) -> Iterator[None]:
    """One torch CPU thread while optimizing a small batch on the CPU; the count is restored."""
    before = torch.get_num_threads()
    one = torch.device(device).type == "cpu" and n_values <= SMALL_BATCH and before > 1
    if one:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if one:
            torch.set_num_threads(before)


def _context(model, objs, extra, store, images, fed):
    out = model(fed)
    ctx = {"input": images, "output": out, **store}
    missing = [n for o in objs for n in o.layers if n not in ctx]
    if missing:
        raise ValueError(f"layers {missing} produced no output in the forward pass.")
    per_target = torch.stack([o(ctx)[k] for k, o in enumerate(objs)])
    return per_target, per_target + (extra(ctx) if extra is not None else 0), out


def optimize(model: nn.Module, objs: list[Objective], extra: Objective | None, param: ImageParam,
             init: torch.Tensor, transform: Transform | None, *, n_steps: int, lr: float,
             gen: torch.Generator) -> dict:
    """Maximize ``objs[k] + extra`` over image k, all images at once (the loop behind
    :func:`~vizkit.analysis.activation_maximization`).

    Parameters
    ----------
    model : nn.Module
        The network (eval mode and frozen parameters while optimizing; both restored).
    objs : list of Objective
        One objective per image.
    extra : Objective or None
        Added to every image's objective (the penalties, with their minus sign).
    param : ImageParam
        How the leaf tensor becomes images.
    init : Tensor of shape (N, C, H, W)
        The start images, in pixel values.
    transform : callable or None
        ``t(x, gen)`` applied to the images before each forward pass.
    n_steps : int
        Adam's steps.
    lr : float
        Adam's learning rate.
    gen : torch.Generator
        The source of every random draw.

    Returns
    -------
    dict
        The tensors of an :class:`ActMaxResult`: ``images``, ``activations`` (the objectives on
        the final, untransformed images, without ``extra``), ``probabilities``, ``history``
        and ``grad_norms``.

    Raises
    ------
    RuntimeError
        The input received no gradient (the objectives do not depend on it).

    Examples
    --------
    >>> from torch import nn
    >>> from vizkit.analysis.actmax import ImageParam, class_logit
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> param = ImageParam("sigmoid", (1, 2, 2), (0.0, 1.0))
    >>> out = optimize(net, [class_logit(0)], None, param, torch.full((1, 1, 2, 2), 0.5), None,
    ...                n_steps=5, lr=0.1, gen=torch.Generator().manual_seed(0))
    >>> out["history"].shape, bool(out["activations"][0] > out["history"][0, 0])
    (torch.Size([5, 1]), True)
    """
    dtype = next(iter(model.parameters()), torch.empty(0)).dtype
    leaf = param.leaf(init.to(model_device(model), dtype))  # a fresh leaf, never a non-leaf
    opt = torch.optim.Adam([leaf], lr=lr)
    layers = [n for o in objs + [extra] if o is not None for n in o.layers
              if n not in ("input", "output")]
    N = len(objs)
    history, grad_norms = torch.empty(n_steps, N), torch.empty(n_steps, N)
    with frozen_eval(model), capture(model, layers) as store, torch.enable_grad(), \
            _cpu_threads(leaf.numel(), leaf.device):
        for step in range(n_steps):
            opt.zero_grad(set_to_none=True)
            img = param.render(leaf)
            fed = img if transform is None else transform(img, gen)
            per_target, total, _ = _context(model, objs, extra, store, img, fed)
            (-total.sum()).backward()
            if leaf.grad is None:  # the failure of seed 004, never silent here
                raise RuntimeError("the input received no gradient: the objective does not "
                                   "depend on the input.")
            history[step] = per_target.detach().cpu()
            grad_norms[step] = leaf.grad.detach().flatten(1).norm(dim=1).cpu()
            if step == 0 and not (grad_norms[0] > 0).all():
                dead = [objs[k].name for k in range(N) if not grad_norms[0, k] > 0]
                warnings.warn(f"the gradient is exactly zero at the initial image of {dead} (e.g. "
                              "an all-zero input into a bias-free conv + ReLU); these images will "
                              "not move. Use init='noise'.", RuntimeWarning, stacklevel=3)
            opt.step()
            param.project_(leaf)
        with torch.no_grad():
            images = param.render(leaf).detach()
            final, _, out = _context(model, objs, None, store, images, images)
    probs = torch.full((N,), float("nan"))
    if out.dim() == 2:
        p = torch.softmax(out.float(), 1).cpu()
        for k, o in enumerate(objs):
            c = getattr(o, "target_class", None)
            if c is not None and 0 <= c < p.shape[1]:
                probs[k] = p[k, c]
    return {"images": images.cpu(), "activations": final.detach().cpu(), "probabilities": probs,
            "history": history, "grad_norms": grad_norms}


@torch.no_grad()
def dataset_examples(model: nn.Module, objs: list[Objective], x: torch.Tensor,
                     batch_size: int = 500, top: int | None = None):
    """The real images that score highest on each objective: the yardstick for an optimized
    image's activation (Olah et al. 2017 show "dataset examples" beside every optimized image).

    Parameters
    ----------
    model : nn.Module
        The network (evaluated in eval mode, parameters frozen; both restored afterwards).
    objs : list of Objective
        The objectives, e.g. ``[class_logit(c) for c in range(10)]``.
    x : Tensor of shape (M, C, H, W)
        The real images, in the model's raw input range.
    batch_size : int, default=500
        Images per forward pass.
    top : int, optional
        How many of the highest-scoring images to return per objective (at most ``M``). None:
        only the highest, as tensors of shape (N,).

    Returns
    -------
    values : Tensor of shape (N,), or (N, top) when ``top`` is given
        The objectives' largest values over ``x``, highest first.
    indices : Tensor of the same shape, int64
        The positions in ``x`` of the images that reach them.

    Raises
    ------
    ValueError
        ``top`` is not an int in ``[1, M]``, or ``x`` is empty.

    Examples
    --------
    >>> from torch import nn
    >>> from vizkit.analysis.actmax import class_logit
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[1].weight.copy_(torch.tensor([[1., 0, 0, 0], [0, 0, 0, 1]]))
    >>> x = torch.eye(4).view(4, 1, 2, 2)
    >>> dataset_examples(net, [class_logit(0), class_logit(1)], x)
    (tensor([1., 1.]), tensor([0, 3]))
    >>> dataset_examples(net, [class_logit(0)], 2 * x, top=2)[0]
    tensor([[2., 0.]])
    """
    if len(x) == 0:
        raise ValueError("`x` holds no images; give at least one real image.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int)
                            or not 1 <= top <= len(x)):
        raise ValueError(f"`top` must be an int from 1 to {len(x)} (the number of images) or "
                         f"None. Got {top!r} instead.")
    layers = [n for o in objs for n in o.layers if n not in ("input", "output")]
    dev = model_device(model)
    vals = []
    with frozen_eval(model), capture(model, layers) as store:
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev)
            ctx = {"input": xb, "output": model(xb), **store}
            vals.append(torch.stack([o(ctx) for o in objs], 1).cpu())
    scores = torch.cat(vals)  # [M, N]
    if top is None:
        best, idx = scores.max(0)
        return best, idx
    best, idx = scores.topk(top, dim=0)  # [top, N], highest first
    return best.T.contiguous(), idx.T.contiguous()


def _number(name: str, v, *, integer: bool = False, positive: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kind) or not (v > 0 if positive else v >= 0):
        raise ValueError(f"`{name}` must be {'an int' if integer else 'a number'} "
                         f"{'> 0' if positive else '>= 0'}. Got {v!r} instead.")


def _initial_images(init, prior, N: int, shape, lo: float, hi: float,
                    gen: torch.Generator) -> torch.Tensor:
    """The start images ``[N, C, H, W]`` in pixel values."""
    if init is None:
        init = "mean" if prior is not None else "grey"
    if isinstance(init, torch.Tensor):
        t = init.detach().float()
        t = t.unsqueeze(0).expand(N, *t.shape) if t.dim() == 3 else t
        if t.dim() != 4 or t.shape[0] != N or tuple(t.shape[1:]) != tuple(shape):
            raise ValueError(f"`init` must be [N, C, H, W] with N = {N} images of shape "
                             f"{tuple(shape)}, or [C, H, W]. Got {tuple(init.shape)} instead.")
        return t.clone()
    if init == "mean" and prior is not None:
        return prior.fn.mean.view(1, *shape).expand(N, *shape).clone()
    if init == "grey":
        return torch.full((N, *shape), (lo + hi) / 2)
    if init == "noise":
        return ((lo + hi) / 2 + 0.1 * (hi - lo) * torch.randn(N, *shape, generator=gen)).clamp(lo, hi)
    if init == "zeros":
        return torch.zeros(N, *shape).clamp(lo, hi)
    raise ValueError(f"`init` must be 'mean' (needs `prior`), 'grey', 'noise', 'zeros' or a "
                     f"tensor. Got {init!r} instead.")


def degenerate(images: torch.Tensor, activations: torch.Tensor, value_range) -> torch.Tensor:
    """Which images are degenerate: constant (pixel std under 1 % of the range) or with a zero
    activation.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W)
        The optimized images.
    activations : Tensor of shape (N,)
        Their objectives.
    value_range : (float, float)
        The pixels' range.

    Returns
    -------
    Tensor of shape (N,), bool
        True for a degenerate image.

    Examples
    --------
    >>> images = torch.stack([torch.full((1, 2, 2), 0.5), torch.eye(2).view(1, 2, 2)])
    >>> degenerate(images, torch.tensor([1.0, 1.0]), (0, 1)).tolist()
    [True, False]
    >>> degenerate(images, torch.tensor([1.0, 0.0]), (0, 1)).tolist()
    [True, True]
    """
    span = float(value_range[1]) - float(value_range[0])
    flat = images.flatten(1).float()
    return (flat.std(1) < 0.01 * span) | (activations.abs() < 1e-6)


def hidden_targets(model: nn.Module, n_units: int = 9) -> tuple[str, list[str], str] | None:
    """What the hidden-layer figure optimizes: ``(layer, targets, kind)``.

    Parameters
    ----------
    model : nn.Module
        The network.
    n_units : int, default=9
        How many of the layer's units (or channels) to optimize.

    Returns
    -------
    tuple or None
        ``(layer, targets, kind)``: ``layer`` is :func:`hidden_layer`'s; ``targets`` its first
        ``n_units`` units (``"layer:k"``, channel means for a conv layer) and, last, the whole
        layer (``"layer"``); ``kind`` is ``'channel means'`` for a conv layer (or its batch
        norm), else ``'units'``. None for a model without a hidden layer.

    Examples
    --------
    >>> from torch import nn
    >>> hidden_targets(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), n_units=2)
    ('0', ['0:0', '0:1', '0'], 'units')
    """
    found = hidden_layer(model)
    if found is None:
        return None
    name, n = found
    conv = isinstance(dict(model.named_modules())[name], (nn.Conv2d, nn.BatchNorm2d))
    targets = [f"{name}:{k}" for k in range(min(n, int(n_units)))] + [name]
    return name, targets, "channel means" if conv else "units"
