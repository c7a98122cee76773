"""Figure family ``feature-maps``: a CNN's filters and the feature maps of test images.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.feature_maps` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "feature-maps"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    from ..analysis.feature_maps import NoConvLayers, conv_layers

    if not isinstance(model, nn.Module):
        return f"feature-maps needs a torch model with conv layers. Got {type(model).__name__} instead."
    try:
        conv_layers(model)
    except NoConvLayers as e:
        return str(e)
    if len(tuple(split.input_shape)) != 3:
        return (f"feature-maps needs image data (C, H, W); this data has input shape "
                f"{tuple(split.input_shape)}.")
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.feature_maps`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.feature_maps import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
