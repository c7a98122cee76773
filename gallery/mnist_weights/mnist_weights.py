"""Weight images of logistic regression on MNIST at three regularization strengths (seed 002).

Run: ``python recipes/mnist_weights.py`` (or ``vizkit gallery --only mnist_weights``).

Shows the ``[784, 10]`` weights of the lab's linear classifier as ten 28x28 images, one per
class of the data (the digits on MNIST), for the L2 term ``param_lambda`` in {0, 1e-2, 1e-1}, all
rows on one symmetric colour scale; the caption measures what changes with lambda: the largest
and mean |w|, a roughness figure (mean |difference between neighbouring pixels| / mean |w|), the
weight left on pixels that the training images almost never ink, and the test accuracy.

Where it departs from the lab: 10 epochs of vizkit's logreg training (Adam 1e-3, mini-batches of
64, best-validation epoch kept) instead of the lab's full-batch gradient descent, with no shift
augmentation and no weight decay so that ``param_lambda`` is the only regularizer.
"""

import numpy as np

from vizkit.analysis.weights import weight_images
from vizkit.plot.weights import plot_weight_images_grid

ORDER = 30
TOPIC = "Weights and receptive fields"
LAMBDAS = (0.0, 1e-2, 1e-1)


def weight_stats(images, rare) -> dict:
    """Measures of one row of weight images ``[C, H, W]``: largest and mean |w|, roughness (mean
    |difference of neighbouring pixels| over mean |w|) and the mean |w| on rarely inked pixels
    over that on the others."""
    w = np.asarray(images, dtype=np.float64).reshape(len(images), -1, *np.shape(images)[-2:])
    a = np.abs(w)
    steps = np.concatenate([np.abs(np.diff(w, axis=-1)).ravel(), np.abs(np.diff(w, axis=-2)).ravel()])
    rare = np.asarray(rare, dtype=bool).reshape(-1)
    flat = a.reshape(len(a), -1)
    return {"max_abs": float(a.max()), "mean_abs": float(a.mean()),
            "roughness": float(steps.mean() / a.mean()),
            "rare_ratio": float(flat[:, rare].mean() / flat[:, ~rare].mean())}


def grid_caption(data_name: str, lambdas, stats: list, accs: list) -> str:
    """The grid's caption: what each row measures, and trends only where the numbers show them."""
    rows = [f"lambda = {lam:g}: max |w| {st['max_abs']:.3g}, mean |w| {st['mean_abs']:.3g}, "
            f"roughness {st['roughness']:.2f}, rarely-inked/other |w| {st['rare_ratio']:.2f}, test "
            f"accuracy {acc:.3f}" for lam, st, acc in zip(lambdas, stats, accs)]
    said = []
    for key, words in (("mean_abs", "shrinks the weights"), ("roughness", "makes them smoother"),
                       ("rare_ratio", "takes weight off the rarely inked border pixels")):
        vals = [st[key] for st in stats]
        if all(b < a for a, b in zip(vals, vals[1:])):
            said.append(words)
    text = ("Each step up in lambda " + ", ".join(said) + ". ") if said else (
        "No measure below changes steadily with lambda. ")
    text += (f"One row per param_lambda, one column per class of {data_name}, one colour scale "
             "for all: red pixels with ink raise that class's score, blue ones lower it. "
             + "; ".join(rows) + ".")
    return text + (" Roughness: mean |difference between neighbouring pixels| / mean |w|; rarely "
                   "inked: pixels above 0.5 in under 1 % of the training images.")


def run(ctx):
    split = ctx.data()
    results, labels, models, accs = [], [], {}, []
    for lam in LAMBDAS:
        model, hist, metrics = ctx.train(f"logreg-lambda-{lam:g}", "logreg", split,
                                         {"epochs": 10, "param_lambda": lam, "weight_decay": 0.0,
                                          "augment": None})
        models[lam] = model
        accs.append(float(metrics["accuracy"]))
        results.append(weight_images(model, labels=split.classes))
        labels.append(f"λ = {lam:g}\ntest acc {metrics['accuracy']:.3f}")
        ctx.metric(f"test accuracy, λ = {lam:g}", metrics["accuracy"], headline=lam == LAMBDAS[1])
        ctx.metric(f"max |w|, λ = {lam:g}", results[-1].vmax)
    rare = (split.x_train.flatten(1) > 0.5).float().mean(0).numpy() < 0.01
    stats = [weight_stats(r.images, rare) for r in results]
    out = plot_weight_images_grid(results, labels)
    ctx.figure("lambda-grid", out["fig"], grid_caption(split.name, LAMBDAS, stats, accs),
               data={"images": np.stack([np.asarray(r.images) for r in results]),
                     "param_lambda": np.asarray(LAMBDAS), "rarely_inked": rare.reshape(split.input_shape[-2:]),
                     **{k: np.asarray([st[k] for st in stats]) for k in stats[0]}})


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
