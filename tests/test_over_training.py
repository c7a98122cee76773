"""Views over training: recorders during training, their snapshots stored beside the checkpoint and
replayed from the gallery's cache without training, and the over-training family."""

import numpy as np
import pytest
import torch

import vizkit.train
import vizkit.train._run
from tests._toy import image_split, xor_split
from vizkit.gallery._context import RecipeContext
from vizkit.train import NoViews, load_views, save_views, train_model, views_path

QUICK = {"epochs": 4, "batch_size": 16, "optimizer": "sgd", "lr": 0.1, "patience": None,
         "progress": False, "seed": 0}


class WeightRecorder:
    """Records the first layer's weight sum at chosen epochs, and draws random numbers while it
    does (as an activation-maximization recorder would), which must not reach the training."""

    def __init__(self, at=(0, 1, 2, 4), tag="a"):
        self.at, self.tag = list(at), tag
        self.epochs, self.values = [], []

    def on_epoch_end(self, epoch, model):
        torch.randn(5)
        np.random.rand(3)
        if epoch in self.at:
            self.epochs.append(epoch)
            self.values.append(float(next(model.parameters()).detach().double().sum()))

    def snapshots(self):
        return {"epochs": np.asarray(self.epochs), "values": np.asarray(self.values)}

    def identity(self):
        return {"at": self.at, "tag": self.tag}


def _ctx(tmp_path, log=None):
    return RecipeContext("views_test", source="# recipe", out=tmp_path / "out",
                         cache_dir=tmp_path / "cache", data=None, seed=0,
                         log=(log.append if log is not None else None))


def _no_training(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("trained although the model and its views are cached")

    monkeypatch.setattr(vizkit.train, "train_model", refuse)
    monkeypatch.setattr(vizkit.train._run, "fit", refuse)


def test_recorder_sees_epoch_zero_and_the_chosen_epochs_and_never_changes_the_training(tmp_path):
    split = xor_split(n=80)
    # dropout draws from the global generator every step: a recorder drawing too would shift it
    spec = {"class": "PTDeep", "args": {"config": [2, 8, 2], "dropout": 0.3}}
    rec = WeightRecorder()
    net, hist, _ = train_model(spec, split, QUICK, recorder=rec)
    plain, hist0, _ = train_model(spec, split, QUICK)
    assert rec.epochs == [0, 1, 2, 4]
    for a, b in zip(net.state_dict().values(), plain.state_dict().values()):
        assert torch.equal(a, b)
    assert hist.series("train_loss") == hist0.series("train_loss")
    # epoch 0 is the initial weights: the same seed builds them again
    torch.manual_seed(0)
    init = vizkit.models.build(spec)
    assert rec.values[0] == float(next(init.parameters()).double().sum())
    assert rec.values[1] != rec.values[0]


def test_a_recorder_needs_identity():
    class Bare:
        def on_epoch_end(self, epoch, model):
            pass

        def snapshots(self):
            return {}

    with pytest.raises(TypeError, match="recorder needs the methods .* Got Bare without identity"):
        train_model("mlp", xor_split(n=40), QUICK, recorder=Bare(), hidden=(4,))


def test_cached_model_replays_its_snapshots_without_training(tmp_path, monkeypatch):
    split = xor_split(n=80)
    ctx = _ctx(tmp_path)
    rec = WeightRecorder()
    net, hist, _ = ctx.train("m", "mlp", split, QUICK, recorder=rec, hidden=(6,))
    first = ctx.views(net)
    assert ctx.n_trained == 1 and first["epochs"].tolist() == [0, 1, 2, 4]
    files = sorted(p.name for p in (tmp_path / "cache" / "views_test").iterdir())
    assert [f for f in files if not f.endswith(".lock")] == [
        files[0], files[0].replace(".pt", ".views.npz")] and files[0].endswith(".pt")

    _no_training(monkeypatch)
    again = _ctx(tmp_path)
    rec2 = WeightRecorder()
    net2, hist2, _ = again.train("m", "mlp", split, QUICK, recorder=rec2, hidden=(6,))
    assert again.n_trained == 0 and again.n_cached == 1
    assert rec2.epochs == []  # nothing was run: the snapshots come from the file
    replay = again.views(net2)
    assert set(replay) == set(first)
    for k in first:
        assert replay[k].dtype == first[k].dtype and np.array_equal(replay[k], first[k])
    assert hist2.series("val_loss") == hist.series("val_loss")


@pytest.mark.parametrize("change", ["recorder", "missing", "other-weights"])
def test_views_that_do_not_match_train_again(tmp_path, change):
    split = xor_split(n=80)
    net, _, _ = _ctx(tmp_path).train("m", "mlp", split, QUICK, recorder=WeightRecorder(),
                                     hidden=(6,))
    ckpt = next((tmp_path / "cache" / "views_test").glob("*.pt"))
    rec = WeightRecorder()
    if change == "recorder":
        rec = WeightRecorder(at=(0, 3))
    elif change == "missing":
        views_path(ckpt).unlink()
    else:  # views recorded for a checkpoint that has since been replaced
        ckpt.write_bytes(ckpt.read_bytes() + b"\0")
    log = []
    ctx = _ctx(tmp_path, log)
    net2, _, _ = ctx.train("m", "mlp", split, QUICK, recorder=rec, hidden=(6,))
    assert ctx.n_trained == 1
    reason = {"recorder": "recorded by another recorder", "missing": "has no recorded views",
              "other-weights": "other weights"}[change]
    msg = next(m for m in log if "cached" in m)
    assert "training again" in msg and reason in msg, log
    assert ctx.views(net2)["epochs"].tolist() == rec.at
    assert load_views(ckpt, rec)[0]["epochs"].tolist() == rec.at  # the file now matches


def test_model_without_recorder_has_no_views(tmp_path):
    ctx = _ctx(tmp_path)
    net, _, _ = ctx.train("m", "mlp", xor_split(n=80), QUICK, hidden=(6,))
    with pytest.raises(ValueError, match="no recorded views: pass recorder=... to ctx.train"):
        ctx.views(net)
    ckpt = next((tmp_path / "cache" / "views_test").glob("*.pt"))
    with pytest.raises(NoViews, match=r"has no recorded views \(.*\.views\.npz is missing\): "
                                      r"train it with `vizkit train \.\.\. --record-views`"):
        load_views(ckpt)


def test_views_file_rejects_bad_snapshots(tmp_path):
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"x")

    class Empty(WeightRecorder):
        def snapshots(self):
            return {}

    with pytest.raises(ValueError, match="recorded nothing"):
        save_views(ckpt, Empty())
    assert not views_path(ckpt).exists()
    views_path(ckpt).write_bytes(b"not a zip")
    with pytest.raises(NoViews, match="is not a readable views file"):
        load_views(ckpt)
