"""vizkit.data in the uncommon case: uneven and absent classes, caps at the boundary, a file
changed in place that must invalidate the reader's memo, fingerprints that must tell apart."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from vizkit import data as D
from vizkit.data._holdout import fixed_test_then_val, make_split, n_of, stratified_holdout

from _toy import image_split
from test_data import _no_network, fake_mnist, write_set  # noqa: F401  (the fixture is autouse)


@pytest.mark.parametrize("counts, n_hold", [
    ([70, 20, 10], 10),    # uneven classes
    ([70, 20, 10], 7),     # quotas need the largest remainders
    ([1, 1, 98], 5),       # classes of one sample
    ([33, 33, 34], 0),     # nothing held out
    ([5, 7], 12),          # everything held out
])
def test_stratified_holdout_exact_total_and_proportions(counts, n_hold):
    y = np.repeat(np.arange(len(counts)), counts)
    y = np.random.default_rng(0).permutation(y)
    keep, hold = stratified_holdout(y, n_hold, np.random.default_rng(1))
    assert len(hold) == n_hold and len(keep) == len(y) - n_hold
    assert np.array_equal(np.sort(np.concatenate([keep, hold])), np.arange(len(y)))  # a partition
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(hold) > 0)  # sorted, no repeats
    held = np.bincount(y[hold], minlength=len(counts))
    exact = n_hold * np.asarray(counts) / sum(counts)
    assert np.all(np.abs(held - exact) < 1)  # every class within one of its share


@pytest.mark.parametrize("counts, n_hold, expected", [
    ([70, 20, 10], 7, [5, 1, 1]),  # shares 4.9, 1.4, 0.7: the two spare places go to .9 and .7
    ([1, 1, 98], 5, [0, 0, 5]),    # shares .05, .05, 4.9
    ([10, 10, 10], 2, [1, 1, 0]),  # equal remainders: the lower class labels first
])
def test_stratified_holdout_gives_spare_places_to_the_largest_remainders(counts, n_hold, expected):
    y = np.repeat(np.arange(len(counts)), counts)
    _, hold = stratified_holdout(y, n_hold, np.random.default_rng(0))
    assert np.bincount(y[hold], minlength=len(counts)).tolist() == expected


def test_stratified_holdout_labels_that_are_not_0_to_c():
    y = np.array([7] * 30 + [3] * 10)  # two classes with gaps in the label values
    keep, hold = stratified_holdout(y, 8, np.random.default_rng(0))
    assert sorted(y[hold].tolist()) == [3, 3] + [7] * 6


def test_fixed_test_then_val_test_part_ignores_the_seed():
    y = np.repeat(np.arange(3), [50, 30, 20])
    tr0, va0, te0 = fixed_test_then_val(y, 10, 0.25, seed=0)
    tr1, va1, te1 = fixed_test_then_val(y, 10, 0.25, seed=1)
    assert np.array_equal(te0, te1) and not np.array_equal(va0, va1)
    for tr, va, te in ((tr0, va0, te0), (tr1, va1, te1)):
        assert len(va) == n_of(0.25, 90) and len(te) == 10
        assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(100))


def test_fingerprint_tells_apart_shape_dtype_order_and_one_changed_value():
    x = torch.arange(12, dtype=torch.float32)
    base = D.fingerprint(x)
    assert D.fingerprint(x.clone()) == base
    assert D.fingerprint(x.view(3, 4)) != base  # same bytes, another shape
    assert D.fingerprint(x.view(torch.int32)) != base  # same bytes, another dtype
    y = x.clone()
    y[5] = -0.0 if x[5] == 0 else x[5] + 1e-6
    assert D.fingerprint(y) != base
    a, b = x[:4], x[4:]
    assert D.fingerprint(a, b) != D.fingerprint(b, a)
    assert D.fingerprint(x[:5], x[5:]) != D.fingerprint(x[:6], x[6:])  # where the cut falls
    nc = torch.arange(12.0).view(3, 4).t()  # not contiguous: same numbers as its copy
    assert D.fingerprint(nc) == D.fingerprint(nc.contiguous())
    assert D.fingerprint(torch.zeros(0, 3)) != D.fingerprint(torch.zeros(3, 0))  # empty parts


def test_subset_caps_at_the_boundary_and_numpy_integers():
    split = image_split(n=100)  # 60 / 20 / 20
    assert split.subset(train=60, val=20, test=20) is split  # a cap equal to the size keeps it
    sub = split.subset(train=np.int64(59), seed=4)
    assert len(sub.y_train) == 59 and torch.equal(sub.x_val, split.x_val)
    assert sub.info["subset"]["train"] == 59
    # rows stay paired with their labels and in their original order
    rows = {split.x_train[i].numpy().tobytes(): i for i in range(60)}
    idx = [rows[r.numpy().tobytes()] for r in sub.x_train]
    assert idx == sorted(idx) and len(set(idx)) == 59
    assert torch.equal(sub.y_train, split.y_train[idx])
    one = split.subset(test=1, seed=0)
    assert one.x_test.shape == (1, 1, 8, 8) and one.record()["sizes"] == [60, 20, 1]


def test_split_record_and_part_errors():
    split = image_split(n=30, classes=3)
    rec = split.record()
    assert rec == {"name": "toy-bands", "fingerprint": split.fingerprint,
                   "classes": ["0", "1", "2"], "input_shape": [1, 8, 8], "sizes": [18, 6, 6]}
    assert split.n_features == 64 and split.n_classes == 3
    with pytest.raises(ValueError, match="`which` must be one of 'train', 'val', 'test'. Got 'valid'"):
        split.part("valid")


def test_make_split_with_a_separate_test_set_and_a_class_absent_from_val():
    x = np.arange(10 * 2 * 2, dtype=np.uint8).reshape(10, 2, 2)
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    xt, yt = np.full((3, 2, 2), 255, np.uint8), np.array([1, 1, 0])
    s = make_split("t", x, y, np.arange(8), np.array([0, 1]), np.arange(3), to_x=D_images,
                   classes=("a", "b"), info={}, x_test=xt, y_test=yt)
    assert s.y_val.tolist() == [0, 0]  # class 1 absent from validation: allowed
    assert s.x_test.shape == (3, 1, 2, 2) and torch.all(s.x_test == 1.0)
    assert s.y_test.tolist() == [1, 1, 0] and s.input_shape == (1, 2, 2)
    assert s.fingerprint == D.fingerprint(s.x_train, s.y_train, s.x_val, s.y_val, s.x_test, s.y_test)


def D_images(x, idx):
    from vizkit.data._holdout import images

    return images(x, idx, 255)


def _rewrite_keeping(path_stats, folder, arrays):
    """Write ``arrays`` into ``folder`` and give each file the modification time it had."""
    write_set(folder, arrays, gz=False)
    for p, (atime, mtime) in path_stats.items():
        os.utime(p, ns=(atime, mtime))


def test_mnist_memo_rereads_a_file_changed_in_place_with_the_same_size(tmp_path):
    """Same size, new content, new mtime: the reader's memo must not serve the old arrays."""
    folder = tmp_path / "mnist"
    write_set(folder, fake_mnist(0), gz=False)
    a = D.load("mnist", root=tmp_path, download=False)
    files = sorted(folder.iterdir())
    stats = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9) for p in files}
    _rewrite_keeping(stats, folder, fake_mnist(1))  # same sizes, mtimes one second later
    b = D.load("mnist", root=tmp_path, download=False)
    assert b.fingerprint != a.fingerprint


def test_mnist_memo_rereads_a_file_of_another_size_with_the_same_mtime(tmp_path):
    folder = tmp_path / "mnist"
    write_set(folder, fake_mnist(0), gz=False)
    a = D.load("mnist", root=tmp_path, download=False)
    stats = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in folder.iterdir()}
    _rewrite_keeping(stats, folder, fake_mnist(0, n_train=60))  # same mtimes, other sizes
    b = D.load("mnist", root=tmp_path, download=False)
    assert len(b.y_train) + len(b.y_val) == 60 and b.fingerprint != a.fingerprint

