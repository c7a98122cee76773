"""Which layer of a model is which: structural tests, one home per heuristic (private).

Every analysis that picks a layer of a model asks here, and reads the model's *structure*
(module types, shapes, the order of ``named_modules()``), never its vizkit class, so a user's own
``nn.Module`` is read the same way as a vizkit model:

* :func:`last_conv_layer` -- the last ``nn.Conv2d`` before the model's head, or its rectified
  output (Grad-CAM's layer, the receptive fields' deepest conv layer);
* :func:`hidden_layer` -- the hidden layer whose units activation maximization shows;
* :func:`mlp_stack` -- the ordered layers of a multilayer perceptron, or an error saying which
  layer makes the model something else;
* :func:`is_rbf_layer` -- a radial-basis-function layer (``centers`` ``[K, D]``, ``sigma``
  ``[K]``), whatever its class; :func:`is_input_norm` -- the model's input ``Normalize``.

Each returns ``None`` (or raises :class:`NotMLP`) when the structure is absent; the caller turns
that into its own error, in words a user can act on.

Examples
--------
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
...                     nn.Linear(2, 3))
>>> last_conv_layer(net), last_conv_layer(net, rectified=True), hidden_layer(net)
('0', '2', ('1', 2))
>>> last_conv_layer(nn.Linear(2, 2)) is None
True
"""

from __future__ import annotations

from torch import nn

__all__ = ["ACTIVATIONS", "ELEMENTWISE", "RECTIFIERS", "NotMLP", "is_input_norm", "is_rbf_layer",
           "last_conv_layer", "hidden_layer", "mlp_stack"]

#: Element-wise activations: they change no shape and mix no units.
ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.ELU, nn.LeakyReLU, nn.Softplus,
               nn.SiLU, nn.Hardtanh, nn.ReLU6, nn.PReLU)
#: The activations whose output is a hidden representation worth embedding.
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid)
#: The rectifying activations whose output Grad-CAM reads (Selvaraju et al., 2017).
RECTIFIERS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU)


class NotMLP(ValueError):
    """The model is not a multilayer perceptron (the message names the layer that says so)."""


def is_input_norm(module: nn.Module) -> bool:
    """True for an input normalization module (vizkit's ``Normalize``, or one named so)."""
    return type(module).__name__ == "Normalize"


def is_rbf_layer(module: nn.Module) -> bool:
    """True for a radial-basis-function layer: a 2D ``centers`` ``[K, D]`` and a ``sigma`` of
    ``K`` widths (vizkit's :class:`~vizkit.models.RBFLayer` or any layer built the same way).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> class MyRBF(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.centers = nn.Parameter(torch.zeros(5, 2))
    ...         self.sigma = nn.Parameter(torch.ones(5))
    >>> is_rbf_layer(MyRBF()), is_rbf_layer(nn.Linear(2, 5))
    (True, False)
    """
    centers, sigma = getattr(module, "centers", None), getattr(module, "sigma", None)
    return (isinstance(centers, nn.Parameter) and centers.dim() == 2
            and isinstance(sigma, nn.Parameter) and sigma.dim() == 1
            and sigma.shape[0] == centers.shape[0])


def last_conv_layer(model: nn.Module, *, rectified: bool = False) -> str | None:
    """The dotted name of the last ``nn.Conv2d`` before the model's head, or ``None``.

    The head starts at the first ``nn.Flatten`` or ``nn.Linear`` that follows a conv layer (in
    ``named_modules()`` order): the conv layers after it, if any, are not the feature extractor.

    Parameters
    ----------
    model : nn.Module
    rectified : bool, default=False
        Return instead the first rectifying activation (ReLU, LeakyReLU, ELU, GELU) that follows
        the last conv (after its BatchNorm, say) when there is one before any other conv, linear
        or flatten layer: the rectified feature maps Selvaraju et al. (2017) use for Grad-CAM.
        Through a BatchNorm the conv's own output carries a per-channel offset that shows up as
        background.

    Returns
    -------
    str or None
        ``None`` when the model has no ``nn.Conv2d``.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8),
    ...                     nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
    >>> last_conv_layer(net), last_conv_layer(net, rectified=True)  # conv2, its ReLU after BN
    ('2', '4')
    >>> last_conv_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))) is None
    True
    """
    named = list(model.named_modules())
    last = None
    for i, (_, m) in enumerate(named):
        if isinstance(m, (nn.Flatten, nn.Linear)) and last is not None:
            break
        if isinstance(m, nn.Conv2d):
            last = i
    if last is None:
        return None
    if rectified:
        for name, m in named[last + 1:]:
            if isinstance(m, RECTIFIERS):
                return name
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.Flatten)):
                break
    return named[last][0]


def hidden_layer(model: nn.Module) -> tuple[str, int] | None:
    """The hidden layer whose units a figure shows: ``(name, n_units)``.

    The last conv layer before the head (:func:`last_conv_layer`; read after its batch norm
    when a ``BatchNorm2d`` follows it directly: a bias-free conv feeding a batch norm is read
    after the norm), else the first of at least two ``nn.Linear`` layers; ``None`` for a model
    with neither.

    Parameters
    ----------
    model : nn.Module
        Any model; only its structure (module types and order) is read.

    Returns
    -------
    tuple of (str, int) or None
        The layer's dotted name and its number of units (channels of a conv layer or its batch
        norm, outputs of a linear layer); ``None`` when the model has no conv layer and fewer
        than two linear layers.

    Examples
    --------
    >>> from torch import nn
    >>> hidden_layer(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)))
    ('0', 16)
    >>> hidden_layer(nn.Sequential(nn.Conv2d(1, 6, 3, bias=False), nn.BatchNorm2d(6), nn.ReLU()))
    ('1', 6)
    >>> hidden_layer(nn.Linear(2, 3)) is None  # logistic regression: no hidden layer
    True
    """
    conv = last_conv_layer(model)
    if conv is not None:
        leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
        k = [n for n, _ in leaves].index(conv)
        if k + 1 < len(leaves) and isinstance(leaves[k + 1][1], nn.BatchNorm2d):
            return leaves[k + 1][0], leaves[k + 1][1].num_features
        return conv, dict(leaves)[conv].out_channels
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if len(linears) >= 2:
        return linears[0][0], linears[0][1].out_features
    return None


def mlp_stack(model: nn.Module) -> tuple[str, list[tuple[str, nn.Module]]]:
    """The prefix and the ordered ``(name, module)`` layers of a multilayer perceptron.

    An MLP is a model whose ``layers`` attribute is an ``nn.Sequential`` (vizkit's ``PTDeep``,
    a user's class built the same way) or an ``nn.Sequential`` itself, holding ``nn.Linear``,
    ``nn.BatchNorm1d``, ``nn.Dropout``, ``nn.Identity`` and element-wise activations, after an
    optional ``nn.Flatten`` / input ``Normalize`` (which are left out of the list).

    Raises
    ------
    NotMLP
        The model has no such ``nn.Sequential``, or a layer of another kind (named).
    """
    if isinstance(getattr(model, "layers", None), nn.Sequential):
        seq, prefix = model.layers, "layers."
    elif isinstance(model, nn.Sequential):
        seq, prefix = model, ""
    else:
        raise NotMLP(f"{type(model).__name__} is not an MLP (an nn.Sequential of Linear layers "
                     "and activations, or a model whose `layers` is one)")
    items = []
    for name, m in seq.named_children():
        if isinstance(m, nn.Flatten) or is_input_norm(m):
            if any(isinstance(mm, nn.Linear) for _, mm in items):
                raise NotMLP(f"unexpected {type(m).__name__} after the first Linear layer")
            continue
        if not isinstance(m, (nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Identity) + ELEMENTWISE):
            raise NotMLP(f"layer {prefix}{name} ({type(m).__name__}) is not an MLP layer")
        items.append((prefix + name, m))
    return prefix, items
