"""Attributions' randomization sanity check (Adebayo et al., 2018): rank correlations, the
cascade of re-initialized layers and the measure the labels come from."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import (attributions, cascade_layers, randomization_check,
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


def test_randomization_check_labels_from_the_nonzero_measure():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 3))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 1, 8, 8, generator=g) * (torch.rand(6, 1, 8, 8, generator=g) < 0.2)
    chk = randomization_check(model, x, target=0, methods=["saliency", "input_x_gradient"],
                              threshold=0.5, seed=0)
    assert chk.layers == ("3", "1") and chk.correlations.shape == (2, 2, 6)
    assert chk.whole_correlations.shape == (2, 2, 6)
    assert chk.maps["saliency"].shape == (3, 6, 1, 8, 8)
    torch.testing.assert_close(chk.maps["saliency"][0], chk.trained["saliency"].maps)
    # the second route: each correlation is rank_correlation of the absolute maps
    ixg = chk.maps["input_x_gradient"]
    np.testing.assert_allclose(chk.correlations[1, 0],
                               rank_correlation(ixg[0].abs(), ixg[1].abs(), over="nonzero"))
    np.testing.assert_allclose(chk.whole_correlations[1, 0],
                               rank_correlation(ixg[0].abs(), ixg[1].abs()))
    # input x gradient is 0 wherever the input is (80 %): the whole map keeps a high rho from
    # those shared zeros, the measure over the ink does not, so nothing is labelled unchanged
    assert chk.shared_zeros[1] > 0.7 > chk.shared_zeros[0]
    assert chk.final_whole[1] > 0.5 > chk.final[1]
    assert chk.final[0] < 0.5 and chk.unchanged == ()
    np.testing.assert_allclose(chk.final, np.nanmean(chk.correlations[:, -1], -1))
    again = randomization_check(model, x, target=0, methods=["saliency", "input_x_gradient"])
    np.testing.assert_array_equal(again.correlations, chk.correlations)
    # a map that follows the input, not the weights, is still labelled: ink spread over three
    # orders of magnitude outweighs any re-initialized weight in |x * w|
    lin = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with torch.no_grad():
        lin[1].weight.fill_(1.0)
    spread = (x > 0) * 10 ** (-3 * torch.rand(x.shape, generator=g))
    same = randomization_check(lin, spread, target=0, methods=["saliency", "input_x_gradient"])
    assert same.final[1] > 0.8 and same.unchanged == ("input_x_gradient",)
    with pytest.raises(ValueError, match="`threshold` must be a number in"):
        randomization_check(model, x, threshold=2)


def test_layer_methods_on_relu_units_that_stay_off_are_not_correlated_by_their_zeros():
    # x binary with 25 % ink -> 1x1 conv (weight 1, no bias) -> ReLU (layer '1') -> linear head.
    # Both layer methods credit unit j with a_j * W[t, j] (a_j = x_j, exactly), so after the
    # head is re-initialized the maps on the inked units are |W[t]| against |W'[t]|: unrelated.
    # Over the whole map the 75 % off units tie in both maps and hold rho near 1 (the ρ = 1.00
    # the gallery showed for layer integrated gradients and conductance after 'classifier.*').
    conv = nn.Conv2d(1, 1, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    torch.manual_seed(0)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(36, 2))
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(8, 1, 6, 6, generator=g) < 0.25).float()
    methods = ["layer_integrated_gradients", "layer_conductance"]
    chk = randomization_check(model, x, target=1, methods=methods, layer="1", n_steps=16,
                              layers=["3"], seed=2)
    rand = randomized_copy(model, layers=["3"], seed=2)
    w, w_new = model[3].weight[1].detach().view(6, 6), rand[3].weight[1].detach().view(6, 6)
    from scipy.stats import spearmanr

    for r, m in enumerate(methods):
        tol = 1e-4 if m == "layer_integrated_gradients" else 2e-2  # conductance: quadrature
        torch.testing.assert_close(chk.maps[m][1][:, 0], x[:, 0] * w_new, atol=tol, rtol=tol)
        hand = [spearmanr(w.abs()[x[i, 0] > 0], w_new.abs()[x[i, 0] > 0]).statistic
                for i in range(8)]
        np.testing.assert_allclose(chk.correlations[r, 0], hand, atol=1e-6)
        assert chk.whole_correlations[r, 0].mean() > 0.8 > 0.5 > chk.final[r]
    assert chk.unchanged == ()
