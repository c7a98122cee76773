"""Checkpoints: spec + weights + history + metrics + data fingerprint + seed + versions.

Written atomically (a temporary file in the same folder, then ``os.replace``); read with
``torch.load(..., weights_only=True)``, so loading never runs pickled code.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._io import atomic_write_bytes, file_hash

__all__ = ["save", "load", "CheckpointError", "FORMAT", "atomic_write_bytes", "file_hash"]

FORMAT = "vizkit-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a readable vizkit checkpoint (wrong kind, truncated, or inconsistent)."""


def _jsonable(value: Any, where: str) -> Any:
    """Check that meta holds only plain values (so weights_only loading accepts it)."""
    try:
        return json.loads(json.dumps(value, allow_nan=True))
    except TypeError as e:
        raise TypeError(f"checkpoint meta {where!r} must be plain data (numbers, strings, lists, "
                        f"dicts): {e}") from None


def _versions() -> dict:
    import platform

    import numpy
    import torchvision

    from . import __version__

    return {"vizkit": __version__, "torch": str(torch.__version__), "torchvision": str(torchvision.__version__),
            "numpy": str(numpy.__version__), "python": platform.python_version()}


def save(path: str | os.PathLike, model: nn.Module, **meta: Any) -> Path:
    """Save ``model`` and ``meta`` to ``path`` atomically.

    Parameters
    ----------
    path : path-like
    model : nn.Module
        Made by :func:`vizkit.models.build` (it carries its spec), or pass ``spec=...`` in meta.
    **meta
        Plain data: ``config``, ``history``, ``metrics``, ``data`` (name and fingerprint), ``seed``...

    Returns
    -------
    Path
    """
    spec = meta.pop("spec", None) or getattr(model, "vizkit_spec", None)
    if spec is None:
        raise ValueError("this model has no spec: build it with vizkit.models.build(spec) or pass "
                         "spec=... so the checkpoint can rebuild it.")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": _jsonable(spec, "spec"),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": {k: _jsonable(v, k) for k, v in meta.items()},
        "versions": _versions(),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, meta)``.

    ``meta`` holds everything saved with it plus ``spec``, ``versions`` and ``path``.

    Raises
    ------
    FileNotFoundError
    CheckpointError
        Not a vizkit checkpoint, truncated/corrupt, or weights that do not fit the spec.
    """
    from .models import build

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path} is not a vizkit checkpoint: it holds objects that "
                              f"weights_only loading refuses (it was not run). Detail: "
                              f"{str(e)[-300:]}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} could not be read as a checkpoint (truncated or not a "
                              f"torch file): {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not a vizkit checkpoint (no "
                              f"'format': {FORMAT!r}); write checkpoints with vizkit.checkpoint.save.")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {payload['format_version']}, newer than "
                              f"this vizkit reads ({FORMAT_VERSION}); upgrade vizkit.")
    try:
        model = build(payload["spec"])
    except ValueError as e:
        raise CheckpointError(f"{path}: its spec does not build a model: {e}") from None
    state = payload["state_dict"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [f"{k}: checkpoint {list(state[k].shape)}, spec {list(own[k].shape)}"
             for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        if wrong:
            parts.append("shape mismatch " + "; ".join(wrong))
        raise CheckpointError(f"{path}: weights do not match the spec's model ({', '.join(parts)}).")
    model.load_state_dict(state)
    model.eval()
    meta = dict(payload.get("meta", {}))
    meta.update(spec=payload["spec"], versions=payload.get("versions", {}), path=str(path))
    return model, meta
