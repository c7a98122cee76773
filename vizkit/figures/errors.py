"""Figure family ``errors``: confusion matrix, the worst-classified test examples with their
probability bars, right and wrong predictions with their bars (seed 004), and the learning curves
(seed 003) when the checkpoint carries its training history."""

from __future__ import annotations

from . import Figure

__all__ = ["make"]

_N_WORST = 10
_N_EACH = 5


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Error figures of ``model`` on ``split``'s test part (learning curves from
    ``meta['history']`` when present)."""
    import matplotlib.pyplot as plt

    from ..analysis.errors import predictions, prediction_examples, worst_examples
    from ..plot.curves import plot_learning_curves
    from ..plot.errors import plot_confusion, plot_examples
    from ..train.metrics import confusion_matrix

    x, y = split.x_test, split.y_test
    preds = predictions(model, x, y)
    C = max(preds.n_classes, split.n_classes)
    classes = list(split.classes) if len(split.classes) >= C else [str(i) for i in range(C)]
    acc = float(preds.correct.mean())
    figures = []

    M = confusion_matrix(preds.y, preds.pred, C)
    side = 1.2 + 0.55 * C
    fig, ax = plt.subplots(figsize=(max(4.2, side + 1.2), max(3.6, side)), layout="constrained")
    plot_confusion(M, classes=classes, ax=ax)
    ax.set_title(f"confusion on the test set\n{len(y)} examples, accuracy {acc:.1%}", fontsize=10)
    figures.append(Figure(id="confusion", fig=fig, caption=(
        "Confusion matrix on the test set: row = true class, column = predicted class, counts in "
        "the cells; off-diagonal cells are the mistakes.")))

    worst = worst_examples(model, x, y, k=_N_WORST, preds=preds)
    out = plot_examples(worst, classes=classes, legend=True)
    fig = out["axes"][0, 0].figure
    fig.suptitle("the test examples with the highest loss (worst first)", fontsize=10)
    figures.append(Figure(id="worst_examples", fig=fig, caption=(
        "The test examples with the highest cross-entropy, each with its class probabilities: "
        "green bar = true class, red bar = the wrongly predicted class.")))

    ex = prediction_examples(model, x, y, n_right=_N_EACH, n_wrong=_N_EACH, seed=seed, preds=preds)
    images = x.dim() >= 3
    rows_each = 2 if images else 1
    k = max(len(ex.right), len(ex.wrong), 1)
    fig = plt.figure(figsize=(1.5 * k + 0.5, (1.7 * rows_each + 0.5) * 2 + 0.4), layout="constrained")
    subfigs = fig.subfigures(2, 1)
    for sub, part, label in ((subfigs[0], ex.right, "right"), (subfigs[1], ex.wrong, "wrong")):
        if len(part) == 0:
            sub.suptitle(f"no {label} predictions on the test set", fontsize=10)
            continue
        axes = sub.subplots(rows_each, k, squeeze=False,
                            gridspec_kw={"height_ratios": [1.1, 1] if images else [1]})
        plot_examples(part, axes=axes, classes=classes, legend=label == "wrong")
        sub.suptitle(f"{label} predictions (random sample, seed {seed})", fontsize=10)
    figures.append(Figure(id="prediction_bars", fig=fig, caption=(
        "Random right and wrong test predictions with their probability bars (seed 004): sure "
        "and right, unsure but right, and confidently wrong cases.")))

    history = (meta or {}).get("history")
    if history:
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), layout="constrained")
        plot_learning_curves(history, axes=axes)
        axes[0].set_title("loss per epoch", fontsize=10)
        axes[1].set_title("accuracy per epoch", fontsize=10)
        figures.append(Figure(id="learning_curves", fig=fig, caption=(
            "Training and validation loss and accuracy per epoch; the star and dotted line mark "
            "the best-validation epoch whose weights were kept.")))
    return figures
