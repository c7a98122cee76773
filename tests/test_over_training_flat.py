"""Over-training views: flat (pattern-less) snapshots are detected and left out of the change
measure, and the stability verdict / marker agree with the drawn curve."""

import numpy as np
import pytest

import vizkit.analysis.over_training as ot
from vizkit.plot.over_training import plot_change, plot_snapshot_grid


def test_flat_detector_on_a_constant_and_a_patterned_image():
    const = np.full((8, 8), 0.5)
    noise_free_pattern = np.zeros((8, 8))
    noise_free_pattern[2:6, 3] = 0.6  # a stroke
    faint = const + 0.01 * np.eye(8)  # range 0.01: 1% of [0, 1]
    got = ot.is_flat(np.stack([const, noise_free_pattern, faint]), scale=1.0)
    assert got.tolist() == [True, False, True]
    # relative to each image's own largest value: an all-zero map is flat, a tiny pattern is not
    rel = ot.is_flat(np.stack([np.zeros((4, 4)), 1e-6 * np.eye(4)]))
    assert rel.tolist() == [True, False]
    assert ot.is_flat(np.stack([faint]), scale=1.0, rel=0.0).tolist() == [False]
    with pytest.raises(ValueError, match="H, W"):
        ot.is_flat(np.zeros(5))
    with pytest.raises(ValueError, match="rel"):
        ot.is_flat(np.zeros((2, 2)), rel=-1)


def _snapshots(actmax):
    e, k = actmax.shape[:2]
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(e, 2, 6, 6))
    return {"epochs": np.arange(e), "images": rng.random((2, 6, 6)), "labels": np.array([0, 1]),
            "maps": maps, "predictions": np.zeros((e, 2), dtype=int), "actmax": actmax,
            "actmax_classes": np.arange(k), "features": rng.normal(size=(e, 20, 4)),
            "feature_labels": np.arange(20) % 2, "method": np.asarray("saliency")}


def test_correlation_with_a_flat_image_is_not_measured():
    rng = np.random.default_rng(1)
    pattern = rng.random((6, 6))
    flat = np.full((6, 6), 0.5) + 1e-3 * rng.random((6, 6))  # grey, ranks of noise only
    am = np.stack([np.stack([flat, flat]), np.stack([flat, pattern]), np.stack([pattern, pattern])])
    res = ot.over_training(_snapshots(am))
    assert res.actmax_flat.tolist() == [[True, True], [True, False], [False, False]]
    assert np.isnan(res.actmax_rho[0]).all()  # 0->1: nothing to compare
    assert np.isnan(res.actmax_rho[1, 0]) and res.actmax_rho[1, 1] == pytest.approx(1.0)
    assert not res.maps_flat.any() and np.isfinite(res.map_rho).all()


def test_stable_verdict_on_hand_made_curves():
    epochs = [0, 1, 2, 4, 8]
    rising = [[0.47], [0.82], [0.91], [0.92]]  # the shape of the MLP's curve
    assert ot.stable_after(epochs, rising) == 2  # from the 2->4 pair on
    dips = [[0.95], [0.95], [0.85], [0.95]]
    assert ot.stable_after(epochs, dips) == 4
    never = [[0.3], [0.5], [0.7], [0.8]]
    assert ot.stable_after(epochs, never) is None
    flat_last = [[0.95], [0.95], [0.95], [np.nan]]  # not measured is not stable
    assert ot.stable_after(epochs, flat_last) is None


def test_stable_marker_sits_on_a_point_at_or_above_the_threshold(pyplot):
    epochs = [0, 1, 2, 4, 8]
    rho = np.array([[np.nan, np.nan], [0.80, 0.84], [0.90, 0.92], [0.93, 0.91]])
    stable = ot.stable_after(epochs, rho)
    fig, ax = pyplot.subplots()
    out = plot_change(ax, epochs, rho, ylabel="rho", threshold=0.9, stable_after=stable)
    assert stable == 2 and out["stable_x"] == 4
    i = list(epochs[1:]).index(out["stable_x"])
    assert out["mean"][i] >= 0.9 and out["mean"][i - 1] < 0.9
    assert np.isnan(out["mean"][0])
    labels = ax.get_legend_handles_labels()[1]
    assert ">= 0.9 from 2->4 on" in labels


def test_flat_snapshots_are_marked_on_the_grid(pyplot):
    rows = np.zeros((2, 3, 4, 4))
    flat = np.array([[True, False, True], [False, False, False]])
    out = plot_snapshot_grid(pyplot.figure(), rows, [0, 1], row_labels=list("abc"), flat=flat)
    assert len(out["flat_marks"]) == 2
    assert all(t.get_text() == "flat" for t in out["flat_marks"])
