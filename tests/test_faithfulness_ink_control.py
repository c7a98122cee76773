"""The ink control of the faithfulness figures: brightest pixels first, scored like a map.

Checked by hand (orders, a paired advantage worked out), against Quantus's PixelFlipping on the
|x| map (a second route), and on the case it exists for: a map that is the image itself ties with
the control, and the caption says so in plain words.
"""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.faithfulness import (attribution_order, curve_auc, faithfulness_curves,
                                          ink_curves, ink_order, paired_advantage)
from vizkit.figures import faithfulness as fam


def _mnist_like(n=6, side=6, seed=0):
    """Black background, ink of distinct brightness (no ties among the ink)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, side, side, generator=g)
    x[x < 0.55] = 0.0
    return x


# ------------------------------------------------------------------------------ the order
def test_ink_order_puts_the_brightest_first_and_breaks_ties_by_seed():
    x = np.zeros((2, 1, 4, 4))
    x[:, 0, 0, :3] = 1.0                      # three saturated pixels: a tie
    x[:, 0, 2, 2] = 0.4
    o = ink_order(x, seed=0)
    assert o.shape == (2, 16) and o.dtype == np.int64
    for row in o:
        assert sorted(row[:3].tolist()) == [0, 1, 2] and row[3] == 10
        assert sorted(row.tolist()) == list(range(16))
        bright = x[0, 0].reshape(-1)[row]
        assert (np.diff(bright) <= 0).all()   # never brighter after dimmer
    np.testing.assert_array_equal(o, ink_order(x, seed=0))
    # ties (13 black pixels, 3 saturated) go in a seeded random order: other seeds differ
    assert any(not np.array_equal(o, ink_order(x, seed=s)) for s in range(1, 6))
    # the background is not left in index order (a stable sort would)
    assert not all(np.array_equal(np.sort(r[4:]), r[4:]) for r in o)


def test_ink_order_uses_magnitude_summed_over_channels():
    x = np.zeros((1, 3, 1, 3))
    x[0, :, 0, 0] = [0.2, 0.2, 0.2]           # |x| summed 0.6
    x[0, :, 0, 1] = [-0.9, 0.0, 0.0]          # dark in one channel but far from 0: 0.9
    x[0, :, 0, 2] = [0.1, 0.0, 0.0]
    assert ink_order(x).tolist() == [[1, 0, 2]]


def test_bad_ink_input_is_named():
    with pytest.raises(ValueError, match="`inputs` must be a batch"):
        ink_order(np.zeros(5))
    with pytest.raises(ValueError, match="NaN or infinite"):
        ink_order(np.full((1, 1, 2, 2), np.nan))
    with pytest.raises(TypeError, match="torch.Tensor"):
        ink_curves(nn.Linear(4, 2), np.zeros((1, 4)))


# ------------------------------------------------------------------------------ the curves
def test_ink_curves_are_the_curves_of_the_abs_image_as_a_map():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    x = torch.rand(5, 1, 6, 6) + 0.05          # no ties anywhere: one order only
    ink = ink_curves(model, x, n_steps=9, seed=3)
    as_map = faithfulness_curves(model, x, x.abs(), n_steps=9, n_random=0)
    np.testing.assert_allclose(ink.deletion, as_map.deletion)
    np.testing.assert_allclose(ink.insertion, as_map.insertion)
    assert ink.settings["order"] == "ink"
    assert np.isnan(ink.random_deletion_auc).all()
    # deletion ends and insertion starts at the black image
    np.testing.assert_allclose(ink.deletion[:, -1], ink.insertion[:, 0])


def test_on_a_black_background_the_ink_control_is_done_once_the_ink_is_gone():
    """The uncommon case the control exists for: after the ink share of the pixels, deleting
    the black background changes nothing, so the curve is flat from there on."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3)).eval()
    x = torch.zeros(4, 1, 6, 6)
    x[:, 0, 1:4, 2] = torch.tensor([0.9, 0.6, 0.3])      # 3 of 36 pixels of ink
    ink = ink_curves(model, x, n_steps=12)                 # 3 pixels a step
    np.testing.assert_allclose(ink.deletion[:, 1:], ink.deletion[:, -1:].repeat(12, 1),
                               rtol=1e-6)
    np.testing.assert_allclose(ink.insertion[:, 1:], ink.insertion[:, -1:].repeat(12, 1),
                               rtol=1e-6)


def test_same_curve_as_quantus_pixel_flipping_on_the_abs_map():
    """Second route: Quantus's PixelFlipping on the |x| map follows the same probabilities.
    The black background is tied in |x|, and Quantus orders it its own way; deleting a black
    pixel to black changes nothing, so the curves still agree."""
    quantus = pytest.importorskip("quantus")
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(144, 3)).eval()
    x = _mnist_like(n=5)
    y = model(x).argmax(1)
    ours = ink_curves(model, x, target=y, n_steps=12, seed=0)
    metric = quantus.PixelFlipping(features_in_step=3, perturb_baseline=0.0, normalise=False,
                                   abs=False, disable_warnings=True)
    theirs = np.array(metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(),
                             a_batch=x.abs().numpy(), device="cpu", softmax=True,
                             channel_first=True))
    np.testing.assert_allclose(ours.deletion[:, 1:], theirs, rtol=1e-5, atol=1e-6)
    # Quantus 0.6's AUC uses np.trapz (gone in NumPy 2): the trapezoid by hand, unit spacing
    np.testing.assert_allclose(curve_auc(ours.deletion[:, 1:], np.arange(12)),
                               np.trapezoid(theirs, dx=1, axis=1), rtol=1e-5)


# ------------------------------------------------------------------------------ paired
def test_paired_advantage_by_hand():
    mean, lo, hi = paired_advantage([0.1, 0.3, 0.2, 0.25], [0.2, 0.4, 0.25, 0.3], seed=0)
    assert mean == pytest.approx(np.mean([0.1, 0.1, 0.05, 0.05]))
    assert 0 < lo <= mean <= hi                    # lower on every image: a clear advantage
    # insertion flips the sign: a lower insertion AUC is a loss
    mean_i, lo_i, hi_i = paired_advantage([0.1, 0.3, 0.2, 0.25], [0.2, 0.4, 0.25, 0.3],
                                          measure="insertion", seed=0)
    assert mean_i == pytest.approx(-mean) and hi_i < 0
    # one image gives no interval
    m1, lo1, hi1 = paired_advantage([0.1], [0.3])
    assert m1 == pytest.approx(0.2) and np.isnan(lo1) and np.isnan(hi1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(aucs=[0.1, 0.2], control=[0.1]), "the same images"),
    (dict(aucs=[0.1, 0.2], control=[0.1, 0.2], measure="area"), "'deletion', 'insertion'"),
    (dict(aucs=[0.1, np.nan], control=[0.1, 0.2]), "finite"),
])
def test_bad_paired_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_advantage(**kwargs)


def test_weight_times_input_beats_the_ink_control_on_a_signed_linear_model():
    """A linear model with weights of both signs: w * x deletes the evidence for the class
    first, the ink order deletes bright pixels of either sign, so w * x wins on the same
    images, and the brightest-first order still beats chance."""
    g = torch.Generator().manual_seed(4)
    w = torch.randn(1, 6, 6, generator=g)
    lin = nn.Linear(36, 2, bias=False)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = w.flatten()
    model = nn.Sequential(nn.Flatten(), lin).eval()
    x = _mnist_like(n=30, seed=4)
    t = torch.ones(30, dtype=torch.long)
    ideal = faithfulness_curves(model, x, w * x, target=t, n_steps=12, n_random=0)
    ink = ink_curves(model, x, target=t, n_steps=12)
    _, lo, _ = paired_advantage(ideal.deletion_auc, ink.deletion_auc, measure="deletion")
    assert lo > 0
    _, lo, _ = paired_advantage(ideal.insertion_auc, ink.insertion_auc, measure="insertion")
    assert lo > 0


# ------------------------------------------------------------------------------ the family
def test_a_map_that_is_the_image_ties_with_the_ink_control_and_the_caption_says_so(pyplot):
    """Equal positive weights: input x gradient, integrated gradients and DeepLIFT against
    black are the image times a constant, the ink order exactly; they must not be called
    faithful to the model, and the words say they are no better than the brightest pixels."""
    x = _mnist_like(n=9, seed=5)
    split = SimpleNamespace(x_test=x, y_test=torch.arange(9) % 3, input_shape=(1, 6, 6),
                            name="toy", classes=("a", "b", "c"))
    lin = nn.Linear(36, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([1.0, 2.0, 3.0])[:, None].expand(3, 36))
        lin.bias.copy_(torch.tensor([4.0, 2.0, 0.0]))
    model = nn.Sequential(nn.Flatten(), lin)
    study = fam.faithfulness_study(model, split, n_images=9, n_steps=6, seed=0,
                                   methods=["saliency", "input_x_gradient",
                                            "integrated_gradients", "deeplift"])
    same = ["input_x_gradient", "integrated_gradients", "deeplift"]
    for measure in ("deletion", "insertion"):
        for m in same:
            np.testing.assert_allclose(getattr(study.curves[m], f"{measure}_auc"),
                                       getattr(study.ink, f"{measure}_auc"), atol=1e-6)
            assert study.against(measure)[m] == "tie"
        assert study.faithful_to_model(measure) not in same
        f = fam._figure(study, measure)
        verb = "deleting" if measure == "deletion" else "revealing"
        assert f"no better than {verb} the brightest pixels first: " in f.caption
        tied = f.caption.split(f"no better than {verb} the brightest pixels first: ")[1]
        tied = tied.split(";")[0].split(".")[0]
        for m in same:
            assert fam._titles()[m] in tied
        assert str(f.data["faithful"]) == (study.faithful_to_model(measure) or "")
        assert "is the most faithful" not in f.caption.split(". ")[0] or \
            str(f.data["faithful"]) not in same


# ------------------------------------------------------------------------------ explain page
def _fake_explanation(best_auc, ink_auc):
    curves = lambda auc: SimpleNamespace(deletion_auc=np.array([auc]),  # noqa: E731
                                         random_deletion_auc=np.array([0.6]))
    return SimpleNamespace(
        classes=("zero", "one"), probabilities=np.array([[0.9, 0.1]]), labels=np.array([0]),
        methods=["saliency", "input_x_gradient"],
        faithfulness={"saliency": curves(0.4), "input_x_gradient": curves(best_auc)},
        ink=SimpleNamespace(deletion_auc=np.array([ink_auc])),
        neighbor_labels=np.array([[0, 0, 1]]), unit_ids=np.array([[3]]),
        unit_scores=np.array([[0.5]]), layer="fc1")


@pytest.mark.parametrize("best_auc, ink_auc, beats", [(0.1, 0.2, True), (0.2, 0.2, False),
                                                      (0.3, 0.2, False)])
def test_explain_caption_weighs_the_best_map_against_the_brightest_pixels(best_auc, ink_auc,
                                                                          beats):
    from vizkit.explain._compute import caption

    words = caption(_fake_explanation(best_auc, ink_auc), 0)
    assert "most faithful map here is input x gradient" in words.lower().replace("×", "x")
    assert f"deletion AUC {best_auc:.3f}" in words and f"{ink_auc:.3f}" in words
    assert ("no better than deleting the brightest pixels first" in words) == (not beats)
    assert "a random order" in words and "0.600" in words
