import json
import subprocess
import sys

import pytest

from vizkit.cli import main


def test_train_then_evaluate_on_gmm(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--model", "mlp", "--data", "gmm-2d", "--out", str(out), "--log-every", "0",
               "epochs=5", "progress=false"])
    assert rc == 0
    assert (out / "model.pt").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and len(metrics["confusion"]) == 2
    summary = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert summary["epochs_run"] == 5
    rc = main(["evaluate", str(out / "model.pt")])
    text = capsys.readouterr().out
    assert rc == 0 and "test accuracy" in text and "confusion" in text


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "resnet", "--data", "gmm-2d", "--out", "x"], "--model must be one of"),
    (["train", "--model", "mlp", "--data", "gmm-2d", "--out", "x", "lrr=1"], "unknown training option"),
    (["train", "--model", "mlp", "--data", "nope", "--out", "x"], "nope"),
    (["train", "--model", "cnn", "--data", "gmm-2d", "--out", "x"], "square image inputs"),
])
def test_train_errors_are_clear(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_analyze_unknown_family_and_not_applicable(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "mlp", "--data", "gmm-2d", "--out", str(out), "--log-every", "0",
                 "epochs=2", "progress=false"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(out / "model.pt"), "--what", "weigths", "--out", str(tmp_path / "f")]) == 2
    assert "--what must be among" in capsys.readouterr().err
    assert main(["analyze", str(out / "model.pt"), "--what", "bottleneck", "--out", str(tmp_path / "f")]) == 2
    assert "not applicable" in capsys.readouterr().err
    assert main(["analyze", str(out / "model.pt"), "--what", "decision-surface", "--out",
                 str(tmp_path / "f")]) == 0
    pngs = list((tmp_path / "f").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_datasets_lists_sources(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "mnist-5k", "digits", "gmm-2d"):
        assert name in out
    assert "mnist-5k" in out and "offline: yes" in out


def test_console_script_help():
    r = subprocess.run([sys.executable, "-m", "vizkit", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for verb in ("train", "evaluate", "analyze", "gallery", "layers", "datasets"):
        assert verb in r.stdout


def test_layers_of_checkpoint_and_torchvision(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "logreg", "--data", "digits", "--out", str(out), "--log-every", "0",
                 "epochs=1", "progress=false"]) == 0
    capsys.readouterr()
    assert main(["layers", str(out / "model.pt")]) == 0
    text = capsys.readouterr().out
    assert "PTLogreg" in text and "10" in text
    assert main(["layers", "torchvision:resnet18"]) == 0
    text = capsys.readouterr().out
    assert "layer4.1.conv2" in text and "[1, 512, 7, 7]" in text.replace("(", "[").replace(")", "]")
    assert main(["layers", "torchvision:resnet19"]) == 2
    assert "resnet18" in capsys.readouterr().err


# ---------------------------------------------------------------- expected failures: exit 2, one line
import errno
import os

import numpy as np

import vizkit.cli as cli
from vizkit import checkpoint


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A vector-data checkpoint (gmm-2d) and an image one (digits, 1x8x8), trained once."""
    root = tmp_path_factory.mktemp("runs")
    for name, data in (("gmm", "gmm-2d"), ("img", "digits")):
        assert main(["train", "--model", "logreg", "--data", data, "--out", str(root / name),
                     "--log-every", "0", "epochs=1", "progress=false"]) == 0
    return root


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert message in lines[0], err


TRAIN = ["train", "--model", "logreg", "--data", "gmm-2d", "--out", "run", "--log-every", "0"]

# each is refused by name before any data is loaded
TRAIN_OPTIONS = [
    ("lr=inf", "`lr` must be > 0 and finite. Got inf instead."),
    ("lr=nan", "`lr` must be > 0 and finite"),
    ("gamma=0", "`gamma` must be > 0 and finite"),
    ("gamma=-0.5", "`gamma` must be > 0 and finite"),
    ("param_lambda=-1", "`param_lambda` must be >= 0 and finite. Got -1.0 instead."),
    ("min_delta=nan", "`min_delta` must be >= 0 and finite. Got nan instead."),
    ("shift_pixels=-1", "`shift_pixels` must be >= 0. Got -1 instead."),
    ("momentum=-0.9", "`momentum` must be >= 0 and finite"),
    ("weight_decay=-1e-4", "`weight_decay` must be >= 0 and finite"),
    ("device=bogus", "`device` must name a torch device such as 'cpu'"),
    ("device=cuda:7", "`device` 'cuda:7' is not on this machine"),
    ("epochs=0", "`epochs` must be >= 1"),
    ("lrr=1", "unknown training option(s) 'lrr'. Did you mean 'lr'?"),
    ("epochs=two", "option 'epochs' must be of type int. Got 'two' instead."),
]


@pytest.mark.parametrize("option, message", TRAIN_OPTIONS)
def test_train_options_refused_before_data_loads(option, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_load_data", lambda *a, **k: pytest.fail("data loaded"))
    assert main([*TRAIN, option]) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "run").exists()


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "run/model.pt")


def _read_only(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied", "run")


TRAIN_FAILURES = [
    ([*TRAIN, "lr=1e30", "optimizer=sgd", "epochs=3"], None,
     "the training loss became nan at epoch 1"),
    ([*TRAIN, "epochs=1"], ("vizkit.checkpoint.atomic_write_bytes", _no_space),
     "No space left on device: run/model.pt"),
    ([*TRAIN, "epochs=1"], ("os.mkdir", _read_only), "Permission denied: run"),
    (["train", "--model", "logreg", "--data", "digits", "--out", "run", "shift_pixels=8",
      "augment=shift"], None, "`shift_pixels` must be smaller than the images (8 pixels). Got 8"),
    ([*TRAIN, "--seed", "1", "seed=2"], None, "seed is given twice with different values"),
    (["train", "--model", "resnet", "--data", "gmm-2d", "--out", "run"], None, "--model must be one of"),
    (["train", "--model", "mlp", "--data", "nope", "--out", "run"], None, "nope"),
    (["train", "--model", "cnn", "--data", "gmm-2d", "--out", "run"], None, "square image inputs"),
]


@pytest.mark.parametrize("argv, patch, message", TRAIN_FAILURES)
def test_train_failures_are_one_line_and_leave_no_out_folder(argv, patch, message, capsys,
                                                             tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if patch:
        monkeypatch.setattr(*patch)
    assert main([*argv, "progress=false"]) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "run").exists()


def test_out_that_is_a_file_is_refused_for_train_and_analyze(runs, capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("keep me")
    assert main([*TRAIN[:-4], "--out", str(f), "--log-every", "0"]) == 2
    _one_line_error(capsys, "exists and is not a folder")
    assert main(["analyze", str(runs / "gmm" / "model.pt"), "--out", str(f)]) == 2
    _one_line_error(capsys, "exists and is not a folder")
    assert f.read_text() == "keep me"


def _malformed(tmp_path):
    files = {}
    files["text"] = tmp_path / "text.pt"
    files["text"].write_text("not a checkpoint\n")
    p = checkpoint.save(tmp_path / "nospec.pt", __import__("vizkit.models").models.PTDeep([2, 3]))
    import io

    import torch

    payload = torch.load(p, weights_only=True)
    del payload["spec"]
    buf = io.BytesIO()
    torch.save(payload, buf)
    p.write_bytes(buf.getvalue())
    files["nospec"] = p
    return files


CHECKPOINT_FAILURES = [
    (lambda r, t: ["evaluate", str(r / "img" / "model.pt"), "--data", "gmm-2d"],
     "takes examples of shape [1, 8, 8], but data 'gmm-2d' has [2]"),
    (lambda r, t: ["evaluate", str(t / "missing.pt")], "no checkpoint at"),
    (lambda r, t: ["evaluate", str(_malformed(t)["text"])], "could not be read as a checkpoint"),
    (lambda r, t: ["evaluate", str(_malformed(t)["nospec"])], "the checkpoint has no 'spec'"),
    (lambda r, t: ["analyze", str(_malformed(t)["text"]), "--out", str(t / "figs")],
     "could not be read as a checkpoint"),
    (lambda r, t: ["layers", str(_malformed(t)["nospec"])], "the checkpoint has no 'spec'"),
    (lambda r, t: ["layers", "torchvision:resnet18", "--input-shape", "1,2"],
     "torchvision:resnet18 cannot run on an input of shape [1, 1, 2]"),
    (lambda r, t: ["analyze", str(r / "gmm" / "model.pt"), "--what", "weigths", "--out",
                   str(t / "figs")], "--what must be among"),
]


@pytest.mark.parametrize("make_argv, message", CHECKPOINT_FAILURES)
def test_checkpoint_verbs_fail_in_one_line(make_argv, message, runs, capsys, tmp_path):
    assert main(make_argv(runs, tmp_path)) == 2
    _one_line_error(capsys, message)
    assert not (tmp_path / "figs").exists()


@pytest.mark.parametrize("argv, usage, message", [
    (["train", "--model", "mlp", "--out", "x", "--hidden", "abc"], "usage: vizkit train",
     "--hidden must be comma-separated positive integers such as 360,187. Got 'abc' instead."),
    (["analyze", "m.pt", "--out", "x", "--bogus"], "usage: vizkit analyze",
     "unrecognized arguments: --bogus"),
    (["layers", "torchvision:resnet18", "--input-shape", "3,x"], "usage: vizkit layers",
     "--input-shape must be comma-separated positive integers"),
])
def test_flag_errors_show_the_verbs_usage(argv, usage, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and message in err and "Traceback" not in err


def test_ctrl_c_in_the_first_second_is_one_line(monkeypatch, capsys):
    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_threads", interrupt)
    assert main(["datasets"]) == 2
    _one_line_error(capsys, "vizkit datasets: interrupted")


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    def bug():
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_threads", bug)
    with pytest.raises(ZeroDivisionError):
        main(["datasets"])


def test_console_script_prints_no_traceback_for_a_bad_option(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vizkit", *TRAIN, "lr=inf"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == "vizkit train: error: `lr` must be > 0 and finite. Got inf instead."


def test_seed_and_log_every_as_key_value(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "logreg", "--data", "gmm-2d", "--out", str(out), "seed=3",
                 "log_every=5", "epochs=1", "progress=false"]) == 0
    assert "step 5: train-loss" in capsys.readouterr().out
    _, meta = checkpoint.load(out / "model.pt")
    assert meta["seed"] == 3 and meta["config"]["seed"] == 3 and meta["config"]["log_every"] == 5


def _refuse_constant(name):
    raise AssertionError(f"bare {name} in JSON")


def test_json_written_is_strict(runs):
    text = (runs / "gmm" / "metrics.json").read_text()
    metrics = json.loads(text, parse_constant=_refuse_constant)
    assert metrics["n"] == 120
    assert json.loads(cli._json_bytes({"a": float("nan"), "b": [float("inf"), 1.5]})) == \
        {"a": None, "b": [None, 1.5]}


def test_training_on_zero_examples_is_refused():
    import dataclasses

    from vizkit.data import load
    from vizkit.train import train_model

    split = load("gmm-2d")
    empty = dataclasses.replace(split, x_train=split.x_train[:0], y_train=split.y_train[:0])
    with pytest.raises(ValueError, match="the training part of 'gmm-2d' has no examples"):
        train_model("logreg", empty, {"epochs": 1, "progress": False})


def test_analyze_writes_png_and_npz_pairs_inside_out(runs, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["analyze", str(runs / "gmm" / "model.pt"), "--what", "decision-surface",
                 "--out", str(out)]) == 0
    pngs = sorted(p.stem for p in out.glob("*.png"))
    npzs = sorted(p.stem for p in out.glob("*.npz"))
    assert pngs and pngs == npzs
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{s}.png" for s in pngs] +
                                                           [f"{s}.npz" for s in npzs])
    # the arrays are those of the figures the registry makes (a second route)
    from vizkit.data import load
    from vizkit.figures import make_figures

    model, meta = checkpoint.load(runs / "gmm" / "model.pt")
    figs = make_figures("decision-surface", model, load("gmm-2d"), meta=meta, seed=0)
    assert [f.id for f in figs] == npzs
    for f in figs:
        with np.load(out / f"{f.id}.npz", allow_pickle=False) as z:
            assert sorted(z.files) == sorted(f.data) and z.files
            for k in z.files:
                want = np.asarray(f.data[k])
                if want.dtype == np.float64:  # the writer keeps float32
                    want = want.astype(np.float32)
                np.testing.assert_array_equal(z[k], want)
        import matplotlib.pyplot as plt

        plt.close(f.fig)
    assert os.listdir(tmp_path) == ["figs"]
