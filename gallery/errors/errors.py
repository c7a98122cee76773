"""Where the CNN goes wrong: confusion matrix, worst test examples, probability bars, learning curves.

Run: ``python recipes/errors.py`` (or ``vizkit gallery --only errors``).

Shows the test-set confusion of the CNN, the examples with the highest loss and their class
probabilities, right and wrong predictions with probability bars (seed 004), and the learning
curves of its training.
"""

ORDER = 100
TOPIC = "Attributions and errors"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    split = ctx.data()
    cnn, hist, metrics = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    ctx.metric("CNN test accuracy", metrics["accuracy"], headline=True)
    ctx.metric("test errors", round((1 - metrics["accuracy"]) * metrics["n"]))
    # the best-validation epoch beside the epochs run: when they are equal, it is where training
    # stopped, not an optimum (the learning-curves caption says whether validation still improved)
    ctx.metric("epochs run (best-validation epoch)", f"{len(hist.epochs)} ({hist.best_epoch})")
    ctx.family("errors", cnn, split, prefix="cnn")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
