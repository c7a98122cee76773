"""Embeddings of the CNN's layers: UMAP, t-SNE and PCA of the test set's activations, layer by layer.

Run: ``python recipes/embeddings.py`` (or ``vizkit gallery --only embeddings``).

Shows the test set's raw pixels and the CNN's activations layer after layer, mapped to 2D by
UMAP, t-SNE and PCA, in the same class colours as every other figure, so that one can see where
the classes of the data (digits on MNIST, garments on Fashion-MNIST) come apart. Each panel gives
the class separation measured in the layer's own space (not on the map, whose distances mean
little for UMAP and t-SNE) and the map's trustworthiness (scikit-learn). The CNN is the one
the errors and attributions pages use (shared cache entry: 6 epochs, vizkit's CNN defaults
otherwise).
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
