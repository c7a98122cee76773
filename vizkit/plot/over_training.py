"""Drawing what a network looks at over its training (results of
:func:`vizkit.analysis.over_training.over_training`; nothing here runs a model).

Each figure is landscape: on the left a grid of snapshots (one column per epoch), on the right the
learning curve with the snapshot epochs marked and, under it, the measure of change between
consecutive snapshots (for the embedding, how well each snapshot sorts the classes). Text is at
least 13 pt at the figure's size; every colour scale has a colourbar.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .style import class_colors, diverging_cmap

__all__ = ["plot_snapshot_grid", "plot_learning_curve", "plot_change", "plot_separation",
           "plot_embeddings", "over_training_figure", "FONT", "OUTLIER_PERC"]

#: The smallest font size (pt) of these figures (>= 20 px once a figure fits a 1920x1080 slide).
FONT = 13


def plot_snapshot_grid(fig, rows: np.ndarray, epochs: Sequence[int], *, row_labels: Sequence[str],
                       first: np.ndarray | None = None, first_title: str = "input",
                       cmap: Any = "gray", vmin: float | None = None, vmax: float | None = None,
                       cbar_label: str = "", flat: np.ndarray | None = None,
                       flat_text: str = "flat") -> dict:
    """A grid of images on ``fig`` (a figure or sub-figure): one row per item, one column per
    snapshot (``rows[e, i]`` at row ``i``, column ``e``), an optional first column (``first``,
    e.g. the input images), and one colourbar for the snapshots' shared scale.

    Parameters
    ----------
    fig : Figure or SubFigure
        Where the grid goes (it fills it).
    rows : array_like of shape (E, n, H, W)
        The snapshots: ``E`` epochs of ``n`` items.
    epochs : sequence of int of length E
        The column titles' epochs.
    row_labels : sequence of str of length n
        One label per row (item).
    first : array_like of shape (n, H, W), optional
        A first column drawn in grey on [0, 1] (e.g. the input images).
    first_title : str, default='input'
        The first column's title.
    cmap : str or Colormap, default='gray'
        The snapshots' colour map.
    vmin, vmax : float, optional
        The snapshots' shared colour scale (default: each image's own).
    cbar_label : str, default=''
        The colourbar's label.
    flat : array_like of bool of shape (E, n), optional
        Snapshots with no pattern to compare: each is drawn with ``flat_text`` at its foot (the
        image stays visible above it).
    flat_text : str, default='flat'
        The word written on a flat snapshot.

    Returns
    -------
    dict
        ``axes`` (rows x columns array), ``images`` (the snapshot ``AxesImage`` objects),
        ``colorbar``, ``flat_marks`` (the texts written on flat snapshots).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rows = np.zeros((2, 3, 4, 4))  # 2 epochs of 3 items
    >>> flat = np.array([[True, False, False], [False, False, False]])
    >>> out = plot_snapshot_grid(plt.figure(), rows, [0, 1], row_labels=["a", "b", "c"],
    ...                          vmin=0, vmax=1, flat=flat, flat_text="too faint")
    >>> out["axes"].shape, [t.get_text() for t in out["flat_marks"]]
    ((3, 2), ['too faint'])
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
                    marks.append(ax.text(0.5, 0.02, flat_text, transform=ax.transAxes, ha="center",
                                         va="bottom", fontsize=FONT, color="black",
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


#: The share (%) of each attribution map's pixels, the largest absolute attributions, drawn
#: saturated: each map is scaled by its ``100 - OUTLIER_PERC`` percentile of the absolute
#: attribution, so that one hot
#: pixel cannot wash out the rest of the map.
OUTLIER_PERC = 2.0


def _map_scale(maps: np.ndarray, outlier_perc: float = OUTLIER_PERC) -> np.ndarray:
    """Per map (last two axes), the ``100 - outlier_perc`` percentile of its |values|; its largest
    |value| where that is 0 (a map with fewer nonzero pixels), and 1 for an all-zero map."""
    a = np.abs(np.asarray(maps, dtype=np.float64)).reshape(*np.shape(maps)[:-2], -1)
    scale = np.percentile(a, 100.0 - outlier_perc, axis=-1)
    scale = np.where(scale > 0, scale, a.max(axis=-1))
    return np.where(scale > 0, scale, 1.0)


def _epoch_axis(ax, epochs: Sequence[int], label: str) -> None:
    """A log-like epoch axis (linear below 1, so epoch 0 has a place) ticked at ``epochs``."""
    ax.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax.set_xticks([int(e) for e in epochs], [str(int(e)) for e in epochs])
    ax.minorticks_off()
    ax.set_xlabel(label, fontsize=FONT)


def plot_learning_curve(ax, history: dict, snapshot_epochs: Sequence[int]) -> dict:
    """Training and validation accuracy per epoch, the snapshot epochs as dotted vertical lines.

    Parameters
    ----------
    ax : Axes
        Where to draw.
    history : dict of str to ndarray
        ``epoch`` and any of ``train_acc``, ``val_acc`` (as
        :func:`vizkit.plot.curves.history_arrays` gives them); a missing curve is not drawn.
    snapshot_epochs : sequence of int
        The snapshot epochs (ticks and dotted lines).

    Returns
    -------
    dict
        ``lines`` (key -> ``Line2D``, for the curves drawn) and ``marks`` (the dotted lines).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> history = {"epoch": np.arange(1, 5), "val_acc": np.array([0.6, 0.8, 0.85, 0.9])}
    >>> out = plot_learning_curve(plt.figure().subplots(), history, [0, 1, 2, 4])
    >>> sorted(out["lines"]), len(out["marks"])
    (['val_acc'], 4)
    """
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
                threshold: float | None = None, stable_after: int | None = None,
                unmeasured: str = "not measured") -> dict:
    """A measure between consecutive snapshots, drawn at the later epoch of each pair: the mean
    over items (line) and their range (band), NaN (not measured) left out; the threshold dashed,
    and, when ``stable_after`` is a snapshot epoch, the first pair from which the mean stays at or
    above it (drawn at that pair's later epoch, so the marker sits on a point >= threshold).

    Parameters
    ----------
    ax : Axes
        Where to draw.
    epochs : sequence of int of length E
        The snapshot epochs.
    values : array_like of shape (E - 1,) or (E - 1, n)
        The measure of each item between snapshot ``i`` and ``i + 1`` (NaN: not measured).
    ylabel : str
        What the measure is.
    threshold : float, optional
        Drawn dashed.
    stable_after : int, optional
        A snapshot epoch (e.g. :func:`vizkit.analysis.over_training.stable_after`'s).
    unmeasured : str, default='not measured'
        The legend entry of the grey crosses drawn, at the bottom, at pairs with nothing measured.

    Returns
    -------
    dict
        ``line``, ``band``, ``mean`` (per pair; NaN where nothing was measured), ``stable_x``
        (the marked epoch, or None), ``unmeasured_x`` (the epochs of pairs with nothing measured).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rho = np.array([[np.nan, np.nan], [0.80, 0.84], [0.90, 0.92], [0.93, 0.91]])
    >>> out = plot_change(plt.figure().subplots(), [0, 1, 2, 4, 8], rho, ylabel="Spearman",
    ...                   threshold=0.9, stable_after=2)
    >>> out["mean"].round(2).tolist()[1:], out["stable_x"], out["unmeasured_x"]
    ([0.82, 0.91, 0.92], 4, [1])
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
    none = [int(e) for e, m in zip(x, mean) if not np.isfinite(m)]
    if none:
        # on the epoch axis itself, not in the data area: not a value of the measure
        ax.plot(none, [0.0] * len(none), linestyle="none", marker="X", markersize=11,
                color="0.45", transform=ax.get_xaxis_transform(), clip_on=False, zorder=5,
                label=unmeasured)
    _epoch_axis(ax, epochs, "epoch (each point: vs the snapshot before)")
    if threshold is not None and np.isfinite(lo).any():  # a correlation: its whole scale to 1
        ax.set_ylim(min(0.0, float(np.nanmin(lo))) - 0.05, 1.05)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    if many or threshold is not None or none:
        ax.legend(fontsize=FONT, frameon=False)
    return {"line": line, "band": band, "mean": mean, "stable_x": stable_x, "unmeasured_x": none}


def plot_separation(ax, epochs: Sequence[int], silhouette: np.ndarray,
                    knn_accuracy: np.ndarray | None = None, *, n_neighbors: int = 5) -> dict:
    """How well each snapshot's features sort the classes: the silhouette score and, beside it,
    the k-nearest-neighbour accuracy (the second route), over the snapshot epochs.

    Parameters
    ----------
    ax : Axes
        Where to draw.
    epochs : sequence of int of length E
        The snapshot epochs.
    silhouette : array_like of shape (E,)
        See :func:`vizkit.analysis.over_training.class_separation`.
    knn_accuracy : array_like of shape (E,), optional
        Drawn dashed when given.
    n_neighbors : int, default=5
        The classifier's neighbours (its legend entry).

    Returns
    -------
    dict
        ``silhouette`` and ``knn`` (the ``Line2D`` objects; ``knn`` None when not drawn).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> out = plot_separation(plt.figure().subplots(), [0, 1, 2], [0.05, 0.2, 0.4],
    ...                       [0.7, 0.9, 0.97])
    >>> out["silhouette"].get_ydata().tolist(), out["knn"].get_label()
    ([0.05, 0.2, 0.4], '5-NN accuracy')
    """
    x = [int(e) for e in epochs]
    sil = np.asarray(silhouette, dtype=np.float64)
    line, = ax.plot(x, sil, marker="o", color="black", label="silhouette")
    knn = None
    if knn_accuracy is not None:
        knn, = ax.plot(x, np.asarray(knn_accuracy, dtype=np.float64), marker="s",
                       color="tab:purple", linestyle="--", label=f"{n_neighbors}-NN accuracy")
    _epoch_axis(ax, epochs, "epoch")
    low = np.nanmin(sil, initial=0.0) if np.isfinite(sil).any() else 0.0
    ax.set_ylim(min(0.0, float(low)) - 0.05, 1.05)
    ax.set_ylabel("class separation\n(all features)", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT, frameon=False, loc="center right")
    return {"silhouette": line, "knn": knn}


def plot_embeddings(fig, embedding: np.ndarray, labels: np.ndarray, epochs: Sequence[int],
                    disparity: np.ndarray, class_names: Sequence[str]) -> dict:
    """One scatter panel per snapshot of an aligned 2D embedding, coloured by class, each titled
    with its epoch and its Procrustes disparity with the previous panel; the class key in the
    cell after the last panel.

    Panels fill two rows when there are more than three snapshots, so that they stay large on a
    landscape slide.

    Parameters
    ----------
    fig : Figure or SubFigure
        Where the panels go (they fill it).
    embedding : array_like of shape (E, m, 2)
        The 2D points of each snapshot (one shared, square scale).
    labels : array_like of int of shape (m,)
        The points' classes (their colours).
    epochs : sequence of int of length E
        The panels' epochs.
    disparity : array_like of shape (E - 1,)
        Each snapshot's disparity with the previous one (in the titles).
    class_names : sequence of str
        The key's names of the classes.

    Returns
    -------
    dict
        ``axes`` (the E scatter axes), ``scatters``, ``legend``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rng = np.random.default_rng(0)
    >>> emb = rng.normal(size=(5, 40, 2))
    >>> out = plot_embeddings(plt.figure(), emb, np.arange(40) % 3, [0, 1, 2, 4, 8],
    ...                       np.array([0.5, 0.2, 0.1, 0.05]), ["a", "b", "c"])
    >>> len(out["axes"]), out["axes"][1].get_title().splitlines()
    (5, ['epoch 1', 'disparity 0.500'])
    >>> [t.get_text() for t in out["legend"].get_texts()]
    ['a', 'b', 'c']
    """
    labels = np.asarray(labels)
    n = len(epochs)
    n_rows = 2 if n > 3 else 1
    n_cols = -(-(n + 1) // n_rows)  # the snapshots and the class key
    cells = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    axes, spare = cells[:n], cells[n:]
    colours = class_colors(max(len(class_names), int(labels.max(initial=0)) + 1))
    lim = float(np.abs(embedding).max(initial=0.0)) * 1.05 or 1.0
    scatters = []
    for e, ax in enumerate(axes):
        scatters.append(ax.scatter(embedding[e, :, 0], embedding[e, :, 1], s=14,
                                   c=[colours[int(c)] for c in labels], linewidths=0))
        title = f"epoch {int(epochs[e])}"
        if e:
            title += f"\ndisparity {disparity[e - 1]:.3f}"
        ax.set_title(title, fontsize=FONT)
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_aspect("equal")
    for ax in spare:
        ax.set_axis_off()
    from matplotlib.lines import Line2D

    present = sorted(set(labels.tolist()))
    handles = [Line2D([], [], marker="o", linestyle="none", color=colours[c], markersize=9,
                      label=class_names[c] if c < len(class_names) else str(c)) for c in present]
    if len(spare):
        legend = spare[0].legend(handles=handles, loc="center", ncols=2 if len(handles) > 5 else 1,
                                 fontsize=FONT, frameon=False, title="class",
                                 title_fontsize=FONT, handletextpad=0.2, columnspacing=0.8)
    else:
        legend = fig.legend(handles=handles, loc="outside lower center",
                            ncols=min(len(handles), 5), fontsize=FONT, frameon=False)
    return {"axes": axes, "scatters": scatters, "legend": legend}


def over_training_figure(result: Any, history: dict, *, view: str,
                         class_names: Sequence[str]) -> dict:
    """One landscape figure of an over-training result: the snapshots on the left, the learning
    curve on the right and, under it, the change between consecutive snapshots (for the
    embedding: how well each snapshot's features sort the classes).

    Parameters
    ----------
    result : OverTraining
        :func:`vizkit.analysis.over_training.over_training`'s result.
    history : dict of str to ndarray
        The learning curve's arrays (see :func:`plot_learning_curve`).
    view : {'attributions', 'actmax', 'embedding'}
        Which snapshots: the probes' attribution maps, the classes' activation-maximization
        images, or the penultimate embedding.
    class_names : sequence of str
        The classes' names (row labels, the embedding's key).

    Returns
    -------
    dict
        ``fig`` and what each part returned (``grid`` or ``embedding``, ``curve``, and
        ``change`` or, for the embedding, ``separation``).

    Raises
    ------
    ValueError
        ``view`` is not one of the three.

    Examples
    --------
    >>> from vizkit.analysis.over_training import over_training
    >>> rng = np.random.default_rng(0)
    >>> snaps = {"epochs": np.array([0, 1, 2]), "images": rng.random((2, 6, 6)),
    ...          "labels": np.array([0, 1]), "predictions": np.zeros((3, 2), dtype=int),
    ...          "maps": rng.normal(size=(3, 2, 6, 6)), "method": np.asarray("saliency"),
    ...          "actmax": rng.random((3, 2, 6, 6)), "actmax_classes": np.array([0, 1]),
    ...          "features": rng.normal(size=(3, 20, 4)), "feature_labels": np.arange(20) % 2}
    >>> history = {"epoch": np.arange(1, 3), "val_acc": np.array([0.7, 0.9])}
    >>> out = over_training_figure(over_training(snaps), history, view="actmax",
    ...                            class_names=["zero", "one"])
    >>> out["grid"]["axes"].shape, out["change"]["mean"].shape
    ((2, 3), (2,))
    """
    import matplotlib.pyplot as plt

    if view not in ("attributions", "actmax", "embedding"):
        raise ValueError(f"`view` must be one of 'attributions', 'actmax', 'embedding'. Got "
                         f"{view!r} instead.")
    name = lambda c: class_names[int(c)] if int(c) < len(class_names) else str(c)  # noqa: E731
    n_snap = len(result.epochs)
    if view == "embedding":  # near 16:9, the panels in two rows (plot_embeddings)
        fig = plt.figure(figsize=(12.6, 7.1), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[8.1, 4.5])
    else:
        n_rows = len(result.labels) if view == "attributions" else len(result.actmax_classes)
        cell = 1.05
        fig = plt.figure(figsize=(5.0 + cell * (n_snap + 1.6), max(5.6, 0.9 + cell * n_rows)),
                         layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[cell * (n_snap + 1.6), 5.0])
    out: dict = {"fig": fig}
    if view == "attributions":
        maps = np.clip(result.maps / _map_scale(result.maps)[:, :, None, None], -1, 1)
        labels = [f"class {name(c)}" for c in result.labels]
        out["grid"] = plot_snapshot_grid(left, maps, result.epochs, row_labels=labels,
                                         first=result.images, cmap=diverging_cmap(), vmin=-1,
                                         vmax=1, cbar_label="attribution, scaled per map\n"
                                         f"(top {OUTLIER_PERC:g}% of |attribution| saturated)",
                                         flat=result.maps_flat)
        change, ylabel, stable = result.map_rho, "Spearman with previous\nsnapshot's map", \
            result.maps_stable_after
    elif view == "actmax":
        labels = [f"class {name(c)}" for c in result.actmax_classes]
        out["grid"] = plot_snapshot_grid(left, result.actmax, result.epochs, row_labels=labels,
                                         cmap="gray", vmin=0, vmax=1, cbar_label="pixel value",
                                         flat=result.actmax_flat, flat_text="too faint")
        change, ylabel, stable = result.actmax_rho, "Spearman with previous\nsnapshot's image", \
            result.actmax_stable_after
    else:
        out["embedding"] = plot_embeddings(left, result.embedding, result.feature_labels,
                                           result.epochs, result.disparity, class_names)
    ax_curve, ax_change = right.subplots(2, 1)
    out["curve"] = plot_learning_curve(ax_curve, history, result.epochs)
    if view == "embedding":  # the disparities are in the panels' titles
        n = len(result.epochs)
        sil = result.silhouette if result.silhouette is not None else np.full(n, np.nan)
        out["separation"] = plot_separation(ax_change, result.epochs, sil, result.knn_accuracy)
        return out
    out["change"] = plot_change(ax_change, result.epochs, change, ylabel=ylabel,
                                threshold=result.threshold, stable_after=stable,
                                unmeasured="not measured:\ntoo faint" if view == "actmax"
                                else "not measured: flat")
    return out
