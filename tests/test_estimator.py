"""NetClassifier as a scikit-learn estimator, and the random hyper-parameter search.

scikit-learn's own estimator checks run on a 3-epoch net; the only check listed as an expected
failure is ``check_array_api_input`` (array-API inputs are converted to NumPy; scikit-learn skips
it unless ``SCIPY_ARRAY_API=1``), see ``vizkit.estimator.SKIPPED_CHECKS``. ``fit`` takes no
``sample_weight``, so scikit-learn does not generate the sample-weight checks.
"""

import json
import re

import numpy as np
import pytest
import torch
from scipy.stats import uniform
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from vizkit.estimator import (SKIPPED_CHECKS, HiddenSizes, NetClassifier, search, search_results)

FAST = dict(epochs=3, batch_size=16, lr=0.05)


def blobs(n=40, seed=0, labels=(0, 1, 2)):
    """Well separated 2D clusters: any working classifier gets them right."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-3.0, -3.0], [3.0, 3.0], [3.0, -3.0], [-3.0, 3.0]])[:len(labels)]
    X = np.concatenate([c + 0.5 * rng.standard_normal((n, 2)) for c in centers])
    y = np.repeat(np.asarray(labels, dtype=object if isinstance(labels[0], str) else None), n)
    return X.astype(np.float32), y


# --------------------------------------------------------------------- scikit-learn's checks
@parametrize_with_checks([NetClassifier("deep", hidden=(8, 4), **FAST)],
                         expected_failed_checks=lambda est: SKIPPED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- works with sklearn tools
def test_default_constructor_fits_any_data():
    X, y = blobs(30)
    clf = NetClassifier(epochs=10).fit(X, y)  # seed 004's deep net, sizes from the data
    assert clf.n_features_in_ == 2
    assert clf.spec_["args"]["config"] == [2, 360, 187, 3]
    assert clf.score(X, y) > 0.9


def test_decision_boundary_display_unchanged(pyplot):
    from sklearn.inspection import DecisionBoundaryDisplay

    from vizkit.data import sample_gmm_2d

    X, y = sample_gmm_2d(4, 2, 30, seed=0)
    clf = NetClassifier("mlp", hidden=(16,), epochs=30, lr=0.01).fit(X, y)
    disp = DecisionBoundaryDisplay.from_estimator(clf, X, grid_resolution=20,
                                                  response_method="predict_proba")
    grid = np.c_[disp.xx0.ravel(), disp.xx1.ravel()]
    expected = clf.predict_proba(grid)[:, 1].reshape(disp.xx0.shape)
    np.testing.assert_allclose(disp.response, expected, rtol=1e-6)
    assert disp.ax_.collections  # the filled contours were drawn
    X3, y3 = blobs(20)
    clf3 = NetClassifier("mlp", hidden=(8,), **FAST).fit(X3, y3)
    d3 = DecisionBoundaryDisplay.from_estimator(clf3, X3, grid_resolution=10,
                                                response_method="predict")
    assert set(np.unique(d3.response)) <= {0, 1, 2}


def test_cross_val_score_and_pipeline():
    X, y = blobs(30)
    X = X * 100 + 1000  # badly scaled: the pipeline's scaler fixes it
    pipe = make_pipeline(StandardScaler(), NetClassifier("mlp", hidden=(8,), **FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    pipe.set_params(netclassifier__lr=0.01)
    assert pipe.named_steps["netclassifier"].lr == 0.01


def test_same_seed_same_predictions_and_global_rng_untouched():
    X, y = blobs(20)
    state = torch.get_rng_state()
    a = NetClassifier("deep", hidden=(8, 4), seed=3, **FAST).fit(X, y).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), state)
    b = NetClassifier("deep", hidden=(8, 4), seed=3, **FAST).fit(X, y).predict_proba(X)
    c = NetClassifier("deep", hidden=(8, 4), seed=4, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("labels", [("cat", "dog", "emu"), (42, 3, 7)])
def test_arbitrary_labels_round_trip(labels):
    X, y = blobs(20, labels=labels)
    clf = NetClassifier("mlp", hidden=(8,), **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(np.asarray(labels, dtype=y.dtype)))
    pred = clf.predict(X)
    assert set(pred.tolist()) <= set(labels)
    np.testing.assert_array_equal(pred, clf.classes_[clf.predict_proba(X).argmax(1)])
    assert (pred == y).mean() > 0.9


def test_fixed_classes_keep_their_order():
    X, y = blobs(20)
    clf = NetClassifier("mlp", hidden=(8,), classes=[2, 0, 1], **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [2, 0, 1])
    proba = clf.predict_proba(X)
    assert proba[y == 2, 0].mean() > 0.5  # column 0 is class 2


def test_image_shapes_two_routes_agree():
    rng = np.random.default_rng(0)
    imgs = rng.random((40, 1, 28, 28), dtype=np.float32)
    y = np.arange(40) % 2
    kw = dict(hidden=(6,), normalize=None, **FAST)
    a = NetClassifier("mlp", **kw).fit(imgs, y)
    b = NetClassifier("mlp", input_shape=(1, 28, 28), **kw).fit(imgs.reshape(40, -1), y)
    assert a.n_features_in_ == b.n_features_in_ == 784
    np.testing.assert_allclose(a.predict_proba(imgs), b.predict_proba(imgs.reshape(40, -1)),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="X has 10 features, but NetClassifier is expecting 784"):
        a.predict(np.zeros((2, 10)))
    cnn = NetClassifier("cnn", epochs=1, batch_size=20).fit(imgs.reshape(40, -1), y)
    assert cnn.input_shape_ == (1, 28, 28)


def test_checkpoint_round_trip(tmp_path):
    from vizkit.checkpoint import load

    X, y = blobs(20, labels=("a", "b", "c"))
    clf = NetClassifier("deep", hidden=(8, 4), **FAST).fit(X, y)
    path = clf.save_checkpoint(tmp_path / "m.pt", metrics={"accuracy": clf.score(X, y)})
    model, meta = load(path)
    with torch.no_grad():
        proba = torch.softmax(model(torch.tensor(X)).double(), 1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6)
    assert meta["classes"] == ["a", "b", "c"]
    assert meta["data"]["fingerprint"] == clf.data_fingerprint_
    assert meta["config"]["epochs"] == 3 and meta["history"]["epochs"]
    assert meta["estimator_params"]["hidden"] == [8, 4]
    assert meta["spec"] == clf.spec_


# --------------------------------------------------------------------- errors
def _fold_missing_class():
    X, y = blobs(10)  # sorted labels: an unshuffled 3-fold split leaves a class out of training
    cross_val_score(NetClassifier("mlp", classes=[0, 1, 2], **FAST), X, y, cv=KFold(3),
                    error_score="raise")


ERRORS = [
    (lambda: NetClassifier().set_params(lrr=0.1), ValueError,
     r"unknown parameter\(s\) 'lrr'.*Did you mean 'lr'\?.*Valid parameters: .*weight_decay"),
    (_fold_missing_class, ValueError, r"no example of class\(es\) \[0\].*fold"),
    (lambda: NetClassifier(classes=[0, 1], **FAST).fit(*blobs(5)), ValueError,
     r"label\(s\) \[2\] that are not in `classes`"),
    (lambda: search(*blobs(5), space={}), ValueError, r"`space` is empty"),
    (lambda: search(*blobs(5), space={"dropout": []}), ValueError, r"empty list"),
    (lambda: search(*blobs(5), space={"dropuot": uniform(0, 1)}), ValueError,
     r"unknown parameter 'dropuot'. Did you mean 'dropout'\?"),
    (lambda: search(*blobs(5), model="cnn"), ValueError, r"pass `space=` for model 'cnn'"),
    (lambda: search(*blobs(5), epochz=3), ValueError, r"unknown NetClassifier parameter"),
    (lambda: NetClassifier("resnet").fit(*blobs(5)), ValueError, r"`model` must be one of"),
    (lambda: NetClassifier("logreg", hidden=(4,)).fit(*blobs(5)), ValueError,
     r"'hidden' do\(es\) not apply to model 'logreg'"),
    (lambda: NetClassifier(input_shape=(1, 3, 3)).fit(*blobs(5)), ValueError,
     r"`input_shape` \(1, 3, 3\) holds 9 values; X has 2"),
    (lambda: NetClassifier(val_fraction=1.5).fit(*blobs(5)), ValueError, r"`val_fraction`"),
    (lambda: NetClassifier(train_options={"lr": 1}).fit(*blobs(5)), ValueError,
     r"'lr' as NetClassifier parameter"),
    (lambda: NetClassifier(train_options={"momentun": 0.9}).fit(*blobs(5)), ValueError,
     r"unknown training option.*'momentun'.*Did you mean 'momentum'"),
    (lambda: NetClassifier().fit(np.zeros((4, 2)), [1, 1, 1, 1]), ValueError,
     r"at least 2 classes"),
    (lambda: NetClassifier("cnn").fit(np.zeros((4, 10)), [0, 1, 0, 1]), ValueError,
     r"not a square number"),
]


@pytest.mark.parametrize("call, exc, message", ERRORS)
def test_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


# --------------------------------------------------------------------- search
def test_hidden_sizes_follow_seed_004():
    d = HiddenSizes(100, 500)
    draws = np.array([d.rvs(random_state=i) for i in range(300)])
    assert draws[:, 0].min() >= 100 and draws[:, 0].max() <= 500
    assert draws[:, 1].min() >= 50 and draws[:, 1].max() <= 250
    assert abs(draws[:, 1].mean() / draws[:, 0].mean() - 0.5) < 0.05


def test_search_refits_best_and_matches_cross_val_score():
    X, y = blobs(15)
    fixed = dict(model="mlp", **FAST)
    space = {"hidden": HiddenSizes(4, 12, n_layers=1), "dropout": uniform(0, 0.5)}
    rs = search(X, y, n_iter=3, cv=3, seed=1, space=space, **fixed)
    assert len(rs.cv_results_["params"]) == 3
    best = rs.best_estimator_
    assert isinstance(best, NetClassifier) and best.n_features_in_ == 2
    assert best.get_params()["hidden"] == rs.best_params_["hidden"]
    rows = search_results(rs)
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert {"h1", "dropout", "mean_score", "std_score", "fit_seconds"} <= set(rows[0])
    # the same candidate scored by hand on the same folds gives the same number
    again = cross_val_score(NetClassifier(seed=1, **fixed, **rs.best_params_), X, y,
                            cv=StratifiedKFold(3, shuffle=True, random_state=1))
    assert again.mean() == pytest.approx(rs.best_score_)


def test_search_cli_writes_results_and_checkpoint(tmp_path, capsys, monkeypatch):
    from vizkit.checkpoint import load
    from vizkit.cli import main

    monkeypatch.setenv("VIZKIT_THREADS", "1")  # the CLI sets torch's thread count from it
    out = tmp_path / "search"
    status = main(["search", "--model", "mlp", "--data", "gmm-2d", "--n-iter", "2", "--cv", "2",
                   "--out", str(out), "epochs=2", "batch_size=32"])
    assert status == 0
    table = capsys.readouterr().out
    assert re.search(r"rank\s+dropout\s+h1\s+h2\s+mean_score\s+std_score\s+fit_seconds", table)
    res = json.loads((out / "results.json").read_text())
    assert len(res["candidates"]) == 2 and res["fixed"]["epochs"] == 2
    assert (out / "results.csv").read_text().splitlines()[0].startswith("rank,dropout,h1,h2")
    model, meta = load(out / "model.pt")
    assert meta["data"]["name"] == "gmm-2d" and meta["config"]["batch_size"] == 32
    assert meta["metrics"]["cv_score"] == pytest.approx(res["best_cv_score"])


def test_plot_search_scores_draws_each_candidate(pyplot):
    from vizkit.estimator import plot_search_scores

    rows = [{"rank": 2, "dropout": 0.1, "h1": 100, "mean_score": 0.8, "std_score": 0.01},
            {"rank": 1, "dropout": 0.5, "h1": 300, "mean_score": 0.9, "std_score": 0.02},
            {"rank": 3, "dropout": 0.7, "h1": 200, "mean_score": 0.7, "std_score": 0.03}]
    out = plot_search_scores(rows)
    assert out["params"] == ["dropout", "h1"]
    assert [ax.get_xlabel() for ax in out["axes"]] == ["dropout probability",
                                                       "units in hidden layer 1"]
    line = out["points"][1].lines[0]  # the markers of the h1 panel
    np.testing.assert_array_equal(line.get_xdata(), [100, 300, 200])
    np.testing.assert_array_equal(line.get_ydata(), [0.8, 0.9, 0.7])
    assert out["best"][1].get_xdata()[0] == 300 and out["best"][0].get_xdata()[0] == 0.5
    with pytest.raises(ValueError, match="no candidates"):
        plot_search_scores([])


def test_plot_search_scores_of_a_fitted_search_draws_its_rows(pyplot):
    """The estimator's front door turns a fitted search into rows; the plotter takes rows only
    (vizkit.plot imports no estimator)."""
    from vizkit.estimator import plot_search_scores
    from vizkit.plot.search import plot_search_scores as draw_rows

    class Fitted:  # what RandomizedSearchCV leaves: two candidates, the second ranked first
        cv_results_ = {"params": [{"dropout": 0.1}, {"dropout": 0.5}], "rank_test_score": [2, 1],
                       "mean_test_score": [0.7, 0.9], "std_test_score": [0.1, 0.0],
                       "mean_fit_time": [1.0, 1.0], "mean_score_time": [0.1, 0.1]}

    out = plot_search_scores(Fitted())
    np.testing.assert_array_equal(out["points"][0].lines[0].get_xdata(), [0.5, 0.1])
    np.testing.assert_array_equal(out["points"][0].lines[0].get_ydata(), [0.9, 0.7])
    with pytest.raises(TypeError, match="search_results"):
        draw_rows(Fitted())
