"""``summary``: every module with its type, output shape and parameter count."""

from __future__ import annotations

import difflib
from typing import Any, NamedTuple, Sequence, Union

import torch
from torch import nn

from ._handles import release, script_modules, scripted_error, under
from ._resolve import check_model

__all__ = ["LayerRow", "summary", "format_summary", "resolve_model_ref", "example_input_shape"]

Shape = Union[tuple, list, dict, None]


class LayerRow(NamedTuple):
    """One row of :func:`summary`.

    ``name`` is the dotted name (``""`` for the model itself), ``type`` the class
    name, ``output_shape`` the shape of the first call's output (a tuple of ints, the
    same nesting as a tuple/dict output, or ``None`` if the module did not run), and
    ``n_params`` the parameters of the module and its children.

    Parameters
    ----------
    name : str
        Dotted layer name.
    type : str
        Class name.
    output_shape : tuple or None
        Shape of the first call's output.
    n_params : int
        Parameters of the module and its children.

    Examples
    --------
    >>> from torch import nn
    >>> from vizkit.hooks import summary
    >>> summary(nn.Sequential(nn.Linear(2, 3)), (1, 2))[1]
    LayerRow(name='0', type='Linear', output_shape=(1, 3), n_params=9)
    """

    name: str
    type: str
    output_shape: Shape
    n_params: int

    @property
    def depth(self) -> int:
        """0 for the model itself, 1 for its children, and so on."""
        return 0 if not self.name else self.name.count(".") + 1


def _shape_of(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return tuple(obj.shape)
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return type(obj)(*(_shape_of(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_shape_of(v) for v in obj) if type(obj) in (list, tuple) else [_shape_of(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _shape_of(v) for k, v in obj.items()}
    return None


def _example(model: nn.Module, example_input: Any) -> tuple:
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    if isinstance(example_input, torch.Tensor):
        return (example_input,)
    if isinstance(example_input, (tuple, list, torch.Size)) and example_input and all(
        isinstance(d, int) for d in example_input
    ):
        return (torch.zeros(tuple(example_input), device=device),)
    if isinstance(example_input, (tuple, list)) and example_input:
        return tuple(example_input)
    raise TypeError(
        "`example_input` must be a tensor, a shape such as (1, 3, 224, 224), or a tuple of "
        f"arguments. Got {example_input!r} instead."
    )


def summary(model: nn.Module, example_input: Any) -> list[LayerRow]:
    """Run ``example_input`` once and list every module with its output shape.

    The model runs under ``torch.no_grad()`` in eval mode; every module's train/eval
    flag is put back afterwards and all hooks are removed.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model.
    example_input : Tensor, shape tuple or tuple of arguments
        A shape such as ``(1, 3, 224, 224)`` means a tensor of zeros.

    Returns
    -------
    list of LayerRow
        ``(name, type, output_shape, n_params)`` for the model (name ``""``) and every
        submodule, in definition order. Format with :func:`format_summary`.

    Examples
    --------
    >>> from torch import nn
    >>> rows = summary(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), (4, 2))
    >>> [(r.name, r.type, r.output_shape, r.n_params) for r in rows]
    [('', 'Sequential', (4, 3), 9), ('0', 'Linear', (4, 3), 9), ('1', 'ReLU', (4, 3), 0)]
    """
    check_model(model)
    scripted = script_modules(model)
    if "" in scripted:
        raise scripted_error(model, None, "", "summary")
    args = _example(model, example_input)
    named = list(model.named_modules())
    shapes: dict[str, Any] = {}
    handles: list = []

    def make_hook(name: str):
        def hook(mod: nn.Module, inputs: tuple, output: Any) -> None:
            if name not in shapes:
                shapes[name] = _shape_of(output)

        return hook

    flags = [(m, m.training) for _, m in named]
    try:
        for name, module in named:
            if not any(under(name, s) for s in scripted):  # TorchScript parts: no shape
                handles.append(module.register_forward_hook(make_hook(name)))
        for m, _ in flags:
            m.training = False
        with torch.no_grad():
            model(*args)
    finally:
        release(handles, flags)
    return [
        LayerRow(name, type(module).__name__, shapes.get(name), sum(p.numel() for p in module.parameters()))
        for name, module in named
    ]


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
        return "[" + ", ".join(map(str, shape)) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, (list, tuple)):
        return "(" + ", ".join(_fmt_shape(v) for v in shape) + ")"
    return str(shape)


def format_summary(rows: Sequence[LayerRow]) -> str:
    """A text table of :func:`summary` rows (for ``vizkit layers``).

    Parameters
    ----------
    rows : sequence of LayerRow
        What :func:`summary` returned.

    Returns
    -------
    str
        One line per layer (indented by depth: name, type, output shape, parameters), then the
        total.

    Examples
    --------
    >>> from torch import nn
    >>> print(format_summary(summary(nn.Sequential(nn.Linear(2, 3)), (4, 2))))  # doctest: +NORMALIZE_WHITESPACE
    Layer   Type        Output shape  Params
    (model) Sequential  [4, 3]        9
      0     Linear      [4, 3]        9
    <BLANKLINE>
    Total params: 9
    """
    table = [("Layer", "Type", "Output shape", "Params")]
    for r in rows:
        label = "(model)" if not r.name else "  " * (r.depth - 1) + "  " + r.name
        table.append((label, r.type, _fmt_shape(r.output_shape), f"{r.n_params:,}"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    root = next((r for r in rows if not r.name), None)
    total = root.n_params if root is not None else sum(r.n_params for r in rows if r.depth == 1)
    lines += ["", f"Total params: {total:,}"]
    return "\n".join(lines)


_VIDEO_SHAPE = (1, 3, 16, 112, 112)


def resolve_model_ref(ref: str) -> nn.Module:
    """Build a model from a reference such as ``"torchvision:resnet18"`` (random weights).

    Parameters
    ----------
    ref : str
        ``"torchvision:NAME"`` with ``NAME`` one of ``torchvision.models.list_models()``;
        built with ``weights=None`` (nothing is downloaded).

    Returns
    -------
    nn.Module
        The model, with random weights.

    Raises
    ------
    TypeError
        ``ref`` is not a string.
    ValueError
        ``ref`` is not ``"torchvision:NAME"``, or torchvision has no model ``NAME`` (the message
        lists the close and the valid names).

    Examples
    --------
    >>> model = resolve_model_ref("torchvision:resnet18")
    >>> type(model).__name__
    'ResNet'
    """
    if not isinstance(ref, str):
        raise TypeError(f"`ref` must be a string such as 'torchvision:resnet18'. Got {type(ref).__name__} instead.")
    prefix, sep, name = ref.partition(":")
    if not sep or prefix != "torchvision":
        raise ValueError(f"A model reference must look like 'torchvision:NAME'. Got {ref!r} instead.")
    import torchvision

    valid = sorted(torchvision.models.list_models())
    if name not in valid:
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"Unknown torchvision model {name!r}.{hint} Valid names: {', '.join(valid)}.")
    return torchvision.models.get_model(name, weights=None)


def example_input_shape(ref: str) -> tuple:
    """An input shape that torchvision model ``ref`` accepts (for :func:`summary`).

    Parameters
    ----------
    ref : str
        ``"torchvision:NAME"``.

    Returns
    -------
    tuple of int
        ``(1, 3, 16, 112, 112)`` for a video model, else ``(1, 3, 224, 224)``.

    Examples
    --------
    >>> example_input_shape("torchvision:resnet18")
    (1, 3, 224, 224)
    """
    name = ref.partition(":")[2]
    try:
        import torchvision

        if name in torchvision.models.list_models(module=torchvision.models.video):
            return _VIDEO_SHAPE
    except (ImportError, AttributeError):
        pass
    if name == "inception_v3":
        return (1, 3, 299, 299)
    return (1, 3, 224, 224)

