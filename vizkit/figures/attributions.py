"""Figure family ``attributions``: saliency, integrated gradients, occlusion (and Grad-CAM for
CNNs) for a few fixed test images, each map beside its image."""

from __future__ import annotations

from . import Figure, NotApplicable

__all__ = ["make", "example_indices"]

_N_EXAMPLES = 5


def example_indices(y, n: int = _N_EXAMPLES) -> list[int]:
    """The index of the first test example of each of the first ``n`` classes present (fixed, so
    the same images appear in every run and for every model)."""
    seen: dict[int, int] = {}
    for i, c in enumerate(y.tolist()):
        if c not in seen:
            seen[c] = i
    return [seen[c] for c in sorted(seen)[:n]]


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Attribution maps of ``model`` for the first test example of each of 5 classes."""
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    from ..analysis.attribution import attributions, last_conv_layer
    from ..plot.attribution import plot_attributions

    if not isinstance(model, nn.Module):
        raise NotApplicable(f"attributions need a differentiable torch model; "
                            f"{type(model).__name__} is not an nn.Module.")
    if len(split.input_shape) != 3:
        raise NotApplicable(f"attributions are drawn as images and need [C, H, W] inputs; "
                            f"{split.name!r} has input shape {tuple(split.input_shape)}.")
    idx = example_indices(split.y_test)
    x, y = split.x_test[idx], split.y_test[idx]
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    methods = ["saliency", "integrated_gradients", "occlusion"] + (["grad_cam"] if has_conv else [])
    cam_layer = last_conv_layer(model, rectified=True) if has_conv else None
    results = [attributions(model, x, target=y, method=m, n_steps=64, layer=cam_layer)
               for m in methods]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            dev = next((p.device for p in model.parameters()), torch.device("cpu"))
            pred = model(x.to(dev)).argmax(1).cpu().tolist()
    finally:
        model.train(was_training)

    classes = list(split.classes)
    rows, cols = len(idx), 1 + len(methods)
    fig, axes = plt.subplots(rows, cols, figsize=(1.75 * cols + 0.3, 1.75 * rows + 0.6),
                             squeeze=False, layout="constrained")
    plot_attributions(results, axes=axes, class_names=classes, predictions=pred)
    ig = results[1]
    rel = (ig.delta.abs() / ig.maps.flatten(1).sum(1).abs().clamp_min(1e-8)).max().item()
    fig.suptitle("what each method says the model looks at (explaining the true class)", fontsize=10)
    extra = (f" Grad-CAM on {results[-1].layer!r} (the rectified output of the last conv block), "
             "upsampled, as a heat map over the image (transparent where zero)." if has_conv
             else " (No Grad-CAM: the model has no conv layer.)")
    caption = (
        "The first test image of each of five classes, then the attribution of the true class's "
        "logit to every pixel. Saliency: |d logit / d pixel| (bright = sensitive). Integrated "
        "gradients (64 steps from a black image; completeness error at most "
        f"{rel:.1%}) and occlusion (4x4 black patches, stride 2): red pixels raise the "
        "logit, blue ones lower it, each map on its own symmetric scale." + extra +
        " On MNIST look for strokes (and gaps that would make another digit) rather than "
        "background noise.")
    return [Figure(id="attributions", fig=fig, caption=caption)]
