"""``refit``: after choosing the epoch count on validation, train again on train + validation."""

import dataclasses

import pytest
import torch

from vizkit.checkpoint import load
from vizkit.models import build
from vizkit.train import TrainConfig, default_config, fit, seed_everything, train_model

from _toy import xor_split

CFG = {"epochs": 6, "lr": 0.01, "progress": False, "seed": 3}


def test_refit_equals_a_fresh_run_on_train_plus_validation(tmp_path):
    split = xor_split()
    spec = {"class": "PTDeep", "args": {"config": [2, 16, 2]}}
    net, hist, metrics = train_model(spec, split, {**CFG, "refit": True},
                                     checkpoint=tmp_path / "r.pt")
    n = hist.best_epoch
    assert metrics["refit_epochs"] == n >= 1
    # second route: the same seed, the merged data, n epochs, the last epoch's weights
    merged = dataclasses.replace(split, x_train=torch.cat([split.x_train, split.x_val]),
                                 y_train=torch.cat([split.y_train, split.y_val]),
                                 x_val=split.x_val[:0], y_val=split.y_val[:0])
    seed_everything(3)
    ref = build(spec)
    states = []
    fit(ref, merged, {**CFG, "epochs": n},
        on_epoch_end=lambda e, m: states.append({k: v.clone() for k, v in m.state_dict().items()}))
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, states[-1][k], rtol=0, atol=0)
    # the first run's model is a different one, and the checkpoint holds the refitted model
    first, _, m0 = train_model(spec, split, CFG)
    assert m0["refit_epochs"] == 0
    assert not torch.equal(first.state_dict()["layers.0.weight"], net.state_dict()["layers.0.weight"])
    saved, meta = load(tmp_path / "r.pt")
    torch.testing.assert_close(saved.state_dict()["layers.0.weight"], net.state_dict()["layers.0.weight"])
    assert meta["metrics"]["refit_epochs"] == n


def test_refit_without_validation_data_keeps_the_first_model():
    split = xor_split()
    split = dataclasses.replace(split, x_val=split.x_val[:0], y_val=split.y_val[:0])
    spec = {"class": "PTDeep", "args": {"config": [2, 8, 2]}}
    _, _, metrics = train_model(spec, split, {**CFG, "refit": True})
    assert metrics["refit_epochs"] == 0


def test_refit_is_a_checked_default_for_small_sets_only():
    assert default_config("mlp", n_train=3000).refit is True
    assert default_config("cnn", n_train=3000).refit is True
    assert default_config("mlp", n_train=55_000).refit is False
    assert default_config("mlp", n_train=3000, refit=False).refit is False
    assert TrainConfig.parse_overrides(["refit=no"]) == {"refit": False}
    with pytest.raises(TypeError, match="`refit` must be of type bool. Got 'yes' instead"):
        TrainConfig(refit="yes")
    with pytest.raises(ValueError, match="option 'refit' must be of type bool"):
        TrainConfig.parse_overrides(["refit=maybe"])
