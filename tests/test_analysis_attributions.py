"""Attributions: hand-worked answers on linear models, completeness, the randomization sanity check,
model state and hooks left as they were, the plots' artists."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import (LAYER_METHODS, METHODS, attributions, cascade_layers,
                                          last_conv_layer, randomization_check, randomized_copy,
                                          rank_correlation)


def _linear_image_model():
    """logits = W @ x.flatten() + b on 1x2x2 images, with hand-chosen weights."""
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 1.0, 0.0, 0.0],
                                       [1.0, -2.0, 0.5, 3.0],
                                       [0.0, 0.0, 0.0, 1.0]]))
        lin.bias.copy_(torch.tensor([0.1, -0.3, 0.2]))
    return nn.Sequential(nn.Flatten(), lin)


def _tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))


def _hooks_left(model):
    n = 0
    for m in model.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        n += len(getattr(m, "_backward_pre_hooks", {}))
    from torch.nn.modules import module as tm

    n += len(tm._global_forward_hooks) + len(tm._global_forward_pre_hooks)
    n += len(tm._global_backward_hooks)
    return n


# ------------------------------------------------------------------------- hand-worked answers
def test_integrated_gradients_of_linear_model_is_weight_times_input_minus_baseline():
    model = _linear_image_model()
    x = torch.tensor([[[[1.0, 1.0], [2.0, 0.0]]]])
    res = attributions(model, x, target=1, methods="integrated_gradients", baseline=0.5)
    # w_1 = [1, -2, 0.5, 3], x - b = [0.5, 0.5, 1.5, -0.5]  ->  [0.5, -1.0, 0.75, -1.5]
    expected = torch.tensor([[[[0.5, -1.0], [0.75, -1.5]]]])
    torch.testing.assert_close(res.maps, expected, atol=1e-5, rtol=0)
    assert res.delta.abs().max() < 1e-5
    assert res.targets.tolist() == [1] and res.method == "integrated_gradients" and res.signed


def test_integrated_gradients_linear_with_tensor_baseline_and_per_input_targets():
    model = _linear_image_model()
    torch.manual_seed(1)
    x, base = torch.rand(4, 1, 2, 2), torch.rand(4, 1, 2, 2)
    targets = [0, 1, 2, 1]
    res = attributions(model, x, target=targets, methods="integrated_gradients", baseline=base)
    w = model[1].weight.detach()[targets].reshape(4, 1, 2, 2)
    torch.testing.assert_close(res.maps, w * (x - base), atol=1e-5, rtol=0)


def test_integrated_gradients_completeness_on_nonlinear_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(),
                          nn.Linear(16, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # strongly curved, so the path integral is not trivial
    x = 2.0 * torch.randn(5, 6)
    base = torch.zeros(5, 6)
    res = attributions(model, x, target=2, methods="integrated_gradients", n_steps=64)
    with torch.no_grad():
        diff = model(x)[:, 2] - model(base)[:, 2]
    total = res.maps.sum(1)
    assert (diff.abs() > 0.2).all()  # not a trivially zero difference
    rel = ((total - diff).abs() / diff.abs()).max()
    assert rel < 0.01, rel
    torch.testing.assert_close(res.delta, total - diff, atol=1e-5, rtol=0)


def test_occlusion_of_linear_model_is_hand_computed_drop():
    lin = nn.Linear(16, 2, bias=True)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = torch.arange(16, dtype=torch.float32) - 8.0
        lin.bias.fill_(0.7)
    model = nn.Sequential(nn.Flatten(), lin)
    x = torch.ones(1, 1, 4, 4)
    res = attributions(model, x, target=1, methods="occlusion", window=2, stride=2, baseline=0.0)
    # 2x2 blocks of w = arange(16) - 8 laid out 4x4; drop of a block = sum of its weights (x = 1)
    w = (torch.arange(16.0) - 8.0).reshape(4, 4)
    block = w.reshape(2, 2, 2, 2).sum((1, 3))  # [[tl, tr], [bl, br]]
    expected = block.repeat_interleave(2, 0).repeat_interleave(2, 1)
    # top-left block: 0-8 + 1-8 + 4-8 + 5-8 = -22
    assert expected[0, 0] == -22.0
    torch.testing.assert_close(res.maps[0, 0], expected, atol=1e-5, rtol=0)
    # one-pixel windows give w * (x - baseline), like integrated gradients on a linear model
    res1 = attributions(model, 0.5 * x, target=1, methods="occlusion", window=1, stride=1,
                        baseline=0.25)
    torch.testing.assert_close(res1.maps[0, 0], w * 0.25, atol=1e-5, rtol=0)


def test_saliency_of_linear_model_is_abs_weight():
    model = _linear_image_model()
    res = attributions(model, torch.rand(2, 1, 2, 2), target=1, methods="saliency")
    w = model[1].weight.detach()[1].abs().reshape(1, 2, 2)
    torch.testing.assert_close(res.maps, w.expand(2, 1, 2, 2), atol=1e-6, rtol=0)
    assert not res.signed


def test_grad_cam_hand_worked_on_identity_conv():
    # conv = identity (1x1, weight 1) -> global average -> logit_0 = 3 * mean(A), logit_1 = -mean(A)
    conv = nn.Conv2d(1, 1, 1, bias=False)
    head = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        head.weight.copy_(torch.tensor([[3.0], [-1.0]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    x = torch.rand(2, 1, 4, 4)
    res = attributions(model, x, target=0, methods="grad_cam")
    # alpha = mean of dlogit/dA = 3/16; cam = relu(alpha * A) = 3/16 * x
    torch.testing.assert_close(res.maps, 3.0 / 16 * x, atol=1e-6, rtol=0)
    assert res.layer == "0"
    # for the negative class every activation counts against it: ReLU leaves nothing
    neg = attributions(model, x, target=1, methods="grad_cam")
    assert torch.count_nonzero(neg.maps) == 0


def test_grad_cam_defaults_to_last_conv_and_upsamples_to_input_size():
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 4))
    assert last_conv_layer(model) == "3" and last_conv_layer(model, rectified=True) == "4"
    res = attributions(model, torch.rand(3, 1, 8, 8), target=None, methods="grad_cam")
    assert res.maps.shape == (3, 1, 8, 8) and res.layer == "3"
    assert (res.maps >= 0).all() and not res.signed
    res0 = attributions(model, torch.rand(1, 1, 8, 8), target=0, methods="grad_cam", layer="0")
    assert res0.layer == "0" and res0.maps.shape == (1, 1, 8, 8)


def test_target_none_explains_predicted_class():
    model = _tiny_cnn()
    x = torch.rand(6, 1, 8, 8)
    res = attributions(model, x, methods="saliency")
    with torch.no_grad():
        assert res.targets.tolist() == model(x).argmax(1).tolist()


def test_input_x_gradient_of_linear_model_is_weight_times_input():
    model = _linear_image_model()
    x = torch.tensor([[[[1.0, 1.0], [2.0, 0.0]]]])
    res = attributions(model, x, target=1, methods="input_x_gradient")
    # w_1 = [1, -2, 0.5, 3], x = [1, 1, 2, 0]  ->  [1, -2, 1, 0]
    torch.testing.assert_close(res.maps, torch.tensor([[[[1.0, -2.0], [1.0, 0.0]]]]))
    assert res.signed and res.delta is None


def test_deeplift_of_linear_model_is_weight_times_input_minus_baseline():
    model = _linear_image_model()
    torch.manual_seed(2)
    x, base = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    res = attributions(model, x, target=[2, 1, 0], methods="deeplift", baseline=base)
    w = model[1].weight.detach()[[2, 1, 0]].reshape(3, 1, 2, 2)
    torch.testing.assert_close(res.maps, w * (x - base), atol=1e-6, rtol=0)


def test_deeplift_completeness_on_relu_net():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # large outputs, so the completeness check is not about tiny numbers
    x, base = 2.0 * torch.randn(5, 6), 0.3 * torch.ones(5, 6)
    res = attributions(model, x, target=1, methods="deeplift", baseline=0.3)
    with torch.no_grad():
        diff = model(x)[:, 1] - model(base)[:, 1]
    assert (diff.abs() > 0.3).all()  # not a trivially zero difference
    # the rescale rule is exact: sum of attributions = f(x) - f(baseline)
    torch.testing.assert_close(res.maps.sum(1), diff, atol=1e-5, rtol=1e-5)
    assert res.delta.abs().max() < 1e-5 and res.settings["baseline"] == 0.3
    # and it is not just the gradient times the input difference on this curved net
    ixg = attributions(model, x - base, target=1, methods="input_x_gradient")
    assert (res.maps - ixg.maps).abs().max() > 1e-3


def test_smoothgrad_without_noise_is_saliency_and_is_seeded():
    model = _tiny_cnn()
    x = torch.rand(3, 1, 8, 8)
    sal = attributions(model, x, target=[0, 1, 2], methods="saliency")
    sg0 = attributions(model, x, target=[0, 1, 2], methods="smoothgrad", noise=0.0, n_samples=4)
    torch.testing.assert_close(sg0.maps, sal.maps, atol=1e-7, rtol=1e-6)
    a = attributions(model, x, target=0, methods="smoothgrad", n_samples=4, seed=3)
    b = attributions(model, x, target=0, methods="smoothgrad", n_samples=4, seed=3)
    c = attributions(model, x, target=0, methods="smoothgrad", n_samples=4, seed=4)
    assert torch.equal(a.maps, b.maps) and not torch.equal(a.maps, c.maps)
    assert a.settings == {"noise": pytest.approx(0.15 * float(x.max() - x.min())),
                          "n_samples": 4, "seed": 3}
    assert not a.signed and (a.maps >= 0).all()


def test_guided_backprop_stops_negative_signals_at_relu():
    # logit = w . relu(x): the gradient is w * (x > 0); guided backprop also zeroes the
    # negative signal w < 0 arriving at the ReLU, so its map is max(w, 0) * (x > 0) >= 0
    lin = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0], [-1.0, -1.0, -1.0, -1.0]]))
    model = nn.Sequential(nn.ReLU(), lin)
    x = torch.tensor([[1.0, 1.0, -1.0, 2.0]])
    res = attributions(model, x, target=0, methods="guided_backprop")
    torch.testing.assert_close(res.maps, torch.tensor([[1.0, 0.0, 0.0, 3.0]]))
    assert (res.maps >= 0).all()
    grad = attributions(model, x, target=0, methods="input_x_gradient").maps / x
    assert grad[0, 1] == -2.0  # the plain gradient keeps the negative weight
    neg = attributions(model, x, target=1, methods="guided_backprop")
    assert torch.count_nonzero(neg.maps) == 0


def test_layer_methods_on_linear_layers_are_weight_times_activation_difference():
    # y = A x + c (layer '0'), logit = W y: both layer methods credit unit j with
    # W[t, j] * (y_j(x) - y_j(baseline)), and sum to f(x) - f(baseline)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    x, base = torch.randn(2, 3), torch.randn(2, 3)
    with torch.no_grad():
        expected = model[1].weight[[1, 0]] * (model[0](x) - model[0](base))
    kw = dict(target=[1, 0], layer="0", baseline=base)
    lig = attributions(model, x, methods="layer_integrated_gradients", n_steps=8, **kw)
    assert lig.layer == "0" and lig.maps.shape == (2, 4) and lig.settings["n_steps"] == 8
    torch.testing.assert_close(lig.maps, expected, atol=1e-5, rtol=1e-5)  # exact: a constant gradient
    # conductance sums the gradient over the steps between quadrature points: it converges
    errors = [(attributions(model, x, methods="layer_conductance", n_steps=n, **kw).maps
               - expected).abs().max() for n in (8, 64)]
    assert errors[1] < 3e-4 and errors[1] < errors[0] / 10, errors


def test_layer_methods_completeness_on_cnn():
    model = _tiny_cnn(seed=1)
    x = torch.rand(3, 1, 8, 8)
    res = attributions(model, x, target=2, methods=["layer_integrated_gradients",
                                                    "layer_conductance"], layer="3", n_steps=64)
    with torch.no_grad():
        diff = model(x)[:, 2] - model(torch.zeros_like(x))[:, 2]
    for r in res.values():
        assert r.maps.shape == (3, 4, 8, 8) and r.layer == "3"
        total = r.maps.flatten(1).sum(1)
        assert ((total - diff).abs() / diff.abs().clamp_min(1e-3)).max() < 0.02
        torch.testing.assert_close(r.delta, total - diff, atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------ sanity check (Adebayo 2018)
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


def test_attribution_layer_is_the_rectified_last_conv_or_none():
    from vizkit.analysis.attributions import attribution_layer
    from vizkit.models import ConvNet, PTDeep

    assert attribution_layer(ConvNet(image_size=8, channels=(2, 3), hidden=4)) == "features.6"
    assert attribution_layer(_tiny_cnn()) == "3"
    assert attribution_layer(PTDeep([4, 3, 2])) is None


# ------------------------------------------------------------------------ state and hooks
@pytest.mark.parametrize("method", METHODS)
def test_model_state_grad_mode_and_hooks_restored(method):
    model = _tiny_cnn()
    model.train()
    model[0].weight.requires_grad_(False)  # a mixed pattern must come back as it was
    flags = [p.requires_grad for p in model.parameters()]
    x = torch.rand(3, 1, 8, 8)
    x0 = x.clone()
    with torch.no_grad():
        res = attributions(model, x, target=[0, 1, 2], methods=method, n_steps=8)
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert _hooks_left(model) == 0
    assert torch.equal(x, x0) and not x.requires_grad
    # layer methods credit the units of the last conv ('2', output [3, 4, 8, 8])
    assert res.maps.shape == ((3, 4, 8, 8) if method in LAYER_METHODS[1:] else x.shape)
    assert res.inputs.shape == x.shape
    assert torch.isfinite(res.maps).all() and res.maps.abs().sum() > 0


def test_no_hooks_left_after_an_error_mid_attribution():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Conv2d(1, 2, 3), Boom())
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        attributions(model, torch.rand(1, 1, 5, 5), target=0, methods="grad_cam")
    assert _hooks_left(model) == 0
    assert model.training and all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"methods": "gradcam"}, ValueError,
     "`methods` must be one of 'saliency', 'smoothgrad', 'input_x_gradient', 'guided_backprop', "
     "'integrated_gradients', 'deeplift', 'occlusion', 'grad_cam', 'layer_integrated_gradients', "
     "'layer_conductance'. Got 'gradcam' instead."),
    ({"methods": ["saliency", "smoothgrd"]}, ValueError, "Got 'smoothgrd' instead"),
    ({"methods": []}, ValueError, "`methods` must name at least one"),
    ({"methods": ["deeplift", "deeplift"]}, ValueError, "names a method twice"),
    ({"methods": "saliency", "target": 7}, ValueError, r"`target` must be in \[0, 2\]"),
    ({"methods": "saliency", "target": [0, 1]}, ValueError, "x has 3 inputs, target has 2"),
    ({"methods": "saliency", "target": 0.5}, TypeError, "`target` must be an int"),
    ({"methods": "integrated_gradients", "n_steps": 0}, ValueError, "`n_steps` must be a positive"),
    ({"methods": "smoothgrad", "n_samples": 0}, ValueError, "`n_samples` must be a positive"),
    ({"methods": "smoothgrad", "noise": -1.0}, ValueError, "`noise` must be a number >= 0"),
    ({"methods": "occlusion", "window": 9}, ValueError, "larger than the input"),
    ({"methods": "grad_cam", "layer": "nope"}, ValueError, "Unknown layer 'nope'.*layer_names"),
    ({"methods": "layer_conductance", "layer": "2."}, ValueError, "Closest names: '2'"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        attributions(_tiny_cnn(), torch.rand(3, 1, 8, 8), **kwargs)


def test_grad_cam_on_model_without_conv_is_a_clear_error():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="grad_cam and the layer methods need a layer.*no nn.Conv2d"):
        attributions(mlp, torch.rand(2, 1, 8, 8), target=0, methods="grad_cam")


# ------------------------------------------------------------------------------------ plots
def test_plot_attribution_signed_map_uses_symmetric_diverging_scale(pyplot):
    from vizkit.plot.style import DIVERGING
    from vizkit.plot.attributions import plot_attribution

    model = _linear_image_model()
    res = attributions(model, torch.ones(1, 1, 2, 2), target=1, methods="integrated_gradients")
    ax = plot_attribution(res, 0)
    im = ax.images[-1]
    lo, hi = im.get_clim()
    assert lo == -hi and hi == pytest.approx(3.0)  # max |w * x| = 3
    assert im.get_cmap().name == DIVERGING
    np.testing.assert_allclose(im.get_array(), res.maps[0, 0].numpy())


def test_plot_attribution_grad_cam_is_overlay_on_image(pyplot):
    from vizkit.plot.attributions import plot_attribution

    res = attributions(_tiny_cnn(), torch.rand(1, 1, 8, 8), target=0, methods="grad_cam")
    fig, ax = pyplot.subplots()
    out = plot_attribution(res, 0, ax=ax)
    assert out is ax and len(ax.images) == 2  # the image, then the heat map on top
    img, heat = ax.images
    np.testing.assert_allclose(img.get_array(), res.inputs[0, 0].numpy())
    assert heat.get_clim()[0] == 0
    m = res.maps[0, 0].numpy()
    # bare image where zero: the opacity the colour map gives each pixel is 0.5 * m / max
    rgba = heat.to_rgba(heat.get_array(), norm=True)
    np.testing.assert_allclose(rgba[..., 3], 0.5 * m / m.max(), atol=0.005)


def test_plot_attributions_grid_has_image_beside_each_method(pyplot):
    from vizkit.plot.attributions import METHOD_TITLES, plot_attributions

    model, x = _tiny_cnn(), torch.rand(2, 1, 8, 8)
    results = attributions(model, x, target=[0, 1], methods=METHODS, n_steps=8, n_samples=2)
    assert list(results) == list(METHODS)
    axes = plot_attributions(results, class_names=["a", "b", "c"])
    assert axes.shape == (2, 1 + len(METHODS))
    assert [a.get_title() for a in axes[0]] == ["input"] + [METHOD_TITLES[m] for m in METHODS]
    assert "a" in axes[0, 0].get_ylabel() and "b" in axes[1, 0].get_ylabel()
    # digits white on black: grey, 0 black, 1 white
    im = axes[1, 0].images[0]
    np.testing.assert_allclose(im.get_array(), x[1, 0].numpy())
    assert im.get_cmap().name == "gray" and im.get_clim() == (0, 1)
    # every map normalized by its own largest |value|, one colourbar per method column
    c = 1 + METHODS.index("deeplift")
    m = results["deeplift"].maps[1, 0].numpy()
    np.testing.assert_allclose(axes[1, c].images[-1].get_array(), m / np.abs(m).max(), rtol=1e-6)
    assert axes[1, c].images[-1].get_clim() == (-1.0, 1.0)
    bars = [a for a in axes[0, 0].figure.axes if a.get_xlabel() == "÷ max |map|"]
    assert len(bars) == len(METHODS)
    # a layer map of another size than the image is stretched over it
    c = 1 + METHODS.index("layer_conductance")
    assert axes[0, c].images[-1].get_extent() == [-0.5, 7.5, 7.5, -0.5]
    with pytest.raises(ValueError, match="same inputs"):
        plot_attributions([results["saliency"], attributions(model, x.flip(0), target=0)])


# ------------------------------------------- layer choice lives in analysis (issue 10), per family
def test_layer_choice_helpers_of_actmax_and_receptive_fields():
    from vizkit.analysis.actmax import hidden_targets
    from vizkit.analysis.receptive_fields import conv_field_units, mlp_field_layers
    from vizkit.models import ConvNet, PTDeep

    cnn = ConvNet(image_size=8, channels=(2, 20), hidden=4)
    # a bias-free conv feeding a batch norm is read after the norm: 9 channel means + the layer
    name, targets, kind = hidden_targets(cnn)
    assert (name, kind) == ("features.5", "channel means")
    assert targets == [f"features.5:{k}" for k in range(9)] + ["features.5"]
    assert hidden_targets(PTDeep([4, 3, 2]), n_units=5) == (
        "layers.0", ["layers.0:0", "layers.0:1", "layers.0:2", "layers.0"], "units")
    assert hidden_targets(nn.Linear(3, 2)) is None
    assert conv_field_units(cnn, "features.4") == list(range(16))
    assert conv_field_units(cnn, "features.0") == [0, 1]
    with pytest.raises(ValueError, match="must name an nn.Conv2d. Got BatchNorm2d"):
        conv_field_units(cnn, "features.5")
    assert mlp_field_layers(PTDeep([4, 20, 12, 3])) == [(1, "layers.0", 16), (2, "layers.2", 8),
                                                        (3, "layers.4", 10)]
    assert mlp_field_layers(cnn) == []


def test_grad_cam_overlay_opacity_is_in_its_colour_map_so_the_colourbar_shows_it():
    """The overlay's opacity rises with the map (0 at 0, alpha at the top); it lives in the colour
    map, so the colourbar (drawn over black, the inputs' background) shows the colours as drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vizkit.plot.attributions import plot_attributions

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 64, 4))
    res = attributions(model, torch.rand(2, 1, 8, 8), target=0, methods="grad_cam")
    axes = plot_attributions([res], alpha=0.5)
    fig = np.asarray(axes).ravel()[0].figure
    overlay = [im for ax in np.asarray(axes).ravel() for im in ax.get_images()
               if im.cmap.name.endswith("_fading")]
    assert len(overlay) == 2 and all(im.get_alpha() is None for im in overlay)
    cm = overlay[0].cmap
    assert cm(0.0)[3] == pytest.approx(0.0) and cm(1.0)[3] == pytest.approx(0.5)
    assert cm(0.5)[3] == pytest.approx(0.25, abs=0.01)
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert bars and matplotlib.colors.to_hex(bars[-1].get_facecolor()) == "#000000"
    plt.close(fig)
