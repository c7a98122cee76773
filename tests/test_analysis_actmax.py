"""Activation maximization: leaf input, rising objective, hand-worked linear answer, clean-up,
whole-layer and diversity objectives, data prior, degenerate flags."""

import re

import pytest
import torch
from torch import nn

from vizkit.analysis.actmax import (ActMaxResult, Objective, activation_maximization, channel,
                                    class_logit, data_prior, degenerate, diversity, hartley, ink,
                                    l2, layer, neuron, total_variation, unit)
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
    r = activation_maximization(cnn, [0, 1, 2], n_steps=30, lr=0.1, init="noise", ink=0.0,
                                transforms=None)
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
        activation_maximization(mlp, [const], n_steps=2, ink=0.0)
    assert n_hooks(mlp) == 0


@pytest.mark.parametrize("l2w", [0.5, 5.0])
def test_linear_class_score_under_l2_points_along_weights(l2w):
    torch.manual_seed(1)
    m = PTLogreg(16, 3, normalize=(0.2, 0.4))  # Normalize inside: direction still W[:, c]
    with torch.no_grad():
        m.W.copy_(torch.randn(16, 3))
        m.b.copy_(torch.randn(3))
    r = activation_maximization(m, [0, 1, 2], n_steps=300, parametrization="none", l2=l2w,
                                ink=0.0, transforms=None, init="zeros", input_shape=(1, 4, 4))
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
    kw = dict(n_steps=8, init="noise")
    a = activation_maximization(cnn, [0, 1], seed=3, **kw)
    b = activation_maximization(cnn, [0, 1], seed=3, **kw)
    c = activation_maximization(cnn, [0, 1], seed=4, **kw)
    assert torch.equal(a.images, b.images) and torch.equal(a.history, b.history)
    assert not torch.equal(a.images, c.images)


def test_batched_equals_one_at_a_time(mlp):
    init = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    kw = dict(n_steps=40, tv=0.01, transforms=None)  # per-image random draws depend on N
    both = activation_maximization(mlp, [0, 1, 2], init=init, **kw)
    for k in range(3):
        one = activation_maximization(mlp, [k], init=init[k:k + 1], **kw)
        torch.testing.assert_close(one.images[0], both.images[k], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kw", [dict(), dict(parametrization="clamp"),
                                dict(parametrization="fourier"),
                                dict(value_range=(-1.0, 2.0), init="noise")])
def test_pixels_stay_in_range(cnn, kw):
    r = activation_maximization(cnn, [0, 2], n_steps=20, lr=0.2, ink=0.0, transforms=None,
                                **{"init": "noise", **kw})
    lo, hi = kw.get("value_range", (0.0, 1.0))
    assert r.images.min() >= lo and r.images.max() <= hi
    assert (r.history[-1] > r.history[0]).all()


def test_string_targets_resolve_units_and_channels(cnn, mlp):
    r = activation_maximization(mlp, ["layers.0:3"], n_steps=20, transforms=None)
    with torch.no_grad():
        h = mlp.layers[0](mlp.norm(r.images).flatten(1))
    torch.testing.assert_close(r.activations[0], h[0, 3])
    r = activation_maximization(cnn, ["features.2:1", neuron("features.1", 1)], n_steps=20,
                                init="noise", ink=0.0, transforms=None)
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
    free = activation_maximization(mlp, [0, 1], n_steps=20)  # same seed, same transforms
    with torch.no_grad():
        h_pen = mlp.layers[0](mlp.norm(r.images).flatten(1))[:, 0]
        h_free = mlp.layers[0](mlp.norm(free.images).flatten(1))[:, 0]
    assert (h_pen < h_free).all()


def test_hartley_is_its_own_inverse():
    x = torch.randn(2, 1, 5, 6)
    torch.testing.assert_close(hartley(hartley(x)), x, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(targets=[]), "`targets` is empty"),
    (dict(n_steps=0), "`n_steps` must be an int > 0"),
    (dict(parametrization="tanh"),
     "`parametrization` must be one of 'sigmoid', 'clamp', 'none', 'fourier'"),
    (dict(init="ones"), "`init` must be 'mean' (needs `prior`), 'grey', 'noise', 'zeros'"),
    (dict(init="mean"), "`init` must be 'mean' (needs `prior`)"),
    (dict(init=torch.zeros(5, 1, 8, 8)), "N = 1 images"),
    (dict(value_range=(1.0, 0.0)), "`value_range` must be"),
    (dict(lr=-1.0), "`lr` must be a number >= 0"),
    (dict(facets=0), "`facets` must be an int > 0"),
    (dict(ink=-0.1), "`ink` must be a number >= 0"),
    (dict(transforms="strong"), "`transforms` must be 'standard', None or a callable"),
    (dict(targets=["features.0:x"]), "'layer:unit'"),
    (dict(targets=[1.5]), "a target must be"),
    (dict(prior=torch.zeros(1, 1, 8, 8)), "`prior` must hold at least 2 images"),
    (dict(prior=torch.zeros(4, 1, 8, 8), n_components=0), "`n_components` must be"),
])
def test_errors(cnn, kwargs, message):
    kwargs = {"targets": [0], "n_steps": 2, **kwargs}
    targets = kwargs.pop("targets")
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        activation_maximization(cnn, targets, **kwargs)


def test_dead_start_is_warned(cnn):
    # bias-free conv + ReLU (batch norm at init is the identity): zero input, zero gradient
    with pytest.warns(RuntimeWarning, match="init='noise'"):
        r = activation_maximization(cnn, [0], n_steps=3, init="zeros", parametrization="clamp",
                                    transforms=None)
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
    assert out["axes"][1].get_title() == (f"class 2\nact {float(r.activations[1]):.3g}, "
                                          f"p {float(r.probabilities[1]):.2f}")
    assert out["axes"][2].get_title().startswith("layers.0:1\n")
    assert all(im.get_clim() == (0.0, 1.0) for im in out["images"])
    assert out["images"][0].get_array().shape == (4, 4)


def test_optimized_tensor_is_a_leaf(mlp, monkeypatch):
    seen = []
    real_adam = torch.optim.Adam

    def spy(params, **kw):
        params = list(params)
        seen.extend(params)
        return real_adam(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", spy)
    activation_maximization(mlp, [0, 1], n_steps=3)
    assert len(seen) == 1 and seen[0].is_leaf and seen[0].requires_grad
    assert seen[0].shape == (2, 1, 4, 4) and seen[0].grad is not None


def test_layer_objective_raises_the_layer_mean(cnn, mlp):
    for net, name, shape in ((mlp, "layers.0", (1, 4, 4)), (cnn, "features.2", (1, 8, 8))):
        start = torch.full((1, *shape), 0.5)
        # no batch-norm prior: this untrained net's running statistics (mean 0, variance 1)
        # are nothing an image should match
        r = activation_maximization(net, [name], n_steps=40, lr=0.2, init=start, ink=0.0,
                                    transforms=None, batchnorm_weight=0.0)
        assert r.names == [name]
        seen = {}
        h = dict(net.named_modules())[name].register_forward_hook(
            lambda m, i, o: seen.__setitem__("a", o.detach()))
        with torch.no_grad():
            net.eval()(start)
            before = seen["a"].flatten(1).mean(1)
            net(r.images)
            after = seen["a"].flatten(1).mean(1)
        h.remove()
        torch.testing.assert_close(r.activations, after)  # the layer's mean, by hand
        assert after[0] > before[0] + 0.05


def _pairwise_cos(images, groups):
    a = torch.nn.functional.normalize(images.flatten(1), dim=1)
    sims = [float(a[i] @ a[j]) for i in range(len(a)) for j in range(len(a))
            if i < j and groups[i] == groups[j]]
    return sum(sims) / len(sims)


def test_diversity_lowers_pairwise_similarity(mlp):
    kw = dict(n_steps=60, facets=3, ink=0.0, seed=1)
    same = activation_maximization(mlp, [0, 1], diversity=0.0, **kw)
    apart = activation_maximization(mlp, [0, 1], diversity=5.0, **kw)
    groups = [0, 0, 0, 1, 1, 1]
    assert same.images.shape == (6, 1, 4, 4) and same.names[:3] == ["class 0"] * 3
    assert _pairwise_cos(apart.images, groups) < _pairwise_cos(same.images, groups) - 0.05
    # by hand: two identical images and an orthogonal one in one group
    ctx = {"input": torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]).view(3, 1, 1, 2)}
    torch.testing.assert_close(diversity()(ctx), torch.tensor([-0.5, -0.5, 0.0]))
    torch.testing.assert_close(diversity(groups=[0, 1, 1])(ctx), torch.tensor([0.0, 0.0, 0.0]))


def test_data_prior_penalizes_only_what_the_data_cannot_draw():
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 16, generator=g)
    x = (torch.randn(50, 3, generator=g) @ basis).view(50, 1, 4, 4) + 0.5
    prior = data_prior(x, n_components=3)
    inside = (0.3 * x[0] + 0.7 * x[1]).unsqueeze(0)  # on the data's affine span
    outside = torch.randn(1, 1, 4, 4, generator=g)
    assert float(prior({"input": inside})) < 1e-6
    assert float(prior({"input": outside})) > 1.0
    torch.testing.assert_close(ink()({"input": torch.full((1, 1, 2, 2), 0.25)}), torch.tensor([1.0]))
    # a prior run starts at the data's mean and stays near the span
    net = PTLogreg(16, 3)
    net.vizkit_spec = {"input_shape": [1, 4, 4]}
    r = activation_maximization(net, [0], n_steps=1, lr=1e-6, prior=x.clamp(0, 1))
    torch.testing.assert_close(r.images[0], x.clamp(0, 1).mean(0), atol=1e-3, rtol=0)


def test_degenerate_images_are_flagged(pyplot, mlp):
    imgs = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    imgs[1] = 1.0  # constant white image
    flags = degenerate(imgs, torch.tensor([1.0, 2.0, 0.0]), (0.0, 1.0))
    assert flags.tolist() == [False, True, True]  # constant; zero activation
    from vizkit.plot.actmax import plot_actmax

    r = activation_maximization(mlp, [0, 1, 2], n_steps=3)
    r.degenerate = torch.tensor([False, True, False])
    out = plot_actmax(r)
    assert out["flagged"] == [1] and out["axes"][1].get_title().endswith("DEGENERATE")


def test_data_prior_equals_the_residual_norm_and_is_computed_once_per_image_set():
    """Second route: the squared residual after projecting onto an explicitly computed PCA span;
    the memo returns the same span for equal images and a different one for other images."""
    from vizkit.analysis.actmax import objectives

    g = torch.Generator().manual_seed(1)
    x = torch.rand(40, 1, 4, 4, generator=g)
    probe = torch.rand(5, 1, 4, 4, generator=g)
    flat = x.flatten(1)
    mean = flat.mean(0)
    b = torch.linalg.svd(flat - mean, full_matrices=False).Vh[:3].T
    d = probe.flatten(1) - mean
    want = (d - d @ b @ b.T).pow(2).sum(1)
    got = data_prior(x, n_components=3)({"input": probe})
    assert torch.allclose(got, want, atol=1e-4)
    before = len(objectives._SPANS)
    data_prior(x.clone(), n_components=3)  # same content, another tensor: memoized
    assert len(objectives._SPANS) == before
    other = data_prior(x.flip(0) * 0.5, n_components=3)({"input": probe})
    assert not torch.allclose(other, got)


def test_small_batches_run_on_one_thread_and_the_thread_count_is_restored(monkeypatch):
    from vizkit.analysis.actmax import render

    seen = []
    real_backward = torch.Tensor.backward

    def spy(self, *a, **k):
        seen.append(torch.get_num_threads())
        return real_backward(self, *a, **k)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(torch.Tensor, "backward", spy)
        activation_maximization(PTLogreg(16, 3), [0, 1], n_steps=3, input_shape=(1, 4, 4))
        assert seen == [1, 1, 1]
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(render, "SMALL_BATCH", 1)  # a "large" batch keeps its threads
        seen.clear()
        activation_maximization(PTLogreg(16, 3), [0, 1], n_steps=2, input_shape=(1, 4, 4))
        assert seen == [2, 2]
    finally:
        torch.set_num_threads(before)
