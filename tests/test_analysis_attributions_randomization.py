"""Attributions' randomization sanity check (Adebayo et al., 2018): rank correlations, the
cascade of re-initialized layers, the paper's measures (Spearman of signed and absolute maps,
SSIM) checked against Quantus, the input-structure control and the verdicts drawn from them."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import (PERSISTS, RandomizationCheck, attributions,
                                          cascade_labels, cascade_layers, input_structure,
                                          map_similarity, method_agreement, randomization_check,
                                          randomized_copy, rank_correlation)


def _informative_pixel_data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    # the class depends only on two 2x2 patches
    score = x[:, 0, 1:3, 1:3].sum((1, 2)) - x[:, 0, 5:7, 5:7].sum((1, 2))
    return x, (score > 0).long()


def test_randomized_weights_give_clearly_different_saliency():
    torch.manual_seed(0)
    x, y = _informative_pixel_data(n=200)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    assert (model(x).argmax(1) == y).float().mean() > 0.9
    before = [p.detach().clone() for p in model.parameters()]
    rand = randomized_copy(model, seed=1)
    for p, q in zip(model.parameters(), before):  # the caller's model is untouched
        assert torch.equal(p, q)
    xs = x[:20]
    sal = attributions(model, xs, target=1, methods="saliency")
    sal_again = attributions(model, xs, target=1, methods="saliency")
    sal_rand = attributions(rand, xs, target=1, methods="saliency")
    assert rank_correlation(sal, sal_again).min() > 0.999
    # the trained model looks at the informative patches, the random one does not
    assert rank_correlation(sal, sal_rand).mean() < 0.3
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[1:3, 1:3] = mask[5:7, 5:7] = True
    frac = sal.maps[:, 0][:, mask].sum() / sal.maps.sum()
    assert frac > 0.35  # 8 of 64 pixels (12.5 %) carry a large share of the saliency


def test_rank_correlation_matches_spearman_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(3, 20)).astype(float)  # many ties
    b = rng.normal(size=(3, 20))
    ours = rank_correlation(a, b)
    ref = [spearmanr(a[i], b[i]).statistic for i in range(3)]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(rank_correlation(b, -b), [-1, -1, -1])


def test_cascade_layers_and_cascading_randomized_copy():
    from vizkit.models import ConvNet

    torch.manual_seed(0)
    net = ConvNet(image_size=8, n_classes=3, channels=(2, 3), hidden=4)
    with torch.no_grad():
        for q in net.parameters():
            q.add_(0.5)  # "trained": BatchNorm's (1, 0) would come back unchanged from a reset
    steps = cascade_layers(net)
    # top first; each conv takes its BatchNorm along
    assert steps == ["classifier.4", "classifier.1", "features.4", "features.0"]
    top2 = randomized_copy(net, layers=steps[:2], seed=5)
    top3 = randomized_copy(net, layers=steps[:3], seed=5)
    p, p2, p3 = (dict(m.named_parameters()) for m in (net, top2, top3))
    for name in p:
        changed2, changed3 = not torch.equal(p[name], p2[name]), not torch.equal(p[name], p3[name])
        assert changed2 == name.startswith(("classifier.4.", "classifier.1.")), name
        assert changed3 == name.startswith(("classifier.", "features.4.", "features.5.")), name
        if changed2:  # a layer gets the same new weights at every step of the cascade
            assert torch.equal(p2[name], p3[name])
    with pytest.raises(ValueError, match="cascade_layers"):
        randomized_copy(net, layers=["nope"])


def test_rank_correlation_over_nonzero_ignores_a_shared_zero_background():
    from scipy.stats import spearmanr

    # two 8x8 "digits" with the same black background (52 zeros) and the same 12 inked pixels,
    # whose values on the ink are ranked in opposite orders
    ink = torch.zeros(8, 8, dtype=torch.bool)
    ink[2:6, 3:6] = True
    a, b = torch.zeros(2, 8, 8), torch.zeros(2, 8, 8)
    vals = torch.arange(1.0, 13.0)
    a[0][ink], b[0][ink] = vals, vals.flip(0)
    g = torch.Generator().manual_seed(0)
    a[1][ink], b[1][ink] = torch.rand(12, generator=g) + 0.1, torch.rand(12, generator=g) + 0.1
    whole = rank_correlation(a, b)
    nonzero = rank_correlation(a, b, over="nonzero")
    assert whole[0] > 0.75 and nonzero[0] == pytest.approx(-1.0)  # tied zeros hold 'all' up
    ref = spearmanr(a[1][ink].numpy(), b[1][ink].numpy()).statistic  # second route: on the ink
    assert nonzero[1] == pytest.approx(ref) and whole[1] > nonzero[1] + 0.5
    # a map whose support moved: negative, where the whole map still looks alike
    c = torch.zeros(1, 8, 8)
    c[0, 0, :3] = torch.tensor([1.0, 2.0, 3.0])
    d = torch.zeros(1, 8, 8)
    d[0, 7, :3] = torch.tensor([1.0, 2.0, 3.0])
    assert rank_correlation(c, d, over="nonzero")[0] < -0.5 < rank_correlation(c, d)[0]
    # tiny rounding noise counts as zero; an all-zero pair is undefined
    np.testing.assert_allclose(rank_correlation(a[:1] + 1e-9 * (~ink), b[:1], over="nonzero"),
                               [-1.0])
    assert np.isnan(rank_correlation(torch.zeros(1, 5), torch.zeros(1, 5), over="nonzero")[0])
    with pytest.raises(ValueError, match="`over` must be one of 'all', 'nonzero'. Got 'ink'"):
        rank_correlation(a, b, over="ink")


def _ink_digits(n=6, size=8, seed=1):
    """Binary "digits": a random stroke of ink on black, as MNIST's background is."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, size, size)
    for i in range(n):
        r, c = torch.randint(1, size - 4, (2,), generator=g).tolist()
        x[i, 0, r:r + 4, c:c + 2] = 1.0
        x[i, 0, r + 3, c:c + 4] = 1.0
    return x


def test_map_similarity_matches_quantus_and_scipy_on_the_same_maps():
    # the second route: Quantus's own similarity functions (those MPRT uses) on the same maps
    from quantus.functions.similarity_func import correlation_spearman, ssim
    from scipy.stats import spearmanr

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 64, 3))
    x = _ink_digits(n=5, size=8)
    chk = randomization_check(net, x, target=1, methods=["saliency", "guided_backprop"], seed=3)
    assert chk.layers == ("3", "0") and chk.labels == ("fc1", "conv1")
    for r, m in enumerate(chk.methods):
        ref = chk.maps[m][0][:, 0].numpy()
        for k in range(len(chk.layers)):
            new = chk.maps[m][k + 1][:, 0].numpy()
            for i in range(len(x)):
                a, b = ref[i], new[i]
                assert chk.spearman_signed[r, k, i] == pytest.approx(
                    correlation_spearman(a.ravel(), b.ravel()), abs=1e-9)
                assert chk.spearman_abs[r, k, i] == pytest.approx(
                    spearmanr(np.abs(a).ravel(), np.abs(b).ravel()).statistic, abs=1e-9)
                na, nb = np.abs(a) / np.abs(a).max(), np.abs(b) / np.abs(b).max()
                assert chk.ssim[r, k, i] == pytest.approx(ssim(na, nb), abs=1e-6)  # float32 maps
            # the control, for the same maps: Spearman with the ink and with Sobel edges
            from skimage.filters import sobel

            ctrl = input_structure(chk.maps[m][k + 1], x)
            for i in range(len(x)):
                ink = x[i, 0].numpy()
                assert ctrl["ink"][i] == pytest.approx(
                    correlation_spearman(np.abs(new[i]).ravel(), ink.ravel()), abs=1e-9)
                assert ctrl["edges"][i] == pytest.approx(
                    correlation_spearman(np.abs(new[i]).ravel(), sobel(ink).ravel()), abs=1e-9)
            np.testing.assert_allclose(chk.input_ink[r, k + 1], ctrl["ink"])
    # unsigned saliency: the signed and absolute measures are the same numbers
    np.testing.assert_allclose(chk.spearman_signed[0], chk.spearman_abs[0])
    assert chk.signed == (False, True)
    again = randomization_check(net, x, target=1, methods=["saliency", "guided_backprop"], seed=3)
    np.testing.assert_array_equal(again.ssim, chk.ssim)


def _check_from(trained, randomized, x, *, signed=True, threshold=0.5, input_threshold=0.25):
    """A one-step check built from hand-made maps through the public measures."""
    sims = map_similarity(trained, randomized)
    ctrl = [input_structure(m, x) for m in (trained, randomized)]
    return RandomizationCheck(
        methods=("m",), layers=("fc",), labels=("fc1",),
        maps={"m": torch.stack([trained, randomized])},
        **{k: v[None, None] for k, v in sims.items()},
        input_ink=np.stack([c["ink"] for c in ctrl])[None],
        input_edges=np.stack([c["edges"] for c in ctrl])[None], signed=(signed,),
        threshold=threshold, input_threshold=input_threshold, inputs=x,
        targets=torch.zeros(len(x), dtype=torch.long), seed=0)


def test_verdicts_flip_when_they_should_on_hand_made_maps():
    x = _ink_digits(n=6)
    g = torch.Generator().manual_seed(5)
    trained = torch.randn(x.shape, generator=g)
    noise = torch.randn(x.shape, generator=g)
    # a randomized map that is the input's ink: the control says it follows the input, and
    # its magnitude persists only where the trained map followed the ink too (here it did not)
    follows = _check_from(trained, x.clone(), x)
    assert "input ink" in follows.persists()["m"] and "sign" not in follows.persists()["m"]
    assert follows.mean("input_ink")[0, -1] == pytest.approx(1.0)
    assert follows.passes == ()
    # an unrelated map: nothing persists, the method passes
    fresh = _check_from(trained, noise, x)
    assert fresh.persists() == {"m": ()} and fresh.passes == ("m",)
    # the same map scaled: sign and magnitude persist; reversed: the sign is reversed and the
    # magnitude persists (Spearman of the absolute maps is 1)
    assert _check_from(trained, 3 * trained, x).persists()["m"] == ("sign", "magnitude")
    rev = _check_from(trained, -trained, x)
    assert rev.persists()["m"] == ("reversed sign", "magnitude")
    assert rev.mean("spearman_signed")[0, -1] == pytest.approx(-1.0)
    # an unsigned method has no sign to keep
    assert _check_from(trained.abs(), 3 * trained.abs(), x, signed=False).persists()["m"] == (
        "magnitude",)
    # the thresholds decide: the same ink-following map passes a stricter control
    assert "input ink" not in _check_from(trained, x + 0.3 * noise.abs(), x,
                                          input_threshold=0.99).persists()["m"]
    assert set(PERSISTS) >= {t for c in (follows, rev) for t in c.persists()["m"]}
    with pytest.raises(ValueError, match="`measure` must be one of"):
        follows.mean("pearson")


def test_input_x_gradient_follows_the_ink_of_a_randomized_linear_model():
    # natural route: |x * w'| for a re-initialized linear model is non-zero exactly on the ink,
    # so it follows the input's ink; on binary ink its values there are |w'|, unrelated to the
    # trained |x * w|: the whole-image rho of |maps| is high only through the shared zeros, the
    # magnitude does not persist. Saliency |w'| does not depend on x.
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    x = _ink_digits(n=6)
    chk = randomization_check(lin, x, target=0, methods=["saliency", "input_x_gradient"],
                              input_threshold=0.25, seed=1)
    p = chk.persists()
    assert "input ink" in p["input_x_gradient"]
    assert "magnitude" not in p["input_x_gradient"] and "sign" not in p["input_x_gradient"]
    assert chk.mean("spearman_abs")[1, -1] > 0.5 > abs(chk.mean("spearman_abs_ink")[1, -1])
    assert chk.mean("null_abs")[1] > 0.5  # |ink * noise| reaches the whole-image number too
    assert p["saliency"] == () and chk.passes == ("saliency",)
    assert chk.mean("input_ink")[1, -1] > 0.9 > 0.25 > abs(chk.mean("input_ink")[0, -1])
    # the trained maps are compared with themselves nowhere: shapes are per step
    assert chk.spearman_abs.shape == (2, 1, 6) and chk.input_edges.shape == (2, 2, 6)
    with pytest.raises(ValueError, match="`input_threshold` must be a number in"):
        randomization_check(lin, x, input_threshold=1.5)


def test_input_structure_on_a_layer_map_of_another_resolution():
    x = _ink_digits(n=3, size=8)
    pooled = nn.functional.avg_pool2d(x, 2)  # a 4x4 "layer map" equal to the pooled ink
    layer_map = torch.cat([pooled, 0 * pooled], dim=1)  # two channels, summed
    ctrl = input_structure(layer_map, x)
    np.testing.assert_allclose(ctrl["ink"], 1.0)
    with pytest.raises(ValueError, match="same length"):
        input_structure(layer_map[:2], x)
    with pytest.raises(ValueError, match="same shape"):
        map_similarity(layer_map, x)
    # SSIM needs 3x3 windows: a 2x2 map gives NaN, not a made-up number
    assert np.isnan(map_similarity(torch.rand(1, 2, 2), torch.rand(1, 2, 2))["ssim"][0])


def test_method_agreement_finds_views_that_coincide():
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    x = torch.rand(4, 1, 4, 4)
    res = attributions(lin, x, target=1, methods=["integrated_gradients", "deeplift",
                                                  "input_x_gradient", "saliency"])
    agree = method_agreement(res)
    assert len(agree) == 6
    # a linear model with a black baseline: IG = DeepLIFT = x * w exactly
    np.testing.assert_allclose(agree[("integrated_gradients", "deeplift")], 1.0, atol=1e-9)
    np.testing.assert_allclose(agree[("deeplift", "input_x_gradient")], 1.0, atol=1e-9)
    assert (agree[("input_x_gradient", "saliency")] < 0.95).all()


def test_cascade_labels_name_layers_for_students():
    from vizkit.models import ConvNet

    net = ConvNet(image_size=8, n_classes=3, channels=(2, 3), hidden=4)
    steps = cascade_layers(net)
    assert cascade_labels(net, steps) == ["fc2", "fc1", "conv2", "conv1"]
    assert cascade_labels(nn.Sequential(nn.BatchNorm1d(3)), ["0"]) == ["batch norm1d"]
