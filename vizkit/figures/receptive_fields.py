"""Figure family ``receptive-fields`` (seed 004): which pixels drive the units of a network.

* MLPs (``PTDeep``): the seed's "propagated" fields (products of the weight matrices) for the
  first hidden layer and for the output layer, plain and gated by the ReLUs active on test
  images (the average over examples of the masked products).
* CNNs (``ConvNet``, ``RBFNet``'s conv stack): input-gradient fields of the last conv layer's
  channels (centre unit, averaged over test images) with the theoretical field drawn as a box,
  and one test image with the field of each conv/pool stage.
* Any image model (logistic regression too): the input-gradient field of each class score.

Not applicable to non-image inputs (2-D toy data): a field of two numbers is not a picture.
"""

from __future__ import annotations

from torch import nn

from . import Figure, NotApplicable

__all__ = ["make"]

_N_EXAMPLES = 500


def _last_conv(model: nn.Module) -> str | None:
    last = None
    for name, m in model.named_modules():
        if isinstance(m, (nn.Flatten, nn.Linear)) and last is not None:
            break
        if isinstance(m, nn.Conv2d):
            last = name
    return last


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Receptive-field figures for ``model`` on ``split``'s test images."""
    import matplotlib.pyplot as plt
    import torch

    from ..analysis.receptive import (gradient_receptive_fields, propagated_receptive_fields,
                                      theoretical_receptive_field)
    from ..plot.receptive import plot_receptive_field_box, plot_receptive_fields

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        raise NotApplicable(f"receptive fields are drawn as images; this data has input shape "
                            f"{shape}, not (C, H, W).")
    if shape[0] != 1:
        raise NotApplicable("receptive-field figures are drawn for single-channel images only.")
    if not isinstance(model, nn.Module):
        raise NotApplicable(f"receptive fields need a torch model; got {type(model).__name__}.")
    g = torch.Generator().manual_seed(int(seed))
    x = split.x_test
    idx = torch.randperm(len(x), generator=g)[:_N_EXAMPLES]
    xs = x[idx]
    classes = [str(c) for c in split.classes]
    figs: list[Figure] = []

    is_mlp = isinstance(getattr(model, "layers", None), nn.Sequential) and sum(
        isinstance(m, nn.Linear) for m in model.layers) >= 2
    if is_mlp:
        r1 = propagated_receptive_fields(model, 1, units=range(16), image_shape=shape)
        out = plot_receptive_fields(r1, ncols=8)
        out["fig"].suptitle(f"{r1.layer} (first hidden layer): fields of units 0-15", fontsize=10)
        figs.append(Figure("receptive-fields-layer1", out["fig"],
                           "Receptive fields of the first 16 units of the first hidden layer: the "
                           "columns of W1 on raw pixels (input normalization folded in), one "
                           "symmetric scale (red: ink there excites the unit, blue: inhibits)."))
        plain = propagated_receptive_fields(model, -1, image_shape=shape)
        gated = propagated_receptive_fields(model, -1, image_shape=shape, gate_data=xs)
        fig = plt.figure(figsize=(12, 3.3), layout="constrained")
        top, bottom = fig.subfigures(2, 1)
        n = plain.fields.shape[0]
        names = classes if len(classes) == n else None
        a = plot_receptive_fields(plain, fig=top, ncols=n, titles=names)
        b = plot_receptive_fields(gated, fig=bottom, ncols=n, titles=names)
        a["axes"][0].set_ylabel("W1…WL", fontsize=8)
        b["axes"][0].set_ylabel("ReLU-gated", fontsize=8)
        figs.append(Figure("receptive-fields-output", fig,
                           "Fields of the output units (seed 004's 'propagating the weights'). "
                           "Top: the plain product W1 W2 … WL, ignoring the ReLUs. Bottom: the "
                           f"average over {len(xs)} test images of the product with each "
                           "image's active-ReLU mask (= the average input gradient); each row "
                           "on its own symmetric scale."))

    conv = _last_conv(model)
    if conv is not None:
        try:
            theo = theoretical_receptive_field(model, conv, input_shape=shape)
        except ValueError:
            theo = None
        n_ch = dict(model.named_modules())[conv].out_channels
        rg = gradient_receptive_fields(model, conv, list(range(min(16, n_ch))), xs[:200])
        out = plot_receptive_fields(rg, ncols=8, box=theo)
        out["fig"].suptitle(f"{conv}: input gradient of each channel's centre unit", fontsize=10)
        cap = (f"Gradient receptive fields of the centre unit of 16 channels of {conv}, averaged "
               "over 200 test images, on one symmetric scale.")
        if theo is not None:
            cap += (f" Dashed box: the theoretical field ({theo.size[0]}x{theo.size[1]} pixels, "
                    f"jump {theo.jump[0]}); the gradient is zero outside it.")
        figs.append(Figure("receptive-fields-conv", out["fig"], cap))
        stages = [n for n, m in model.named_modules()
                  if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]
        theos = []
        for name in stages:
            try:
                theos.append(theoretical_receptive_field(model, name, input_shape=shape))
            except ValueError:
                break
        if theos:
            fig, axes = plt.subplots(1, len(theos), figsize=(2.2 * len(theos), 2.6),
                                     layout="constrained", squeeze=False)
            for ax, t in zip(axes[0], theos):
                plot_receptive_field_box(t, xs[0], ax=ax)
            figs.append(Figure("receptive-fields-theory", fig,
                               "The input region seen by the centre unit of each conv/pool stage "
                               "(red box, from kernel sizes, strides and padding); dots: field "
                               "centres of all units of the stage (their spacing is the jump)."))

    try:
        rc = gradient_receptive_fields(model, None, None, xs[:200])
    except Exception as e:  # a model whose output is not [N, classes]
        if not figs:
            raise NotApplicable(f"no receptive field applies to this model: {e}") from None
        return figs
    if rc.fields.ndim == 3:
        n = rc.fields.shape[0]
        out = plot_receptive_fields(rc, ncols=min(n, 10),
                                    titles=classes if len(classes) == n else None)
        out["fig"].suptitle("Input gradient of each class score, averaged over test images",
                            fontsize=10)
        figs.append(Figure("receptive-fields-classes", out["fig"],
                           "Average input gradient of each class logit over 200 test images (one "
                           "symmetric scale): the pixels whose ink raises (red) or lowers (blue) "
                           "the class score around typical digits."))
    return figs
