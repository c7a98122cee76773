import numpy as np
import pytest
import torch
from torch import nn

from vizkit.models import (ConvNet, KSVMWrap, PTDeep, PTLogreg, RBFLayer, RBFNet, build,
                           build_default, count_params, default_spec, fcann2_classify,
                           fcann2_train, linreg_gradients, list_models, rbf_expanded)
from vizkit.models._numpy_models import FCANN2, fcann2_loss_and_grads


def test_count_params_lab_value(capsys):
    assert count_params(PTDeep([2, 3])) == 9
    assert count_params(PTDeep([2, 3]), verbose=True) == 9
    out = capsys.readouterr().out
    assert "layers.0.weight" in out and "[3, 2]" in out and "9" in out


def test_ptdeep_layers_and_shapes():
    m = PTDeep([4, 5, 6, 3], "tanh", batchnorm=True, dropout=0.1)
    kinds = [type(l).__name__ for l in m.layers]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh",
                     "Dropout", "Linear"]
    assert m(torch.randn(7, 4)).shape == (7, 3)
    assert count_params(m) == (4 * 5 + 5) + 2 * 5 + (5 * 6 + 6) + 2 * 6 + (6 * 3 + 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(config=[2, 3], activation="rleu"), "`activation` must be one of"),
    (dict(config=[2]), "needs at least"),
    (dict(config=[2, 0, 3]), "positive integer"),
    (dict(config=[2, 3], dropout=1.5), "`dropout` must be in"),
])
def test_ptdeep_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PTDeep(**kwargs)


def test_ptlogreg_equals_ptdeep_config_2_3():
    torch.manual_seed(0)
    lr, deep = PTLogreg(2, 3), PTDeep([2, 3])
    with torch.no_grad():
        deep.layers[0].weight.copy_(lr.W.t())
        deep.layers[0].bias.copy_(lr.b)
    x = torch.randn(10, 2)
    torch.testing.assert_close(lr(x), deep(x))


def test_ptlogreg_product_and_its_gradients_equal_plain_matmul():
    # the logits are x @ W computed in the fast transposed layout: same values, same first and
    # second derivatives as the plain product, and W keeps the lab's [D, C] shape
    from vizkit.models._torch_models import _skinny_matmul

    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 5, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    torch.testing.assert_close(_skinny_matmul(x, W), x @ W)
    assert torch.autograd.gradcheck(_skinny_matmul, (x, W))
    assert torch.autograd.gradgradcheck(_skinny_matmul, (x, W))
    model = PTLogreg(784, 10)
    assert model.W.shape == (784, 10) and isinstance(model.W, nn.Parameter)
    xb = torch.rand(256, 1, 28, 28)
    logits = model(xb)
    assert logits.is_contiguous()
    torch.testing.assert_close(logits, model.norm(xb).flatten(1) @ model.W + model.b)
    logits.sum().backward()
    torch.testing.assert_close(model.W.grad, model.norm(xb).flatten(1).sum(0)[:, None].expand(784, 10))


def test_normalize_is_standardization():
    from vizkit.models._base import Normalize

    x = torch.rand(4, 1, 5, 5)
    torch.testing.assert_close(Normalize(0.25, 0.5)(x), (x - 0.25) / 0.5)
    xg = x.clone().requires_grad_()
    Normalize(0.25, 0.5)(xg).sum().backward()  # the in-place division keeps autograd correct
    torch.testing.assert_close(xg.grad, torch.full_like(x, 2.0))


def test_rbf_layer_matches_seed_expansion_and_gradients():
    torch.manual_seed(0)
    layer = RBFLayer(7, 11)
    with torch.no_grad():
        layer.sigma.uniform_(0.5, 2.0)
    x = torch.randn(13, 7, requires_grad=True)
    h = layer(x)
    ref = rbf_expanded(x, layer.centers, layer.sigma)
    torch.testing.assert_close(h, ref, atol=1e-5, rtol=1e-5)
    g1 = torch.autograd.grad(h.sum(), (x, layer.centers, layer.sigma))
    g2 = torch.autograd.grad(ref.sum(), (x, layer.centers, layer.sigma))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert layer.centers.shape == (11, 7) and layer.sigma.shape == (11,)
    assert torch.all(layer.sigma > 0)


def test_rbf_layer_peak_at_centre_and_init():
    torch.manual_seed(1)
    layer = RBFLayer(3, 4)
    torch.testing.assert_close(layer.sigma.detach(), torch.ones(4))
    h = layer(layer.centers.detach())
    torch.testing.assert_close(torch.diagonal(h), torch.ones(4), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        layer(torch.zeros(2, 5))


def test_rbfnet_bottleneck_and_head():
    torch.manual_seed(0)
    net = RBFNet(n_centers=100)
    x = torch.rand(4, 1, 28, 28)
    z = net.embed(x)
    assert z.shape == (4, 2)
    torch.testing.assert_close(net(x), net.head(net.rbf(z)))
    assert net.rbf.centers.shape == (100, 2)


def test_registry_every_model_builds_and_returns_logits():
    assert set(list_models()) >= {"logreg", "mlp", "deep", "cnn", "rbf"}
    for name in list_models():
        m = build_default(name, (1, 28, 28), 10).eval()
        out = m(torch.rand(3, 1, 28, 28))
        assert out.shape == (3, 10)
        assert not torch.allclose(out.softmax(1).sum(1), out.sum(1))  # raw logits, not probs


def test_spec_roundtrip_and_normalization_inside():
    spec = default_spec("mlp", (1, 28, 28), 10)
    assert spec["args"]["normalize"] == pytest.approx([0.1307, 0.3081])
    a, b = build(spec), build(spec)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(a(x), b(x))
    assert a.norm.mean.item() == pytest.approx(0.1307)
    assert default_spec("mlp", (2,), 3)["args"].get("normalize") is None


@pytest.mark.parametrize("call, message", [
    (lambda: default_spec("resnet", (2,), 3), "`model` must be one of"),
    (lambda: default_spec("cnn", (2,), 3), "square image inputs"),
    (lambda: default_spec("mlp", (2,), 3, width=3), "do not fit PTDeep"),
    (lambda: build({"class": "Nope", "args": {}}), "spec 'class' must be one of"),
    (lambda: build([1, 2]), "must be a dict"),
])
def test_registry_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_convnet_other_sizes():
    m = ConvNet(in_channels=3, n_classes=4, image_size=8, channels=(4,))
    assert m(torch.rand(2, 3, 8, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="too small"):
        ConvNet(image_size=2, channels=(4, 4))


def test_fcann2_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 2))
    Y = rng.integers(0, 3, size=9)
    m = FCANN2(rng.normal(size=(2, 4)), rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=3))
    _, g = fcann2_loss_and_grads(m, X, Y, 1e-2)
    eps = 1e-6
    for name in ("W1", "b1", "W2", "b2"):
        P = getattr(m, name)
        num = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + eps
            lp, _ = fcann2_loss_and_grads(m, X, Y, 1e-2)
            P[idx] = old - eps
            lm, _ = fcann2_loss_and_grads(m, X, Y, 1e-2)
            P[idx] = old
            num[idx] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(getattr(g, name), num, rtol=1e-4, atol=1e-6)


def test_fcann2_learns_gmm():
    from vizkit.data import sample_gmm_2d

    X, Y = sample_gmm_2d(6, 2, 10, seed=100)
    m = fcann2_train(X, Y, hidden=5, param_niter=3000, param_delta=0.05, param_lambda=1e-3, seed=0)
    P = fcann2_classify(m, X)
    assert P.shape == (60, 2)
    np.testing.assert_allclose(P.sum(1), 1.0)
    assert (P.argmax(1) == Y).mean() >= 0.8


def test_ksvmwrap_interface():
    from vizkit.data import sample_gmm_2d

    X, Y = sample_gmm_2d(6, 2, 10, seed=1)
    svm = KSVMWrap(X, Y, param_svm_c=1, param_svm_gamma="auto")
    assert svm.predict(X).shape == (60,)
    assert (svm.predict(X) == Y).mean() > 0.8
    assert svm.get_scores(X).shape == (60,)
    sv = svm.support
    assert sv.ndim == 1 and 0 < len(sv) <= 60 and sv.max() < 60


def test_linreg_hand_gradients_equal_autograd():
    r = linreg_gradients([1.0, 2.0], [3.0, 5.0], a=0.3, b=-0.7)
    assert r["grad_a"] == pytest.approx(r["autograd_a"], rel=1e-12)
    assert r["grad_b"] == pytest.approx(r["autograd_b"], rel=1e-12)
    # at the exact line y = 2x + 1 both gradients vanish
    r = linreg_gradients([1.0, 2.0], [3.0, 5.0], a=2.0, b=1.0)
    assert r["grad_a"] == pytest.approx(0.0) and r["autograd_b"] == pytest.approx(0.0)
