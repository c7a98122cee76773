"""vizkit.checkpoint in the uncommon case: a model saved in train mode with BatchNorm buffers,
non-finite meta values, non-finite weights refused before anything is written."""

from __future__ import annotations

import math

import pytest
import torch

from vizkit import checkpoint
from vizkit.models import PTDeep, build_default


def test_train_mode_model_with_running_stats_round_trips_exactly(tmp_path):
    torch.manual_seed(0)
    model = build_default("cnn", (1, 8, 8), 3, channels=(4,), hidden=8).train()
    with torch.no_grad():
        model(torch.rand(5, 1, 8, 8))  # running statistics move away from their initial values
    buffers = dict(model.named_buffers())
    assert buffers and any(int(v) > 0 for k, v in buffers.items() if k.endswith("num_batches_tracked"))
    path = checkpoint.save(tmp_path / "m.pt", model)
    assert model.training  # save leaves the caller's model as it was
    back, _ = checkpoint.load(path)
    assert not back.training and not any(m.training for m in back.modules())
    for (k, a), (k2, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and torch.equal(a, b), k
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(back(x), model.eval()(x), rtol=0, atol=0)


def test_non_finite_meta_values_round_trip(tmp_path):
    path = checkpoint.save(tmp_path / "m.pt", PTDeep([2, 2]),
                           history={"val_loss": float("nan"), "best": float("inf")}, seed=0)
    _, meta = checkpoint.load(path)
    assert math.isnan(meta["history"]["val_loss"]) and meta["history"]["best"] == math.inf


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused_at_save_and_the_old_file_is_kept(tmp_path, value):
    path = tmp_path / "m.pt"
    good = PTDeep([2, 3, 2])
    checkpoint.save(path, good)
    before = path.read_bytes()
    bad = PTDeep([2, 3, 2])
    with torch.no_grad():
        bad.layers[2].bias[0] = value
    with pytest.raises(ValueError, match=r"tensor 'layers.2.bias' of the model holds NaN or infinite"):
        checkpoint.save(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary file left
