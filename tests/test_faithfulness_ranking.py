"""Faithfulness measured: AUC intervals and rankings, the family's figures on toy models, and
Quantus's pixel flipping on real attribution maps as a second route."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import attributions
from vizkit.analysis.faithfulness import (auc_interval, curve_auc, faithfulness_curves,
                                          rank_aucs)
from vizkit.figures import faithfulness as fam


def _linear(w: torch.Tensor) -> nn.Module:
    lin = nn.Linear(w.numel(), 2, bias=False)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = w.flatten()
    return nn.Sequential(nn.Flatten(), lin)


def _toy_split(n=12, shape=(1, 6, 6), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *shape, generator=g)
    x[x < 0.5] = 0.0                                      # a black background, as MNIST
    return SimpleNamespace(x_test=x, y_test=torch.arange(n) % 3, input_shape=shape, name="toy",
                           classes=("a", "b", "c"))


# ------------------------------------------------------------------------- intervals, ranking
def test_interval_brackets_the_mean_and_narrows_with_more_images():
    rng = np.random.default_rng(0)
    v = rng.normal(0.3, 0.1, 400)
    m, lo, hi = auc_interval(v, seed=1)
    assert lo < m < hi and m == pytest.approx(v.mean())
    m4, lo4, hi4 = auc_interval(v[:25], seed=1)
    assert hi - lo < hi4 - lo4
    assert auc_interval(v, seed=1) == auc_interval(v, seed=1)     # seeded


def test_uncommon_intervals_one_image_and_constant_values():
    m, lo, hi = auc_interval([0.4])
    assert m == 0.4 and np.isnan(lo) and np.isnan(hi)
    assert auc_interval([0.2, 0.2, 0.2]) == (pytest.approx(0.2),) * 3


@pytest.mark.parametrize("values, kw, message", [
    ([], {}, "non-empty"), ([0.1, np.nan], {}, "NaN"), ([0.1, 0.2], {"confidence": 1.0},
                                                         r"in \(0, 1\)"),
    ([0.1, 0.2], {"n_resamples": 0}, "`n_resamples` must be an int >= 1")])
def test_bad_interval_input_is_named(values, kw, message):
    with pytest.raises(ValueError, match=message):
        auc_interval(values, **kw)


def test_ranking_names_a_winner_only_when_it_clears_the_runner_up():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.5, 100)                      # image difficulty, shared
    clear = rank_aucs({"b": base + 0.3, "a": base, "c": base + 0.31})
    assert clear.methods[0] == "a" and clear.best == "a" and clear.tied == ("a",)
    assert set(clear.behind) == {"b", "c"}
    assert np.all(np.diff(clear.means) >= 0)
    # b is worse by 0.01 on every image: the marginal intervals overlap, the paired one does not
    paired = rank_aucs({"a": base, "b": base + 0.01})
    assert paired.best == "a" and paired.behind == ("b",)
    assert paired.high[0] > paired.low[1]                  # an unpaired rule would call a tie
    # b differs from a by noise around 0 on each image: no winner
    close = rank_aucs({"a": base, "b": base + rng.normal(0.0, 0.05, 100)})
    assert close.best is None and set(close.tied) == {"a", "b"} and close.behind == ()
    assert "tie" in close.verdict() and "most faithful" in clear.verdict({"a": "A"})
    # insertion: higher is better, the order turns round
    ins = rank_aucs({"a": base, "b": base + 0.3}, measure="insertion")
    assert ins.methods == ("b", "a") and ins.best == "b"


def test_ranking_of_one_image_or_equal_methods_claims_nothing():
    one = rank_aucs({"a": [0.1], "b": [0.9]})
    assert one.best is None and one.tied == ("a", "b") and np.isnan(one.low).all()
    same = rank_aucs({"a": [0.2, 0.3, 0.4], "b": [0.2, 0.3, 0.4]})
    assert same.best is None and same.methods == ("a", "b")       # ties keep the given order


@pytest.mark.parametrize("aucs, kw, message", [
    ({}, {}, "at least one method"), ({"a": [0.1, 0.2], "b": [0.1]}, {}, "one AUC per image"),
    ({"a": [0.1]}, {"measure": "auc"}, "'deletion', 'insertion'")])
def test_bad_ranking_input_is_named(aucs, kw, message):
    with pytest.raises(ValueError, match=message):
        rank_aucs(aucs, **kw)


# ------------------------------------------------------------------------- known orders
def test_weight_times_input_is_the_best_deletion_order_of_a_linear_model():
    """For logit_1 = w . x the contributions w_i x_i are the exact effect of deleting pixel i, so
    Captum's input x gradient gives the ideal order: it must beat a random order and the reversed
    order, clearly (intervals apart) over 40 images."""
    g = torch.Generator().manual_seed(0)
    w = torch.randn(1, 5, 5, generator=g)
    x = torch.rand(40, 1, 5, 5, generator=g)
    model = _linear(w)
    ixg = attributions(model, x, target=1, methods="input_x_gradient").maps
    torch.testing.assert_close(ixg, (w * x).float(), rtol=1e-5, atol=1e-6)
    best = faithfulness_curves(model, x, ixg, target=1, n_steps=25, n_random=3, seed=0)
    worst = faithfulness_curves(model, x, -ixg, target=1, n_steps=25, n_random=0)
    rank = rank_aucs({"w*x": best.deletion_auc, "random": best.random_deletion_auc,
                      "reversed": worst.deletion_auc})
    assert rank.methods == ("w*x", "random", "reversed") and rank.best == "w*x"
    assert np.all(best.deletion <= worst.deletion + 1e-9)


def test_constant_map_follows_the_pixels_order_and_ties_are_stable():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(9, 2))
    x = torch.rand(3, 1, 3, 3)
    flat = faithfulness_curves(model, x, np.ones((3, 1, 3, 3)), target=0, n_steps=9, n_random=0)
    by_hand = []
    for k in range(10):                                  # pixels 0..k-1 deleted, in raster order
        xk = x.clone().flatten(1)
        xk[:, :k] = 0
        by_hand.append(torch.softmax(model(xk.view_as(x)), 1)[:, 0].detach().numpy())
    np.testing.assert_allclose(flat.deletion, np.stack(by_hand, 1), rtol=1e-6)


# ------------------------------------------------------------------------- the family
@pytest.mark.parametrize("conv", [True, False])
def test_family_figures_say_what_their_arrays_hold(pyplot, conv):
    from vizkit.gallery._context import _min_font
    from vizkit.gallery._record import slide_text_px

    torch.manual_seed(0)
    split = _toy_split()
    model = (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                           nn.Linear(144, 3)) if conv else
             nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 3)))
    study = fam.faithfulness_study(model, split, n_images=10, seed=0, n_steps=6)
    assert ("grad_cam" in study.methods) == conv
    assert study.indices[:3].tolist() == [0, 1, 2]       # the attributions family's examples
    assert len(set(study.indices.tolist())) == 10
    for measure in ("deletion", "insertion"):
        f = fam._figure(study, measure)
        d = f.data
        for m in study.methods:
            assert d[f"auc_{m}"].shape == (10,)
            assert 0 <= d[f"curve_{m}"].min() and d[f"curve_{m}"].max() <= 1
            i = list(d["methods"]).index(m)
            assert d["means"][i] == pytest.approx(d[f"auc_{m}"].mean())
            assert d["low"][i] <= d["means"][i] <= d["high"][i]
            np.testing.assert_allclose(curve_auc(getattr(study.curves[m], measure),
                                                 d["fractions"]), d[f"auc_{m}"])
        # the all-black level is where deletion ends and insertion starts
        end = d[f"curve_{study.methods[0]}"][-1 if measure == "deletion" else 0]
        assert end == pytest.approx(d["blank"].mean())
        words = f.caption
        assert words.startswith(measure.capitalize() + ":")
        assert f"{measure} AUC ({'lower' if measure == 'deletion' else 'higher'} is better)" \
            in words and "0 (black)" in words and f"p = {d['blank'].mean():.2f}" in words
        best, faithful = str(d["best"]), str(d["faithful"])
        lead = words.split(". ")[0]
        assert ("is the most faithful" in lead) == bool(faithful)
        assert (" tie " in lead) != bool(best)
        assert not faithful or faithful == best
        # the ink control is drawn and scored like a method, beside the random order
        assert list(d["controls"]) == ["ink", "random"]
        assert d["control_means"][0] == pytest.approx(d["auc_ink"].mean())
        assert d["control_means"][1] == pytest.approx(d["auc_random"].mean())
        np.testing.assert_allclose(curve_auc(getattr(study.ink, measure), d["fractions"]),
                                   d["auc_ink"])
        assert f"ink control ({'deleting' if measure == 'deletion' else 'revealing'} the " \
            f"brightest pixels first) {d['control_means'][0]:.3f}" in words
        sign = 1 if measure == "deletion" else -1
        for i, m in enumerate(d["methods"]):
            assert d["vs_ink_mean"][i] == pytest.approx(
                sign * (d["auc_ink"] - d[f"auc_{m}"]).mean())
            assert d["against_ink"][i] == ("better" if d["vs_ink_low"][i] > 0 else "worse"
                                           if d["vs_ink_high"][i] < 0 else "tie")
        for ax in f.fig.axes[:-1]:
            assert len(ax.get_legend().get_texts()) <= 6
        assert [t.get_text() for t in f.fig.legends[0].get_texts()][:2] == [
            "brightest pixels first (ink control)", "random order"]
        assert ("set to black" if measure == "deletion" else "on a black image") in \
            f.fig.axes[0].get_xlabel()
        w, h = f.fig.get_size_inches() * 220
        assert slide_text_px(_min_font(f.fig), int(w), int(h), 220) >= 20


def test_family_applies_only_to_torch_image_models():
    assert "nn.Module" in fam.applies(object(), _toy_split())
    assert "[C, H, W]" in fam.applies(nn.Linear(4, 2), SimpleNamespace(input_shape=(4,),
                                                                      name="v"))
    with pytest.raises(ValueError, match="credit a layer's units"):
        fam.faithfulness_study(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(32, 3)),
                               _toy_split(), methods=["layer_conductance"])


# ------------------------------------------------------------------------- second route
def test_quantus_pixel_flipping_on_captum_maps_gives_the_same_curves():
    quantus = pytest.importorskip("quantus")
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(64, 3)).eval()
    x = torch.rand(5, 1, 4, 4) + 0.1                     # no black pixel: no tied map values
    y = model(x).argmax(1)
    for method in ("integrated_gradients", "occlusion", "saliency"):
        maps = attributions(model, x, target=y, methods=method,
                            **({"window": 1, "stride": 1} if method == "occlusion" else {})).maps
        ours = faithfulness_curves(model, x, maps, target=y, n_steps=16, n_random=0)
        metric = quantus.PixelFlipping(features_in_step=1, perturb_baseline=0.0,
                                       normalise=False, abs=False, disable_warnings=True)
        theirs = np.array(metric(model=model, x_batch=x.numpy(), y_batch=y.numpy(),
                                 a_batch=maps.numpy(), device="cpu", softmax=True,
                                 channel_first=True))
        np.testing.assert_allclose(ours.deletion[:, 1:], theirs, rtol=1e-5, atol=1e-6,
                                   err_msg=method)
        np.testing.assert_allclose(curve_auc(ours.deletion[:, 1:], np.arange(16)),
                                   np.trapezoid(theirs, dx=1, axis=1), rtol=1e-5)


def test_a_tie_for_first_stops_at_the_first_method_the_best_beats():
    # c has a wide interval (not separable from a) but ranks below b, which a clearly beats:
    # c must not "tie for first" with a; it is named as unsettled instead
    from vizkit.analysis.faithfulness import rank_aucs

    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.2, 200)
    b = a + 0.01 + rng.normal(0, 0.002, 200)          # always a little worse: clearly behind
    c = a + 0.03 + rng.normal(0, 0.6, 200)            # worse on average, very noisy
    r = rank_aucs({"a": a, "b": b, "c": c})
    assert r.methods == ("a", "b", "c")
    assert r.best == "a" and r.tied == ("a",) and r.behind == ("b",) and r.unsettled == ("c",)
    r = rank_aucs({"a": a, "c": c})  # without b between them, c does tie with a
    assert r.tied == ("a", "c") and r.best is None and r.unsettled == ()
