"""Checkpoints: spec + weights + history + metrics + data record + seed + versions.

Written atomically (a temporary file in the same folder, then ``os.replace``). Loading treats the
file as untrusted and checks it before anything is allocated for it:

1. the file is a zip archive (torch's format) whose members are stored uncompressed, no larger
   than the file, with correct CRCs (flipped bytes are refused);
2. ``torch.load(..., weights_only=True)``: pickled code is never run;
3. the payload has the expected keys and types;
4. the spec's model is built on the ``meta`` device (no memory); its weights must fit a ceiling
   and the file, and the stored tensors must have exactly its names, shapes and dtypes, and be
   finite;
5. only then the model is made, from the stored tensors themselves (``assign=True``).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._io import atomic_write_bytes, file_hash

__all__ = ["save", "load", "CheckpointError", "FORMAT", "FORMAT_VERSION", "MAX_WEIGHT_BYTES",
           "atomic_write_bytes", "file_hash"]

FORMAT = "vizkit-checkpoint"
FORMAT_VERSION = 1

#: The most weight bytes a checkpoint's spec may ask for (8 GiB), whatever the file holds.
MAX_WEIGHT_BYTES = 8 * 2**30


class CheckpointError(ValueError):
    """A file is not a readable vizkit checkpoint (wrong kind, truncated, corrupt or inconsistent)."""


def _jsonable(value: Any, where: str) -> Any:
    """Check that meta holds only plain values (so weights_only loading accepts it)."""
    try:
        return json.loads(json.dumps(value, allow_nan=True))
    except (TypeError, ValueError) as e:
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
        Any instance of a vizkit model class (:class:`~vizkit.models.PTDeep`, ...), however it
        was made: its spec comes from :func:`vizkit.models.spec_of`. Or pass ``spec=...``.
    **meta
        Plain data: ``config``, ``history``, ``metrics``, ``data`` (name and fingerprint), ``seed``...

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        The spec does not rebuild the model, or a weight is NaN or infinite (which :func:`load`
        would refuse); nothing is written then.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> save("runs/tiny.pt", PTDeep([2, 10, 2]), seed=0).name
    'tiny.pt'
    """
    from .models import spec_of

    spec = meta.pop("spec", None) or spec_of(model)
    spec = _jsonable(spec, "spec")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    try:
        expected = _meta_state(spec, "the spec")
    except CheckpointError as e:
        raise ValueError(str(e)) from None
    problems = _mismatches(expected, state)
    if problems:
        raise ValueError(f"the spec does not rebuild this model ({problems}); pass the spec it was "
                         "built from.")
    # load() refuses such weights: refuse them here, before a file nobody can load is written
    bad = next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())),
               None)
    if bad is not None:
        raise ValueError(f"tensor {bad!r} of the model holds NaN or infinite values: a diverged model "
                         "is not saved (vizkit.train.fit keeps the last good weights).")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": spec,
        "state_dict": state,
        "meta": {k: _jsonable(v, k) for k, v in meta.items()},
        "versions": _versions(),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load(path: str | os.PathLike, *, map_location: str | torch.device = "cpu",
         data: bytes | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, meta)``.

    The file is treated as untrusted and checked before anything is allocated for it (see the
    module's description); no pickled code is ever run.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    map_location : str or torch.device, default "cpu"
        Where the stored tensors are loaded (passed to ``torch.load``).
    data : bytes, optional
        The file's bytes, already read (say, after checking them against a recorded hash): they
        are parsed instead of reading ``path`` again, so what was checked is what is loaded;
        ``path`` then only names the checkpoint in messages and ``meta``.

    Returns
    -------
    model : nn.Module
        The rebuilt model, in eval mode, holding the stored weights.
    meta : dict
        Everything saved with it (``config``, ``history``, ``metrics``, ...) plus ``spec`` (what
        rebuilt it), ``versions`` (of vizkit, torch, ... that saved it) and ``path``.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path`` (and no ``data``).
    CheckpointError
        Not a vizkit checkpoint, truncated/corrupt, weights that do not fit the spec, weights of
        the wrong dtype or not finite, or a spec larger than the file or the ceiling.

    Examples
    --------
    >>> import torch
    >>> from vizkit.models import PTDeep
    >>> _ = torch.manual_seed(0)
    >>> net = PTDeep([2, 3, 2])
    >>> path = save("runs/tiny.pt", net, seed=0, config={"epochs": 1})
    >>> model, meta = load(path)
    >>> meta["seed"], meta["config"], model.training
    (0, {'epochs': 1}, False)
    >>> x = torch.ones(1, 2)
    >>> torch.equal(model(x), net.eval()(x))
    True
    """
    path = Path(path)
    if data is None:
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}")
        size = path.stat().st_size
    else:
        size = len(data)
    # each reader gets the file itself or a fresh stream of the given bytes
    _check_archive(path if data is None else io.BytesIO(data), size, path)
    payload = _torch_load(path if data is None else io.BytesIO(data), map_location, path)
    spec, state, meta, versions = _check_payload(payload, path)
    model = _materialize(spec, state, path, size)
    model.eval()
    meta = dict(meta)
    meta.update(spec=spec, versions=versions, path=str(path))
    return model, meta


def _check_archive(source, size: int, path: Path) -> None:
    """A zip whose members are stored, fit in the file, and pass their CRC check (``source``:
    the file or a stream of its bytes; ``path`` names it in messages)."""
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                    raise CheckpointError(
                        f"{path} is not a vizkit checkpoint: archive member {info.filename!r} is "
                        "compressed or larger than the file (torch stores members as they are).")
            bad = zf.testzip()
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError, IndexError, KeyError) as e:
        if isinstance(e, (PermissionError, IsADirectoryError)):
            raise
        raise CheckpointError(f"{path} could not be read as a checkpoint (truncated, damaged or "
                              f"not a torch zip file): {_first_line(e)}") from None
    if not infos:
        raise CheckpointError(f"{path} could not be read as a checkpoint: an empty archive.")
    if bad is not None:
        raise CheckpointError(f"{path} is corrupt: the CRC of {bad!r} does not match its bytes "
                              "(the file was damaged after it was written); train or copy it again.")


def _torch_load(source, map_location, path: Path) -> Any:
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path} is not a vizkit checkpoint: it holds objects that "
                              f"weights_only loading refuses (it was not run). Detail: "
                              f"{str(e)[-300:]}") from None
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure to parse untrusted bytes is "unreadable"
        raise CheckpointError(f"{path} could not be read as a checkpoint (truncated or not a "
                              f"torch file): {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    text = str(e)
    return text.splitlines()[0][:300] if text.strip() else type(e).__name__


def _check_payload(payload: Any, path: Path) -> tuple[dict, dict, dict, dict]:
    """The payload's keys and types: ``(spec, state_dict, meta, versions)``."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not a vizkit checkpoint (no "
                              f"'format': {FORMAT!r}); write checkpoints with vizkit.checkpoint.save.")
    version = payload.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: 'format_version' must be a positive integer. Got "
                              f"{_short(version)} instead.")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {version}, newer than this vizkit "
                              f"reads ({FORMAT_VERSION}); upgrade vizkit.")
    for key, kind in (("spec", dict), ("state_dict", dict), ("meta", dict), ("versions", dict)):
        if key not in payload and key in ("spec", "state_dict"):
            raise CheckpointError(f"{path}: the checkpoint has no {key!r}; it cannot rebuild a model.")
        if not isinstance(payload.get(key, {}), kind):
            raise CheckpointError(f"{path}: {key!r} must be a dict. Got "
                                  f"{type(payload[key]).__name__} instead.")
    state = payload["state_dict"]
    for name, value in state.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {_short(name)} must be a tensor named by "
                                  f"a string. Got {type(value).__name__} instead.")
    meta = payload.get("meta", {})
    for key, kind in (("data", dict), ("history", dict), ("metrics", dict), ("config", dict),
                      ("seed", int)):
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{path}: meta {key!r} must be of type {kind.__name__}. Got "
                                  f"{type(meta[key]).__name__} instead.")
    return payload["spec"], state, meta, payload.get("versions", {})


def _meta_state(spec: Any, where: Any) -> dict[str, torch.Tensor]:
    """The state_dict (names, shapes, dtypes) the spec's model would have, allocating nothing."""
    from .models import build

    try:
        with torch.device("meta"):
            model = build(spec)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
            RuntimeError) as e:
        raise CheckpointError(f"{where}: its spec does not build a model: {_first_line(e)}") from None
    return model.state_dict()


def _mismatches(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> str:
    """What differs between the spec's state_dict and the stored one ('' when nothing)."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k}: checkpoint {list(state[k].shape)}, spec {list(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    dtypes = [f"{k}: checkpoint {state[k].dtype}, spec {v.dtype}"
              for k, v in expected.items() if k in state and state[k].shape == v.shape
              and state[k].dtype != v.dtype]
    parts = []
    if missing:
        parts.append(f"missing {_short(missing, 200)}")
    if unexpected:
        parts.append(f"unexpected {_short(unexpected, 200)}")
    if wrong:
        parts.append("shape mismatch " + _clip("; ".join(wrong), 300))
    if dtypes:
        parts.append("wrong dtype " + _clip("; ".join(dtypes), 300))
    return ", ".join(parts)


def _materialize(spec: dict, state: dict[str, torch.Tensor], path: Path, size: int) -> nn.Module:
    """Check the stored tensors against the spec, then make the model out of them."""
    from .models import build

    expected = _meta_state(spec, path)
    wanted = sum(t.numel() * t.element_size() for t in expected.values())
    if wanted > MAX_WEIGHT_BYTES or wanted > size:
        raise CheckpointError(
            f"{path}: its spec asks for {_bytes(wanted)} of weights but the file holds "
            f"{_bytes(size)} (ceiling {_bytes(MAX_WEIGHT_BYTES)}); the spec was tampered with or "
            "does not belong to these weights.")
    problems = _mismatches(expected, state)
    if problems:
        raise CheckpointError(f"{path}: weights do not match the spec's model ({problems}).")
    for name, t in state.items():
        if not t.is_contiguous() or t.untyped_storage().nbytes() < (
                t.storage_offset() + t.numel()) * t.element_size():
            raise CheckpointError(f"{path}: tensor {name!r} is not a plain stored tensor.")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: tensor {name!r} holds NaN or infinite values; the model "
                                  "diverged before it was saved, or the file was altered.")
    with torch.device("meta"):
        model = build(spec)
    model.load_state_dict(state, assign=True)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise CheckpointError(f"{path}: the checkpoint does not hold {left} of its model.")
    return model


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # unreachable


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _short(value: Any, n: int = 80) -> str:
    return _clip(repr(value), n)
