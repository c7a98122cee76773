"""Figure family attributions (vizkit.figures.attributions): the method groups beside the images,
the randomization sanity check, captions computed from the data."""

import numpy as np
import pytest
import torch

from vizkit.figures import NotApplicable
from vizkit.figures.attributions import (COINCIDE, GROUPS, INPUT_THRESHOLD, example_indices,
                                        figures)
from vizkit.models import ConvNet, PTDeep
from vizkit.plot.attributions import METHOD_TITLES, persist_words


def _tiny_split(input_shape=(1, 8, 8), n=30, n_classes=3):
    from vizkit.data import Split, fingerprint

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, *input_shape, generator=g)
    y = torch.arange(n) % n_classes
    parts = (x, y, x[:6], y[:6], x, y)
    return Split("tiny", *parts, classes=tuple(f"c{i}" for i in range(n_classes)),
                 input_shape=tuple(input_shape), fingerprint=fingerprint(*parts))


def _texts(fig):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
            if t.get_text().strip() and t.get_visible()]


def test_attributions_figures_for_cnn_and_mlp(pyplot):
    split = _tiny_split()
    assert example_indices(torch.tensor([2, 2, 0, 1, 0, 3]), n=3) == [2, 3, 0]
    torch.manual_seed(0)
    cnn = ConvNet(image_size=8, n_classes=3, channels=(2,), hidden=4)
    figs = figures(cnn, split, seed=0)
    assert [f.id for f in figs] == [f"attributions-{g}{s}" for g in GROUPS
                                    for s in ("", "-randomized", "-sanity")]
    by_id = {f.id: f for f in figs}
    for f in figs:
        # a room can read it: fitted to a 1920x1080 slide the smallest text is >= 20 px (the
        # PNG is cut to its content, so its own size only helps), and a title on every figure
        w, h = f.fig.get_size_inches()
        small = min(t.get_fontsize() for t in _texts(f.fig))
        assert small / 72 * min(1920 / w, 1080 / h) >= 20, (f.id, small, w, h)
        assert f.fig.get_suptitle(), f.id
    ref = by_id["attributions-references"]
    axes = np.array([a for a in ref.fig.axes if a.get_label() != "<colorbar>"])
    n_cols = len(axes) // 3
    axes = axes.reshape(3, n_cols)
    assert "target: c2" in axes[2, 0].get_ylabel()
    np.testing.assert_allclose(ref.data["inputs"], split.x_test[[0, 1, 2]].numpy())
    assert ref.data["targets"].tolist() == [0, 1, 2]
    # caption numbers computed from the data: completeness within the stated percentage
    for m in ("integrated_gradients", "deeplift"):
        maps, delta = ref.data[f"maps_{m}"], ref.data[f"delta_{m}"]
        rel = np.max(np.abs(delta) / np.maximum(np.abs(maps.reshape(3, -1).sum(1) - delta), 1e-8))
        assert f"{METHOD_TITLES[m]} " in ref.caption and f"within {rel:.1%}" in ref.caption
    assert "classes c0, c1, c2" in ref.caption
    assert "'features.2'" in by_id["attributions-layers"].caption
    # Grad-CAM's stages: the last one is the drawn map, whose control the check measured
    lay = by_id["attributions-layers-sanity"]
    r = list(lay.data["methods"]).index("grad_cam")
    np.testing.assert_allclose(lay.data["grad_cam_ink_stretched"][0], lay.data["input_ink"][r, 0],
                               atol=1e-6)
    np.testing.assert_allclose(lay.data["grad_cam_ink_stretched"][1], lay.data["input_ink"][r, -1],
                               atol=1e-6)
    raw = np.nanmean(lay.data["grad_cam_ink_raw"][1])
    if "grad_cam" in lay.caption and np.nanmean(lay.data["input_ink"][r, -1]) >= INPUT_THRESHOLD:
        assert f"follows the ink at ρ {raw:.2f} at the layer's own resolution" in lay.caption
    # coinciding views: the pairs whose mean signed-map correlation is >= COINCIDE are drawn
    # once (one column fewer each) and named with their number; the others are drawn apart
    for group in GROUPS:
        g = by_id[f"attributions-{group}"]
        agree = dict(zip(map(tuple, g.data["pairs"].tolist()), g.data["agreement"]))
        merged = [tuple(p) for p in g.data["coincide"].tolist()]
        dropped = {b for _, b in merged}
        for (a, b), rho in agree.items():
            if (a, b) in merged:
                assert rho.mean() >= COINCIDE
            elif rho.mean() >= COINCIDE:  # already shown in another method's column
                assert {a, b} & dropped
        for a, b in merged:
            assert (f"The maps of {METHOD_TITLES[b]} coincide with those of {METHOD_TITLES[a]} "
                    f"(Spearman ρ of the signed maps {agree[(a, b)].mean():.3f}") in g.caption
        n_maps = sum(1 for a in g.fig.axes if a.get_label() != "<colorbar>") // 3 - 1
        assert n_maps == len(GROUPS[group]) - len(merged)
    # the sanity check: the paper's measures, the control, and verdicts computed from them
    san = by_id["attributions-references-sanity"]
    d = san.data
    assert d["layers"].tolist() == ["classifier.4", "classifier.1", "features.0"]
    assert d["labels"].tolist() == ["fc2", "fc1", "conv1"]
    for k in ("spearman_signed", "spearman_abs", "ssim"):
        assert d[k].shape == (3, 3, 3)
    assert d["input_ink"].shape == d["input_edges"].shape == (3, 4, 3)
    assert d["spearman_abs_ink"].shape == (3, 3, 3)
    assert d["null_abs"].shape == d["null_abs_ink"].shape == d["null_ssim"].shape == (3, 3)
    rnd = by_id["attributions-references-randomized"]
    assert rnd.data["maps_deeplift"].shape == (4, 3, 1, 8, 8)
    np.testing.assert_array_equal(rnd.data["ssim"], d["ssim"])
    t, ti = float(d["threshold"]), float(d["input_threshold"])
    assert ti == INPUT_THRESHOLD
    for r, m in enumerate(d["methods"]):
        s, a, q, ai = (np.nanmean(d[k][r, -1]) for k in ("spearman_signed", "spearman_abs", "ssim",
                                                         "spearman_abs_ink"))
        ink, edges = (np.nanmean(d[k][r, -1]) for k in ("input_ink", "input_edges"))
        na, nq, ni = (np.nanmean(d[k][r]) for k in ("null_abs", "null_ssim", "null_abs_ink"))
        got, null = d["spearman_abs_ink"][r, -1], d["null_abs_ink"][r]
        ok = np.isfinite(got) & np.isfinite(null)
        beats = ok.any() and (got[ok] > null[ok]).all()
        magnitude = (ai >= t and beats) or (a >= t > na) or (q >= t > nq)
        want = ([t_ for t_, ok in (("sign", s >= t), ("reversed sign", s <= -t)) if ok]
                + (["magnitude"] if magnitude else [])
                + (["input ink"] if ink >= ti or (max(a, q) >= t and not magnitude) else [])
                + (["input edges"] if edges >= ti else []))
        assert d["persists"][r] == ";".join(want)
        # the panel's title and the caption say the same words, with the numbers
        title = [ax.get_title() for ax in san.fig.axes if ax.get_title().startswith(
            METHOD_TITLES[m] + "\n")][0]
        assert persist_words(want) == title.split("\n", 1)[1].replace("\n", " ")
        words = (f"{METHOD_TITLES[m]} ρ signed {s:.2f}, ρ |map| {a:.2f} (null {na:.2f}), on the "
                 f"ink {ai:.2f} (null {ni:.2f}), SSIM {q:.2f} (null {nq:.2f})")
        assert words in san.caption
        if max(a, q) >= t and not magnitude:  # the whole-image agreement is the ink's: said so
            words = persist_words(want).split(": ", 1)[1].replace("input's", "the input's")
            assert (f"{METHOD_TITLES[m]} {words} (ρ |map| {a:.2f} over the whole image, where "
                    f"|ink × noise| gives {na:.2f}, but {ai:.2f} on the ink pixels, where it gives "
                    f"{ni:.2f})") in san.caption
    assert f"≥ {t:g}" in san.caption and f"≥ {ti:g}" in san.caption
    # every colour scale has its colourbar: one per row of the randomized grid
    assert sum(a.get_label() == "<colorbar>" for a in rnd.fig.axes) == len(
        GROUPS["references"]) - len(by_id["attributions-references"].data["coincide"])
    xlabels = [a.get_xlabel() for a in rnd.fig.axes if a.get_xlabel().startswith("ρ")]
    assert xlabels[0] == (f"ρ signed {d['spearman_signed'][0, 0, 0]:.2f}\n"
                          f"ρ |map| {d['spearman_abs'][0, 0, 0]:.2f}\n"
                          f"on ink {d['spearman_abs_ink'][0, 0, 0]:.2f}")
    # seeded: the same figures again give the same numbers
    again = figures(cnn, split, seed=0)[5]
    np.testing.assert_array_equal(again.data["spearman_abs"], d["spearman_abs"])
    # the MLP has no conv layer: no layer group
    torch.manual_seed(0)
    mlp_figs = figures(PTDeep([64, 5, 3]), split)
    # a ReLU MLP against a black baseline: DeepLIFT's maps are integrated gradients' (as in the
    # gallery's MLP, 1.000): drawn once, said with the number
    mref = mlp_figs[3]
    assert mref.data["coincide"].tolist() == [["integrated_gradients", "deeplift"]]
    assert "The maps of DeepLIFT coincide with those of integrated gradients" in mref.caption
    assert mref.fig.axes[1].get_title() == "integrated\ngradients\n= DeepLIFT"
    assert [f.id for f in mlp_figs] == [f"attributions-{g}{s}" for g in ("gradients", "references")
                                        for s in ("", "-randomized", "-sanity")]
    with pytest.raises(NotApplicable, match=r"need \[C, H, W\] inputs"):
        figures(PTDeep([2, 3]), _tiny_split((2,)))
