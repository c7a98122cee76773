"""Seed 004's hyper-parameter search: random search with 3-fold cross-validation and early stopping
over the hidden sizes and the dropout of the 784-h1-h2-10 net, through vizkit's scikit-learn
estimator (``vizkit.estimator.NetClassifier`` in ``RandomizedSearchCV``).

Shows the results table (mean and spread of the fold accuracies per candidate), the score
against each hyper-parameter, and the receptive fields of the best model, loaded from the
vizkit checkpoint that the estimator wrote.

Run: ``python recipes/hyperparameter_search.py`` (or ``vizkit gallery --only hyperparameter_search``).
The full search of the seed: ``vizkit search --model deep --data mnist-5k --n-iter 20 --cv 3
--out runs/search``.

Kept small for the gallery: 6 candidates (h1 ~ U(100, 500), h2 ~ U(50, 250), dropout ~ U(0, 0.8))
x 3 folds on 2,000 training images, 8 epochs at most (patience 3), weight decay 5e-3 for every
candidate (as in the receptive_fields recipe, so that the first layer's weights on never-inked
pixels decay toward 0 instead of keeping their random initial values), then the best refit on
all 2,000 and scored on the test part. The best model's first-layer figure quotes how much of
each field is still its initial weights (rebuilt from the seed the checkpoint records).
"""

import numpy as np

ORDER = 55
TOPIC = "Comparing models"

N_TRAIN = 2000
#: as the receptive_fields recipe: without it the first layer's weights on pixels the data never
#: inks keep their random initial values and the best model's fields are mostly that noise
WEIGHT_DECAY = 5e-3


def search_caption(rows: list, params: list, folds: int, n_train: int | None = None) -> str:
    """The score figure's caption: first whether the folds can tell the best candidate from the
    others (how many of the OTHER candidates lie within one fold standard deviation of the best's
    mean), then what is drawn, all computed from ``rows``."""
    mean = np.asarray([r["mean_score"] for r in rows], dtype=float)
    std = np.asarray([r["std_score"] for r in rows], dtype=float)
    top = int(np.argmax(mean))
    best = rows[top]
    setting = ", ".join(f"{p} {best[p]:.3g}" for p in params)
    others = len(rows) - 1
    close = int(np.sum(mean >= mean[top] - std[top])) - 1  # the best is not its own rival
    if others == 0:
        lead = "One candidate only: nothing to compare it with."
    elif close > 0:
        lead = (f"The folds cannot tell the best candidate from the others: {close} of the other "
                f"{others} lie within one standard deviation of its mean.")
    else:
        lead = (f"The best candidate stands out: none of the other {others} lies within one "
                "standard deviation of its mean.")
    fold_size = (f" (folds of about {n_train // folds:,} of {n_train:,} training images)"
                 if n_train else "")
    return (f"{lead} Mean {folds}-fold cross-validation accuracy{fold_size} of each of the "
            f"{len(rows)} candidates (bars: ± one standard deviation over the folds) against each "
            f"hyper-parameter; the star is the best candidate ({setting}: "
            f"{best['mean_score']:.3f} ± {best['std_score']:.3f}). The means span "
            f"{mean.min():.3f} to {mean.max():.3f}.")


def run(ctx):
    import tempfile
    from pathlib import Path

    import torch

    from vizkit.checkpoint import load
    from vizkit.estimator import plot_search_scores, search, search_results

    split = ctx.data()
    pick = torch.randperm(len(split.y_train), generator=torch.Generator().manual_seed(ctx.seed))
    pick = pick[:N_TRAIN]
    X, y = split.x_train[pick].numpy(), split.y_train[pick].numpy()
    rs = search(X, y, n_iter=6, cv=3, seed=ctx.seed, model="deep", epochs=8, patience=3,
                weight_decay=WEIGHT_DECAY, progress=False)
    rows = search_results(rs)
    cols = ["rank", "h1", "h2", "dropout", "mean_score", "std_score", "fit_seconds"]
    ctx.table("search-results", cols,
              [[r["rank"], r["h1"], r["h2"], round(r["dropout"], 3), round(r["mean_score"], 4),
                round(r["std_score"], 4), round(r["fit_seconds"], 2)] for r in rows],
              caption="Candidates, best first: mean and standard deviation of the accuracy over "
                      "the 3 validation folds, and the mean training seconds per fold.")
    out = plot_search_scores(rows)
    data = {p: np.asarray([r[p] for r in rows], dtype=float) for p in out["params"]}
    data.update(mean_score=np.asarray([r["mean_score"] for r in rows]),
                std_score=np.asarray([r["std_score"] for r in rows]),
                rank=np.asarray([r["rank"] for r in rows]))
    ctx.figure("score-vs-hyperparameters", out["fig"],
               search_caption(rows, out["params"], 3, len(y)), data=data)

    best = rs.best_estimator_
    with tempfile.TemporaryDirectory() as tmp:
        path = best.save_checkpoint(
            Path(tmp) / "best.pt",
            data={"name": split.name, "fingerprint": split.fingerprint,
                  "classes": list(split.classes), "input_shape": list(split.input_shape)})
        model, meta = load(path)
    test_acc = best.score(split.x_test.numpy(), split.y_test.numpy())
    h1, h2 = rs.best_params_["hidden"]
    ctx.metric("best candidate", f"784-{h1}-{h2}-10, dropout {rs.best_params_['dropout']:.3f}",
               headline=True)
    ctx.metric("best CV accuracy", round(float(rs.best_score_), 4), headline=True)
    ctx.metric("test accuracy (best, refit)", round(float(test_acc), 4))
    ctx.metric("epochs of the refit", best.n_iter_)
    ctx.family("receptive-fields", model, split, meta=meta, prefix="best")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
