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
           "worst_caption", "train_val_note", "training_end_text", "CONFIDENT"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "errors"


def applies(model, split) -> str | None:
    """Whether the family applies: always ``None``, since every classifier has test predictions
    to show.

    Parameters
    ----------
    model : nn.Module or estimator
        The classifier.
    split : vizkit.data.Split
        Its data.

    Returns
    -------
    None

    Examples
    --------
    >>> import torch
    >>> applies(torch.nn.Linear(2, 3), None) is None
    True
    """
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


def prediction_bars_caption(examples, preds, *, excluded: int = 0,
                            overlap: tuple[int, int] | None = None) -> str:
    """The caption of the prediction-bars figure, every number and claim read from the chosen
    ``examples`` and all test ``preds`` (it calls a mistake confident only when one exists).

    Parameters
    ----------
    examples : PredictionExamples
        The right and wrong predictions drawn.
    preds : Predictions
        All test predictions.
    excluded : int, default=0
        How many highest-loss examples were left out of the choice (shown on their own figure).
    overlap : (int, int), optional
        ``(shared, n)``: of the ``n`` surest mistakes overall, ``shared`` are among those left out.

    Returns
    -------
    str

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
    beyond = f" not among the {excluded} highest-loss examples" if excluded else ""
    parts = []
    if len(examples.right):
        parts.append(f"the {len(examples.right)} right test predictions the model was least "
                     f"sure of (probability of the predicted class {_span(_confidence(examples.right))})")
    if len(examples.wrong):
        parts.append(f"the {len(examples.wrong)} wrong test predictions{beyond} that the model "
                     f"was surest of (of its {n_wrong} mistakes on {n} test examples; "
                     f"probability of the predicted class {_span(_confidence(examples.wrong))})")
    hesitant = bool(len(examples.wrong)) and _confidence(examples.wrong).max() < CONFIDENT
    sure = (f"the {n_sure_wrong} confident "
            f"{'one is' if n_sure_wrong == 1 else 'ones are'} among the highest-loss examples"
            if n_sure_wrong else "no mistake was confident")
    mistakes = (f"the remaining mistakes, all hesitant ({sure})" if hesitant and excluded else
                "the mistakes it was surest of"
                f"{' (beyond the highest-loss ones)' if excluded else ''}")
    text = (f"The right answers the model hesitated over, then {mistakes}. Top to bottom: " +
            " and ".join(parts) if parts else "No test predictions")
    text += (", each with its class probabilities: green bar = true class, red bar = the wrongly "
             "predicted class. ")
    if excluded and overlap is not None and overlap[1]:
        text += (f"Ranked by the predicted class's probability, not by loss: {overlap[0]} of the "
                 f"{overlap[1]} surest mistakes overall are already on the highest-loss figure, so "
                 "the next ones are shown here. ")
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
    """The confusion matrix's caption: its count, accuracy and most frequent mistake, or the
    mistakes that tie for most frequent, all of them named.

    Parameters
    ----------
    matrix : ndarray of shape (C, C)
        ``M[i, j]``: test examples of class ``i`` predicted as ``j``.
    class_names : sequence of str
        The classes' names, in the matrix's order.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> confusion_caption(np.array([[5, 2], [2, 4]]), ["a", "b"]).split(": ", 2)[-1]
    "'a' as 'b', 'b' as 'a'."
    """
    M = np.asarray(matrix)
    n, right = int(M.sum()), int(np.trace(M))
    text = (f"The diagonal holds the right answers, the other cells the {n - right} mistakes "
            f"({right} of {n} test examples right, accuracy {right / max(n, 1):.1%}); row = "
            "true class, column = predicted class, counts in the cells. ")
    off = M - np.diag(np.diag(M))
    top = int(off.max(initial=0))
    if top == 0:
        return text + "There are no mistakes."
    pairs = [(str(class_names[i]), str(class_names[j])) for i, j in np.argwhere(off == top)]
    each = f"{top} mistake{'s' if top > 1 else ''}"
    if len(pairs) == 1:
        return text + (f"The most frequent mistake ({each}): class '{pairs[0][0]}' predicted "
                       f"as '{pairs[0][1]}'.")
    shown = ", ".join(f"'{t}' as '{p}'" for t, p in pairs[:6])
    shown += f" and {len(pairs) - 6} more" if len(pairs) > 6 else ""
    return text + (f"No single most frequent mistake: {_count_word(len(pairs))} pairs (true "
                   f"class as predicted class) tie at {each} each: {shown}.")


def _count_word(n: int) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return words[n] if n < len(words) else str(n)


def worst_caption(worst) -> str:
    """The worst examples' caption: how many, their losses, how many are misclassified.

    Parameters
    ----------
    worst : Examples
        From :func:`vizkit.analysis.errors.worst_examples`, highest loss first.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np, torch
    >>> from vizkit.analysis.errors import Predictions, _select
    >>> p = Predictions(probs=np.array([[0.1, 0.9]]), pred=np.array([1]), y=np.array([0]),
    ...                 loss=np.array([2.3]))
    >>> worst_caption(_select(p, torch.zeros(1, 1), [0])).split(";")[0]
    'The test examples the model got most wrong, each titled with the probability it gave the true class and the one it predicted (1 example, loss 2.30'
    """
    k = len(worst)
    n_wrong = int((np.asarray(worst.y) != np.asarray(worst.pred)).sum())
    loss = np.asarray(worst.loss)
    span = _span(loss) if k else "-"
    return (f"The test examples the model got most wrong, each titled with the probability it "
            f"gave the true class and the one it predicted ({k} example{'s' if k != 1 else ''}, "
            f"loss {span}; {n_wrong} of them misclassified). Ranked by cross-entropy, "
            f"-log p(true class): the lower the true class's probability, the higher the loss. "
            f"Green bar = true class, red bar = the wrongly predicted class.")


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures (see the module's description); ``meta['history']`` adds the
    learning curves. Digits are drawn white on black (``'gray'``, 0 to 1).

    Parameters
    ----------
    model : nn.Module
        The classifier (raw logits).
    split : vizkit.data.Split
        Its data: the test part is shown; the training part is scored for the curves' note.
    meta : dict, optional
        The checkpoint's metadata: ``history`` (adds the learning curves), ``metrics``
        (``refit_epochs``) and ``config`` (``monitor``, augmentation) are read.
    seed : int, default=0
        Unused: every choice of examples here is by rank, not by chance (kept for the
        family's common signature).

    Returns
    -------
    list of Figure
        ``confusion`` (``data``: ``confusion`` [C, C], ``class_names``), ``worst_examples`` and
        ``prediction_bars`` (``indices``, ``inputs``, ``y``, ``pred``, ``probs``, ``loss`` of the
        examples shown; ``right_``/``wrong_`` prefixed for the bars), ``learning_curves`` when
        there is a history.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.data import Split
    >>> torch.manual_seed(0) is not None
    True
    >>> x, y = torch.rand(12, 1, 4, 4), torch.arange(12) % 3
    >>> split = Split("toy", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), "0" * 16)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> hist = {"epochs": [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.4}],
    ...         "best_epoch": 1}
    >>> [f.id for f in figures(model, split, meta={"history": hist})]
    ['confusion', 'worst_examples', 'prediction_bars', 'learning_curves']
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
    fig, ax = plt.subplots(figsize=(max(4.2, side + 2.2), max(3.6, side)), layout="constrained")
    plot_confusion(M, class_names=classes, ax=ax)
    ax.set_title(f"confusion on the test set\n{len(y)} examples, accuracy "
                 f"{float(preds.correct.mean()):.1%}", fontsize=13)
    out.append(Figure(id="confusion", fig=fig, caption=confusion_caption(M, classes),
                      data={"confusion": np.asarray(M), "class_names": names}))

    worst = worst_examples(model, x, y, k=_N_WORST, preds=preds)
    fig = plot_example_rows([worst], [f"the {len(worst)} test examples with the highest loss "
                                      "-log p(true class), worst first"], classes)
    out.append(Figure(id="worst_examples", fig=fig, caption=worst_caption(worst),
                      data=dict(_examples_data(worst), class_names=names)))

    # the surest mistakes not already shown among the worst (a high p(pred) often means a low
    # p(true), so the two rankings overlap; the overlap is counted in the caption)
    overall = confidence_examples(model, x, y, n_right=0, n_wrong=_N_EACH, preds=preds)
    ex = confidence_examples(model, x, y, n_right=_N_EACH, n_wrong=_N_EACH, preds=preds,
                             exclude=worst.indices)
    left = int((~preds.correct).sum()) - int((~preds.correct[np.asarray(worst.indices)]).sum())
    titles = [f"right predictions it was least sure of (p(pred) {_span(_confidence(ex.right))})"
              if len(ex.right) else "no right predictions on the test set",
              (f"wrong predictions it was surest of, beyond the {len(worst)} highest-loss ones "
               if len(ex.wrong) and _confidence(ex.wrong).max() >= CONFIDENT else
               f"{len(ex.wrong)} of the {left} mistakes beyond the {len(worst)} highest-loss "
               "ones, all hesitant ")
              + f"(p(pred) {_span(_confidence(ex.wrong))})"
              if len(ex.wrong) else "no wrong predictions beyond the highest-loss ones"]
    fig = plot_example_rows([ex.right, ex.wrong], titles, classes)
    data = {f"{part}_{key}": v for part, e in (("right", ex.right), ("wrong", ex.wrong))
            for key, v in _examples_data(e).items()}
    data["excluded_indices"] = np.asarray(worst.indices)
    shared = int(np.isin(overall.wrong.indices, worst.indices).sum())
    out.append(Figure(id="prediction_bars", fig=fig,
                      caption=prediction_bars_caption(ex, preds, excluded=len(worst),
                                                      overlap=(shared, len(overall.wrong))),
                      data=dict(data, class_names=names)))

    history = (meta or {}).get("history")
    if history:
        refit = int(((meta or {}).get("metrics") or {}).get("refit_epochs") or 0)
        train_eval = float(predictions(model, split.x_train, split.y_train).correct.mean())
        out.append(_curves_figure(history, refit, train_eval=(train_eval, len(split.y_train)),
                                  config=(meta or {}).get("config") or {},
                                  dropout=_dropout_rates(model)))
    return out


def _dropout_rates(model) -> list[float]:
    """The ``p`` of every dropout module of ``model`` with ``p > 0``."""
    from torch import nn

    return [float(m.p) for m in model.modules()
            if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]


def train_val_note(history, *, train_eval=None, config=None, dropout=()) -> str:
    """Why validation accuracy can sit above training accuracy, from what was measured: the
    epochs where it does, what was on during training (read from ``config`` and the model's
    dropout rates), and the eval-mode training accuracy ``train_eval = (accuracy, n)``.

    Parameters
    ----------
    history : History, dict or list of dict
        Per-epoch records with ``train_acc`` and ``val_acc``.
    train_eval : (float, int), optional
        The training images' accuracy measured in eval mode, and how many there were.
    config : dict, optional
        The training config (``augment``, ``average``, ...), e.g. the checkpoint's
        ``meta['config']``.
    dropout : sequence of float, default=()
        The model's dropout rates.

    Returns
    -------
    str
        Empty when validation accuracy is never above the training accuracy drawn.

    Examples
    --------
    >>> h = [{"epoch": 1, "train_acc": 0.80, "val_acc": 0.90}]
    >>> train_val_note(h, train_eval=(0.95, 100), config={"augment": None}, dropout=[0.5])[:60]
    'Validation accuracy is above the training accuracy drawn at '
    >>> train_val_note([{"epoch": 1, "train_acc": 0.9, "val_acc": 0.8}])
    ''
    """
    epochs, _ = history_table(history)
    rows = [e for e in epochs if e.get("train_acc") is not None and e.get("val_acc") is not None]
    above = [e for e in rows if e["val_acc"] > e["train_acc"]]
    if not above:
        return ""
    last = above[-1]
    config = config or {}
    on = []
    if config.get("augment") == "affine":
        on.append(f"random affine augmentation (up to {config.get('affine_degrees', 10):g} "
                  f"degrees, {config.get('affine_scale', 0.1):.0%} size, "
                  f"{config.get('shift_pixels', 2)} px shift)")
    elif config.get("augment") == "shift":
        on.append(f"random shifts of up to {config.get('shift_pixels', 2)} px")
    if dropout:
        on.append("dropout (p=" + ", ".join(f"{p:g}" for p in dropout) + ")")
    if config.get("average") == "ema":
        on.append("validation scored on the moving average of the weights (EMA)")
    text = (f"Validation accuracy is above the training accuracy drawn at {len(above)} of "
            f"{len(rows)} epochs (epoch {last.get('epoch')}: {last['val_acc']:.1%} vs "
            f"{last['train_acc']:.1%}) because they are measured differently: the training "
            "figure is the running mean over each epoch, in training mode, while the weights "
            "still change; the validation figure is taken after the epoch in eval mode")
    text += ("; on during training: " + "; ".join(on)) if on else ""
    if train_eval is not None:
        text += (f". Measured: evaluated like the validation images, the model the other "
                 f"figures show scores {train_eval[0]:.1%} on the {train_eval[1]:,} training "
                 "images")
    return text + "."


def training_end_text(end, kept: dict | None = None, *, refit_epochs: int = 0) -> str:
    """What the learning curves say about how training ended.

    Read from :func:`~vizkit.analysis.errors.training_end`: whether the best-validation epoch
    is the last one run and the validation figures were still improving there (slopes of the
    last epochs), or where they peaked, and whose weights were kept.

    Parameters
    ----------
    end : TrainingEnd
        The run's ending, from :func:`vizkit.analysis.errors.training_end`.
    kept : dict, optional
        The best epoch's record (its ``val_loss`` and ``val_acc`` are quoted).
    refit_epochs : int, default=0
        The model shown was retrained from scratch for this many epochs (then the kept weights
        are not this run's, which the learning-curves caption says on its own).

    Returns
    -------
    str
        One or two sentences, ending with a full stop.

    Examples
    --------
    >>> from vizkit.analysis.errors import training_end
    >>> h = [{"epoch": e, "val_acc": a} for e, a in enumerate([0.6, 0.8, 0.9], 1)]
    >>> training_end_text(training_end(h)).split(":")[0]
    'Validation accuracy was still rising at the last of the 3 epochs'
    >>> h = [{"epoch": e, "val_acc": a} for e, a in enumerate([0.6, 0.9, 0.8], 1)]
    >>> training_end_text(training_end(h))
    'The star and dotted line mark epoch 2 of 3, the best-validation epoch, whose weights were kept.'
    """
    kept = kept or {}
    val = ", ".join(([f"validation loss {kept['val_loss']:.3g}"] if kept.get("val_loss")
                     is not None else []) + ([f"validation accuracy {kept['val_acc']:.1%}"]
                                             if kept.get("val_acc") is not None else []))
    val = f" ({val})" if val else ""
    w = end.window
    span = f"epochs {w[0]} to {w[-1]}"
    slopes = []
    if np.isfinite(end.val_acc_slope):
        slopes.append(f"validation accuracy {'rose' if end.val_acc_slope > 0 else 'fell'} "
                      f"{abs(end.val_acc_slope) * 100:.2g} points per epoch")
    if np.isfinite(end.val_loss_slope):
        slopes.append(f"validation loss {'fell' if end.val_loss_slope < 0 else 'rose'} "
                      f"{abs(end.val_loss_slope):.2g} per epoch")
    slope_text = (f"over {span}, " + " and ".join(slopes) + " (least-squares slopes)"
                  if slopes else "")
    whose = "" if refit_epochs else " The kept weights are the last epoch's."
    what = "accuracy" if end.monitor == "val_acc" else "loss"
    if end.still_improving:
        move = "rising" if end.monitor == "val_acc" else "falling"
        return (f"Validation {what} was still {move} at the last of the {end.n_epochs} epochs: "
                f"more epochs might help. Epoch {end.last_epoch} (star, dotted line) is both the "
                f"last and the best-validation epoch{val}, so it marks where training stopped, "
                f"not an optimum it found: {slope_text}.{whose}")
    if end.best_is_last:
        return (f"The star and dotted line mark epoch {end.last_epoch}, the last epoch, which is "
                f"also the best-validation one{val}; "
                + (f"{slope_text}, so it is not clear that training found an optimum."
                   if slope_text else "too few epochs to tell whether it was still improving.")
                + whose)
    gl = (f" At the last epoch the validation loss is {end.generalization_loss:.3g}% above its "
          f"lowest (Prechelt's generalization loss)." if np.isfinite(end.generalization_loss)
          and end.generalization_loss > 0 else "")
    kept_text = "" if refit_epochs else ", whose weights were kept"
    return (f"The star and dotted line mark epoch {end.best_epoch} of {end.n_epochs}, the "
            f"best-validation epoch{kept_text}{val}.{gl}")


def _curves_figure(history, refit_epochs: int = 0, *, train_eval=None, config=None,
                   dropout=()) -> Figure:
    """The learning curves with the kept epoch and its validation figures in the caption, and
    whether the best-validation epoch is merely the last one while validation still improved
    (:func:`training_end_text`); with ``refit_epochs`` (``metrics['refit_epochs']``) the caption
    says the kept model is a refit."""
    import matplotlib.pyplot as plt

    from ..analysis.errors import training_end

    epochs, best = history_table(history)
    monitor = (config or {}).get("monitor") or "val_acc"
    try:
        end = training_end(history, monitor=monitor)
    except ValueError:  # no validation figures: nothing to say about how training ended
        end = None
    label = None
    if end is not None and end.still_improving:
        label = f"last epoch ({end.last_epoch}), still improving"
    elif end is not None and end.best_is_last:
        label = f"last epoch ({end.last_epoch}), best so far"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_learning_curves(history, axes=axes, best_label=label)
    axes[0].set_title("loss per epoch", fontsize=13)
    axes[1].set_title("accuracy per epoch" + ("\nvalidation still improving at the last epoch"
                                              if end is not None and end.still_improving
                                              else ""), fontsize=13)
    for ax in axes:
        ax.tick_params(labelsize=12)
        ax.xaxis.label.set_size(12)
        ax.yaxis.label.set_size(12)
        if ax.get_legend() is not None:
            for t in ax.get_legend().get_texts():
                t.set_fontsize(12)
    kept = [e for i, e in enumerate(epochs) if e.get("epoch", i + 1) == best]
    if end is not None and end.still_improving:
        caption = training_end_text(end, kept[0] if kept else None, refit_epochs=refit_epochs)
        caption += (f" Training (solid) and validation (dashed) loss and accuracy over "
                    f"{len(epochs)} epochs")
    else:
        caption = f"Training and validation loss and accuracy over {len(epochs)} epochs"
        if end is not None and kept:
            caption += ". " + training_end_text(end, kept[0], refit_epochs=refit_epochs)
    caption = caption.rstrip(". ") + ". " + train_val_note(history, train_eval=train_eval,
                                                           config=config, dropout=dropout)
    caption = caption.rstrip(". ")
    if refit_epochs:
        caption += (f". The model the other figures show is not this run's: it was retrained "
                    f"from scratch on the training and validation images for {refit_epochs} "
                    f"epochs and its last weights kept (so it has no validation curve)")
    data = history_arrays(history)
    data["refit_epochs"] = np.array(refit_epochs)
    if end is not None:
        data.update(still_improving=np.asarray(end.still_improving),
                    best_is_last=np.asarray(end.best_is_last),
                    slope_epochs=np.asarray(end.window),
                    val_acc_slope=np.asarray(end.val_acc_slope),
                    val_loss_slope=np.asarray(end.val_loss_slope),
                    generalization_loss=np.asarray(end.generalization_loss))
    if train_eval is not None:
        data["train_acc_eval_mode"] = np.asarray(train_eval[0])
    return Figure(id="learning_curves", fig=fig, caption=caption + ".", data=data)


def _examples_data(ex) -> dict[str, np.ndarray]:
    """The arrays of an :class:`~vizkit.analysis.errors.Examples` drawn by
    :func:`~vizkit.plot.errors.plot_examples`."""
    return {"indices": np.asarray(ex.indices), "inputs": ex.inputs.detach().cpu().numpy(),
            "y": np.asarray(ex.y), "pred": np.asarray(ex.pred), "probs": np.asarray(ex.probs),
            "loss": np.asarray(ex.loss)}
