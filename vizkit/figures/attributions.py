"""Figure family ``attributions``: for the first test example of each of 5 classes, each group
of attribution methods (:data:`GROUPS`) beside the images (a method whose maps coincide with an
earlier one's is drawn once and named), then the sanity check of Adebayo et al. (2018): the same
maps for the model re-initialized layer by layer from the top, and per method the Spearman
correlations of signed and absolute maps, SSIM and the input-structure control across the
cascade, with what survives full randomization named.

The maps and the check come from :mod:`vizkit.analysis.attributions`, drawn by
:mod:`vizkit.plot.attributions`.
"""

from __future__ import annotations

import numpy as np

from ..plot.attributions import (COLUMN_TITLES, FONT, METHOD_TITLES, persist_words,
                                 plot_attributions, plot_randomization, plot_rank_correlation)
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "example_indices", "GROUPS", "COINCIDE",
           "INPUT_THRESHOLD"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "attributions"


def applies(model, split) -> str | None:
    """``None`` for a torch model of [C, H, W] images, else the reason.

    Parameters
    ----------
    model : object
        The model to explain.
    split : vizkit.data.Split
        Its data (``input_shape`` is read).

    Returns
    -------
    str or None
        Why the family does not apply, or ``None`` when it does.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from torch import nn
    >>> images = SimpleNamespace(name="digits", input_shape=(1, 8, 8))
    >>> applies(nn.Linear(64, 3), images) is None
    True
    >>> applies(object(), images)
    'attributions need a differentiable torch model; object is not an nn.Module.'
    """
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
#: Two methods whose signed maps' Spearman correlation, mean over the images, is at least this
#: coincide: the later one is drawn once, in the earlier one's column.
COINCIDE = 0.95
#: A fully randomized map whose Spearman correlation with the input's ink or edges is at least
#: this follows the input (an unrelated map of n pixels gives 0 +- 1/sqrt(n - 1): 0.04 on 28x28).
INPUT_THRESHOLD = 0.25


def example_indices(y, n: int = _N_EXAMPLES) -> list[int]:
    """The index of the first test example of each of the first ``n`` classes present (fixed, so
    the same images appear in every run and for every model).

    Parameters
    ----------
    y : Tensor or ndarray of shape (N,)
        Class labels, in the test set's order.
    n : int, default=5
        How many classes (the smallest labels present).

    Returns
    -------
    list of int
        Ordered by class.

    Examples
    --------
    >>> import torch
    >>> example_indices(torch.tensor([2, 0, 2, 1, 0, 3]), n=3)
    [1, 3, 0]
    """
    seen: dict[int, int] = {}
    for i, c in enumerate(y.tolist()):
        if c not in seen:
            seen[c] = i
    return [seen[c] for c in sorted(seen)[:n]]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures (see the module's description; the layer group only for models with
    a conv layer).

    Per group three figures: ``attributions-<group>`` (``data``: ``inputs``, ``targets``,
    ``predictions``, ``class_names``, ``maps_<method>``, ``delta_<method>``, ``pairs``,
    ``agreement``: per pair of methods the Spearman correlation of their signed maps per image,
    ``coincide``: the pairs drawn once), ``attributions-<group>-randomized`` (the maps of the
    first image as the layers are re-initialized; ``data``: ``maps_<method>`` of shape
    ``(1 + n_layers, N, ...)`` and the measures below) and ``attributions-<group>-sanity`` (the
    measures across the cascade; ``data``: ``spearman_signed``, ``spearman_abs``, ``ssim`` of
    shape ``(n_methods, n_layers, N)``, ``input_ink``, ``input_edges`` of shape
    ``(n_methods, 1 + n_layers, N)``, ``methods``, ``layers``, ``labels``, ``threshold``,
    ``input_threshold``, ``persists``).

    Parameters
    ----------
    model : nn.Module
    split : vizkit.data.Split
        The first test image of each of the first five classes is explained.
    meta : dict, default=None
        Unused (the family signature).
    seed : int, default=0
        Seeds the re-initialized weights and SmoothGrad's noise.

    Returns
    -------
    list of Figure

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.

    Examples
    --------
    A small MLP on 4x4 images (no conv layer: no layer group):

    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(12) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> figs = figures(PTDeep([16, 6, 2]), split)
    >>> [f.id for f in figs][:3]
    ['attributions-gradients', 'attributions-gradients-randomized', 'attributions-gradients-sanity']
    >>> figs[2].data["spearman_abs_ink"].shape  # methods, cascade steps, images
    (4, 2, 2)
    """
    import torch

    from .._torch import frozen_eval, model_device
    from ..analysis.attributions import (attribution_layer, grad_cam_stages, method_agreement,
                                         randomization_check)

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    idx = example_indices(split.y_test)
    x, y = split.x_test[idx], split.y_test[idx]
    layer = attribution_layer(model)
    with frozen_eval(model), torch.no_grad():
        pred = model(x.to(model_device(model))).argmax(1).cpu().numpy()
    classes = [str(c) for c in split.classes]
    kind = "CNN" if layer is not None else type(model).__name__
    out = []
    for group, methods in GROUPS.items():
        if group == "layers" and layer is None:
            continue
        check = randomization_check(model, x, target=y, methods=methods, layer=layer, n_steps=64,
                                    seed=seed, input_threshold=INPUT_THRESHOLD)
        agreement = method_agreement(check.trained)
        same = _coinciding(agreement)
        out.append(_group_figure(group, check, classes, pred, agreement, same))
        out.append(_randomized_figure(group, check, classes, same, kind))
        stages = (grad_cam_stages(model, x, target=y, layer=layer, seed=seed)
                  if "grad_cam" in methods else None)
        out.append(_sanity_figure(group, check, kind, stages))
    return out


def _coinciding(agreement) -> dict:
    """Method drawn once -> (the method whose column shows it, its per-image correlations)."""
    same = {}
    for (a, b), rho in agreement.items():
        if b not in same and a not in same and float(np.mean(rho)) >= COINCIDE:
            same[b] = (a, rho)
    return same


def _same_words(same) -> str:
    if not same:
        return ""
    parts = [f"The maps of {METHOD_TITLES[b]} coincide with those of {METHOD_TITLES[a]} "
             f"(Spearman ρ of the "
             f"signed maps {np.mean(r):.3f}, {np.min(r):.2f} to {np.max(r):.2f} over the images, "
             f"≥ {COINCIDE:g}): drawn once, in the column of {METHOD_TITLES[a]}."
             for b, (a, r) in same.items()]
    return " " + " ".join(parts)


def _group_figure(group, check, classes, pred, agreement, same) -> Figure:
    import matplotlib.pyplot as plt

    res = {m: r for m, r in check.trained.items() if m not in same}
    rows, cols = len(check.targets), 1 + len(res)
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols + 1.0, 1.35 * rows + 1.6),
                             squeeze=False, layout="constrained")
    for c, m in enumerate(res, start=1):
        merged = [b for b, (a, _) in same.items() if a == m]
        axes[0, c].set_title(COLUMN_TITLES[m] + "".join(f"\n= {METHOD_TITLES[b]}" for b in merged),
                             fontsize=FONT)
    plot_attributions(res, axes=axes, class_names=classes, predictions=pred)
    fig.suptitle("Which pixels each method credits for the true class", fontsize=FONT + 1)
    pairs = list(agreement)
    data = {"inputs": check.inputs.numpy(), "targets": check.targets.numpy(),
            "predictions": np.asarray(pred), "class_names": np.asarray(classes),
            "pairs": np.asarray(pairs, dtype=str).reshape(len(pairs), 2),
            "agreement": np.asarray([agreement[p] for p in pairs]).reshape(len(pairs), -1),
            "coincide": np.asarray([(a, b) for b, (a, _) in same.items()],
                                   dtype=str).reshape(len(same), 2)}
    for m, r in check.trained.items():
        data[f"maps_{m}"] = r.maps.numpy()
        if r.delta is not None:
            data[f"delta_{m}"] = r.delta.numpy()
    return Figure(id=f"attributions-{group}", fig=fig,
                  caption=_group_caption(check, classes, same), data=data)


def _group_caption(check, classes, same) -> str:
    names = [classes[int(t)] for t in check.targets]
    parts = [f"Where each method puts the credit for the true class, on test images of classes "
             f"{', '.join(names)} (white on black).{_same_words(same)} Every map is divided by "
             "its own largest absolute value (colourbars: red raises the logit, blue lowers it; "
             "unsigned maps dark to bright)."]
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


def _measures(check) -> dict:
    persists = check.persists()
    return {"spearman_signed": check.spearman_signed, "spearman_abs": check.spearman_abs,
            "ssim": check.ssim, "spearman_abs_ink": check.spearman_abs_ink,
            "null_abs": check.null_abs, "null_abs_ink": check.null_abs_ink,
            "null_ssim": check.null_ssim, "ink_share": check.ink_share,
            "input_ink": check.input_ink, "input_edges": check.input_edges,
            "methods": np.asarray(check.methods), "layers": np.asarray(check.layers),
            "labels": np.asarray(check.labels), "signed": np.asarray(check.signed),
            "threshold": np.asarray(check.threshold),
            "input_threshold": np.asarray(check.input_threshold),
            "persists": np.asarray([";".join(persists[m]) for m in check.methods]),
            "targets": check.targets.numpy(), "seed": np.asarray(check.seed)}


def _randomized_figure(group, check, classes, same, kind) -> Figure:
    import matplotlib.pyplot as plt

    shown = [m for m in check.methods if m not in same]
    rows, cols = len(shown), 2 + len(check.layers)
    fig, axes = plt.subplots(rows, cols, figsize=(1.45 * cols + 2.2, 1.8 * rows + 0.9),
                             squeeze=False, layout="constrained")
    plot_randomization(check, 0, axes=axes, methods=shown)
    cls = classes[int(check.targets[0])]
    fig.suptitle(f"Sanity check, {kind}: the maps of a '{cls}' as layers are re-initialized "
                 "from the top", fontsize=FONT + 1)
    data = {**_measures(check), "inputs": check.inputs.numpy()}
    for m in check.methods:
        data[f"maps_{m}"] = check.maps[m].numpy()
    return Figure(id=f"attributions-{group}-randomized", fig=fig,
                  caption=_randomized_caption(check, cls, same), data=data)


def _steps_words(check) -> str:
    return ", ".join(f"{lab} = {name!r}" for lab, name in zip(check.labels, check.layers))


def _verdict_summary(check) -> str:
    persists = check.persists()
    fails = [m for m in check.methods if persists[m]]
    ok = [m for m in check.methods if not persists[m]]
    parts = []
    for m in fails:
        words = (persist_words(persists[m]).split(": ", 1)[1].replace("; ", " and ")
                 .replace("input's", "the input's"))
        parts.append(f"{METHOD_TITLES[m]} {words}{_ink_words(check, m)}")
    signed = dict(zip(check.methods, check.signed))
    for group, what in (([m for m in ok if signed[m]], "sign, magnitude and the input's structure"),
                        ([m for m in ok if not signed[m]],
                         "magnitude and the input's structure (unsigned maps: no sign to keep)")):
        if group:
            parts.append(f"{' and '.join(METHOD_TITLES[m] for m in group)} "
                         f"{'loses' if len(group) == 1 else 'lose'} {what}")
    return "; ".join(parts)


def _ink_words(check, m) -> str:
    """The numbers behind 'follows the input's ink' where a whole-map agreement is the ink's."""
    r = check.methods.index(m)
    whole, ink = check.mean("spearman_abs")[r, -1], check.mean("spearman_abs_ink")[r, -1]
    if "magnitude" in check.persists()[m] or not whole >= check.threshold:
        return ""
    return (f" (ρ |map| {whole:.2f} over the whole image, where |ink × noise| gives "
            f"{check.mean('null_abs')[r]:.2f}, but {ink:.2f} on the ink pixels, where it gives "
            f"{check.mean('null_abs_ink')[r]:.2f})")


def _randomized_caption(check, cls, same) -> str:
    return (f"Once every layer is re-initialized, {_verdict_summary(check)} (rows: what "
            "persists). Sanity check of Adebayo et al. (2018): the maps of the first image (class "
            f"{cls}) for the trained model, then after re-initializing its layers one by one from "
            f"the top, cumulatively ({_steps_words(check)}; seed {check.seed}). Under each map: "
            "Spearman ρ with the trained map, of the signed maps (signed methods), of the "
            "absolute maps over the whole image, and of the absolute maps on the input's ink "
            "only ('on ink', pixels where the input is not 0); each map divided by its largest "
            "absolute value." + _same_words(same)
            + " The measures across the cascade, SSIM and the input control are in the next "
            "figure.")


def _sanity_figure(group, check, kind, stages=None) -> Figure:
    import matplotlib.pyplot as plt

    n = len(check.methods)
    nrows, ncols = (1, n) if n <= 3 else (2, -(-n // 2))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols + 0.6, 3.6 * nrows + 1.4),
                             squeeze=False, sharey=True, layout="constrained")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes = plot_rank_correlation(check, axes=axes.ravel()[:n])
    for r in range(nrows):
        axes[r * ncols].set_ylabel("mean over the images", fontsize=FONT)
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:  # the first panel of a signed method holds every entry
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=FONT,
               frameon=False)
    fig.suptitle(f"Sanity check, {kind}: what survives re-initializing the layers",
                 fontsize=FONT + 1)
    data = _measures(check)
    if stages is not None:
        data.update({f"grad_cam_ink_{k}": v for k, v in stages.items()})
    return Figure(id=f"attributions-{group}-sanity", fig=fig,
                  caption=_sanity_caption(check, stages), data=data)


def _sanity_caption(check, stages=None) -> str:
    from ..analysis.attributions.randomization import N_NULL_DRAWS

    sizes = sorted({int(np.prod(check.maps[m].shape[-2:])) for m in check.methods})
    null = ", ".join(f"{1 / np.sqrt(n - 1):.2f} over {n} pixels" for n in sizes)
    share = float(np.mean(check.ink_share))
    finals = []
    for r, m in enumerate(check.methods):
        mean = {k: check.mean(k)[r] for k in ("spearman_signed", "spearman_abs", "ssim",
                                              "spearman_abs_ink", "input_ink", "input_edges",
                                              "null_abs", "null_abs_ink", "null_ssim")}
        signed = f"ρ signed {mean['spearman_signed'][-1]:.2f}, " if check.signed[r] else ""
        finals.append(f"{METHOD_TITLES[m]} {signed}ρ |map| {mean['spearman_abs'][-1]:.2f} "
                      f"(null {mean['null_abs']:.2f}), on the ink "
                      f"{mean['spearman_abs_ink'][-1]:.2f} (null {mean['null_abs_ink']:.2f}), "
                      f"SSIM {mean['ssim'][-1]:.2f} (null {mean['null_ssim']:.2f}), ink "
                      f"{mean['input_ink'][-1]:.2f} (trained {mean['input_ink'][0]:.2f}), edges "
                      f"{mean['input_edges'][-1]:.2f} (trained {mean['input_edges'][0]:.2f})")
    return (f"Once every layer is re-initialized, {_verdict_summary(check)}. "
            f"{_grad_cam_words(check, stages)}Per method, each step's maps against the trained "
            f"model's, mean over the {len(check.targets)} images, as Adebayo et al. (2018) "
            "measure them: Spearman ρ of the signed maps (signed methods) and of the absolute "
            "maps over the whole image, and of the absolute maps on the ink pixels only (where "
            f"the input is not 0: {share:.0%} of the pixels on average; off the ink a map "
            "multiplied by the input is 0 for every model, and those shared zeros hold the "
            "whole-image ρ up). Dashed: the null for the ink pixels, the trained map against "
            f"|ink × noise| (the input times seeded Gaussian noise, a map that knows no model; "
            f"mean of {N_NULL_DRAWS} draws). Grey: the control, Spearman ρ of the absolute map "
            "with the input's ink (|x|) and with its edges (Sobel), the trained model's at the "
            f"left. A method keeps its magnitude when ρ of the absolute maps on the ink is "
            f"≥ {check.threshold:g} and above the null on every image (or when a whole-image ρ "
            f"or SSIM is ≥ {check.threshold:g} while the null's is below {check.threshold:g}); "
            "a whole-image "
            "agreement the null reaches too is the input's ink. It keeps its sign at ρ signed "
            f"≥ {check.threshold:g} (a reversed sign at ≤ -{check.threshold:g}), and follows "
            "the "
            f"input when the control is ≥ {check.input_threshold:g} (an unrelated map gives "
            f"0 ± {null}); thin grey lines: {check.threshold:g} and {check.input_threshold:g}. "
            f"Layers ({_steps_words(check)}). With every layer re-initialized: "
            f"{'; '.join(finals)}. SSIM of the absolute maps (scikit-image, each divided by its "
            "maximum) is in the numbers above, not drawn.")


def _grad_cam_words(check, stages) -> str:
    """Why a randomized Grad-CAM follows the ink: its control at each stage of the method."""
    if stages is None or "grad_cam" not in check.methods:
        return ""
    r = check.methods.index("grad_cam")
    tags = check.persists()["grad_cam"]
    raw, relu, up = (np.nanmean(stages[k], -1) for k in ("raw", "relu", "stretched"))
    whole, ink = check.mean("spearman_abs")[r, -1], check.mean("spearman_abs_ink")[r, -1]
    nums = (f"ρ |map| {whole:.2f}, null {check.mean('null_abs')[r]:.2f}; on the ink {ink:.2f}, "
            f"null {check.mean('null_abs_ink')[r]:.2f}")
    kept = [t for t in tags if t in ("sign", "reversed sign", "magnitude")]
    if kept:
        first = f"Grad-CAM keeps {', '.join(kept)} ({nums})"
    else:
        first = ("Grad-CAM's fully randomized map is no longer the trained one, so it would "
                 f"pass Adebayo et al.'s comparison of maps ({nums})")
    if not (up[1] >= check.input_threshold):
        return first + ". "
    first += "; it fails here only on the input control"
    why = ("because a re-initialized conv layer still responds where the ink is"
           if raw[1] >= check.input_threshold else
           "through Grad-CAM's ReLU and the stretch more than through the layer itself")
    return (f"{first}, yet it follows the input's ink, {why}: on layer "
            f"{check.trained['grad_cam'].layer!r} the "
            f"gradient-weighted sum of channels follows the ink at ρ {raw[1]:.2f} at the layer's "
            f"own resolution ({' × '.join(map(str, stages['shape']))}), {relu[1]:.2f} after "
            f"Grad-CAM's ReLU, {up[1]:.2f} once stretched "
            f"over the image (trained model: {raw[0]:.2f}, {relu[0]:.2f}, {up[0]:.2f}). ")
