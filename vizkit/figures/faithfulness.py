"""Figure family ``faithfulness``: which attribution method is faithful to this model, measured by
deletion and insertion curves (pixel flipping) against a random order.

For a fixed, seeded set of test images (the attributions family's example images first), every
attribution method whose map has the input's shape (:data:`METHODS`; Grad-CAM only with a conv
layer) explains the true class with the attributions family's settings. Deletion removes each
map's highest-ranked pixels first (sets them to the baseline, black) and follows the probability
of that class; insertion reveals them first on a black image. The mean area under each curve
(deletion AUC: lower is better; insertion AUC: higher is better) gets a percentile bootstrap
interval over the images; a method is called most faithful only when it beats the runner-up on
the same images (the bootstrap interval of the mean per-image difference excludes 0), otherwise
the caption says which methods tie.

The numbers come from :mod:`vizkit.analysis.faithfulness` and the maps from
:func:`vizkit.analysis.attributions`; :mod:`vizkit.plot.faithfulness` draws them.

Examples
--------
>>> from vizkit.figures import get_family
>>> get_family("faithfulness").NAME
'faithfulness'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..plot.faithfulness import MEASURE_WORDS, plot_auc_intervals, plot_faithfulness_curves
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "faithfulness_study", "FaithfulnessStudy", "METHODS",
           "PANELS", "select_images"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "faithfulness"

#: Methods drawn together (at most 4 lines and the random order per panel); the second panel's
#: Grad-CAM only for a model with a conv layer.
PANELS = {"gradient methods": ("saliency", "smoothgrad", "guided_backprop", "input_x_gradient"),
          "reference and layer methods": ("integrated_gradients", "deeplift", "occlusion",
                                          "grad_cam")}
#: Every method with an input-shaped map. Layer integrated gradients and layer conductance credit
#: a layer's units, not pixels, so they have no deletion curve.
METHODS = tuple(m for ms in PANELS.values() for m in ms)

_N_IMAGES = 200     # test images per model: the ranking's intervals are a few hundredths wide
_N_STEPS = 20       # 5 % of the pixels per step
_N_RANDOM = 2       # random orders per image for the baseline
_N_STEPS_IG = 64    # integration steps, as the attributions family
_FONT = 13
_BASELINE = 0.0     # a removed pixel becomes black (0), the methods' reference too


def applies(model, split) -> str | None:
    """``None`` for a torch model of [C, H, W] images, else the reason.

    Parameters
    ----------
    model : object
    split : vizkit.data.Split

    Returns
    -------
    str or None

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> applies(object(), SimpleNamespace(input_shape=(1, 28, 28), name="mnist"))[:37]
    'deletion curves need a differentiable'
    """
    from torch import nn

    if not isinstance(model, nn.Module):
        return (f"deletion curves need a differentiable torch model; {type(model).__name__} is "
                "not an nn.Module.")
    if len(split.input_shape) != 3:
        return (f"deletion curves remove pixels of [C, H, W] images; {split.name!r} has input "
                f"shape {tuple(split.input_shape)}.")
    return None


def select_images(y, n: int = _N_IMAGES, *, seed: int = 0) -> np.ndarray:
    """Test positions: the first image of each of the first 5 classes (the attributions family's
    examples), then others drawn without replacement (seeded) up to ``n``.

    Parameters
    ----------
    y : array-like of shape (n_test,)
        Test labels.
    n : int, default=200
        How many images (all of them when there are fewer).
    seed : int, default=0

    Returns
    -------
    ndarray of shape (min(n, n_test),)
        int64 positions, the examples first.

    Raises
    ------
    ValueError
        ``n`` below 1.

    Examples
    --------
    >>> select_images([0, 0, 1, 2, 1, 0], 4, seed=0)[:3].tolist()
    [0, 2, 3]
    """
    from .attributions import example_indices

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be an int >= 1. Got {n!r} instead.")
    labels = np.asarray(y).reshape(-1)
    first = example_indices(labels)[:n]
    rest = np.setdiff1d(np.arange(len(labels)), first)
    rng = np.random.default_rng(int(seed))
    more = rng.choice(rest, size=min(int(n) - len(first), len(rest)), replace=False)
    return np.concatenate([np.asarray(first, dtype=np.int64), np.sort(more).astype(np.int64)])


@dataclass
class FaithfulnessStudy:
    """What :func:`faithfulness_study` computed: curves, AUCs and rankings of every method.

    Attributes
    ----------
    indices : ndarray of shape (N,)
        Test positions of the images.
    targets : ndarray of shape (N,)
        The explained (true) classes.
    methods : tuple of str
    curves : dict of str to FaithfulnessCurves
        Per method; the first also holds the random-order curves.
    rankings : dict of str to AUCRanking
        ``'deletion'`` and ``'insertion'``.
    random : dict of str to tuple of float
        Per measure, ``(mean, low, high)`` of the random order's AUC.
    blank : ndarray of shape (N,)
        p(target) with every pixel at the baseline.
    settings : dict
    """

    indices: np.ndarray
    targets: np.ndarray
    methods: tuple
    curves: dict
    rankings: dict
    random: dict
    blank: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def fractions(self) -> np.ndarray:
        """Share of the pixels perturbed at each step."""
        return self.curves[self.methods[0]].fractions

    def beats_random(self, measure: str) -> dict:
        """Per method, whether its AUC interval clears the random order's.

        Parameters
        ----------
        measure : {'deletion', 'insertion'}

        Returns
        -------
        dict of str to bool
        """
        r = self.rankings[measure]
        _, lo, hi = self.random[measure]
        if measure == "deletion":
            return {m: bool(h < lo) for m, h in zip(r.methods, r.high)}
        return {m: bool(lo_m > hi) for m, lo_m in zip(r.methods, r.low)}


def faithfulness_study(model, split, *, n_images: int = _N_IMAGES, seed: int = 0,
                       methods=None, n_steps: int = _N_STEPS,
                       n_random: int = _N_RANDOM) -> FaithfulnessStudy:
    """Deletion and insertion curves of every input-shaped attribution method on test images.

    Parameters
    ----------
    model : nn.Module
        A trained classifier of [C, H, W] images.
    split : vizkit.data.Split
    n_images : int, default=200
        Test images (:func:`select_images`).
    seed : int, default=0
        Seeds the images, SmoothGrad's noise, the random orders and the bootstrap.
    methods : sequence of str, optional
        Default: :data:`METHODS` (Grad-CAM only with a conv layer).
    n_steps : int, default=20
        Steps from no pixel to every pixel.
    n_random : int, default=2
        Random orders per image for the baseline.

    Returns
    -------
    FaithfulnessStudy

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.
    ValueError
        A method whose maps are not of the input's shape (a layer method).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from types import SimpleNamespace
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    >>> split = SimpleNamespace(x_test=torch.rand(8, 1, 4, 4), y_test=torch.arange(8) % 3,
    ...                         input_shape=(1, 4, 4), name="toy")
    >>> st = faithfulness_study(net, split, n_images=6, methods=["saliency", "occlusion"])
    >>> st.rankings["deletion"].n_images, sorted(st.methods)
    (6, ['occlusion', 'saliency'])
    """
    import warnings

    from ..analysis.attributions import LAYER_METHODS, attribution_layer, attributions
    from ..analysis.faithfulness import auc_interval, faithfulness_curves, rank_aucs

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    layer = attribution_layer(model)
    if methods is None:
        methods = [m for m in METHODS if m != "grad_cam" or layer is not None]
    methods = list(methods)
    bad = [m for m in methods if m in LAYER_METHODS and m != "grad_cam"]
    if bad:
        raise ValueError(f"{', '.join(bad)} credit a layer's units, not pixels: no deletion "
                         f"curve. Choose among {', '.join(METHODS)}.")
    idx = select_images(split.y_test, n_images, seed=seed)
    x, y = split.x_test[idx], split.y_test[idx].long()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        maps = attributions(model, x, target=y, methods=methods, n_steps=_N_STEPS_IG, seed=seed,
                            **({"layer": layer} if "grad_cam" in methods else {}))
    curves = {}
    for k, m in enumerate(methods):
        if tuple(maps[m].maps.shape) != tuple(x.shape):
            raise ValueError(f"{m}'s maps have shape {tuple(maps[m].maps.shape)}, not the "
                             f"input's {tuple(x.shape)}: no deletion curve.")
        curves[m] = faithfulness_curves(model, x, maps[m].maps, target=y, n_steps=n_steps,
                                        baseline=_BASELINE, n_random=n_random if k == 0 else 0,
                                        seed=seed)
    first = curves[methods[0]]
    rankings = {meas: rank_aucs({m: getattr(curves[m], f"{meas}_auc") for m in methods},
                                measure=meas, seed=seed) for meas in ("deletion", "insertion")}
    random = {meas: auc_interval(getattr(first, f"random_{meas}_auc"), seed=seed)
              for meas in ("deletion", "insertion")}
    settings = dict(n_images=len(idx), n_steps=int(n_steps), n_random=int(n_random),
                    baseline=_BASELINE, seed=int(seed), ig_steps=_N_STEPS_IG, layer=layer,
                    n_pixels=int(np.prod(x.shape[2:])), model=type(model).__name__,
                    ink_share=float((x.sum(1) != _BASELINE).double().mean()),
                    attribution_settings={m: maps[m].settings for m in methods})
    return FaithfulnessStudy(indices=idx, targets=y.numpy(), methods=tuple(methods), curves=curves,
                             rankings=rankings, random=random, blank=first.deletion[:, -1],
                             settings=settings)


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Two figures: ``faithfulness-deletion`` and ``faithfulness-insertion``.

    Each: the mean curves of every method in small multiples (:data:`PANELS`) with the random
    order and the all-black level, and each method's mean AUC with its 95 % bootstrap interval.
    ``data``: ``fractions``, ``curve_<method>`` (mean), ``auc_<method>`` (per image),
    ``curve_random``, ``auc_random``, ``blank`` (per image), ``methods`` (best first),
    ``means``, ``low``, ``high``, ``best``, ``tied``, ``indices``, ``targets``.

    Parameters
    ----------
    model : nn.Module
    split : vizkit.data.Split
    meta : dict, optional
        Unused (the family's common signature).
    seed : int, default=0

    Returns
    -------
    list of Figure

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from torch import nn
    >>> from types import SimpleNamespace
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    >>> split = SimpleNamespace(x_test=torch.rand(6, 1, 4, 4), y_test=torch.arange(6) % 3,
    ...                         input_shape=(1, 4, 4), name="toy")
    >>> [f.id for f in figures(net, split)]
    ['faithfulness-deletion', 'faithfulness-insertion']
    """
    study = faithfulness_study(model, split, seed=seed)
    return [_figure(study, meas) for meas in ("deletion", "insertion")]


def _titles() -> dict:
    from ..plot.attributions import METHOD_TITLES

    return METHOD_TITLES


def _figure(study: FaithfulnessStudy, measure: str) -> Figure:
    import matplotlib.pyplot as plt

    names = _titles()
    rank = study.rankings[measure]
    first = study.curves[study.methods[0]]
    panels = {t: [m for m in ms if m in study.methods] for t, ms in PANELS.items()}
    panels = {t: ms for t, ms in panels.items() if ms}
    fig = plt.figure(figsize=(13.6, 7.65), layout="constrained")
    grid = fig.add_gridspec(1, len(panels) + 1, width_ratios=[1] * len(panels) + [1.15])
    blank = float(study.blank.mean())
    rand_curve = getattr(first, f"random_{measure}").mean(0)
    axes = []
    for k, (title, ms) in enumerate(panels.items()):
        ax = fig.add_subplot(grid[0, k], sharey=axes[0] if axes else None)
        plot_faithfulness_curves(
            study.fractions, {m: getattr(study.curves[m], measure).mean(0) for m in ms},
            labels=names, random=rand_curve, blank=blank, measure=measure, fontsize=_FONT,
            blank_label=f"all black (p = {blank:.2f})", ax=ax)
        ax.legend(fontsize=_FONT - 1, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                  frameon=False, handlelength=1.6, columnspacing=0.8)
        ax.set_title(_panel_title(title, ms), fontsize=_FONT + 1)
        if k:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
        axes.append(ax)
    ax = fig.add_subplot(grid[0, -1])
    plot_auc_intervals(rank, labels=names, random=study.random[measure], fontsize=_FONT, ax=ax)
    ax.set_title(f"mean AUC, {rank.confidence:.0%} interval", fontsize=_FONT + 1)
    fig.suptitle(f"{study.settings['model']}, {measure} (pixel flipping, {rank.n_images} test "
                 f"images): {_headline(rank, names)}", fontsize=_FONT + 2)
    data = {"fractions": study.fractions, "curve_random": rand_curve,
            "auc_random": getattr(first, f"random_{measure}_auc"), "blank": study.blank,
            "methods": np.asarray(rank.methods), "means": rank.means, "low": rank.low,
            "high": rank.high, "best": np.asarray(rank.best or ""),
            "tied": np.asarray(rank.tied), "indices": study.indices, "targets": study.targets}
    for m in study.methods:
        data[f"curve_{m}"] = getattr(study.curves[m], measure).mean(0)
        data[f"auc_{m}"] = getattr(study.curves[m], f"{measure}_auc")
    return Figure(id=f"faithfulness-{measure}", fig=fig, caption=_caption(study, measure),
                  data=data)


def _panel_title(title: str, methods) -> str:
    if title == "reference and layer methods" and "grad_cam" not in methods:
        return "reference methods"
    return title


def _headline(rank, names) -> str:
    if rank.best is not None:
        return f"{names.get(rank.best, rank.best)} is the most faithful"
    return f"{', '.join(names.get(m, m) for m in rank.tied)} tie"


def _caption(study: FaithfulnessStudy, measure: str) -> str:
    names = _titles()
    rank = study.rankings[measure]
    verb, better = MEASURE_WORDS[measure]
    s = study.settings
    mean_r, lo_r, hi_r = study.random[measure]
    k = {m: i for i, m in enumerate(rank.methods)}

    def auc(m: str) -> str:
        i = k[m]
        return f"{rank.means[i]:.3f} [{rank.low[i]:.3f}, {rank.high[i]:.3f}]"

    nm = lambda ms: ", ".join(names.get(m, m) for m in ms)  # noqa: E731
    if rank.best is not None:
        lead = (f"{measure.capitalize()}: {nm([rank.best])} is the most faithful map on this "
                "model.")
    else:
        lead = f"{measure.capitalize()}: {nm(rank.tied)} tie as the most faithful maps."
    lead += (f" Mean {measure} AUC ({better}) with its interval: "
             + "; ".join(f"{names.get(m, m)} {auc(m)}" for m in rank.methods) + ".")
    if rank.behind:
        lead += f" Clearly behind {nm([rank.methods[0]])}: {nm(rank.behind)}."
    beats = study.beats_random(measure)
    losers = [names.get(m, m) for m in rank.methods if not beats[m]]
    chance = (f"Every method beats a random order ({mean_r:.3f} [{lo_r:.3f}, {hi_r:.3f}])."
              if not losers else
              f"Not clear of a random order ({mean_r:.3f} [{lo_r:.3f}, {hi_r:.3f}]): "
              f"{', '.join(losers)}.")
    step = 100 / s["n_steps"]
    how = (f"Each curve: the probability of the true class, averaged over {s['n_images']} test "
           f"images (the attributions figures' examples and others drawn with seed {s['seed']}), "
           f"as each method's highest-ranked pixels are {verb} first, {step:g} % of the "
           f"{s['n_pixels']} pixels a step; a pixel's rank is its map value summed over channels "
           "(signed maps: positive evidence first). "
           + ("Deletion sets a pixel to " if measure == "deletion" else
              "Insertion starts from an image with every pixel at ")
           + f"{s['baseline']:g} (black){' and reveals the true ones' if measure == 'insertion' else ''}; "
           f"dotted: the model's output for the all-black image (p = {study.blank.mean():.2f} "
           f"on average), where every {measure} curve "
           f"{'ends' if measure == 'deletion' else 'starts'}. Dashed: a random order "
           f"({s['n_random']} seeded orders per image). Right: mean AUC with its "
           f"{rank.confidence:.0%} percentile bootstrap interval over the images "
           f"({rank.n_resamples} resamples); a method is called most faithful only when it "
           "beats the runner-up on the same images (paired: the interval of the mean per-image "
           "difference excludes 0). Maps as in the attributions figures (integrated "
           f"gradients {s['ig_steps']} steps against black)"
           + (f"; Grad-CAM on {s['layer']!r}" if s.get("layer") and "grad_cam" in study.methods
              else "")
           + "; layer integrated gradients and layer conductance credit a layer's units, not "
           "pixels, so they have no curve here.")
    ink = (f"On these images {s['ink_share']:.0%} of the pixels are not black; the others "
           "already equal the baseline, so removing or revealing them changes nothing (the "
           "flat stretches).")
    return " ".join([lead, chance, ink, how])
