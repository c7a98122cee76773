"""Input attributions with Captum, and the model-randomization sanity check.

One verb, one signature (Captum's ``attribute(inputs, target=...)`` idea): :func:`attributions`
runs one method or several on the same inputs, for any differentiable classifier taking raw inputs
and returning logits. The model is used in eval mode with frozen parameters; its training flags and
``requires_grad`` flags are put back and no hook is left on it.

:func:`randomization_check` is the sanity check of Adebayo et al. (2018, "Sanity Checks for
Saliency Maps"): the same maps for copies of the model whose layers are re-initialized one by one
from the top (:func:`cascade_layers`, :func:`randomized_copy`), compared with the trained model's
maps by Spearman rank correlation of the absolute maps (:func:`rank_correlation`) over the
elements where either map is non-zero: elements that are zero in both (the black background of a
digit under input x gradient, ReLU units that are off in a layer below the re-initialized ones)
would otherwise tie and keep the whole-map correlation near 1 whatever the rest does. A method
whose maps barely change when the weights do cannot be explaining what the model learned.
:func:`attribution_layer` is the layer the layer methods use by default for a model.

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> res = attributions(model, torch.rand(3, 1, 2, 2), target=1, methods="integrated_gradients")
>>> res.maps.shape, res.delta.shape
(torch.Size([3, 1, 2, 2]), torch.Size([3]))
>>> sorted(attributions(model, torch.rand(3, 1, 2, 2), target=1,
...                     methods=["saliency", "deeplift"]))
['deeplift', 'saliency']
"""

from __future__ import annotations

import copy
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .._torch import frozen_eval, layer_name, model_device, resolve_layer
from ._layers import last_conv_layer

__all__ = ["METHODS", "LAYER_METHODS", "Attribution", "RandomizationCheck", "attributions",
           "attribution_layer", "cascade_layers", "last_conv_layer", "randomization_check",
           "randomized_copy", "rank_correlation"]

#: Valid values of ``methods``.
METHODS = ("saliency", "smoothgrad", "input_x_gradient", "guided_backprop", "integrated_gradients",
           "deeplift", "occlusion", "grad_cam", "layer_integrated_gradients", "layer_conductance")
#: Methods that attribute to a layer's units rather than to the input.
LAYER_METHODS = ("grad_cam", "layer_integrated_gradients", "layer_conductance")

# Methods whose maps carry a sign (drawn with a diverging, symmetric colour scale).
_UNSIGNED = {"saliency", "smoothgrad", "grad_cam"}
# Methods with a reference input and a completeness delta.
_BASELINE = {"integrated_gradients", "deeplift", "occlusion", "layer_integrated_gradients",
             "layer_conductance"}
_DELTA = _BASELINE - {"occlusion"}
_RTOL = 1e-6  # below this share of a map's largest magnitude an element counts as zero
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


@dataclass
class Attribution:
    """What :func:`attributions` returns for one method.

    Attributes
    ----------
    maps : Tensor of shape (N, *input_shape) or (N, *layer_output_shape)
        One attribution per input element (CPU, detached). Grad-CAM maps are upsampled to the
        input's height and width and repeated over its channels; layer integrated gradients and
        layer conductance keep the shape of the layer's output (one value per unit).
    targets : Tensor of shape (N,)
        The class explained for each input (int64).
    method : str
        One of :data:`METHODS`.
    inputs : Tensor of shape (N, *input_shape)
        The explained inputs (CPU, detached), so a plot can show the image beside its map.
    delta : Tensor of shape (N,) or None
        Convergence delta ``sum(maps) - (f(x) - f(baseline))`` per input (integrated gradients,
        DeepLift, layer integrated gradients, layer conductance).
    layer : str or None
        The layer a layer method used.
    signed : bool
        False for the absolute gradients (saliency, SmoothGrad) and Grad-CAM (ReLU applied).
    settings : dict
        The settings used (``n_steps``, ``baseline``, ``noise``, ``n_samples``, ``window``, ...),
        so a caption can say them.
    """

    maps: torch.Tensor
    targets: torch.Tensor
    method: str
    inputs: torch.Tensor
    delta: torch.Tensor | None = None
    layer: str | None = None
    signed: bool = True
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.maps.shape[0])


def attributions(model: nn.Module, inputs: torch.Tensor, *, target=None,
                 methods: str | Sequence[str] = "saliency", baseline=None,
                 n_steps: int | None = None, layer: str | nn.Module | None = None,
                 window: int | Sequence[int] | None = None,
                 stride: int | Sequence[int] | None = None, noise: float | None = None,
                 n_samples: int | None = None, seed: int = 0, batch_size: int | None = None):
    """Attribute the ``target`` logit of ``model`` to each element of ``inputs`` (or of a layer).

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs (a batch) and returns logits ``[N, n_classes]``.
    inputs : Tensor of shape (N, ...)
        The inputs to explain, e.g. images ``[N, C, H, W]`` in [0, 1].
    target : int, sequence of int, Tensor of shape (N,), or None, default=None
        The class to explain per input; ``None`` explains the model's predicted class.
    methods : str or sequence of str, default='saliency'
        One name of :data:`METHODS` (returns one :class:`Attribution`) or several (returns a dict
        name -> Attribution, in the order given).
        ``'saliency'``: absolute input gradient (Simonyan et al., 2014).
        ``'smoothgrad'``: saliency averaged over ``n_samples`` copies of the input with Gaussian
        noise of standard deviation ``noise`` (Smilkov et al., 2017; Captum's NoiseTunnel).
        ``'input_x_gradient'``: input times gradient (Shrikumar et al., 2016).
        ``'guided_backprop'``: the gradient with negative signals stopped at every ReLU on the
        way back (Springenberg et al., 2015).
        ``'integrated_gradients'``: path integral of the gradient from ``baseline`` to the input
        (Sundararajan et al., 2017). ``'deeplift'``: DeepLIFT's rescale rule against ``baseline``
        (Shrikumar et al., 2017). Both with their convergence delta.
        ``'occlusion'``: drop in the target logit when a sliding window is replaced by
        ``baseline`` (Zeiler & Fergus, 2014), averaged over the windows covering each element.
        ``'grad_cam'``: Grad-CAM on ``layer`` (Selvaraju et al., 2017), ReLU applied, upsampled
        (bilinear) to the input size. ``'layer_integrated_gradients'`` and
        ``'layer_conductance'`` (Dhamdhere et al., 2018): integrated gradients from ``baseline``
        credited to each unit of ``layer``'s output.
    baseline : float or Tensor, default=None
        Reference input of the methods that need one; ``None`` means zeros (a black image).
    n_steps : int, default=None
        Integration steps (Gauss-Legendre) of the path methods; ``None`` means 50.
    layer : str or nn.Module, default=None
        The layer of the layer methods (a dotted name of ``model.named_modules()`` or the
        module); ``None`` means the last ``nn.Conv2d`` (see :func:`last_conv_layer`).
    window, stride : int or sequence of int, default=None
        Occlusion window and stride. ``None``: for ``[C, H, W]`` inputs a window of
        ``(C, ceil(H/7), ceil(W/7))`` (4x4 on 28x28) and half of it as stride; else 1 and 1.
    noise : float, default=None
        SmoothGrad's noise standard deviation; ``None`` means 0.15 times the inputs' range.
    n_samples : int, default=None
        SmoothGrad's noisy copies per input; ``None`` means 25.
    seed : int, default=0
        Seeds SmoothGrad's noise (the global random state is put back afterwards).
    batch_size : int, default=None
        Inputs explained per pass; ``None`` means 32.

    Returns
    -------
    Attribution, or dict of str to Attribution when ``methods`` is a sequence

    Raises
    ------
    ValueError
        Unknown method (the valid ones are listed), a ``target`` out of range or of the wrong
        length, a layer method on a model without ``nn.Conv2d`` and no ``layer``, an unknown layer.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lin = nn.Linear(3, 2)
    >>> res = attributions(lin, torch.ones(1, 3), target=0, methods="integrated_gradients")
    >>> torch.allclose(res.maps[0], lin.weight[0].detach(), atol=1e-5)
    True
    """
    names = _method_names(methods)
    x = _check_inputs(inputs)
    opts = _options(names, x, baseline=baseline, n_steps=n_steps, window=window, stride=stride,
                    noise=noise, n_samples=n_samples, seed=seed)
    batch_size = 32 if batch_size is None else _pos_int("batch_size", batch_size)
    layer_name, layer_module = (_resolve_layer(model, layer)
                                if any(m in LAYER_METHODS for m in names) else (None, None))
    x = x.to(device=model_device(model), dtype=torch.float32)
    base = _baseline(baseline, x) if _BASELINE & set(names) else None
    out = {}
    with frozen_eval(model), torch.enable_grad(), warnings.catch_warnings():
        # Captum says it sets (and removes) hooks on activations: expected, not the user's doing
        warnings.filterwarnings("ignore", message=r"(?s).*(hooks|attributes) on (non-linear|ReLU)")
        targets = _targets(model, x, target, batch_size)
        for name in names:
            maps, deltas = _batches(name, model, x, targets, base, layer_module, opts, batch_size)
            out[name] = Attribution(
                maps=maps, targets=targets.cpu(), method=name, inputs=x.cpu(), delta=deltas,
                layer=layer_name if name in LAYER_METHODS else None,
                signed=name not in _UNSIGNED, settings=_settings(name, opts, baseline))
    return out[names[0]] if isinstance(methods, str) else out


def _batches(name, model, x, targets, base, layer, opts, batch_size):
    maps, deltas = [], []
    for s in range(0, x.shape[0], batch_size):
        bb = None if base is None else base[s:s + batch_size]
        a, d = _RUN[name](model, x[s:s + batch_size], targets[s:s + batch_size], bb, layer, opts)
        maps.append(a.detach().float().cpu())
        if d is not None:
            deltas.append(d.detach().reshape(-1).float().cpu())
    return torch.cat(maps), (torch.cat(deltas) if deltas else None)


@dataclass
class RandomizationCheck:
    """What :func:`randomization_check` returns.

    Attributes
    ----------
    methods : tuple of str
    layers : tuple of str
        The cascade's steps, top first: after step ``k`` the layers ``layers[:k + 1]`` are
        re-initialized (a step also re-initializes the normalization layer right after it).
    maps : dict of str to Tensor of shape (1 + len(layers), N, ...)
        Per method, the trained model's maps (index 0), then the maps after each step.
    correlations : ndarray of shape (len(methods), len(layers), N)
        Spearman rank correlation of the absolute maps after each step with the trained model's,
        over the elements where either map is non-zero (``rank_correlation(..., over='nonzero')``;
        NaN where both maps are zero nearly everywhere). The measure :attr:`unchanged` uses.
    whole_correlations : ndarray of shape (len(methods), len(layers), N)
        The same over the whole map (Adebayo et al.'s measure), which elements that are zero in
        both maps (black background, ReLU units that are off) hold up.
    threshold : float
    inputs : Tensor of shape (N, ...)
    targets : Tensor of shape (N,)
    seed : int
    trained : dict of str to Attribution
        The trained model's attributions (with their deltas and settings).
    """

    methods: tuple
    layers: tuple
    maps: dict
    correlations: np.ndarray
    whole_correlations: np.ndarray
    threshold: float
    inputs: torch.Tensor
    targets: torch.Tensor
    seed: int
    trained: dict = field(default_factory=dict)

    @property
    def final(self) -> np.ndarray:
        """Mean (over the inputs, NaN ignored) of :attr:`correlations` after every layer is
        re-initialized, per method."""
        return _nanmean(self.correlations[:, -1])

    @property
    def final_whole(self) -> np.ndarray:
        """The same mean for :attr:`whole_correlations`."""
        return _nanmean(self.whole_correlations[:, -1])

    @property
    def shared_zeros(self) -> np.ndarray:
        """Per method, the share of elements (over all inputs) that are zero in both the trained
        and the fully re-initialized absolute maps: what holds :attr:`whole_correlations` up."""
        out = []
        for m in self.methods:
            a, b = (_as_numpy(self.maps[m][k]).reshape(len(self.inputs), -1) for k in (0, -1))
            za = np.stack([~_nonzero(r, _RTOL) for r in a])
            zb = np.stack([~_nonzero(r, _RTOL) for r in b])
            out.append(float((za & zb).mean()))
        return np.asarray(out)

    @property
    def unchanged(self) -> tuple:
        """The methods whose maps barely change: :attr:`final` >= ``threshold``."""
        return tuple(m for m, c in zip(self.methods, self.final) if c >= self.threshold)


def _nanmean(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.nanmean(a, axis=-1)


def randomization_check(model: nn.Module, inputs: torch.Tensor, *, target=None,
                        methods: str | Sequence[str] = ("saliency",), threshold: float = 0.5,
                        layers: Sequence[str] | None = None, seed: int = 0,
                        **kwargs) -> RandomizationCheck:
    """The cascading model-randomization test of Adebayo et al. (2018) for ``methods``.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor of shape (N, ...)
    target : int, sequence of int, Tensor or None, default=None
        As in :func:`attributions`; ``None`` fixes the trained model's predictions, so every
        copy explains the same classes.
    methods : str or sequence of str, default=('saliency',)
    threshold : float, default=0.5
        A method whose mean rank correlation over the non-zero elements
        (:attr:`RandomizationCheck.correlations`) after every layer is re-initialized is still
        at least this is listed in :attr:`RandomizationCheck.unchanged`.
    layers : sequence of str, default=None
        The cascade, top first; ``None`` means :func:`cascade_layers` of the model.
    seed : int, default=0
        Seeds the new weights (layer by layer, so a layer gets the same new weights at every
        step) and the methods' own randomness.
    **kwargs
        Passed to :func:`attributions` (``n_steps``, ``layer``, ``baseline``, ...).

    Returns
    -------
    RandomizationCheck

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> chk = randomization_check(net, torch.rand(3, 4), target=0, methods="saliency")
    >>> chk.layers, chk.correlations.shape
    (('2', '0'), (1, 2, 3))
    """
    names = _method_names(methods)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) \
            or not -1.0 <= threshold <= 1.0:
        raise ValueError(f"`threshold` must be a number in [-1, 1]. Got {threshold!r} instead.")
    steps = tuple(cascade_layers(model) if layers is None else layers)
    if not steps:
        raise ValueError(f"{type(model).__name__} has no layer with parameters to re-initialize.")
    trained = attributions(model, inputs, target=target, methods=list(names), seed=seed, **kwargs)
    targets = trained[names[0]].targets
    per_step = [trained]
    for k in range(len(steps)):
        rand = randomized_copy(model, layers=steps[:k + 1], seed=seed)
        per_step.append(attributions(rand, inputs, target=targets, methods=list(names),
                                     seed=seed, **kwargs))
    maps = {m: torch.stack([r[m].maps for r in per_step]) for m in names}
    corr = {over: np.array([[rank_correlation(maps[m][0].abs(), maps[m][k].abs(), over=over)
                             for k in range(1, len(per_step))] for m in names]).reshape(
                                 len(names), len(steps), -1)
            for over in ("nonzero", "all")}
    return RandomizationCheck(methods=names, layers=steps, maps=maps, correlations=corr["nonzero"],
                              whole_correlations=corr["all"],
                              threshold=float(threshold), inputs=trained[names[0]].inputs,
                              targets=targets, seed=seed, trained=trained)


def cascade_layers(model: nn.Module) -> list[str]:
    """The layers re-initialized one by one in the randomization check, top (output) first.

    Every module with parameters of its own, in reverse ``named_modules()`` order, except that a
    normalization layer (BatchNorm, LayerNorm, GroupNorm) goes with the layer before it.

    Examples
    --------
    >>> from torch import nn
    >>> cascade_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
    ...                              nn.Flatten(), nn.Linear(2, 3)))
    ['4', '0']
    """
    names = []
    for name, m in model.named_modules():
        if not any(True for _ in m.parameters(recurse=False)):
            continue
        if isinstance(m, _NORMS) and names:
            continue
        names.append(name)
    return names[::-1]


def attribution_layer(model: nn.Module) -> str | None:
    """The layer whose units the layer methods (Grad-CAM, layer integrated gradients, layer
    conductance) explain for ``model``, or ``None`` when it has no ``nn.Conv2d``.

    The rectified output of the last conv layer (:func:`last_conv_layer` with
    ``rectified=True``): Selvaraju et al.'s (2017) choice for Grad-CAM.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten())
    >>> attribution_layer(net), attribution_layer(nn.Linear(2, 2))
    ('1', None)
    """
    return last_conv_layer(model, rectified=True)


def randomized_copy(model: nn.Module, *, layers: Sequence[str] | None = None,
                    seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` with parameters re-initialized (the caller's model is untouched).

    Modules with ``reset_parameters`` (Linear, Conv, BatchNorm, ...) are reset; any other parameter
    is redrawn from a normal distribution with its current standard deviation. Used for the model
    randomization test of Adebayo et al. (2018): a faithful attribution changes with the weights.

    Parameters
    ----------
    model : nn.Module
    layers : sequence of str, default=None
        Re-initialize only these modules (dotted names, with their submodules and, for a name of
        :func:`cascade_layers`, the normalization layer that goes with it); ``None`` means all.
    seed : int, default=0
        Seeds the new weights, per module (a module gets the same new weights whichever other
        modules are re-initialized with it); the global random state is put back afterwards.

    Examples
    --------
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    >>> r = randomized_copy(m, layers=["1"], seed=1)
    >>> bool((r[1].weight != m[1].weight).any()), bool((r[0].weight == m[0].weight).all())
    (True, True)
    """
    new = copy.deepcopy(model)
    named = dict(new.named_modules())
    chosen = _with_norms(new, layers, named)
    covered = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for name, m in named.items():
            if not any(name == c or name.startswith(c + ".") or c == "" for c in chosen):
                continue
            torch.manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
                m.reset_parameters()
            for p in m.parameters(recurse=False):
                if id(p) not in covered and not hasattr(m, "reset_parameters"):
                    std = float(p.std()) if p.numel() > 1 else 1.0
                    p.normal_(0.0, std if std > 0 else 0.01)
                covered.add(id(p))
    return new


def rank_correlation(a, b, *, over: str = "all", rtol: float = _RTOL) -> np.ndarray:
    """Spearman rank correlation between two sets of maps, one value per example.

    Parameters
    ----------
    a, b : Tensor, ndarray or Attribution, of shape (N, ...)
    over : {'all', 'nonzero'}, default='all'
        ``'all'``: every element of the map. ``'nonzero'``: only the elements where *either* map
        is non-zero (``|value| > rtol * max |map|``, per map): elements that are zero in both
        (a black background under input x gradient, ReLU units that are off) are tied in both
        rankings and hold a whole-map correlation up whatever the rest of the maps do. Two maps
        whose non-zero elements lie in different places come out negative.
    rtol : float, default=1e-6
        What counts as zero with ``over='nonzero'``, relative to each map's largest magnitude.

    Returns
    -------
    ndarray of shape (N,)
        0 where one ranking is constant; with ``over='nonzero'``, NaN where fewer than two
        elements are non-zero in either map.

    Examples
    --------
    >>> import torch
    >>> rank_correlation(torch.tensor([[1., 2., 3.]]), torch.tensor([[10., 20., 30.]]))
    array([1.])
    >>> a = torch.tensor([[0., 0., 0., 0., 0., 0., 1., 2., 3.]])
    >>> b = torch.tensor([[0., 0., 0., 0., 0., 0., 3., 2., 1.]])
    >>> rank_correlation(a, b).round(2), rank_correlation(a, b, over="nonzero")
    (array([0.91]), array([-1.]))
    """
    if over not in ("all", "nonzero"):
        raise ValueError(f"`over` must be one of 'all', 'nonzero'. Got {over!r} instead.")
    a, b = (_as_numpy(v) for v in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must have the same shape. Got {a.shape} and {b.shape}.")
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if over == "all":
        return _spearman_rows(a, b)
    out = np.full(a.shape[0], np.nan)
    for i, (ai, bi) in enumerate(zip(a, b)):
        keep = _nonzero(ai, rtol) | _nonzero(bi, rtol)
        if keep.sum() >= 2:
            out[i] = _spearman_rows(ai[None, keep], bi[None, keep])[0]
    return out


def _nonzero(v: np.ndarray, rtol: float) -> np.ndarray:
    return np.abs(v) > rtol * float(np.abs(v).max(initial=0.0))


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of ``a`` with the same row of ``b`` (average ranks for ties)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), 0.0)


# -------------------------------------------------------------------------------------------
# One small function per method: (model, x, target, baseline, layer, options) -> (maps, delta).
def _leaf(x):
    # a fresh leaf that requires grad: Captum would otherwise warn and set it on the caller's
    return x.clone().requires_grad_(True)


def _saliency(model, x, t, b, layer, o):
    from captum.attr import Saliency

    return Saliency(model).attribute(_leaf(x), target=t, abs=True), None


def _smoothgrad(model, x, t, b, layer, o):
    from captum.attr import NoiseTunnel, Saliency

    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(o["seed"])
        a = NoiseTunnel(Saliency(model)).attribute(
            _leaf(x), nt_type="smoothgrad", nt_samples=o["n_samples"], stdevs=o["noise"],
            nt_samples_batch_size=o["n_samples"], target=t, abs=True)
    return a, None


def _input_x_gradient(model, x, t, b, layer, o):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(_leaf(x), target=t), None


def _guided_backprop(model, x, t, b, layer, o):
    from captum.attr import GuidedBackprop

    return GuidedBackprop(model).attribute(_leaf(x), target=t), None


def _integrated_gradients(model, x, t, b, layer, o):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(model).attribute(
        x, baselines=b, target=t, n_steps=o["n_steps"], method="gausslegendre",
        return_convergence_delta=True)


def _deeplift(model, x, t, b, layer, o):
    from captum.attr import DeepLift

    return DeepLift(model).attribute(_leaf(x), baselines=b, target=t,
                                     return_convergence_delta=True)


def _occlusion(model, x, t, b, layer, o):
    from captum.attr import Occlusion

    return Occlusion(model).attribute(
        x, sliding_window_shapes=o["window"], strides=o["stride"], baselines=b, target=t,
        perturbations_per_eval=max(1, 256 // x.shape[0])), None


def _grad_cam(model, x, t, b, layer, o):
    from captum.attr import LayerAttribution, LayerGradCam

    # Captum needs the layer output in the graph: with frozen parameters that requires an input
    # that requires grad (a fresh leaf, the caller's tensor is not touched).
    cam = LayerGradCam(model, layer).attribute(_leaf(x), target=t, relu_attributions=True)
    if cam.dim() != 4:
        raise ValueError(f"grad_cam needs a layer with [N, C, H, W] output. Got {list(cam.shape)}.")
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return (cam.expand(-1, x.shape[1], -1, -1) if x.dim() == 4 else cam), None


def _layer_integrated_gradients(model, x, t, b, layer, o):
    from captum.attr import LayerIntegratedGradients

    return LayerIntegratedGradients(model, layer).attribute(
        _leaf(x), baselines=b, target=t, n_steps=o["n_steps"], return_convergence_delta=True)


def _layer_conductance(model, x, t, b, layer, o):
    from captum.attr import LayerConductance

    return LayerConductance(model, layer).attribute(
        _leaf(x), baselines=b, target=t, n_steps=o["n_steps"], return_convergence_delta=True)


_RUN = {"saliency": _saliency, "smoothgrad": _smoothgrad, "input_x_gradient": _input_x_gradient,
        "guided_backprop": _guided_backprop, "integrated_gradients": _integrated_gradients,
        "deeplift": _deeplift, "occlusion": _occlusion, "grad_cam": _grad_cam,
        "layer_integrated_gradients": _layer_integrated_gradients,
        "layer_conductance": _layer_conductance}


# -------------------------------------------------------------------------------------------
def _method_names(methods) -> tuple:
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    if not names:
        raise ValueError(f"`methods` must name at least one of {', '.join(map(repr, METHODS))}.")
    for m in names:
        if m not in METHODS:
            raise ValueError(f"`methods` must be one of {', '.join(map(repr, METHODS))}. "
                             f"Got {m!r} instead.")
    if len(set(names)) != len(names):
        raise ValueError(f"`methods` names a method twice: {list(names)}.")
    return names


def _check_inputs(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`inputs` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"`inputs` must be a non-empty batch [N, ...]. Got shape {list(x.shape)} "
                         "instead.")
    return x.detach()


def _options(names, x, *, baseline, n_steps, window, stride, noise, n_samples, seed) -> dict:
    o = {"n_steps": 50 if n_steps is None else _pos_int("n_steps", n_steps),
         "n_samples": 25 if n_samples is None else _pos_int("n_samples", n_samples),
         "seed": int(seed)}
    if noise is None:
        noise = 0.15 * float(x.max() - x.min())
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"`noise` must be a number >= 0. Got {noise!r} instead.")
    o["noise"] = float(noise)
    if "occlusion" in names:
        o["window"], o["stride"] = _occlusion_window(tuple(x.shape[1:]), window, stride)
    return o


def _settings(name, o, baseline) -> dict:
    s = {}
    if name in _BASELINE:
        s["baseline"] = (0.0 if baseline is None else float(baseline)
                         if isinstance(baseline, (int, float)) else "tensor")
    if name in ("integrated_gradients", "layer_integrated_gradients", "layer_conductance"):
        s["n_steps"] = o["n_steps"]
    if name == "smoothgrad":
        s.update(noise=o["noise"], n_samples=o["n_samples"], seed=o["seed"])
    if name == "occlusion":
        s.update(window=o["window"], stride=o["stride"])
    return s


def _with_norms(model, layers, named) -> list[str]:
    """``layers`` plus, for each, the normalization layer that follows it (as in the cascade)."""
    if layers is None:
        return [""]
    order = [n for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    out = []
    for name in layers:
        if not isinstance(name, str) or name not in named:
            raise ValueError(f"`layers` must name submodules of the model (cascade_layers(model) "
                             f"lists {cascade_layers(model)}). Got {name!r} instead.")
        out.append(name)
        i = order.index(name) if name in order else -1
        if 0 <= i < len(order) - 1 and isinstance(named[order[i + 1]], _NORMS):
            out.append(order[i + 1])
    return out


def _resolve_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    if layer is None:
        name = last_conv_layer(model)
        if name is None:
            raise ValueError(f"grad_cam and the layer methods need a layer: {type(model).__name__} "
                             "has no nn.Conv2d to default to; pass `layer`, or use 'saliency', "
                             "'integrated_gradients' or 'occlusion'.")
        return name, resolve_layer(model, name)
    module = resolve_layer(model, layer)
    return layer_name(model, module), module


def _targets(model: nn.Module, x: torch.Tensor, target, batch_size: int) -> torch.Tensor:
    n = x.shape[0]
    with torch.no_grad():
        out = model(x[:1])
    if out.dim() != 2:
        raise ValueError(f"`model` must return logits of shape [N, n_classes]. Got {list(out.shape)}.")
    n_out = out.shape[1]
    if target is None:
        with torch.no_grad():
            preds = [model(x[s:s + batch_size]).argmax(1) for s in range(0, n, batch_size)]
        return torch.cat(preds).long()
    if isinstance(target, (bool, float)) or (isinstance(target, torch.Tensor) and target.is_floating_point()):
        raise TypeError(f"`target` must be an int, a sequence of ints or None. Got {target!r} instead.")
    t = torch.as_tensor(target, dtype=torch.long, device=x.device).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n:
        raise ValueError(f"`target` must be one class or one per input: x has {n} inputs, "
                         f"target has {t.numel()}.")
    if (t < 0).any() or (t >= n_out).any():
        raise ValueError(f"`target` must be in [0, {n_out - 1}] (the model has {n_out} outputs). "
                         f"Got {t.tolist()} instead.")
    return t


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    b = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    try:
        return b.expand_as(x).clone()
    except RuntimeError:
        raise ValueError(f"`baseline` must broadcast to the inputs' shape {list(x.shape)}. "
                         f"Got shape {list(b.shape)} instead.") from None


def _occlusion_window(shape: tuple, window, stride) -> tuple[tuple, tuple]:
    def full(v, default):
        if v is None:
            return default
        if isinstance(v, int) and not isinstance(v, bool):
            v = (v,) * min(2, len(shape))
        v = tuple(int(i) for i in v)
        if len(v) == len(shape) - 1 and len(shape) == 3:
            v = (shape[0],) + v  # spatial only: occlude all channels together
        if len(v) != len(shape) or any(i < 1 for i in v):
            raise ValueError(f"occlusion `window`/`stride` must be positive ints over the input's "
                             f"dimensions {shape} (or its spatial ones). Got {v!r} instead.")
        return v

    if len(shape) == 3:
        c, h, w = shape
        dwin = (c, -(-h // 7), -(-w // 7))
        win = full(window, dwin)
        dstr = (c, max(1, win[1] // 2), max(1, win[2] // 2))
    else:
        win = full(window, (1,) * len(shape))
        dstr = (1,) * len(shape)
    strd = full(stride, dstr)
    if any(wi > si for wi, si in zip(win, shape)):
        raise ValueError(f"occlusion `window` {win} is larger than the input {shape}.")
    return win, strd


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")
    return int(v)


def _as_numpy(v) -> np.ndarray:
    if isinstance(v, Attribution):
        v = v.maps
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)
