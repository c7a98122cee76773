"""Decision surfaces of the lab's 2D classifiers on Gaussian-mixture data (seed 002).

Run: ``python recipes/gmm_decision_surfaces.py`` (or ``vizkit gallery --only gmm_decision_surfaces``).

Shows fcann2 (NumPy, hand-written backprop), PTLogreg, PTDeep [2,2], [2,10,2] and [2,10,10,2]
and an RBF-kernel SVM (KSVMWrap, support vectors drawn larger) on ``sample_gmm_2d(4, 2, 40)``
and ``(6, 2, 10)``, trained as in the lab (full-batch SGD, step 0.1, here with momentum 0.9 so that 500 steps do
the work of the lab's 10,000; L2 ``param_lambda``; no early stopping; 20 % of the points held out
as a test set); the
effect of ``param_lambda`` on the deepest net; and accuracy / precision / recall / AP per model.
"""

import dataclasses

import torch

from vizkit.data import fingerprint
from vizkit.models import KSVMWrap, fcann2_classify, fcann2_train
from vizkit.plot.decision_surface import graph_data, graph_surface
from vizkit.train import average_precision, eval_perf_multi

ORDER = 10
TOPIC = "Classifiers on 2D data"
LAB = {"epochs": 500, "batch_size": 0, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
       "param_lambda": 1e-4, "patience": None}
DATA = {"k4": dict(K=4, C=2, N=40), "k6": dict(K=6, C=2, N=10)}


def lab_split(split):
    """The lab trains on all its data and selects no epoch: train on train + val, and let the
    'validation' be the training data (so the last, lowest-loss weights are kept)."""
    x, y = torch.cat([split.x_train, split.x_val]), torch.cat([split.y_train, split.y_val])
    return dataclasses.replace(split, x_train=x, y_train=y, x_val=x, y_val=y,
                               fingerprint=fingerprint(x, y, split.x_test, split.y_test))


def torch_scores(model):
    return lambda X: torch.softmax(model(torch.as_tensor(X, dtype=torch.float32)), 1)[:, 1].detach().numpy()


def classifiers(ctx, tag, split):
    """(name, P(class 1) or score function, contour level, special points) for one data set."""
    X, Y = split.x_train.numpy(), split.y_train.numpy()
    fc = fcann2_train(X, Y, hidden=5, param_niter=10000, param_delta=0.05, param_lambda=1e-3,
                      seed=ctx.seed)
    out = [("fcann2", lambda P: fcann2_classify(fc, P)[:, 1], 0.5, None)]
    out.append(("PTLogreg", torch_scores(ctx.train(f"{tag}-logreg", "logreg", split, LAB)[0]), 0.5, None))
    for hidden in [(), (10,), (10, 10)]:
        name = "PTDeep " + str([2, *hidden, 2]).replace(" ", "")
        model = ctx.train(f"{tag}-deep-{len(hidden)}", "mlp", split, LAB, hidden=hidden)[0]
        out.append((name, torch_scores(model), 0.5, None))
    svm = KSVMWrap(X, Y, param_svm_c=1, param_svm_gamma="auto", seed=ctx.seed)
    out.append(("KSVMWrap (RBF SVM)", svm.get_scores, 0.0, svm.support))
    return out


def panel(ax, split, fun, offset, special, title):
    X, Y = split.x_train.numpy(), split.y_train.numpy()
    rect = (X.min(0) - 0.5, X.max(0) + 0.5)
    graph_surface(fun, rect, offset=offset, width=200, height=200, ax=ax)
    graph_data(X, Y, (fun(X) > offset).astype(int), special=special, ax=ax)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])


def run(ctx):
    import matplotlib.pyplot as plt

    rows = []
    for tag, opts in DATA.items():
        split = lab_split(ctx.data("gmm-2d", **opts))
        models = classifiers(ctx, tag, split)
        fig, axes = plt.subplots(2, 3, figsize=(11, 7.2))
        for ax, (name, fun, offset, special) in zip(axes.flat, models):
            panel(ax, split, fun, offset, special, name)
            for part in ("train", "test"):
                x, y = (t.numpy() for t in split.part(part))
                scores = fun(x)
                acc, pr, _ = eval_perf_multi((scores > offset).astype(int), y, 2)
                ap = average_precision(scores, y)[0]
                rows.append([name, f"gmm({opts['K']},2,{opts['N']})", part, acc, pr[1][1], pr[1][0], ap])
        ctx.figure(f"surfaces-{tag}", fig,
                   f"sample_gmm_2d({opts['K']}, 2, {opts['N']}): shading is P(class 1) (the SVM's "
                   "score), the black line the decision boundary, circles are classified right and "
                   "squares wrong; the SVM's support vectors are drawn larger. Look at how [2,2] "
                   "and PTLogreg can only cut with a straight line while the hidden layers bend it.")
        deep = next(r for r in rows if r[0] == "PTDeep [2,10,10,2]" and r[2] == "test" and r[1].startswith(f"gmm({opts['K']}"))
        ctx.metric(f"PTDeep [2,10,10,2] test accuracy, K={opts['K']}", deep[3], headline=True)

    split = lab_split(ctx.data("gmm-2d", **DATA["k6"]))
    lambdas = [0.0, 1e-2, 1e-1]
    fig, axes = plt.subplots(1, len(lambdas), figsize=(11, 3.8))
    for ax, lam in zip(axes, lambdas):
        model, hist, metrics = ctx.train(f"lambda-{lam:g}", "mlp", split, {**LAB, "param_lambda": lam},
                                         hidden=(10, 10))
        panel(ax, split, torch_scores(model), 0.5, None,
              f"param_lambda={lam:g}: test acc {metrics['accuracy']:.2f}")
    ctx.figure("param-lambda", fig,
               "PTDeep [2,10,10,2] on sample_gmm_2d(6, 2, 10) with growing param_lambda: the L2 "
               "term shrinks the weights, so the boundary gets smoother and the probabilities "
               "flatter (shading closer to grey) until it underfits.")
    ctx.table("performance", ["model", "data", "part", "accuracy", "precision(1)", "recall(1)",
                              "AP(1)"], rows,
              "Accuracy, precision and recall of class 1, and average precision of each model")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
