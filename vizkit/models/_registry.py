"""Model registry: plain-dict specs <-> torch modules, so a checkpoint rebuilds its own model."""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ._base import Normalize
from ._torch_models import ConvNet, PTDeep, PTLogreg, RBFLayer, RBFNet

__all__ = ["build", "default_spec", "build_default", "list_models", "get_model", "count_params",
           "spec_of", "MNIST_NORMALIZE"]

#: Mean and standard deviation of MNIST's training pixels (in [0, 1]).
MNIST_NORMALIZE = (0.1307, 0.3081)


def _n_features(input_shape: Sequence[int]) -> int:
    n = 1
    for s in input_shape:
        n *= int(s)
    return n


def _image_args(name: str, input_shape: Sequence[int]) -> dict:
    if len(input_shape) != 3 or input_shape[1] != input_shape[2]:
        raise ValueError(f"model {name!r} needs square image inputs [C, H, W]. Got input shape "
                         f"{tuple(input_shape)} instead; use 'logreg', 'mlp' or 'deep' for "
                         "vector data.")
    return {"in_channels": int(input_shape[0]), "image_size": int(input_shape[1])}


def _logreg(input_shape, n_classes, **kw):
    return {"D": _n_features(input_shape), "C": n_classes, **kw}


def _mlp(input_shape, n_classes, **kw):
    hidden = kw.pop("hidden", (300,))
    return {"config": [_n_features(input_shape), *hidden, n_classes], "activation": "relu", **kw}


def _deep(input_shape, n_classes, **kw):
    hidden = kw.pop("hidden", (360, 187))
    args = {"config": [_n_features(input_shape), *hidden, n_classes], "activation": "relu",
            "batchnorm": True, "dropout": 0.5}
    args.update(kw)
    return args


def _cnn(input_shape, n_classes, **kw):
    # the default: three VGG blocks (issue 15: 0.989 on mnist-5k's test split, 0.987 with seed 1,
    # vs 0.985 for ConvNet's own (32, 64) layout); an explicit `channels` keeps ConvNet's one-conv
    # blocks and dropout, and so do images under 8 pixels (too small for three pools)
    image = _image_args("cnn", input_shape)
    if "channels" not in kw and image["image_size"] >= 8:
        kw = {"channels": [16, 32, 64], "block_convs": 2, "dropout": 0.5, **kw}
    return {**image, "n_classes": n_classes, **kw}


def _rbf(input_shape, n_classes, **kw):
    return {**_image_args("rbf", input_shape), "n_classes": n_classes, "channels": [16, 32],
            "bottleneck": 2, "n_centers": 100, "hidden": 128, **kw}


# name -> (class, default-argument maker, one-line description)
_MODELS: dict[str, tuple[type[nn.Module], Callable[..., dict], str]] = {
    "logreg": (PTLogreg, _logreg, "multinomial logistic regression, PTLogreg(D, C)"),
    "mlp": (PTDeep, _mlp, "PTDeep [D, 300, C], ReLU (seed 001's 784-300-10)"),
    "deep": (PTDeep, _deep, "PTDeep [D, 360, 187, C] with batch norm and dropout (seed 004)"),
    "cnn": (ConvNet, _cnn, "ConvNet: three blocks of two conv-BN-ReLU and a pool (16, 32, 64 "
                           "channels), an MLP head"),
    "rbf": (RBFNet, _rbf, "RBFNet: conv -> FC 128 -> FC to 2 -> RBF (K = 100) -> FC (seed 000)"),
}

#: Every class :func:`build` can rebuild (each records its constructor arguments).
_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (PTLogreg, PTDeep, ConvNet, RBFLayer, RBFNet, Normalize)}


def list_models() -> list[str]:
    """Names accepted by :func:`default_spec`, ``vizkit train --model``.

    Returns
    -------
    list of str
        The registered model names, in the registry's order.

    Examples
    --------
    >>> list_models()
    ['logreg', 'mlp', 'deep', 'cnn', 'rbf']
    """
    return list(_MODELS)


def get_model(name: str) -> tuple[type[nn.Module], str]:
    """The class and a one-line description of a registered model name.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.

    Returns
    -------
    tuple of (type, str)
        ``(class, description)``.

    Raises
    ------
    ValueError
        ``name`` is not registered (the message lists the names).

    Examples
    --------
    >>> get_model("cnn")[0].__name__
    'ConvNet'
    """
    if name not in _MODELS:
        raise ValueError(f"`model` must be one of {', '.join(map(repr, _MODELS))}. Got {name!r} "
                         "instead (see vizkit.models.list_models()).")
    cls, _, desc = _MODELS[name]
    return cls, desc


def default_spec(name: str, input_shape: Sequence[int], n_classes: int, *,
                 normalize: Sequence[float] | None = None, **overrides: Any) -> dict:
    """The spec of model ``name`` with good defaults for inputs of ``input_shape``.

    Parameters
    ----------
    name : {'logreg', 'mlp', 'deep', 'cnn', 'rbf'}
    input_shape : tuple of int
        Shape of one example, e.g. ``(1, 28, 28)`` or ``(2,)``.
    n_classes : int
    normalize : (float, float), optional
        Input (mean, std) applied inside the model. Default: MNIST's for 1x28x28 images, none else.
    **overrides
        Constructor arguments to change (``hidden=(100,)`` for 'mlp'/'deep', ``dropout=0.2``...).

    Returns
    -------
    dict
        ``{"name": ..., "class": ..., "args": {...}}``, a plain dict that :func:`build` accepts.

    Raises
    ------
    ValueError
        An unknown ``name``, or an override the model's constructor does not take.

    Examples
    --------
    >>> default_spec("mlp", (2,), 3)["args"]["config"]
    [2, 300, 3]
    """
    cls, make_args, _ = _MODELS[name] if name in _MODELS else (None, None, None)
    if cls is None:
        get_model(name)  # raises the helpful error
    input_shape = tuple(int(s) for s in input_shape)
    if normalize is None and input_shape == (1, 28, 28):
        normalize = MNIST_NORMALIZE
    try:
        args = make_args(input_shape, int(n_classes), **overrides)
    except TypeError as e:  # unexpected keyword in overrides
        raise ValueError(f"bad override for model {name!r}: {e}") from None
    if normalize is not None:
        args["normalize"] = [float(normalize[0]), float(normalize[1])]
    spec = {"name": name, "class": cls.__name__, "args": args,
            "input_shape": list(input_shape), "n_classes": int(n_classes)}
    with torch.random.fork_rng(devices=[]):  # validate now, without using the caller's RNG
        build(spec)
    return spec


def build(spec: dict) -> nn.Module:
    """Make a torch model from a plain dict spec (as :func:`default_spec` or :func:`spec_of` return).

    The spec holds only JSON-able values: a checkpoint stores it and rebuilds the model with no
    training code. Under ``with torch.device("meta"):`` the model is built without allocating
    its weights (the checkpoint loader checks sizes that way).

    Parameters
    ----------
    spec : dict
        ``{"class": <a vizkit model class name>, "args": {<constructor arguments>}}`` (other keys
        are kept on the model as ``vizkit_spec``).

    Returns
    -------
    torch.nn.Module
        The model, with fresh weights.

    Raises
    ------
    ValueError
        The spec is not such a dict, names an unknown class, or its args do not fit the class.

    Examples
    --------
    >>> build({"class": "PTDeep", "args": {"config": [2, 4, 3]}})
    PTDeep(...)
    """
    if not isinstance(spec, dict) or "class" not in spec or "args" not in spec:
        raise ValueError("a model spec must be a dict with keys 'class' and 'args' (see "
                         f"vizkit.models.default_spec). Got {_short(spec)} instead.")
    cls = _CLASSES.get(spec["class"]) if isinstance(spec["class"], str) else None
    if cls is None:
        raise ValueError(f"spec 'class' must be one of {', '.join(map(repr, _CLASSES))}. "
                         f"Got {_short(spec['class'])} instead.")
    if not isinstance(spec["args"], dict) or not all(isinstance(k, str) for k in spec["args"]):
        raise ValueError(f"spec 'args' must be a dict of {cls.__name__}'s constructor arguments. "
                         f"Got {_short(spec['args'])} instead.")
    args = copy.deepcopy(spec["args"])
    try:
        model = cls(**args)
    except (TypeError, OverflowError) as e:
        raise ValueError(f"spec args do not fit {cls.__name__}: {e}") from None
    model.vizkit_spec = copy.deepcopy(spec)  # read by vizkit.checkpoint.save
    return model


def spec_of(model: nn.Module) -> dict:
    """The spec that rebuilds ``model``'s architecture with :func:`build`.

    A model made by :func:`build` returns the spec it was built from, and so does a subclass that
    carries the spec of the vizkit class it extends (the lab's ``PTDeep``/``PTLogreg``: the
    checkpoint rebuilds the vizkit class); any other instance of a vizkit model class returns
    ``{"class": ..., "args": model.model_args}``, the arguments its constructor got.

    Parameters
    ----------
    model : torch.nn.Module
        An instance of a vizkit model class.

    Returns
    -------
    dict
        A spec for :func:`build` (a copy: changing it changes nothing of the model's).

    Raises
    ------
    ValueError
        ``model`` is not an instance of one of the classes :func:`build` knows.

    Examples
    --------
    >>> spec_of(PTDeep([2, 10, 2]))["args"]["config"]
    [2, 10, 2]
    """
    spec = getattr(model, "vizkit_spec", None)
    cls = type(model)
    if isinstance(spec, dict) and isinstance(model, _CLASSES.get(spec.get("class"), ())):
        return copy.deepcopy(spec)
    if _CLASSES.get(cls.__name__) is not cls or not hasattr(model, "model_args"):
        raise ValueError(f"{cls.__name__} is not a vizkit model class, so a checkpoint could not "
                         f"rebuild it: use one of {', '.join(_CLASSES)} (vizkit.models), or pass "
                         "spec=... for one of them.")
    return {"class": cls.__name__, "args": copy.deepcopy(model.model_args)}


def _short(value: Any, n: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def build_default(name: str, input_shape: Sequence[int], n_classes: int, **overrides: Any) -> nn.Module:
    """A model of ``name`` with good defaults: ``build(default_spec(...))``.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    input_shape : tuple of int
        Shape of one example, e.g. ``(1, 28, 28)``.
    n_classes : int
        Number of outputs.
    **overrides
        Constructor arguments to change, as for :func:`default_spec`.

    Returns
    -------
    torch.nn.Module
        The model, with fresh weights.

    Examples
    --------
    >>> build_default("logreg", (2,), 3)
    PTLogreg(...)
    """
    return build(default_spec(name, input_shape, n_classes, **overrides))


def count_params(model: nn.Module, *, verbose: bool = False, file=None) -> int:
    """Total number of parameters; with ``verbose`` print the name/shape table (seed 002).

    Parameters
    ----------
    model : torch.nn.Module
        Any module.
    verbose : bool, default=False
        Print one row per parameter tensor (name, shape, count) and the total.
    file : file-like, optional
        Where to print; default ``sys.stdout``.

    Returns
    -------
    int
        The number of parameters.

    Examples
    --------
    >>> count_params(PTDeep([2, 3]))
    9
    """
    rows = [(name, tuple(p.shape), p.numel()) for name, p in model.named_parameters()]
    total = sum(n for _, _, n in rows)
    if verbose:
        width = max([len(r[0]) for r in rows] + [4])
        print(f"{'name':<{width}}  {'shape':<16} {'count':>10}", file=file)
        for name, shape, n in rows:
            print(f"{name:<{width}}  {str(list(shape)):<16} {n:>10,}", file=file)
        print(f"{'total':<{width}}  {'':<16} {total:>10,}", file=file)
    return total
