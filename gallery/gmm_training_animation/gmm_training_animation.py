"""The decision surface of PTDeep [2,10,10,2] frame by frame while it trains (seed 002's animation).

Run: ``python recipes/gmm_training_animation.py`` (or ``vizkit gallery --only gmm_training_animation``).

Shows an animated GIF: the lab's ``graph_surface`` view (P(class 1) in grey on a fixed 0-1
scale, its 0.5 contour) and the training points (colour = true class, circle right, square
wrong) after 0, 1, 2, ... epochs of the lab's training on ``sample_gmm_2d(6, 2, 10)``, with the
loss and accuracy so far beside it. Frames are spaced geometrically over the epochs (dense at the
start, where the surface moves most); a recorder passed to ``ctx.train`` takes each snapshot while
the model trains, and a cached model replays them without training.
"""

import dataclasses

import numpy as np
import torch

from vizkit.analysis.decision_surface import SurfaceFrames, SurfaceRecorder, snapshot_epochs
from vizkit.data import fingerprint
from vizkit.plot.animation import surface_animation
from vizkit.train import TrainConfig

ORDER = 12
TOPIC = "Classifiers on 2D data"
#: The lab's training (full-batch SGD, step 0.1, momentum 0.9 so that 500 steps do the work of
#: the lab's 10,000; L2 param_lambda; no early stopping).
LAB = {"epochs": 500, "batch_size": 0, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
       "param_lambda": 1e-4, "patience": None}
DATA = dict(K=6, C=2, N=10)


def lab_split(split):
    """Train on train + val, as the lab does, and let 'validation' be the training data."""
    x, y = torch.cat([split.x_train, split.x_val]), torch.cat([split.y_train, split.y_val])
    return dataclasses.replace(split, x_train=x, y_train=y, x_val=x, y_val=y,
                               fingerprint=fingerprint(x, y, split.x_test, split.y_test))


def setbacks(epochs, accuracy, loss, predictions, *, drop: float = 0.1,
             jump: float = 1.25) -> list[str]:
    """What a viewer must not miss between the first and the last frame: each run of frames
    whose training accuracy falls ``drop`` or more below the best so far (and whether every point
    was then predicted as one class), and the largest loss jump (a frame whose loss is ``jump``
    times the previous one's or more)."""
    epochs, acc, loss = np.asarray(epochs), np.asarray(accuracy, float), np.asarray(loss, float)
    out, best, i = [], 0, 0
    while i < len(acc):
        if acc[i] <= acc[best] - drop:
            j = i
            while j + 1 < len(acc) and acc[j + 1] <= acc[best] - drop:
                j += 1
            low = i + int(np.argmin(acc[i:j + 1]))
            lows = [k for k in range(i, j + 1) if acc[k] == acc[low]]
            at = (f"epoch {epochs[lows[0]]}" if len(lows) == 1
                  else f"epochs {', '.join(str(epochs[k]) for k in lows)}")
            one = [np.unique(np.asarray(predictions[k])) for k in lows]
            alone = (f", every point predicted class {int(one[0][0])}"
                     if all(len(u) == 1 and u[0] == one[0][0] for u in one) else "")
            span = ("" if i == j
                    else f" (below {acc[best]:.0%} from epoch {epochs[i]} to {epochs[j]})")
            out.append(f"it falls back from {acc[best]:.0%} (epoch {epochs[best]}) to "
                       f"{acc[low]:.0%} at {at}{alone}{span}")
            i = j + 1
            continue
        if acc[i] > acc[best]:
            best = i
        i += 1
    ratios = loss[1:] / np.maximum(loss[:-1], 1e-12)
    if len(ratios) and ratios.max() >= jump:
        k = int(np.argmax(ratios)) + 1
        out.append(f"the loss jumps from {loss[k - 1]:.3f} to {loss[k]:.3f} at epoch {epochs[k]}")
    return out


def caption(frames, cfg) -> str:
    acc, ep = frames.accuracy, frames.epochs
    reached = int(ep[np.argmax(acc >= acc[-1])])
    bumps = setbacks(ep, acc, frames.loss, frames.predictions)
    road = ("not steadily: " + "; ".join(bumps) if bumps else "without a setback")
    return (f"Watch the boundary bend around the classes as training accuracy goes from "
            f"{acc[0]:.0%} to {acc[-1]:.0%} (first reached at epoch {reached}), {road}. "
            f"PTDeep [2,10,10,2] on sample_gmm_2d({DATA['K']}, {DATA['C']}, {DATA['N']}) "
            f"({len(frames.labels)} training points), full-batch SGD with lr {cfg['lr']}, "
            f"momentum {cfg['momentum']}, param_lambda {cfg['param_lambda']:g}: {len(frames)} "
            f"frames at epochs {', '.join(map(str, ep[:6]))}, ..., {ep[-1]} (spaced on a log "
            "scale, each shown for the same time, so early epochs pass slowly); the loss goes "
            f"from {frames.loss[0]:.3f} to {frames.loss[-1]:.3f}.")


def run(ctx):
    split = lab_split(ctx.data("gmm-2d", **DATA))
    cfg = {**LAB, "seed": ctx.seed, "progress": False}
    # 40 frames after epoch 0, over the training points and the test points' box
    rec = SurfaceRecorder(split.x_train, split.y_train, at=snapshot_epochs(LAB["epochs"], 40),
                          rect=torch.cat([split.x_train, split.x_test]).numpy(), grid_resolution=120)
    model, _, _ = ctx.train("ptdeep", "mlp", split, TrainConfig.from_dict(cfg), recorder=rec,
                            hidden=(10, 10))
    frames = SurfaceFrames.from_snapshots(ctx.views(model))
    gif = surface_animation(frames)
    ctx.animation("training-surface", gif, caption(frames, cfg), min_font=9.0, data={
        "epochs": frames.epochs, "x": frames.surfaces[0].xx[0], "y": frames.surfaces[0].yy[:, 0],
        # P(class 1) in [0, 1]: float16 keeps 3 decimals at half the size of float32
        "field": np.stack([s.field() for s in frames.surfaces]).astype(np.float16),
        "points": frames.points, "labels": frames.labels, "predictions": frames.predictions,
        "loss": frames.loss, "accuracy": frames.accuracy})
    ctx.metric("frames", len(frames))
    ctx.metric("GIF size (KB)", round(len(gif) / 1024))
    ctx.metric("final training accuracy", float(frames.accuracy[-1]), headline=True)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
