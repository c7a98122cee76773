"""Views over training: what a recorder saw during :func:`fit`, stored beside the checkpoint.

A *recorder* is any object with

- ``on_epoch_end(epoch, model)``: called with epoch 0 (the initial weights) and after each epoch
  of training, model in eval mode (:func:`vizkit.train.train_model` makes both calls);
- ``snapshots() -> dict[str, numpy.ndarray]``: what it recorded, as plain arrays;
- ``identity() -> dict``: JSON-able settings that decide what it records (its epochs, images,
  seed...). Two recorders with the same class and identity record the same arrays from the same
  training.

:func:`save_views` writes the snapshots to ``<checkpoint stem>.views.npz`` (atomically) with the
recorder's class and identity and the checkpoint's content hash; :func:`load_views` gives them back
only when all three still match, so a cached model replays exactly what was recorded while it
trained, and anything else is trained again.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_bytes, file_hash

__all__ = ["NoViews", "views_path", "recorder_identity", "save_views", "load_views"]

_META = "__views__"
_FORMAT = 1


class NoViews(ValueError):
    """A checkpoint has no recorded views, or none that match what was asked for."""


def views_path(checkpoint: str | os.PathLike) -> Path:
    """Where the views of ``checkpoint`` live: ``model.pt`` -> ``model.views.npz``.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        The checkpoint file (it need not exist).

    Returns
    -------
    pathlib.Path
        The views file, in the checkpoint's folder.

    Examples
    --------
    >>> views_path("runs/model.pt").as_posix()
    'runs/model.views.npz'
    """
    p = Path(checkpoint)
    return p.with_name(f"{p.stem}.views.npz")


def recorder_identity(recorder: Any) -> dict:
    """``{"class": module.qualname, "identity": recorder.identity()}``, checked to be JSON-able.

    Parameters
    ----------
    recorder : object
        A recorder (``on_epoch_end``, ``snapshots``, ``identity``; see the module's description).

    Returns
    -------
    dict
        ``class``: the recorder's dotted class name; ``identity``: its identity as it reads back
        from JSON (tuples become lists).

    Raises
    ------
    TypeError
        ``recorder`` lacks ``on_epoch_end``, ``snapshots`` or ``identity``, or its identity is
        not JSON-able.

    Examples
    --------
    >>> import numpy as np
    >>> class LastBias:  # records the output bias after each epoch
    ...     def __init__(self):
    ...         self.rows = []
    ...     def on_epoch_end(self, epoch, model):
    ...         self.rows.append(model.layers[-1].bias.detach().numpy().copy())
    ...     def snapshots(self):
    ...         return {"bias": np.stack(self.rows)}
    ...     def identity(self):
    ...         return {"what": "bias", "epochs": (0,)}
    >>> recorder_identity(LastBias())["identity"]
    {'epochs': [0], 'what': 'bias'}
    >>> recorder_identity(object())
    Traceback (most recent call last):
    ...
    TypeError: a recorder needs the methods on_epoch_end(epoch, model), snapshots() and identity(). ...
    """
    missing = [m for m in ("on_epoch_end", "snapshots", "identity")
               if not callable(getattr(recorder, m, None))]
    if missing:
        raise TypeError("a recorder needs the methods on_epoch_end(epoch, model), snapshots() and "
                        f"identity(). Got {type(recorder).__name__} without {', '.join(missing)}.")
    try:  # as it reads back from a file (tuples become lists), so that the two compare equal
        ident = json.loads(json.dumps(recorder.identity(), sort_keys=True))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{type(recorder).__name__}.identity() must return JSON-able data: {e}") from None
    cls = type(recorder)
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "identity": ident}


def save_views(checkpoint: str | os.PathLike, recorder: Any) -> Path:
    """Write ``recorder.snapshots()`` beside ``checkpoint`` (written first: its hash is kept).

    Arrays keep their dtypes exactly (a replay gives the very numbers recorded).

    Parameters
    ----------
    checkpoint : str or os.PathLike
        The checkpoint the views were recorded for, already written: its content hash is stored,
        so the views are only used with these very weights.
    recorder : object
        The recorder that watched the training (see the module's description).

    Returns
    -------
    Path
        The views file (:func:`views_path`).

    Raises
    ------
    TypeError
        ``recorder`` is not a recorder, or its identity is not JSON-able.
    ValueError
        It recorded nothing, a snapshot's name is not an identifier, or a snapshot has dtype
        object.

    Examples
    --------
    >>> import numpy as np
    >>> class LastBias:  # records the output bias after each epoch
    ...     def __init__(self):
    ...         self.rows = []
    ...     def on_epoch_end(self, epoch, model):
    ...         self.rows.append(model.layers[-1].bias.detach().numpy().copy())
    ...     def snapshots(self):
    ...         return {"bias": np.stack(self.rows)}
    ...     def identity(self):
    ...         return {"what": "bias", "epochs": (0,)}
    >>> from vizkit import checkpoint
    >>> from vizkit.models import PTDeep
    >>> model = PTDeep([2, 3])
    >>> path = checkpoint.save("model.pt", model)
    >>> recorder = LastBias()
    >>> recorder.on_epoch_end(0, model)
    >>> save_views(path, recorder).name
    'model.views.npz'
    >>> snapshots, who = load_views(path, LastBias())
    >>> snapshots["bias"].shape, who["identity"]
    ((1, 3), {'epochs': [0], 'what': 'bias'})
    """
    ident = recorder_identity(recorder)
    arrays = recorder.snapshots()
    if not isinstance(arrays, dict) or not arrays:
        raise ValueError(f"{type(recorder).__name__}.snapshots() must return a non-empty dict of "
                         "arrays: it recorded nothing (was on_epoch_end ever called?).")
    out = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key.isidentifier() or key == _META:
            raise ValueError(f"snapshot names must be identifiers other than {_META!r}. Got {key!r}.")
        arr = np.asarray(value)
        if arr.dtype == object:
            raise ValueError(f"snapshot {key!r} has dtype object; store numbers or strings.")
        out[key] = arr
    meta = {"format": _FORMAT, "recorder": ident, "checkpoint": file_hash(checkpoint)}
    buf = io.BytesIO()
    np.savez(buf, **out, **{_META: np.array(json.dumps(meta, sort_keys=True))})
    return atomic_write_bytes(views_path(checkpoint), buf.getvalue())


def load_views(checkpoint: str | os.PathLike, recorder: Any = None) -> tuple[dict, dict]:
    """The snapshots recorded while ``checkpoint`` trained, and the recorder that took them.

    Parameters
    ----------
    checkpoint : path
        The checkpoint file whose views (:func:`views_path`) are read.
    recorder : object, optional
        When given, the stored views must come from a recorder of its class and identity.

    Returns
    -------
    snapshots : dict of str to ndarray
        What the recorder recorded, dtypes as they were.
    recorder : dict
        ``{"class": ..., "identity": ...}`` of the recorder that took them.

    Raises
    ------
    NoViews
        No views file, an unreadable one, one written for other weights than the checkpoint's
        now, or one from another recorder; the message says which.

    Examples
    --------
    >>> from vizkit import checkpoint
    >>> from vizkit.models import PTDeep
    >>> path = checkpoint.save("model.pt", PTDeep([2, 3]))
    >>> load_views(path)
    Traceback (most recent call last):
    ...
    vizkit.train._views.NoViews: model.pt has no recorded views (model.views.npz is missing): ...

    :func:`save_views` shows views written and read back.
    """
    path = views_path(checkpoint)
    name = Path(checkpoint).name
    if not path.is_file():
        raise NoViews(f"{name} has no recorded views ({path.name} is missing): train it with "
                      "`vizkit train ... --record-views` to record them.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop(_META)))
    except (OSError, ValueError, KeyError) as e:
        raise NoViews(f"{path.name} is not a readable views file ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''}); train again to record it.") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise NoViews(f"{path.name} has an unknown format; train again to record its views.")
    if meta.get("checkpoint") != file_hash(checkpoint):
        raise NoViews(f"{path.name} was recorded for other weights than {name}'s now; train "
                      "again to record its views.")
    want = None if recorder is None else recorder_identity(recorder)
    if want is not None and meta.get("recorder") != want:
        had = meta.get("recorder") if isinstance(meta.get("recorder"), dict) else {}
        if had.get("class") != want["class"]:
            what = f"{had.get('class')}, not {want['class']}"
        else:
            old, new = had.get("identity") or {}, want["identity"] or {}
            keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)) \
                if isinstance(old, dict) and isinstance(new, dict) else ["identity"]
            what = "its " + ", ".join(keys) + " differ"
        raise NoViews(f"{path.name} was recorded by another recorder ({what}).")
    return arrays, meta.get("recorder", {})
