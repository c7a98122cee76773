"""Activation maximization: the inputs that drive class logits and hidden units, MLP and CNN (seed 004).

Run: ``python recipes/activation_maximization.py`` (or ``vizkit gallery --only activation_maximization``).

Shows, for the 784-300-10 MLP and the small CNN, one batch of leaf input images optimized at once
(Adam, sigmoid pixels in [0, 1], random shifts/scalings/rotations, an ink budget and a data prior:
the span of the training images' principal components) to maximize each class logit, beside the
three real test images with the largest logit and a verdict per class (does the optimized input
out-score every test image?); three facets per class pushed apart by Lucent's diversity
term; and a few hidden units plus a whole layer's mean, each beside its
three most exciting test images. ``python bench/actmax_judge.py`` checks
that a classifier that never saw the nets reads each class image as its own class.
"""

ORDER = 60
TOPIC = "What a unit wants to see"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    split = ctx.data()
    mlp, _, m_mlp = ctx.train("mlp-300", "mlp", split, {"epochs": 8}, shared=True)
    cnn, _, m_cnn = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    ctx.metric("MLP test accuracy", m_mlp["accuracy"], headline=True)
    ctx.metric("CNN test accuracy", m_cnn["accuracy"], headline=True)
    ctx.family("actmax", mlp, split, prefix="mlp")
    ctx.family("actmax", cnn, split, prefix="cnn")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
