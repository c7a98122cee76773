"""Training animations of a 2D classifier: one frame (the lab's ``graph_surface`` view at a
snapshot beside the loss and accuracy so far) and all frames encoded as a GIF.

The frames are a :class:`vizkit.analysis.decision_surface.SurfaceFrames` result (its snapshots'
surfaces, the points, predictions and curves); nothing here runs a model.
"""

from __future__ import annotations

import numpy as np

from .decision_surface import points_legend
from .graph import graph_data, plot_field
from .style import class_colors

__all__ = ["plot_surface_frame", "surface_animation"]


def plot_surface_frame(frames, index: int, *, axes=None, colorbar: bool = True,
                       font: float = 9.0) -> dict:
    """One frame of a training animation: the surface at a snapshot, and the curves so far.

    Parameters
    ----------
    frames : vizkit.analysis.decision_surface.SurfaceFrames
    index : int
        Which snapshot.
    axes : (Axes, Axes), optional
        Left: the lab's ``graph_surface`` view (P(class 1) on a fixed 0-1 grey scale, its 0.5
        contour) with the points (colour = true class, circle right, square wrong); right: loss
        and accuracy over the snapshots, the current one marked. Default: a new figure.
    colorbar : bool, default=True
        The grey scale's colourbar.
    font : float, default=9
        Size (pt) of every text.

    Returns
    -------
    dict
        ``'fig'``; ``'axes'`` (``[surface axes, curves axes]``); ``'surface'``
        (:func:`~vizkit.plot.graph.plot_field`'s dict); ``'points'``
        (:func:`~vizkit.plot.graph.graph_data`'s dict); ``'colorbar'`` (Colorbar or None);
        ``'marker'`` (the dashed line at the current epoch); ``'legend'`` (under both panels:
        class colours, circle right, square wrong).

    Raises
    ------
    ValueError
        ``index`` is not a snapshot of ``frames`` (negative indices count from the end).

    Examples
    --------
    Two hand-made snapshots of a model of the plane: at epoch 0 it calls every point class 0,
    at epoch 5 it has learned ``x0 > 0``.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import SurfaceFrames, decision_surface
    >>> X = np.array([[-1.0, 0.0], [-0.5, 1.0], [0.5, -1.0], [1.0, 0.5]])
    >>> y = np.array([0, 0, 1, 1])
    >>> before = decision_surface(lambda P: np.full(len(P), 0.2), X, grid_resolution=20)
    >>> after = decision_surface(lambda P: 1 / (1 + np.exp(-4 * P[:, 0])), X, grid_resolution=20)
    >>> frames = SurfaceFrames(epochs=np.array([0, 5]), surfaces=[before, after], points=X,
    ...                        labels=y, predictions=np.array([[0, 0, 0, 0], [0, 0, 1, 1]]),
    ...                        loss=np.array([0.9, 0.2]))
    >>> out = plot_surface_frame(frames, 1, font=12)
    >>> out["axes"][0].get_title(), [int(x) for x in out["marker"].get_xdata()]
    ('epoch 5: training accuracy 100%', [5, 5])
    >>> [t.get_text() for t in out["legend"].get_texts()]
    ['class 0', 'class 1', 'classified right', 'classified wrong']
    >>> plot_surface_frame(frames, 2)
    Traceback (most recent call last):
    ...
    ValueError: `index` must be in [0, 2). Got 2 instead.
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    if not -len(frames) <= index < len(frames):
        raise ValueError(f"`index` must be in [0, {len(frames)}). Got {index!r} instead.")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.1), width_ratios=[1.25, 1],
                                 layout="constrained")
    ax, cax = axes
    fig = ax.figure
    surf = frames.surfaces[index]
    art = plot_field(surf, offset=0.5, ax=ax, pcolormesh_kw={"vmin": 0.0, "vmax": 1.0})
    pts = graph_data(frames.points, frames.labels, frames.predictions[index], ax=ax, size=24)
    epoch, acc = int(frames.epochs[index]), frames.accuracy
    ax.set_title(f"epoch {epoch}: training accuracy {acc[index]:.0%}", fontsize=font)
    ax.set_xlabel("$x_0$", fontsize=font)
    ax.set_ylabel("$x_1$", fontsize=font)
    ax.tick_params(labelsize=font)
    cbar = None
    if colorbar:
        cbar = fig.colorbar(art["mesh"], ax=ax, fraction=0.05, pad=0.02)
        cbar.set_label("P(class 1)", fontsize=font)
        cbar.ax.tick_params(labelsize=font)
    ep = np.maximum(frames.epochs, 1)
    cax.plot(ep, frames.loss, color="tab:red", lw=1.2, label="loss")
    cax.plot(ep, acc, color="tab:blue", lw=1.2, label="accuracy")
    marker = cax.axvline(ep[index], color="0.3", lw=1.0, ls="--")
    cax.plot([ep[index]] * 2, [frames.loss[index], acc[index]], "o", color="0.2", ms=4)
    cax.set_xscale("log")
    cax.set_xlabel("epoch (log scale; 0 drawn at 1)", fontsize=font)
    cax.set_ylabel("loss, accuracy", fontsize=font)
    cax.set_ylim(0, max(1.05, float(np.nanmax(frames.loss)) * 1.05))
    cax.tick_params(labelsize=font)
    cax.legend(fontsize=font, loc="center right", frameon=False)
    cax.set_title("on the training points", fontsize=font)
    classes = np.unique(np.concatenate([np.asarray(frames.labels).ravel(),
                                        np.asarray(frames.predictions[index]).ravel()]))
    legend = points_legend(fig, [int(c) for c in classes], class_colors(max(len(classes), 2)),
                           [f"class {c}" for c in range(int(classes.max()) + 1)],
                           loc="outside lower center", bbox_to_anchor=None,
                           ncols=len(classes) + 2, fontsize=font)
    return {"fig": fig, "axes": [ax, cax], "surface": art, "points": pts, "colorbar": cbar,
            "marker": marker, "legend": legend}


def surface_animation(frames, *, fps: float = 6.0, dpi: float = 110, hold_last: int = 6,
                      figsize: tuple[float, float] = (8.6, 4.1), font: float = 9.0) -> bytes:
    """The frames of :func:`plot_surface_frame` as an animated GIF (deterministic bytes).

    Each frame is drawn with Agg at ``dpi`` (110: shown at 1:1 in the gallery, so text stays
    >= 9 pt), then all are quantized to ONE palette taken from the first, middle and last frames
    (no dithering) and written by Pillow, looping forever.

    Parameters
    ----------
    frames : vizkit.analysis.decision_surface.SurfaceFrames
        The snapshots, one frame each.
    fps : float, default=6
        Frames per second (each frame shows ``round(1000 / fps)`` ms).
    dpi : float, default=110
        Pixels per inch of every frame: the GIF is ``figsize * dpi`` pixels.
    hold_last : int, default=6
        The last frame is shown this many frame times (the end result stays on screen).
    figsize : (float, float), default=(8.6, 4.1)
        Size (inches) of every frame.
    font : float, default=9
        Size (pt) of every text of a frame.

    Returns
    -------
    bytes
        A GIF89a file with ``len(frames)`` frames, looping forever.

    Raises
    ------
    ValueError
        ``frames`` holds no snapshot, or ``fps`` is not positive.

    Examples
    --------
    Two snapshots (as in :func:`plot_surface_frame`) at 60 dpi: a 516 x 246 pixel GIF of two
    frames, the last held for 3 frame times.

    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from vizkit.analysis.decision_surface import SurfaceFrames, decision_surface
    >>> X = np.array([[-1.0, 0.0], [-0.5, 1.0], [0.5, -1.0], [1.0, 0.5]])
    >>> surfaces = [decision_surface(lambda P: np.full(len(P), 0.2), X, grid_resolution=10),
    ...             decision_surface(lambda P: 1 / (1 + np.exp(-4 * P[:, 0])), X,
    ...                              grid_resolution=10)]
    >>> frames = SurfaceFrames(epochs=np.array([0, 5]), surfaces=surfaces, points=X,
    ...                        labels=np.array([0, 0, 1, 1]),
    ...                        predictions=np.array([[0, 0, 0, 0], [0, 0, 1, 1]]),
    ...                        loss=np.array([0.9, 0.2]))
    >>> gif = surface_animation(frames, fps=5, dpi=60, hold_last=3)
    >>> gif[:6], Image.open(io.BytesIO(gif)).size, Image.open(io.BytesIO(gif)).n_frames
    (b'GIF89a', (516, 246), 2)
    >>> surface_animation(frames, fps=0)
    Traceback (most recent call last):
    ...
    ValueError: `fps` must be > 0. Got 0 instead.
    """
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    if len(frames) < 1:
        raise ValueError("`frames` holds no snapshot.")
    if not fps > 0:
        raise ValueError(f"`fps` must be > 0. Got {fps!r} instead.")
    images = []
    for i in range(len(frames)):
        fig, axes = plt.subplots(1, 2, figsize=figsize, width_ratios=[1.25, 1], dpi=dpi,
                                 layout="constrained")
        try:
            plot_surface_frame(frames, i, axes=axes, font=font)
            fig.canvas.draw()
            images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()))
        finally:
            plt.close(fig)
    keys = sorted({0, len(images) // 2, len(images) - 1})
    sample = Image.new("RGB", (images[0].width, images[0].height * len(keys)))
    for k, i in enumerate(keys):
        sample.paste(images[i], (0, images[0].height * k))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    step = int(round(1000 / fps))
    durations = [step] * (len(pal) - 1) + [step * max(1, int(hold_last))]
    buf = io.BytesIO()
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], duration=durations,
                loop=0, optimize=False, disposal=1)
    return buf.getvalue()
