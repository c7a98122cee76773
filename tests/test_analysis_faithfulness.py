"""Deletion / insertion curves (pixel flipping): hand-worked linear cases, seeds, Quantus."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis import (attribution_order, curve_auc, faithfulness_curves,
                             perturbation_curves, random_order)


def _two_class_linear(w: torch.Tensor) -> nn.Module:
    """logit_1 = w . x, logit_0 = 0: p(class 1) = sigmoid(w . x), monotone in every pixel."""
    lin = nn.Linear(w.numel(), 2, bias=False)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = w.flatten()
    return nn.Sequential(nn.Flatten(), lin)


@pytest.fixture
def linear_case():
    g = torch.Generator().manual_seed(3)
    w = torch.rand(1, 4, 4, generator=g) + 0.1          # positive evidence everywhere
    x = torch.rand(5, 1, 4, 4, generator=g) * 0.5 + 0.1
    return _two_class_linear(w), x, w


def test_ideal_order_is_lowest_reverse_highest_random_between(linear_case):
    model, x, w = linear_case
    best = (w * x).numpy()                                # the contributions: the ideal order
    res = faithfulness_curves(model, x, best, target=1, n_steps=16, n_random=8, seed=0)
    worst = faithfulness_curves(model, x, -best, target=1, n_steps=16, n_random=0)
    # removing the largest contributions first leaves the smallest logit at every step
    assert np.all(res.deletion <= worst.deletion + 1e-12)
    assert np.all(res.deletion <= res.random_deletion + 1e-12)
    assert np.all(res.random_deletion <= worst.deletion + 1e-12)
    assert np.all(res.deletion_auc < res.random_deletion_auc)
    assert np.all(res.random_deletion_auc < worst.deletion_auc)
    # and insertion the other way round
    assert np.all(res.insertion_auc > res.random_insertion_auc)
    assert np.all(res.random_insertion_auc > worst.insertion_auc)
    assert np.all(np.isnan(worst.random_deletion))


def test_curves_start_and_end_where_they_must(linear_case):
    model, x, w = linear_case
    res = faithfulness_curves(model, x, torch.rand_like(x), target=1, n_steps=5, baseline=0.2)
    p_x = torch.softmax(model(x), 1)[:, 1].detach().numpy()
    p_base = torch.softmax(model(torch.full_like(x, 0.2)), 1)[:, 1].detach().numpy()
    np.testing.assert_allclose(res.deletion[:, 0], p_x, rtol=1e-6)
    np.testing.assert_allclose(res.deletion[:, -1], p_base, rtol=1e-6)
    np.testing.assert_allclose(res.insertion[:, 0], p_base, rtol=1e-6)
    np.testing.assert_allclose(res.insertion[:, -1], p_x, rtol=1e-6)
    np.testing.assert_allclose(res.random_deletion[:, [0, -1]], res.deletion[:, [0, -1]])
    np.testing.assert_allclose(res.fractions, np.linspace(0, 1, 6))


def test_one_step_matches_removing_the_top_pixels_by_hand(linear_case):
    model, x, w = linear_case
    maps = torch.rand_like(x)
    order = attribution_order(maps)
    curves, _ = perturbation_curves(model, x, order, target=1, n_steps=4, baseline=0.0)
    k = 4  # step 1 of 4 on 16 pixels
    by_hand = x.clone().flatten(1)
    for i in range(len(x)):
        by_hand[i, torch.from_numpy(order[i, :k])] = 0.0
    p = torch.softmax(model(by_hand.view_as(x)), 1)[:, 1].detach().numpy()
    np.testing.assert_allclose(curves[:, 1], p, rtol=1e-6)


def test_batching_does_not_change_the_curves(linear_case):
    model, x, _ = linear_case
    maps = torch.randn_like(x)
    a = faithfulness_curves(model, x, maps, n_steps=7, batch_size=3, seed=1)
    b = faithfulness_curves(model, x, maps, n_steps=7, batch_size=1000, seed=1)
    np.testing.assert_allclose(a.deletion, b.deletion, rtol=1e-6)
    np.testing.assert_allclose(a.random_insertion, b.random_insertion, rtol=1e-6)


def test_channels_move_together_and_rank_by_their_sum():
    maps = np.zeros((1, 3, 1, 2))
    maps[0, :, 0, 1] = [1.0, -0.5, 0.0]   # sum 0.5
    maps[0, :, 0, 0] = [0.2, 0.2, 0.2]    # sum 0.6: first
    assert attribution_order(maps).tolist() == [[0, 1]]
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    x = torch.rand(1, 3, 1, 2)
    curves, _ = perturbation_curves(model, x, [[0, 1]], target=0, n_steps=2)
    x1 = x.clone()
    x1[0, :, 0, 0] = 0
    p = torch.softmax(model(x1), 1)[0, 0].item()
    assert curves[0, 1] == pytest.approx(p, rel=1e-6)


def test_random_baseline_is_seeded(linear_case):
    model, x, _ = linear_case
    maps = torch.rand_like(x)
    a = faithfulness_curves(model, x, maps, seed=4, n_random=2)
    b = faithfulness_curves(model, x, maps, seed=4, n_random=2)
    c = faithfulness_curves(model, x, maps, seed=5, n_random=2)
    np.testing.assert_array_equal(a.random_deletion, b.random_deletion)
    assert not np.array_equal(a.random_deletion, c.random_deletion)
    np.testing.assert_array_equal(random_order(3, 10, seed=2), random_order(3, 10, seed=2))


def test_predicted_class_is_the_default_target():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
    x = torch.rand(6, 1, 2, 4)
    res = faithfulness_curves(model, x, torch.rand_like(x), n_random=0)
    pred = model(x).argmax(1).numpy()
    np.testing.assert_array_equal(res.targets, pred)
    np.testing.assert_allclose(res.deletion[:, 0],
                               torch.softmax(model(x), 1).max(1).values.detach().numpy(), rtol=1e-6)


def test_auc_is_the_trapezoid():
    assert curve_auc([[1.0, 0.0]], [0.0, 1.0]).tolist() == [0.5]
    assert curve_auc([[1.0, 1.0, 0.0]], [0.0, 0.5, 1.0]).tolist() == [0.75]


def test_model_left_as_it_was(linear_case):
    model, x, _ = linear_case
    model.train()
    faithfulness_curves(model, x, torch.rand_like(x), n_steps=2)
    assert model.training and all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kwargs, message", [
    (dict(maps=np.zeros((5, 1, 4, 3))), "`maps` must have the inputs' shape"),
    (dict(n_steps=0), "`n_steps` must be an int >= 1"),
    (dict(n_random=-1), "`n_random` must be an int >= 0"),
    (dict(target=7), r"each in 0\.\.1"),
    (dict(baseline="black"), "`baseline` must be a number or a tensor"),
    (dict(maps=np.full((5, 1, 4, 4), np.nan)), "NaN"),
])
def test_bad_input_is_named(linear_case, kwargs, message):
    model, x, _ = linear_case
    kw = dict(maps=np.zeros(tuple(x.shape))) | kwargs
    with pytest.raises(ValueError, match=message):
        faithfulness_curves(model, x, kw.pop("maps"), **kw)


def test_bad_order_and_mode(linear_case):
    model, x, _ = linear_case
    with pytest.raises(ValueError, match="permutation"):
        perturbation_curves(model, x, np.zeros((5, 16), dtype=int))
    with pytest.raises(ValueError, match="'deletion', 'insertion'"):
        perturbation_curves(model, x, random_order(5, 16), mode="delete")


def test_same_curve_as_quantus_pixel_flipping():
    """Quantus's PixelFlipping follows the same probability after each step (without the
    unperturbed start), with ``features_in_step`` pixels per step; its AUC is the trapezoid
    with unit spacing over those steps."""
    quantus = pytest.importorskip("quantus")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 3))
    model.eval()
    x = torch.rand(4, 1, 8, 8)
    maps = torch.randn(4, 1, 8, 8)          # continuous values: no ties in either sort
    y = model(x).argmax(1).detach().numpy()
    ours = faithfulness_curves(model, x, maps, n_steps=16, n_random=0)
    metric = quantus.PixelFlipping(features_in_step=4, perturb_baseline=0.0, normalise=False,
                                   abs=False, disable_warnings=True)
    theirs = np.array(metric(model=model, x_batch=x.numpy(), y_batch=y, a_batch=maps.numpy(),
                             device="cpu", softmax=True, channel_first=True))
    np.testing.assert_allclose(ours.deletion[:, 1:], theirs, rtol=1e-5, atol=1e-6)
    # Quantus 0.6 computes its AUC with np.trapz (gone in NumPy 2): the same rule by hand
    np.testing.assert_allclose(curve_auc(ours.deletion[:, 1:], np.arange(16)),
                               np.trapezoid(theirs, dx=1, axis=1), rtol=1e-5)
