"""Weight images of logistic regression on MNIST at three regularization strengths (seed 002).

Run: ``python recipes/mnist_weights.py`` (or ``vizkit gallery --only mnist_weights``).

Shows the ``[784, 10]`` weights of the lab's linear classifier as ten 28x28 images, one per
digit, for the L2 term ``param_lambda`` in {0, 1e-3, 1e-1}, all rows on one symmetric colour
scale so that the shrinking effect of lambda is visible.
"""

from vizkit.analysis.weights import weight_images
from vizkit.plot.weights import plot_weight_images_grid

ORDER = 30
TOPIC = "Weights and receptive fields"
LAMBDAS = (0.0, 1e-3, 1e-1)


def run(ctx):
    split = ctx.data()
    results, labels, models = [], [], {}
    for lam in LAMBDAS:
        model, hist, metrics = ctx.train(f"logreg-lambda-{lam:g}", "logreg", split,
                                         {"epochs": 10, "param_lambda": lam, "weight_decay": 0.0,
                                          "augment": None})
        models[lam] = model
        results.append(weight_images(model, labels=split.classes))
        labels.append(f"λ = {lam:g}\ntest acc {metrics['accuracy']:.3f}")
        ctx.metric(f"test accuracy, λ = {lam:g}", metrics["accuracy"], headline=lam == 1e-3)
        ctx.metric(f"max |w|, λ = {lam:g}", results[-1].vmax)
    out = plot_weight_images_grid(results, labels)
    ctx.figure("lambda-grid", out["fig"],
               "One row per param_lambda, one column per digit, one colour scale for all: red "
               "pixels with ink raise that digit's score, blue ones lower it. Without the L2 term "
               "the weights are large and speckled, with stray strong pixels near the border; "
               "lambda = 1e-3 changes them only slightly; lambda = 0.1 shrinks them toward zero "
               "(paler) into smooth blurry digit templates, at a small cost in accuracy.")
    ctx.family("weights", models[1e-3], split, prefix="lambda-1e-3")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
