"""The repository's recipes: each is a documented script with a ``run(ctx)`` (not run here; the
gallery build and ``bench/gallery.py`` run them on real data)."""

import ast
from pathlib import Path

import pytest

from vizkit.gallery import list_recipes

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
EXPECTED = ["gmm_decision_surfaces", "gmm_training_animation", "lab_ptdeep_vs_svm", "linreg_gradients", "png_folder_mlp",
            "mnist_weights", "mnist_shootout", "receptive_fields", "cnn_views", "hyperparameter_search",
            "activation_maximization", "rbf_bottleneck", "attributions", "over_training", "embeddings",
            "errors", "explain_prediction"]


def test_every_recipe_of_the_issue_is_there_in_gallery_order():
    assert list_recipes(RECIPES) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_recipe_is_a_documented_runnable_script(name):
    source = (RECIPES / f"{name}.py").read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and f"python recipes/{name}.py" in doc and "Shows" in doc
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "run" in funcs and [a.arg for a in funcs["run"].args.args] == ["ctx"]
    assert 'if __name__ == "__main__":' in source and "run_recipe_main(__file__)" in source
    machine_dirs = ["/" + "work" + "/", "/" + "home" + "/"]  # built, so this file names none itself
    assert not any(d in source for d in machine_dirs)


# --- recipe-level captions, built from tiny results ---------------------------------------------
import importlib.util  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _toy import image_split  # noqa: E402


def _recipe(name):
    spec = importlib.util.spec_from_file_location(f"_recipe_{name}", RECIPES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _hist(val_accs, lrs=None, losses=None):
    from vizkit.train import History

    n = len(val_accs)
    lrs = lrs or [1e-3] * n
    losses = losses or list(np.linspace(1.0, 0.1, n))
    best = int(np.argmax(val_accs)) + 1
    return History(epochs=[{"epoch": i + 1, "val_acc": v, "lr": lr, "train_loss": tl}
                           for i, (v, lr, tl) in enumerate(zip(val_accs, lrs, losses))],
                   best_epoch=best)


def test_rbf_caption_states_each_runs_own_budget_and_kept_epoch():
    rbf = _recipe("rbf_bottleneck")
    adam = rbf.run_summary("adam", {"optimizer": "adam", "lr": 1e-2, "batch_size": 64,
                                    "scheduler": "cosine"}, _hist([0.5, 0.9, 0.8]),
                           {"accuracy": 0.85}, 640, 300, 0.7)
    sgd = rbf.run_summary("seed-sgd", {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.0,
                                       "batch_size": 64}, _hist([0.1] * 4 + [0.2] + [0.15] * 5),
                          {"accuracy": 0.19}, 640, 200, 0.05)
    assert (adam["steps"], sgd["steps"]) == (30, 100)
    text = rbf.curves_caption([adam, sgd])
    assert "3 epochs" in text and "10 epochs" in text and "(30 steps)" in text
    assert "at epoch 2 (kept)" in text and "at epoch 5 (kept)" in text
    assert "on 300 validation images" in text and "on 200 validation images" in text
    assert "30% of the optimizer steps" in text and "same budget" not in text
    assert "SGD, lr 0.0001, momentum 0" in text


def test_rbf_class_separation_hand_worked():
    rbf = _recipe("rbf_bottleneck")
    y = np.array([0, 0, 1, 1])
    assert rbf.class_separation(np.array([[0, 0], [0, 0], [3, 4], [3, 4]]), y) == 1.0
    # the same two points in each class: no variance between the class means
    assert rbf.class_separation(np.array([[0, 0], [1, 1], [0, 0], [1, 1]]), y) == 0.0


def test_shootout_describes_each_run_from_its_config():
    so = _recipe("mnist_shootout")
    assert so.describe((100,), True, so.SEED_EXPLR) == \
        "[784,100,10] + batch norm, Adam 0.0001, ExponentialLR gamma 0.9999, batch 64, 8 epochs"
    assert so.describe((), False, {**so.SGD, "batch_size": 0, "epochs": 60}).endswith(
        "full batch, 60 epochs")
    seed = [r for r in so.RUNS if r[4] == "seed 002"]
    assert {r[3]["lr"] for r in seed} == {1e-4} and seed[1][3]["gamma"] == 1 - 1e-4


def test_shootout_lr_note_and_curves_caption_come_from_the_histories():
    so = _recipe("mnist_shootout")
    runs = [{"what": "A", "who": "seed 002", "config": so.SEED_EXPLR, "best_val": 0.8,
             "train_loss": [1.0, 0.5], "lrs": [1e-4, 1e-4 * (1 - 1e-4)]},
            {"what": "B", "who": "vizkit", "config": {**so.ADAM, "scheduler": "exponential",
                                                      "gamma": 0.5},
             "best_val": 0.9, "train_loss": [1.0, 0.2], "lrs": [4e-3, 2e-3]}]
    note = so.lr_decay_note(runs)
    assert "99.99% of the first" in note and "50.00% of the first" in note
    text = so.curves_caption(runs, {"RBF SVM": 0.91, "linear SVM": 0.88})
    assert "Lowest last training loss: B (0.2)" in text and "highest: A (0.5)" in text
    assert "from 80.0% (A) to 90.0% (B)" in text and "linear SVM 88.0%" in text


def test_lecun_table_states_both_training_sizes_and_standard_errors():
    so = _recipe("mnist_shootout")
    rows = so.lecun_rows([((), 12.0, "linear", 0.9), ((300,), 4.7, "300", 0.96)], "mnist-5k",
                         3000, 1000)
    assert rows[0][:5] == ["784-10", "linear", 12.0, "60,000", 10.0]
    assert rows[1][5] == round(100 * np.sqrt(0.04 * 0.96 / 1000), 2) and rows[1][6] == "3,000"
    cap = so.lecun_caption("mnist-5k", 3000, 1000, so.LECUN_CONFIG)
    assert "60,000" in cap and "3,000" in cap and "5%" in cap
    other = so.lecun_rows([((), 12.0, "linear", 0.8)], "fashion-mnist", 55000, 10000)
    assert other[0][2] == "-"
    assert "not comparable" in so.lecun_caption("fashion-mnist", 55000, 10000, so.LECUN_CONFIG)
    assert [h for h, _, _ in so.LECUN][:4] == [(), (300,), (1000,), (300, 100)]


def test_gmm_surface_measures_hand_worked():
    gmm = _recipe("gmm_decision_surfaces")
    from vizkit.analysis.decision_surface import decision_surface

    # P(x, y) = x on [-1, 1]^2: the 0 level is the segment x = 0 of length 2, slope 1,
    # mean |P| 0.5
    surf = decision_surface(lambda X: X[:, 0], ((-1, -1), (1, 1)), grid_resolution=(101, 101))
    m = gmm.surface_measures(surf, 0.0)
    assert abs(m["boundary_length"] - 2.0) < 1e-6
    assert abs(m["mean_slope"] - 1.0) < 1e-6 and abs(m["mean_margin"] - 0.5) < 0.01


def test_gmm_lambda_caption_claims_only_what_the_numbers_show():
    gmm = _recipe("gmm_decision_surfaces")
    falling = [{"boundary_length": 9.0, "mean_margin": 0.4, "mean_slope": 3.0},
               {"boundary_length": 8.0, "mean_margin": 0.3, "mean_slope": 2.0}]
    from vizkit.analysis.decision_surface import collapse_check

    y = np.array([0, 1, 0, 1, 1, 0])
    fine = [collapse_check(y, y)] * 2
    text = gmm.lambda_caption([0, 0.1], falling, [0.9, 0.8], fine)
    assert "flatter" in text and "shorter" in text and "boundary length 9.0" in text
    assert "collapsed" not in text
    ragged = [falling[0], {**falling[1], "boundary_length": 12.0}]
    text = gmm.lambda_caption([0, 0.1], ragged, [0.9, 0.8], fine)
    assert "shorter" not in text and "smoother" not in text and "flatter" in text
    # a collapsed net is named, and no trend is read from one working net alone
    text = gmm.lambda_caption([0, 0.1], falling, [0.9, 0.5],
                              [fine[0], collapse_check(np.zeros(6, int), y)])
    assert "param_lambda=0.1 the net collapsed" in text and "flatter" not in text
    assert gmm.kept(_hist([0.1, 0.9, 0.5])) == "2 of 3"
    accs = {"PTLogreg": 0.52, "fcann2": 0.97}
    cap = gmm.surfaces_caption({"K": 6, "N": 10}, 48, 17, {"fcann2": 3.25}, False, accs)
    assert "17 support vectors of 48 points" in cap and "fcann2 3.2" in cap
    assert cap.startswith("No straight line separates") and "PTLogreg 0.52" in cap
    cap = gmm.surfaces_caption({"K": 6, "N": 10}, 48, 17, {"fcann2": 3.25}, False, accs, 0.77,
                               (0.447, 0.545))
    assert "best line would still classify 0.77" in cap and "[0.45, 0.55]" in cap
    assert "near-even bet everywhere" in cap
    cap = gmm.surfaces_caption({"K": 6, "N": 10}, 48, 17, {"fcann2": 3.25}, True, accs)
    assert cap.startswith("A straight line separates") and "fail" not in cap
    assert gmm.FCANN2["param_niter"] == 100_000 and gmm.LAB["monitor"] == "val_loss"


def test_linreg_rows_count_steps_and_caption_matches_legend():
    lin = _recipe("linreg_gradients")
    rows = lin.descend(np.array([1.0, 2.0]), np.array([3.0, 5.0]), lr=0.1, steps=lin.STEPS)
    assert len(rows) == lin.STEPS + 1 and rows[-1]["step"] == lin.STEPS
    assert abs(rows[-1]["a"] - 2) < 0.02 and abs(rows[-1]["b"] - 1) < 0.02  # the lab's line
    assert rows[0]["a"] == rows[0]["b"] == 0.0 and rows[1]["a"] != 0.0
    text = lin.descent_caption([1, 3, 100], 0.0, 10.0)
    assert "after 1, 3 and 100 steps" in text and "diagonal" in text
    assert "diagonal" not in lin.descent_caption([1, 3, 100], 0.5, 10.0)
    # the floor is the least-squares line's loss (a second route: the lab's two points lie on
    # y = 2x + 1 exactly, so its floor is 0; noisy points have a floor above 0)
    a, b, floor = lin.least_squares_loss(np.array([1.0, 2.0]), np.array([3.0, 5.0]))
    assert abs(a - 2) < 1e-9 and abs(b - 1) < 1e-9 and abs(floor) < 1e-12
    x = np.linspace(-2, 3, 20)
    y = 2 * x + 1 + np.random.default_rng(0).normal(0, 0.7, 20)
    a, b, floor = lin.least_squares_loss(x, y)
    assert np.allclose([a, b], np.polyfit(x, y, 1)) and floor > 0
    text = lin.descent_caption([1, 3, 100], 0.0, 10.0, [("noisy", floor * 1.0000001, floor),
                                                        ("lab", 0.02, 0.0)])
    assert text.startswith("Gradient descent walks the line") and "agree with autograd" in text
    assert f"line's loss (numpy lstsq) is {floor:.4g}, reached" in text
    assert "is 0 (the points lie on one line), 0.02 below" in text


def test_weights_caption_names_the_datas_classes_and_backs_each_trend():
    w = _recipe("mnist_weights")
    rng = np.random.default_rng(0)
    rough = rng.normal(size=(3, 4, 4))
    rare = np.zeros(16, bool)
    rare[:4] = True
    st = w.weight_stats(rough, rare)
    assert st["max_abs"] == np.abs(rough).max()
    flat = np.abs(rough).reshape(3, 16)
    assert np.isclose(st["rare_ratio"], flat[:, :4].mean() / flat[:, 4:].mean())
    smooth = w.weight_stats(np.ones((3, 4, 4)) * 0.1, rare)
    assert smooth["roughness"] == 0.0 and smooth["rare_ratio"] == 1.0
    text = w.grid_caption("fashion-mnist", (0.0, 0.1), [st, smooth], [0.8, 0.7])
    assert "class of fashion-mnist" in text and "digit" not in text
    assert "shrinks the weights" in text and "smoother" in text and "border" not in text


def test_png_folder_recipe_reads_back_the_lecture_normalization_and_parses_fits_log(tmp_path):
    png = _recipe("png_folder_mlp")
    split = image_split(n=60, size=8)
    (train, val, test), n = png.png_loaders(split, tmp_path, seed=0, batch=5)
    assert n == {"training": 36, "validation": 12, "testing": 12}
    assert train.batch_size == 5 and len(test.dataset) == 12
    back = torch.cat([xb for xb, _ in val]) * 0.3081 + 0.1307
    labels = torch.cat([yb for _, yb in val])
    # the PNGs hold 8 bits: each class's images read back, un-normalized, within one grey level
    for c in range(3):
        raw = split.x_val[split.y_val == c]
        assert abs(float(back[labels == c].mean() - raw.mean())) <= 1 / 255
    from vizkit.models import PTDeep
    from vizkit.train import fit

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        hist = fit(PTDeep([64, 10, 3]), (train, val), {**png.CONFIG, "epochs": 2, "log_every": 3})
    log = png.parse_log(out.getvalue())
    assert list(log["step"]) == [3, 6, 9, 12, 15]  # 8 batches an epoch, a line every 3
    assert log["epoch"][-1] == 2 and np.all((log["train_err"] >= 0) & (log["train_err"] <= 1))
    text = png.log_caption(log, hist, n, 5, 0.25)
    assert "5 lines over 2 epochs of 8 batches" in text and "test error 25.0% on 12 test" in text
    assert "per epoch (12 images)" in text and text.startswith("Training error falls from")
    # the kept epoch is weighed against the last by a binomial standard error on 12 images
    import types

    def history(errs):
        eps = [{"val_acc": 1 - e} for e in errs]
        best = int(np.argmin(errs))
        return types.SimpleNamespace(epochs=eps, best=eps[best], best_epoch=best + 1)

    n12 = {"training": 40, "validation": 12, "testing": 12}
    close = png.log_caption(log, history([0.5, 0.25, 0.3]), n12, 5, 0.25)
    assert "within one standard error (12.5%)" in close and "1 validation image more" in close
    far = png.log_caption(log, history([0.5, 0.1, 0.5]), n12, 5, 0.25)
    assert "more than one standard error (8.7%) above it" in far
    last = png.log_caption(log, history([0.5, 0.4, 0.3]), n12, 5, 0.25)
    assert "the last epoch is the best one" in last
    # full-size data: seeded subsets of at most MAX_IMAGES per folder, the same for the same seed
    big = image_split(n=60, size=8)
    old_max = dict(png.MAX_IMAGES)
    try:
        png.MAX_IMAGES.update(training=30, validation=10, testing=11)  # every class kept
        loaders, sizes = png.png_loaders(big, tmp_path / "capped", seed=0, batch=5)
        assert sizes == {"training": 30, "validation": 10, "testing": 11}
        assert [len(dl.dataset) for dl in loaders] == [30, 10, 11]
    finally:
        png.MAX_IMAGES.clear(), png.MAX_IMAGES.update(old_max)


def test_shootout_finds_curves_that_would_hide_each_other():
    so = _recipe("mnist_shootout")
    base = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.25], "val_acc": [0.8, 0.85, 0.9]}
    near = {"epoch": [1, 2, 3], "train_loss": [1.0001, 0.5, 0.2501], "val_acc": [0.8, 0.851, 0.9]}
    apart = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.4, 0.25], "val_acc": [0.8, 0.85, 0.9]}
    assert so.same_curves([base, apart, near]) == {2: 0}
    assert so.same_curves([base, apart]) == {}


def test_search_caption_numbers_come_from_the_rows():
    hs = _recipe("hyperparameter_search")
    rows = [{"h1": 300, "dropout": 0.5, "mean_score": 0.914, "std_score": 0.006},
            {"h1": 200, "dropout": 0.2, "mean_score": 0.911, "std_score": 0.003},
            {"h1": 100, "dropout": 0.3, "mean_score": 0.901, "std_score": 0.005}]
    cap = hs.search_caption(rows, ["h1", "dropout"], 3)
    assert "3 candidates" in cap and "h1 300, dropout 0.5: 0.914 ± 0.006" in cap
    assert "0.901 to 0.914" in cap and cap.startswith("The folds cannot tell")
    assert "1 of the other 2 lie within one standard deviation" in cap  # the best is not counted
    assert "about 666 of 2,000 training images" in hs.search_caption(rows, ["h1"], 3, 2000)
    rows[1]["mean_score"] = 0.90
    clear = hs.search_caption(rows, ["h1"], 3)
    assert "cannot tell" not in clear and clear.startswith("The best candidate stands out: none of")


def test_shootout_same_curves_skip_missing_values():
    so = _recipe("mnist_shootout")
    a = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_acc": [None, 0.9]}
    b = {"epoch": [1, 2], "train_loss": [1.001, 0.5], "val_acc": [None, 0.902]}
    assert so.same_curves([a, b]) == {1: 0}
    assert abs(so.largest_gap(a, b, "val_acc") - 0.002) < 1e-12


def test_lab_ptdeep_vs_svm_counts_wins_per_seed():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lab_ptdeep_vs_svm", RECIPES / "lab_ptdeep_vs_svm.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    rows = [{"ptdeep_test_acc": 0.9, "ksvm_test_acc": 0.8, "ptdeep_test_ap": 0.5, "ksvm_test_ap": 0.5},
            {"ptdeep_test_acc": 0.7, "ksvm_test_acc": 0.8, "ptdeep_test_ap": 0.4, "ksvm_test_ap": 0.6},
            {"ptdeep_test_acc": 0.9, "ksvm_test_acc": 0.6, "ptdeep_test_ap": 0.9, "ksvm_test_ap": 0.1}]
    assert recipe.verdict(rows) == {"test_acc": (2, 1, 0), "test_ap": (1, 1, 1)}
    # 2 wins of 3 is no evidence: the words must not name a winner
    assert recipe.paired_test(rows)["words"] == "no clear winner"
    from scipy.stats import ttest_rel

    deep = [0.9 + 0.01 * (i % 3) for i in range(10)]
    svm = [d - 0.05 - 0.001 * i for i, d in enumerate(deep)]  # PTDeep ahead on every seed
    many = [{"ptdeep_test_acc": d, "ksvm_test_acc": s} for d, s in zip(deep, svm)]
    test = recipe.paired_test(many)
    assert test["words"] == "PTDeep is better" and test["p_sign"] < 0.01
    assert abs(test["p_t"] - ttest_rel(deep, svm).pvalue) < 1e-12
    assert abs(test["mean_diff"] - 0.0545) < 1e-9
    flipped = [{"ptdeep_test_acc": s, "ksvm_test_acc": d} for d, s in zip(deep, svm)]
    assert recipe.paired_test(flipped)["words"] == "KSVMWrap is better"


def test_training_animation_caption_names_the_setbacks_a_viewer_would_miss():
    ga = _recipe("gmm_training_animation")
    epochs = [0, 1, 2, 3, 4, 5, 8, 33, 34, 87]
    acc = [0.5, 0.6, 0.73, 0.58, 0.5, 0.5, 0.8, 0.9, 0.9, 0.96]
    loss = [0.72, 0.6, 0.5, 0.52, 0.55, 0.5, 0.3, 0.189, 0.314, 0.118]
    preds = [np.array([0, 1, 0, 1])] * 10
    preds[4] = preds[5] = np.zeros(4, int)  # epochs 4, 5: every point predicted class 0
    text = ga.setbacks(epochs, acc, loss, preds)
    assert text == ["it falls back from 73% (epoch 2) to 50% at epochs 4, 5, every point "
                    "predicted class 0 (below 73% from epoch 3 to 5)",
                    "the loss jumps from 0.189 to 0.314 at epoch 34"]
    preds[5] = np.array([0, 1, 0, 1])  # not every low frame predicts one class: not said
    assert "every point" not in ga.setbacks(epochs, acc, loss, preds)[0]
    # a steady run has nothing to report; a 5-point wobble is below the 10-point drop
    assert ga.setbacks([0, 1, 2], [0.5, 0.7, 0.9], [0.7, 0.5, 0.3], preds[:3]) == []
    assert ga.setbacks([0, 1, 2], [0.5, 0.7, 0.65], [0.7, 0.5, 0.45], preds[:3]) == []
