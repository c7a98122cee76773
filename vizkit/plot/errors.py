"""Error views: the confusion matrix as a seaborn heatmap, and examples with their probability
bars (seed 004), the true class's bar and the wrongly predicted class's bar in distinct colours.

Examples
--------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> mesh = plot_confusion(np.array([[5, 1], [0, 4]]), class_names=["cat", "dog"])
>>> [t.get_text() for t in mesh.axes.texts]
['5', '1', '0', '4']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ._axes import new_ax
from .style import SEQUENTIAL

__all__ = ["plot_confusion", "plot_probability_bars", "plot_examples", "plot_example_rows",
           "TRUE_COLOR", "WRONG_COLOR", "OTHER_COLOR"]

#: Bar colour of the true class (also when it is the predicted one).
TRUE_COLOR = "#1b7837"
#: Bar colour of the predicted class when the prediction is wrong.
WRONG_COLOR = "#d6604d"
#: Bar colour of the other classes.
OTHER_COLOR = "#b8b8b8"


def plot_confusion(matrix: Any, *, class_names: Sequence[str] | None = None, ax=None,
                   normalize: bool = False, cmap: Any = None, heatmap_kw: dict | None = None):
    """Draw a confusion matrix (rows: true class, columns: predicted) with seaborn, counts written
    in the cells and class names as tick labels.

    Parameters
    ----------
    matrix : array-like of shape (C, C)
        ``M[i, j]``: examples of class ``i`` predicted as ``j`` (e.g. from
        :func:`vizkit.analysis.errors.confusion`).
    class_names : sequence of str, optional
        Tick labels (default ``0 .. C-1``).
    ax : matplotlib Axes, optional
        Default: a new figure (the rule of every vizkit plotter).
    normalize : bool, default=False
        Colour by the fraction of each true class (row); the cells still show the counts.
    cmap : colormap or str, default='Blues'
    heatmap_kw : dict, optional
        Passed on to ``seaborn.heatmap``.

    Returns
    -------
    QuadMesh
        The heatmap (``mesh.get_array()`` holds the coloured values, ``mesh.axes.texts`` the
        annotations).

    Raises
    ------
    ValueError
        ``matrix`` is not square, or ``class_names`` has not one name per class.

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> mesh = plot_confusion(np.array([[3, 1], [0, 4]]), class_names=["cat", "dog"],
    ...                       normalize=True)
    >>> mesh.get_array().reshape(2, 2).tolist(), [t.get_text() for t in mesh.axes.texts]
    ([[0.75, 0.25], [0.0, 1.0]], ['3', '1', '0', '4'])
    """
    import seaborn as sns

    M = np.asarray(matrix)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"`matrix` must be square (C, C). Got shape {M.shape} instead.")
    C = M.shape[0]
    names = [str(i) for i in range(C)] if class_names is None else [str(c) for c in class_names]
    if len(names) != C:
        raise ValueError(f"`class_names` has {len(names)} names for a {C}x{C} matrix.")
    ax = new_ax(ax)
    values = M.astype(np.float64)
    if normalize:
        rows = values.sum(axis=1, keepdims=True)
        values = np.divide(values, rows, out=np.zeros_like(values), where=rows > 0)
    integral = np.issubdtype(M.dtype, np.integer) or np.all(M == np.round(M))
    annot = np.vectorize(lambda v: f"{int(v)}" if integral else f"{v:.2g}")(M)
    kw = {"annot": annot, "fmt": "", "cmap": SEQUENTIAL if cmap is None else cmap, "square": True,
          "cbar": True, "linewidths": 0.5, "linecolor": "white", "xticklabels": names,
          "yticklabels": names, "annot_kws": {"fontsize": 12}}
    kw.update(heatmap_kw or {})
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()  # seaborn resets them
    sns.heatmap(values, ax=ax, **kw)
    mesh = ax.collections[0] if len(ax.collections) == 1 else [
        c for c in ax.collections if hasattr(c, "get_array") and c.get_array() is not None][-1]
    ax.set_xlabel(xlabel or "predicted class", fontsize=12)
    ax.set_ylabel(ylabel or "true class", fontsize=12)
    ax.tick_params(axis="y", labelrotation=0)
    ax.tick_params(labelsize=12)  # readable on a projected slide
    if getattr(mesh, "colorbar", None) is not None:
        mesh.colorbar.ax.tick_params(labelsize=12)
    return mesh


def _bar_colors(n_classes: int, true: int, pred: int) -> list:
    colors = [OTHER_COLOR] * n_classes
    if pred != true:
        colors[pred] = WRONG_COLOR
    colors[true] = TRUE_COLOR
    return colors


def plot_probability_bars(probs: Any, true: int, pred: int | None = None, *, ax=None,
                          class_names: Sequence[str] | None = None, bar_kw: dict | None = None):
    """Bar chart of one example's class probabilities (seed 004).

    The true class's bar is :data:`TRUE_COLOR`; the predicted class's bar, when the prediction is
    wrong, :data:`WRONG_COLOR`; the rest :data:`OTHER_COLOR`. The tick labels of those two classes
    are drawn bold in the same colours (a bar of probability ~0 is invisible).

    Parameters
    ----------
    probs : array-like of shape (C,)
        The example's class probabilities.
    true : int
        Its true class.
    pred : int, optional
        Its predicted class (default: the most probable).
    ax : matplotlib Axes, optional
        Default: a new figure.
    class_names : sequence of str, optional
        Tick labels (default ``0 .. C-1``).
    bar_kw : dict, optional
        Passed on to ``ax.bar`` (its ``color`` replaces the three colours).

    Returns
    -------
    BarContainer
        One bar per class.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> bars = plot_probability_bars([0.2, 0.7, 0.1], true=0, class_names=["a", "b", "c"])
    >>> [b.get_facecolor() == matplotlib.colors.to_rgba(c)
    ...  for b, c in zip(bars, [TRUE_COLOR, WRONG_COLOR, OTHER_COLOR])]
    [True, True, True]
    """
    ax = new_ax(ax)
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    C = len(p)
    true = int(true)
    pred = int(p.argmax()) if pred is None else int(pred)
    names = [str(i) for i in range(C)] if class_names is None else [str(c) for c in class_names]
    kw = {"color": _bar_colors(C, true, pred), "width": 0.8}
    kw.update(bar_kw or {})
    bars = ax.bar(np.arange(C), p, **kw)
    ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(C))
    labels = ax.set_xticklabels(names, fontsize=12,
                                rotation=90 if max(len(n) for n in names) > 2 else 0)
    # a near-zero bar is invisible: the tick labels name the true (and wrong) class as well
    if pred != true:
        labels[pred].set_color(WRONG_COLOR)
        labels[pred].set_fontweight("bold")
    labels[true].set_color(TRUE_COLOR)
    labels[true].set_fontweight("bold")
    ax.tick_params(axis="y", labelsize=12)
    return bars


def _is_image(x) -> bool:
    return x.ndim == 3 and x.shape[-1] > 1 and x.shape[-2] > 1 or x.ndim == 2 and min(x.shape) > 1


def plot_examples(examples, *, axes: Any = None, class_names: Sequence[str] | None = None,
                  title: str | None = None, image_kw: dict | None = None,
                  bar_kw: dict | None = None, legend: bool = True) -> dict:
    """Each example's image above its probability bars.

    Parameters
    ----------
    examples : Examples
        From :func:`~vizkit.analysis.errors.worst_examples` or
        :func:`~vizkit.analysis.errors.prediction_examples`.
    axes : array of Axes of shape (2, k) or (k,), optional
        Row 0 the images, row 1 the bars; for non-image inputs (e.g. 2D points) one row of bar
        axes. Default: a new figure.
    class_names : sequence of str, optional
    title : str, optional
        Figure title (only set on a figure this function makes).
    image_kw, bar_kw : dict, optional
        Passed on to ``imshow`` and to :func:`plot_probability_bars`.
    legend : bool, default=True
        Explain the bar colours in a legend below the (sub)figure.

    Returns
    -------
    dict
        ``'images'`` (list of AxesImage), ``'bars'`` (list of BarContainer), ``'axes'``, and
        ``'legend'`` (on the figure) when drawn.

    Raises
    ------
    TypeError
        ``examples`` is not an Examples result.
    ValueError
        ``axes`` has too few rows or columns for the examples, or ``class_names`` too few names.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.analysis.errors import worst_examples
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> x, y = torch.rand(10, 1, 4, 4), torch.arange(10) % 3
    >>> out = plot_examples(worst_examples(model, x, y, k=2))
    >>> len(out["images"]), len(out["bars"]), out["axes"].shape
    (2, 2, (2, 2))
    """
    if not all(hasattr(examples, k) for k in ("inputs", "y", "pred", "probs")):
        raise TypeError("`examples` must be an Examples result (see vizkit.analysis.errors). "
                        f"Got {type(examples).__name__} instead.")
    k = len(examples)
    inputs = examples.inputs.detach().cpu().float().numpy()
    images = k > 0 and _is_image(inputs[0])
    rows = 2 if images else 1
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(rows, max(k, 1), figsize=(1.5 * max(k, 1) + 0.5, 1.6 * rows + 0.9),
                                 squeeze=False, layout="constrained",
                                 gridspec_kw={"height_ratios": [1.1, 1] if images else [1]})
        if title:
            fig.suptitle(title)
    axes = np.asarray(axes, dtype=object)
    if axes.ndim == 1:
        axes = axes[None, :] if not images else axes.reshape(2, -1)
    if axes.shape[0] < rows or axes.shape[1] < k:
        raise ValueError(f"`axes` must have shape ({rows}, {k}) for {k} examples. Got "
                         f"{axes.shape} instead.")
    C = examples.probs.shape[1]
    names = [str(i) for i in range(C)] if class_names is None else [str(c) for c in class_names]
    if len(names) < C:
        raise ValueError(f"`class_names` has {len(names)} names for {C} classes.")
    out = {"images": [], "bars": [], "axes": axes}
    for j in range(k):
        t, p = int(examples.y[j]), int(examples.pred[j])
        # both probabilities: a list sorted by loss (-log p(true)) is read by the true class's
        head = (f"true {names[t]}: p={examples.probs[j, t]:.2f}\n"
                f"pred {names[p]}: p={examples.probs[j, p]:.2f}")
        bar_ax = axes[rows - 1, j]
        if images:
            img_ax = axes[0, j]
            x = inputs[j]
            if x.ndim == 3:
                x = x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1)
            # one convention for digits: raw intensities, white ink on black, 0 to 1
            ikw = ({"cmap": "gray", "vmin": min(0.0, float(x.min())),
                    "vmax": max(1.0, float(x.max()))} if x.ndim == 2 else {})
            ikw.update({"interpolation": "nearest"})
            ikw.update(image_kw or {})
            out["images"].append(img_ax.imshow(x, **ikw))
            img_ax.set_xticks([])
            img_ax.set_yticks([])
            if not img_ax.get_title():
                img_ax.set_title(head, fontsize=12, color="black" if t == p else WRONG_COLOR)
        elif not bar_ax.get_title():
            coords = ", ".join(f"{v:.2g}" for v in inputs[j].reshape(-1)[:3])
            bar_ax.set_title(f"({coords})\n{head}", fontsize=12)
        out["bars"].append(plot_probability_bars(examples.probs[j], t, p, ax=bar_ax,
                                                 class_names=names, bar_kw=bar_kw))
        if j > 0:
            bar_ax.set_yticklabels([])
    for ax in axes[:, k:].ravel():
        ax.set_visible(False)
    if legend and k:
        from matplotlib.patches import Patch

        handles = [Patch(color=TRUE_COLOR, label="true class"),
                   Patch(color=WRONG_COLOR, label="predicted class (when wrong)")]
        # on the (sub)figure, not an axes: an axes legend would widen its grid column
        host = axes[rows - 1, 0].get_figure(root=False)
        constrained = host.get_figure(root=True).get_layout_engine() is not None
        out["legend"] = host.legend(handles=handles, ncol=2, fontsize=12, frameon=False,
                                    loc="outside lower center" if constrained else "lower center")
    return out


def plot_example_rows(parts: Sequence, titles: Sequence[str], class_names: Sequence[str], *,
                      per_row: int = 5):
    """One new figure of examples in rows of at most ``per_row``: a subfigure per part (an
    :class:`~vizkit.analysis.errors.Examples` result, drawn by :func:`plot_examples`), each part
    cut into rows under its title; the colour legend under the last.

    Parameters
    ----------
    parts : sequence of Examples
        The groups of examples, drawn top to bottom (an empty one shows its title only).
    titles : sequence of str
        One title per part.
    class_names : sequence of str
        The classes' names (tick labels of the bars).
    per_row : int, default=5
        Examples per row; a longer part continues on the next row.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure, one subfigure per row.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.analysis.errors import worst_examples
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> x, y = torch.rand(10, 1, 4, 4), torch.arange(10) % 3
    >>> fig = plot_example_rows([worst_examples(model, x, y, k=7)], ["worst 7"], ["a", "b", "c"],
    ...                         per_row=4)
    >>> len(fig.subfigs)  # 7 examples in rows of 4
    2
    """
    import matplotlib.pyplot as plt

    images = any(len(p) and _is_image(p.inputs[0].detach().cpu().float().numpy()) for p in parts)
    rows_each = 2 if images else 1
    chunks = [[(p, t, (i, min(i + per_row, len(p)))) for i in range(0, max(len(p), 1), per_row)]
              for p, t in zip(parts, titles)]
    flat = [c for cs in chunks for c in cs]
    k = min(per_row, max([len(p) for p in parts] + [1]))
    fig = plt.figure(figsize=(2.3 * k + 0.6, (1.75 * rows_each + 0.6) * len(flat) + 0.5),
                     layout="constrained")
    subs = np.atleast_1d(fig.subfigures(len(flat), 1))
    for n, (sub, (part, title, (a, b))) in enumerate(zip(subs, flat)):
        if len(part) == 0:
            sub.suptitle(title, fontsize=13)
            continue
        axes = sub.subplots(rows_each, per_row if len(part) > per_row else b - a, squeeze=False,
                            gridspec_kw={"height_ratios": [1.1, 1] if images else [1]})
        plot_examples(_slice(part, a, b), axes=axes, class_names=class_names,
                      legend=n == len(flat) - 1)
        if a == 0:
            sub.suptitle(title, fontsize=13)
    return fig


def _slice(ex, a: int, b: int):
    """Examples ``a`` to ``b`` of a result of per-example arrays (the same result type)."""
    return replace(ex, **{k: getattr(ex, k)[a:b]
                          for k in ("indices", "inputs", "y", "pred", "probs", "loss")})
