"""Activation maximization claims only what it measured: the class figure's verdict (does the
optimized image out-score every test image?) flips when a real image scores higher, the real
images shown are the top ones on the same objective, and the defaults optimize a leaf tensor."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.actmax import activation_maximization, class_logit, dataset_examples
from vizkit.data import Split
from vizkit.figures.actmax import _class_figure, verdict


class Linear(nn.Module):
    """Two class logits of a 1x4x4 image: +-(sum of the top half - sum of the bottom half)."""

    def __init__(self):
        super().__init__()
        w = torch.cat([torch.ones(8), -torch.ones(8)])
        self.fc = nn.Linear(16, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.stack([w, -w]))
        self.vizkit_spec = {"input_shape": [1, 4, 4]}

    def forward(self, x):
        return self.fc(x.flatten(1))


def _split(x_test):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 1, 4, 4, generator=g) * 0.6 + 0.2  # logits well inside (-8, 8)
    x[0], x[1] = 0.0, 1.0  # the value range is [0, 1]
    y = torch.arange(20) % 2
    yt = torch.arange(len(x_test)) % 2
    return Split("hand", x, y, x, y, x_test, yt, ("top", "bottom"), (1, 4, 4), "0")


def _common(split):
    return dict(input_shape=(1, 4, 4), value_range=(0.0, 1.0), seed=0, n_steps=60)


def test_verdict_flips_when_a_real_image_scores_higher(pyplot):
    net = Linear().eval()
    grey = torch.full((6, 1, 4, 4), 0.5)  # logit 0 for both classes
    split = _split(grey)
    fig = _class_figure(net, split, _common(split), 0)
    act = fig.data["activations"]
    assert (act > 1).all()  # the optimized images climb well above the grey ones
    assert fig.data["beats_every_test_image"].tolist() == [True, True]
    assert "out-scores all 6 test images for 2 of 2 targets" in fig.caption
    assert "A real test image scores higher" not in fig.caption

    # the perfect 'top' image: ink exactly where class 0's weights are +1, logit 8, which the
    # sigmoid pixels (and the ink budget) can only approach
    perfect = torch.zeros(1, 1, 4, 4)
    perfect[..., :2, :] = 1.0
    split2 = _split(torch.cat([grey, perfect]))
    fig2 = _class_figure(net, split2, _common(split2), 0)
    act2, best2 = fig2.data["activations"], fig2.data["best_real_activations"]
    assert best2[0] == pytest.approx(8.0) and act2[0] < 8.0
    assert fig2.data["beats_every_test_image"].tolist() == [False, True]
    assert f"A real test image scores higher for class top (8 vs {act2[0]:.3g})" in fig2.caption
    assert "for 1 of 2 targets: class bottom" in fig2.caption
    heads = {sf._suptitle.get_text(): sf._suptitle.get_fontweight() for sf in fig2.fig.subfigs
             if sf._suptitle is not None}
    assert heads[f"class top: optimized {act2[0]:.3g} < best test 8"] == "bold"
    assert "1 of 2 classes" in fig2.fig._suptitle.get_text()
    # the real images beside each optimized one are the highest on the same objective, in order
    top, idx = fig2.data["top_real_activations"], fig2.data["top_real_indices"]
    logits = net(split2.x_test).detach()
    for c in range(2):
        want = torch.sort(logits[:, c], descending=True).values[:top.shape[1]].numpy()
        np.testing.assert_allclose(top[c], want, rtol=1e-6)
        np.testing.assert_allclose(logits[idx[c], c].numpy(), top[c], rtol=1e-6)
    assert idx[0, 0] == 6  # the perfect image, the last test image


def test_verdict_ties_and_errors():
    beats, text = verdict([1.0, 2.0], [1.0, 1.0], ["a", "b"], 5)
    assert beats.tolist() == [False, True]  # a tie is not "out-scores"
    assert "scores higher for a (1 vs 1)" in text
    beats, text = verdict([0.0], [1.0], ["a"], 5)
    assert "for none of the 1 targets" in text
    net = Linear()
    with pytest.raises(ValueError, match="`top` must be an int from 1 to 3"):
        dataset_examples(net, [class_logit(0)], torch.zeros(3, 1, 4, 4), top=4)
    with pytest.raises(ValueError, match="`x` holds no images"):
        dataset_examples(net, [class_logit(0)], torch.zeros(0, 1, 4, 4))


def test_defaults_optimize_a_leaf_with_gradients(monkeypatch):
    """The defaults (only ``n_steps`` cut, to stay fast): one leaf tensor with a gradient at
    every step, and the logit rises."""
    seen = []
    real_adam = torch.optim.Adam

    def spy(params, **kw):
        params = list(params)
        seen.extend(params)
        return real_adam(params, **kw)

    monkeypatch.setattr(torch.optim, "Adam", spy)
    net = Linear()
    r = activation_maximization(net, [0, 1], n_steps=20)
    assert len(seen) == 1 and seen[0].is_leaf and seen[0].requires_grad
    assert seen[0].grad is not None and (r.grad_norms > 0).all()
    assert (r.history[-1] > r.history[0]).all()
    assert (r.activations > 0).all()
