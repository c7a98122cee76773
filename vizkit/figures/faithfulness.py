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

Two controls know nothing of the model: a random order, and the ink control (brightest pixels
first, :func:`vizkit.analysis.faithfulness.ink_curves`). On a black background deleting the ink
destroys a digit whatever its order, so a map that is zero off the ink (input x gradient,
integrated gradients, DeepLIFT) beats chance for free; the winner is called faithful to the
model only when it also beats the ink control on the same images, and the caption names every
method that does no better than it.

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

from ..plot.faithfulness import (MEASURE_WORDS, plot_auc_intervals,
                                 plot_faithfulness_curves)
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
    ink : FaithfulnessCurves or None
        The ink control's curves (brightest pixels first).
    controls : dict of str to dict
        Per measure, ``'ink'`` and ``'random'`` -> ``(mean, low, high)`` of the control's AUC.
    versus : dict of str to dict
        Per measure, ``'ink'`` and ``'random'`` -> per method the paired advantage over that
        control, ``(mean, low, high)`` (positive: better; :func:`paired_advantage`).
    settings : dict
    """

    indices: np.ndarray
    targets: np.ndarray
    methods: tuple
    curves: dict
    rankings: dict
    random: dict
    blank: np.ndarray
    ink: object = None
    controls: dict = field(default_factory=dict)
    versus: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def fractions(self) -> np.ndarray:
        """Share of the pixels perturbed at each step."""
        return self.curves[self.methods[0]].fractions

    def against(self, measure: str, control: str = "ink") -> dict:
        """Per method, how it fares against a control on the same images.

        Parameters
        ----------
        measure : {'deletion', 'insertion'}
        control : {'ink', 'random'}, default='ink'

        Returns
        -------
        dict of str to str
            ``'better'`` (the paired interval of its advantage is above 0), ``'worse'`` (below
            0) or ``'tie'``, best method first.
        """
        adv = self.versus[measure][control]
        return {m: ("better" if adv[m][1] > 0 else "worse" if adv[m][2] < 0 else "tie")
                for m in self.rankings[measure].methods}

    def beats_random(self, measure: str) -> dict:
        """Per method, whether it beats the random order on the same images (paired).

        Parameters
        ----------
        measure : {'deletion', 'insertion'}

        Returns
        -------
        dict of str to bool
        """
        return {m: v == "better" for m, v in self.against(measure, "random").items()}

    def faithful_to_model(self, measure: str) -> str | None:
        """The most faithful method when it beats the runner-up and the ink control, else None.

        Parameters
        ----------
        measure : {'deletion', 'insertion'}

        Returns
        -------
        str or None
        """
        best = self.rankings[measure].best
        return best if best is not None and self.against(measure)[best] == "better" else None


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
    from ..analysis.faithfulness import (auc_interval, faithfulness_curves, ink_curves,
                                         paired_advantage, rank_aucs)

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
    ink = ink_curves(model, x, target=y, n_steps=n_steps, baseline=_BASELINE, seed=seed)
    rankings = {meas: rank_aucs({m: getattr(curves[m], f"{meas}_auc") for m in methods},
                                measure=meas, seed=seed) for meas in ("deletion", "insertion")}
    random = {meas: auc_interval(getattr(first, f"random_{meas}_auc"), seed=seed)
              for meas in ("deletion", "insertion")}
    controls, versus = {}, {}
    for meas in ("deletion", "insertion"):
        ctrl = {"ink": getattr(ink, f"{meas}_auc"), "random": getattr(first, f"random_{meas}_auc")}
        controls[meas] = {c: auc_interval(v, seed=seed) for c, v in ctrl.items()}
        versus[meas] = {c: {m: paired_advantage(getattr(curves[m], f"{meas}_auc"), v,
                                                measure=meas, seed=seed) for m in methods}
                        for c, v in ctrl.items()}
    settings = dict(n_images=len(idx), n_steps=int(n_steps), n_random=int(n_random),
                    baseline=_BASELINE, seed=int(seed), ig_steps=_N_STEPS_IG, layer=layer,
                    n_pixels=int(np.prod(x.shape[2:])), model=type(model).__name__,
                    ink_share=float((x.sum(1) != _BASELINE).double().mean()),
                    attribution_settings={m: maps[m].settings for m in methods})
    return FaithfulnessStudy(indices=idx, targets=y.numpy(), methods=tuple(methods), curves=curves,
                             rankings=rankings, random=random, blank=first.deletion[:, -1],
                             ink=ink, controls=controls, versus=versus, settings=settings)


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Two figures: ``faithfulness-deletion`` and ``faithfulness-insertion``.

    Each: the mean curves of every method in small multiples (:data:`PANELS`) with the ink
    control, the random order and the all-black level, and each method's and control's mean AUC
    with its 95 % bootstrap interval.
    ``data``: ``fractions``, ``curve_<method>`` (mean), ``auc_<method>`` (per image),
    ``curve_random``, ``auc_random``, ``curve_ink``, ``auc_ink`` (the ink control), ``blank``
    (per image), ``methods`` (best first), ``means``, ``low``, ``high``, ``best``, ``tied``,
    ``faithful`` (the winner when it also beats the ink control, else ``''``), ``controls``
    (``['ink', 'random']``) with ``control_means``, ``control_low``, ``control_high``, per
    method (as ``methods``) ``against_ink`` (``'better'``, ``'tie'``, ``'worse'``) and the paired
    advantage ``vs_ink_mean``, ``vs_ink_low``, ``vs_ink_high``, ``vs_random_*``, then
    ``indices``, ``targets``.

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
    ink_curve = getattr(study.ink, measure).mean(0)
    axes, lines = [], {}
    for k, (title, ms) in enumerate(panels.items()):
        ax = fig.add_subplot(grid[0, k], sharey=axes[0] if axes else None)
        lines = plot_faithfulness_curves(
            study.fractions, {m: getattr(study.curves[m], measure).mean(0) for m in ms},
            labels=names, random=rand_curve, ink=ink_curve, blank=blank, measure=measure,
            baseline_name="black", fontsize=_FONT, ax=ax,
            blank_label=f"all pixels black (p = {blank:.2f})")
        ax.legend([lines[m] for m in ms], [names.get(m, m) for m in ms], fontsize=_FONT,
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False,
                  handlelength=1.6, columnspacing=0.8)
        ax.set_title(_panel_title(title, ms), fontsize=_FONT + 1)
        if k:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
        axes.append(ax)
    controls = [lines[c] for c in ("ink control", "random order", "blank")]
    fig.legend(controls, [c.get_label() for c in controls], loc="outside lower center", ncol=3,
               fontsize=_FONT, frameon=False, handlelength=2.2)
    ax = fig.add_subplot(grid[0, -1])
    ctrl = study.controls[measure]
    plot_auc_intervals(rank, labels=names, fontsize=_FONT, ax=ax,
                       controls={"ink control": ctrl["ink"], "random order": ctrl["random"]})
    ax.set_title(f"mean AUC, {rank.confidence:.0%} interval", fontsize=_FONT + 1)
    fig.suptitle(f"{study.settings['model']}, {measure} (pixel flipping, {rank.n_images} test "
                 f"images):\n{_headline(study, measure, names)}", fontsize=_FONT + 2)
    vs_ink, vs_rand = study.versus[measure]["ink"], study.versus[measure]["random"]
    against = study.against(measure)
    data = {"fractions": study.fractions, "curve_random": rand_curve,
            "auc_random": getattr(first, f"random_{measure}_auc"), "curve_ink": ink_curve,
            "auc_ink": getattr(study.ink, f"{measure}_auc"), "blank": study.blank,
            "methods": np.asarray(rank.methods), "means": rank.means, "low": rank.low,
            "high": rank.high, "best": np.asarray(rank.best or ""),
            "tied": np.asarray(rank.tied),
            "unsettled": np.asarray(rank.unsettled, dtype=str),
            "faithful": np.asarray(study.faithful_to_model(measure) or ""),
            "controls": np.asarray(["ink", "random"]),
            "control_means": np.array([ctrl[c][0] for c in ("ink", "random")]),
            "control_low": np.array([ctrl[c][1] for c in ("ink", "random")]),
            "control_high": np.array([ctrl[c][2] for c in ("ink", "random")]),
            "against_ink": np.asarray([against[m] for m in rank.methods]),
            "indices": study.indices, "targets": study.targets}
    for key, adv in (("vs_ink", vs_ink), ("vs_random", vs_rand)):
        for j, part in enumerate(("mean", "low", "high")):
            data[f"{key}_{part}"] = np.array([adv[m][j] for m in rank.methods])
    for m in study.methods:
        data[f"curve_{m}"] = getattr(study.curves[m], measure).mean(0)
        data[f"auc_{m}"] = getattr(study.curves[m], f"{measure}_auc")
    return Figure(id=f"faithfulness-{measure}", fig=fig, caption=_caption(study, measure),
                  data=data)


def _panel_title(title: str, methods) -> str:
    if title == "reference and layer methods" and "grad_cam" not in methods:
        return "reference methods"
    return title


def _ink_words(measure: str) -> str:
    return f"{'deleting' if measure == 'deletion' else 'revealing'} the brightest pixels first"


def _headline(study: FaithfulnessStudy, measure: str, names) -> str:
    rank = study.rankings[measure]
    vs = study.against(measure)
    ink = _ink_words(measure)
    nm = lambda ms: ", ".join(names.get(m, m) for m in ms)  # noqa: E731
    if rank.best is not None:
        if vs[rank.best] == "better":
            return f"{nm([rank.best])} is the most faithful, and beats {ink}"
        return (f"{nm([rank.best])} ranks first but is "
                f"{'worse than' if vs[rank.best] == 'worse' else 'no better than'} {ink}")
    winners = [m for m in rank.tied if vs[m] == "better"]
    if len(winners) == len(rank.tied):
        return f"{nm(rank.tied)} tie; each beats {ink}"
    if winners:
        return f"{nm(rank.tied)} tie; only {nm(winners)} beat{'s' if len(winners) == 1 else ''} {ink}"
    return f"{nm(rank.tied)} tie, and none beats {ink}"


def _caption(study: FaithfulnessStudy, measure: str) -> str:
    names = _titles()
    rank = study.rankings[measure]
    verb, better = MEASURE_WORDS[measure]
    s = study.settings
    k = {m: i for i, m in enumerate(rank.methods)}
    ink = _ink_words(measure)
    vs = study.against(measure)
    ctrl = study.controls[measure]

    def auc(m: str) -> str:
        i = k[m]
        return f"{rank.means[i]:.3f} [{rank.low[i]:.3f}, {rank.high[i]:.3f}]"

    def interval(v) -> str:
        return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"

    nm = lambda ms: ", ".join(names.get(m, m) for m in ms)  # noqa: E731
    faithful = study.faithful_to_model(measure)
    if faithful is not None:
        lead = (f"{measure.capitalize()}: {nm([faithful])} is the most faithful map on this "
                f"model, and it beats {ink}.")
    elif rank.best is not None:
        lead = (f"{measure.capitalize()}: {nm([rank.best])} ranks first, but it is "
                f"{'worse than' if vs[rank.best] == 'worse' else 'no better than'} {ink}, an "
                "order that knows nothing of the model.")
    else:
        winners = [m for m in rank.tied if vs[m] == "better"]
        if len(winners) == len(rank.tied):
            lead = (f"{measure.capitalize()}: {nm(rank.tied)} tie as the most faithful maps; "
                    f"each beats {ink}.")
        elif winners:
            lead = (f"{measure.capitalize()}: {nm(rank.tied)} tie for first; only {nm(winners)} "
                    f"beat{'s' if len(winners) == 1 else ''} {ink}.")
        else:
            lead = (f"{measure.capitalize()}: {nm(rank.tied)} tie for first, and none of them "
                    f"beats {ink}, an order that knows nothing of the model.")
    lead += (f" Mean {measure} AUC ({better}) with its interval: "
             + "; ".join(f"{names.get(m, m)} {auc(m)}" for m in rank.methods)
             + f"; ink control ({ink}) {interval(ctrl['ink'])}; random order "
               f"{interval(ctrl['random'])}.")
    if rank.behind:
        lead += f" Clearly behind {nm([rank.methods[0]])}: {nm(rank.behind)}."
    if rank.unsettled:
        lead += (f" Ranked below a method it beats, yet not separable from "
                 f"{nm([rank.methods[0]])} on these images (wide intervals): "
                 f"{nm(rank.unsettled)}.")
    beat = [m for m in rank.methods if vs[m] == "better"]
    tie = [m for m in rank.methods if vs[m] == "tie"]
    lose = [m for m in rank.methods if vs[m] == "worse"]
    parts = []
    if beat:
        parts.append(f"better than {ink}: {nm(beat)}")
    if tie:
        parts.append(f"no better than {ink}: {nm(tie)}")
    if lose:
        parts.append(f"worse than {ink}: {nm(lose)}")
    ink_s = "Against the ink control, on the same images (paired): " + "; ".join(parts) + "."
    losers = [m for m, ok in study.beats_random(measure).items() if not ok]
    chance = ("Every method beats a random order on the same images." if not losers else
              f"Not better than a random order on the same images: {nm(losers)}.")
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
           f"{'ends' if measure == 'deletion' else 'starts'}. Dash-dot: the ink control, which "
           "orders the pixels by brightness |x| alone (ties in a random order, seed "
           f"{s['seed']}) and is scored like a map. Dashed: a random order "
           f"({s['n_random']} seeded orders per image). Right: mean AUC with its "
           f"{rank.confidence:.0%} percentile bootstrap interval over the images "
           f"({rank.n_resamples} resamples); a method is called most faithful only when it "
           "beats the runner-up and the ink control on the same images (paired: the interval "
           "of the mean per-image difference excludes 0). Maps as in the attributions figures "
           f"(integrated gradients {s['ig_steps']} steps against black)"
           + (f"; Grad-CAM on {s['layer']!r}" if s.get("layer") and "grad_cam" in study.methods
              else "")
           + "; layer integrated gradients and layer conductance credit a layer's units, not "
           "pixels, so they have no curve here.")
    ink_share = (f"On these images {s['ink_share']:.0%} of the pixels are not black; the others "
                 "already equal the baseline, so removing or revealing them changes nothing (the "
                 "flat stretches), and a map that is zero off the ink beats a random order for "
                 "that reason alone.")
    return " ".join([lead, ink_s, chance, ink_share, how])
