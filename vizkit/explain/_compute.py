"""Everything vizkit can say about single predictions, computed once: :func:`explain`."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Explanation", "explain", "select_inputs", "check_indices",
           "attribution_options", "unit_contributions", "penultimate_layer",
           "DEFAULT_METHODS"]

#: Attribution methods shown for every input (Grad-CAM only for models with a conv layer).
DEFAULT_METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "occlusion", "grad_cam")


@dataclass
class Explanation:
    """What :func:`explain` computed for a set of test inputs (arrays, no drawing).

    Attributes
    ----------
    indices : ndarray of shape (N,)
        Positions of the explained inputs in the test set.
    images : ndarray of shape (N, C, H, W)
    labels, predictions : ndarray of shape (N,)
    probabilities : ndarray of shape (N, n_classes)
        Softmax of the model's logits.
    classes : tuple of str
    methods : list of str
        The attribution methods, in the page's order.
    maps : dict of str to ndarray of shape (N, C, H, W)
        Attributions of the predicted class (:func:`vizkit.analysis.attributions`).
    signed : dict of str to bool
    faithfulness : dict of str to FaithfulnessCurves
        Deletion and insertion curves of each method's maps (target: the predicted class); the
        first method's also holds the random-order baseline.
    ink : FaithfulnessCurves or None
        The ink control's curves: the brightest pixels first, ties in a seeded random order
        (:func:`vizkit.analysis.faithfulness.ink_curves`). A map that does no better says where
        the ink is, not what the model uses.
    layer : str
        The hidden layer whose units are shown (the penultimate: the last hidden activation).
    unit_ids : ndarray of shape (N, n_top)
        The units of ``layer`` that contributed most to each prediction (activation x gradient of
        the predicted logit), largest first.
    unit_scores : ndarray of shape (N, n_top)
    units : ndarray of shape (U,)
        Every unit shown for some input, sorted; the rows of the arrays below.
    unit_images : ndarray of shape (U, C, H, W)
        Activation maximization of each unit (computed once, shared between inputs).
    exemplars : ndarray of shape (U, n_exemplars)
        Test indices of the images that excite each unit most.
    exemplar_images : ndarray of shape (U, n_exemplars, C, H, W)
    exemplar_labels : ndarray of shape (U, n_exemplars)
    neighbors : ndarray of shape (N, n_neighbors)
        Training indices of the nearest training images in ``layer``'s activations (Euclidean).
    neighbor_distances : ndarray of shape (N, n_neighbors)
    neighbor_images : ndarray of shape (N, n_neighbors, C, H, W)
    neighbor_labels : ndarray of shape (N, n_neighbors)
    fields : ndarray of shape (n_classes, H, W) or None
        For an MLP, the propagated receptive field of each output unit (weights only); ``None``
        for other models.
    captions : list of str
        One caption per input, computed from the arrays above.
    settings : dict
        The options used, the model's test accuracy and ``seconds``: wall-clock seconds per
        stage (predictions, attributions, faithfulness, units, neighbors, fields).
    """

    indices: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray
    classes: tuple
    methods: list
    maps: dict
    signed: dict
    faithfulness: dict
    layer: str
    unit_ids: np.ndarray
    unit_scores: np.ndarray
    units: np.ndarray
    unit_images: np.ndarray
    exemplars: np.ndarray
    exemplar_images: np.ndarray
    exemplar_labels: np.ndarray
    neighbors: np.ndarray
    neighbor_distances: np.ndarray
    neighbor_images: np.ndarray
    neighbor_labels: np.ndarray
    fields: np.ndarray | None
    captions: list
    ink: object = None
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(len(self.indices))

    def most_faithful(self) -> list[str]:
        """Per input, the method whose map has the lowest deletion AUC."""
        aucs = np.stack([self.faithfulness[m].deletion_auc for m in self.methods])
        return [self.methods[k] for k in aucs.argmin(0)]


def select_inputs(labels, predictions, *, n_images: int = 100, seed: int = 0) -> np.ndarray:
    """The test inputs to explain by default: every misclassified one plus a stratified sample
    of the correct ones, ``n_images`` in all (sorted indices).

    When there are more errors than ``3/4 * n_images``, a seeded sample of that many errors is
    kept, so that correct predictions stay on the page. The correct ones are drawn class by
    class in turn (a seeded order within each class).

    Parameters
    ----------
    labels, predictions : array_like of int
        The true and the predicted class of each test input.
    n_images : int, default 100
        How many inputs to pick (fewer when the test set is smaller).
    seed : int, default 0
        Seeds the sample of errors and the order of the correct ones.

    Returns
    -------
    numpy.ndarray
        Sorted int64 test-set positions.

    Raises
    ------
    ValueError
        ``n_images`` is not an int >= 1.

    Examples
    --------
    >>> select_inputs([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], n_images=3).tolist()
    [0, 1, 2]
    >>> select_inputs([0, 1], [0, 1], n_images=0)
    Traceback (most recent call last):
    ...
    ValueError: `n_images` must be an int >= 1. Got 0 instead.
    """
    y, p = np.asarray(labels), np.asarray(predictions)
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) or n_images < 1:
        raise ValueError(f"`n_images` must be an int >= 1. Got {n_images!r} instead.")
    rng = np.random.default_rng(int(seed))
    wrong = np.flatnonzero(y != p)
    cap = max(1, (3 * int(n_images)) // 4) if len(wrong) < len(y) else int(n_images)
    if len(wrong) > cap:
        wrong = np.sort(rng.choice(wrong, cap, replace=False))
    pools = [rng.permutation(np.flatnonzero((y == c) & (y == p))) for c in np.unique(y)]
    right: list[int] = []
    want = min(int(n_images) - len(wrong), sum(map(len, pools)))
    k = 0
    while len(right) < want:
        right += [int(pool[k]) for pool in pools if k < len(pool)][: want - len(right)]
        k += 1
    return np.sort(np.concatenate([wrong, np.asarray(right, dtype=np.int64)])).astype(np.int64)


def penultimate_layer(model: nn.Module) -> str:
    """The last hidden activation of ``model`` (the input of its output layer), by
    :func:`vizkit.analysis.embedding_layers`; a ValueError for a model without one.

    Parameters
    ----------
    model : nn.Module
        The classifier.

    Returns
    -------
    str
        The layer's dotted name.

    Raises
    ------
    ValueError
        The model has no hidden activation layer (logistic regression, say).

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> penultimate_layer(PTDeep([4, 8, 6, 3]))  # the ReLU after the second Linear
    'layers.3'
    >>> penultimate_layer(PTDeep([4, 3]))
    Traceback (most recent call last):
    ...
    ValueError: PTDeep has no hidden layer to explain with; ...
    """
    from ..analysis import embedding_layers

    layers = embedding_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no hidden layer to explain with; explain "
                         "an MLP or a CNN (logistic regression has only its weights).")
    return layers[-1][0]


def unit_contributions(model: nn.Module, x: torch.Tensor, layer: str, target) -> np.ndarray:
    """Activation x gradient of the ``target`` logit for every unit of ``layer``, ``(N, units)``
    (Captum's ``LayerGradientXActivation``).

    The model is run in eval mode with its parameters frozen; both are restored afterwards.

    Parameters
    ----------
    model : nn.Module
        The classifier.
    x : torch.Tensor
        ``[N, ...]`` inputs.
    layer : str
        The dotted name of the layer whose output units are scored.
    target : int or sequence of int
        The class whose logit is explained: one for all inputs, or one per input.

    Returns
    -------
    numpy.ndarray
        ``(N, units)`` float64 contributions (a conv layer's output is flattened).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = model[0].weight.copy_(torch.eye(2)), model[0].bias.zero_()
    ...     _ = model[2].weight.copy_(torch.tensor([[3.0, -1.0], [0.0, 1.0]]))
    >>> unit_contributions(model, torch.tensor([[2.0, 5.0]]), "1", 0)  # (2 x 3, 5 x -1)
    array([[ 6., -5.]])
    """
    from captum.attr import LayerGradientXActivation

    from .._torch import frozen_eval, resolve_layer

    module = resolve_layer(model, layer)
    with frozen_eval(model), torch.enable_grad():
        a = LayerGradientXActivation(model, module).attribute(x, target=torch.as_tensor(target))
    return a.detach().reshape(len(x), -1).double().cpu().numpy()


def explain(model: nn.Module, split, *, indices: Sequence[int] | None = None,
            n_images: int = 100, methods: Sequence[str] | None = None, n_units: int = 3,
            n_exemplars: int = 4, n_neighbors: int = 5, n_steps: int = 16,
            actmax_steps: int = 64, seed: int = 0) -> Explanation:
    """Explain the model's predictions on test inputs, with every view vizkit has.

    For each input: the class probabilities; attribution maps of the predicted class by several
    methods, each with its deletion and insertion curves (which map is faithful here); the units
    of the penultimate layer that contributed most to the prediction (activation x gradient),
    each with its activation-maximization image and its top natural exemplars; the nearest
    training images in that layer's activations; for an MLP, the propagated receptive fields of
    the output units; and a caption computed from all of it.

    Parameters
    ----------
    model : nn.Module
        A vizkit MLP or CNN (any classifier of images with a hidden activation layer).
    split : vizkit.data.Split
    indices : sequence of int, optional
        Test inputs to explain; default :func:`select_inputs` (errors + stratified correct ones).
    n_images : int, default=100
        How many inputs :func:`select_inputs` picks (ignored with ``indices``).
    methods : sequence of str, optional
        Attribution methods; default :data:`DEFAULT_METHODS` (Grad-CAM only with a conv layer).
    n_units, n_exemplars, n_neighbors : int, default=3, 4, 5
        Units shown per input, natural exemplars per unit, nearest training images per input.
    n_steps : int, default=16
        Steps of the deletion and insertion curves.
    actmax_steps : int, default=64
        Optimization steps of each unit's activation maximization.
    seed : int, default=0
        Seeds the selection, the random-order baselines and activation maximization.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        An index outside the test set (the valid range is named), a model without a hidden
        layer, an unknown method.

    Examples
    --------
    Small settings, to run in a moment (the defaults are for MNIST):

    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(24, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(24) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> model = PTDeep([16, 6, 2])  # untrained: the views work the same
    >>> expl = explain(model, split, indices=[0, 1], methods=["saliency"], n_units=2,
    ...                n_exemplars=2, n_neighbors=2, n_steps=2, actmax_steps=2)
    >>> len(expl), expl.layer, expl.methods, expl.unit_ids.shape
    (2, 'layers.1', ['saliency'], (2, 2))
    >>> expl.captions[0]
    'predicted ... with p 0...; the second choice ... The most faithful map here is saliency ...'
    """
    from sklearn.neighbors import NearestNeighbors

    from .. import analysis as an
    from ..analysis.faithfulness import ink_curves
    from .._torch import frozen_eval

    clock = _Clock()
    x_test, y_test = split.x_test, split.y_test.long()
    n_test = len(y_test)
    layer = penultimate_layer(model)
    with frozen_eval(model), torch.no_grad():
        logits = torch.cat([model(x_test[i:i + 512]) for i in range(0, n_test, 512)])
    preds_all = logits.argmax(1)
    if indices is None:
        idx = select_inputs(y_test.numpy(), preds_all.numpy(), n_images=n_images, seed=seed)
    else:
        idx = check_indices(indices, n_test)
    x, y = x_test[idx], y_test[idx]
    probs = torch.softmax(logits[idx].double(), 1).numpy()
    pred = preds_all[idx]
    clock("predictions")

    if methods is None:
        methods = [m for m in DEFAULT_METHODS
                   if m != "grad_cam" or an.attribution_layer(model) is not None]
    methods = list(methods)
    attr_kw = attribution_options(tuple(x.shape[1:]))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        attrs = an.attributions(model, x, target=pred, methods=methods, seed=seed,
                                **attr_kw)
    maps = {m: attrs[m].maps.double().numpy() for m in methods}
    clock("attributions")
    faith = {m: an.faithfulness_curves(model, x, maps[m], target=pred, n_steps=n_steps,
                                       n_random=2 if k == 0 else 0, seed=seed)
             for k, m in enumerate(methods)}
    ink = ink_curves(model, x, target=pred, n_steps=n_steps, seed=seed)
    clock("faithfulness")

    contrib = unit_contributions(model, x, layer, pred)
    n_top = min(int(n_units), contrib.shape[1])
    unit_ids = np.argsort(-contrib, axis=1, kind="stable")[:, :n_top]
    unit_scores = np.take_along_axis(contrib, unit_ids, 1)
    units = np.unique(unit_ids)

    acts_test = an.layer_activations(model, x_test, layer).numpy()
    acts_train = an.layer_activations(model, split.x_train, layer).numpy()
    exemplars = np.argsort(-acts_test[:, units], axis=0, kind="stable")[:n_exemplars].T
    result = an.activation_maximization(model, [f"{layer}:{int(u)}" for u in units],
                                        n_steps=actmax_steps, seed=seed,
                                        input_shape=tuple(split.input_shape))
    clock("units")
    k_nn = min(int(n_neighbors), len(acts_train))
    nn_index = NearestNeighbors(n_neighbors=k_nn).fit(acts_train)
    dist, neigh = nn_index.kneighbors(acts_test[idx])
    y_train = split.y_train.long().numpy()
    clock("neighbors")

    fields = None
    if an.mlp_field_layers(model) and an.attribution_layer(model) is None:
        fields = an.propagated_receptive_fields(
            model, -1, units=list(range(probs.shape[1])),
            image_shape=tuple(split.input_shape)).fields
    clock("fields")

    expl = Explanation(
        indices=idx, images=x.double().numpy(), labels=y.numpy(), predictions=pred.numpy(),
        probabilities=probs, classes=tuple(str(c) for c in split.classes), methods=methods,
        maps=maps, signed={m: bool(attrs[m].signed) for m in methods}, faithfulness=faith, ink=ink,
        layer=layer, unit_ids=unit_ids, unit_scores=unit_scores, units=units,
        unit_images=result.images.detach().double().numpy(), exemplars=exemplars,
        exemplar_images=x_test[exemplars].double().numpy(),
        exemplar_labels=y_test.numpy()[exemplars], neighbors=neigh, neighbor_distances=dist,
        neighbor_images=split.x_train[neigh].double().numpy(), neighbor_labels=y_train[neigh],
        fields=fields, captions=[],
        settings=dict(n_steps=int(n_steps), attributions=attr_kw, actmax_steps=int(actmax_steps), seed=int(seed),
                      data=str(split.name), model=type(model).__name__, n_test=int(n_test),
                      test_accuracy=float((preds_all == y_test).double().mean()),
                      seconds=clock.seconds))
    expl.captions = [caption(expl, i) for i in range(len(idx))]
    return expl


def attribution_options(input_shape) -> dict:
    """The attribution settings of the page (the same for every input): 16 integration steps;
    for images, occlusion windows of a seventh of the side, not overlapping (49 windows on
    28x28, a quarter of Captum's half-overlapping default).

    Parameters
    ----------
    input_shape : tuple of int
        The shape of one input: ``(C, H, W)`` for images.

    Returns
    -------
    dict
        Keyword arguments for :func:`vizkit.analysis.attributions`: ``n_steps``, and for
        images ``window`` and ``stride``.

    Examples
    --------
    >>> attribution_options((1, 28, 28))
    {'n_steps': 16, 'window': (1, 4, 4), 'stride': (1, 4, 4)}
    >>> attribution_options((2,))
    {'n_steps': 16}
    """
    opts = {"n_steps": 16}
    if len(input_shape) == 3:
        c, h, w = (int(v) for v in input_shape)
        window = (c, -(-h // 7), -(-w // 7))
        opts.update(window=window, stride=window)
    return opts


class _Clock:
    """Wall-clock seconds per stage: ``clock('name')`` closes the stage that just ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def __call__(self, name: str) -> None:
        t = time.perf_counter()
        self.seconds[name] = round(t - self._t, 2)
        self._t = t


def check_indices(indices, n_test: int, *, name: str = "`indices`") -> np.ndarray:
    """``indices`` as int64 positions of the test set, or a ValueError naming the valid range
    (``name`` is how the message calls them, e.g. ``'--index'``).

    Parameters
    ----------
    indices : iterable of int
        Test-set positions (anything ``int`` takes).
    n_test : int
        The test set's size.
    name : str, default "`indices`"
        What the error message calls them.

    Returns
    -------
    numpy.ndarray
        The positions, int64, in the order given.

    Raises
    ------
    ValueError
        Not integers, none at all, or a position outside ``0..n_test - 1``.

    Examples
    --------
    >>> check_indices(["3", 0], 10).tolist()
    [3, 0]
    >>> check_indices([3, 12], 10, name="--index")
    Traceback (most recent call last):
    ...
    ValueError: --index must be in 0..9 (the test set has 10 images). Got 12 instead.
    """
    try:
        idx = np.asarray([int(i) for i in indices], dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be test-set positions in 0..{n_test - 1}. Got "
                         f"{indices!r} instead.") from None
    if len(idx) == 0:
        raise ValueError(f"{name} must list at least one test-set position in 0..{n_test - 1}.")
    bad = idx[(idx < 0) | (idx >= n_test)]
    if len(bad):
        raise ValueError(f"{name} must be in 0..{n_test - 1} (the test set has {n_test} "
                         f"images). Got {', '.join(map(str, bad[:5].tolist()))} instead.")
    return idx


_NAMES = {"saliency": "saliency", "input_x_gradient": "input x gradient",
          "integrated_gradients": "integrated gradients", "occlusion": "occlusion",
          "grad_cam": "Grad-CAM", "smoothgrad": "SmoothGrad", "guided_backprop": "guided backprop",
          "deeplift": "DeepLIFT"}


def method_label(method: str) -> str:
    """A method's name in words ('integrated gradients').

    Parameters
    ----------
    method : str
        An attribution method's id (:func:`vizkit.analysis.attributions`).

    Returns
    -------
    str
        Its name as the page writes it; an unknown id with ``_`` made spaces.

    Examples
    --------
    >>> method_label("grad_cam"), method_label("integrated_gradients"), method_label("my_method")
    ('Grad-CAM', 'integrated gradients', 'my method')
    """
    return _NAMES.get(method, method.replace("_", " "))


def caption(expl: Explanation, i: int) -> str:
    """The caption of input ``i``, computed from the explanation's arrays."""
    names = expl.classes
    p = expl.probabilities[i]
    first, second = np.argsort(-p, kind="stable")[:2]
    y = int(expl.labels[i])
    verdict = "correct" if first == y else f"wrong: the true class is {names[y]} (p {p[y]:.2f})"
    aucs = {m: float(expl.faithfulness[m].deletion_auc[i]) for m in expl.methods}
    best = min(aucs, key=aucs.get)
    rand = float(expl.faithfulness[expl.methods[0]].random_deletion_auc[i])
    ink = None if expl.ink is None else float(expl.ink.deletion_auc[i])
    if ink is None:
        faith = f"(deletion AUC {aucs[best]:.3f}; a random order gives {rand:.3f})"
    elif aucs[best] < ink:
        faith = (f"(deletion AUC {aucs[best]:.3f}; deleting the brightest pixels first gives "
                 f"{ink:.3f}, a random order {rand:.3f})")
    else:
        faith = (f"(deletion AUC {aucs[best]:.3f}), yet no better than deleting the brightest "
                 f"pixels first ({ink:.3f}; a random order gives {rand:.3f})")
    labels = expl.neighbor_labels[i]
    counts = np.bincount(labels, minlength=len(names))
    common = [f"{names[c]} ({counts[c]})" for c in np.argsort(-counts, kind="stable")
              if counts[c]]
    u, s = int(expl.unit_ids[i, 0]), float(expl.unit_scores[i, 0])
    return (f"predicted {names[first]} with p {p[first]:.2f}; the second choice {names[second]} "
            f"at {p[second]:.2f}; {verdict}. The most faithful map here is "
            f"{method_label(best)} {faith}. Unit {u} of {expl.layer} contributes most to {names[first]} "
            f"(activation x gradient {s:+.2f}). The {len(labels)} nearest training images are "
            f"labelled {', '.join(common)}.")
