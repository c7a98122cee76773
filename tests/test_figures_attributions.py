"""Figure family attributions (vizkit.figures.attributions): the method groups beside the images,
the randomization sanity check, captions computed from the data."""

import numpy as np
import pytest
import torch

from vizkit.figures import NotApplicable
from vizkit.figures.attributions import GROUPS, example_indices, figures
from vizkit.models import ConvNet, PTDeep
from vizkit.plot.attributions import METHOD_TITLES


def _tiny_split(input_shape=(1, 8, 8), n=30, n_classes=3):
    from vizkit.data import Split, fingerprint

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, *input_shape, generator=g)
    y = torch.arange(n) % n_classes
    parts = (x, y, x[:6], y[:6], x, y)
    return Split("tiny", *parts, classes=tuple(f"c{i}" for i in range(n_classes)),
                 input_shape=tuple(input_shape), fingerprint=fingerprint(*parts))


def test_attributions_figures_for_cnn_and_mlp(pyplot):
    split = _tiny_split()
    assert example_indices(torch.tensor([2, 2, 0, 1, 0, 3]), n=3) == [2, 3, 0]
    torch.manual_seed(0)
    cnn = ConvNet(image_size=8, n_classes=3, channels=(2,), hidden=4)
    figs = figures(cnn, split, seed=0)
    assert [f.id for f in figs] == [f"attributions-{g}{s}" for g in GROUPS
                                    for s in ("", "-randomized")]
    by_id = {f.id: f for f in figs}
    for f in figs:
        # readable on a 1140 px page: at most 11.4 in wide, no text under 10 pt
        assert f.fig.get_size_inches()[0] <= 11.4
        sizes = [t.get_fontsize() for t in f.fig.findobj(lambda a: hasattr(a, "get_fontsize")
                                                         and hasattr(a, "get_text"))
                 if t.get_text().strip() and t.get_visible()]
        assert min(sizes) >= 10, (f.id, min(sizes))
    ref = by_id["attributions-references"]
    axes = np.array([a for a in ref.fig.axes if a.get_label() != "<colorbar>"]).reshape(3, 4)
    assert "target: c2" in axes[2, 0].get_ylabel() and axes[0, 2].get_title() == "DeepLIFT"
    np.testing.assert_allclose(ref.data["inputs"], split.x_test[[0, 1, 2]].numpy())
    assert ref.data["targets"].tolist() == [0, 1, 2]
    # caption numbers computed from the data: completeness within the stated percentage
    for m in ("integrated_gradients", "deeplift"):
        maps, delta = ref.data[f"maps_{m}"], ref.data[f"delta_{m}"]
        rel = np.max(np.abs(delta) / np.maximum(np.abs(maps.reshape(3, -1).sum(1) - delta), 1e-8))
        assert f"{METHOD_TITLES[m]} " in ref.caption and f"within {rel:.1%}" in ref.caption
    assert "classes c0, c1, c2" in ref.caption
    assert "'features.2'" in by_id["attributions-layers"].caption
    # the sanity check: correlations, threshold and the methods labelled as barely changing
    rnd = by_id["attributions-references-randomized"]
    d = rnd.data
    assert d["layers"].tolist() == ["classifier.4", "classifier.1", "features.0"]
    assert d["correlations"].shape == d["whole_correlations"].shape == (3, 3, 3)
    assert d["maps_deeplift"].shape == (4, 3, 1, 8, 8)
    final = np.nanmean(d["correlations"][:, -1], -1)
    whole = d["whole_correlations"][:, -1].mean(-1)
    for m, c, w in zip(d["methods"], final, whole):
        assert f"{METHOD_TITLES[m]} {c:.2f} (whole map {w:.2f})" in rnd.caption
    flagged = [m for m, c in zip(d["methods"], final) if c >= float(d["threshold"])]
    assert d["unchanged"].tolist() == flagged
    for m in d["methods"]:
        label = [a.get_ylabel() for a in rnd.fig.axes if a.get_ylabel().startswith(METHOD_TITLES[m])]
        assert ("barely changes" in label[0]) == (m in flagged)
    xlabels = [a.get_xlabel() for a in rnd.fig.axes if a.get_xlabel().startswith("ρ")]
    assert len(xlabels) == 3 * 3  # one per re-initialized map: both measures, example 0
    assert xlabels[0] == (f"ρ = {d['correlations'][0, 0, 0]:.2f}\n"
                          f"whole {d['whole_correlations'][0, 0, 0]:.2f}")
    # the threshold is named in the legend, never as text on the curves' axes
    legends = [t.get_text() for a in rnd.fig.axes if a.get_legend() is not None
               for t in a.get_legend().get_texts()]
    assert f"'barely changes' at ρ ≥ {float(d['threshold']):g}" in legends
    assert not [t for a in rnd.fig.axes for t in a.texts if "barely" in t.get_text()]
    assert "where either map is non-zero" in rnd.caption
    for m in d["methods"]:  # the share of zeros both maps keep is stated
        maps = np.abs(d[f"maps_{m}"])
        peak = maps.reshape(4, 3, -1).max(-1)[..., None]
        zero = maps.reshape(4, 3, -1) <= 1e-6 * peak
        share = (zero[0] & zero[-1]).mean()
        assert f"{METHOD_TITLES[m]} {share:.0%}" in rnd.caption
    # every colour scale has its colourbar: one per row of the randomized grid
    assert sum(a.get_label() == "<colorbar>" for a in rnd.fig.axes) == 3
    # seeded: the same figures again give the same numbers
    again = figures(cnn, split, seed=0)[3]
    np.testing.assert_array_equal(again.data["correlations"], d["correlations"])
    # the MLP has no conv layer: no layer group
    mlp_figs = figures(PTDeep([64, 5, 3]), split)
    assert [f.id for f in mlp_figs] == ["attributions-gradients", "attributions-gradients-randomized",
                                        "attributions-references",
                                        "attributions-references-randomized"]
    with pytest.raises(NotApplicable, match=r"need \[C, H, W\] inputs"):
        figures(PTDeep([2, 3]), _tiny_split((2,)))

