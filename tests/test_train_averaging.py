"""``average='ema'``: an exponential moving average of the weights (and BatchNorm buffers)."""

import pytest
import torch
from torch import nn

from vizkit.data import Split, fingerprint
from vizkit.train import TrainConfig, fit

from _toy import image_split

DECAY, LR = 0.75, 0.5


def _same_rows_split(x_row, y, n=4):
    """n copies of one example (so the two batches of an epoch give the same gradient whatever
    the shuffle) and no validation part."""
    X, Y = x_row.repeat(n, 1), torch.full((n,), y)
    return Split("same-rows", X, Y, X[:0], Y[:0], X, Y, ("0", "1"), (X.shape[1],), fingerprint(X, Y))


def _linear():
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -0.2], [0.1, 0.3]]))
        lin.bias.copy_(torch.tensor([0.05, -0.05]))
    return lin


def test_ema_weights_equal_the_hand_computed_average_of_two_sgd_steps():
    x, split = torch.tensor([[1.0, 2.0]]), _same_rows_split(torch.tensor([1.0, 2.0]), 1)
    cfg = {"epochs": 1, "batch_size": 2, "optimizer": "sgd", "lr": LR, "progress": False}
    # by hand: two plain SGD steps on the same example, then the average d * w1 + (1 - d) * w2
    # (the first step copies the weights into the average)
    ref = _linear()
    states = []
    for _ in range(2):
        loss = nn.functional.cross_entropy(ref(x), torch.tensor([1]))
        ref.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= LR * p.grad
        states.append({k: v.detach().clone() for k, v in ref.state_dict().items()})
    want = {k: DECAY * states[0][k] + (1 - DECAY) * states[1][k] for k in states[0]}

    net = _linear()
    fit(net, split, {**cfg, "average": "ema", "ema_decay": DECAY})
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, want[k], rtol=1e-6, atol=1e-7)
    raw = _linear()
    fit(raw, split, cfg)  # without averaging: the last step's weights
    for k, v in raw.state_dict().items():
        torch.testing.assert_close(v, states[1][k], rtol=1e-6, atol=1e-7)
    assert not torch.allclose(net.weight, raw.weight)


def test_batchnorm_running_statistics_are_averaged_too():
    split = _same_rows_split(torch.tensor([2.0, -4.0]), 0)
    net = nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 2))
    fit(net, split, {"epochs": 1, "batch_size": 2, "optimizer": "sgd", "lr": 0.1,
                     "average": "ema", "ema_decay": DECAY, "progress": False})
    bn = net[0]
    # by hand, momentum 0.1 on equal rows: means 0.1 m then 0.19 m; variances 0.9 then 0.81
    m = torch.tensor([2.0, -4.0])
    torch.testing.assert_close(bn.running_mean, (DECAY * 0.1 + (1 - DECAY) * 0.19) * m)
    torch.testing.assert_close(bn.running_var, torch.full((2,), DECAY * 0.9 + (1 - DECAY) * 0.81))


def test_training_goes_on_from_the_raw_weights_and_the_figures_are_of_the_average():
    from vizkit.models import build
    from vizkit.train import evaluate, seed_everything

    split = image_split(n=90, size=8)
    spec = {"class": "ConvNet", "args": {"image_size": 8, "n_classes": 3, "channels": [4, 4],
                                         "hidden": 8, "dropout": 0.0}}
    cfg = {"epochs": 3, "batch_size": 16, "ema_decay": 0.9, "progress": False, "seed": 1}
    runs = {}
    for average in (None, "ema"):
        seed_everything(1)
        net, seen = build(spec), []
        hist = fit(net, split, {**cfg, "average": average}, on_epoch_end=lambda e, m: seen.append(
            evaluate(m, split.x_val, split.y_val)["loss"]))
        runs[average] = net, hist, seen
    (plain, h0, _), (avg, h1, seen) = runs[None], runs["ema"]
    # the same training path (the raw weights are put back after each epoch's figures) ...
    assert h1.series("train_loss") == pytest.approx(h0.series("train_loss"), rel=1e-6)
    # ... but the validation figures, the callback and the kept model are the average's
    assert h1.series("val_loss") != pytest.approx(h0.series("val_loss"), rel=1e-3)
    assert seen == pytest.approx(h1.series("val_loss"), rel=1e-5)
    kept = evaluate(avg, split.x_val, split.y_val)["loss"]
    assert kept == pytest.approx(h1.series("val_loss")[h1.best_epoch - 1], rel=1e-5)
    # a conv model trains channels-last on the CPU and comes back in the default layout
    for net in (plain, avg):
        assert net.features[4].weight.is_contiguous()  # [4, 4, 3, 3]: the layouts differ


@pytest.mark.parametrize("bad, message", [
    ({"average": "swa"}, "`average` must be one of None, 'ema'. Got 'swa' instead."),
    ({"ema_decay": 1.0}, "`ema_decay` must be in [0, 1). Got 1.0 instead."),
    ({"ema_decay": -0.5}, "`ema_decay` must be in [0, 1). Got -0.5 instead."),
])
def test_bad_averaging_options_are_refused_by_name(bad, message):
    with pytest.raises(ValueError) as e:
        TrainConfig(**bad)
    assert message in str(e.value)
