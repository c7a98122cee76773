"""Objectives and penalties for activation maximization (Lucent's ``objectives``).

An :class:`Objective` maps the *context* of one forward pass -- a dict holding ``'input'`` (the
rendered images ``[N, C, H, W]``), ``'output'`` (the model's logits) and the outputs of the layers
it named -- to one value per image, shape ``[N]``. Objectives combine like numbers (Lucent's
idea): ``class_logit(3) - 0.5 * class_logit(5)``, ``channel('features.0', 2) + unit(...)``.
Penalties are objectives too (:func:`l2`, :func:`total_variation`, :func:`ink`,
:func:`data_prior`); :func:`penalty` sums the weighted ones in one place.
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable, Sequence

import torch

__all__ = ["Objective", "class_logit", "unit", "channel", "neuron", "layer", "diversity", "l2",
           "total_variation", "ink", "data_prior", "batchnorm_prior", "batchnorm_layers", "penalty",
           "as_objective", "class_log_softmax"]


#: What an int target maximizes: its logit or its log-softmax (see :func:`as_objective`).
CLASS_SCORES = ("logit", "log_softmax")


class Objective:
    """A differentiable per-image score to maximize.

    Parameters
    ----------
    fn : callable
        ``fn(ctx) -> Tensor [N]``; ``ctx`` maps ``'input'``, ``'output'`` and layer names to
        tensors of the current forward pass.
    name : str
        Shown in titles and reports.
    layers : iterable of str
        The layers whose outputs ``fn`` reads (hooks are set on exactly these).

    Raises
    ------
    TypeError
        ``fn`` is not callable.

    Examples
    --------
    >>> obj = class_logit(1) - 0.5 * class_logit(0)
    >>> obj({"output": torch.tensor([[2.0, 4.0]])})
    tensor([3.])
    """

    def __init__(self, fn: Callable[[dict], torch.Tensor], name: str = "objective",
                 layers: Iterable[str] = ()) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Got {type(fn).__name__} instead.")
        self.fn = fn
        self.name = str(name)
        self.layers = tuple(dict.fromkeys(layers))

    def __call__(self, ctx: dict) -> torch.Tensor:
        return self.fn(ctx)

    def __repr__(self) -> str:
        return f"Objective({self.name!r})"

    def __add__(self, other):
        if isinstance(other, numbers.Number):
            return Objective(lambda c: self(c) + other, f"{self.name} + {other}", self.layers)
        other = as_objective(other)
        return Objective(lambda c: self(c) + other(c), f"{self.name} + {other.name}",
                         self.layers + other.layers)

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # sum([...])
            return self
        return self.__add__(other)

    def __neg__(self):
        return Objective(lambda c: -self(c), f"-{self.name}", self.layers)

    def __sub__(self, other):
        return self + (-as_objective(other) if not isinstance(other, numbers.Number) else -other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, k):
        if not isinstance(k, numbers.Number):
            raise TypeError(f"an Objective can only be scaled by a number. Got "
                            f"{type(k).__name__} instead.")
        return Objective(lambda c: k * self(c), f"{k:g} * {self.name}", self.layers)

    __rmul__ = __mul__

    def __truediv__(self, k):
        return self * (1.0 / k)


def as_objective(target, *, class_names=None, class_score: str = "logit") -> Objective:
    """Turn a target into an :class:`Objective`.

    Parameters
    ----------
    target : int, str, Objective or callable
        ``int``: a class (:func:`class_logit`, or :func:`class_log_softmax`); ``'layer:k'``: unit
        ``k`` of a flat layer or channel ``k`` (mean over positions) of a conv layer
        (:func:`unit`); ``'layer'``: the whole layer's mean (:func:`layer`); an
        :class:`Objective` as is; any other callable ``f(ctx) -> [N]`` is wrapped (it may only
        read ``'input'`` and ``'output'``).
    class_names : list of str, optional
        Names for int targets (``'class cat'``); default ``'class 3'``.
    class_score : {'logit', 'log_softmax'}, default='logit'
        What an int target maximizes.

    Returns
    -------
    Objective
        The target as an objective, named for titles.

    Raises
    ------
    TypeError
        A bool, or a target of another type.
    ValueError
        A malformed ``'layer:unit'`` string, or an unknown ``class_score``.

    Examples
    --------
    >>> as_objective(3, class_names=list("abcd"))
    Objective('class d')
    >>> as_objective("features.0:2").layers
    ('features.0',)
    >>> as_objective("features.0")
    Objective('features.0')
    """
    if isinstance(target, Objective):
        return target
    if isinstance(target, bool):
        raise TypeError("a target cannot be a bool; give an int (class), a layer name, "
                        "'layer:unit' or an Objective.")
    if isinstance(target, numbers.Integral):
        name = None
        if class_names is not None and 0 <= int(target) < len(class_names):
            name = f"class {class_names[int(target)]}"
        if class_score not in CLASS_SCORES:
            raise ValueError(f"`class_score` must be one of {', '.join(map(repr, CLASS_SCORES))}. "
                             f"Got {class_score!r} instead.")
        make = class_logit if class_score == "logit" else class_log_softmax
        return make(int(target), name=name)
    if isinstance(target, str):
        name, sep, idx = target.rpartition(":")
        if not sep:
            return layer(target)
        if not name or not idx.strip().lstrip("-").isdigit():
            raise ValueError(f"a string target must be a layer name ('features.3', its mean "
                             f"activation) or 'layer:unit' (e.g. 'features.0:3'). Got "
                             f"{target!r} instead.")
        return unit(name, int(idx))
    if callable(target):
        return Objective(target, getattr(target, "__name__", "objective"))
    raise TypeError(f"a target must be an int (class), a layer name, a 'layer:unit' string, an Objective or a "
                    f"callable. Got {type(target).__name__} instead.")


def class_logit(c: int, *, name: str | None = None) -> Objective:
    """The logit (raw score) of class ``c``.

    Parameters
    ----------
    c : int
        The class index.
    name : str, optional
        Shown in titles; default ``'class c'``.

    Returns
    -------
    Objective
        ``[N]``: ``output[:, c]``; it raises a ValueError when called on outputs without class
        ``c``.

    Examples
    --------
    >>> class_logit(1)({"output": torch.tensor([[2.0, -1.0], [0.0, 3.0]])})
    tensor([-1.,  3.])
    """
    c = int(c)

    def fn(ctx):
        out = ctx["output"]
        if not 0 <= c < out.shape[1]:
            raise ValueError(f"class target {c} is out of range for {out.shape[1]} outputs.")
        return out[:, c]

    obj = Objective(fn, name or f"class {c}")
    obj.target_class = c  # read by the probabilities of the result
    return obj


def unit(layer: str, k: int) -> Objective:
    """Unit ``k`` of a flat layer; for a conv layer, the mean of channel ``k`` (as
    :func:`channel`).

    Parameters
    ----------
    layer : str
        The layer's dotted name (``'layers.1'``, ``'features.0'``).
    k : int
        The unit (or channel) index.

    Returns
    -------
    Objective
        ``[N]``: the unit's activation per image.

    Examples
    --------
    >>> unit("fc", 1)({"fc": torch.tensor([[1.0, 5.0, 2.0]])})
    tensor([5.])
    >>> unit("conv", 0)({"conv": torch.arange(4.0).view(1, 1, 2, 2)})
    tensor([1.5000])
    """

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        return a[:, k] if a.dim() == 2 else a[:, k].flatten(1).mean(1)

    return Objective(fn, f"{layer}:{k}", [layer])


def channel(layer: str, k: int) -> Objective:
    """Mean activation of channel ``k`` of a conv layer over all positions.

    Parameters
    ----------
    layer : str
        The conv layer's dotted name.
    k : int
        The channel index.

    Returns
    -------
    Objective
        ``[N]``: the channel's mean over positions; it raises a ValueError when called on a
        flat layer or with ``k`` out of range.

    Examples
    --------
    >>> a = torch.arange(8.0).view(1, 2, 2, 2)
    >>> channel("conv", 1)({"conv": a})
    tensor([5.5000])
    """

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        if a.dim() < 3:
            raise ValueError(f"channel() needs a conv layer output [N, C, H, W]; {layer!r} gives "
                             f"{tuple(a.shape)}. Use unit() for flat layers.")
        return a[:, k].flatten(1).mean(1)

    return Objective(fn, f"{layer}:ch{k}", [layer])


def neuron(layer: str, k: int, row: int | None = None, col: int | None = None) -> Objective:
    """Channel ``k`` of a conv layer at one position (default: the spatial centre).

    Parameters
    ----------
    layer : str
        The conv layer's dotted name.
    k : int
        The channel index.
    row, col : int, optional
        The position; default the centre (``H // 2``, ``W // 2``).

    Returns
    -------
    Objective
        ``[N]``: the channel's activation at that position.

    Examples
    --------
    >>> a = torch.arange(9.0).view(1, 1, 3, 3)
    >>> neuron("conv", 0)({"conv": a}), neuron("conv", 0, 0, 2)({"conv": a})
    (tensor([4.]), tensor([2.]))
    """

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        if a.dim() != 4:
            raise ValueError(f"neuron() needs a conv layer output [N, C, H, W]; {layer!r} gives "
                             f"{tuple(a.shape)}.")
        r = a.shape[2] // 2 if row is None else row
        q = a.shape[3] // 2 if col is None else col
        return a[:, k, r, q]

    return Objective(fn, f"{layer}:ch{k}@({row if row is not None else 'c'},"
                         f"{col if col is not None else 'c'})", [layer])


def layer(name: str) -> Objective:
    """The mean activation of a whole layer (all units, channels and positions) -- what seed
    004's author wanted: "the average of the activations of the layer".

    Parameters
    ----------
    name : str
        The layer's dotted name.

    Returns
    -------
    Objective
        ``[N]``: the mean of the layer's output per image.

    Examples
    --------
    >>> layer("fc")({"fc": torch.tensor([[1.0, 2.0, 6.0]])})
    tensor([3.])
    """

    def fn(ctx):
        return ctx[name].flatten(1).mean(1)

    return Objective(fn, name, [name])


def diversity(layer: str = "input", groups: Sequence[int] | None = None) -> Objective:
    """Lucent's diversity term: minus the mean cosine similarity of each image's activations at
    ``layer`` with those of the other images in its group.

    Add it with a positive weight to get several *different* images per target.

    Parameters
    ----------
    layer : str, default='input'
        Where the images are compared (``'input'``: their pixels).
    groups : sequence of int, optional
        ``groups[k]``: image k's group (the facets of one target); None: one group.

    Returns
    -------
    Objective
        ``[N]``: minus the mean cosine similarity with the group's other images (0 for an image
        alone in its group); it raises a ValueError when ``groups`` does not have one entry per
        image.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]).view(3, 1, 1, 2)
    >>> diversity()({"input": x})
    tensor([-0.5000, -0.5000, -0.0000])
    >>> diversity(groups=[0, 0, 1])({"input": x}).tolist()
    [-1.0, -1.0, -0.0]
    """

    def fn(ctx):
        a = torch.nn.functional.normalize(ctx[layer].flatten(1), dim=1)
        g = torch.zeros(len(a)) if groups is None else torch.as_tensor(list(groups))
        if len(g) != len(a):
            raise ValueError(f"`groups` has {len(g)} entries for {len(a)} images.")
        same = (g[:, None] == g[None, :]).to(a.device) & ~torch.eye(len(a), dtype=torch.bool,
                                                                      device=a.device)
        sim = (a @ a.T) * same
        return -sim.sum(1) / same.sum(1).clamp_min(1)

    return Objective(fn, f"diversity({layer})", [] if layer == "input" else [layer])


def l2(center: float = 0.0) -> Objective:
    """``||x - center||^2`` of each image (subtract it: ``obj - 1e-2 * l2()``).

    Parameters
    ----------
    center : float, default=0
        The pixel value that costs nothing.

    Returns
    -------
    Objective
        ``[N]``: the squared distance of each image from ``center``.

    Examples
    --------
    >>> l2(1.0)({"input": torch.tensor([[[[1.0, 3.0]]]])})
    tensor([4.])
    """
    return Objective(lambda ctx: (ctx["input"] - center).pow(2).flatten(1).sum(1), "l2")


def total_variation() -> Objective:
    """Anisotropic total variation (sum of absolute neighbour differences) of each image.

    Returns
    -------
    Objective
        ``[N]``: the sum of ``|x[i+1, j] - x[i, j]|`` and ``|x[i, j+1] - x[i, j]|``.

    Examples
    --------
    >>> x = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    >>> total_variation()({"input": x})
    tensor([2.])
    """

    def fn(ctx):
        x = ctx["input"]
        dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().flatten(1).sum(1)
        dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().flatten(1).sum(1)
        return dh + dw

    return Objective(fn, "tv")


def ink(background: float = 0.0) -> Objective:
    """The ink budget: ``sum |x - background|`` of each image (an L1 penalty; MNIST's background
    is 0, so this is the total ink).

    Parameters
    ----------
    background : float, default=0
        The pixel value of no ink.

    Returns
    -------
    Objective
        ``[N]``: the total ink of each image.

    Examples
    --------
    >>> ink()({"input": torch.tensor([[[[0.0, 0.5], [1.0, 0.0]]]])})
    tensor([1.5000])
    """
    return Objective(lambda ctx: (ctx["input"] - background).abs().flatten(1).sum(1), "ink")


def data_prior(images: torch.Tensor, n_components: int = 100) -> Objective:
    """A data prior: the squared distance of each image from the span of the principal
    components of ``images``.

    The span is an affine subspace through the images' mean; PCA by an exact SVD of at most
    10,000 evenly spaced images, computed once per set of images and number of components.
    Subtract it to keep images near what the data can look like.

    Parameters
    ----------
    images : Tensor of shape (M, C, H, W)
        Real images (M >= 2), in the model's raw input range.
    n_components : int, default=100
        Principal components kept (at most what the images have).

    Returns
    -------
    Objective
        ``[N]``: the squared distance from the span (0 on it); ``.fn.mean`` is the images' mean.

    Raises
    ------
    ValueError
        Fewer than 2 images, or ``n_components`` not a positive int.

    Examples
    --------
    >>> x = torch.tensor([[0.0, 0.0], [2.0, 0.0]]).view(2, 1, 1, 2)   # a line along pixel 0
    >>> prior = data_prior(x, n_components=1)
    >>> prior({"input": torch.tensor([[[[5.0, 3.0]]]])})
    tensor([9.])
    """
    x = torch.as_tensor(images).detach().float().flatten(1)
    if x.dim() != 2 or len(x) < 2:
        raise ValueError(f"`prior` must hold at least 2 images. Got shape {tuple(images.shape)}.")
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise ValueError(f"`n_components` must be a positive int. Got {n_components!r} instead.")
    mean, basis = _principal_span(x[:: max(1, len(x) // 10000)], n_components)

    def fn(ctx):
        d = ctx["input"].flatten(1) - mean.to(ctx["input"].device, ctx["input"].dtype)
        # |d - B B^T d|^2 = |d|^2 - |B^T d|^2 for orthonormal columns B: one product, not two
        return (d.pow(2).sum(1) - (d @ basis.to(d.device, d.dtype)).pow(2).sum(1)).clamp_min(0)

    fn.mean = mean  # the start image of a prior run: the data's mean image
    return Objective(fn, f"prior({min(n_components, basis.shape[1])} PCs)")


def batchnorm_layers(model: torch.nn.Module) -> list[str]:
    """The names of the model's ``BatchNorm2d`` layers that keep running statistics.

    Parameters
    ----------
    model : nn.Module
        Any torch model.

    Returns
    -------
    list of str
        Dotted layer names in module order (empty for a model without batch norm).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    >>> batchnorm_layers(net)
    ['1']
    """
    return [n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)
            and m.track_running_stats and m.running_mean is not None]


def batchnorm_prior(model: torch.nn.Module, layers: Sequence[str] | None = None,
                    over: str = "batch") -> Objective:
    """A data-free image prior from the model's own batch norms (DeepInversion, Yin et al. 2020,
    "Dreaming to distill"): how far each image's feature statistics are from those the network
    saw in training.

    For every ``BatchNorm2d`` layer with running mean ``m`` and variance ``v`` (kept over the
    training data), the per-channel mean ``mu`` and (biased) variance ``s2`` of the layer's
    *input* give ``||mu - m||_2 + ||s2 - v||_2``; the prior is the sum over the layers. The input
    is recovered exactly from the layer's output in eval mode,
    ``x = (y - b) / w * sqrt(v + eps) + m``; channels with ``w = 0`` (whose output does not
    depend on the input) are left out. Subtract it, as every penalty.

    Parameters
    ----------
    model : nn.Module
        The network whose batch norms give the statistics.
    layers : list of str, optional
        ``BatchNorm2d`` layers to use; default all of :func:`batchnorm_layers`.
    over : {'batch', 'image'}, default='batch'
        ``'batch'``: statistics over all images and positions of the forward pass, as
        DeepInversion (every image gets the batch's value, so the images are optimized
        together); ``'image'``: over each image's positions (the images stay independent).

    Returns
    -------
    Objective
        ``[N]``: 0 exactly when every used channel's mean and variance equal the running ones,
        > 0 otherwise.

    Raises
    ------
    ValueError
        The model has no such batch norm, a named layer is not one, or ``over`` is unknown.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.BatchNorm2d(1)).eval()
    >>> prior = batchnorm_prior(net)   # running mean 0, variance 1
    >>> x = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]]]])   # mean 0, (biased) variance 1
    >>> with torch.no_grad():
    ...     print(prior({"input": x, "0": net(x)}), prior({"input": x + 2, "0": net(x + 2)}))
    tensor([0.]) tensor([2.])
    """
    if over not in ("batch", "image"):
        raise ValueError(f"`over` must be 'batch' or 'image'. Got {over!r} instead.")
    found = batchnorm_layers(model)
    if layers is None:
        layers = found
    layers = list(layers)
    if not found:
        raise ValueError("`batchnorm_prior` needs a model with BatchNorm2d layers that keep "
                         "running statistics; this model has none.")
    wrong = [n for n in layers if n not in found]
    if wrong or not layers:
        raise ValueError(f"`layers` must be a non-empty list of the model's batch norms "
                         f"{found}. Got {layers!r} instead.")
    mods = dict(model.named_modules())

    def fn(ctx):
        total = 0.0
        for n in layers:
            bn = mods[n]
            y = ctx[n]
            rm = bn.running_mean.to(y.dtype)
            rv = bn.running_var.to(y.dtype)
            C = y.shape[1]
            w = bn.weight.detach().to(y.dtype) if bn.affine else torch.ones(C, dtype=y.dtype,
                                                                             device=y.device)
            b = bn.bias.detach().to(y.dtype) if bn.affine else torch.zeros_like(w)
            keep = w.abs() > 1e-12
            std = torch.sqrt(rv + bn.eps)
            x = ((y - b.view(1, C, 1, 1)) / torch.where(keep, w, torch.ones_like(w)).view(1, C, 1, 1)
                 * std.view(1, C, 1, 1) + rm.view(1, C, 1, 1))
            flat = x.flatten(2)[:, keep]  # [N, C', positions]
            if over == "batch":
                flat = flat.transpose(0, 1).flatten(1).unsqueeze(0)  # [1, C', N * positions]
            mu = flat.mean(2)
            var = flat.var(2, unbiased=False)
            loss = (mu - rm[keep]).norm(dim=1) + (var - rv[keep]).norm(dim=1)
            total = total + (loss.expand(y.shape[0]) if over == "batch" else loss)
        return total

    return Objective(fn, f"batchnorm prior ({len(layers)} layers)", layers)


def class_log_softmax(c: int, *, name: str | None = None) -> Objective:
    """The log-probability of class ``c``: its logit minus the log-sum-exp of all logits, so an
    image scores high only when it looks like class ``c`` *and not* like the others.

    Parameters
    ----------
    c : int
        The class index.
    name : str, optional
        Shown in titles; default ``'class c'``.

    Returns
    -------
    Objective
        ``[N]``: ``log softmax(output)[:, c]`` (at most 0).

    Examples
    --------
    >>> obj = class_log_softmax(1)
    >>> round(float(obj({"output": torch.tensor([[0.0, 0.0]])})), 4)   # log(1/2)
    -0.6931
    """
    c = int(c)

    def fn(ctx):
        out = ctx["output"]
        if not 0 <= c < out.shape[1]:
            raise ValueError(f"class target {c} is out of range for {out.shape[1]} outputs.")
        return torch.log_softmax(out, 1)[:, c]

    obj = Objective(fn, name or f"class {c}")
    obj.target_class = c
    return obj


_SPANS: dict = {}  # (fingerprint of the images, n_components) -> (mean, basis); a few entries


def _principal_span(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean [D], basis [D, k])`` of the rows of ``x``, memoized on their content (the gallery
    asks for the same training images' span six times per recipe)."""
    w = torch.arange(1, x.numel() + 1, dtype=torch.float64).remainder_(9973).view_as(x)
    key = (tuple(x.shape), k, float(x.double().sum()), float((x.double() * w).sum()))
    if key not in _SPANS:
        mean = x.mean(0)
        basis = torch.linalg.svd(x - mean, full_matrices=False).Vh[:k].T.contiguous()
        if len(_SPANS) >= 4:
            _SPANS.pop(next(iter(_SPANS)))
        _SPANS[key] = (mean, basis)
    return _SPANS[key]


def penalty(*, l2: float = 0.0, tv: float = 0.0, ink: float = 0.0, prior: Objective | None = None,
            prior_weight: float = 0.0, background: float = 0.0) -> Objective | None:
    """The weighted sum of the penalties whose weight is not zero: the one place where
    activation maximization's ``l2``, ``tv``, ``ink`` and ``prior`` meet.

    Parameters
    ----------
    l2, tv, ink : float, default=0
        Weights of :func:`l2`, :func:`total_variation` and :func:`ink`.
    prior : Objective, optional
        A prior such as :func:`data_prior`'s.
    prior_weight : float, default=0
        Its weight.
    background : float, default=0
        The ink penalty's background value.

    Returns
    -------
    Objective or None
        The sum (subtract it from the objective); None when every weight is zero.

    Examples
    --------
    >>> pen = penalty(l2=1.0, ink=0.5)
    >>> pen({"input": torch.tensor([[[[2.0]]]])})
    tensor([5.])
    >>> penalty() is None
    True
    """
    terms = [(l2, _l2), (tv, total_variation), (ink, lambda: _ink(background)),
             (prior_weight, (lambda: prior) if prior is not None else None)]
    used = [w * make() for w, make in terms if w and make is not None]
    return sum(used) if used else None


_l2, _ink = l2, ink


def _check_index(a: torch.Tensor, k: int, layer: str) -> None:
    if a.dim() < 2 or not 0 <= k < a.shape[1]:
        raise ValueError(f"index {k} is out of range for layer {layer!r} with output shape "
                         f"{tuple(a.shape)}.")
