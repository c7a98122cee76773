"""Activation maximization's defaults: the batch-norm prior (DeepInversion) on hand-made batch
norms, the log-softmax class score, the defaults on tiny models with and without batch norm, and
the figures' real examples searched over every test image."""

import matplotlib
import pytest
import torch
from torch import nn

from vizkit.analysis.actmax import (BATCHNORM_WEIGHT, activation_maximization, as_objective,
                                    batchnorm_layers, batchnorm_prior, class_log_softmax)
from vizkit.models import PTDeep, build_default

matplotlib.use("Agg")


def bn_net(mean=(1.0, -2.0), var=(4.0, 0.25), weight=(2.0, 0.5), bias=(0.3, -1.0)):
    """One BatchNorm2d with known running statistics and affine parameters, in eval mode."""
    bn = nn.BatchNorm2d(2)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor(mean))
        bn.running_var.copy_(torch.tensor(var))
        bn.weight.copy_(torch.tensor(weight))
        bn.bias.copy_(torch.tensor(bias))
    return nn.Sequential(bn).eval()


def batch_with(mean, var, n=3, hw=4, seed=0):
    """A batch whose per-channel mean and biased variance over (N, H, W) are exactly given."""
    z = torch.randn(n, 2, hw, hw, generator=torch.Generator().manual_seed(seed))
    z = z - z.mean((0, 2, 3), keepdim=True)
    z = z / z.pow(2).mean((0, 2, 3), keepdim=True).sqrt()
    return z * torch.tensor(var).sqrt().view(1, 2, 1, 1) + torch.tensor(mean).view(1, 2, 1, 1)


def prior_on(net, x, **kw):
    with torch.no_grad():
        return batchnorm_prior(net, **kw)({"input": x, "0": net(x)})


def test_bn_prior_is_zero_exactly_at_the_running_statistics():
    net = bn_net()
    x = batch_with((1.0, -2.0), (4.0, 0.25))
    loss = prior_on(net, x)
    assert loss.shape == (3,)
    torch.testing.assert_close(loss, torch.zeros(3), atol=1e-4, rtol=0)


def test_bn_prior_hand_worked_offsets():
    net = bn_net()
    # channel 0 mean off by 3, channel 1 variance off by 0.75: ||(3, 0)|| + ||(0, 0.75)||
    x = batch_with((4.0, -2.0), (4.0, 1.0))
    torch.testing.assert_close(prior_on(net, x), torch.full((3,), 3.75), atol=1e-3, rtol=0)
    # both means off: the L2 norm over channels, not the sum
    x = batch_with((4.0, 2.0), (4.0, 0.25))
    torch.testing.assert_close(prior_on(net, x), torch.full((3,), 5.0), atol=1e-3, rtol=0)


def test_bn_prior_per_image_and_a_dead_channel():
    net = bn_net(weight=(0.0, 0.5))  # channel 0's output ignores its input: left out
    x = batch_with((50.0, -2.0), (9.0, 0.25))
    torch.testing.assert_close(prior_on(net, x), torch.zeros(3), atol=1e-3, rtol=0)
    # per image: each image's own statistics; a constant image has variance 0
    x = torch.stack([torch.full((2, 4, 4), 0.0), batch_with((1.0, -2.0), (4.0, 0.25), n=1)[0]])
    x[0, 1] = -2.0
    got = prior_on(bn_net(), x, over="image")
    torch.testing.assert_close(got[1], torch.tensor(0.0), atol=1e-3, rtol=0)
    # image 0: channel 0 mean 0 (off 1), var 0 (off 4); channel 1 mean exact, var 0 (off 0.25)
    torch.testing.assert_close(got[0], torch.tensor(1.0 + (16 + 0.0625) ** 0.5), atol=1e-3,
                               rtol=0)


def test_bn_prior_gradient_pulls_toward_running_statistics():
    net = bn_net()
    x = batch_with((3.0, -2.0), (4.0, 0.25)).requires_grad_()
    (batchnorm_prior(net)({"input": x, "0": net(x)}).sum()).backward()
    assert x.grad is not None
    assert (x.grad[:, 0] > 0).all()  # lowering channel 0 lowers the loss


@pytest.mark.parametrize("kw, message", [
    (dict(model=nn.Sequential(nn.Linear(2, 2))), "has none"),
    (dict(layers=["1"]), "batch norms \\['0'\\]"),
    (dict(layers=[]), "non-empty"),
    (dict(over="pixels"), "'batch' or 'image'"),
])
def test_bn_prior_errors(kw, message):
    args = {"model": bn_net(), **kw}
    with pytest.raises(ValueError, match=message):
        batchnorm_prior(**args)


def test_batchnorm_layers_skips_norms_without_running_statistics():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2),
                        nn.BatchNorm2d(2, track_running_stats=False), nn.BatchNorm1d(2))
    assert batchnorm_layers(net) == ["1"]


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return build_default("cnn", (1, 8, 8), 3, channels=(4, 6), hidden=8)


def test_defaults_optimize_a_leaf_and_the_bn_prior_is_opt_in(cnn):
    assert batchnorm_layers(cnn)  # the default CNN has batch norms
    d = activation_maximization(cnn, [0, 1, 2], n_steps=25)  # the defaults
    assert d.settings["batchnorm_weight"] == BATCHNORM_WEIGHT == 0.0
    assert torch.isfinite(d.grad_norms).all() and (d.grad_norms > 0).all()
    r = activation_maximization(cnn, [0, 1, 2], n_steps=25, batchnorm_weight=0.1)
    assert r.settings["batchnorm_weight"] == 0.1
    assert r.settings["class_score"] == "logit"
    assert torch.isfinite(r.grad_norms).all() and (r.grad_norms > 0).all()
    assert (r.images - 0.5).abs().amax((1, 2, 3)).gt(0.1).all()  # moved from the grey start
    # without the ink budget (which wins on this untrained net) every logit rises
    r_no_ink = activation_maximization(cnn, [0, 1, 2], n_steps=25, ink=0.0,
                                       batchnorm_weight=0.1)
    assert (r_no_ink.activations > r_no_ink.history[0]).all()
    assert not any(p.requires_grad is False for p in cnn.parameters())  # flags restored
    # off: a different optimization, so different images
    r0 = activation_maximization(cnn, [0, 1, 2], n_steps=25, batchnorm_weight=0.0)
    assert r0.settings["batchnorm_weight"] == 0.0
    assert not torch.allclose(r.images, r0.images)
    # seeded: the same call gives the same images
    torch.testing.assert_close(activation_maximization(cnn, [0, 1, 2], n_steps=25,
                                                       batchnorm_weight=0.1).images, r.images)


def test_bn_prior_lowers_the_batch_statistics_mismatch(cnn):
    """The prior does what it says: the batch-norm mismatch of the optimized batch is lower
    with it than without it (same steps, same seed)."""
    for m in cnn.modules():  # running statistics of real-looking inputs: dim, sparse images
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None  # a plain average over the batches
    cnn.train()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(5):
            cnn(torch.rand(32, 1, 8, 8, generator=g).pow(4))
    cnn.eval()
    prior = batchnorm_prior(cnn)
    names = batchnorm_layers(cnn)

    def mismatch(images):
        from vizkit._torch import capture
        with torch.no_grad(), capture(cnn.eval(), names) as store:
            out = cnn(images)
            return float(prior({"input": images, "output": out, **store})[0])

    kw = dict(n_steps=40, ink=0.0, transforms=None)
    on = activation_maximization(cnn, [0, 1, 2], batchnorm_weight=1.0, **kw)
    off = activation_maximization(cnn, [0, 1, 2], batchnorm_weight=0.0, **kw)
    assert mismatch(on.images) < 0.9 * mismatch(off.images)


def test_model_without_batch_norm_records_no_prior():
    torch.manual_seed(0)
    m = PTDeep([16, 6, 3])
    r = activation_maximization(m, [0, 1], n_steps=10, input_shape=(1, 4, 4),
                                batchnorm_weight=0.1)
    assert r.settings["batchnorm_weight"] == 0.0


def test_log_softmax_score():
    out = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    torch.testing.assert_close(class_log_softmax(2)({"output": out}),
                               torch.log_softmax(out, 1)[:, 2])
    assert as_objective(2, class_score="log_softmax").target_class == 2
    with pytest.raises(ValueError, match="'logit', 'log_softmax'"):
        as_objective(2, class_score="softmax")


def test_log_softmax_targets_raise_their_probability(cnn):
    r = activation_maximization(cnn, [0, 1, 2], n_steps=30, class_score="log_softmax",
                                batchnorm_weight=0.0, ink=0.0)
    assert r.settings["class_score"] == "log_softmax"
    torch.testing.assert_close(r.probabilities.log(), r.activations, atol=1e-4, rtol=1e-4)
    assert (r.activations > r.history[0]).all()


def test_class_figure_searches_every_test_image():
    """The real images beside each class image are the best of ALL test images (any label), so
    "out-scores every test image" is what was checked."""
    from vizkit.data import Split, fingerprint
    from vizkit.figures.actmax import figures

    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 1, 4, 4, generator=g)
    y = torch.arange(30) % 3
    split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    torch.manual_seed(1)
    net = PTDeep([16, 3])
    figs = figures(net, split)
    data = figs[0].data
    with torch.no_grad():
        logits = net.eval()(split.x_test)
    top = logits.topk(3, dim=0).indices.T.numpy()  # [class, 3] over every test image
    assert (data["top_real_indices"] == top).all()
    # the search is not restricted to a class's own images: some top image has another label
    labels = split.y_test.numpy()[data["top_real_indices"]]
    assert (labels != torch.arange(3).numpy()[:, None]).any()
    assert f"all {len(split.y_test)} test images" in figs[0].caption or "none of" in figs[0].caption
    import matplotlib.pyplot as plt
    plt.close("all")


def test_caption_names_the_bn_prior_only_when_used():
    from types import SimpleNamespace

    from vizkit.figures.actmax import _how

    s = dict(n_steps=10, lr=0.05, value_range=(0.0, 1.0), ink=0.05, prior=False, seed=0,
             batchnorm_weight=0.0)
    assert "batch-norm" not in _how(SimpleNamespace(settings=s, names=["a"]), 10)
    text = _how(SimpleNamespace(settings=dict(s, batchnorm_weight=0.1), names=["a"]), 10)
    assert "batch-norm prior (weight 0.1; DeepInversion" in text
