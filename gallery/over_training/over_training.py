"""What the network looks at over its training: attributions, class images and the embedding, epoch by epoch.

Run: ``python recipes/over_training.py`` (or ``vizkit gallery --only over_training``).

Shows, for the CNN and the MLP trained for 8 epochs, snapshots taken while they trained (at
epochs 0, 1, 2, 4 and 8; epoch 0 is the untrained network): the integrated-gradients maps of six
fixed test images for their true class, the activation-maximization image of each of their
classes, and the penultimate layer's test points in 2D (PCA, each snapshot rotated onto the one
before by Procrustes), each beside the learning curve. How fast each view settles is measured:
the Spearman rank correlation of each map or image with the previous snapshot's, and the
Procrustes disparity of the embeddings. The family's recorder takes the snapshots during
training; a cached model replays them without training. On the command line:
``vizkit train --model cnn --data mnist-5k --out run --record-views epochs=8`` then
``vizkit analyze run/model.pt --what over-training --out figs``.
"""

from vizkit.figures import get_family

ORDER = 85
TOPIC = "Attributions and errors"
EPOCHS = 8
#: every epoch runs (no early stop) and the snapshots are of the model that is kept (no refit)
CONFIG = {"epochs": EPOCHS, "patience": None, "refit": False}
MODELS = [("cnn", "cnn", {"channels": (16, 32)}), ("mlp", "mlp", {})]


def run(ctx):
    split = ctx.data()
    family = get_family("over-training")
    for key, name, args in MODELS:
        recorder = family.recorder(split, seed=ctx.seed, epochs=EPOCHS)
        model, hist, metrics = ctx.train(key, name, split, CONFIG, recorder=recorder, **args)
        ctx.metric(f"{key.upper()} test accuracy", metrics["accuracy"], headline=key == "cnn")
        ctx.family("over-training", model, split, prefix=key)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
