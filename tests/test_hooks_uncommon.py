"""vizkit.hooks in the uncommon case: gradients on, train mode, mixed flags, uneven batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vizkit.hooks import CaptureBuffers, collect, record


class Net(nn.Module):
    """Linear -> in-place ReLU -> Dropout -> Linear: one of each kind of layer that bites."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(self.drop(self.act(self.fc(x))))


def _net(seed=0) -> Net:
    torch.manual_seed(seed)
    return Net()


CAPTURE_MODES = {
    "copy-on-write": {},
    "inputs": {"inputs": True},
    "buffers": {"buffers": CaptureBuffers()},
    "to-float64": {"to": torch.float64},
    "reduce": {"reduce": lambda t: t * 2},
    "grads": {"grads": True},
    "inputs+grads": {"inputs": True, "grads": True},
}


@pytest.mark.parametrize("mode", list(CAPTURE_MODES))
def test_record_with_gradients_enabled_keeps_no_graph(mode):
    """Outside torch.no_grad(), on an input that requires grad, every capture is a detached
    tensor: no graph attached, no grad required (a capture that kept the graph would keep the
    whole forward pass alive and let a later backward write into it)."""
    kw = dict(CAPTURE_MODES[mode])
    if "buffers" in kw:
        kw["buffers"] = CaptureBuffers()
    model = _net().eval()
    x = torch.randn(5, 4, requires_grad=True)
    assert torch.is_grad_enabled()
    with record(model, ["fc", "act", "out"], **kw) as rec:
        y = model(x)
        y.sum().backward()
    assert y.grad_fn is not None  # the forward itself did build a graph
    for name in ["fc", "act", "out"]:
        captured = [rec[name]]
        if kw.get("inputs"):
            captured.append(rec.inputs[name])
        if kw.get("grads"):
            captured.append(rec.grads[name])
        for t in captured:
            assert t.grad_fn is None and not t.requires_grad, (mode, name)
    # the values are still right: the last layer's output is the model's output
    scale = 2 if "reduce" in kw else 1
    torch.testing.assert_close(rec["out"].double(), scale * y.detach().double())


def test_record_on_a_model_in_train_mode_keeps_flags_and_sees_the_train_forward():
    """record changes no train/eval flag: Dropout still drops inside the block, and every
    module's flag (mixed: some submodules in eval) is as it was after."""
    model = _net().train()
    model.out.eval()
    before = [m.training for m in model.modules()]
    x = torch.ones(200, 4)
    with torch.no_grad(), record(model, ["act", "drop"]) as rec:
        model(x)
    assert [m.training for m in model.modules()] == before
    dropped = rec["drop"] == 0
    assert dropped.float().mean() > (rec["act"] == 0).float().mean() + 0.2  # dropout ran


def test_collect_restores_mixed_train_flags_and_runs_in_eval():
    model = _net().train()
    model.drop.eval()  # a mixed model: the parent trains, one child is in eval
    model.act.train()
    before = [m.training for m in model.modules()]
    x = torch.randn(11, 4)
    got = collect(model, x, ["drop", "out"], batch_size=4)  # 4 does not divide 11
    assert [m.training for m in model.modules()] == before
    model.eval()
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(got["out"], expected)
    assert got["out"].shape == (11, 3) and not got["out"].requires_grad


def test_collect_with_gradients_enabled_and_a_grad_input_keeps_no_graph():
    model = _net()
    x = torch.randn(7, 4, requires_grad=True)
    got = collect(model, x, ["fc", "out"], batch_size=7)
    assert all(t.grad_fn is None and not t.requires_grad for t in got.values())
    assert x.grad is None


def test_collect_one_sample_and_a_loader_that_drops_its_last_batch():
    from torch.utils.data import DataLoader, TensorDataset

    model = _net().eval()
    x = torch.randn(10, 4)
    one = collect(model, x[:1], ["out"])
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(one["out"], expected[:1])
    loader = DataLoader(TensorDataset(x, torch.zeros(10)), batch_size=4, drop_last=True)
    got = collect(model, loader, ["out"])
    assert got["out"].shape == (8, 3)  # the last two samples were dropped by the loader
    torch.testing.assert_close(got["out"], expected[:8])


def test_record_exception_inside_block_restores_hooks_and_flags():
    model = _net().train()
    before = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError, match="boom"):
        with record(model, ["fc", "out"], grads=True):
            model(torch.randn(2, 4))
            raise RuntimeError("boom")
    assert [m.training for m in model.modules()] == before
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
