"""Drawing what a network looks at over its training (results of
:func:`vizkit.analysis.over_training.over_training`; nothing here runs a model).

Each figure is landscape: on the left a grid of snapshots (one column per epoch), on the right the
learning curve with the snapshot epochs marked and the measure of change between consecutive
snapshots. Text is at least 13 pt at the figure's size; every colour scale has a colourbar.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .style import class_colors, diverging_cmap

__all__ = ["plot_snapshot_grid", "plot_learning_curve", "plot_change", "plot_embeddings",
           "over_training_figure", "FONT"]

#: The smallest font size (pt) of these figures (>= 20 px once a figure fits a 1920x1080 slide).
FONT = 13


def plot_snapshot_grid(fig, rows: np.ndarray, epochs: Sequence[int], *, row_labels: Sequence[str],
                       first: np.ndarray | None = None, first_title: str = "input",
                       cmap: Any = "gray", vmin: float | None = None, vmax: float | None = None,
                       cbar_label: str = "", flat: np.ndarray | None = None) -> dict:
    """A grid of images on ``fig`` (a figure or sub-figure): one row per item, one column per
    snapshot (``rows[e, i]`` at row ``i``, column ``e``), an optional first column (``first``,
    e.g. the input images), and one colourbar for the snapshots' shared scale.

    ``flat`` (E, n) marks flat snapshots (no pattern): each is drawn with the word "flat" on it.

    Returns
    -------
    dict
        ``axes`` (rows x columns array), ``images`` (the snapshot ``AxesImage`` objects),
        ``colorbar``, ``flat_marks`` (the "flat" texts).
    """
    rows = np.asarray(rows)
    n_snap, n_items = rows.shape[:2]
    n_cols = n_snap + (first is not None)
    axes = np.atleast_2d(fig.subplots(n_items, n_cols, squeeze=False))
    images, marks = [], []
    for i in range(n_items):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([]), ax.set_yticks([])
            if first is not None and j == 0:
                ax.imshow(first[i], cmap="gray", vmin=0, vmax=1)
                if i == 0:
                    ax.set_title(first_title, fontsize=FONT)
            else:
                e = j - (first is not None)
                images.append(ax.imshow(rows[e, i], cmap=cmap, vmin=vmin, vmax=vmax))
                if flat is not None and flat[e, i]:
                    marks.append(ax.text(0.5, 0.5, "flat", transform=ax.transAxes, ha="center",
                                         va="center", fontsize=FONT, color="black",
                                         bbox={"facecolor": "white", "alpha": 0.8,
                                               "edgecolor": "none", "pad": 1}))
                if i == 0:
                    ax.set_title(f"epoch {int(epochs[e])}", fontsize=FONT)
            if j == 0:
                ax.set_ylabel(row_labels[i], fontsize=FONT)
    cbar = fig.colorbar(images[0], ax=axes, shrink=0.6, location="left", pad=0.04)
    cbar.set_label(cbar_label, fontsize=FONT)
    cbar.ax.tick_params(labelsize=FONT)
    return {"axes": axes, "images": images, "colorbar": cbar, "flat_marks": marks}


def _epoch_axis(ax, epochs: Sequence[int], label: str) -> None:
    """A log-like epoch axis (linear below 1, so epoch 0 has a place) ticked at ``epochs``."""
    ax.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax.set_xticks([int(e) for e in epochs], [str(int(e)) for e in epochs])
    ax.minorticks_off()
    ax.set_xlabel(label, fontsize=FONT)


def plot_learning_curve(ax, history: dict, snapshot_epochs: Sequence[int]) -> dict:
    """Training and validation accuracy per epoch (``history``: ``epoch``, ``train_acc``,
    ``val_acc`` arrays, as :func:`vizkit.plot.curves.history_arrays` gives them), the snapshot
    epochs as dotted vertical lines."""
    lines = {}
    for key, label in (("train_acc", "training"), ("val_acc", "validation")):
        if key in history:
            lines[key], = ax.plot(history["epoch"], history[key], marker=".", label=label)
    marks = [ax.axvline(e, color="0.6", linestyle=":", linewidth=1) for e in snapshot_epochs]
    _epoch_axis(ax, snapshot_epochs, "epoch (snapshots dotted)")
    ax.set_ylabel("accuracy", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.set_title("learning curve", fontsize=FONT)
    if lines:
        ax.legend(fontsize=FONT, frameon=False)
    return {"lines": lines, "marks": marks}


def plot_change(ax, epochs: Sequence[int], values: np.ndarray, *, ylabel: str,
                threshold: float | None = None, stable_after: int | None = None) -> dict:
    """A measure between consecutive snapshots, drawn at the later epoch of each pair: the mean
    over items (line) and their range (band), NaN (not measured) left out; the threshold dashed,
    and, when ``stable_after`` is a snapshot epoch, the first pair from which the mean stays at or
    above it (drawn at that pair's later epoch, so the marker sits on a point >= threshold).

    Returns
    -------
    dict
        ``line``, ``band``, ``mean`` (per pair; NaN where nothing was measured), ``stable_x``
        (the marked epoch, or None).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    x = np.asarray(epochs)[1:]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pair of flat images: nothing measured
        mean = np.nanmean(values, axis=1)
        lo, hi = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
    many = values.shape[1] > 1
    line, = ax.plot(x, mean, marker="o", color="black", label="mean" if many else "value")
    band = (ax.fill_between(x, lo, hi, color="0.8", label="range") if many else None)
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1,
                   label=f"threshold {threshold:g}")
    stable_x = None
    if stable_after is not None:
        i = [int(e) for e in epochs].index(int(stable_after))
        stable_x = int(x[i])
        ax.axvline(stable_x, color="tab:red", linestyle=":", linewidth=1.5,
                   label=(f">= {threshold:g}" if threshold is not None else "stable")
                   + f" from {int(stable_after)}->{stable_x} on")
    _epoch_axis(ax, epochs, "epoch (each point: vs the snapshot before)")
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    if many or threshold is not None:
        ax.legend(fontsize=FONT, frameon=False)
    return {"line": line, "band": band, "mean": mean, "stable_x": stable_x}


def plot_embeddings(fig, embedding: np.ndarray, labels: np.ndarray, epochs: Sequence[int],
                    disparity: np.ndarray, class_names: Sequence[str]) -> dict:
    """One scatter panel per snapshot of an aligned 2D embedding, coloured by class, each titled
    with its epoch and its Procrustes disparity with the previous panel; one legend."""
    labels = np.asarray(labels)
    axes = np.atleast_1d(fig.subplots(1, len(epochs), squeeze=False)[0])
    colours = class_colors(max(len(class_names), int(labels.max(initial=0)) + 1))
    lim = float(np.abs(embedding).max(initial=0.0)) * 1.05 or 1.0
    scatters = []
    for e, ax in enumerate(axes):
        scatters.append(ax.scatter(embedding[e, :, 0], embedding[e, :, 1], s=10,
                                   c=[colours[int(c)] for c in labels], linewidths=0))
        title = f"epoch {int(epochs[e])}"
        if e:
            title += f"\ndisparity {disparity[e - 1]:.3f}"
        ax.set_title(title, fontsize=FONT)
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_aspect("equal")
    from matplotlib.lines import Line2D

    present = sorted(set(labels.tolist()))
    handles = [Line2D([], [], marker="o", linestyle="none", color=colours[c],
                      label=class_names[c] if c < len(class_names) else str(c)) for c in present]
    legend = fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5),
                        fontsize=FONT, frameon=False)
    return {"axes": axes, "scatters": scatters, "legend": legend}


def over_training_figure(result: Any, history: dict, *, view: str,
                         class_names: Sequence[str]) -> dict:
    """One landscape figure of an over-training result: ``view`` is ``'attributions'``,
    ``'actmax'`` or ``'embedding'``; the learning curve (``history`` arrays) on the right, under
    it the change between consecutive snapshots.

    Returns
    -------
    dict
        ``fig`` and what each part returned (``grid`` or ``embedding``, ``curve``, ``change``).
    """
    import matplotlib.pyplot as plt

    if view not in ("attributions", "actmax", "embedding"):
        raise ValueError(f"`view` must be one of 'attributions', 'actmax', 'embedding'. Got "
                         f"{view!r} instead.")
    name = lambda c: class_names[int(c)] if int(c) < len(class_names) else str(c)  # noqa: E731
    n_snap = len(result.epochs)
    if view == "embedding":
        panel = min(1.75, 8.5 / n_snap)  # the figure stays within ~12.5 inches
        fig = plt.figure(figsize=(4.0 + panel * n_snap, 4.8), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[panel * n_snap, 4.0])
    else:
        n_rows = len(result.labels) if view == "attributions" else len(result.actmax_classes)
        cell = 1.05
        fig = plt.figure(figsize=(5.0 + cell * (n_snap + 1.6), max(5.6, 0.9 + cell * n_rows)),
                         layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[cell * (n_snap + 1.6), 5.0])
    out: dict = {"fig": fig}
    if view == "attributions":
        scale = np.abs(result.maps).reshape(*result.maps.shape[:2], -1).max(axis=2)
        maps = result.maps / np.where(scale > 0, scale, 1.0)[:, :, None, None]
        labels = [f"class {name(c)}" for c in result.labels]
        out["grid"] = plot_snapshot_grid(left, maps, result.epochs, row_labels=labels,
                                         first=result.images, cmap=diverging_cmap(), vmin=-1,
                                         vmax=1, cbar_label="attribution / max |attribution|",
                                         flat=result.maps_flat)
        change, ylabel, stable = result.map_rho, "Spearman with previous\nsnapshot's map", \
            result.maps_stable_after
    elif view == "actmax":
        labels = [f"class {name(c)}" for c in result.actmax_classes]
        out["grid"] = plot_snapshot_grid(left, result.actmax, result.epochs, row_labels=labels,
                                         cmap="gray", vmin=0, vmax=1, cbar_label="pixel value",
                                         flat=result.actmax_flat)
        change, ylabel, stable = result.actmax_rho, "Spearman with previous\nsnapshot's image", \
            result.actmax_stable_after
    else:
        out["embedding"] = plot_embeddings(left, result.embedding, result.feature_labels,
                                           result.epochs, result.disparity, class_names)
        change, ylabel, stable = result.disparity, "Procrustes disparity\nwith previous snapshot", None
    ax_curve, ax_change = right.subplots(2, 1)
    out["curve"] = plot_learning_curve(ax_curve, history, result.epochs)
    out["change"] = plot_change(ax_change, result.epochs, change, ylabel=ylabel,
                                threshold=None if view == "embedding" else result.threshold,
                                stable_after=stable)
    return out
