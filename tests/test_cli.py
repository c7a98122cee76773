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
