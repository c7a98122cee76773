"""vizkit.lab: the lab's modules (seed 002) reproduce the lab's numbers through vizkit's code."""

import io
import re

import numpy as np
import pytest
import torch
from torch import nn

import vizkit
from vizkit import lab
from vizkit.lab import data, fcann2, ksvm_wrap, mnist_shootout, pt_deep, pt_linreg, pt_logreg

from _toy import image_split

LAB_ORDER = ["data", "fcann2", "pt_linreg", "pt_logreg", "pt_deep", "ksvm_wrap", "mnist_shootout"]


def _positions(text, names):
    return [text.index(n) for n in names]


def test_package_and_module_docstrings_follow_the_labs_order():
    assert lab.__all__ == LAB_ORDER
    pos = _positions(lab.__doc__, [f"vizkit.lab.{m}" for m in LAB_ORDER])
    assert pos == sorted(pos)
    for name in LAB_ORDER:
        module = getattr(lab, name)
        doc = module.__doc__
        assert doc.startswith(f"The lab's ``{name}``"), name
        names = [n for n in module.__all__ if n not in ("load", "train_config")]
        pos = [re.search(rf"``{n}[`(]", doc).start() for n in names]
        assert pos == sorted(pos), (name, names)


# --- data ---------------------------------------------------------------------------------------

def test_data_front_doors_are_vizkits_functions_and_seed_like_the_lab():
    X, Y = data.sample_gmm_2d(6, 2, 10, seed=100)
    X2, Y2 = vizkit.data.sample_gmm_2d(6, 2, 10, seed=100)
    np.testing.assert_array_equal(X, X2), np.testing.assert_array_equal(Y, Y2)
    np.random.seed(100)
    A, YA = data.sample_gmm_2d(6, 2, 10)
    np.random.seed(100)
    B, YB = data.sample_gmm_2d(6, 2, 10)
    np.testing.assert_array_equal(A, B), np.testing.assert_array_equal(YA, YB)
    assert data.sample_gauss_2d(3, 5, seed=0)[0].shape == (15, 2)
    assert data.graph_data is vizkit.plot.graph_data
    assert data.eval_perf_multi is vizkit.train.eval_perf_multi and data.eval_AP is vizkit.train.eval_AP
    assert data.eval_AP([0, 1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)
    np.testing.assert_array_equal(data.class_to_onehot(np.array([0, 2, 1])),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match="class indices"):
        data.class_to_onehot(np.array([0.5, 1.0]))


def test_graph_surface_evaluates_then_draws_with_plot_field(pyplot):
    """The lab's graph_surface = analysis' decision_surface on a width x height grid, drawn by
    plot_field on the current axes; a computed surface is drawn as it is."""
    from vizkit.analysis.decision_surface import decision_surface

    fun = lambda P: 1 / (1 + np.exp(-(P[:, 0] - 2 * P[:, 1])))  # noqa: E731
    rect = ((-1, -2), (3, 1))
    fig, ax = pyplot.subplots()
    art = data.graph_surface(fun, rect, 0.5, 9, 7)
    assert pyplot.gca() is ax and art["mesh"].axes is ax and art["surface"].shape == (7, 9)
    ref = vizkit.plot.plot_field(decision_surface(fun, rect, grid_resolution=(9, 7)), 0.5,
                                 ax=pyplot.figure().gca())
    np.testing.assert_array_equal(art["mesh"].get_array(), ref["mesh"].get_array())
    assert art["mesh"].get_clim() == ref["mesh"].get_clim()
    again = data.graph_surface(art["surface"], offset=None, ax=pyplot.figure().gca())
    assert again["surface"] is art["surface"] and again["contour"] is None
    with pytest.raises(ValueError, match="`rect` is needed"):
        data.graph_surface(fun)


def test_graph_data_special_points_doubled(pyplot):
    X, Y = data.sample_gmm_2d(4, 2, 5, seed=0)
    fig, ax = pyplot.subplots()
    art = data.graph_data(X, Y, Y, special=[0, 3], ax=ax)
    sizes = art["correct"].get_sizes()
    assert sorted(sizes)[-2:] == [40.0, 40.0] and (sizes == 20.0).sum() == len(X) - 2


# --- fcann2 -------------------------------------------------------------------------------------

def test_fcann2_front_door_equals_vizkits_model():
    X, Y = data.sample_gmm_2d(6, 2, 10, seed=100)
    W1, b1, W2, b2 = fcann2.fcann2_train(X, Y, param_niter=3000, seed=0)
    ref = vizkit.models.fcann2_train(X, Y, hidden=5, param_niter=3000, param_delta=0.05,
                                     param_lambda=1e-3, seed=0)
    np.testing.assert_array_equal(W1, ref.W1), np.testing.assert_array_equal(b2, ref.b2)
    P = fcann2.fcann2_classify(X, W1, b1, W2, b2)
    assert W1.shape == (2, 5) and W2.shape == (5, 2) and P.shape == (60, 2)
    np.testing.assert_allclose(P.sum(1), 1.0)
    assert (P.argmax(1) == Y).mean() >= 0.8
    np.testing.assert_allclose(fcann2.fcann2_decfun(W1, b1, W2, b2)(X), P[:, 1])


# --- pt_linreg ----------------------------------------------------------------------------------

def test_pt_linreg_autograd_gradients_equal_the_hand_derived_ones():
    g = pt_linreg.gradients([1.0, 2.0], [3.0, 5.0], 0.0, 0.0)
    # by hand at a = b = 0: dL/da = -2 (3*1 + 5*2) = -26, dL/db = -2 (3 + 5) = -16, L = 9 + 25
    assert (g["grad_a"], g["grad_b"], g["loss"]) == (-26.0, -16.0, 34.0)
    assert (g["autograd_a"], g["autograd_b"]) == (-26.0, -16.0)
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 3, 20)
    Y = 2 * X + 1 + rng.normal(0, 0.5, 20)
    a, b, rows = pt_linreg.train(X, Y, param_niter=300, param_delta=0.005, seed=1)
    for r in rows:
        assert r["autograd_a"] == pytest.approx(r["grad_a"], rel=1e-12, abs=1e-12)
        assert r["autograd_b"] == pytest.approx(r["grad_b"], rel=1e-12, abs=1e-12)
    # the least-squares line, a second route
    a_ls, b_ls = np.polyfit(X, Y, 1)
    assert (a, b) == pytest.approx((a_ls, b_ls), abs=1e-4)
    a, b, _ = pt_linreg.train([1, 2], [3, 5], param_niter=500, param_delta=0.1, seed=0)
    assert (a, b) == pytest.approx((2.0, 1.0), abs=1e-6)


def test_pt_linreg_same_seed_same_start():
    r1 = pt_linreg.train([1, 2], [3, 5], param_niter=2, seed=3)[2]
    r2 = pt_linreg.train([1, 2], [3, 5], param_niter=2, seed=3)[2]
    r3 = pt_linreg.train([1, 2], [3, 5], param_niter=2, seed=4)[2]
    assert r1 == r2 and r1[0]["a"] != r3[0]["a"]


# --- pt_logreg ----------------------------------------------------------------------------------

def test_pt_logreg_get_loss_is_the_mean_nll_fit_minimizes():
    X, Y = data.sample_gauss_2d(3, 50, seed=100)
    Yoh = data.class_to_onehot(Y)
    model = pt_logreg.PTLogreg(2, 3, seed=0)
    with torch.no_grad():
        logits = model(torch.tensor(X, dtype=torch.float32)).double()
    by_hand = float(-(logits[np.arange(150), Y] - torch.logsumexp(logits, 1)).mean())
    assert model.get_loss(X, Yoh).item() == pytest.approx(by_hand, rel=1e-5)
    # the mean does not grow with the data: the same points twice, the same loss
    assert model.get_loss(np.vstack([X, X]), np.vstack([Yoh, Yoh])).item() == pytest.approx(
        by_hand, rel=1e-5)
    lam = 0.01
    expected = model.get_loss(X, Yoh, lam).item()
    assert expected > by_hand
    hist = pt_logreg.train(model, torch.tensor(X), torch.tensor(Yoh), 50, 0.05, lam)
    assert hist.epochs[0]["train_loss"] == pytest.approx(expected, rel=1e-5)
    assert hist.series("train_loss")[-1] < 0.5 * expected


def test_pt_logreg_learns_three_gaussians_like_lab_0():
    X, Y = data.sample_gauss_2d(3, 100, seed=100)
    model = pt_logreg.PTLogreg(2, 3, seed=0)
    pt_logreg.train(model, X, data.class_to_onehot(Y), 1000, 0.5)
    probs = pt_logreg.eval(model, X)
    assert isinstance(probs, np.ndarray) and probs.shape == (300, 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    acc, pr, M = data.eval_perf_multi(probs.argmax(1), Y)
    assert acc >= 0.9 and M.sum() == 300


def test_one_hot_labels_are_required():
    model = pt_logreg.PTLogreg(2, 3, seed=0)
    X, Y = data.sample_gauss_2d(3, 5, seed=0)
    with pytest.raises(ValueError, match=r"one-hot.*class_to_onehot.*\(15,\)"):
        pt_logreg.train(model, X, Y, 10, 0.1)


# --- pt_deep ------------------------------------------------------------------------------------

def test_count_params_is_9_for_2_3_and_prints_the_table():
    buf = io.StringIO()
    assert pt_deep.count_params(pt_deep.PTDeep([2, 3], torch.relu), file=buf) == 9
    out = buf.getvalue()
    assert "[3, 2]" in out and "total" in out
    assert pt_deep.count_params(pt_deep.PTDeep([2, 5, 3]), verbose=False) == 2 * 5 + 5 + 5 * 3 + 3


@pytest.mark.parametrize("fn, name, cls", [(torch.relu, "relu", nn.ReLU),
                                           (torch.sigmoid, "sigmoid", nn.Sigmoid),
                                           (torch.tanh, "tanh", nn.Tanh),
                                           (torch.nn.functional.elu, "elu", nn.ELU)])
def test_ptdeep_takes_the_activation_function_or_its_name(fn, name, cls):
    a = pt_deep.PTDeep([2, 5, 3], fn, seed=1)
    b = pt_deep.PTDeep([2, 5, 3], name, seed=1)
    assert isinstance(a, vizkit.models.PTDeep) and a.activation == name
    assert isinstance(a.layers[1], cls)
    x = torch.randn(4, 2)
    torch.testing.assert_close(a(x), b(x))
    # the seed is the caller's only randomness: torch's generator is left as it was
    torch.manual_seed(5)
    r1 = torch.rand(1)
    torch.manual_seed(5)
    pt_deep.PTDeep([2, 3], fn, seed=1)
    assert torch.equal(torch.rand(1), r1)


@pytest.mark.parametrize("bad", [lambda x: x, torch.exp, "rleu"])
def test_ptdeep_rejects_unknown_activations_listing_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"`activation` must be one of 'relu', 'sigmoid'"):
        pt_deep.PTDeep([2, 3], bad)


def test_ptdeep_2_10_10_2_reaches_095_on_the_labs_gmm():
    """Seed 002: sample_gmm_2d(6, 2, 10), config [2, 10, 10, 2], ReLU, param_niter=1e4,
    param_delta=0.1, param_lambda=1e-4."""
    X, Y = data.sample_gmm_2d(6, 2, 10, seed=100)
    model = pt_deep.PTDeep([2, 10, 10, 2], torch.relu, seed=0)
    hist = pt_deep.train(model, X, data.class_to_onehot(Y), int(1e4), 0.1, 1e-4)
    probs = pt_deep.eval(model, X)
    acc, pr, _ = data.eval_perf_multi(probs.argmax(1), Y)
    assert acc >= 0.95
    assert len(hist.epochs) == 10_000
    ap = data.eval_AP(Y[np.argsort(probs[:, 1])])
    assert ap >= 0.95


def test_train_mb_shuffles_seeded_minibatches_without_a_dataloader():
    X, Y = data.sample_gmm_2d(6, 2, 10, seed=100)
    Yoh = data.class_to_onehot(Y)
    model = pt_deep.PTDeep([2, 10, 2], seed=0)
    batches = []
    hook = model.layers[0].register_forward_hook(
        lambda m, i, o: batches.append(i[0].detach().clone()) if m.training else None)
    pt_deep.train_mb(model, X, Yoh, 2, 0.1, n_batches=4, seed=7)
    hook.remove()
    assert [len(b) for b in batches] == [15] * 8  # 4 mini-batches per epoch, 2 epochs
    Xt = torch.tensor(X, dtype=torch.float32)
    for epoch in (batches[:4], batches[4:]):  # each epoch sees every point once
        seen = torch.cat(epoch)
        assert torch.equal(seen[seen[:, 0].argsort()], Xt[Xt[:, 0].argsort()])
    assert not torch.equal(torch.cat(batches[:4]), torch.cat(batches[4:]))  # reshuffled

    def weights(seed):
        m = pt_deep.PTDeep([2, 10, 2], seed=0)
        pt_deep.train_mb(m, X, Yoh, 5, 0.1, n_batches=3, seed=seed)
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.equal(weights(1), weights(1)) and not torch.equal(weights(1), weights(2))
    with pytest.raises(ValueError, match=r"`n_batches` must be an integer in \[1, 60\]"):
        pt_deep.train_mb(model, X, Yoh, 1, 0.1, n_batches=0)


# --- ksvm_wrap ----------------------------------------------------------------------------------

@pytest.mark.parametrize("C", [3, 4])
def test_ksvmwrap_scores_one_column_per_class_give_high_average_precision(C):
    from sklearn.metrics import average_precision_score

    X, Y = data.sample_gmm_2d(2 * C, C, 20, seed=0)
    svm = ksvm_wrap.KSVMWrap(X, Y, param_svm_c=1, param_svm_gamma="auto")
    S = svm.get_scores(X)
    assert S.shape == (len(X), C)
    np.testing.assert_array_equal(S.argmax(1), svm.predict(X))
    ap = [average_precision_score(Y == c, S[:, c]) for c in range(C)]
    assert min(ap) >= 0.85, ap
    np.testing.assert_allclose(vizkit.train.average_precision(S, Y), ap)
    binary = ksvm_wrap.KSVMWrap(*data.sample_gmm_2d(4, 2, 10, seed=0))
    assert binary.get_scores(X).shape == (len(X),)


def test_ptdeep_vs_ksvmwrap_table_over_seeds():
    kw = dict(K=4, C=2, N=10, param_niter=1500)
    rows = ksvm_wrap.compare_on_random_datasets(seeds=[0, 1, 2], **kw)
    assert [r["seed"] for r in rows] == [0, 1, 2]
    for r in rows:
        for k in ("ptdeep_train_acc", "ptdeep_test_acc", "ksvm_train_acc", "ksvm_test_acc",
                  "ptdeep_test_ap", "ksvm_test_ap"):
            assert 0.0 <= r[k] <= 1.0
        assert r["ptdeep_params"] == 2 * 10 + 10 + 10 * 10 + 10 + 10 * 2 + 2
        assert 0 < r["ksvm_support"] <= 40
    assert np.mean([r["ptdeep_train_acc"] for r in rows]) >= 0.8
    assert np.mean([r["ksvm_train_acc"] for r in rows]) >= 0.8
    again = ksvm_wrap.compare_on_random_datasets(seeds=[1], **kw)
    assert again == [rows[1]]  # same seed, same numbers
    table = ksvm_wrap.format_table(rows)
    assert len(table.splitlines()) == 5 and table.splitlines()[-1].split()[0] == "mean"


# --- mnist_shootout -----------------------------------------------------------------------------

def test_mnist_shootout_experiments_on_toy_images():
    split = image_split(n=150, classes=3)
    kw = {"epochs": 4, "lr": 0.5}
    rows = mnist_shootout.deeper_configs(split, hiddens=((), (16,)), **kw)
    assert [r["config"] for r in rows] == [[64, 3], [64, 16, 3]]
    assert [r["params"] for r in rows] == [64 * 3 + 3, 64 * 16 + 16 + 16 * 3 + 3]
    assert all(r["test_acc"] >= 0.9 for r in rows)
    w = mnist_shootout.weights_per_digit(split, (0.0, 0.1), **kw)
    assert w[0.0]["images"].images.shape == (3, 8, 8)
    norms = [float((w[lam]["model"].layers[0].weight.detach() ** 2).sum()) for lam in (0.0, 0.1)]
    assert norms[1] < norms[0]
    es = mnist_shootout.early_stopping(split, (16,), **kw)
    assert len(es["test_acc_per_epoch"]) == 4 and es["last_test_acc"] == es["test_acc_per_epoch"][-1]
    assert es["test_acc"] == es["test_acc_per_epoch"][es["best_epoch"] - 1]
    mb = mnist_shootout.minibatches(split, (16,), n_batches=3, **kw)
    assert mb["history"].epochs[-1]["train_loss"] < mb["history"].epochs[0]["train_loss"]
    explr = mnist_shootout.adam_exponential_lr(split, (16,), lr=1e-2, gamma=0.5, epochs=3)
    assert explr["history"].series("lr") == pytest.approx([1e-2, 5e-3, 2.5e-3])
    assert mnist_shootout.batchnorm(split, (16,), **kw)["model"].layers[1].__class__ is nn.BatchNorm1d
    for kernel in ("rbf", "linear"):
        s = mnist_shootout.svm(split, kernel, n_train=60)
        assert s["n_train"] == 60 and s["test_acc"] >= 0.9
    with pytest.raises(ValueError, match="`kernel` must be one of 'rbf', 'linear'"):
        mnist_shootout.svm(split, "poly")


def test_lab_models_carry_the_spec_of_the_vizkit_model_they_are(tmp_path):
    from vizkit import checkpoint
    from vizkit.models import build

    x = torch.randn(5, 2)
    for model in (pt_deep.PTDeep([2, 5, 3], torch.tanh, seed=0), pt_logreg.PTLogreg(2, 3, seed=0)):
        rebuilt = build(model.vizkit_spec)
        assert type(rebuilt) is type(model).__mro__[2]  # (lab class, LabLoss, vizkit class)
        rebuilt.load_state_dict(model.state_dict())
        torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x))
        checkpoint.save(tmp_path / "m.pt", model, spec=model.vizkit_spec)
        loaded, _ = checkpoint.load(tmp_path / "m.pt")
        torch.testing.assert_close(loaded(x), model(x))


def test_lab_models_save_without_an_explicit_spec(tmp_path):
    import torch

    from vizkit import checkpoint
    from vizkit.lab import pt_deep, pt_logreg

    for model in (pt_deep.PTDeep([2, 5, 3], torch.relu), pt_logreg.PTLogreg(2, 3)):
        path = checkpoint.save(tmp_path / f"{type(model).__name__}.pt", model)
        loaded, _ = checkpoint.load(path)
        x = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.equal(model.eval()(x), loaded(x))
