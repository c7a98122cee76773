"""Faithfulness of attribution maps drawn: deletion / insertion curves and their AUC intervals.

The numbers come from :mod:`vizkit.analysis.faithfulness` (curves, AUCs, bootstrap intervals);
this module only draws them. Every method keeps one colour in every panel and figure
(:func:`method_color`); the ink control (brightest pixels first) is a dash-dot black line, the
random-order baseline a dashed black line, the model's output with every pixel at the baseline a
dotted grey line.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> xs = np.linspace(0, 1, 5)
>>> lines = plot_faithfulness_curves(xs, {"saliency": [0.9, 0.5, 0.3, 0.2, 0.1]},
...                                  random=[0.9, 0.8, 0.6, 0.3, 0.1], blank=0.1)
>>> sorted(lines)
['blank', 'random order', 'saliency']
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ._axes import new_ax

__all__ = ["plot_faithfulness_curves", "plot_auc_intervals", "method_color", "MEASURE_WORDS",
           "INK_LABEL"]

#: How each measure is read, for axis labels and captions.
MEASURE_WORDS = {"deletion": ("deleted", "lower is better"),
                 "insertion": ("revealed", "higher is better")}

#: tab10 colour of each method (7, grey, is left to the random order and the all-black level).
_COLOR_INDEX = {"saliency": 0, "smoothgrad": 1, "input_x_gradient": 2, "guided_backprop": 3,
                "integrated_gradients": 4, "deeplift": 5, "occlusion": 6, "grad_cam": 8,
                "layer_integrated_gradients": 9, "layer_conductance": 9}
_RANDOM = "0.15"
_INK = "0.0"
_BLANK = "0.45"
#: Legend text of the ink control.
INK_LABEL = "brightest pixels first (ink control)"


def method_color(method: str) -> tuple:
    """The colour of an attribution method, the same in every faithfulness figure.

    Parameters
    ----------
    method : str
        A method name (``'saliency'``, ``'occlusion'``, ...); an unknown name gets a colour from
        its characters (stable across runs).

    Returns
    -------
    tuple of float
        RGB in [0, 1].

    Examples
    --------
    >>> method_color("saliency") == method_color("saliency")
    True
    """
    from matplotlib import colormaps

    k = _COLOR_INDEX.get(method)
    if k is None:
        k = [0, 1, 2, 3, 4, 5, 6, 8, 9][sum(map(ord, str(method))) % 9]
    return tuple(float(c) for c in colormaps["tab10"](k)[:3])


def _check_measure(measure: str) -> tuple[str, str]:
    if measure not in MEASURE_WORDS:
        raise ValueError(f"`measure` must be one of {', '.join(map(repr, MEASURE_WORDS))}. "
                         f"Got {measure!r} instead.")
    return MEASURE_WORDS[measure]


def plot_faithfulness_curves(fractions, curves: Mapping[str, object], *,
                             labels: Mapping[str, str] | None = None, random=None, ink=None,
                             blank: float | None = None, blank_label: str | None = None,
                             measure: str = "deletion", baseline_name: str | None = None,
                             ylabel: str | None = None, fontsize: float = 12, ax=None) -> dict:
    """Mean deletion (or insertion) curves of several methods on one Axes.

    Parameters
    ----------
    fractions : array-like of shape (S,)
        Share of the pixels deleted (or revealed) at each step.
    curves : mapping of str to array-like of shape (S,)
        Method name -> the mean probability of the explained class along its order.
    labels : mapping of str to str, optional
        Method name -> legend text (default: the name).
    random : array-like of shape (S,), optional
        The random-order baseline (dashed black).
    ink : array-like of shape (S,), optional
        The ink control, brightest pixels first (dash-dot black,
        :func:`vizkit.analysis.faithfulness.ink_curves`).
    blank : float, optional
        The output with every pixel at the baseline (a dotted grey line in the legend): where
        deletion ends and insertion starts.
    blank_label : str, optional
        Its legend text (default: ``'all pixels at baseline: p = ...'``).
    measure : {'deletion', 'insertion'}, default='deletion'
    baseline_name : str, optional
        What a removed pixel becomes (e.g. ``'black'``), said on the x axis: "share of pixels
        set to black", "share of pixels revealed on a black image".
    ylabel : str, optional
        Default: ``'p(explained class), mean'``.
    fontsize : float, default=12
    ax : matplotlib Axes, optional
        Default: a new figure.

    Returns
    -------
    dict of str to Line2D
        One line per method, plus ``'ink control'``, ``'random order'`` and ``'blank'`` when
        drawn.

    Raises
    ------
    ValueError
        An unknown ``measure``, or a curve whose length differs from ``fractions``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> lines = plot_faithfulness_curves([0, 0.5, 1], {"occlusion": [0.9, 0.2, 0.1]}, blank=0.1)
    >>> lines["blank"].get_label()
    'all pixels at baseline: p = 0.10'
    """
    verb, _ = _check_measure(measure)
    ax = new_ax(ax)
    xs = np.asarray(fractions, dtype=float)
    labels = dict(labels or {})
    lines = {}
    for m, c in curves.items():
        y = np.asarray(c, dtype=float)
        if y.shape != xs.shape:
            raise ValueError(f"curve {m!r} has {y.shape} points for {xs.shape} fractions.")
        lines[m], = ax.plot(xs, y, color=method_color(m), lw=2.2, label=labels.get(m, m))
    if ink is not None:
        y = np.asarray(ink, dtype=float)
        if y.shape != xs.shape:
            raise ValueError(f"the ink curve has {y.shape} points for {xs.shape} fractions.")
        lines["ink control"], = ax.plot(xs, y, color=_INK, ls="-.", lw=2.2, label=INK_LABEL)
    if random is not None:
        lines["random order"], = ax.plot(xs, np.asarray(random, dtype=float), color=_RANDOM,
                                         ls="--", lw=2, label="random order")
    if blank is not None and np.isfinite(blank):
        lines["blank"] = ax.axhline(float(blank), color=_BLANK, ls=":", lw=2.2,
                                    label=blank_label or f"all pixels at baseline: p = {blank:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    where = "" if not baseline_name else (f" (set to {baseline_name})" if measure == "deletion"
                                          else f" on a {baseline_name} image")
    ax.set_xlabel(f"share of pixels {verb}{where}", fontsize=fontsize)
    ax.set_ylabel(ylabel or "p(explained class), mean", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.grid(alpha=0.3)
    return lines


def plot_auc_intervals(ranking, *, labels: Mapping[str, str] | None = None, random=None,
                       controls: Mapping[str, tuple] | None = None, fontsize: float = 12,
                       ax=None) -> dict:
    """Each method's mean AUC with its interval, best at the top; the winner (if any) in bold.

    Controls (orders that know nothing of the model) sit below a line, in black.

    Parameters
    ----------
    ranking : object
        With ``measure``, ``methods`` (best first), ``means``, ``low``, ``high``, ``best`` and
        ``tied`` (a :class:`vizkit.analysis.faithfulness.AUCRanking`).
    labels : mapping of str to str, optional
        Method name -> tick label.
    random : tuple of float, optional
        ``(mean, low, high)`` of the random-order AUC: a dashed line and a grey band.
    controls : mapping of str to tuple of float, optional
        Label -> ``(mean, low, high)`` of a control's AUC (the ink control, the random order):
        one black row each below the methods, the first also a dash-dot line across them.
    fontsize : float, default=12
    ax : matplotlib Axes, optional

    Returns
    -------
    dict of str to artist
        The error bar of each method and control (its ``[0]`` is the marker line), plus
        ``'random order'`` when ``random`` is given.

    Raises
    ------
    ValueError
        An unknown measure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(measure="deletion", methods=("a", "b"), means=[0.1, 0.3],
    ...                     low=[0.08, 0.25], high=[0.12, 0.35], best="a", tied=("a",))
    >>> sorted(plot_auc_intervals(r, random=(0.5, 0.45, 0.55)))
    ['a', 'b', 'random order']
    >>> sorted(plot_auc_intervals(r, controls={"ink": (0.2, 0.15, 0.25)}))
    ['a', 'b', 'ink']
    """
    _, better = _check_measure(ranking.measure)
    ax = new_ax(ax)
    labels = dict(labels or {})
    controls = dict(controls or {})
    n_c = len(controls)
    n = len(ranking.methods)
    gap = 0.6 if n_c else 0.0
    ys = np.arange(n)[::-1] + n_c + gap
    out = {}
    for k, (name, (mean, lo, hi)) in enumerate(controls.items()):
        y = n_c - 1 - k
        err = None if not np.isfinite(lo) else [[mean - lo], [hi - mean]]
        out[name] = ax.errorbar([mean], [y], xerr=err, fmt="D" if k == 0 else "s", ms=8,
                                capsize=5, lw=2, color=_INK if k == 0 else _RANDOM)
        if k == 0:
            ax.axvline(mean, color=_INK, ls="-.", lw=1.4, alpha=0.7)
    if n_c:
        ax.axhline(n_c - 0.5 + gap / 2, color="0.5", lw=1)
    for y, m, mean, lo, hi in zip(ys, ranking.methods, ranking.means, ranking.low, ranking.high):
        err = None if not np.isfinite(lo) else [[mean - lo], [hi - mean]]
        out[m] = ax.errorbar([mean], [y], xerr=err, fmt="o", ms=9, capsize=5, lw=2,
                             color=method_color(m))
    ax.set_yticks(list(ys) + list(range(n_c))[::-1],
                  [labels.get(m, m) for m in ranking.methods] + list(controls), fontsize=fontsize)
    for tick, m in zip(ax.get_yticklabels(), list(ranking.methods) + [None] * n_c):
        if m is not None and m == ranking.best:
            tick.set_fontweight("bold")
        if m is None:
            tick.set_fontstyle("italic")
    if random is not None:
        mean, lo, hi = (float(v) for v in random)
        out["random order"] = ax.axvline(mean, color=_RANDOM, ls="--", lw=2)
        if np.isfinite(lo):
            ax.axvspan(lo, hi, color=_RANDOM, alpha=0.12, lw=0)
        ax.annotate("random order", (mean, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(4, -4), textcoords="offset points", ha="left", va="top",
                    fontsize=fontsize, color="0.25")
    ax.set_ylim(-0.6, n + n_c + gap - 0.4)
    ax.set_xlabel(f"{ranking.measure} AUC ({better})", fontsize=fontsize)
    ax.tick_params(axis="x", labelsize=fontsize)
    ax.grid(axis="x", alpha=0.3)
    return out
