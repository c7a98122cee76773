"""Receptive fields of the 784-360-187-10 net of seed 004 (batch norm, dropout): every layer.

Run: ``python recipes/receptive_fields.py`` (or ``vizkit gallery --only receptive_fields``).

Shows, for hidden layer 1 (360 units), what six units respond to: their trained weights, the
change from their initial weights (rebuilt from the recorded seed) and the three test images
that excite each most; the units are the six with the smoothest drawn fields (lag-1 spatial
autocorrelation over often-inked pixels). For the deeper layers (187 hidden units, 10 outputs):
the units whose fields lie most on inked pixels, three ways: the product of the weight matrices
from the input (the seed's "propagating the weights"), the same gated by how often each ReLU is
active on real test images, and the average input gradient; a view whose fields correlate
r >= 0.99 with one already drawn is left out and the caption gives its r.

Where this departs from the seed: the seed trained with Adam and no weight decay. Weights on
pixels the data never inks then get no gradient and keep their random initial values, so the
seed's fields are mostly noise outside "a central, somehow rounded area". Here Adam runs with
weight decay 5e-3 and without shift augmentation (shifts would ink the border pixels now and
then), so those weights decay toward 0; each caption
gives the never-inked / inked ratio it measures. ``bench/receptive_ink.py`` prints the ratios.
"""

ORDER = 50
TOPIC = "Weights and receptive fields"

#: Training settings of the net (Adam, the 'deep' defaults otherwise).
CONFIG = {"epochs": 20, "weight_decay": 5e-3, "augment": None}


def run(ctx):
    split = ctx.data()
    model, hist, metrics = ctx.train("deep-360-187", "deep", split, CONFIG)
    ctx.metric("test accuracy", metrics["accuracy"], headline=True)
    ctx.metric("best epoch", hist.best_epoch)
    ctx.family("receptive-fields", model, split)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
