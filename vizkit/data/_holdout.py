"""Splitting raw arrays into train / validation / test: stratified hold-outs and the Split."""

from __future__ import annotations

import numpy as np
import torch

from ._split import Split, fingerprint

__all__ = ["fixed_test_then_val", "images", "make_split", "n_of", "stratified_holdout"]

#: Seed of the fixed test part of ``mnist-5k`` and ``digits`` (the same for every ``seed``).
TEST_SEED = 0


def stratified_holdout(y: np.ndarray, n_hold: int, rng: np.random.Generator):
    """Split indices into (keep, hold), ``n_hold`` held out with class proportions kept.

    Per-class quotas are floor(n_hold * share) plus one for the largest remainders, so the
    total is exactly ``n_hold``. Both index arrays come back sorted.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    exact = n_hold * counts / counts.sum()
    quota = np.floor(exact).astype(int)
    short = n_hold - quota.sum()
    order = np.lexsort((np.arange(len(classes)), -(exact - quota)))
    quota[order[:short]] += 1
    hold = []
    for c, q in zip(classes, quota):
        idx = np.flatnonzero(y == c)
        hold.append(rng.permutation(idx)[:q])
    hold = np.sort(np.concatenate(hold)) if hold else np.zeros(0, dtype=np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[hold] = False
    return np.flatnonzero(mask), hold


def n_of(fraction: float, n: int) -> int:
    """``fraction`` of ``n`` items, rounded."""
    return int(round(fraction * n))


def fixed_test_then_val(y, n_test, val_fraction, seed):
    """A test part fixed by :data:`TEST_SEED`, then a validation part chosen by ``seed``."""
    pool, test_idx = stratified_holdout(y, n_test, np.random.default_rng(TEST_SEED))
    keep, hold = stratified_holdout(y[pool], n_of(val_fraction, len(pool)),
                                    np.random.default_rng(seed))
    return pool[keep], pool[hold], test_idx


def images(x_uint8: np.ndarray, idx, scale: float) -> torch.Tensor:
    """Images ``x[idx] / scale`` as float32 ``[N, 1, H, W]``."""
    return torch.from_numpy(np.asarray(x_uint8[idx], dtype=np.float32) / np.float32(scale)).unsqueeze(1)


def _labels(y: np.ndarray, idx) -> torch.Tensor:
    return torch.from_numpy(np.asarray(y[idx], dtype=np.int64))


def make_split(name, x, y, train_idx, val_idx, test_idx, *, to_x, classes, info, x_test=None,
               y_test=None) -> Split:
    """Build the Split; ``x_test``/``y_test`` given when the test set is a separate array."""
    xs = (to_x(x, train_idx), to_x(x, val_idx),
          to_x(x_test, test_idx) if x_test is not None else to_x(x, test_idx))
    ys = (_labels(y, train_idx), _labels(y, val_idx),
          _labels(y_test, test_idx) if y_test is not None else _labels(y, test_idx))
    tensors = (xs[0], ys[0], xs[1], ys[1], xs[2], ys[2])
    return Split(name=name, x_train=xs[0], y_train=ys[0], x_val=xs[1], y_val=ys[1], x_test=xs[2],
                 y_test=ys[2], classes=tuple(classes), input_shape=tuple(xs[0].shape[1:]),
                 fingerprint=fingerprint(*tensors), info=info)
