"""Figure family ``bottleneck`` (seed 000): the test set in the 2D feature plane before the RBF
layer (or a hidden 2-wide layer), coloured by class, with the RBF centres (``+`` sized by sigma)
and the head's decision regions behind; and :class:`BottleneckDisplay`, the view computed once
and drawn as often as wanted.

The features come from :mod:`vizkit.analysis.bottleneck`, drawn by
:mod:`vizkit.plot.bottleneck`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..plot._axes import new_ax
from ..plot.bottleneck import center_size_handles, plot_bottleneck, plot_region_key
from ..plot.figure import Figure, NotApplicable
from ..plot.style import class_colors
from ._display import DisplayMixin
from .decision_surface import surface_data

__all__ = ["NAME", "applies", "figures", "bottleneck_caption", "BottleneckDisplay"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "bottleneck"


def applies(model, split) -> str | None:
    """Whether the family applies: ``None`` for a torch model with a 2D layer before its head,
    else the reason.

    Parameters
    ----------
    model : nn.Module or estimator
        The model to show.
    split : vizkit.data.Split
        Its data (not read: the answer depends on the model only).

    Returns
    -------
    str or None
        ``None`` when the family applies, else why not, in words.

    Examples
    --------
    >>> from vizkit.models import PTDeep, RBFNet
    >>> applies(RBFNet(image_size=8, channels=(4,), n_centers=5), None) is None
    True
    >>> applies(PTDeep([64, 8, 3]), None)[:40]
    'bottleneck needs a 2D layer before the c'
    """
    from torch import nn

    from ..analysis.bottleneck import find_bottleneck

    if not isinstance(model, nn.Module) or find_bottleneck(model) is None:
        return (f"bottleneck needs a 2D layer before the classifier head (an RBFLayer(2, K) or a "
                f"hidden Linear(_, 2)), such as --model rbf; {type(model).__name__} has none.")
    return None


_MAX_POINTS = 5000  # test points drawn at most (a seeded subset)
_REGION_ALPHA = {"min_alpha": 0.1, "max_alpha": 0.45}


def _training_text(meta: dict | None) -> str:
    """'trained 20 epochs with ADAM (lr 0.01), epoch 18 kept' from a checkpoint's metadata
    ('' when it does not say)."""
    meta = meta or {}
    config, history = meta.get("config") or {}, meta.get("history") or {}
    epochs = history.get("epochs") if isinstance(history, dict) else getattr(history, "epochs", None)
    best = history.get("best_epoch") if isinstance(history, dict) else getattr(history, "best_epoch", None)
    parts = []
    if epochs:
        parts.append(f"{len(epochs)} epochs")
    if config.get("optimizer"):
        opt = str(config["optimizer"]).upper().replace("ADAMW", "AdamW").replace("ADAM", "Adam")
        parts.append(f"{opt}" + (f" (lr {config['lr']:g})" if config.get("lr") is not None else ""))
    text = "trained " + " with ".join(parts) if parts else ""
    if best and epochs:
        text += f", epoch {best} kept"
    return text


def bottleneck_caption(result, *, meta: dict | None = None,
                       model_name: str = "the model") -> str:
    """The bottleneck figure's caption, every number read from ``result`` (and the training
    record ``meta``): epochs and optimizer, accuracy, how spread and how separated the features
    are, the number of centres and their sigma range.

    Parameters
    ----------
    result : Bottleneck
        From :func:`vizkit.analysis.bottleneck.bottleneck_features`.
    meta : dict, optional
        A checkpoint's metadata: its ``config`` (optimizer, lr) and ``history`` (epochs, best
        epoch) are quoted.
    model_name : str, default='the model'
        How the caption names the model.

    Returns
    -------
    str

    Examples
    --------
    >>> import torch
    >>> from vizkit.models import RBFNet
    >>> from vizkit.analysis.bottleneck import bottleneck_features
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
    >>> res = bottleneck_features(net, torch.rand(12, 1, 8, 8), y=torch.arange(12) % 3)
    >>> meta = {"config": {"optimizer": "adam", "lr": 0.01},
    ...         "history": {"epochs": [{}] * 20, "best_epoch": 18}}
    >>> bottleneck_caption(res, meta=meta, model_name="RBFNet").split(": ")[0][-60:]
    'RBFNet, trained 20 epochs with Adam (lr 0.01), epoch 18 kept'
    """
    from ..analysis.bottleneck import class_separation

    f = np.asarray(result.features, dtype=np.float64)
    text = f"Where the {len(f)} test inputs land in the 2D plane before the head"
    if result.labels is not None:
        text += f" (class separation {class_separation(f, result.labels):.2f}, defined below)"
    text += (", and the RBF centres over them." if result.centers is not None else ".") + " "
    text += model_name + (f", {_training_text(meta)}" if _training_text(meta) else "") + ": "
    text += f"the {len(f)} test inputs at their 2D features"
    if result.labels is not None:
        acc = float((result.predictions == result.labels).mean())
        sep = class_separation(f, result.labels)
        text += (f", coloured by true class; test accuracy {acc:.1%}, class separation {sep:.2f} "
                 "(the share of the features' variance between the class means: 0 = one mixed "
                 "clump, 1 = one point per class)")
    std = f.std(0) if len(f) else np.zeros(2)
    text += f"; the features spread with standard deviation {std[0]:.3g} and {std[1]:.3g}."
    if result.centers is not None:
        s = np.abs(np.asarray(result.sigma, dtype=np.float64))
        text += f" '+': the {len(s)} RBF centres, "
        if len(s) and s.max() - s.min() <= 0.05 * s.max():
            text += f"all with |sigma| about {s.mean():.3g} (so all crosses are the same size)."
        else:
            text += (f"the cross width growing linearly with |sigma| ({s.min():.3g} to "
                     f"{s.max():.3g}), legend on the right; right: the centres alone over "
                     "the faded features.")
    if result.surface is not None:
        C = max(int(result.surface.n_classes), 2)
        key = (f"the key beside it: one row per class, from confidence {1 / C:.2g} (1/{C}, "
               "palest) to 1" if result.surface.confidence is not None else "")
        text += (" Left, shading: the class the rest of the network predicts at each point of the "
                 "plane" + (f", paler where its confidence is lower ({key})" if key else "")
                 + "; the numbers sit at each class's median feature.")
    return text


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figure (see the module's description); for an RBF model a second panel
    shows the centres alone, sized by sigma, with a legend of the scale, and beside the regions
    their key (:func:`~vizkit.plot.bottleneck.plot_region_key`). The caption is computed from
    this model's own result and training record (:func:`bottleneck_caption`).

    Parameters
    ----------
    model : nn.Module
        A model with a 2D layer before its head (:func:`applies`).
    split : vizkit.data.Split
        Its data; the test part is drawn (at most 5,000 points, a seeded subset).
    meta : dict, optional
        The checkpoint's metadata, quoted in the caption.
    seed : int, default=0
        Seeds the subset of a large test part.

    Returns
    -------
    list of Figure
        One figure; ``data`` (:func:`_bottleneck_data`): ``features`` [n, 2], ``labels``,
        ``predictions``, ``centers`` [K, 2] and ``sigma`` [K] (RBF models), the regions'
        ``grid_x`` [W], ``grid_y`` [H], ``region_labels`` [H, W] and ``confidence`` [H, W]
        (float16), and ``class_names``.

    Raises
    ------
    NotApplicable
        The model has no 2D layer (e.g. an MLP).

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.data import Split
    >>> from vizkit.models import RBFNet
    >>> x, y = torch.rand(12, 1, 8, 8), torch.arange(12) % 3
    >>> split = Split("toy", x, y, x, y, x, y, ("a", "b", "c"), (1, 8, 8), "0" * 16)
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
    >>> (fig,) = figures(net, split)
    >>> fig.id, fig.data["features"].shape, fig.data["sigma"].shape
    ('bottleneck', (12, 2), (5,))
    """
    import matplotlib.pyplot as plt
    import torch

    from ..analysis.bottleneck import bottleneck_features, find_bottleneck

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    where = find_bottleneck(model)
    x, y = split.x_test, split.y_test
    if len(x) > _MAX_POINTS:  # a seeded subset keeps the scatter readable and the figure fast
        idx = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(x), _MAX_POINTS,
                                                                           replace=False)))
        x, y = x[idx], y[idx]
    res = bottleneck_features(model, x, y=y, grid_resolution=300)
    acc = float((res.predictions == res.labels).mean())
    has_rbf = res.centers is not None
    keyed = res.surface is not None and res.surface.confidence is not None
    # left: features over the shaded regions; beside it the regions' key (one row per class:
    # a colour bar's ten thin strips cannot be read when projected); right: the RBF centres
    row = ["features"] + (["key"] if keyed else []) + (["centres"] if has_rbf else [])
    widths = [5.0] + ([1.3] if keyed else []) + ([5.0] if has_rbf else [])
    mosaic = [[n if n != "key" else k for n in row] for k in (".", "key", ".")]
    # at most 12.7 in wide (the gallery page), landscape: 12 pt text is >= 20 px on a slide
    fig, axd = plt.subplot_mosaic(mosaic, figsize=(min(12.7, sum(widths) + (1.6 if has_rbf
                                                                         else 0.6)), 6.0),
                                  width_ratios=widths, height_ratios=[0.6, 5, 0.6],
                                  layout="constrained", empty_sentinel=".")
    ax0 = axd["features"]
    plot_bottleneck(res, ax=ax0, class_names=split.classes, legend=False,
                    centers=False, regions_kw=_REGION_ALPHA)
    _class_labels(ax0, res, split.classes)
    if keyed:
        plot_region_key(res.surface.n_classes, ax=axd["key"], class_names=_names(
            split.classes, res.surface.n_classes), colors=class_colors(max(res.surface.n_classes, 1)),
            **_REGION_ALPHA)
        axd["key"].set_title("shading:\nclass the head\npredicts", fontsize=12)
    ax0.set_title(f"test features at '{where.name}'"
                  + (" (RBF input)" if where.use_input else "")
                  + f"\nnumbers: class medians; accuracy {acc:.1%}", fontsize=12)
    axes = [ax0]
    if has_rbf:
        ax1 = axd["centres"]
        plot_bottleneck(res, ax=ax1, class_names=split.classes, regions=False, legend=False,
                        scatter_kw={"alpha": 0.25, "linewidths": 0.0})
        s = np.abs(res.sigma)
        ax1.legend(handles=center_size_handles(res.sigma), loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), fontsize=12, frameon=False,
                   title="RBF centre\n(+ width ~ |sigma|)", title_fontsize=12)
        ax1.set_title(f"the {len(s)} RBF centres over the same features\n"
                      f"(|sigma| {s.min():.3g} to {s.max():.3g})", fontsize=12)
        ax1.set_xlim(ax0.get_xlim())
        ax1.set_ylim(ax0.get_ylim())
        axes.append(ax1)
    for ax in axes:
        ax.tick_params(labelsize=12)
        ax.xaxis.label.set_fontsize(12), ax.yaxis.label.set_fontsize(12)
    caption = bottleneck_caption(res, meta=meta, model_name=type(model).__name__)
    data = _bottleneck_data(res, class_names=split.classes)
    return [Figure(id="bottleneck", fig=fig, caption=caption, data=data)]


def _names(class_names, n: int) -> list[str]:
    """``n`` class names: the split's where it has them, else the class numbers."""
    names = [str(c) for c in class_names] if class_names is not None else []
    return [names[c] if c < len(names) else str(c) for c in range(n)]


def _class_labels(ax, result, class_names) -> None:
    """Write each class's name at the median of its features (in place of a 10-entry legend),
    white-edged so it reads over the points."""
    import matplotlib.patheffects as pe

    ids = result.labels if result.labels is not None else result.predictions
    names = [str(c) for c in class_names] if class_names is not None else None
    for c in np.unique(ids):
        m = np.median(np.asarray(result.features)[ids == c], axis=0)
        ax.text(m[0], m[1], names[c] if names and c < len(names) else str(c), fontsize=16,
                fontweight="bold", ha="center", va="center", zorder=5,
                path_effects=[pe.withStroke(linewidth=3, foreground="white")])


def _bottleneck_data(result, *, class_names: Sequence | None = None
                     ) -> dict[str, np.ndarray]:
    """The arrays a bottleneck view draws, compactly (a few hundred KB, not megabytes).

    Keys: ``features`` [n, 2] (the points), ``predictions`` [n] and ``labels`` [n] (true class,
    when known), ``centers`` [K, 2] and ``sigma`` [K] (RBF models only), the head's regions as
    :func:`~vizkit.figures.decision_surface.surface_data` gives them (``grid_x`` [W], ``grid_y``
    [H]: the grid's 1-D axes; ``region_labels`` [H, W]: the head's class; ``confidence``
    [H, W], float16: its largest probability; the per-class probabilities are not stored), and
    ``class_names``.
    """
    data = {"features": np.asarray(result.features), "predictions": np.asarray(result.predictions)}
    if result.labels is not None:
        data["labels"] = np.asarray(result.labels)
    if result.centers is not None:
        data["centers"] = np.asarray(result.centers)
        data["sigma"] = np.asarray(result.sigma)
    if result.surface is not None:
        data.update(surface_data(result.surface))
    if class_names is not None:
        data["class_names"] = np.asarray([str(c) for c in class_names])
    return data


class BottleneckDisplay(DisplayMixin):
    """The bottleneck view (seed 000), computed once, drawn as often as wanted.

    Parameters
    ----------
    bottleneck : vizkit.analysis.bottleneck.Bottleneck
        Features, labels, predictions, RBF centres and sigma, regions.
    class_names : sequence of str, optional
        Legend names of the classes.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the last :meth:`plot`.
    figure_ : matplotlib Figure
        Its figure.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.models import RBFNet
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
    >>> x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 3
    >>> disp = BottleneckDisplay.from_model(net, x, y=y, grid_resolution=16)
    >>> disp.plot(regions=False, circles=True) is disp
    True
    """

    def __init__(self, bottleneck, *, class_names: Sequence[str] | None = None
                 ) -> None:
        self.bottleneck = bottleneck
        self.class_names = None if class_names is None else [str(c) for c in class_names]

    @classmethod
    def from_model(cls, model, data, *, y=None, layer: str | None = None,
                   grid_resolution: int | Sequence[int] | None = None,
                   margin: float | None = None, batch_size: int | None = None,
                   class_names: Sequence[str] | None = None, ax=None,
                   **plot_kw) -> "BottleneckDisplay":
        """Run :func:`~vizkit.analysis.bottleneck.bottleneck_features` once on the inputs
        ``data`` (labels ``y``), then :meth:`plot` (``plot_kw`` go there)."""
        from ..analysis.bottleneck import bottleneck_features

        res = bottleneck_features(model, data, y=y, layer=layer, batch_size=batch_size,
                                  grid_resolution=grid_resolution, margin=margin)
        return cls(res, class_names=class_names).plot(ax=ax, **plot_kw)

    def plot(self, ax=None, **kwargs) -> "BottleneckDisplay":
        """Draw with :func:`~vizkit.plot.bottleneck.plot_bottleneck` on ``ax`` (``None``: a new
        figure); ``kwargs``
        (``regions``, ``centers``, ``circles``, ``legend``, ``*_kw``, ...) go there.

        Returns
        -------
        BottleneckDisplay
            ``self``, with ``ax_`` and ``figure_`` set.
        """
        ax = new_ax(ax)
        plot_bottleneck(self.bottleneck, ax=ax, class_names=self.class_names, **kwargs)
        return self._drawn(ax)
