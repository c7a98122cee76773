"""Activation maximization: leaf input, rising objective, hand-worked linear answer, clean-up."""

import re

import pytest
import torch
from torch import nn

from vizkit.analysis.actmax import (ActMaxResult, Objective, activation_maximization, channel,
                                    class_logit, hartley, l2, neuron, total_variation, unit)
from vizkit.models import PTDeep, PTLogreg, build_default


def n_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return build_default("cnn", (1, 8, 8), 3, channels=(4, 6), hidden=8)


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    m = PTDeep([16, 6, 3], normalize=(0.2, 0.4))
    m.vizkit_spec = {"input_shape": [1, 4, 4]}
    return m


def test_objective_rises_and_gradient_never_none(cnn):
    r = activation_maximization(cnn, [0, 1, 2], n_steps=30, lr=0.1, init="noise")
    assert isinstance(r, ActMaxResult)
    assert r.images.shape == (3, 1, 8, 8)
    assert r.history.shape == (30, 3) and r.grad_norms.shape == (30, 3)
    assert (r.history[-1] > r.history[0]).all()
    assert (r.activations > r.history[0]).all()
    assert torch.isfinite(r.grad_norms).all() and (r.grad_norms > 0).all()
    assert r.names == ["class 0", "class 1", "class 2"]
    # activations are the targets' logits on the returned images
    with torch.no_grad():
        logits = cnn.eval()(r.images)
    torch.testing.assert_close(r.activations, logits[torch.arange(3), torch.arange(3)])


def test_objective_without_input_dependence_is_an_error(mlp):
    const = Objective(lambda ctx: torch.zeros(ctx["output"].shape[0]), "const")
    with pytest.raises(RuntimeError):
        activation_maximization(mlp, [const], n_steps=2)
    assert n_hooks(mlp) == 0


@pytest.mark.parametrize("l2w", [0.5, 5.0])
def test_linear_class_score_under_l2_points_along_weights(l2w):
    torch.manual_seed(1)
    m = PTLogreg(16, 3, normalize=(0.2, 0.4))  # Normalize inside: direction still W[:, c]
    with torch.no_grad():
        m.W.copy_(torch.randn(16, 3))
        m.b.copy_(torch.randn(3))
    r = activation_maximization(m, [0, 1, 2], n_steps=300, parametrization="none", l2=l2w,
                                input_shape=(1, 4, 4))
    for k in range(3):
        cos = torch.nn.functional.cosine_similarity(r.images[k].flatten(), m.W[:, k], dim=0)
        assert cos >= 0.99
    # the optimum of w.x/std - l2 ||x||^2 is x = w / (2 std l2)
    torch.testing.assert_close(r.images[0].flatten(), m.W[:, 0] / (2 * 0.4 * l2w),
                               rtol=0.05, atol=0.05)


def test_params_flags_and_modes_restored_and_no_hooks(cnn):
    cnn.train()
    cnn.features[1].eval()  # a mixed state must come back as it was
    first = next(cnn.parameters())
    first.requires_grad_(False)
    before_flags = [p.requires_grad for p in cnn.parameters()]
    before_modes = [m.training for m in cnn.modules()]
    before_params = [p.detach().clone() for p in cnn.parameters()]
    before_buffers = [b.detach().clone() for b in cnn.buffers()]
    h0 = n_hooks(cnn)
    activation_maximization(cnn, [0, "features.0:1", "classifier.1:2"], n_steps=5, init="noise")
    assert [p.requires_grad for p in cnn.parameters()] == before_flags
    assert [m.training for m in cnn.modules()] == before_modes
    assert n_hooks(cnn) == h0 == 0
    for a, b in zip(before_params, cnn.parameters()):
        assert torch.equal(a, b) and b.grad is None
    for a, b in zip(before_buffers, cnn.buffers()):  # BN running stats untouched (eval mode)
        assert torch.equal(a, b)


def test_cleanup_after_an_error(cnn):
    cnn.train()
    with pytest.raises(ValueError, match="out of range"):
        activation_maximization(cnn, ["features.0:99"], n_steps=3)
    assert n_hooks(cnn) == 0
    assert cnn.training and all(p.requires_grad for p in cnn.parameters())


def test_same_seed_same_images(cnn):
    kw = dict(n_steps=8, init="noise", jitter=2, blur_every=3)
    a = activation_maximization(cnn, [0, 1], seed=3, **kw)
    b = activation_maximization(cnn, [0, 1], seed=3, **kw)
    c = activation_maximization(cnn, [0, 1], seed=4, **kw)
    assert torch.equal(a.images, b.images) and torch.equal(a.history, b.history)
    assert not torch.equal(a.images, c.images)


def test_batched_equals_one_at_a_time(mlp):
    init = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    both = activation_maximization(mlp, [0, 1, 2], n_steps=40, init=init, tv=0.01)
    for k in range(3):
        one = activation_maximization(mlp, [k], n_steps=40, init=init[k:k + 1], tv=0.01)
        torch.testing.assert_close(one.images[0], both.images[k], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kw", [dict(), dict(parametrization="sigmoid"), dict(fourier=True),
                                dict(value_range=(-1.0, 2.0), init="noise")])
def test_pixels_stay_in_range(cnn, kw):
    r = activation_maximization(cnn, [0, 2], n_steps=20, lr=0.2, **{"init": "noise", **kw})
    lo, hi = kw.get("value_range", (0.0, 1.0))
    assert r.images.min() >= lo and r.images.max() <= hi
    assert (r.history[-1] > r.history[0]).all()


def test_string_targets_resolve_units_and_channels(cnn, mlp):
    r = activation_maximization(mlp, ["layers.0:3"], n_steps=20)
    with torch.no_grad():
        h = mlp.layers[0](mlp.norm(r.images).flatten(1))
    torch.testing.assert_close(r.activations[0], h[0, 3])
    r = activation_maximization(cnn, ["features.2:1", neuron("features.1", 1)], n_steps=20,
                                init="noise")
    assert r.names == ["features.2:1", "features.1:ch1@(c,c)"]
    assert (r.history[-1] > r.history[0]).all()
    with pytest.raises(ValueError, match="layer_names"):
        activation_maximization(cnn, ["featurez.0:1"], n_steps=2)


def test_objective_algebra_by_hand():
    ctx = {"output": torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
           "input": torch.tensor([[[[0.0, 1.0], [1.0, 3.0]]]] * 2),
           "h": torch.tensor([[1.0, -1.0], [2.0, 0.5]]),
           "c": torch.arange(16.0).view(2, 2, 2, 2)}
    obj = 2 * class_logit(2) - class_logit(0) / 2 + 1
    torch.testing.assert_close(obj(ctx), torch.tensor([6.5, 11.0]))
    torch.testing.assert_close(sum([class_logit(0), class_logit(1)])(ctx), torch.tensor([3.0, 9.0]))
    torch.testing.assert_close((-unit("h", 1))(ctx), torch.tensor([1.0, -0.5]))
    torch.testing.assert_close(channel("c", 1)(ctx), torch.tensor([5.5, 13.5]))
    torch.testing.assert_close(neuron("c", 0, 1, 0)(ctx), torch.tensor([2.0, 10.0]))
    torch.testing.assert_close(l2()(ctx), torch.tensor([11.0, 11.0]))
    torch.testing.assert_close(total_variation()(ctx), torch.tensor([6.0, 6.0]))  # |1|+|2|+|1|+|2|
    assert obj.layers == () and (unit("h", 0) + channel("c", 0)).layers == ("h", "c")
    with pytest.raises(TypeError):
        class_logit(0) * class_logit(1)


def test_extra_objective_is_added_to_every_target(mlp):
    r = activation_maximization(mlp, [0, 1], n_steps=20, objective=-10.0 * unit("layers.0", 0))
    free = activation_maximization(mlp, [0, 1], n_steps=20)
    with torch.no_grad():
        h_pen = mlp.layers[0](mlp.norm(r.images).flatten(1))[:, 0]
        h_free = mlp.layers[0](mlp.norm(free.images).flatten(1))[:, 0]
    assert (h_pen < h_free).all()


def test_hartley_is_its_own_inverse():
    x = torch.randn(2, 1, 5, 6)
    torch.testing.assert_close(hartley(hartley(x)), x, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(targets=[]), "`targets` is empty"),
    (dict(n_steps=0), "`n_steps` must be a positive int"),
    (dict(parametrization="tanh"), "`parametrization` must be one of 'clamp', 'sigmoid', 'none'"),
    (dict(fourier=True, parametrization="clamp"), "cannot use parametrization='clamp'"),
    (dict(fourier=True, blur_every=2), "`blur_every` blurs pixel parameters"),
    (dict(init="ones"), "`init` must be 'zeros', 'noise' or a tensor"),
    (dict(init=torch.zeros(5, 1, 8, 8)), "N = 1 targets"),
    (dict(value_range=(1.0, 0.0)), "`value_range` must be"),
    (dict(lr=-1.0), "`lr` must be a number >= 0"),
    (dict(jitter=1.5), "`jitter` must be an int >= 0"),
    (dict(targets=["features.0"]), "'layer:unit'"),
    (dict(targets=[1.5]), "a target must be"),
])
def test_errors(cnn, kwargs, message):
    kwargs = {"targets": [0], "n_steps": 2, **kwargs}
    targets = kwargs.pop("targets")
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        activation_maximization(cnn, targets, **kwargs)


def test_dead_start_is_warned(cnn):
    # bias-free conv + ReLU (batch norm at init is the identity): zero input, zero gradient
    with pytest.warns(RuntimeWarning, match="init='noise'"):
        r = activation_maximization(cnn, [0], n_steps=3)
    assert (r.grad_norms == 0).all()


def test_input_shape_is_never_guessed():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match="input_shape"):
        activation_maximization(net, [0], n_steps=2)
    r = activation_maximization(net, [0, 1], n_steps=3, input_shape=(3, 2, 2))
    assert r.images.shape == (2, 3, 2, 2)


def test_plot_titles_and_one_scale(pyplot, mlp):
    from vizkit.plot.actmax import plot_actmax

    r = activation_maximization(mlp, [0, 2, "layers.0:1"], n_steps=5)
    out = plot_actmax(r, ncols=3)
    assert len(out["images"]) == 3
    assert out["axes"][1].get_title() == f"class 2\nact {float(r.activations[1]):.3g}"
    assert out["axes"][2].get_title().startswith("layers.0:1\n")
    assert all(im.get_clim() == (0.0, 1.0) for im in out["images"])
    assert out["images"][0].get_array().shape == (4, 4)


def test_figure_family(pyplot, monkeypatch):
    from vizkit.data import Split
    from vizkit.figures import NotApplicable
    from vizkit.plot import actmax as fam

    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 1, 8, 8, generator=g)
    y = torch.arange(20) % 3
    split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 8, 8), "0")
    monkeypatch.setitem(fam.SETTINGS, "n_steps", 12)
    torch.manual_seed(0)
    figs = fam.figures(build_default("cnn", (1, 8, 8), 3, channels=(4, 6), hidden=8), split)
    assert [f.id for f in figs] == ["actmax-classes", "actmax-hidden"]
    assert figs[0].fig.axes[0].get_title().startswith("class a\n")
    assert "features.5" in figs[1].caption  # the batch norm after the last conv
    x2 = torch.rand(10, 2)
    split2 = Split("2d", x2, y[:10], x2, y[:10], x2, y[:10], ("a", "b", "c"), (2,), "0")
    with pytest.raises(NotApplicable, match="input shape"):
        fam.figures(build_default("mlp", (2,), 3), split2)
