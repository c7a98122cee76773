"""The decision surface over training: snapshots from fit's callback, and the GIF of them."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from tests._toy import xor_split
from vizkit.analysis.decision_surface import (SurfaceRecorder, decision_surface,
                                              training_surfaces)
from vizkit.models import PTDeep
from vizkit.plot.animation import plot_surface_frame, surface_animation

CFG = {"epochs": 12, "batch_size": 0, "optimizer": "sgd", "lr": 0.5, "momentum": 0.9,
       "patience": None, "progress": False, "seed": 0}


def _frames(seed=0):
    torch.manual_seed(seed)
    model = PTDeep([2, 6, 2])
    frames, hist = training_surfaces(model, xor_split(n=80), CFG, n_frames=4,
                                     grid_resolution=12)
    return model, frames, hist


def test_snapshots_at_log_spaced_epochs_end_with_the_last_weights():
    model, frames, hist = _frames()
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
    _, a, _ = _frames(0)
    _, b, _ = _frames(0)
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
    with pytest.raises(ValueError, match="no snapshot yet"):
        SurfaceRecorder(np.zeros((2, 2)), [0, 1]).result()


def test_training_surfaces_errors():
    from tests._toy import image_split

    with pytest.raises(ValueError, match=r"needs 2D inputs.*Got input shape \(1, 8, 8\)"):
        training_surfaces(PTDeep([64, 3]), image_split(), CFG)
    with pytest.raises(ValueError, match="`spacing` must be one of 'log', 'linear'"):
        training_surfaces(PTDeep([2, 2]), xor_split(), CFG, spacing="geo")


def test_frame_draws_the_snapshot_on_a_fixed_scale(pyplot):
    _, frames, _ = _frames()
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
    _, frames, _ = _frames()
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
