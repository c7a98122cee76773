import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vizkit.models import PTDeep, build_default
from vizkit.train import (History, TrainConfig, TrainingDiverged, average_precision,
                          confusion_matrix, eval_AP, eval_perf_binary, eval_perf_multi, evaluate,
                          fit, seed_everything, train_model)
from vizkit.train._fit import random_shift

from _toy import image_split, xor_split

QUIET = {"progress": False}


def test_fit_learns_xor_and_history_is_complete():
    split = xor_split()
    seed_everything(0)
    model = PTDeep([2, 16, 2])
    hist = fit(model, split, {"epochs": 40, "lr": 0.01, **QUIET})
    assert isinstance(hist, History)
    assert len(hist.epochs) == 40
    for key in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"):
        assert all(key in e for e in hist.epochs)
    assert hist.series("train_loss")[-1] < hist.series("train_loss")[0]
    assert hist.best["val_acc"] >= 0.9
    assert not model.training  # fit leaves the model in eval mode


def test_same_seed_same_numbers_different_seed_differs():
    split = xor_split()

    def run(seed):
        m, h, _ = train_model("mlp", split, {"epochs": 3, "seed": seed, **QUIET}, hidden=(8,))
        return torch.cat([p.detach().flatten() for p in m.parameters()]), h.series("train_loss")

    p1, l1 = run(1)
    p2, l2 = run(1)
    p3, _ = run(2)
    assert torch.equal(p1, p2) and l1 == l2
    assert not torch.equal(p1, p3)


def test_best_validation_weights_are_kept(tmp_path):
    split = xor_split()
    seed_everything(0)
    model = PTDeep([2, 32, 2])
    # a learning rate that first learns, then wrecks the model: the best epoch's weights must stay
    hist = fit(model, split, {"epochs": 12, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
                              "scheduler": "exponential", "gamma": 1.5, **QUIET})
    best = hist.best_epoch
    from vizkit.train import predict_logits
    from vizkit.train._fit import loss_fn

    val_loss = float(loss_fn(predict_logits(model, split.x_val), split.y_val))
    assert val_loss == pytest.approx(hist.epochs[best - 1]["val_loss"], rel=1e-5)
    assert val_loss == pytest.approx(min(hist.series("val_loss")), rel=1e-5)


def test_early_stopping_with_patience():
    split = xor_split()
    seed_everything(0)
    hist = fit(PTDeep([2, 2]), split, {"epochs": 200, "lr": 0.1, "patience": 2, "min_delta": 1.0,
                                       **QUIET})
    assert hist.stopped_early and len(hist.epochs) == 3 and hist.best_epoch == 1


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
    split = xor_split()
    seed_everything(0)
    model = build_default("mlp", (2,), 2, hidden=(8,))
    ck = tmp_path / "m.pt"
    fit(model, split, {"epochs": 2, **QUIET}, checkpoint=ck)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    bad = split.__class__(**{**split.__dict__, "x_train": split.x_train * float("nan")})
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        fit(model, bad, {"epochs": 2, **QUIET}, checkpoint=ck)
    from vizkit.checkpoint import load

    restored, _ = load(ck)
    for k, v in restored.state_dict().items():
        assert torch.equal(v, good[k])


def test_dataloader_route_equals_tensor_route_for_full_batch():
    split = xor_split()
    cfg = {"epochs": 5, "batch_size": 0, "optimizer": "sgd", "lr": 0.1, **QUIET}
    seed_everything(0)
    a = PTDeep([2, 8, 2])
    b = PTDeep([2, 8, 2])
    b.load_state_dict(a.state_dict())
    fit(a, split, cfg)
    n = len(split.y_train)
    loaders = (DataLoader(TensorDataset(split.x_train, split.y_train), batch_size=n),
               DataLoader(TensorDataset(split.x_val, split.y_val), batch_size=64))
    fit(b, loaders, cfg)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_tensor_batches_cover_each_sample_once_and_leave_the_data_alone():
    from vizkit.train._fit import _TensorBatches

    x = torch.arange(10 * 3, dtype=torch.float32).view(10, 3)
    y = torch.arange(10)
    x0 = x.clone()
    it = _TensorBatches(x, y, 4, seed=0)
    orders = []
    for epoch in (1, 2):
        it.epoch = epoch
        seen = []
        for xb, yb in it:
            assert len(xb) == len(yb) <= 4
            torch.testing.assert_close(xb, x0[yb])  # rows and labels stay paired
            seen += yb.tolist()
        assert sorted(seen) == list(range(10))
        orders.append(seen)
    assert orders[0] != orders[1]  # reshuffled every epoch
    torch.testing.assert_close(x, x0)  # the gather never writes the data
    it.epoch = 1
    assert [yb.tolist() for _, yb in it] == [orders[0][i:i + 4] for i in range(0, 10, 4)]


def test_param_lambda_shrinks_weights():
    split = xor_split()
    norms = []
    for lam in (0.0, 0.1):
        seed_everything(0)
        m = PTDeep([2, 8, 2])
        fit(m, split, {"epochs": 20, "lr": 0.05, "param_lambda": lam, **QUIET})
        norms.append(sum(float((p.detach() ** 2).sum()) for n, p in m.named_parameters() if p.dim() > 1))
    assert norms[1] < 0.5 * norms[0]


def test_bce_for_single_output():
    split = xor_split()
    seed_everything(0)
    m = PTDeep([2, 16, 1])
    hist = fit(m, split, {"epochs": 30, "lr": 0.01, **QUIET})
    assert hist.best["val_acc"] > 0.85


def test_log_line_of_seed_001(capsys):
    split = xor_split()
    fit(PTDeep([2, 2]), split, {"epochs": 1, "batch_size": 10, "log_every": 6, **QUIET})
    out = capsys.readouterr()
    lines = [l for l in (out.out + out.err).splitlines() if "train-loss" in l]
    assert len(lines) == 3 and all("train-err" in l for l in lines)


def test_cnn_trains_on_toy_images_with_shift_augmentation():
    split = image_split()
    # refit off: its fixed epoch count (8 here) is a coin toss on 72 images (0.875 vs 1.0)
    m, hist, metrics = train_model("cnn", split, {"epochs": 20, "batch_size": 16, "lr": 0.01,
                                                  "augment": "shift", "shift_pixels": 1,
                                                  "refit": False, **QUIET},
                                   channels=(4,), hidden=8)
    assert metrics["accuracy"] >= 0.9


def test_random_shift_moves_images_by_at_most_max_shift():
    x = torch.zeros(50, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0
    y = random_shift(x, 2, torch.Generator().manual_seed(0))
    pos = y[:, 0].flatten(1).argmax(1)
    r, c = pos // 9, pos % 9
    assert torch.all((r - 4).abs() <= 2) and torch.all((c - 4).abs() <= 2)
    assert len(set(zip(r.tolist(), c.tolist()))) > 5
    assert torch.all(y.sum((1, 2, 3)) == 1)


@pytest.mark.parametrize("items, message", [
    (["lr=abc"], "option 'lr' must be of type float"),
    (["lrr=0.1"], "unknown training option.*Did you mean 'lr'"),
    (["epochs"], "key=value"),
    (["epochs=1.5"], "option 'epochs' must be of type int"),
])
def test_config_overrides_checked_by_name_and_type(items, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.parse_overrides(items)


def test_config_overrides_typed():
    d = TrainConfig.parse_overrides(["lr=0.5", "epochs=3", "patience=none", "optimizer=sgd",
                                     "progress=false"])
    assert d == {"lr": 0.5, "epochs": 3, "patience": None, "optimizer": "sgd", "progress": False}


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "adagrad"}, "`optimizer` must be one of 'sgd', 'adam', 'adamw'"),
    ({"scheduler": "linear"}, "`scheduler` must be one of"),
    ({"epochs": 0}, "`epochs` must be >= 1"),
    ({"lr": 0}, "`lr` must be > 0"),
    ({"augment": "flip"}, "`augment` must be one of"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_metrics_lab_functions():
    Y_ = np.array([0, 0, 1, 1, 2, 2])
    Y = np.array([0, 1, 1, 1, 2, 0])
    acc, pr, M = eval_perf_multi(Y, Y_)
    assert acc == pytest.approx(4 / 6)
    assert M.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert pr[1] == pytest.approx((1.0, 2 / 3))  # (recall, precision)
    assert pr[2] == pytest.approx((0.5, 1.0))
    assert eval_perf_binary([1, 0, 1, 1], [1, 0, 0, 1]) == pytest.approx((0.75, 1.0, 2 / 3))
    assert eval_AP([0, 0, 1, 1]) == 1.0
    assert eval_AP([1, 0, 0, 0]) == pytest.approx(0.25)
    assert eval_AP([0, 1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    s = rng.random((40, 3))
    y = rng.integers(0, 3, 40)
    ours = average_precision(s, y)
    ref = [average_precision_score(y == c, s[:, c]) for c in range(3)]
    np.testing.assert_allclose(ours, ref)
    assert confusion_matrix([0, 1], [1, 1], 3).shape == (3, 3)


def test_evaluate_returns_plain_values():
    split = xor_split()
    m, _, metrics = train_model("logreg", split, {"epochs": 2, **QUIET})
    for k in ("accuracy", "loss", "precision", "recall", "average_precision", "confusion", "classes"):
        assert k in metrics
    assert np.array(metrics["confusion"]).sum() == len(split.y_test)
    assert metrics["classes"] == ["neg", "pos"]


def test_ptdeep_on_lab_gmm_reaches_095():
    """Seed 002: PTDeep([2, 10, 10, 2]) on sample_gmm_2d(6, 2, 10), param_niter=1e4,
    param_delta=0.1, param_lambda=1e-4, ReLU: full-batch gradient descent."""
    from vizkit.data import Split, fingerprint, sample_gmm_2d

    X, Y = sample_gmm_2d(6, 2, 10, seed=100)
    X, Y = torch.tensor(X, dtype=torch.float32), torch.tensor(Y)
    empty = X[:0]
    split = Split("gmm", X, Y, empty, Y[:0], X, Y, ("0", "1"), (2,), fingerprint(X, Y))
    seed_everything(0)
    m = PTDeep([2, 10, 10, 2])
    fit(m, split, {"epochs": 10_000, "batch_size": 0, "optimizer": "sgd", "lr": 0.1,
                   "param_lambda": 1e-4, **QUIET})
    acc = evaluate(m, X, Y)["accuracy"]
    assert acc >= 0.95


@pytest.mark.slow
def test_torchrun_two_processes_end_with_identical_weights(tmp_path):
    script = tmp_path / "ddp_job.py"
    script.write_text(textwrap.dedent("""
        import os, sys, torch
        torch.set_num_threads(1)
        sys.path.insert(0, sys.argv[2])
        from _toy import xor_split
        from vizkit.models import PTDeep
        from vizkit.train import fit, seed_everything
        seed_everything(0)
        m = PTDeep([2, 8, 2])
        fit(m, xor_split(), {"epochs": 3, "batch_size": 32, "progress": False})
        rank = int(os.environ["RANK"])
        torch.save({k: v for k, v in m.state_dict().items()}, f"{sys.argv[1]}/rank{rank}.pt")
        torch.distributed.destroy_process_group()
    """))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    tests_dir = os.path.dirname(__file__)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node", "2", str(script), str(tmp_path), tests_dir],
                       env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # and training happened: weights moved away from the seeded initialisation
    seed_everything(0)
    init = PTDeep([2, 8, 2]).state_dict()
    assert any(not torch.equal(a[k], init[k]) for k in a)


def test_train_model_records_the_training_images_normalization(tmp_path):
    split = image_split()
    _, _, _ = train_model("logreg", split, {"epochs": 1, **QUIET}, checkpoint=tmp_path / "m.pt")
    from vizkit.checkpoint import load

    model, meta = load(tmp_path / "m.pt")
    mean, std = meta["spec"]["args"]["normalize"]
    assert mean == pytest.approx(float(split.x_train.mean()), abs=1e-4)
    assert std == pytest.approx(float(split.x_train.std()), abs=1e-4)
    assert model.norm.mean.item() == pytest.approx(mean)
    # vector data keeps the raw convention of the lab
    _, _, _ = train_model("logreg", xor_split(), {"epochs": 1, **QUIET}, checkpoint=tmp_path / "v.pt")
    assert "normalize" not in load(tmp_path / "v.pt")[1]["spec"]["args"]


def test_default_config_by_model_and_training_set_size():
    from vizkit.train import default_config

    small = default_config("mlp", n_train=3000)
    large = default_config("mlp", n_train=55_000)
    assert small.augment == "shift" and large.augment is None
    assert small.monitor == large.monitor == "val_acc"
    assert default_config("rbf").scheduler == "cosine"
    assert default_config("mlp", n_train=55_000, augment="shift").augment == "shift"
    assert small.average == large.average == "ema"  # weight averaging at every size
    assert default_config("mlp", average=None).average is None


def _event_scalars(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_tensorboard_writes_per_epoch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboard")
    split = xor_split()
    seed_everything(0)
    model = PTDeep([2, 8, 2])
    hist = fit(model, split, {"epochs": 3, "lr": 0.01, "scheduler": "exponential", "gamma": 0.5,
                              **QUIET}, tensorboard=tmp_path / "tb")
    acc = _event_scalars(tmp_path / "tb")
    scalars = set(acc.Tags()["scalars"])
    assert scalars == {"loss/train", "accuracy/train", "loss/val", "accuracy/val", "lr"}
    for tag, key in [("loss/train", "train_loss"), ("accuracy/val", "val_acc"), ("lr", "lr")]:
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3]
        np.testing.assert_allclose([e.value for e in events], hist.series(key), rtol=1e-6)
    assert [e.value for e in acc.Scalars("lr")] == pytest.approx([0.01, 0.005, 0.0025])
    names = [n for n, _ in model.named_parameters()]
    histos = set(acc.Tags()["histograms"])
    assert histos == {f"weights/{n}" for n in names} | {f"gradients/{n}" for n in names}
    assert [e.step for e in acc.Histograms("weights/layers.0.weight")] == [1, 2, 3]
    last = acc.Histograms("weights/layers.0.weight")[-1].histogram_value
    assert last.num == model.layers[0].weight.numel()


def test_tensorboard_without_validation_logs_train_scalars_only(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    loaders = (DataLoader(TensorDataset(x, y), batch_size=20), None)
    fit(PTDeep([2, 2]), loaders, {"epochs": 2, **QUIET}, tensorboard=tmp_path / "tb")
    acc = _event_scalars(tmp_path / "tb")
    assert set(acc.Tags()["scalars"]) == {"loss/train", "accuracy/train", "lr"}
    assert len(acc.Scalars("loss/train")) == 2


def test_tensorboard_missing_names_the_extra(tmp_path, monkeypatch):
    from vizkit.train._fit import TensorBoardUnavailable

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    model = PTDeep([2, 2])
    with pytest.raises(ImportError, match=r"vizkit\[tensorboard\]") as info:
        fit(model, xor_split(), {"epochs": 1, **QUIET}, tensorboard=tmp_path / "tb")
    assert isinstance(info.value, TensorBoardUnavailable)
    assert isinstance(info.value, ValueError)  # the CLI reports it in one line
    assert not (tmp_path / "tb").exists()


def test_on_epoch_end_sees_each_epochs_weights_in_eval_mode():
    split = xor_split()
    seed_everything(0)
    model = PTDeep([2, 8, 2], dropout=0.2)
    seen = []

    def frame(epoch, m):
        assert m is model
        seen.append((epoch, m.training, [mod.training for mod in m.modules()],
                     m.layers[0].weight.detach().clone()))

    hist = fit(model, split, {"epochs": 5, "lr": 0.05, "monitor": "val_acc", **QUIET},
               on_epoch_end=frame)
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    assert all(not training and not any(flags) for _, training, flags, _ in seen)
    assert all(not torch.equal(a[3], b[3]) for a, b in zip(seen, seen[1:]))  # weights moved
    # the kept weights are those the callback saw at the best epoch
    torch.testing.assert_close(model.layers[0].weight, seen[hist.best_epoch - 1][3])


def test_on_epoch_end_stops_with_early_stopping():
    split = xor_split()
    seed_everything(0)
    epochs = []
    hist = fit(PTDeep([2, 2]), split, {"epochs": 200, "lr": 0.1, "patience": 2, "min_delta": 1.0,
                                       **QUIET}, on_epoch_end=lambda e, m: epochs.append(e))
    assert hist.stopped_early and epochs == [1, 2, 3]


def test_helpers_restore_every_modules_training_flag():
    from vizkit.train import predict_logits

    model = PTDeep([2, 8, 2], dropout=0.5).train()
    model.layers[2].eval()  # a mixed state must come back exactly
    before = [m.training for m in model.modules()]
    predict_logits(model, torch.randn(5, 2))
    assert [m.training for m in model.modules()] == before


def test_cli_train_tensorboard_flag(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tensorboard")
    from vizkit.cli import main

    tb = tmp_path / "tb"
    rc = main(["train", "--model", "logreg", "--data", "gmm-2d", "--out", str(tmp_path / "run"),
               "--log-every", "0", "--tensorboard", str(tb), "epochs=2", "progress=false"])
    assert rc == 0
    acc = _event_scalars(tb)
    assert len(acc.Scalars("accuracy/val")) == len(acc.Scalars("loss/train")) == 2
    # without tensorboard installed: one line naming the extra, no traceback
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    capsys.readouterr()
    rc = main(["train", "--model", "logreg", "--data", "gmm-2d", "--out", str(tmp_path / "run2"),
               "--tensorboard", str(tmp_path / "tb2"), "epochs=1", "progress=false"])
    err = capsys.readouterr().err
    assert rc == 2 and "vizkit[tensorboard]" in err and "Traceback" not in err
