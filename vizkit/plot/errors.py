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

from typing import Any, Sequence

import numpy as np

from ..analysis.errors import Examples, PredictionExamples, Predictions
from ._axes import new_ax
from .figure import Figure
from .style import SEQUENTIAL

__all__ = ["plot_confusion", "plot_probability_bars", "plot_examples", "prediction_bars_caption",
           "confusion_caption", "worst_caption", "TRUE_COLOR", "WRONG_COLOR", "OTHER_COLOR",
           "CONFIDENT", "figures"]

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
          "yticklabels": names, "annot_kws": {"fontsize": 8 if C > 8 else 9}}
    kw.update(heatmap_kw or {})
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()  # seaborn resets them
    sns.heatmap(values, ax=ax, **kw)
    mesh = ax.collections[0] if len(ax.collections) == 1 else [
        c for c in ax.collections if hasattr(c, "get_array") and c.get_array() is not None][-1]
    ax.set_xlabel(xlabel or "predicted class")
    ax.set_ylabel(ylabel or "true class")
    ax.tick_params(axis="y", labelrotation=0)
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

    Returns
    -------
    BarContainer
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
    labels = ax.set_xticklabels(names, fontsize=8,
                                rotation=90 if max(len(n) for n in names) > 2 else 0)
    # a near-zero bar is invisible: the tick labels name the true (and wrong) class as well
    if pred != true:
        labels[pred].set_color(WRONG_COLOR)
        labels[pred].set_fontweight("bold")
    labels[true].set_color(TRUE_COLOR)
    labels[true].set_fontweight("bold")
    ax.tick_params(axis="y", labelsize=8)
    return bars


def _is_image(x) -> bool:
    return x.ndim == 3 and x.shape[-1] > 1 and x.shape[-2] > 1 or x.ndim == 2 and min(x.shape) > 1


def plot_examples(examples: Examples, *, axes: Any = None, class_names: Sequence[str] | None = None,
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
    """
    if not isinstance(examples, Examples):
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
        head = f"true {names[t]}\npred {names[p]}, p={examples.probs[j, p]:.2f}"
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
                img_ax.set_title(head, fontsize=9, color="black" if t == p else WRONG_COLOR)
        elif not bar_ax.get_title():
            coords = ", ".join(f"{v:.2g}" for v in inputs[j].reshape(-1)[:3])
            bar_ax.set_title(f"({coords})\n{head}", fontsize=9)
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
        out["legend"] = host.legend(handles=handles, ncol=2, fontsize=8, frameon=False,
                                    loc="outside lower center" if constrained else "lower center")
    return out


_N_WORST = 10
_N_EACH = 5
#: A prediction made with at least this probability is called "confident" in the captions.
CONFIDENT = 0.9


def _confidence(ex: Examples) -> np.ndarray:
    """Probability of the predicted class of each example."""
    return np.asarray(ex.probs)[np.arange(len(ex)), np.asarray(ex.pred)] if len(ex) else np.zeros(0)


def _span(values: np.ndarray) -> str:
    """'0.65' or '0.99 to 0.65' (first to last, as shown)."""
    a, b = f"{values[0]:.2f}", f"{values[-1]:.2f}"
    return a if a == b else f"{a} to {b}"


def prediction_bars_caption(examples: PredictionExamples, preds: Predictions) -> str:
    """The caption of the prediction-bars figure, every number and claim read from the chosen
    ``examples`` and all test ``preds`` (it calls a mistake confident only when one exists).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from vizkit.analysis.errors import Predictions, _select
    >>> p = Predictions(probs=np.array([[0.4, 0.6], [0.8, 0.2]]), pred=np.array([1, 0]),
    ...                 y=np.array([0, 0]), loss=np.zeros(2))
    >>> ex = PredictionExamples(right=_select(p, torch.zeros(2, 1), [1]),
    ...                         wrong=_select(p, torch.zeros(2, 1), [0]))
    >>> "confidently wrong" in prediction_bars_caption(ex, p)
    False
    """
    n, n_wrong = len(preds.y), int((~preds.correct).sum())
    conf_all = preds.probs[np.arange(n), preds.pred]
    n_sure_wrong = int(((~preds.correct) & (conf_all >= CONFIDENT)).sum())
    parts = []
    if len(examples.wrong):
        parts.append(f"the {len(examples.wrong)} wrong test predictions the model was surest of "
                     f"(of its {n_wrong} mistakes on {n} test examples; probability of the "
                     f"predicted class {_span(_confidence(examples.wrong))})")
    if len(examples.right):
        parts.append(f"the {len(examples.right)} right test predictions the model was least "
                     f"sure of (probability {_span(_confidence(examples.right))})")
    text = ("Top to bottom: " + " and ".join(reversed(parts)) if parts else
            "No test predictions") + (", each with its class probabilities: green bar = true "
                                      "class, red bar = the wrongly predicted class. ")
    if n_wrong == 0:
        text += f"The model made no mistake on the {n} test examples."
    elif n_sure_wrong:
        text += (f"{n_sure_wrong} of the {n_wrong} mistakes were made with probability >= "
                 f"{CONFIDENT:g} (confidently wrong).")
    else:
        text += (f"No mistake was made with probability >= {CONFIDENT:g}: the surest wrong "
                 f"prediction had {conf_all[~preds.correct].max():.2f}.")
    return text


def confusion_caption(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix's caption: its count, accuracy and most frequent mistake."""
    M = np.asarray(matrix)
    n, right = int(M.sum()), int(np.trace(M))
    text = (f"Confusion matrix of the {n} test examples (accuracy {right / max(n, 1):.1%}): row = "
            "true class, column = predicted class, counts in the cells; off-diagonal cells are "
            "the mistakes. ")
    off = M - np.diag(np.diag(M))
    if off.max(initial=0) == 0:
        return text + "There are none."
    i, j = np.unravel_index(np.argmax(off), off.shape)
    return text + (f"The most frequent mistake: {int(off[i, j])} of class '{class_names[i]}' "
                   f"predicted as '{class_names[j]}'.")


def worst_caption(worst: Examples) -> str:
    """The worst examples' caption: how many, their losses, how many are misclassified."""
    k = len(worst)
    n_wrong = int((np.asarray(worst.y) != np.asarray(worst.pred)).sum())
    loss = np.asarray(worst.loss)
    span = _span(loss) if k else "-"
    return (f"The {k} test examples with the highest cross-entropy (loss {span}; {n_wrong} of "
            f"them misclassified), each with its class probabilities: green bar = true class, red "
            f"bar = the wrongly predicted class.")


def _rows_figure(parts, titles, classes, *, per_row: int = 5):
    """One figure of examples in rows of at most ``per_row``: subfigure per part, each part cut
    into rows; the colour legend under the last."""
    import matplotlib.pyplot as plt

    images = any(len(p) and _is_image(p.inputs[0].detach().cpu().float().numpy()) for p in parts)
    rows_each = 2 if images else 1
    chunks = [[(p, t, (i, min(i + per_row, len(p)))) for i in range(0, max(len(p), 1), per_row)]
              for p, t in zip(parts, titles)]
    flat = [c for cs in chunks for c in cs]
    k = min(per_row, max([len(p) for p in parts] + [1]))
    fig = plt.figure(figsize=(1.6 * k + 0.6, (1.8 * rows_each + 0.55) * len(flat) + 0.4),
                     layout="constrained")
    subs = np.atleast_1d(fig.subfigures(len(flat), 1))
    for n, (sub, (part, title, (a, b))) in enumerate(zip(subs, flat)):
        if len(part) == 0:
            sub.suptitle(title, fontsize=10)
            continue
        axes = sub.subplots(rows_each, per_row if len(part) > per_row else b - a, squeeze=False,
                            gridspec_kw={"height_ratios": [1.1, 1] if images else [1]})
        plot_examples(_slice(part, a, b), axes=axes, class_names=classes,
                      legend=n == len(flat) - 1)
        if a == 0:
            sub.suptitle(title, fontsize=10)
    return fig


def _slice(ex: Examples, a: int, b: int) -> Examples:
    return Examples(indices=ex.indices[a:b], inputs=ex.inputs[a:b], y=ex.y[a:b], pred=ex.pred[a:b],
                    probs=ex.probs[a:b], loss=ex.loss[a:b])


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``errors``: confusion matrix, the worst-classified test examples with their
    probability bars, the surest wrong and least sure right predictions with their bars (seed
    004), and the learning curves (seed 003) when ``meta['history']`` holds the training history.

    Every caption's numbers and claims are computed from the examples drawn (no "confidently
    wrong" unless such a mistake exists). Digits are drawn white on black (``'gray'``, 0 to 1).

    Returns
    -------
    list of Figure
        ``confusion`` (``data``: ``confusion`` [C, C], ``class_names``), ``worst_examples`` and
        ``prediction_bars`` (``indices``, ``inputs``, ``y``, ``pred``, ``probs``, ``loss`` of the
        examples shown; ``right_``/``wrong_`` prefixed for the bars), ``learning_curves`` when
        there is a history.
    """
    import matplotlib.pyplot as plt

    from ..analysis.errors import confidence_examples, predictions, worst_examples
    from ..train.metrics import confusion_matrix

    x, y = split.x_test, split.y_test
    preds = predictions(model, x, y)
    C = max(preds.n_classes, split.n_classes)
    classes = list(split.classes) if len(split.classes) >= C else [str(i) for i in range(C)]
    names = np.asarray([str(c) for c in classes])
    out = []

    M = confusion_matrix(preds.y, preds.pred, C)
    side = 1.4 + 0.55 * C
    fig, ax = plt.subplots(figsize=(max(4.2, side + 1.4), max(3.6, side)), layout="constrained")
    plot_confusion(M, class_names=classes, ax=ax)
    ax.set_title(f"confusion on the test set\n{len(y)} examples, accuracy "
                 f"{float(preds.correct.mean()):.1%}", fontsize=10)
    out.append(Figure(id="confusion", fig=fig, caption=confusion_caption(M, classes),
                      data={"confusion": np.asarray(M), "class_names": names}))

    worst = worst_examples(model, x, y, k=_N_WORST, preds=preds)
    fig = _rows_figure([worst], ["the test examples with the highest loss (worst first)"], classes)
    out.append(Figure(id="worst_examples", fig=fig, caption=worst_caption(worst),
                      data=dict(_examples_data(worst), class_names=names)))

    ex = confidence_examples(model, x, y, n_right=_N_EACH, n_wrong=_N_EACH, preds=preds)
    titles = [f"right predictions it was least sure of (p {_span(_confidence(ex.right))})"
              if len(ex.right) else "no right predictions on the test set",
              f"wrong predictions it was surest of (p {_span(_confidence(ex.wrong))})"
              if len(ex.wrong) else "no wrong predictions on the test set"]
    fig = _rows_figure([ex.right, ex.wrong], titles, classes)
    data = {f"{part}_{key}": v for part, e in (("right", ex.right), ("wrong", ex.wrong))
            for key, v in _examples_data(e).items()}
    out.append(Figure(id="prediction_bars", fig=fig, caption=prediction_bars_caption(ex, preds),
                      data=dict(data, class_names=names)))

    history = (meta or {}).get("history")
    if history:
        refit = int(((meta or {}).get("metrics") or {}).get("refit_epochs") or 0)
        out.append(_curves_figure(history, refit))
    return out


def _curves_figure(history, refit_epochs: int = 0) -> Figure:
    """The learning curves with the kept epoch and its validation figures in the caption; with
    ``refit_epochs`` (``metrics['refit_epochs']``) the caption says the kept model is a refit."""
    import matplotlib.pyplot as plt

    from .curves import history_arrays, history_table, plot_learning_curves

    epochs, best = history_table(history)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), layout="constrained")
    plot_learning_curves(history, axes=axes)
    axes[0].set_title("loss per epoch", fontsize=10)
    axes[1].set_title("accuracy per epoch", fontsize=10)
    caption = f"Training and validation loss and accuracy over {len(epochs)} epochs"
    kept = [e for i, e in enumerate(epochs) if e.get("epoch", i + 1) == best]
    if kept:
        e = kept[0]
        val = ", ".join(([f"validation loss {e['val_loss']:.3f}"] if e.get("val_loss") is not None
                         else []) + ([f"validation accuracy {e['val_acc']:.1%}"]
                                     if e.get("val_acc") is not None else []))
        kept = "" if refit_epochs else " whose weights were kept"
        caption += (f"; the star and dotted line mark epoch {best}, the best-validation epoch"
                    f"{kept}" + (f" ({val})" if val else ""))
    if refit_epochs:
        caption += (f". The model the other figures show is not this run's: it was retrained "
                    f"from scratch on the training and validation images for {refit_epochs} "
                    f"epochs and its last weights kept (so it has no validation curve)")
    data = history_arrays(history)
    data["refit_epochs"] = np.array(refit_epochs)
    return Figure(id="learning_curves", fig=fig, caption=caption + ".", data=data)


def _examples_data(ex: Examples) -> dict[str, np.ndarray]:
    """The arrays of an :class:`~vizkit.analysis.errors.Examples` drawn by :func:`plot_examples`."""
    return {"indices": np.asarray(ex.indices), "inputs": ex.inputs.detach().cpu().numpy(),
            "y": np.asarray(ex.y), "pred": np.asarray(ex.pred), "probs": np.asarray(ex.probs),
            "loss": np.asarray(ex.loss)}
