"""Figure family ``errors``: the confusion matrix, the worst-classified test examples with their
probability bars, the surest wrong and least sure right predictions with their bars (seed 004),
and the learning curves (seed 003) when the checkpoint holds the training history.

The numbers come from :mod:`vizkit.analysis.errors` (predictions, confusion, example choices),
the drawings from :mod:`vizkit.plot.errors` and :mod:`vizkit.plot.curves`. Every caption's
numbers and claims are computed from the examples drawn (no "confidently wrong" unless such a
mistake exists).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..plot.curves import history_arrays, history_table, plot_learning_curves
from ..plot.errors import plot_confusion, plot_example_rows
from ..plot.figure import Figure

__all__ = ["NAME", "applies", "figures", "prediction_bars_caption", "confusion_caption",
           "worst_caption", "CONFIDENT"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "errors"


def applies(model, split) -> str | None:
    """Always ``None``: every classifier has test predictions to show."""
    return None


_N_WORST = 10  # worst examples shown
_N_EACH = 5  # right and wrong predictions shown
#: A prediction made with at least this probability is called "confident" in the captions.
CONFIDENT = 0.9


def _confidence(ex) -> np.ndarray:
    """Probability of the predicted class of each example."""
    return np.asarray(ex.probs)[np.arange(len(ex)), np.asarray(ex.pred)] if len(ex) else np.zeros(0)


def _span(values: np.ndarray) -> str:
    """'0.65' or '0.99 to 0.65' (first to last, as shown)."""
    a, b = f"{values[0]:.2f}", f"{values[-1]:.2f}"
    return a if a == b else f"{a} to {b}"


def prediction_bars_caption(examples, preds) -> str:
    """The caption of the prediction-bars figure, every number and claim read from the chosen
    ``examples`` and all test ``preds`` (it calls a mistake confident only when one exists).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from vizkit.analysis.errors import PredictionExamples, Predictions, _select
    >>> p = Predictions(probs=np.array([[0.4, 0.6], [0.8, 0.2]]), pred=np.array([1, 0]),
    ...                 y=np.array([0, 0]), loss=np.zeros(2))
    >>> ex = PredictionExamples(right=_select(p, torch.zeros(2, 1), [1]),
    ...                         wrong=_select(p, torch.zeros(2, 1), [0]))
    >>> "confidently wrong" in prediction_bars_caption(ex, p)
    False
    """
    n, n_wrong = len(preds.y), int((~preds.correct).sum())
    conf_all = preds.probs[np.arange(n), preds.pred]
    n_sure_wrong = int(((~preds.correct) & (conf_all >= CONFIDENT)).sum())
    parts = []
    if len(examples.wrong):
        parts.append(f"the {len(examples.wrong)} wrong test predictions the model was surest of "
                     f"(of its {n_wrong} mistakes on {n} test examples; probability of the "
                     f"predicted class {_span(_confidence(examples.wrong))})")
    if len(examples.right):
        parts.append(f"the {len(examples.right)} right test predictions the model was least "
                     f"sure of (probability {_span(_confidence(examples.right))})")
    text = ("Top to bottom: " + " and ".join(reversed(parts)) if parts else
            "No test predictions") + (", each with its class probabilities: green bar = true "
                                      "class, red bar = the wrongly predicted class. ")
    if n_wrong == 0:
        text += f"The model made no mistake on the {n} test examples."
    elif n_sure_wrong:
        text += (f"{n_sure_wrong} of the {n_wrong} mistakes were made with probability >= "
                 f"{CONFIDENT:g} (confidently wrong).")
    else:
        text += (f"No mistake was made with probability >= {CONFIDENT:g}: the surest wrong "
                 f"prediction had {conf_all[~preds.correct].max():.2f}.")
    return text


def confusion_caption(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix's caption: its count, accuracy and most frequent mistake."""
    M = np.asarray(matrix)
    n, right = int(M.sum()), int(np.trace(M))
    text = (f"Confusion matrix of the {n} test examples (accuracy {right / max(n, 1):.1%}): row = "
            "true class, column = predicted class, counts in the cells; off-diagonal cells are "
            "the mistakes. ")
    off = M - np.diag(np.diag(M))
    if off.max(initial=0) == 0:
        return text + "There are none."
    i, j = np.unravel_index(np.argmax(off), off.shape)
    return text + (f"The most frequent mistake: {int(off[i, j])} of class '{class_names[i]}' "
                   f"predicted as '{class_names[j]}'.")


def worst_caption(worst) -> str:
    """The worst examples' caption: how many, their losses, how many are misclassified."""
    k = len(worst)
    n_wrong = int((np.asarray(worst.y) != np.asarray(worst.pred)).sum())
    loss = np.asarray(worst.loss)
    span = _span(loss) if k else "-"
    return (f"The {k} test examples with the highest cross-entropy (loss {span}; {n_wrong} of "
            f"them misclassified), each with its class probabilities: green bar = true class, red "
            f"bar = the wrongly predicted class.")


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures (see the module's description); ``meta['history']`` adds the
    learning curves. Digits are drawn white on black (``'gray'``, 0 to 1).

    Returns
    -------
    list of Figure
        ``confusion`` (``data``: ``confusion`` [C, C], ``class_names``), ``worst_examples`` and
        ``prediction_bars`` (``indices``, ``inputs``, ``y``, ``pred``, ``probs``, ``loss`` of the
        examples shown; ``right_``/``wrong_`` prefixed for the bars), ``learning_curves`` when
        there is a history.
    """
    import matplotlib.pyplot as plt

    from ..analysis.errors import confidence_examples, confusion, predictions, worst_examples

    x, y = split.x_test, split.y_test
    preds = predictions(model, x, y)
    C = max(preds.n_classes, split.n_classes)
    classes = list(split.classes) if len(split.classes) >= C else [str(i) for i in range(C)]
    names = np.asarray([str(c) for c in classes])
    out = []

    M = confusion(model, x, y, n_classes=C)
    side = 1.4 + 0.55 * C
    fig, ax = plt.subplots(figsize=(max(4.2, side + 1.4), max(3.6, side)), layout="constrained")
    plot_confusion(M, class_names=classes, ax=ax)
    ax.set_title(f"confusion on the test set\n{len(y)} examples, accuracy "
                 f"{float(preds.correct.mean()):.1%}", fontsize=10)
    out.append(Figure(id="confusion", fig=fig, caption=confusion_caption(M, classes),
                      data={"confusion": np.asarray(M), "class_names": names}))

    worst = worst_examples(model, x, y, k=_N_WORST, preds=preds)
    fig = plot_example_rows([worst], ["the test examples with the highest loss (worst first)"],
                            classes)
    out.append(Figure(id="worst_examples", fig=fig, caption=worst_caption(worst),
                      data=dict(_examples_data(worst), class_names=names)))

    ex = confidence_examples(model, x, y, n_right=_N_EACH, n_wrong=_N_EACH, preds=preds)
    titles = [f"right predictions it was least sure of (p {_span(_confidence(ex.right))})"
              if len(ex.right) else "no right predictions on the test set",
              f"wrong predictions it was surest of (p {_span(_confidence(ex.wrong))})"
              if len(ex.wrong) else "no wrong predictions on the test set"]
    fig = plot_example_rows([ex.right, ex.wrong], titles, classes)
    data = {f"{part}_{key}": v for part, e in (("right", ex.right), ("wrong", ex.wrong))
            for key, v in _examples_data(e).items()}
    out.append(Figure(id="prediction_bars", fig=fig, caption=prediction_bars_caption(ex, preds),
                      data=dict(data, class_names=names)))

    history = (meta or {}).get("history")
    if history:
        refit = int(((meta or {}).get("metrics") or {}).get("refit_epochs") or 0)
        out.append(_curves_figure(history, refit))
    return out


def _curves_figure(history, refit_epochs: int = 0) -> Figure:
    """The learning curves with the kept epoch and its validation figures in the caption; with
    ``refit_epochs`` (``metrics['refit_epochs']``) the caption says the kept model is a refit."""
    import matplotlib.pyplot as plt

    epochs, best = history_table(history)
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), layout="constrained")
    plot_learning_curves(history, axes=axes)
    axes[0].set_title("loss per epoch", fontsize=10)
    axes[1].set_title("accuracy per epoch", fontsize=10)
    caption = f"Training and validation loss and accuracy over {len(epochs)} epochs"
    kept = [e for i, e in enumerate(epochs) if e.get("epoch", i + 1) == best]
    if kept:
        e = kept[0]
        val = ", ".join(([f"validation loss {e['val_loss']:.3f}"] if e.get("val_loss") is not None
                         else []) + ([f"validation accuracy {e['val_acc']:.1%}"]
                                     if e.get("val_acc") is not None else []))
        kept = "" if refit_epochs else " whose weights were kept"
        caption += (f"; the star and dotted line mark epoch {best}, the best-validation epoch"
                    f"{kept}" + (f" ({val})" if val else ""))
    if refit_epochs:
        caption += (f". The model the other figures show is not this run's: it was retrained "
                    f"from scratch on the training and validation images for {refit_epochs} "
                    f"epochs and its last weights kept (so it has no validation curve)")
    data = history_arrays(history)
    data["refit_epochs"] = np.array(refit_epochs)
    return Figure(id="learning_curves", fig=fig, caption=caption + ".", data=data)


def _examples_data(ex) -> dict[str, np.ndarray]:
    """The arrays of an :class:`~vizkit.analysis.errors.Examples` drawn by
    :func:`~vizkit.plot.errors.plot_examples`."""
    return {"indices": np.asarray(ex.indices), "inputs": ex.inputs.detach().cpu().numpy(),
            "y": np.asarray(ex.y), "pred": np.asarray(ex.pred), "probs": np.asarray(ex.probs),
            "loss": np.asarray(ex.loss)}
