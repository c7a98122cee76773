"""Learning curves (seed 003): train and validation loss and accuracy per epoch, best epoch marked.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> hist = {"epochs": [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 0.6,
...                     "val_acc": 0.55},
...                    {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "train_acc": 0.8,
...                     "val_acc": 0.75}], "best_epoch": 2}
>>> lines = plot_learning_curves(hist)
>>> lines["val_loss"].get_ydata().tolist()
[1.1, 0.7]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["plot_learning_curves", "history_table", "history_arrays"]

_SERIES = (("train_loss", 0, "train", "-"), ("val_loss", 0, "validation", "--"),
           ("train_acc", 1, "train", "-"), ("val_acc", 1, "validation", "--"))
_COLORS = {"train": "#1f77b4", "validation": "#ff7f0e"}


def history_table(history: Any) -> tuple[list[dict], int]:
    """The per-epoch records and the best epoch of a training history, whatever form it has.

    Parameters
    ----------
    history : History, dict or list of dict
        A :class:`vizkit.train.History`, its ``to_dict()`` form or a plain list of per-epoch
        dicts.

    Returns
    -------
    (list of dict, int)
        The per-epoch records and ``best_epoch`` (1-based; 0 when unknown).

    Raises
    ------
    ValueError
        A dict without an ``'epochs'`` list.
    TypeError
        ``history`` is none of the forms above.

    Examples
    --------
    >>> history_table({"epochs": [{"val_acc": 0.5}, {"val_acc": 0.7}], "best_epoch": 2})
    ([{'val_acc': 0.5}, {'val_acc': 0.7}], 2)
    >>> history_table([{"val_acc": 0.5}])[1]
    0
    """
    if hasattr(history, "epochs") and not isinstance(history, dict):
        return list(history.epochs), int(getattr(history, "best_epoch", 0) or 0)
    if isinstance(history, dict):
        if "epochs" not in history:
            raise ValueError("a history dict needs an 'epochs' list (History.to_dict()). Got keys "
                             f"{sorted(history)} instead.")
        return list(history["epochs"]), int(history.get("best_epoch", 0) or 0)
    if isinstance(history, (list, tuple)) and all(isinstance(e, dict) for e in history):
        return list(history), 0
    raise TypeError("`history` must be a vizkit.train.History, its to_dict() or a list of per-epoch "
                    f"dicts. Got {type(history).__name__} instead.")


def history_arrays(history: Any) -> dict:
    """The per-epoch series :func:`plot_learning_curves` draws, as arrays for a figure's data.

    Parameters
    ----------
    history : History, dict or list of dict
        As :func:`history_table` takes it.

    Returns
    -------
    dict of str to ndarray
        ``epoch`` and ``best_epoch``, then each of ``train_loss, val_loss, train_acc,
        val_acc`` that has a value at some epoch (NaN at the epochs without one).

    Examples
    --------
    >>> d = history_arrays([{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": None}])
    >>> sorted(d), d["val_acc"].tolist()
    (['best_epoch', 'epoch', 'val_acc'], [0.5, nan])
    """
    import numpy as np

    epochs, best = history_table(history)
    data = {"epoch": np.array([e.get("epoch", i + 1) for i, e in enumerate(epochs)], dtype=float),
            "best_epoch": np.asarray(best)}
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        if any(e.get(key) is not None for e in epochs):
            data[key] = np.array([np.nan if e.get(key) is None else float(e[key]) for e in epochs])
    return data


def plot_learning_curves(history: Any, *, axes: Sequence | None = None, best_epoch: int | None = None,
                         mark_best: bool = True, best_label: str | None = None,
                         line_kw: dict | None = None) -> dict:
    """Plot loss (``axes[0]``) and accuracy (``axes[1]``) per epoch, train and validation.

    Parameters
    ----------
    history : History, dict or list of dict
        Per-epoch records with any of ``train_loss, val_loss, train_acc, val_acc`` (and
        ``epoch``, default 1, 2, ...). Missing or ``None`` values are skipped.
    axes : (Axes, Axes), optional
        ``(ax_loss, ax_acc)``; default a new figure with two panels side by side.
    best_epoch : int, optional
        The epoch to mark (1-based); default the history's ``best_epoch``.
    mark_best : bool, default=True
        Draw a dotted vertical line at the best epoch and a star on the validation curves.
    best_label : str, optional
        The star's legend label; default ``'best epoch (<n>)'``. Say what is true when the best
        epoch is the last one run (e.g. ``'last epoch (6), still improving'``).
    line_kw : dict, optional
        Passed on to every ``ax.plot`` of a curve.

    Returns
    -------
    dict
        Line2D per key present (``'train_loss'``, ``'val_loss'``, ``'train_acc'``, ``'val_acc'``),
        and ``'best'``: the list of best-epoch artists.

    Raises
    ------
    ValueError
        The history has no epochs, or ``axes`` is not two axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> hist = {"epochs": [{"epoch": 1, "val_acc": 0.6}, {"epoch": 2, "val_acc": 0.8}],
    ...         "best_epoch": 2}
    >>> out = plot_learning_curves(hist, best_label="last epoch (2), still improving")
    >>> out["val_acc"].get_ydata().tolist(), out["best"][0].get_label()
    ([0.6, 0.8], 'last epoch (2), still improving')
    """
    epochs, hist_best = history_table(history)
    if not epochs:
        raise ValueError("`history` has no epochs to plot.")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != 2:
        raise ValueError(f"`axes` must be (ax_loss, ax_acc). Got {len(axes)} axes instead.")
    x_all = np.array([e.get("epoch", i + 1) for i, e in enumerate(epochs)], dtype=float)
    out: dict = {"best": []}
    for key, which, label, style in _SERIES:
        vals = np.array([np.nan if e.get(key) is None else float(e[key]) for e in epochs])
        ok = np.isfinite(vals)
        if not ok.any():
            continue
        kw = {"color": _COLORS[label], "linestyle": style, "label": label,
              "marker": "o" if ok.sum() <= 30 else None, "markersize": 3}
        kw.update(line_kw or {})
        (out[key],) = axes[which].plot(x_all[ok], vals[ok], **kw)
    best = hist_best if best_epoch is None else int(best_epoch)
    if mark_best and best:
        for key, which in (("val_loss", 0), ("val_acc", 1)):
            line = out.get(key)
            if line is None:
                continue
            xs, ys = line.get_xdata(), line.get_ydata()
            hit = np.flatnonzero(xs == best)
            if hit.size:
                out["best"].append(axes[which].plot([best], [ys[hit[0]]], marker="*", markersize=11,
                                                    color="#d62728", linestyle="none",
                                                    label=best_label or f"best epoch ({best})",
                                                    zorder=5)[0])
        for ax in axes:
            out["best"].append(ax.axvline(best, color="0.5", linestyle=":", linewidth=1, zorder=0))
    from matplotlib.ticker import MaxNLocator

    for ax, ylabel in zip(axes, ("loss", "accuracy")):
        if ax.get_xscale() == "linear":  # epochs are whole numbers: no "2.5" ticks
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not ax.get_xlabel():
            ax.set_xlabel("epoch")
        if not ax.get_ylabel():
            ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:  # a lone best-epoch line has no label
            ax.legend(fontsize=9, frameon=False)
    return out
