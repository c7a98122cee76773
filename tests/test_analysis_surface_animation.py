"""The decision surface over training: snapshots from fit's callback, and the GIF of them."""

import ast
import importlib
import inspect

import io

import numpy as np
import pytest
import torch
from PIL import Image

from tests._toy import xor_split
from vizkit.analysis.decision_surface import (SurfaceFrames, SurfaceRecorder, decision_surface,
                                              snapshot_epochs)
from vizkit.models import PTDeep
from vizkit.plot.animation import plot_surface_frame, surface_animation
from vizkit.train import fit, load_views, save_views

CFG = {"epochs": 12, "batch_size": 0, "optimizer": "sgd", "lr": 0.5, "momentum": 0.9,
       "patience": None, "progress": False, "seed": 0}


def _recorder(split):
    return SurfaceRecorder(split.x_train, split.y_train, at=snapshot_epochs(CFG["epochs"], 4),
                           rect=torch.cat([split.x_train, split.x_test]).numpy(), grid_resolution=12)


def _frames(seed=0):
    torch.manual_seed(seed)
    model = PTDeep([2, 6, 2])
    split = xor_split(n=80)
    rec = _recorder(split)
    rec.on_epoch_end(0, model)  # the initial weights, as train_model(..., recorder=rec) does
    hist = fit(model, split, CFG, on_epoch_end=rec.on_epoch_end)
    return model, rec.result(), hist, rec


def test_snapshots_at_log_spaced_epochs_end_with_the_last_weights():
    model, frames, hist, _ = _frames()
    assert frames.epochs.tolist() == [0, 1, 2, 5, 12]
    assert len(frames) == 5 and frames.predictions.shape == (5, len(frames.points))
    assert all(s.shape == (12, 12) and s.rect == frames.surfaces[0].rect for s in frames.surfaces)
    assert not np.allclose(frames.surfaces[0].probs, frames.surfaces[-1].probs)  # it moved
    # the last frame is the model after fit (no early stopping; 'val' selects the best epoch)
    if hist.best_epoch == 12:
        again = decision_surface(model, frames.surfaces[0].rect, grid_resolution=12)
        np.testing.assert_allclose(frames.surfaces[-1].probs, again.probs, rtol=1e-6)
    acc = (frames.predictions == frames.labels).mean(1)
    np.testing.assert_array_equal(frames.accuracy, acc)
    assert frames.loss.shape == (5,) and np.all(frames.loss > 0)


def test_same_seed_same_frames():
    _, a, _, _ = _frames(0)
    _, b, _, _ = _frames(0)
    for s, t in zip(a.surfaces, b.surfaces):
        np.testing.assert_array_equal(s.probs, t.probs)
    np.testing.assert_array_equal(a.loss, b.loss)


def test_recorder_is_a_fit_callback_with_hand_made_weights():
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([0, 1])
    lin = torch.nn.Linear(2, 2)
    rec = SurfaceRecorder(X, y, every=2, rect=((-1, -1), (1, 1)), grid_resolution=3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        lin.bias.zero_()
    for epoch in range(1, 5):
        rec(epoch, lin)
    res = rec.result()
    assert res.epochs.tolist() == [2, 4]
    assert res.predictions.tolist() == [[0, 1], [0, 1]] and res.accuracy.tolist() == [1.0, 1.0]
    # logits (-x, x) at x = +-1: cross-entropy log(1 + e^-2)
    np.testing.assert_allclose(res.loss, np.log1p(np.exp(-2.0)), rtol=1e-6)
    assert res.surfaces[0].labels.tolist() == [[0, 0, 1]] * 3


@pytest.mark.parametrize("kwargs, match", [
    ({"every": 0}, "`every` must be a positive integer. Got 0"),
    ({"points": np.zeros((3, 3))}, r"`points` must have shape \(n, 2\)"),
])
def test_recorder_errors(kwargs, match):
    args = {"points": np.zeros((2, 2)), "labels": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=match):
        SurfaceRecorder(args.pop("points"), args.pop("labels"), **args)
    with pytest.raises(ValueError, match="no snapshot yet: pass the recorder to train_model"):
        SurfaceRecorder(np.zeros((2, 2)), [0, 1]).result()


@pytest.mark.parametrize("args, kwargs, match", [
    ((12, 4), {"spacing": "geo"}, "`spacing` must be one of 'log', 'linear'. Got 'geo'"),
    ((0, 4), {}, "`last` must be a positive integer. Got 0"),
    ((12, 1.5), {}, "`n` must be a positive integer. Got 1.5"),
])
def test_snapshot_epochs_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        snapshot_epochs(*args, **kwargs)


def test_snapshot_epochs_start_at_zero_and_end_at_the_last():
    assert snapshot_epochs(12, 4) == [0, 1, 2, 5, 12]
    assert snapshot_epochs(10, 3, spacing="linear") == [0, 1, 6, 10]
    assert snapshot_epochs(3, 40) == [0, 1, 2, 3]  # rounding merges epochs: no repeats


def test_snapshots_replay_the_very_frames_through_a_views_file(tmp_path):
    model, frames, _, rec = _frames()
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"weights")  # the views file keeps the checkpoint's hash
    save_views(ckpt, rec)
    snaps, who = load_views(ckpt, rec)
    assert who["class"].endswith("SurfaceRecorder")
    again = SurfaceFrames.from_snapshots(snaps)
    for name in ("epochs", "points", "labels", "predictions", "loss"):
        a, b = getattr(frames, name), getattr(again, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    for s, t in zip(frames.surfaces, again.surfaces, strict=True):
        assert s.rect == t.rect and s.response_method == t.response_method
        for name in ("xx", "yy", "response", "probs", "labels", "confidence"):
            assert np.array_equal(getattr(s, name), getattr(t, name)), name
    with pytest.raises(ValueError, match="not a SurfaceRecorder's: no loss"):
        SurfaceFrames.from_snapshots({k: v for k, v in snaps.items() if k != "loss"})


def test_recorder_identity_changes_with_what_it_records():
    split = xor_split(n=80)
    a, b = _recorder(split), _recorder(split)
    assert a.identity() == b.identity()
    b.grid_resolution = 13
    assert a.identity() != b.identity()
    c = SurfaceRecorder(split.x_train, 1 - split.y_train, at=a.at, rect=a.rect, grid_resolution=12)
    assert c.identity() != a.identity()  # other labels followed


def test_analysis_never_trains():
    # by module path: vizkit.analysis.decision_surface, the attribute, is the function
    ds = importlib.import_module("vizkit.analysis.decision_surface")
    assert inspect.ismodule(ds) and "SurfaceRecorder" in inspect.getsource(ds)
    tree = ast.parse(inspect.getsource(ds))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module or "" for n in ast.walk(tree)
                                     if isinstance(n, ast.ImportFrom)}
    assert not [m for m in imported if "train" in m.split(".")] and "fit" not in imported
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}
    assert not called & {"fit", "train_model"}


def test_frame_draws_the_snapshot_on_a_fixed_scale(pyplot):
    _, frames, _, _ = _frames()
    out = plot_surface_frame(frames, 2)
    mesh = out["surface"]["mesh"]
    assert mesh.get_clim() == (0.0, 1.0) and out["colorbar"] is not None
    np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(),
                               frames.surfaces[2].probs[..., 1].ravel())
    assert out["axes"][0].get_title().startswith("epoch 2: training accuracy")
    sizes = [t.get_fontsize() for t in out["fig"].findobj(pyplot.Text)
             if t.get_visible() and t.get_text().strip()]
    assert min(sizes) >= 9
    labels = [t.get_text() for t in out["legend"].get_texts()]
    assert labels == ["class 0", "class 1", "classified right", "classified wrong"]


def test_gif_has_every_frame_is_deterministic_and_small(pyplot):
    _, frames, _, _ = _frames()
    gif = surface_animation(frames, dpi=40, fps=5, hold_last=3)
    assert gif == surface_animation(frames, dpi=40, fps=5, hold_last=3)
    assert gif[:6] == b"GIF89a" and len(gif) < 2_000_000
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == len(frames) == 5
        assert im.size == (round(8.6 * 40), round(4.1 * 40))
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        assert durations == [200] * 4 + [600]
        im.seek(0)
        first = np.asarray(im.convert("RGB")).copy()
        im.seek(4)
        assert not np.array_equal(first, np.asarray(im.convert("RGB")))
    with pytest.raises(ValueError, match="`fps` must be > 0"):
        surface_animation(frames, fps=0)
