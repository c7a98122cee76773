"""The attribution methods, one small unit each (as Captum keeps one class per method).

A :class:`Method` names a method, says how its maps are computed (``run``: one function of
``(model, x, target, baseline, layer, options) -> (maps, delta)`` over Captum) and how it is
read: whether it needs a reference input (``baseline``), returns a completeness ``delta``,
attributes to a layer's units (``layer``), carries a sign (``signed``) and which settings its
result reports. :data:`REGISTRY` holds them in the order :data:`METHODS` lists them;
:func:`get_method` looks one up. The verb that runs them is
:func:`~vizkit.analysis.attributions.attributions`.

Examples
--------
>>> get_method("integrated_gradients").baseline, get_method("saliency").signed
(True, False)
>>> [m.name for m in REGISTRY.values() if m.layer]
['grad_cam', 'layer_integrated_gradients', 'layer_conductance']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["Method", "REGISTRY", "METHODS", "LAYER_METHODS", "get_method"]


@dataclass(frozen=True)
class Method:
    """One attribution method.

    Attributes
    ----------
    name : str
        The name :func:`~vizkit.analysis.attributions.attributions` takes.
    run : callable
        ``run(model, x, target, baseline, layer, options) -> (maps, delta or None)`` on one
        batch; ``options`` holds ``n_steps``, ``n_samples``, ``noise``, ``seed``, and
        ``window``/``stride`` for occlusion.
    signed : bool, default=True
        False for absolute gradients and Grad-CAM (ReLU applied).
    baseline : bool, default=False
        Takes a reference input (``baseline``).
    delta : bool, default=False
        Returns the convergence delta ``sum(maps) - (f(x) - f(baseline))``.
    layer : bool, default=False
        Attributes to the units of a layer rather than to the input.
    settings : tuple of str, default=()
        The options its result reports in ``Attribution.settings`` (after ``baseline``).
    """

    name: str
    run: Callable
    signed: bool = True
    baseline: bool = False
    delta: bool = False
    layer: bool = False
    settings: tuple = ()


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


#: The methods, in the order of :data:`METHODS`.
REGISTRY = {m.name: m for m in (
    Method("saliency", _saliency, signed=False),
    Method("smoothgrad", _smoothgrad, signed=False, settings=("noise", "n_samples", "seed")),
    Method("input_x_gradient", _input_x_gradient),
    Method("guided_backprop", _guided_backprop),
    Method("integrated_gradients", _integrated_gradients, baseline=True, delta=True,
           settings=("n_steps",)),
    Method("deeplift", _deeplift, baseline=True, delta=True),
    Method("occlusion", _occlusion, baseline=True, settings=("window", "stride")),
    Method("grad_cam", _grad_cam, signed=False, layer=True),
    Method("layer_integrated_gradients", _layer_integrated_gradients, baseline=True, delta=True,
           layer=True, settings=("n_steps",)),
    Method("layer_conductance", _layer_conductance, baseline=True, delta=True, layer=True,
           settings=("n_steps",)),
)}
#: Valid values of ``methods``.
METHODS = tuple(REGISTRY)
#: Methods that attribute to a layer's units rather than to the input.
LAYER_METHODS = tuple(m.name for m in REGISTRY.values() if m.layer)


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.

    Returns
    -------
    Method

    Raises
    ------
    ValueError
        Unknown name (the valid ones are listed).

    Examples
    --------
    >>> m = get_method("integrated_gradients")
    >>> m.name, m.signed, m.baseline, m.layer
    ('integrated_gradients', True, True, False)
    >>> get_method("lime")
    Traceback (most recent call last):
    ...
    ValueError: `methods` must be one of 'saliency', ...
    """
    if name not in REGISTRY:
        raise ValueError(f"`methods` must be one of {', '.join(map(repr, METHODS))}. "
                         f"Got {name!r} instead.")
    return REGISTRY[name]
