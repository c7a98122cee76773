"""Figure family ``attributions``: for the first test example of each of 5 classes, each group
of attribution methods (:data:`GROUPS`) beside the images, then the same maps for the model
re-initialized layer by layer from the top, with the rank correlations (the sanity check of
Adebayo et al., 2018).

The maps and the check come from :mod:`vizkit.analysis.attributions`, drawn by
:mod:`vizkit.plot.attributions`.
"""

from __future__ import annotations

import numpy as np

from ..plot.attributions import (FONT, METHOD_TITLES, plot_attributions, plot_randomization,
                                 plot_rank_correlation)
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "example_indices", "GROUPS"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "attributions"


def applies(model, split) -> str | None:
    """``None`` for a torch model of [C, H, W] images, else the reason."""
    from torch import nn

    if not isinstance(model, nn.Module):
        return (f"attributions need a differentiable torch model; {type(model).__name__} is not "
                "an nn.Module.")
    if len(split.input_shape) != 3:
        return (f"attributions are drawn as images and need [C, H, W] inputs; {split.name!r} has "
                f"input shape {tuple(split.input_shape)}.")
    return None


#: The figures of the family: name -> methods drawn together (the layer group needs a conv layer).
GROUPS = {"gradients": ("saliency", "smoothgrad", "guided_backprop", "input_x_gradient"),
          "references": ("integrated_gradients", "deeplift", "occlusion"),
          "layers": ("grad_cam", "layer_integrated_gradients", "layer_conductance")}
_N_EXAMPLES = 5  # test images: the first of each of the first 5 classes


def example_indices(y, n: int = _N_EXAMPLES) -> list[int]:
    """The index of the first test example of each of the first ``n`` classes present (fixed, so
    the same images appear in every run and for every model)."""
    seen: dict[int, int] = {}
    for i, c in enumerate(y.tolist()):
        if c not in seen:
            seen[c] = i
    return [seen[c] for c in sorted(seen)[:n]]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures (see the module's description; the layer group only for models with
    a conv layer).

    Per group two figures: ``attributions-<group>`` (``data``: ``inputs``, ``targets``,
    ``predictions``, ``class_names``, ``maps_<method>``, ``delta_<method>``) and
    ``attributions-<group>-randomized`` (``data``: ``maps_<method>`` of shape
    ``(1 + n_layers, N, ...)``, ``correlations``, ``methods``, ``layers``, ``threshold``,
    ``unchanged``, ``inputs``, ``targets``).

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.
    """
    import torch

    from .._torch import frozen_eval, model_device
    from ..analysis.attributions import attribution_layer, randomization_check

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    idx = example_indices(split.y_test)
    x, y = split.x_test[idx], split.y_test[idx]
    layer = attribution_layer(model)
    with frozen_eval(model), torch.no_grad():
        pred = model(x.to(model_device(model))).argmax(1).cpu().numpy()
    classes = [str(c) for c in split.classes]
    out = []
    for group, methods in GROUPS.items():
        if group == "layers" and layer is None:
            continue
        check = randomization_check(model, x, target=y, methods=methods, layer=layer, n_steps=64,
                                    seed=seed)
        out.append(_group_figure(group, check, classes, pred))
        out.append(_randomized_figure(group, check, classes))
    return out


def _group_figure(group, check, classes, pred) -> Figure:
    import matplotlib.pyplot as plt

    res = check.trained
    rows, cols = len(check.targets), 1 + len(res)
    fig, axes = plt.subplots(rows, cols, figsize=(1.75 * cols + 0.4, 1.75 * rows + 0.9),
                             squeeze=False, layout="constrained")
    plot_attributions(res, axes=axes, class_names=classes, predictions=pred)
    fig.suptitle(f"{', '.join(METHOD_TITLES[m] for m in res)}: which pixels each method credits "
                 "for the true class", fontsize=FONT)
    data = {"inputs": check.inputs.numpy(), "targets": check.targets.numpy(),
            "predictions": np.asarray(pred), "class_names": np.asarray(classes)}
    for m, r in res.items():
        data[f"maps_{m}"] = r.maps.numpy()
        if r.delta is not None:
            data[f"delta_{m}"] = r.delta.numpy()
    return Figure(id=f"attributions-{group}", fig=fig, caption=_group_caption(check, classes),
                  data=data)


def _group_caption(check, classes) -> str:
    names = [classes[int(t)] for t in check.targets]
    parts = [f"Test images of classes {', '.join(names)} (white on black), then each method's "
             "attribution of the true class's logit, every map divided by its own largest "
             "absolute value (colourbars: red raises the logit, blue lowers it; unsigned maps "
             "dark to bright)."]
    for m, r in check.trained.items():
        s, title = r.settings, METHOD_TITLES[m]
        if m == "smoothgrad":
            parts.append(f"{title}: |gradient| averaged over {s['n_samples']} copies with "
                         f"Gaussian noise of s.d. {s['noise']:.2f} (seed {s['seed']}).")
        if m == "occlusion":
            parts.append(f"{title}: {'x'.join(map(str, s['window'][1:]))} patches set to "
                         f"{s['baseline']:g}, stride {s['stride'][1]}.")
        if m == "grad_cam" or (r.layer is not None and m != "grad_cam"):
            parts.append(f"{title} on layer {r.layer!r}, stretched over the image.")
        if r.delta is not None:
            total = r.maps.flatten(1).sum(1)
            rel = float((r.delta.abs() / (total - r.delta).abs().clamp_min(1e-8)).max())
            steps = f"{s['n_steps']} steps, " if "n_steps" in s else ""
            parts.append(f"{title} ({steps}baseline {s['baseline']:g}): the map sums to "
                         f"f(x) - f(baseline) within {rel:.1%}.")
    return " ".join(parts)


def _randomized_figure(group, check, classes) -> Figure:
    import matplotlib.pyplot as plt

    rows, cols = len(check.methods), 2 + len(check.layers)
    fig = plt.figure(figsize=(max(1.5 * cols, 6.5), 1.5 * rows + 3.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.5 * rows + 0.4, 3.2])
    plot_randomization(check, 0, axes=top.subplots(rows, cols, squeeze=False))
    plot_rank_correlation(check, ax=bottom.subplots())
    data = {"correlations": check.correlations,
            "whole_correlations": check.whole_correlations, "methods": np.asarray(check.methods),
            "layers": np.asarray(check.layers), "threshold": np.asarray(check.threshold),
            "unchanged": np.asarray(check.unchanged, dtype=str), "inputs": check.inputs.numpy(),
            "targets": check.targets.numpy(), "seed": np.asarray(check.seed)}
    for m in check.methods:
        data[f"maps_{m}"] = check.maps[m].numpy()
    return Figure(id=f"attributions-{group}-randomized", fig=fig,
                  caption=_randomized_caption(check, classes), data=data)


def _randomized_caption(check, classes) -> str:
    final = ", ".join(f"{METHOD_TITLES[m]} {c:.2f} (whole map {w:.2f})"
                      for m, c, w in zip(check.methods, check.final, check.final_whole))
    un = check.unchanged
    verdict = (f"Maps that barely change (mean ρ ≥ {check.threshold:g} with every layer "
               f"re-initialized): {', '.join(METHOD_TITLES[m] for m in un)}; such a map cannot be "
               "showing what the model learned." if un else
               f"Every method's maps change (mean ρ < {check.threshold:g} once every layer is "
               "re-initialized).")
    return (f"Sanity check (Adebayo et al., 2018): the maps of the first image (class "
            f"{classes[int(check.targets[0])]}) for the trained model, then with its layers "
            f"re-initialized one by one from the top ({', '.join(check.layers)}; seed "
            f"{check.seed}). ρ: Spearman rank correlation of the absolute map with the trained "
            "model's over the elements where either map is non-zero (elements zero in both, "
            "such as the black background under input x gradient or ReLU units that stay off, "
            "would tie and hold a whole-map ρ up); 'whole': the same over the whole map, "
            f"{_zero_share(check)}. Below: mean over the {len(check.targets)} images (band: their "
            f"range; dotted: whole map). Mean ρ with every layer re-initialized: {final}. "
            + verdict)


def _zero_share(check) -> str:
    shares = ", ".join(f"{METHOD_TITLES[m]} {z:.0%}" for m, z in zip(check.methods,
                                                                      check.shared_zeros))
    return f"with these shares of elements zero in both maps at the last step: {shares}"
