"""The lab's MNIST shoot-out: linear, deeper and regularized nets, optimizers, schedules, two SVMs,
and LeCun's 1998 error table beside vizkit's own errors.

Run: ``python recipes/mnist_shootout.py`` (or ``vizkit gallery --only mnist_shootout``).

Shows test accuracies of ``[784,10]``, ``[784,100,10]`` and deeper configs; full batch against
mini-batches; SGD against Adam; Adam with ExponentialLR; batch norm; an RBF-kernel SVM (KSVMWrap)
and a linear SVM (scikit-learn's ``SVC(kernel="linear")``, one-vs-one as the lab asks), both
trained on at most 3,000 images; the validation learning curves of every net; and LeCun et al.'s
1998 MNIST error rates (seed 001's table) beside vizkit's errors for the same architectures.

The seed's settings and where vizkit departs from them (every run is in the table):

- **Adam**: seed 002 asks for Adam at a fixed step of 1e-4, then ExponentialLR with
  gamma = 1 - 1e-4 stepped once per epoch. Both run here as the lab gives them. Over the few epochs
  of a gallery build that gamma leaves the step practically unchanged (the table's caption computes
  by how much), so vizkit also runs its faster settings: Adam 1e-3, and Adam 3e-3 with gamma 0.7.
- **Epochs and images**: 8 per mini-batch run (60 full-batch steps) on at most 20,000 training
  images (all 3,000 of mnist-5k; a seeded subset of full-size data), so that the gallery builds in
  minutes; the model kept is the best-validation epoch. The ranking, not the last decimal, is the
  point.
- **SVMs**: the lab trains an SVM on the whole training set ("up to more than half an hour");
  here both SVMs see a seeded subset of at most 3,000 images (all of mnist-5k's training part).
- **LeCun's table**: LeCun trained on 60,000 images (no distortions for the rows shown); vizkit
  trains on the data's training part (3,000 images on mnist-5k) with cross-entropy, Adam 1e-3 and
  no augmentation for 10 epochs, and states its training-set size and test-set size with the
  errors. LeCun's figures are for MNIST: on other data the column says so and stays empty.
"""

import numpy as np

# the learning-curve figure and its caption live in vizkit.lab.mnist_shootout; its helpers
# stay reachable from here for the recipe's tests
from vizkit.lab.mnist_shootout import (curves_caption, curves_figure, drop_note,  # noqa: F401
                                       largest_drop, largest_gap, lr_decay_note,
                                       same_curves, series)
from vizkit.models import KSVMWrap
from vizkit.train import accuracy

ORDER = 40
TOPIC = "Comparing models"
SGD = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "batch_size": 64, "epochs": 8,
       "patience": None, "weight_decay": 0.0, "augment": None, "average": None}  # plain weights
ADAM = {**SGD, "optimizer": "adam", "lr": 1e-3}
SEED_ADAM = {**ADAM, "lr": 1e-4}                                             # seed 002
SEED_EXPLR = {**SEED_ADAM, "scheduler": "exponential", "gamma": 1 - 1e-4}    # seed 002
RUNS = [  # key, hidden layers, batch norm, config, whose setting
    ("linear", (), False, SGD, "vizkit"),
    ("h100", (100,), False, SGD, "vizkit"),
    ("h100-100", (100, 100), False, SGD, "vizkit"),
    ("h100-100-100", (100, 100, 100), False, SGD, "vizkit"),
    ("h100-fullbatch", (100,), False, {**SGD, "batch_size": 0, "lr": 0.2, "epochs": 60}, "vizkit"),
    ("h100-adam-seed", (100,), False, SEED_ADAM, "seed 002"),
    ("h100-adam-explr-seed", (100,), False, SEED_EXPLR, "seed 002"),
    ("h100-adam", (100,), False, ADAM, "vizkit"),
    ("h100-adam-explr", (100,), False, {**ADAM, "lr": 3e-3, "scheduler": "exponential",
                                        "gamma": 0.7}, "vizkit"),
    ("h100-bn", (100,), True, ADAM, "vizkit"),
]
SVM_TRAIN = 3000
RUNS_TRAIN = 20_000  # full-size data: the ten runs on all 55k took ~65 s of the gallery's 10 min
# seed 001's table (LeCun et al. 1998, no preprocessing, no distortions): hidden sizes, error %, row
LECUN = [((), 12.0, "linear classifier (1-layer NN)"),
         ((300,), 4.7, "2-layer NN, 300 hidden units, mean square error"),
         ((1000,), 4.5, "2-layer NN, 1000 hidden units"),
         ((300, 100), 3.05, "3-layer NN, 300+100 hidden units"),
         ((500, 150), 2.95, "3-layer NN, 500+150 hidden units")]
LECUN_TRAIN = 60_000
LECUN_CONFIG = {**ADAM, "epochs": 10}


def describe(hidden, bn: bool, config: dict) -> str:
    """'[784,100,10] + batch norm, Adam 0.001, batch 64, 8 epochs' from the run's own settings."""
    text = "[" + ",".join(str(n) for n in (784, *hidden, 10)) + "]" + (" + batch norm" if bn else "")
    opt = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}.get(config["optimizer"], config["optimizer"])
    text += f", {opt} {config['lr']:g}"
    if config.get("scheduler") == "exponential":
        text += f", ExponentialLR gamma {config['gamma']:g}"
    batch = config.get("batch_size") or 0
    text += ", full batch" if batch == 0 else f", batch {batch}"
    return text + f", {config['epochs']} epochs"


def lecun_rows(results: list, data_name: str, n_train: int, n_test: int) -> list:
    """LeCun's error beside vizkit's (with its standard error on ``n_test`` images)."""
    mnist = data_name.startswith("mnist")
    out = []
    for hidden, published, what, acc in results:
        err = 1.0 - acc
        se = np.sqrt(err * (1 - err) / n_test)
        arch = "-".join(str(n) for n in (784, *hidden, 10))
        out.append([arch, what if mnist else f"(MNIST only) {what}",
                    published if mnist else "-", f"{LECUN_TRAIN:,}",
                    round(100 * err, 2), round(100 * se, 2), f"{n_train:,}", f"{n_test:,}"])
    return out


def lecun_caption(data_name: str, n_train: int, n_test: int, config: dict) -> str:
    mnist = data_name.startswith("mnist")
    head = (f"LeCun et al. 1998 (seed 001's table; trained on {LECUN_TRAIN:,} MNIST images, "
            f"tested on 10,000) beside vizkit's test error on {data_name} (trained on "
            f"{n_train:,} images, {n_test:,} test images; ± one binomial standard error), "
            f"with {describe((), False, config).split(', ', 1)[1]}, cross-entropy, no "
            f"augmentation, best-validation epoch kept. ")
    if not mnist:
        return head + f"LeCun's errors are for MNIST and are not comparable with {data_name}."
    if n_train < LECUN_TRAIN:
        return head + (f"vizkit sees {n_train / LECUN_TRAIN:.0%} of LeCun's training images, so "
                       "its errors are expected to be higher; the comparison is of the ranking.")
    return head


def subset_note(split, small) -> str:
    """', a seeded subset of the 55,000' when the nets see part of the training images."""
    if len(small.y_train) == len(split.y_train):
        return ""
    return f", a seeded subset of the {len(split.y_train):,}"


def svm_rows(split, seed: int):
    """The RBF SVM (KSVMWrap) and the linear one-vs-one SVM on the same seeded subset."""
    from sklearn.svm import SVC

    small = split.subset(train=SVM_TRAIN, seed=seed)
    n = len(small.y_train)
    X, y = small.x_train.flatten(1).numpy(), small.y_train.numpy()
    rbf = KSVMWrap(X, y, param_svm_c=1, param_svm_gamma="scale", seed=seed)
    linear = SVC(kernel="linear", C=1, decision_function_shape="ovo").fit(X, y)
    rows, tests = [], {}
    for name, clf, n_sv in ((f"RBF SVM (KSVMWrap, C=1, gamma='scale', {n} images)", rbf, len(rbf.support)),
                            (f"linear SVM (SVC kernel='linear', one-vs-one, C=1, {n} images)",
                             linear, len(linear.support_))):
        val = accuracy(clf.predict(split.x_val.flatten(1).numpy()), split.y_val.numpy())
        test = accuracy(clf.predict(split.x_test.flatten(1).numpy()), split.y_test.numpy())
        rows.append([name, "seed 002" if clf is rbf else "vizkit (linear beside the RBF one)",
                     int(n_sv), "-", val, test])
        tests[name.split(" (")[0]] = test
    return rows, tests


# small multiples: one panel per question, <= 6 runs each (a run may appear in two)
FAMILIES = [("depth (SGD 0.1, batch 64)",
             [("linear", "[784,10]"), ("h100", "[784,100,10]"), ("h100-100", "[784,100,100,10]"),
              ("h100-100-100", "[784,100,100,100,10]")]),
            ("optimizer ([784,100,10], batch 64)",
             [("h100", "SGD 0.1"), ("h100-adam-seed", "Adam 1e-4 (seed 002)"),
              ("h100-adam-explr-seed", "Adam 1e-4, gamma 0.9999 (seed 002)"),
              ("h100-adam", "Adam 1e-3"), ("h100-adam-explr", "Adam 3e-3, gamma 0.7")]),
            ("batch size, batch norm ([784,100,10])",
             [("h100", "SGD 0.1, batch 64"), ("h100-fullbatch", "SGD 0.2, full batch"),
              ("h100-adam", "Adam 1e-3, batch 64"), ("h100-bn", "Adam 1e-3 + batch norm")])]


def plot_curves(ctx, runs: list, svm_tests: dict):
    """The learning curves of every net, one panel per question; the SVMs as dotted levels
    (drawn and captioned by :func:`vizkit.lab.mnist_shootout.curves_figure`)."""
    fig, caption, data = curves_figure(runs, svm_tests, FAMILIES)
    ctx.figure("learning-curves", fig, caption, data=data)


def run(ctx):
    split = ctx.data()
    small = split.subset(train=RUNS_TRAIN, seed=ctx.seed)
    rows, runs = [], []
    for key, hidden, bn, config, who in RUNS:
        model, hist, metrics = ctx.train(key, "mlp", small, config, hidden=hidden, batchnorm=bn)
        what = describe(hidden, bn, config)
        n_params = sum(p.numel() for p in model.parameters())
        best_val = hist.best.get("val_acc")
        rows.append([what, who, n_params, f"{len(hist.epochs)} ({hist.best_epoch})", best_val,
                     metrics["accuracy"]])
        runs.append({"key": key, "what": what, "who": who, "config": config, "best_val": best_val,
                     **{k: hist.series(k) for k in ("epoch", "train_loss", "val_acc")},
                     "lrs": hist.series("lr")})
    svm, svm_tests = svm_rows(split, ctx.seed)
    rows += svm
    best = max(rows, key=lambda r: r[5])
    ctx.metric("best test accuracy", best[5], headline=True)
    ctx.metric("best model", best[0], headline=True)
    ctx.metric("linear [784,10] test accuracy", rows[0][5], headline=True)
    ctx.table("shootout", ["model / training", "setting", "parameters (SVM: support vectors)",
                           "epochs run (kept)", "best val accuracy", "test accuracy"], rows,
              f"Test accuracy of every contender on {split.name} ({len(small.y_train):,} training "
              f"images for the nets{subset_note(split, small)}; the SVMs' own count is in their "
              f"rows; the model kept is the best-validation epoch; the test set chose nothing). "
              + lr_decay_note(runs))
    plot_curves(ctx, runs, svm_tests)

    results = []
    for hidden, published, what in LECUN:
        key = "lecun-" + ("-".join(map(str, hidden)) or "linear")
        _, _, metrics = ctx.train(key, "mlp", split, LECUN_CONFIG, hidden=hidden)
        results.append((hidden, published, what, metrics["accuracy"]))
    n_train, n_test = len(split.y_train), len(split.y_test)
    ctx.table("lecun-1998", ["architecture", "LeCun et al. 1998 row", "LeCun error %",
                             "LeCun training images", "vizkit error %", "± s.e. %",
                             "vizkit training images", "vizkit test images"],
              lecun_rows(results, split.name, n_train, n_test),
              lecun_caption(split.name, n_train, n_test, LECUN_CONFIG))


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
