"""Decision surfaces of the lab's 2D classifiers on Gaussian-mixture data (seed 002).

Run: ``python recipes/gmm_decision_surfaces.py`` (or ``vizkit gallery --only gmm_decision_surfaces``).

Shows fcann2 (NumPy, hand-written backprop), PTLogreg, PTDeep [2,2], [2,10,2] and [2,10,10,2]
and an RBF-kernel SVM (KSVMWrap, support vectors drawn larger) on ``sample_gmm_2d(4, 2, 40)``
and ``(6, 2, 10)``; the effect of ``param_lambda`` on the deepest net, measured (boundary length,
mean |P - 0.5|, mean slope of the surface); and accuracy / precision / recall / AP per model.

The lab's settings and where vizkit departs from them:

- **fcann2** runs the lab's own hyper-parameters: ``param_niter=1e5``, ``param_delta=0.05``,
  ``param_lambda=1e-3``, 5 hidden units, full-batch gradient descent in vectorised NumPy (100,000
  steps take a few seconds per data set on one core).
- **The torch models** train with full-batch SGD at the lab's step 0.1 and L2 ``param_lambda``
  1e-4, but for 500 steps with momentum 0.9 instead of the lab's 10,000 plain steps, so that the
  gallery builds in seconds.
- **Which weights are kept**: the lab keeps the last weights; vizkit's ``fit`` keeps the epoch of
  lowest validation loss, and here the "validation" part is the training data itself (no points
  are spent on validation), so each net keeps its epoch of lowest training cross-entropy (the
  L2 term left out). The table's "kept epoch" column says which epoch that was, of 500.
- **A test set**: the lab evaluates on its training data; here 20 % of the points are held out
  and the table gives both. The figures draw the training points (the "train" rows).
"""

import dataclasses

import numpy as np
import torch

from vizkit.analysis.decision_surface import collapse_check
from vizkit.data import fingerprint
from vizkit.lab.data import graph_data, graph_surface
from vizkit.models import KSVMWrap, fcann2_classify, fcann2_train
from vizkit.train import average_precision, eval_perf_multi

ORDER = 10
TOPIC = "Classifiers on 2D data"
LAB = {"epochs": 500, "batch_size": 0, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
       "param_lambda": 1e-4, "patience": None, "monitor": "val_loss", "average": None}
FCANN2 = {"hidden": 5, "param_niter": 100_000, "param_delta": 0.05, "param_lambda": 1e-3}  # the lab's
LINEAR = ("PTLogreg", "PTDeep [2,2]")  # the models whose boundary is a line by construction
DATA = {"k4": dict(K=4, C=2, N=40), "k6": dict(K=6, C=2, N=10)}


def lab_split(split):
    """The lab trains on all its data: train on train + val, and let the 'validation' be the
    training data (so the epoch kept is the one of lowest training cross-entropy)."""
    x, y = torch.cat([split.x_train, split.x_val]), torch.cat([split.y_train, split.y_val])
    return dataclasses.replace(split, x_train=x, y_train=y, x_val=x, y_val=y,
                               fingerprint=fingerprint(x, y, split.x_test, split.y_test))


def torch_scores(model):
    return lambda X: torch.softmax(model(torch.as_tensor(X, dtype=torch.float32)), 1)[:, 1].detach().numpy()


def classifiers(ctx, tag, split):
    """(name, P(class 1) or score function, contour level, special points) for one data set."""
    X, Y = split.x_train.numpy(), split.y_train.numpy()
    fc = fcann2_train(X, Y, seed=ctx.seed, **FCANN2)
    out = [("fcann2", lambda P: fcann2_classify(fc, P)[:, 1], 0.5, None,
            f"{FCANN2['param_niter']:,} steps (last kept)")]
    model, hist, _ = ctx.train(f"{tag}-logreg", "logreg", split, LAB)
    out.append(("PTLogreg", torch_scores(model), 0.5, None, kept(hist)))
    for hidden in [(), (10,), (10, 10)]:
        name = "PTDeep " + str([2, *hidden, 2]).replace(" ", "")
        model, hist, _ = ctx.train(f"{tag}-deep-{len(hidden)}", "mlp", split, LAB, hidden=hidden)
        out.append((name, torch_scores(model), 0.5, None, kept(hist)))
    svm = KSVMWrap(X, Y, param_svm_c=1, param_svm_gamma="auto", seed=ctx.seed)
    out.append(("KSVMWrap (RBF SVM)", svm.get_scores, 0.0, svm.support, "-"))
    return out


def kept(hist) -> str:
    """'61 of 500': the epoch whose weights were kept, of the epochs run."""
    return f"{hist.best_epoch} of {len(hist.epochs)}"


def surface_measures(surf, offset: float) -> dict:
    """Computed figures of a drawn surface: the length of its ``offset`` level line (in data
    units), the mean distance of the shaded value from ``offset``, and its mean slope."""
    import contourpy

    z = np.asarray(surf.field(), dtype=np.float64)
    xx, yy = np.asarray(surf.xx), np.asarray(surf.yy)
    lines = contourpy.contour_generator(xx, yy, z).lines(offset)
    length = float(sum(np.sqrt((np.diff(np.asarray(line), axis=0) ** 2).sum(1)).sum()
                       for line in lines))
    gy, gx = np.gradient(z, yy[:, 0], xx[0])
    return {"boundary_length": length, "mean_margin": float(np.abs(z - offset).mean()),
            "mean_slope": float(np.hypot(gx, gy).mean())}


def lambda_caption(lambdas, measures: list, accs: list, collapses: list) -> str:
    """The param-lambda caption: what to see first, each setting's measured surface, a collapsed
    net named as such (never as the effect of lambda), and a trend only where the numbers of the
    nets that did not collapse show one."""
    failed = [lam for lam, c in zip(lambdas, collapses) if c.collapsed]
    if failed:
        text = ("At " + ", ".join(f"param_lambda={lam:g}" for lam in failed) + " the net "
                "collapsed: the L2 term outweighs the data and training ends at a constant "
                "prediction, not at a smoother boundary. ")
    else:
        text = "The boundary of the same net as the L2 term param_lambda grows. "
    parts = []
    for lam, m, a, c in zip(lambdas, measures, accs, collapses):
        part = (f"param_lambda={lam:g}: boundary length {m['boundary_length']:.1f}, mean "
                f"|P - 0.5| {m['mean_margin']:.3f}, mean slope {m['mean_slope']:.2f}, test "
                f"accuracy {a:.2f}")
        if c.collapsed:
            part += f" ({c.describe()} on the training points)"
        parts.append(part)
    text += ("PTDeep [2,10,10,2] on sample_gmm_2d(6, 2, 10); the points drawn are the training "
             "points (circles right, squares wrong; the titles give both accuracies). Measured on "
             "the drawn grid: " + "; ".join(parts) + ".")
    kept = [i for i, c in enumerate(collapses) if not c.collapsed]
    trends = []
    for key, words in (("mean_margin", "P moves toward 0.5 (the grey toward mid-grey)"),
                       ("mean_slope", "the surface gets flatter"),
                       ("boundary_length", "the decision boundary gets shorter")):
        vals = [measures[i][key] for i in kept]
        if len(vals) > 1 and all(b < a for a, b in zip(vals, vals[1:])):
            trends.append(words)
    if trends:
        text += (" Among the nets that did not collapse, as param_lambda grows "
                 + ", ".join(trends) + ".")
    return text + (" Collapsed: every training point predicted as one class, or training "
                   "accuracy no better than always guessing the most common class.")


def panel(ax, split, fun, offset, special, title):
    """One surface with the training points; returns the drawn DecisionSurface."""
    X, Y = split.x_train.numpy(), split.y_train.numpy()
    rect = (X.min(0) - 0.5, X.max(0) + 0.5)
    # probabilities on one fixed 0-1 scale, so a nearly flat model (P 0.45..0.55) looks flat
    # instead of being stretched from black to white; the SVM's score keeps its own scale
    fixed = {"vmin": 0.0, "vmax": 1.0} if offset == 0.5 else None
    surf = graph_surface(fun, rect, offset=offset, width=200, height=200, ax=ax,
                         colorbar=True, pcolormesh_kw=fixed)["surface"]
    graph_data(X, Y, (fun(X) > offset).astype(int), special=special, ax=ax)
    ax.set_title(title, fontsize=12)
    ax.set_xticks([]), ax.set_yticks([])
    return surf


def marker_legend(fig, svm: bool) -> None:
    """One legend under the panels: class colours, circle = right, square = wrong, and the
    SVM's ringed support vectors."""
    from matplotlib.lines import Line2D

    from vizkit.plot.style import class_colors

    dot = {"linestyle": "none", "markeredgecolor": "black", "markeredgewidth": 0.5}
    colours = class_colors(2)
    handles = [Line2D([], [], marker="o", color=colours[c], label=f"class {c}", **dot)
               for c in (0, 1)]
    handles += [Line2D([], [], marker="o", color="white", label="classified right", **dot),
                Line2D([], [], marker="s", color="white", label="classified wrong", **dot)]
    if svm:
        handles.append(Line2D([], [], marker="o", color="white", markersize=13, markeredgewidth=1,
                              markeredgecolor="black", linestyle="none",
                              label="support vector (SVM)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=12,
               frameon=False)


def linearly_separable(X, Y) -> bool:
    """Whether some line separates the two classes exactly: the linear programme
    y_i (w . x_i + b) >= 1 (y in {-1, 1}) has a solution (scipy's HiGHS decides it)."""
    from scipy.optimize import linprog

    X, s = np.asarray(X, dtype=np.float64), np.where(np.asarray(Y) == 1, 1.0, -1.0)
    A = -s[:, None] * np.hstack([X, np.ones((len(X), 1))])  # -y (w.x + b) <= -1
    res = linprog(np.zeros(X.shape[1] + 1), A_ub=A, b_ub=-np.ones(len(X)),
                  bounds=[(None, None)] * (X.shape[1] + 1), method="highs")
    return res.status == 0


def best_line_accuracy(X, Y) -> float:
    """The largest share of points any straight line classifies right (the 0-1 loss, not the
    logistic loss a linear model minimises), found exactly: an optimal line can be turned until
    it runs through two points, so every direction normal to a pair of points (turned a hair
    either way) is tried with every threshold along it."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y)
    n = len(X)
    if n == 0:
        raise ValueError("`X` holds no points: there is no line to score.")
    i, j = np.triu_indices(n, k=1)
    d = X[j] - X[i]
    normals = np.stack([-d[:, 1], d[:, 0]], axis=1)
    normals = normals[np.linalg.norm(normals, axis=1) > 0]
    eps = 1e-7
    turn = np.array([[np.cos(eps), -np.sin(eps)], [np.sin(eps), np.cos(eps)]])
    dirs = np.concatenate([normals, normals @ turn, normals @ turn.T, [[1.0, 0.0], [0.0, 1.0]]])
    proj = X @ dirs.T  # (n, directions)
    order = np.argsort(proj, axis=0, kind="stable")
    ones = (np.take_along_axis(np.broadcast_to((Y == 1)[:, None], proj.shape), order, axis=0)
            .astype(np.int64))
    # threshold after the k lowest points (k = 0..n): class 0 below, class 1 above, or reversed
    ones_below = np.vstack([np.zeros((1, ones.shape[1]), np.int64), np.cumsum(ones, axis=0)])
    k = np.arange(n + 1)[:, None]
    right = (k - ones_below) + (ones_below[-1] - ones_below)  # zeros below + ones above
    best = np.maximum(right, n - right).max()
    return float(best / n)


def surfaces_caption(opts: dict, n_points: int, n_support: int, lengths: dict,
                     separable: bool, train_accs: dict, best_line: float | None = None,
                     linear_p: tuple | None = None) -> str:
    """The caption of one data set's six panels, its counts computed: it opens with what to
    see (whether the straight-line models fail, and why: the best line's own accuracy, and how
    far the linear models' P(class 1) moves from 0.5 over the plot)."""
    shown = ", ".join(f"{k} {v:.1f}" for k, v in lengths.items())
    linear = {k: v for k, v in train_accs.items() if k in LINEAR}
    best = max((v for k, v in train_accs.items() if k not in LINEAR), default=float("nan"))
    lin = ", ".join(f"{k} {v:.2f}" for k, v in linear.items())
    if not separable:
        head = "No straight line separates these two classes (checked by a linear programme). "
        if best_line is not None:
            head += (f"The best line would still classify {best_line:.2f} of the training points "
                     f"right, but the linear models, fitted by the logistic loss, reach only {lin}")
            if linear_p is not None:
                lo, hi = linear_p
                head += f": their P(class 1) spans only [{lo:.2f}, {hi:.2f}] over the whole plot"
                if lo >= 0.4 and hi <= 0.6:  # within 0.1 of even everywhere
                    head += ", a near-even bet everywhere"
            head += f". The best curved boundary reaches {best:.2f}. "
        else:
            head += (f"Linear models reach training accuracy {lin}, the best curved boundary "
                     f"{best:.2f}. ")
    else:
        head = (f"A straight line separates these two classes (checked by a linear programme): "
                f"linear models reach training accuracy {lin}, the best curved one {best:.2f}. ")
    return head + (f"sample_gmm_2d({opts['K']}, 2, {opts['N']}): the {n_points} training points (the "
            "table's 'train' rows) over each model's surface: shading is P(class 1) (for the SVM "
            "its score), on one 0-1 grey scale for every probability panel, the black line the "
            "decision boundary, circles are classified right and squares wrong; the SVM's "
            f"{n_support} support vectors of {n_points} points are ringed. PTLogreg and PTDeep "
            "[2,2] are linear models, so their boundary is a straight line by construction. "
            f"Boundary length per model (data units): {shown}.")


def run(ctx):
    import matplotlib.pyplot as plt

    rows = []
    for tag, opts in DATA.items():
        split = lab_split(ctx.data("gmm-2d", **opts))
        models = classifiers(ctx, tag, split)
        fig, axes = plt.subplots(2, 3, figsize=(12.6, 7.4), layout="constrained")
        data, lengths, train_accs = {"X": split.x_train.numpy(), "Y": split.y_train.numpy()}, {}, {}
        linear_p = []
        for i, (ax, (name, fun, offset, special, kept_epoch)) in enumerate(zip(axes.flat, models)):
            accs = {}
            for part in ("train", "test"):
                x, y = (t.numpy() for t in split.part(part))
                scores = fun(x)
                acc, pr, _ = eval_perf_multi((scores > offset).astype(int), y, 2)
                ap = average_precision(scores, y)[0]
                accs[part] = acc
                rows.append([name, f"gmm({opts['K']},2,{opts['N']})", part, kept_epoch, acc,
                             pr[1][1], pr[1][0], ap])
            n_tr, n_te = len(split.y_train), len(split.y_test)
            surf = panel(ax, split, fun, offset, special,
                         f"{name}\ntrain {accs['train']:.2f} "
                         f"({round(accs['train'] * n_tr)}/{n_tr}), "
                         f"test {accs['test']:.2f} ({round(accs['test'] * n_te)}/{n_te})")
            lengths[name] = surface_measures(surf, offset)["boundary_length"]
            train_accs[name] = accs["train"]
            data[f"surface_{i}"] = np.asarray(surf.field()).astype(np.float16)
            if name in LINEAR:
                field = np.asarray(surf.field(), dtype=np.float64)
                linear_p.extend([float(field.min()), float(field.max())])
            if special is not None:
                data["support"] = np.asarray(special)
            n_support = len(special) if special is not None else 0
        data["grid_x"], data["grid_y"] = np.asarray(surf.xx)[0], np.asarray(surf.yy)[:, 0]
        marker_legend(fig, svm=True)
        separable = linearly_separable(data["X"], data["Y"])
        data["linearly_separable"] = np.asarray(separable)
        data["best_line_accuracy"] = np.asarray(best_line_accuracy(data["X"], data["Y"]))
        p_range = (min(linear_p), max(linear_p)) if linear_p else None
        ctx.figure(f"surfaces-{tag}", fig,
                   surfaces_caption(opts, len(split.y_train), n_support, lengths, separable,
                                    train_accs, float(data["best_line_accuracy"]), p_range),
                   data=data)
        deep = next(r for r in rows if r[0] == "PTDeep [2,10,10,2]" and r[2] == "test"
                    and r[1].startswith(f"gmm({opts['K']}"))
        n_te = len(split.y_test)
        ctx.metric(f"PTDeep [2,10,10,2] test accuracy, K={opts['K']}",
                   f"{deep[4]:.2f} ({round(deep[4] * n_te)} of {n_te} test points)", headline=True)

    split = lab_split(ctx.data("gmm-2d", **DATA["k6"]))
    lambdas = [0.0, 1e-2, 1e-1]
    fig, axes = plt.subplots(1, len(lambdas), figsize=(12.6, 5.0), layout="constrained")
    measures, accs, collapses, data = [], [], [], {}
    for i, (ax, lam) in enumerate(zip(axes, lambdas)):
        model, hist, metrics = ctx.train(f"lambda-{lam:g}", "mlp", split, {**LAB, "param_lambda": lam},
                                         hidden=(10, 10))
        fun = torch_scores(model)
        check = collapse_check((fun(split.x_train.numpy()) > 0.5).astype(int),
                               split.y_train.numpy())
        n_tr, n_te = len(split.y_train), len(split.y_test)
        title = (f"param_lambda={lam:g}\ntrain {check.accuracy:.2f} "
                 f"({round(check.accuracy * n_tr)}/{n_tr}), test {metrics['accuracy']:.2f} "
                 f"({round(metrics['accuracy'] * n_te)}/{n_te})")
        if check.collapsed:
            title = (f"param_lambda={lam:g}: COLLAPSED\nclass {check.top_class} for "
                     f"{check.top_share:.0%}, train acc {check.accuracy:.2f}")
        surf = panel(ax, split, fun, 0.5, None, title)
        if check.collapsed:
            ax.title.set_color("firebrick")
        measures.append(surface_measures(surf, 0.5))
        accs.append(metrics["accuracy"])
        collapses.append(check)
        data[f"P_{i}"] = np.asarray(surf.field()).astype(np.float16)  # P(class 1), lambdas[i]
    marker_legend(fig, svm=False)
    data.update(grid_x=np.asarray(surf.xx)[0], grid_y=np.asarray(surf.yy)[:, 0],
                lambdas=np.asarray(lambdas),
                **{k: np.asarray([m[k] for m in measures]) for k in measures[0]})
    data["collapsed"] = np.asarray([c.collapsed for c in collapses])
    data["train_accuracy"] = np.asarray([c.accuracy for c in collapses])
    ctx.figure("param-lambda", fig, lambda_caption(lambdas, measures, accs, collapses), data=data)
    ctx.table("performance", ["model", "data", "part", "kept epoch", "accuracy", "precision(1)",
                              "recall(1)", "AP(1)"], rows,
              "Accuracy, precision and recall of class 1, and average precision of each model; "
              "'kept epoch': the epoch of lowest training cross-entropy whose weights were kept, "
              "of the epochs run (fcann2 and the SVM keep their last state)")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
