"""Attributions with Captum: saliency, integrated gradients, occlusion and Grad-CAM.

Run: ``python recipes/attributions.py`` (or ``vizkit gallery --only attributions``).

Shows, for test digits of several classes, which pixels each method says the CNN and the MLP
used for the true class, beside the image.
"""

ORDER = 80
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    split = ctx.data()
    cnn, _, m_cnn = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    mlp, _, m_mlp = ctx.train("mlp-300", "mlp", split, {"epochs": 8}, shared=True)
    ctx.metric("CNN test accuracy", m_cnn["accuracy"], headline=True)
    ctx.metric("MLP test accuracy", m_mlp["accuracy"])
    ctx.family("attributions", cnn, split, prefix="cnn")
    ctx.family("attributions", mlp, split, prefix="mlp")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
