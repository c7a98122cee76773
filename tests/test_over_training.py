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
    assert rec.values[0] == float(next(init.parameters()).detach().double().sum())
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
    # beside the checkpoint: its views and the cache's record of the bytes vizkit wrote
    assert [f for f in files if not f.endswith((".lock", ".sha256"))] == [
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
    # a replaced checkpoint is caught by the cache's record of its bytes before its views are read
    reason = {"recorder": "recorded by another recorder", "missing": "has no recorded views",
              "other-weights": "not the ones vizkit wrote"}[change]
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


# ---------------------------------------------------------------------------- the over-training family
import ast  # noqa: E402
import inspect  # noqa: E402
import re  # noqa: E402

import importlib  # noqa: E402

# by its module path: a package attribute of the same name could be a function
ot = importlib.import_module("vizkit.analysis.over_training")
from vizkit.figures import NotApplicable, get_family  # noqa: E402

FAMILY = get_family("over-training")
TRAIN = {"epochs": 4, "batch_size": 16, "optimizer": "adam", "lr": 0.01, "patience": None,
         "progress": False, "seed": 0, "refit": False}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny MLP trained through ctx.train with the family's recorder, and its context."""
    tmp = tmp_path_factory.mktemp("ot")
    split = image_split(n=120)
    ctx = _ctx(tmp)
    rec = FAMILY.recorder(split, seed=0, epochs=TRAIN["epochs"])
    net, hist, _ = ctx.train("mlp", "mlp", split, TRAIN, recorder=rec, hidden=(16,))
    return tmp, split, ctx, net


def test_family_recorder_snapshots_at_log_epochs_from_zero(trained):
    _, split, ctx, net = trained
    views = ctx.views(net)
    assert views["epochs"].tolist() == [0, 1, 2, 4] == ot.log_epochs(4)
    n = len(views["labels"])
    assert n == 6 and views["maps"].shape == (4, 6, 8, 8) and views["predictions"].shape == (4, 6)
    assert views["actmax"].shape == (4, len(views["actmax_classes"]), 8, 8)
    assert views["features"].shape == (4, len(views["feature_labels"]), 16)
    # the probes are test images of every class here (3 classes, 6 probes)
    assert set(views["labels"].tolist()) == {0, 1, 2}
    # the snapshot of the best epoch is the kept model (no refit): its features are the net's
    best = ctx.meta(net)["history"]["best_epoch"]
    assert best in (1, 2, 3, 4)
    if best in views["epochs"]:
        points = FAMILY.recorder(split, seed=0).points
        np.testing.assert_allclose(views["features"][views["epochs"].tolist().index(best)],
                                   ot.penultimate_features(net, points), rtol=1e-5, atol=1e-6)


def test_family_replays_a_cached_models_figures_without_training(trained, monkeypatch, pyplot):
    tmp, split, ctx, net = trained
    first = {f.id: f for f in FAMILY.figures(net, split, meta=ctx.meta(net))}
    _no_training(monkeypatch)
    again = _ctx(tmp)
    net2, _, _ = again.train("mlp", "mlp", split, TRAIN,
                             recorder=FAMILY.recorder(split, seed=0, epochs=4), hidden=(16,))
    assert again.n_trained == 0 and again.n_cached == 1
    second = {f.id: f for f in FAMILY.figures(net2, split, meta=again.meta(net2))}
    assert list(first) == ["over-training-attributions", "over-training-actmax",
                           "over-training-embedding"] == list(second)
    for fid in first:
        assert first[fid].caption == second[fid].caption
        for k, v in first[fid].data.items():
            assert np.array_equal(v, second[fid].data[k], equal_nan=True), (fid, k)


def test_captions_numbers_are_the_arrays(trained, pyplot):
    _, split, ctx, net = trained
    figs = {f.id: f for f in FAMILY.figures(net, split, meta=ctx.meta(net))}
    for fid in ("over-training-attributions", "over-training-actmax"):
        f = figs[fid]
        rho, ep = f.data["spearman"], f.data["epochs"].tolist()
        pairs = re.findall(r"(\d+)->(\d+) (-?\d+\.\d\d)", f.caption)
        assert [(int(a), int(b)) for a, b, _ in pairs] == list(zip(ep[:-1], ep[1:]))
        np.testing.assert_allclose([float(v) for *_, v in pairs], np.nanmean(rho, axis=1), atol=0.006)
        stable = ot.stable_after(ep, rho, 0.9)
        if stable is None:
            assert "still change at the last snapshot" in f.caption
        else:
            assert re.search(rf"(change little|barely change) from epoch {stable}\b", f.caption)
        # the drawn measure is the same mean, and the stable epoch line sits at that epoch
    emb = figs["over-training-embedding"]
    pairs = re.findall(r"(\d+)->(\d+) (-?\d+\.\d{3})", emb.caption)
    np.testing.assert_allclose([float(v) for *_, v in pairs], emb.data["disparity"], atol=6e-4)
    att = figs["over-training-attributions"]
    right = (att.data["predictions"] == att.data["labels"]).sum(1)
    assert f"Images classified right: {right[0]} of 6 at epoch 0, {right[-1]} at epoch 4" in att.caption
    for f in figs.values():  # readable: landscape, >= 10 pt, the caption opens with what to see
        w, h = f.fig.get_size_inches()
        sizes = [t.get_fontsize() for t in f.fig.findobj(pyplot.Text)
                 if t.get_visible() and t.get_text().strip()]
        assert w > h and w <= 12.7 and min(sizes) >= 10, (f.id, w, h, min(sizes))
        assert f.caption.split(":")[0].endswith("epoch by epoch")


def test_drawn_maps_and_measure_are_the_results(trained, pyplot):
    from vizkit.plot.over_training import over_training_figure

    _, split, ctx, net = trained
    res = ot.over_training(ctx.views(net))
    out = over_training_figure(res, {"epoch": np.arange(1, 5.0), "val_acc": np.ones(4)},
                               view="attributions", class_names=split.classes)
    grid = out["grid"]
    assert grid["axes"].shape == (6, 1 + 4) and grid["colorbar"] is not None
    shown = np.asarray(grid["images"][3 * 4 + 2].get_array())  # probe 3 (row), epoch index 2
    m = res.maps[2, 3]
    # scaled by its 98th percentile of |attribution|, the top 2 % saturated (scikit-image's
    # rescale_intensity of that range, a second route)
    from skimage.exposure import rescale_intensity

    p98 = np.percentile(np.abs(m), 98)
    want = rescale_intensity(m.astype(np.float64), in_range=(-p98, p98), out_range=(-1.0, 1.0))
    np.testing.assert_allclose(shown, want, rtol=1e-5, atol=1e-7)
    assert np.abs(shown).max() == 1.0 and (np.abs(shown) == 1).sum() <= np.ceil(0.02 * m.size) + 1
    np.testing.assert_allclose(out["change"]["mean"], np.nanmean(res.map_rho, axis=1))
    with pytest.raises(ValueError, match="`view` must be one of 'attributions', 'actmax', 'embedding'"):
        over_training_figure(res, {}, view="maps", class_names=split.classes)


def test_without_views_the_family_says_how_to_record_them(trained):
    _, split, _, net = trained
    with pytest.raises(NotApplicable, match=r"no recorded views; record them by training with "
                                            r"`vizkit train \.\.\. --record-views`"):
        FAMILY.figures(net, split, meta={"history": {}})
    assert "[C, H, W]" in FAMILY.applies(net, xor_split(n=40))


def test_stable_after_hand_worked():
    assert ot.stable_after([0, 1, 2, 4], [[0.2, 0.4], [0.95, 0.9], [0.92, 1.0]]) == 1
    assert ot.stable_after([0, 1, 2, 4], [[0.95], [0.5], [0.99]]) == 2
    assert ot.stable_after([0, 1, 2], [[0.95], [0.95]]) == 0
    assert ot.stable_after([0, 1, 2], [[0.95], [0.89]]) is None
    assert ot.stable_after([0, 1, 2], [[0.95], [0.89]], threshold=0.8) == 0


def test_aligned_pca_undoes_a_rotation_and_measures_disparity():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(50, 6)) * [5, 2, 0.1, 0.1, 0.1, 0.1]
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    emb, disp = ot.aligned_pca([f, f @ q * 3.0, rng.normal(size=(50, 6))])
    assert emb.shape == (3, 50, 2)
    np.testing.assert_allclose(emb[1], emb[0], atol=1e-8)  # a rotated, scaled copy: same picture
    assert disp[0] < 1e-12 and disp[1] > 0.3
    np.testing.assert_allclose(np.linalg.norm(emb[0]), 1.0)


def test_probe_indices_stratified_and_seeded():
    labels = np.repeat(np.arange(10), 20)
    a = ot.probe_indices(labels, 6, seed=0)
    assert len(set(labels[a])) == 6 and np.all(np.diff(labels[a]) > 0)
    assert a.tolist() == ot.probe_indices(labels, 6, seed=0).tolist()
    assert a.tolist() != ot.probe_indices(labels, 6, seed=1).tolist()
    b = ot.probe_indices(labels[:60], 6, seed=0)  # 3 classes: two images of each
    assert sorted(np.bincount(labels[:60][b]).tolist()) == [2, 2, 2] and len(set(b)) == 6
    with pytest.raises(ValueError, match="`n` must be a positive integer. Got 0"):
        ot.probe_indices(labels, 0)


def test_penultimate_features_are_the_last_linear_layers_input():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = torch.tanh(net[0](x)).numpy()
    np.testing.assert_allclose(ot.penultimate_features(net, x, batch_size=3), want, atol=1e-6)
    assert not net[2]._forward_pre_hooks  # the hook is gone
    with pytest.raises(ValueError, match="has no nn.Linear layer"):
        ot.penultimate_features(torch.nn.Conv2d(1, 1, 1), torch.zeros(1, 1, 2, 2))


def test_analysis_trains_nothing_and_plot_computes_nothing():
    for module, banned in ((ot, ("matplotlib", "train", "fit")),
                           (__import__("vizkit.plot.over_training", fromlist=["x"]),
                            ("analysis", "train", "models"))):
        assert inspect.ismodule(module)
        tree = ast.parse(inspect.getsource(module))
        names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                 for a in n.names} | {n.module or "" for n in ast.walk(tree)
                                      if isinstance(n, ast.ImportFrom)}
        assert not [m for m in names for b in banned if b in m.split(".")], (module.__name__, names)
        called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
                  and isinstance(n.func, ast.Name)}
        assert not called & {"fit", "train_model"}


def test_cli_records_views_beside_the_checkpoint_and_analyze_replays_them(tmp_path, capsys):
    from vizkit.cli import main

    run = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--data", "digits", "--out", str(run), "--hidden",
                 "16", "--log-every", "0", "--record-views", "epochs=2", "refit=false"]) == 0
    views, who = load_views(run / "model.pt")
    assert views["epochs"].tolist() == [0, 1, 2] and who["identity"]["at"] == [0, 1, 2]
    assert main(["analyze", str(run / "model.pt"), "--what", "over-training", "--out",
                 str(tmp_path / "figs")]) == 0
    written = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert written == [f"over-training-{v}.{e}" for v in ("actmax", "attributions", "embedding")
                       for e in ("npz", "png")]
    with np.load(tmp_path / "figs" / "over-training-attributions.npz") as z:
        np.testing.assert_array_equal(z["maps"], views["maps"])  # replayed as recorded

    plain = tmp_path / "plain"
    assert main(["train", "--model", "mlp", "--data", "digits", "--out", str(plain), "--hidden",
                 "8", "--log-every", "0", "epochs=1", "refit=false"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(plain / "model.pt"), "--what", "over-training", "--out",
                 str(tmp_path / "none")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any("model.pt has no recorded views (model.views.npz is missing): train it with "
               "`vizkit train ... --record-views`" in line for line in err), err


def test_the_recorder_identity_covers_every_actmax_setting_it_fixes():
    # cached snapshots are keyed by the identity: a setting it leaves out (here the learning
    # rate, whose library default changed) would let stale images pass for new ones
    from vizkit.analysis.over_training import OverTrainingRecorder

    args = (torch.rand(2, 1, 4, 4), [0, 1], torch.rand(3, 1, 4, 4), [0, 1, 0])
    a = OverTrainingRecorder(*args).identity()
    b = OverTrainingRecorder(*args, actmax_lr=0.1).identity()
    assert a != b and a["actmax_lr"] == 0.05
