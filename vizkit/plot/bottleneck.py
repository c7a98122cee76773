"""The bottleneck view of seed 000: 2D features coloured by class, RBF centres as ``+`` sized by
sigma, optional circles of radius sigma, the head's decision regions behind.

Marker size of the centres
--------------------------
A centre's ``+`` is ``min_size + (max_size - min_size) * |sigma_k| / max_j |sigma_j|`` points wide
(``min_size=4``, ``max_size=22`` by default), so the widest RBF has the largest cross and the
width is proportional to ``|sigma|`` above the floor. Matplotlib's scatter sizes are areas, so the
``PathCollection`` holds the squares of these widths (:func:`center_marker_sizes`).

Examples
--------
>>> import torch, matplotlib
>>> matplotlib.use("Agg")
>>> from vizkit.models import RBFNet
>>> from vizkit.analysis.bottleneck import bottleneck_features
>>> net = RBFNet(image_size=8, channels=(4,), n_centers=5)
>>> res = bottleneck_features(net, torch.rand(20, 1, 8, 8), y=torch.arange(20) % 3,
...                           grid_resolution=30)
>>> art = plot_bottleneck(res, circles=True)
>>> sorted(art)
['centers', 'circles', 'features', 'regions']
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..analysis.bottleneck import Bottleneck
from ._axes import new_ax
from ._display import DisplayMixin
from .decision_surface import plot_decision_regions, surface_data
from .figure import Figure, NotApplicable
from .style import class_colors

__all__ = ["plot_bottleneck", "center_marker_sizes", "bottleneck_caption", "BottleneckDisplay",
           "figures"]


def center_marker_sizes(sigma: Any, *, min_size: float = 4.0, max_size: float = 22.0) -> np.ndarray:
    """Scatter sizes (points squared) of the RBF centres: width grows linearly with ``|sigma|``.

    Examples
    --------
    >>> center_marker_sizes([0.0, 1.0, -2.0], min_size=2, max_size=10).tolist()
    [4.0, 36.0, 100.0]
    """
    s = np.abs(np.asarray(sigma, dtype=np.float64)).reshape(-1)
    if not 0 <= min_size <= max_size:
        raise ValueError(f"need 0 <= min_size <= max_size. Got min_size={min_size!r}, "
                         f"max_size={max_size!r} instead.")
    top = s.max(initial=0.0)
    frac = s / top if top > 0 else np.zeros_like(s)
    width = min_size + (max_size - min_size) * frac
    return width ** 2


def plot_bottleneck(result: Bottleneck, *, ax=None, class_names: Sequence[str] | None = None,
                    color_by: str = "labels", regions: bool = True, centers: bool = True,
                    circles: bool = False, legend: bool = True, min_size: float = 4.0,
                    max_size: float = 22.0, scatter_kw: dict | None = None,
                    center_kw: dict | None = None, circle_kw: dict | None = None,
                    regions_kw: dict | None = None) -> dict:
    """Draw a :class:`~vizkit.analysis.bottleneck.Bottleneck` result.

    Parameters
    ----------
    result : Bottleneck
    ax : matplotlib Axes, optional
        Default: a new figure (the rule of every vizkit plotter).
    class_names : sequence of str, optional
        Class names for the legend (default ``'0', '1', ...``).
    color_by : {'labels', 'predictions'}, default='labels'
        Colour the features by their true class (falls back to predictions without labels).
    regions : bool, default=True
        Shade the head's decision regions behind (when the result has them).
    centers : bool, default=True
        Draw the RBF centres as ``+`` markers sized by sigma (see the module notes).
    circles : bool, default=False
        Draw a circle of radius ``|sigma|`` around each centre (in data units).
    legend : bool, default=True
    min_size, max_size : float
        Width in points of the smallest and largest centre markers.
    scatter_kw, center_kw, circle_kw, regions_kw : dict, optional
        Passed on to the features' ``scatter``, the centres' ``scatter``, the circles'
        ``PatchCollection`` and :func:`~vizkit.plot.decision_surface.plot_decision_regions`.

    Returns
    -------
    dict
        ``'features'`` (PathCollection), ``'centers'`` (PathCollection or None), ``'circles'``
        (PatchCollection or None), ``'regions'`` (dict from ``plot_decision_regions`` or None).
    """
    if not isinstance(result, Bottleneck):
        raise TypeError("`result` must be a Bottleneck (see vizkit.analysis.bottleneck."
                        f"bottleneck_features). Got {type(result).__name__} instead.")
    if color_by not in ("labels", "predictions"):
        raise ValueError(f"`color_by` must be one of 'labels', 'predictions'. Got {color_by!r} instead.")
    ax = new_ax(ax)
    feats = result.features
    colour_ids = result.labels if (color_by == "labels" and result.labels is not None) else result.predictions
    n_classes = int(colour_ids.max(initial=0)) + 1
    if result.surface is not None:
        n_classes = max(n_classes, result.surface.n_classes)
    if class_names is not None:
        n_classes = max(n_classes, len(class_names))
    palette = class_colors(max(n_classes, 1))
    out: dict = {"features": None, "centers": None, "circles": None, "regions": None}
    if regions and result.surface is not None:
        rkw = {"min_alpha": 0.1, "max_alpha": 0.45}
        rkw.update(regions_kw or {})
        out["regions"] = plot_decision_regions(result.surface, ax=ax, **rkw)
    kw = {"s": 10, "edgecolors": "0.15", "linewidths": 0.25, "zorder": 2}
    kw.update(scatter_kw or {})
    face = np.array([palette[c] for c in colour_ids]) if len(colour_ids) else np.zeros((0, 3))
    out["features"] = ax.scatter(feats[:, 0], feats[:, 1], c=face, **kw)
    if circles and result.centers is not None:
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Circle

        patches = [Circle((float(cx), float(cy)), float(abs(s)))
                   for (cx, cy), s in zip(result.centers, result.sigma)]
        ckw = {"facecolor": "none", "edgecolor": "0.25", "linewidth": 0.5, "alpha": 0.45, "zorder": 3}
        ckw.update(circle_kw or {})
        out["circles"] = ax.add_collection(PatchCollection(patches, **ckw), autolim=False)
    if centers and result.centers is not None:
        ckw = {"marker": "+", "c": "black", "linewidths": 1.0, "zorder": 4}
        ckw.update(center_kw or {})
        sizes = center_marker_sizes(result.sigma, min_size=min_size, max_size=max_size)
        out["centers"] = ax.scatter(result.centers[:, 0], result.centers[:, 1], s=sizes, **ckw)
    if not ax.get_xlabel():
        ax.set_xlabel("bottleneck feature 1")
    if not ax.get_ylabel():
        ax.set_ylabel("bottleneck feature 2")
    if legend:
        from matplotlib.lines import Line2D

        present = np.unique(colour_ids)
        names = ([str(i) for i in range(n_classes)] if class_names is None
                 else [str(c) for c in class_names])
        handles = [Line2D([], [], linestyle="none", marker="o", markersize=5, color=palette[c],
                          label=names[c]) for c in present]
        if out["centers"] is not None:
            handles.append(Line2D([], [], linestyle="none", marker="+", markersize=8, color="black",
                                  label="RBF centre\n(width ~ |sigma|)"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
                  frameon=False, borderaxespad=0.0, title="true class", title_fontsize=9)
    return out


_MAX_POINTS = 5000
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


def bottleneck_caption(result: Bottleneck, *, meta: dict | None = None,
                       model_name: str = "the model") -> str:
    """The bottleneck figure's caption, every number read from ``result`` (and the training
    record ``meta``): epochs and optimizer, accuracy, how spread and how separated the features
    are, the number of centres and their sigma range."""
    from ..analysis.bottleneck import class_separation

    f = np.asarray(result.features, dtype=np.float64)
    text = model_name + (f", {_training_text(meta)}" if _training_text(meta) else "") + ": "
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
                     f"{s.max():.3g}); right: circles of radius |sigma|.")
    if result.surface is not None:
        text += (" Shading: the class the rest of the network predicts at each point of the plane, "
                 "paler where its confidence is lower (colour bar).")
    return text


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``bottleneck`` (seed 000): the test set in the 2D feature plane before the RBF
    layer, coloured by class, with the RBF centres (``+`` sized by sigma) and the head's decision
    regions behind; a second panel adds circles of radius sigma. The caption is computed from
    this model's own result and training record (:func:`bottleneck_caption`).

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
    """
    import matplotlib.pyplot as plt
    import torch

    from ..analysis.bottleneck import bottleneck_features, find_bottleneck
    from .decision_surface import confidence_colorbar

    where = find_bottleneck(model)
    if where is None:
        raise NotApplicable(f"bottleneck needs a 2D layer before the classifier head (an "
                            f"RBFLayer(2, K) or a hidden Linear(_, 2)), such as --model rbf; "
                            f"{type(model).__name__} has none.")
    x, y = split.x_test, split.y_test
    if len(x) > _MAX_POINTS:  # a seeded subset keeps the scatter readable and the figure fast
        idx = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(x), _MAX_POINTS,
                                                                           replace=False)))
        x, y = x[idx], y[idx]
    res = bottleneck_features(model, x, y=y, grid_resolution=300)
    acc = float((res.predictions == res.labels).mean())
    has_rbf = res.centers is not None
    panels = 2 if has_rbf else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels + 1.8, 5.6), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    plot_bottleneck(res, ax=axes[0], class_names=split.classes, legend=not has_rbf,
                    regions_kw=_REGION_ALPHA)
    confidence_colorbar(axes[0], res.surface, location="bottom", shrink=0.7, **_REGION_ALPHA)
    axes[0].set_title(f"test features at '{where.name}'"
                      + (" (input of the RBF layer)" if where.use_input else "")
                      + f"\nshading: the head's class; accuracy {acc:.1%}", fontsize=10)
    if has_rbf:
        plot_bottleneck(res, ax=axes[1], class_names=split.classes, regions=False, circles=True)
        s = np.abs(res.sigma)
        axes[1].set_title(f"{len(s)} RBF centres, circles of radius |sigma|\n"
                          f"(|sigma| {s.min():.3g} to {s.max():.3g})", fontsize=10)
        # keep the view on the data: circles of huge sigma would otherwise zoom out
        axes[1].set_xlim(axes[0].get_xlim())
        axes[1].set_ylim(axes[0].get_ylim())
    caption = bottleneck_caption(res, meta=meta, model_name=type(model).__name__)
    data = _bottleneck_data(res, class_names=split.classes)
    return [Figure(id="bottleneck", fig=fig, caption=caption, data=data)]


def _bottleneck_data(result: Bottleneck, *, class_names: Sequence | None = None
                     ) -> dict[str, np.ndarray]:
    """The arrays a bottleneck view draws, compactly (a few hundred KB, not megabytes).

    Keys: ``features`` [n, 2] (the points), ``predictions`` [n] and ``labels`` [n] (true class,
    when known), ``centers`` [K, 2] and ``sigma`` [K] (RBF models only), the head's regions as
    :func:`~vizkit.plot.decision_surface.surface_data` gives them (``grid_x`` [W], ``grid_y``
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

    def __init__(self, bottleneck: Bottleneck, *, class_names: Sequence[str] | None = None
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
        """Draw with :func:`plot_bottleneck` on ``ax`` (``None``: a new figure); ``kwargs``
        (``regions``, ``centers``, ``circles``, ``legend``, ``*_kw``, ...) go there.

        Returns
        -------
        BottleneckDisplay
            ``self``, with ``ax_`` and ``figure_`` set.
        """
        ax = new_ax(ax)
        plot_bottleneck(self.bottleneck, ax=ax, class_names=self.class_names, **kwargs)
        return self._drawn(ax)
