"""Attributions with Captum, and the sanity check of Adebayo et al. (2018).

Run: ``python recipes/attributions.py`` (or ``vizkit gallery --only attributions``).

Shows, for test images of five classes, which pixels each method says the CNN and the MLP used
for the true class: gradients (saliency, SmoothGrad, guided backprop, input x gradient),
methods against a black reference (integrated gradients, DeepLIFT, occlusion) and, for the CNN,
layer methods (Grad-CAM, layer integrated gradients, layer conductance); two methods whose maps
coincide are drawn once and named with their correlation. Beside each group, the sanity check of
Adebayo et al. (2018): the same maps with the model's layers re-initialized one by one from the top,
and per method the Spearman correlation of signed and of absolute maps and SSIM with the trained
maps, over the whole image and over the ink alone, each beside a null that knows no model (the
input's ink times random noise); every method is named by what survives full randomization (sign,
magnitude, only the input's own ink and edges) or passes.
Last, faithfulness: deletion and insertion curves (pixel flipping) of every pixel-level method on
200 test images, with each method's mean area under the curve, a bootstrap interval, a
random-order baseline and an ink control (brightest pixels first); a method is called most
faithful only when it beats the runner-up and the ink control on the same images (paired
bootstrap intervals of the differences).
"""

ORDER = 80
TOPIC = "Attributions and errors"
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
    # Faithfulness, measured: which of the maps above follow what the model needs? For 200 test
    # images, deletion curves remove each method's top pixels first (deletion AUC, lower is
    # better), insertion curves reveal them first (higher is better), against a random order.
    ctx.family("faithfulness", cnn, split, prefix="cnn")
    ctx.family("faithfulness", mlp, split, prefix="mlp")



if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
