import io
import os

import pytest
import torch

from vizkit import checkpoint
from vizkit.checkpoint import CheckpointError, atomic_write_bytes
from vizkit.models import build, build_default, default_spec


def _model():
    torch.manual_seed(0)
    return build_default("mlp", (1, 28, 28), 10, hidden=(16,))


def test_roundtrip_rebuilds_model_in_eval_mode_with_meta(tmp_path):
    m = _model().train()
    p = checkpoint.save(tmp_path / "a" / "m.pt", m, config={"lr": 0.1}, seed=3,
                        history={"epochs": [{"val_acc": 0.5}]}, data={"fingerprint": "abc"})
    m2, meta = checkpoint.load(p)
    assert not m2.training
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(m.eval()(x), m2(x))
    assert meta["config"] == {"lr": 0.1} and meta["seed"] == 3
    assert meta["data"]["fingerprint"] == "abc"
    assert meta["spec"]["class"] == "PTDeep"
    assert meta["versions"]["torch"] and meta["versions"]["vizkit"]
    # normalization travels inside the weights: a checkpoint knows its input convention
    assert m2.norm.std.item() == pytest.approx(0.3081)


def test_meta_must_be_plain_data(tmp_path):
    with pytest.raises(TypeError, match="plain data"):
        checkpoint.save(tmp_path / "m.pt", _model(), bad=object())


def test_model_without_spec_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no spec"):
        checkpoint.save(tmp_path / "m.pt", torch.nn.Linear(2, 2))


def test_not_a_checkpoint_pickle_is_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = tmp_path / "evil.pt"
    torch.save({"format": "vizkit-checkpoint", "x": Evil()}, p)
    with pytest.raises(CheckpointError, match="not a vizkit checkpoint"):
        checkpoint.load(p)
    assert not marker.exists()


def test_plain_torch_file_is_not_a_checkpoint(tmp_path):
    p = tmp_path / "sd.pt"
    torch.save(_model().state_dict(), p)
    with pytest.raises(CheckpointError, match="not a vizkit checkpoint"):
        checkpoint.load(p)


def test_truncated_file(tmp_path):
    p = checkpoint.save(tmp_path / "m.pt", _model())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="could not be read"):
        checkpoint.load(p)


def test_shapes_that_do_not_match_spec(tmp_path):
    m = _model()
    p = checkpoint.save(tmp_path / "m.pt", m)
    payload = torch.load(p, weights_only=True)
    payload["spec"] = default_spec("mlp", (1, 28, 28), 10, hidden=(32,))
    buf = io.BytesIO()
    torch.save(payload, buf)
    p.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match=r"shape mismatch layers\.0\.weight: checkpoint \[16, 784\], spec \[32, 784\]"):
        checkpoint.load(p)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        checkpoint.load("does/not/exist.pt")


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["f.bin"]  # no temporary left behind
