"""Embeddings of the CNN's layers: UMAP and PCA of the test set's activations, layer by layer.

Run: ``python recipes/embeddings.py`` (or ``vizkit gallery --only embeddings``).

Shows how the classes, mixed in the raw pixels, pull apart into clusters layer after layer, in
the same class colours as every other figure.
"""

ORDER = 90
TOPIC = "Representations"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    split = ctx.data()
    cnn, _, metrics = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    ctx.metric("CNN test accuracy", metrics["accuracy"], headline=True)
    ctx.family("embedding", cnn, split, prefix="cnn")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
