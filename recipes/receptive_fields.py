"""Receptive fields of the 784-360-187-10 net of seed 004 (batch norm, dropout), layers 1 to 3.

Run: ``python recipes/receptive_fields.py`` (or ``vizkit gallery --only receptive_fields``).

Shows, for units of each layer, the product of the weight matrices from the input (the seed's
"propagating the weights"), the same gated by which ReLUs are active on real digits, and the
gradient-based field averaged over examples.
"""

ORDER = 50


def run(ctx):
    split = ctx.data()
    model, hist, metrics = ctx.train("deep-360-187", "deep", split, {"epochs": 10})
    ctx.metric("test accuracy", metrics["accuracy"], headline=True)
    ctx.metric("best epoch", hist.best_epoch)
    ctx.family("receptive-fields", model, split)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
