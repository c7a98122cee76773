"""Figure family ``receptive-fields`` (seed 004): which pixels drive the units of a network.

* MLPs (``PTDeep``): one figure per Linear layer. Hidden layer 1 (when the checkpoint meta
  records the seed and spec): the six units with the smoothest fields (lag-1 spatial
  autocorrelation), their change from the initial weights rebuilt from the seed, and the three
  test images that excite each most. Deeper layers and the output: the units whose fields lie
  most on inked pixels (all units of the output) as the seed's propagated product, ReLU-gated,
  and as the mean input gradient, each view drawn once: one that correlates r >= ``COINCIDE``
  with a view already drawn is left out and the caption gives its r.
* CNNs (``ConvNet``, ``RBFNet``'s conv stack): input-gradient fields of the last conv layer's
  channels with the theoretical field drawn as a box, and the field of each conv/pool stage.
* Other image models (logistic regression, CNNs): the input-gradient field of each class.

The fields come from :mod:`vizkit.analysis.receptive_fields`, drawn by
:mod:`vizkit.plot.receptive_fields`.
"""

from __future__ import annotations

import numpy as np

from ..plot.figure import Figure, NotApplicable
from ..plot.receptive_fields import (plot_field_views, plot_first_layer_units,
                                     plot_receptive_field_box, plot_receptive_fields)

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "receptive-fields"


def applies(model, split) -> str | None:
    """Whether the ``receptive-fields`` family fits: ``None`` if so, else the reason in words.

    A receptive field is drawn as an image over the input, so the family fits torch models of
    single-channel images (a field of two numbers is not a picture).

    Parameters
    ----------
    model : nn.Module or estimator
        The model (only its type is read here).
    split : vizkit.data.Split
        Its data; ``split.input_shape`` must be ``(1, H, W)``.

    Returns
    -------
    str or None
        ``None`` when the family fits, else why not.

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x, y = torch.rand(4, 1, 4, 4), torch.arange(4) % 2
    >>> images = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> applies(PTDeep([16, 4, 2]), images) is None
    True
    >>> p = torch.rand(4, 2)
    >>> plane = Split("plane", p, y, p, y, p, y, ("a", "b"), (2,), fingerprint(p, y))
    >>> applies(PTDeep([2, 4, 2]), plane)
    'receptive fields are drawn as images; this data has input shape (2,), not (C, H, W).'
    """
    from torch import nn

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        return (f"receptive fields are drawn as images; this data has input shape {shape}, "
                "not (C, H, W).")
    if shape[0] != 1:
        return "receptive-field figures are drawn for single-channel images only."
    if not isinstance(model, nn.Module):
        return f"receptive fields need a torch model; got {type(model).__name__}."
    return None


_N_EXAMPLES = 500


def _training_note(meta: dict | None) -> str:
    """What the checkpoint's config says about weight decay (it decides the never-inked part)."""
    cfg = (meta or {}).get("config") or {}
    wd, lam = cfg.get("weight_decay") or 0, cfg.get("param_lambda") or 0
    if wd or lam:
        term = f"weight decay {wd:g}" if wd else f"an L2 term (param_lambda {lam:g})"
        return (f" The net was trained with {term}: weights that no image's gradient holds up "
                "decay toward 0.")
    if cfg:
        return (" The net was trained without weight decay: weights on pixels the data never "
                "inks keep much of their random initial values.")
    return ""


def _views_caption(views, n_train: int, meta: dict | None, dropped=(), layer_words=None,
                   control: dict | None = None) -> str:
    """The caption of one layer's figure, every number taken from ``views`` (and ``control``)."""
    from ..analysis.receptive_fields import INKED, NEVER_INKED

    never = int((views.ink < NEVER_INKED).sum())
    inked = int((views.ink > INKED).sum())
    U, N = len(views.units), views.n_layer_units
    where = layer_words or f"{views.layer} (Linear layer {views.layer_index})"
    if control is not None:
        cap = control["opening"] + f" Receptive fields of {where}, on raw pixels. "
        cap += control["method"]
    else:
        which = (f"all {N} units" if U == N else
                 f"the {U} of {N} units whose fields put the largest share of their |weight| on "
                 f"inked pixels ({views.share.min():.0%} to {views.share.max():.0%})")
        cap = f"Receptive fields of {where}: {which}, on raw pixels."
    if dropped:
        cap += " " + " ".join(dropped)
    if views.layer_index == 1:
        cap += (" Each field is a column of W1 (input normalization folded in); at layer 1 the "
                "ReLU-gated and gradient views are the same numbers.")
    else:
        rows = {"propagated": "'propagated', the product of the weight matrices (with "
                              "batch norm's scale) ignoring the ReLUs",
                "propagated, mean-gated": "'ReLU-gated', each hidden unit weighted by the "
                                          f"fraction of {views.n_examples} test images on "
                                          "which it is active",
                "gradient": f"'gradient', the mean over {views.n_examples} test images of "
                            "d unit / d pixel (= the mean of each image's ReLU-masked product)",
                "control": "'control', the propagated product with this layer's weights "
                           "shuffled"}
        cap += (" Rows: " + "; ".join(rows.get(v, v) for v in views.views)
                + ". Each row on its own symmetric scale.")
    ratios = " / ".join(f"{r:.2f}" for r in views.ratios)
    cap += " Red: ink there raises the unit; blue: lowers it."
    if never and inked:
        cap += (f" Grey line: outside it lie the {never} pixels inked in fewer than "
                f"{NEVER_INKED:.0%} of the {n_train} training images; mean |field| there is "
                f"{ratios} of that on the {inked} pixels inked in more than {INKED:.0%}.")
    else:
        cap += " " + _no_ink_comparison(never, inked, n_train)
    return cap + _training_note(meta)


def _no_ink_comparison(never: int, inked: int, n_train: int | None = None) -> str:
    """The caption's sentence when the never-inked / inked comparison has an empty side (its
    ratio is NaN): which side is empty, instead of 'nan'."""
    from ..analysis.receptive_fields import INKED, NEVER_INKED

    images = "training images" if n_train is None else f"{n_train} training images"
    if not never:
        return (f"No pixel is inked in fewer than {NEVER_INKED:.0%} of the {images}, so no "
                "never-inked region is outlined or compared.")
    return (f"No pixel is inked in more than {INKED:.0%} of the {images}, so the {never} "
            "never-inked pixels have nothing to be compared with.")


def _views_data(views) -> dict[str, np.ndarray]:
    return {"fields": views.fields, "layer": np.array(views.layer), "units": np.array(views.units),
            "views": np.array(views.views), "ink": views.ink, "ratios": views.ratios,
            "share": views.share}


_SHORT = {"propagated": "propagated", "propagated, mean-gated": "ReLU-gated",
          "gradient": "gradient", "control": "control"}


def _drop_coinciding(views):
    """Drop each view whose fields correlate at least ``COINCIDE`` (Pearson r over every shown
    unit's pixels) with a view kept before it; the caption sentences saying so; and the r of
    every pair of views (V x V)."""
    import dataclasses

    from ..analysis.receptive_fields import COINCIDE, view_coincidence

    V = len(views.views)
    r = np.eye(V)
    for a in range(V):
        for b in range(a + 1, V):
            r[a, b] = r[b, a] = view_coincidence(views.fields[a], views.fields[b])
    keep, said = [], []
    for v in range(V):
        twin = next((k for k in keep if r[k, v] >= COINCIDE), None)
        if twin is None:
            keep.append(v)
        else:
            said.append(f"The '{_SHORT.get(views.views[v], views.views[v])}' view is not drawn: "
                        f"it coincides with '{_SHORT.get(views.views[twin], views.views[twin])}' "
                        f"(Pearson r = {r[twin, v]:.3f} over the shown fields' pixels).")
    if len(keep) == V:
        return views, said, r
    return (dataclasses.replace(views, fields=views.fields[keep],
                                views=[views.views[k] for k in keep],
                                ratios=views.ratios[keep]), said, r)


def _layer_words(model, i: int, n_layers: int) -> str:
    """'hidden layer 1 (360 units, Linear 784->360)' or 'the output layer (10 units, ...)'."""
    from torch import nn

    from ..analysis.receptive_fields.propagated import _mlp_stack

    _, items = _mlp_stack(model)
    lin = [(n, m) for n, m in items if isinstance(m, nn.Linear)][i - 1]
    what = "the output layer" if i == n_layers else f"hidden layer {i}"
    return (f"{what} ({lin[1].out_features} units, Linear {lin[1].in_features}->"
            f"{lin[1].out_features}, {lin[0]})")


_N_FIRST = 6
_FRACTIONS = ((0.0, "almost none"), (0.1, "about a tenth"), (0.2, "about a fifth"),
              (0.25, "about a quarter"),
              (1 / 3, "about a third"), (0.4, "about two fifths"), (0.5, "about half"),
              (0.6, "about three fifths"), (2 / 3, "about two thirds"),
              (0.75, "about three quarters"), (0.9, "about nine tenths"), (1.0, "almost all"))


def _fraction_words(x: float) -> str:
    """The nearest plain fraction of ``x`` in words ('about a third' for 0.31)."""
    return min(_FRACTIONS, key=lambda f: abs(f[0] - x))[1]

_K_EXEMPLARS = 3


def _first_layer_figure(model, split, ink, meta, n_layers: int) -> Figure:
    """Hidden layer 1: the smoothest fields, what training added to their initial weights, and
    the test images that excite each unit most."""
    from ..analysis.receptive_fields import (INKED, NEVER_INKED, decay_erasure,
                                             first_layer_change, init_share_on, initial_model,
                                             lag1_autocorrelation, top_exemplars)

    init = initial_model(meta or {})
    ch = first_layer_change(model, init, image_shape=split.input_shape)
    mask = np.asarray(ink) > INKED
    added = ch.trained - ch.initial
    r1 = np.array([lag1_autocorrelation(f, mask) for f in ch.trained])
    r1_init = np.array([lag1_autocorrelation(f, mask) for f in ch.initial])
    r1_added = np.array([lag1_autocorrelation(f, mask) for f in added])
    units = [int(u) for u in np.argsort(-np.nan_to_num(r1, nan=-2), kind="stable")[:_N_FIRST]]
    idx, val = top_exemplars(model, split.x_test, units, k=_K_EXEMPLARS)
    imgs = np.asarray(split.x_test)[idx].reshape(len(units), _K_EXEMPLARS,
                                                 *ch.trained.shape[-2:])
    share_ink = init_share_on(ch.trained, ch.initial, mask)
    r_ink = np.array([np.corrcoef(a[mask], b[mask])[0, 1] if a[mask].std() * b[mask].std() > 0
                      else np.nan for a, b in zip(ch.trained, ch.initial)])
    never = np.asarray(ink) < NEVER_INKED
    erase_r, erase_e = decay_erasure(added, ch.initial, never)
    shown_added = np.where(never, np.nan, added[units])
    titles = [f"unit {u}\nlag-1 {r1[u]:.2f}\ninit {share_ink[u]:.0%}" for u in units]
    out = plot_first_layer_units(ch.trained[units], shown_added, imgs, titles=titles,
                                 exemplar_values=val)
    layer = _layer_words(model, 1, n_layers)
    out["fig"].suptitle(f"What {layer} responds to", fontsize=13)
    n = len(ch.trained)
    hist = meta.get("history")
    hist = hist.get("epochs") if isinstance(hist, dict) else None
    epochs = len(hist) if hist else ((meta.get("config") or {}).get("epochs"))
    after = f"After {epochs} epochs" if epochs else "After training"
    med = float(np.nanmedian(share_ink))
    cap = (f"{after}, {_fraction_words(med)} of each field on the inked pixels is still its "
           f"random start (median {med:.0%}). ")
    cap += (f"Six units of {layer}, one per column: the trained weights, their change from the "
           f"initial weights (w_T - w_0), and the {_K_EXEMPLARS} of {len(split.x_test)} test images "
           f"that give the unit its highest pre-activation. The columns are the {_N_FIRST} of "
           f"{n} units whose drawn field is smoothest by lag-1 spatial autocorrelation (the "
           f"correlation of each pixel with its right and lower neighbour) over the "
           f"{int(mask.sum())} pixels inked in more than {INKED:.0%} of the training images: "
           f"{r1[units].min():.2f} to {r1[units].max():.2f}, median of all {n} units "
           f"{np.nanmedian(r1):.2f} (white noise: 0; the initial weights: "
           f"{np.nanmedian(r1_init):.2f}; what training added: {np.nanmedian(r1_added):.2f}). "
           f"'init' is the share of the trained weights' energy along the initial weights, "
           f"(w_T . w_0)^2 / (|w_T|^2 |w_0|^2), over the {int(mask.sum())} inked pixels only "
           f"(median over all {n} units {med:.0%}, {np.nanmin(share_ink):.0%} to "
           f"{np.nanmax(share_ink):.0%}; over all pixels {np.nanmedian(ch.init_share):.0%}, "
           f"diluted by the border), with w_0 rebuilt from the recorded seed {meta['seed']} "
           f"and model spec; the Pearson r of the drawn units' trained and initial weights on "
           f"those pixels is {np.nanmin(r_ink[units]):.2f} to {np.nanmax(r_ink[units]):.2f}. "
           f"Grey in the change row: the {int(never.sum())} pixels inked in "
           f"fewer than {NEVER_INKED:.0%} of the training images, where the change is weight "
           f"decay erasing the initial weights, not learning: there it correlates with -w_0 at "
           f"r = {erase_r:.2f} and holds {erase_e:.0%} of the change's energy (all {n} units). "
           "Weights on raw pixels, each panel on its own symmetric scale (red: ink there "
           "raises the unit; blue: lowers it).")
    data = {"fields": ch.trained[units], "initial": ch.initial[units], "added": added[units],
            "units": np.array(units), "lag1": r1, "lag1_initial": r1_init,
            "lag1_added": r1_added, "init_share": ch.init_share,
            "change_share": ch.change_share, "init_share_inked": share_ink,
            "init_r_inked": r_ink,
            "added_masked": shown_added, "decay_r": np.array(erase_r),
            "decay_energy": np.array(erase_e), "exemplar_index": idx, "exemplar_value": val,
            "ink": np.asarray(ink), "layer": np.array(ch.layer), "seed": np.array(meta["seed"])}
    return Figure("receptive-fields-layer1", out["fig"], cap, data=data)


_N_SHUFFLES = 10


def _layer_control(model, i: int, split, ink, n_shown: int, is_out: bool, seed: int) -> dict:
    """Layer ``i``'s fields against a control with the layer's weights shuffled in each unit.

    The measure is the class match: the Pearson r (over the often-inked pixels) of a field with
    a digit's mean training image minus the mean of all digits -- for an output unit with its
    own class, for a hidden unit its largest |r| over the classes. The control (each row of
    ``Wi`` permuted, seeds ``seed .. seed + 9``) keeps layer 1 and the weight values, so what it
    reproduces says nothing about what layer ``i`` learned. Hidden layers show the ``n_shown``
    units with the highest match, and the control's own top ``n_shown`` beside them.
    """
    from ..analysis.receptive_fields import (INKED, class_selectivity, class_templates,
                                             compare_to_control, ink_share,
                                             propagated_receptive_fields, shuffled_layer_model)
    from ..analysis.receptive_fields.choice import _n_out

    classes = [str(c) for c in split.classes]
    noun = "digit" if set(classes) <= set("0123456789") else "class"
    T = class_templates(split.x_train, split.y_train, len(classes))
    mask = np.asarray(ink) > INKED
    N = _n_out(model, i)
    own = is_out and N == len(classes)
    kw = {"units": range(N), "image_shape": split.input_shape}

    def measure(fields):
        r = class_selectivity(fields, T, mask)
        best = np.abs(r).argmax(1)
        return (np.diag(r) if own else np.abs(r).max(1)), (np.arange(N) if own else best)

    real_f = propagated_receptive_fields(model, i, **kw).fields
    real, real_c = measure(real_f)
    ctl_f = [propagated_receptive_fields(shuffled_layer_model(model, i, seed + k), i, **kw).fields
             for k in range(_N_SHUFFLES)]
    ctl = [measure(f) for f in ctl_f]
    cmp = compare_to_control(real, np.concatenate([c[0] for c in ctl]))
    if own:
        units, ctl_units = list(range(N)), list(range(N))
    else:
        units = [int(u) for u in np.argsort(-real, kind="stable")[:n_shown]]
        ctl_units = [int(u) for u in np.argsort(-ctl[0][0], kind="stable")[:n_shown]]
    c0, c0_c = ctl[0]
    if own:
        titles = [f"{noun} {classes[u]}\nr {real[u]:.2f}" for u in units]
        ctl_titles = [f"{noun} {classes[u]}\nr {c0[u]:.2f}" for u in ctl_units]
    else:
        titles = [f"unit {u}\n|r| {real[u]:.2f}, {noun} {classes[real_c[u]]}" for u in units]
        ctl_titles = [f"unit {u}\n|r| {c0[u]:.2f}, {noun} {classes[c0_c[u]]}"
                      for u in ctl_units]
    layer = "the output layer" if is_out else f"layer {i}"
    what = (f"correlate with their {noun}'s template" if own
            else f"correlate with {noun} templates")
    opening = {"no different from the control":
                   f"These fields mostly reflect layer 1, not what {layer} learned: a control "
                   f"with {layer}'s weights shuffled (bottom row) matches {noun}s as well.",
               "slightly above the control":
                   f"The fields {what} only slightly better than those of a control with "
                   f"{layer}'s weights shuffled (bottom row).",
               "clearly above the control":
                   f"The fields {what} clearly better than those of a control with {layer}'s "
                   "weights shuffled (bottom row)."}[cmp.verdict]
    if cmp.verdict != "no different from the control" and np.median(real) < 0.7:
        # a correlation of 0.4-0.6 over inked pixels is real but not visible: say so
        opening += (f" The correlations are modest (median r {np.median(real):.2f}), so do not "
                    f"expect to see {noun}s in the fields.")
    headline = {"no different from the control":
                    f"no closer to the {noun} templates than the control",
                "slightly above the control":
                    f"slightly closer to the {noun} templates than the control",
                "clearly above the control":
                    f"clearly closer to the {noun} templates than the control"}[
        cmp.verdict] + f" (Vargha-Delaney A = {cmp.a:.2f})"
    vmax_real, vmax_ctl = float(np.abs(real_f).max()), float(np.abs(ctl_f[0]).max())
    share_real = float(np.median(ink_share(real_f, ink)))
    share_ctl = float(np.median(np.concatenate([ink_share(f, ink) for f in ctl_f])))
    measure_words = (f"r of each output's field with its {noun}'s mean training image minus "
                     f"the mean of all {noun}s" if own else
                     f"the largest |r|, over the {len(classes)} {noun}s, of a field with a "
                     f"{noun}'s mean training image minus the mean of all {noun}s")
    method = (f"Class match: {measure_words}, over the {int(mask.sum())} pixels inked in more "
              f"than {INKED:.0%} of the training images. Control: each unit's incoming weights "
              f"in {layer} shuffled ({_N_SHUFFLES} seeded shuffles, {seed} to "
              f"{seed + _N_SHUFFLES - 1}), which keeps layer 1 and the weight values but "
              f"destroys what {layer} learned. Class match of all {N} units: median "
              f"{np.median(real):.2f} (max {real.max():.2f}) against the control's "
              f"{np.median(cmp.control):.2f} (max {cmp.control.max():.2f}); Vargha-Delaney "
              f"A = {cmp.a:.2f} (the chance that a real unit beats a control unit; 0.5: no "
              f"difference; one-sided Mann-Whitney p = {cmp.p_value:.1g}); {cmp.above:.0%} of "
              f"the real units lie above the control's 95th percentile ({cmp.threshold:.2f}).")
    if not own:
        method += (f" Drawn: the {len(units)} units with the highest class match (titles: "
                   f"|r| and the {noun} it is reached with); bottom row: the first control's "
                   f"top {len(units)} by the same rule.")
    lies = ("Where a field lies comes from layer 1, not from this layer"
            if abs(share_real - share_ctl) < 0.05 else
            "Where a field lies differs from the control")
    method += (f" {lies}: its share of |field| on inked pixels is median {share_real:.0%} real "
               f"and {share_ctl:.0%} in the control. The control's fields are weaker (largest "
               f"|field| {vmax_ctl:.2g} against {vmax_real:.2g}), so its row has its own scale.")
    return {"units": units, "fields": ctl_f[0][ctl_units], "titles": titles,
            "control_titles": ctl_titles,
            "opening": opening, "method": method, "comparison": cmp, "headline": headline,
            "data": {"class_match": real, "class_match_control": cmp.control,
                     "control_fields": ctl_f[0][ctl_units], "control_units": np.array(ctl_units),
                     "vargha_delaney_a": np.array(cmp.a), "p_value": np.array(cmp.p_value),
                     "verdict": np.array(cmp.verdict),
                     "ink_share_all": np.array([share_real, share_ctl])}}


def _mlp_figures(model, split, xs, ink, meta, seed: int = 0) -> list[Figure]:
    """One figure per Linear layer of an MLP: the hidden layers and the output."""
    import dataclasses

    from ..analysis.receptive_fields import NEVER_INKED, field_views, ink_ratio, mlp_field_layers

    layers = mlp_field_layers(model)
    classes = [str(c) for c in split.classes]
    figs = []
    for i, name, n_shown in layers:
        is_out = i == len(layers)
        if i == 1 and not is_out:
            try:
                figs.append(_first_layer_figure(model, split, ink, meta, len(layers)))
                continue
            except ValueError:  # no recorded seed/spec: the plain field view below
                pass
        control = None
        if i > 1:  # shuffling W1's rows would shuffle pixels: no control for layer 1
            try:
                control = _layer_control(model, i, split, ink, n_shown, is_out, seed)
            except ValueError:  # no class labels to build templates from: the plain views
                pass
        views = field_views(model, i, xs, ink, n_units=n_shown, image_shape=split.input_shape,
                            units=None if control is None else control["units"])
        views, dropped, coincide = _drop_coinciding(views)
        titles = classes if is_out and len(classes) == len(views.units) else None
        row_titles = None
        if control is not None:
            views = dataclasses.replace(
                views, fields=np.concatenate([views.fields, control["fields"][None]]),
                views=[*views.views, "control"],
                ratios=np.append(views.ratios, ink_ratio(control["fields"], ink)))
            row_titles = [control["titles"]] * (len(views.views) - 1) + [
                control["control_titles"]]
        out = plot_field_views(views, titles=titles, contour=NEVER_INKED, row_titles=row_titles,
                               fontsize=11, panel=1.25)
        head = _layer_words(model, i, len(layers))
        if control is not None:
            head += ":\n" + control["headline"]
        out["fig"].suptitle(head[:1].upper() + head[1:], fontsize=13)
        fid = "receptive-fields-output" if is_out else f"receptive-fields-layer{i}"
        data = _views_data(views)
        data["view_r"] = coincide
        if control is not None:
            data.update(control["data"])
        figs.append(Figure(fid, out["fig"],
                           _views_caption(views, len(split.y_train), meta, dropped,
                                          _layer_words(model, i, len(layers)), control),
                           data=data))
    return figs


def _conv_figures(model, xs, shape) -> list[Figure]:
    """The last conv layer's gradient fields with their theoretical box, and the box of every
    conv/pool stage on one test image."""
    import matplotlib.pyplot as plt

    from ..analysis.receptive_fields import (conv_field_units, conv_stages,
                                             gradient_receptive_fields, last_conv_layer,
                                             theoretical_receptive_field)

    conv = last_conv_layer(model)
    if conv is None:
        return []
    try:
        theo = theoretical_receptive_field(model, conv, input_shape=shape)
    except ValueError:
        theo = None
    rg = gradient_receptive_fields(model, conv, conv_field_units(model, conv), xs[:200])
    out = plot_receptive_fields(rg, ncols=8, box=theo)
    out["fig"].suptitle(f"{conv}: input gradient of each channel's centre unit", fontsize=10)
    cap = (f"Gradient receptive fields of the centre unit of {len(rg.units)} channels of {conv}, "
           f"averaged over {rg.n_examples} test images, on one symmetric scale.")
    if theo is not None:
        cap += (f" Dashed box: the theoretical field ({theo.size[0]}x{theo.size[1]} pixels, "
                f"jump {theo.jump[0]}); the gradient is zero outside it.")
    figs = [Figure("receptive-fields-conv", out["fig"], cap,
                   data={"fields": np.asarray(rg.fields), "layer": np.array(rg.layer),
                         "units": np.asarray([str(u) for u in rg.units])})]
    theos = []
    for name in conv_stages(model):
        try:
            theos.append(theoretical_receptive_field(model, name, input_shape=shape))
        except ValueError:
            break
    if theos:
        fig, axes = plt.subplots(1, len(theos), figsize=(2.4 * len(theos), 2.8),
                                 layout="constrained", squeeze=False)
        for ax, t in zip(axes[0], theos):
            plot_receptive_field_box(t, xs[0], ax=ax, cmap="gray")
        figs.append(Figure("receptive-fields-theory", fig,
                           "The input region seen by the centre unit of each conv/pool stage "
                           "(red box, from kernel sizes, strides and padding); dots: field "
                           "centres of all units of the stage (their spacing is the jump).",
                           data={"size": np.array([t.size for t in theos]),
                                 "jump": np.array([t.jump for t in theos]),
                                 "start": np.array([t.start for t in theos]),
                                 "layer": np.array([t.layer for t in theos]),
                                 "image": np.asarray(xs[0])}))
    return figs


def _class_figure(model, split, xs, ink) -> list[Figure]:
    """The mean input gradient of each class score, for models that are not MLPs (for an MLP it
    is the 'gradient' row of the output figure)."""
    from ..analysis.receptive_fields import (INKED, NEVER_INKED, gradient_receptive_fields,
                                             ink_ratio)

    rc = gradient_receptive_fields(model, None, None, xs[:200])
    if rc.fields.ndim != 3:
        return []
    n = rc.fields.shape[0]
    classes = [str(c) for c in split.classes]
    out = plot_receptive_fields(rc, ncols=min(n, 10), titles=classes if len(classes) == n else None)
    for ax in out["axes"]:
        ax.contour(ink, levels=[NEVER_INKED], colors="0.45", linewidths=0.8)
    out["fig"].suptitle("Input gradient of each class score, averaged over test images",
                        fontsize=10)
    ratio = ink_ratio(rc.fields, ink)
    cap = (f"Average input gradient of each class logit over {rc.n_examples} test images (one "
           "symmetric scale): the pixels whose ink raises (red) or lowers (blue) the class score "
           "around typical test images.")
    if np.isfinite(ratio):
        cap += (f" Grey line: outside it, pixels inked in fewer than {NEVER_INKED:.0%} of the "
                f"training images; mean |field| there is {ratio:.2f} of that on pixels inked in "
                f"more than {INKED:.0%}.")
    else:
        cap += " " + _no_ink_comparison(int((np.asarray(ink) < NEVER_INKED).sum()),
                                        int((np.asarray(ink) > INKED).sum()))
    return [Figure("receptive-fields-classes", out["fig"], cap,
                   data={"fields": np.asarray(rc.fields), "layer": np.array(rc.layer),
                         "units": np.asarray([str(u) for u in rc.units]), "ink": ink,
                         "ratios": np.array([ratio])})]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures (see the module's description): which pixels drive the units.

    Every field figure outlines the pixels the training images (almost) never ink and
    compares the mean ``|field|`` there with that on inked pixels: a unit that learned from the
    data has small weights where the data never puts ink (they get no gradient), while a
    randomly initialized layer's ratio is about 1.

    Parameters
    ----------
    model : nn.Module
        The trained torch model: an MLP (``PTDeep``, an ``nn.Sequential`` of Linear layers)
        gets one figure per Linear layer, a CNN its conv fields, any other model the input
        gradient of each class score.
    split : vizkit.data.Split
        Its data: up to 500 test images (chosen by ``seed``) for the gated and gradient
        fields, the training images for the ink map.
    meta : dict, optional
        The checkpoint's metadata. With the recorded ``seed`` and model spec, an MLP's first
        layer is compared with its initial weights (rebuilt from the seed); the config's
        weight decay is named in the captions.
    seed : int, default=0
        Seed of the choice of test images.

    Returns
    -------
    list of Figure
        MLPs: ``receptive-fields-layer1``, ``-layer2``, ..., ``-output``; CNNs:
        ``receptive-fields-conv``, ``receptive-fields-theory`` and
        ``receptive-fields-classes``; other models: ``receptive-fields-classes``. ``data``
        holds the drawn ``fields``, their ``layer``, ``units``, the ``ink`` frequency map and
        the never-inked / inked ``ratios`` the caption quotes.

    Raises
    ------
    NotApplicable
        Non-image inputs (a field of two numbers is not a picture), more than one channel, or
        not a torch model; or no field applies (a model whose output is not one score per
        class).

    Examples
    --------
    An untrained MLP, 16 -> 4 -> 3, on 4x4 images inked only in the central 2x2: the 12 border
    pixels are never inked, and the untrained fields are as strong there as on the ink (ratio
    near 1). With one hidden layer the mean gradient equals the ReLU-gated product exactly, so
    the output figure drops that duplicate row and says so.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.zeros(20, 1, 4, 4)
    >>> x[:, :, 1:3, 1:3] = torch.rand(20, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(20) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> figs = figures(PTDeep([16, 4, 3]), split)
    >>> [f.id for f in figs]
    ['receptive-fields-layer1', 'receptive-fields-output']
    >>> figs[1].data["views"].tolist()
    ['propagated', 'propagated, mean-gated', 'control']
    >>> int((figs[0].data["ink"] == 0).sum()), round(float(figs[0].data["ratios"][0]), 2)
    (12, 1.16)
    >>> "the 12 pixels inked in fewer than 1% of the 20 training images" in figs[0].caption
    True
    >>> "The 'gradient' view is not drawn: it coincides with 'ReLU-gated'" in figs[1].caption
    True
    >>> plt.close("all")
    """
    import torch

    from ..analysis.receptive_fields import ink_frequency, mlp_layers

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    shape = tuple(split.input_shape)
    g = torch.Generator().manual_seed(int(seed))
    xs = split.x_test[torch.randperm(len(split.x_test), generator=g)[:_N_EXAMPLES]]
    ink = ink_frequency(split.x_train)
    if mlp_layers(model):
        return _mlp_figures(model, split, xs, ink, meta, int(seed))
    figs = _conv_figures(model, xs, shape)
    try:
        figs += _class_figure(model, split, xs, ink)
    except (ValueError, RuntimeError) as e:  # a model whose output is not [N, classes]
        if not figs:
            raise NotApplicable(f"no receptive field applies to this model: {e}") from None
    return figs
