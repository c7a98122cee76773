"""CNN views: the first conv layer's filters as images, and what each conv layer computes for an input.

Run: ``python recipes/cnn_views.py`` (or ``vizkit gallery --only cnn_views``).

Shows the CNN's 3x3 first-layer filters (conv1) on one symmetric scale, then, for two test images
of different classes, the feature maps of each conv layer, named by their place and module
(``conv1 (features.0)``, ``conv2 (features.4)``): all channels, numbered, in two rows per input.
Compare a channel across the two digits: the first layer's maps still look like the digit
(28x28), the second layer's are coarser (14x14, after pooling).
The CNN is the one the errors and embeddings pages use (same key and settings: trained once).
The same figures come from ``vizkit analyze CHECKPOINT --what feature-maps``.
"""

ORDER = 52
TOPIC = "Weights and receptive fields"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    split = ctx.data()
    cnn, hist, metrics = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    ctx.metric("CNN test accuracy", metrics["accuracy"], headline=True)
    ctx.metric("best epoch", hist.best_epoch)
    ctx.family("feature-maps", cnn, split, prefix="cnn")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
