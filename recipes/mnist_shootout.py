"""The lab's MNIST shoot-out: linear, deeper and regularized nets, optimizers, schedules, an SVM.

Run: ``python recipes/mnist_shootout.py`` (or ``vizkit gallery --only mnist_shootout``).

Shows test accuracies of ``[784,10]``, ``[784,100,10]`` and deeper configs; full batch against
mini-batches; SGD against Adam; Adam with ExponentialLR; batch norm; and an RBF-kernel SVM
(KSVMWrap, trained on a subsample), with the validation learning curves of every net. Epoch counts
are small so the gallery builds in minutes; the ranking, not the last decimal, is the point.
"""

import numpy as np

from vizkit.models import KSVMWrap
from vizkit.train import accuracy

ORDER = 40
TOPIC = "Comparing models"
SGD = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "batch_size": 64, "epochs": 8,
       "patience": None, "weight_decay": 0.0, "augment": None}
ADAM = {**SGD, "optimizer": "adam", "lr": 1e-3}
RUNS = [  # key, hidden layers, batch norm, config, description
    ("linear", (), False, SGD, "[784,10], SGD, batch 64"),
    ("h100", (100,), False, SGD, "[784,100,10], SGD, batch 64"),
    ("h100-100", (100, 100), False, SGD, "[784,100,100,10], SGD, batch 64"),
    ("h100-100-100", (100, 100, 100), False, SGD, "[784,100,100,100,10], SGD, batch 64"),
    ("h100-fullbatch", (100,), False, {**SGD, "batch_size": 0, "lr": 0.2, "epochs": 60},
     "[784,100,10], SGD, full batch (60 steps)"),
    ("h100-adam", (100,), False, ADAM, "[784,100,10], Adam 1e-3"),
    ("h100-adam-explr", (100,), False, {**ADAM, "lr": 3e-3, "scheduler": "exponential",
                                        "gamma": 0.7}, "[784,100,10], Adam 3e-3, ExponentialLR 0.7"),
    ("h100-bn", (100,), True, ADAM, "[784,100,10] + batch norm, Adam 1e-3"),
]
SVM_TRAIN = 3000


def run(ctx):
    import matplotlib.pyplot as plt

    split = ctx.data()
    rows, curves = [], []
    for key, hidden, bn, config, what in RUNS:
        model, hist, metrics = ctx.train(key, "mlp", split, config, hidden=hidden, batchnorm=bn)
        n_params = sum(p.numel() for p in model.parameters())
        rows.append([what, n_params, len(hist.epochs), hist.best.get("val_acc"), metrics["accuracy"]])
        curves.append((what, hist))
    rng = np.random.default_rng(ctx.seed)
    n = min(SVM_TRAIN, len(split.y_train))
    idx = np.sort(rng.choice(len(split.y_train), n, replace=False))
    X = split.x_train.flatten(1).numpy()[idx]
    svm = KSVMWrap(X, split.y_train.numpy()[idx], param_svm_c=1, param_svm_gamma="scale", seed=ctx.seed)
    val = accuracy(svm.predict(split.x_val.flatten(1).numpy()), split.y_val.numpy())
    test = accuracy(svm.predict(split.x_test.flatten(1).numpy()), split.y_test.numpy())
    rows.append([f"RBF SVM (KSVMWrap, C=1, gamma='scale', {n} training images)",
                 int(len(svm.support)), "-", val, test])
    best = max(rows, key=lambda r: r[4])
    ctx.metric("best test accuracy", best[4], headline=True)
    ctx.metric("best model", best[0], headline=True)
    ctx.metric("linear [784,10] test accuracy", rows[0][4], headline=True)
    ctx.table("shootout", ["model / training", "parameters (SVM: support vectors)", "epochs",
                           "best val accuracy", "test accuracy"], rows,
              f"Test accuracy of every contender on {split.name} (the model kept is the "
              "best-validation epoch; the test set chose nothing)")

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 5.6), layout="constrained")
    for i, (what, hist) in enumerate(curves):
        style = "--" if "full batch" in what else "-"
        ax_loss.plot(hist.series("epoch"), hist.series("train_loss"), style, color=f"C{i}", label=what)
        ax_acc.plot(hist.series("epoch"), hist.series("val_acc"), style, color=f"C{i}", label=what)
    ax_loss.set_yscale("log"), ax_loss.set_ylabel("train loss")
    for ax in (ax_loss, ax_acc):
        ax.set_xscale("log"), ax.set_xlabel("epoch (log scale)")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.axhline(test, color="black", lw=0.8, ls=":", label="RBF SVM (test)")
    ax_acc.set_ylim(max(0.5, ax_acc.get_ylim()[0]), 1.0)
    fig.legend(*ax_acc.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8)
    ctx.figure("learning-curves", fig,
               "Training loss (log scale) and validation accuracy per epoch of every net. The "
               "hidden layers, Adam with its decaying step and batch norm drive the training loss "
               "lowest, while the linear model levels off early; on validation the mini-batch "
               "nets end within a few points of each other. Full-batch SGD (dashed, one step per "
               "epoch) is far behind per epoch and unsteady; the dotted line is the SVM's test "
               "accuracy.")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
