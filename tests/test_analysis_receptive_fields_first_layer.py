"""First-layer fields: lag-1 autocorrelation, the initial weights rebuilt from the recorded seed,
the share of the field still initial, the top test images of a unit, and view coincidence."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.receptive_fields import (first_layer_change, initial_model,
                                              lag1_autocorrelation, top_exemplars,
                                              view_coincidence)
from vizkit.models import PTDeep

from _toy import image_split

QUIET = {"progress": False}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_lag1_is_near_zero_for_white_noise_and_near_one_for_a_smooth_field(seed):
    rng = np.random.default_rng(seed)
    assert abs(lag1_autocorrelation(rng.normal(size=(28, 28)))) < 0.1
    yy, xx = np.mgrid[0:28, 0:28]
    smooth = np.exp(-((xx - 10 - seed) ** 2 + (yy - 14) ** 2) / 40.0)
    assert lag1_autocorrelation(smooth) > 0.95
    # a checkerboard alternates: every neighbour pair has opposite sign
    assert lag1_autocorrelation((xx + yy) % 2 * 2.0 - 1) == pytest.approx(-1.0)


def test_lag1_uses_only_pairs_inside_the_mask():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(20, 20))
    yy, xx = np.mgrid[0:20, 0:20]
    f[:, :10] = xx[:, :10] + yy[:, :10]  # smooth left half, noisy right half
    left = np.zeros((20, 20), bool)
    left[:, :10] = True
    assert lag1_autocorrelation(f, left) > 0.95
    assert abs(lag1_autocorrelation(f, ~left)) < 0.2
    # hand-worked: a 1x3 row [0, 1, 2] has pairs (0,1), (1,2): r = 1
    assert lag1_autocorrelation(np.array([[0.0, 1, 2, 3]])) == pytest.approx(1.0)


def test_lag1_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        lag1_autocorrelation(np.zeros(5))
    with pytest.raises(ValueError, match="mask"):
        lag1_autocorrelation(np.zeros((4, 4)), np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="pairs"):
        lag1_autocorrelation(np.zeros((4, 4)), np.zeros((4, 4), bool))


def test_initial_model_equals_the_checkpoint_before_training(tmp_path):
    from vizkit.checkpoint import load
    from vizkit.train import train_model

    split = image_split()
    # lr 1e-12 for one epoch: Adam moves each weight by about 1e-12, so the checkpoint holds
    # the initial weights up to that
    train_model("mlp", split, {"epochs": 1, "lr": 1e-12, "seed": 7, **QUIET}, hidden=(6,),
                checkpoint=tmp_path / "still.pt")
    still, meta = load(tmp_path / "still.pt")
    init = initial_model(meta)
    assert meta["seed"] == 7
    for (k, a), b in zip(still.state_dict().items(), init.state_dict().values()):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-8), k
    # another seed gives other weights (the comparison above can fail)
    other = initial_model({**meta, "seed": 8})
    assert not torch.allclose(other.layers[0].weight, init.layers[0].weight)
    # the global generators are left as they were
    torch.manual_seed(3)
    a = torch.rand(3)
    torch.manual_seed(3)
    initial_model(meta)
    assert torch.equal(torch.rand(3), a)

    train_model("mlp", split, {"epochs": 3, "lr": 1e-2, "seed": 7, **QUIET}, hidden=(6,),
                checkpoint=tmp_path / "trained.pt")
    trained, meta2 = load(tmp_path / "trained.pt")
    ch = first_layer_change(trained, initial_model(meta2))
    same = first_layer_change(still, init)
    np.testing.assert_allclose(same.init_share, 1.0, atol=1e-6)
    np.testing.assert_allclose(same.change_share, 0.0, atol=1e-6)
    assert (ch.init_share < 1 - 1e-3).all() and (ch.change_share > 1e-3).all()
    assert ch.trained.shape == (6,) + tuple(split.input_shape[-2:])


def test_first_layer_change_hand_worked():
    a, b = PTDeep([4, 2, 2]), PTDeep([4, 2, 2])
    with torch.no_grad():
        b.layers[0].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 0, 0]]))
        a.layers[0].weight.copy_(torch.tensor([[1.0, 1, 0, 0], [2.0, 2, 0, 0]]))
    r = first_layer_change(a, b, image_shape=(2, 2))
    # unit 0: cos^2 = (1)^2 / (2 * 1) = 0.5; ||w_T - w_0||^2 / ||w_T||^2 = 1 / 2
    # unit 1: parallel -> 1; (1 + 1) / 8 = 0.25
    np.testing.assert_allclose(r.init_share, [0.5, 1.0])
    np.testing.assert_allclose(r.change_share, [0.5, 0.25])
    with pytest.raises(ValueError, match="shape"):
        first_layer_change(a, PTDeep([4, 3, 2]), image_shape=(2, 2))


def test_top_exemplars_are_the_argmax_of_the_units_activation():
    torch.manual_seed(0)
    net = PTDeep([16, 9, 3], normalize=(0.2, 0.5))  # batch-normless, with input normalization
    net.train()  # left in training mode: the function must evaluate in eval mode and restore
    x = torch.rand(300, 16)
    units = [0, 4, 8]
    idx, val = top_exemplars(net, x, units, k=5, batch_size=64)
    assert net.training
    # second route: a manual matmul on the normalized input
    W, b = net.layers[0].weight.detach(), net.layers[0].bias.detach()
    pre = ((x - 0.2) / 0.5) @ W.T + b
    for r, u in enumerate(units):
        order = torch.argsort(pre[:, u], descending=True)[:5]
        assert idx[r].tolist() == order.tolist()
        np.testing.assert_allclose(val[r], pre[order, u].double().numpy(), rtol=1e-5, atol=1e-6)
        assert (np.diff(val[r]) <= 0).all()
    with pytest.raises(ValueError, match="k"):
        top_exemplars(net, x, units, k=0)
    with pytest.raises(ValueError, match="units"):
        top_exemplars(net, x, [9])


def test_view_coincidence():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 5, 5))
    assert view_coincidence(a, 3 * a + 1) == pytest.approx(1.0)
    assert abs(view_coincidence(a, rng.normal(size=a.shape))) < 0.2
    with pytest.raises(ValueError, match="shape"):
        view_coincidence(a, a[:2])


def test_initial_model_matches_a_search_estimators_checkpoint(tmp_path):
    """hyperparameter_search's best model comes from NetClassifier, which seeds and builds the
    net its own way: the seed its checkpoint records must rebuild the same initial weights."""
    from vizkit.checkpoint import load
    from vizkit.estimator import NetClassifier

    split = image_split()
    X = split.x_train.numpy().reshape(len(split.x_train), -1)
    y = split.y_train.numpy()
    clf = NetClassifier("mlp", hidden=(5,), epochs=1, lr=1e-12, seed=11, patience=None,
                        input_shape=tuple(split.input_shape)).fit(X, y)
    clf.save_checkpoint(tmp_path / "c.pt")
    still, meta = load(tmp_path / "c.pt")
    init = initial_model(meta)
    assert meta["seed"] == 11
    assert torch.allclose(still.layers[0].weight, init.layers[0].weight, atol=1e-8)
    assert not torch.allclose(initial_model({**meta, "seed": 12}).layers[0].weight,
                              init.layers[0].weight)
