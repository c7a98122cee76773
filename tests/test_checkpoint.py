import io
import json
import os
import struct
import zipfile

import pytest
import torch

from vizkit import checkpoint
from vizkit.checkpoint import CheckpointError, atomic_write_bytes
from vizkit.models import (ConvNet, Normalize, PTDeep, PTLogreg, RBFLayer, RBFNet, build,
                           build_default, default_spec, spec_of)


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


def test_model_of_no_vizkit_class_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Linear is not a vizkit model class"):
        checkpoint.save(tmp_path / "m.pt", torch.nn.Linear(2, 2))


class _Sub(PTDeep):
    pass


def test_subclass_of_a_vizkit_class_is_refused(tmp_path):
    with pytest.raises(ValueError, match="_Sub is not a vizkit model class"):
        checkpoint.save(tmp_path / "m.pt", _Sub([2, 3]))


def test_changed_model_does_not_match_its_spec(tmp_path):
    m = PTDeep([2, 3, 2])
    m.layers[0] = torch.nn.Linear(2, 4)
    with pytest.raises(ValueError, match=r"spec does not rebuild this model \(shape mismatch"):
        checkpoint.save(tmp_path / "m.pt", m)


# every class of vizkit.models, built by its own constructor, and an input it takes
CLASS_BUILT = [
    (lambda: PTDeep([2, 10, 2]), (5, 2)),
    (lambda: PTDeep([4, 8, 3], "tanh", True, 0.2, normalize=(0.5, 2.0)), (5, 4)),
    (lambda: PTLogreg(6, 3), (5, 6)),
    (lambda: ConvNet(1, 4, 8, channels=(3,), hidden=5), (2, 1, 8, 8)),
    (lambda: RBFLayer(2, 7), (5, 2)),
    (lambda: RBFNet(1, 3, 8, channels=(4,), n_centers=6), (3, 1, 8, 8)),
    (lambda: Normalize(0.2, 0.5), (3, 4)),
]


@pytest.mark.parametrize("make, shape", CLASS_BUILT)
def test_class_built_models_round_trip(make, shape, tmp_path):
    torch.manual_seed(1)
    m = make().train()
    for p_ in m.parameters():  # weights that differ from any fresh initialization
        p_.data.add_(torch.rand_like(p_))
    p = checkpoint.save(tmp_path / "m.pt", m)
    m2, meta = checkpoint.load(p)
    assert type(m2) is type(m) and not m2.training
    assert meta["spec"] == {"class": type(m).__name__, "args": m.model_args}
    x = torch.rand(*shape)
    torch.testing.assert_close(m.eval()(x), m2(x), rtol=0, atol=0)
    assert all(t.device.type == "cpu" for t in m2.state_dict().values())
    assert all(q.requires_grad for q in m2.parameters())


def test_model_args_record_every_constructor_argument():
    m = PTDeep([2, 10, 2], activation="tanh")
    assert m.model_args == {"config": [2, 10, 2], "activation": "tanh", "batchnorm": False,
                            "dropout": 0.0, "normalize": None}
    assert type(m)(**m.model_args).config == [2, 10, 2]
    assert spec_of(m) == {"class": "PTDeep", "args": m.model_args}


def test_load_uses_weights_only(tmp_path, monkeypatch):
    p = checkpoint.save(tmp_path / "m.pt", PTDeep([2, 3]))
    seen = []
    real = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    checkpoint.load(p)
    assert seen == [True]


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
    payload["spec"] = default_spec("mlp", (1, 28, 28), 10, hidden=(8,))
    buf = io.BytesIO()
    torch.save(payload, buf)
    p.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match=r"shape mismatch layers\.0\.weight: checkpoint \[16, 784\], spec \[8, 784\]"):
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


# ---------------------------------------------------------------- malformed checkpoints
def _saved(tmp_path):
    torch.manual_seed(0)
    return checkpoint.save(tmp_path / "m.pt", PTDeep([2, 10, 2]), seed=1, data={"name": "gmm-2d"})


def _rewrite(path, change):
    payload = torch.load(path, weights_only=True)
    change(payload)
    buf = io.BytesIO()
    torch.save(payload, buf)
    path.write_bytes(buf.getvalue())


def _flip_tensor_byte(path):
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if "/data/" in i.filename and i.file_size >= 40)
    data = bytearray(path.read_bytes())
    # the member's bytes start after its 30-byte local header, name and extra field
    n_name, n_extra = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    data[info.header_offset + 30 + n_name + n_extra + 5] ^= 0x40
    path.write_bytes(bytes(data))


def _huge_spec(payload):
    payload["spec"] = {"class": "PTDeep", "args": {"config": [64, 200000, 200000, 10]}}


def _set(key, value):
    return lambda payload: payload.__setitem__(key, value)


def _state(change):
    return lambda payload: change(payload["state_dict"])


MALFORMED = [
    ("no spec", lambda p: _rewrite(p, lambda d: d.pop("spec")), r"has no 'spec'"),
    ("no state_dict", lambda p: _rewrite(p, lambda d: d.pop("state_dict")), r"has no 'state_dict'"),
    ("list for tensor", lambda p: _rewrite(p, _state(lambda s: s.__setitem__("layers.0.bias", [0.0] * 10))),
     r"entry 'layers.0.bias' must be a tensor named by a string. Got list instead"),
    ("string version", lambda p: _rewrite(p, _set("format_version", "1")),
     r"'format_version' must be a positive integer. Got '1' instead"),
    ("newer version", lambda p: _rewrite(p, _set("format_version", 99)), r"format 99, newer"),
    ("spec not a dict", lambda p: _rewrite(p, _set("spec", [1, 2])), r"'spec' must be a dict. Got list"),
    ("unknown class", lambda p: _rewrite(p, _set("spec", {"class": "os.system", "args": {}})),
     r"spec does not build a model: spec 'class' must be one of"),
    ("args a list", lambda p: _rewrite(p, _set("spec", {"class": "PTDeep", "args": [2, 3]})),
     r"spec 'args' must be a dict"),
    ("bad arg", lambda p: _rewrite(p, _set("spec", {"class": "PTDeep", "args": {"config": None}})),
     r"spec does not build a model: spec args do not fit PTDeep"),
    ("huge spec", lambda p: _rewrite(p, _huge_spec),
     r"spec asks for 160\.1 GB of weights but the file holds \d+\.\d KB"),
    ("missing key", lambda p: _rewrite(p, _state(lambda s: s.pop("layers.0.bias"))),
     r"missing \['layers.0.bias'\]"),
    ("unexpected key", lambda p: _rewrite(p, _state(lambda s: s.__setitem__("extra", torch.zeros(1)))),
     r"unexpected \['extra'\]"),
    ("int64 weights", lambda p: _rewrite(p, _state(lambda s: s.__setitem__(
        "layers.0.weight", torch.ones(10, 2, dtype=torch.int64)))),
     r"wrong dtype layers.0.weight: checkpoint torch.int64, spec torch.float32"),
    ("NaN weights", lambda p: _rewrite(p, _state(lambda s: s["layers.2.weight"].__setitem__((0, 0), float("nan")))),
     r"tensor 'layers.2.weight' holds NaN or infinite values"),
    ("inf weights", lambda p: _rewrite(p, _state(lambda s: s["layers.0.bias"].fill_(float("inf")))),
     r"tensor 'layers.0.bias' holds NaN or infinite values"),
    ("expanded view", lambda p: _rewrite(p, _state(lambda s: s.__setitem__(
        "layers.0.weight", torch.zeros(1, 1).expand(10, 2)))), r"not a plain stored tensor"),
    ("seed a string", lambda p: _rewrite(p, lambda d: d["meta"].__setitem__("seed", "x")),
     r"meta 'seed' must be of type int. Got str instead"),
    ("plain text", lambda p: p.write_text("hello, this is not a checkpoint\n" * 3),
     r"could not be read as a checkpoint \(truncated, damaged or not a torch zip file\)"),
    ("empty file", lambda p: p.write_bytes(b""), r"could not be read as a checkpoint"),
    ("flipped byte", _flip_tensor_byte, r"is corrupt: the CRC of '[a-z]+/data/\d+' does not match"),
    ("compressed member", lambda p: _recompress(p), r"is compressed or larger than the file"),
]


def _recompress(path):
    with zipfile.ZipFile(path) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)


@pytest.mark.parametrize("damage, message", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_checkpoints_raise_checkpoint_error(damage, message, tmp_path):
    p = _saved(tmp_path)
    damage(p)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(p)


def test_an_intact_file_still_loads_after_the_table_helpers(tmp_path):
    p = _saved(tmp_path)
    _rewrite(p, lambda d: None)  # the rewrite itself keeps a valid checkpoint
    model, meta = checkpoint.load(p)
    assert meta["seed"] == 1 and meta["data"] == {"name": "gmm-2d"}


def test_load_leaves_the_random_state_alone(tmp_path):
    p = _saved(tmp_path)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    checkpoint.load(p)
    assert torch.equal(torch.rand(3), expected)


def test_train_model_writes_the_checkpoint_that_load_trained_reads(tmp_path):
    from vizkit.data import load
    from vizkit.train import History, load_trained, train_model

    split = load("gmm-2d", seed=2)
    net, hist, metrics = train_model("logreg", split, {"epochs": 2, "progress": False},
                                     checkpoint=tmp_path / "m.pt", meta={"gallery_key": "k1"})
    model, hist2, metrics2, meta = load_trained(tmp_path / "m.pt")
    assert isinstance(hist2, History) and hist2.to_dict() == hist.to_dict()
    assert metrics2 == json.loads(json.dumps(metrics))
    assert meta["gallery_key"] == "k1" and meta["model_name"] == "logreg"
    record = split.record()
    assert meta["data"] == record
    assert record["sizes"] == [len(split.y_train), len(split.y_val), len(split.y_test)]
    assert record["input_shape"] == [2] and record["fingerprint"] == split.fingerprint
    torch.testing.assert_close(model(split.x_test), net.eval()(split.x_test))
