"""vizkit.hooks: each test is a case that broke some other activation-recording tool."""

from __future__ import annotations

import collections
import copy

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.hooks import (
    CaptureBuffers,
    Calls,
    LayerRow,
    LayersNotRunError,
    MultipleCallsError,
    collect,
    example_input_shape,
    format_summary,
    layer_names,
    patch,
    record,
    resolve_model_ref,
    summary,
)

HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks_with_kwargs",
)


def hook_counts(model: nn.Module) -> dict:
    return {
        (name, d): len(getattr(m, d, {}))
        for name, m in model.named_modules()
        for d in HOOK_DICTS
    }


def state(model: nn.Module) -> dict:
    """Everything record() must leave alone: flags, buffers, parameters, forward."""
    return {
        "training": [m.training for m in model.modules()],
        "forward_in_dict": ["forward" in vars(m) for m in model.modules()],
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "hooks": hook_counts(model),
    }


def assert_same_state(before: dict, after: dict) -> None:
    assert before["training"] == after["training"]
    assert before["forward_in_dict"] == after["forward_in_dict"]
    assert before["hooks"] == after["hooks"]
    assert before["tensors"].keys() == after["tensors"].keys()
    for k in before["tensors"]:
        assert torch.equal(before["tensors"][k], after["tensors"][k]), k


class Block(nn.Module):
    """Linear → BatchNorm → in-place ReLU, the pattern that corrupts naive hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.act = nn.ReLU(inplace=True)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(self.act(self.bn(self.fc(x))))


class Twice(nn.Module):
    """One activation module used twice in a forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 3)
        self.fc2 = nn.Linear(3, 3)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc2(self.act(self.fc1(x))))


Pair = collections.namedtuple("Pair", ["low", "high"])


class Structured(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        y = self.fc(x)
        if self.kind == "tuple":
            return y, (y * 2, None)
        if self.kind == "dict":
            return {"y": y, "neg": -y, "n": 3}
        return Pair(y - 1, y + 1)


class StructNet(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.body = Structured(kind)

    def forward(self, x):
        out = self.body(x)
        leaf = out[0] if isinstance(out, tuple) else out["y"]
        leaf.relu_()  # writes the recorded output in place
        return out


def x_(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def mode_depth() -> int:
    return torch._C._len_torch_function_stack()


# Both ways of keeping captures safe: copy-on-write (default) and copies into reused buffers.
SAFETY = pytest.mark.parametrize("extra", [{}, {"buffers": "new"}], ids=["copy-on-write", "buffers"])


def kw(extra: dict) -> dict:
    return {k: (CaptureBuffers() if v == "new" else v) for k, v in extra.items()}


@pytest.fixture(scope="module")
def resnet18():
    """One torchvision resnet18 (random weights, eval) for the tests that only read it."""
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    return tv.models.resnet18(weights=None).eval()


# ----------------------------------------------------------------- in-place safety


@SAFETY
def test_inplace_relu_after_recorded_layer_does_not_clip_the_record(extra):
    torch.manual_seed(0)
    model = Block().eval()
    x = x_(8, 4)
    with torch.no_grad(), record(model, ["bn", "act"], **kw(extra)) as rec:
        model(x)
    expected = model.bn(model.fc(x)).detach()
    assert (expected < 0).any()
    torch.testing.assert_close(rec["bn"], expected)
    assert (rec["bn"] < 0).any()
    torch.testing.assert_close(rec["act"], expected.clamp_min(0))


@SAFETY
@pytest.mark.parametrize(
    "write",
    [
        lambda t: t.mul_(0),
        lambda t: t.__iadd__(1),
        lambda t: t.__setitem__(0, 5.0),
        lambda t: torch.relu_(t),
        lambda t: nn.functional.hardtanh(t, 0.0, 0.1, inplace=True),
        lambda t: torch.add(t, 1, out=t),
        lambda t: t.view(-1)[:3].zero_(),  # through a view
        lambda t: t.data.fill_(2),
    ],
    ids=["mul_", "+=", "setitem", "relu_", "inplace=True", "out=", "view", ".data"],
)
def test_later_inplace_writes_never_change_a_recorded_tensor(extra, write):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Identity(), nn.Linear(5, 5)).eval()
    x = x_(3, 4)
    depth = mode_depth()
    with torch.no_grad():
        with record(model, ["0", "1"], **kw(extra)) as rec:
            out = model(x)
            hidden = model[0](x)
            snapshot, hidden_snapshot = out.clone(), hidden.clone()
            write(out)  # inside the block: the output is not recorded, but shares nothing either
        write(out)  # after the block, on the model output
    assert mode_depth() == depth
    torch.testing.assert_close(rec["0", 0], hidden_snapshot)
    torch.testing.assert_close(rec["1", 0], hidden_snapshot)
    # now the recorded layers' own outputs, written inside and after the block
    with torch.no_grad():
        with record(model, ["0", "1", "2"], **kw(extra)) as rec:
            out = model(x)
            write(out)
        write(out)
        write(out)
    torch.testing.assert_close(rec["2"], snapshot)
    torch.testing.assert_close(rec["1"], hidden_snapshot)
    assert rec["2"].data_ptr() != out.data_ptr()


def test_copy_on_write_copies_only_what_is_written_or_still_shared():
    torch.manual_seed(0)
    model = Block().eval()
    x = x_(4, 4)
    with torch.no_grad(), record(model, ["fc", "bn", "act", "out"], inputs=True) as rec:
        logits = model(x)
        inner = {name: rec.calls(name)[0].data_ptr() for name in ["fc", "bn", "act"]}
    # fc's output was never written and nothing else holds it: kept by reference, no copy
    assert rec["fc"].data_ptr() == inner["fc"]
    # bn's output was about to be written by the in-place ReLU: copied then
    assert rec["bn"].data_ptr() != rec["act"].data_ptr()
    # the model's output and input are still held by the caller: copied on exit
    assert rec["out"].data_ptr() != logits.data_ptr()
    assert rec.inputs["fc"].data_ptr() != x.data_ptr()
    torch.testing.assert_close(rec.inputs["fc"], x)


def test_copy_on_write_mode_takes_an_unhashable_callable():
    from vizkit.hooks._cow import CopyOnWrite

    class AddOne:  # named like an in-place op, and unhashable, so it cannot be memoized
        __hash__ = None
        __name__ = "add_"

        def __call__(self, t):
            return t.add_(1)

    t = torch.zeros(3)
    with torch.no_grad(), CopyOnWrite() as mode:
        ref = mode.protect(t)
        for _ in range(2):  # asked again the second time: never memoized
            mode.__torch_function__(AddOne(), (), (t,))
    torch.testing.assert_close(t, torch.full((3,), 2.0))
    torch.testing.assert_close(ref.t, torch.zeros(3))  # copied before the first write


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_submodule_is_copied_at_once():
    class Scripted(nn.Module):
        def forward(self, x):
            return torch.relu_(x)

    model = nn.Sequential(nn.Linear(3, 4), torch.jit.script(Scripted()))
    with torch.no_grad(), record(model, "0") as rec:
        model(x_(5, 3))
        expected = model[0](x_(5, 3))
    torch.testing.assert_close(rec["0", 0], expected)
    assert (rec["0", 0] < 0).any()


def _scripted_parts():
    """A Python model whose middle part is scripted: '0' and '2' can be hooked, '1' cannot."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated in recent torch
        inner = torch.jit.script(nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    return nn.Sequential(nn.Linear(3, 4), inner, nn.Linear(4, 2))


def _scripted_whole(kind: str):
    import warnings

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.script(model) if kind == "script" else torch.jit.trace(model, x_(2, 3))


WHOLE = r"`model` is a TorchScript module \({}, from torch.jit.script.*never calls Python hooks, so " \
        r"vizkit.hooks.{} cannot see its layers\. Pass the original nn.Module"
PART = r"Layer '{}' {} TorchScript module \(RecursiveScriptModule.*vizkit.hooks.{} cannot hook it\. " \
       r"Put the original nn.Module in place of '1' while recording"


@pytest.mark.parametrize("call, message", [
    (lambda: record(_scripted_whole("script"), "0"), WHOLE.format("RecursiveScriptModule", "record")),
    (lambda: record(_scripted_whole("trace"), ["0", "2"]), WHOLE.format("TopLevelTracedModule", "record")),
    (lambda: collect(_scripted_whole("script"), x_(5, 3), "0"), WHOLE.format("RecursiveScriptModule", "collect")),
    (lambda: patch(_scripted_whole("script"), {"0": torch.neg}), WHOLE.format("RecursiveScriptModule", "patch")),
    (lambda: summary(_scripted_whole("trace"), (2, 3)), WHOLE.format("TopLevelTracedModule", "summary")),
    (lambda: record(_scripted_parts(), ["0", "1"]), PART.format("1", "is a", "record")),
    (lambda: record(_scripted_parts(), "1.0"), PART.format("1.0", "lies inside '1', a", "record")),
    (lambda: record(_scripted_parts(), "*"), PART.format("1", "is a", "record")),
    (lambda: collect(_scripted_parts(), x_(5, 3), "1.1"), PART.format("1.1", "lies inside '1', a", "collect")),
    (lambda: patch(_scripted_parts(), {"1": torch.neg}), PART.format("1", "is a", "patch")),
], ids=["script", "trace", "collect", "patch", "summary", "part", "inside", "glob", "collect-inside",
        "patch-part"])
def test_scripted_modules_cannot_be_hooked_and_say_what_to_do(call, message):
    with pytest.raises(TypeError, match=message) as err:
        call()
    assert "OrderedModuleDict" not in str(err.value)


def test_python_parts_around_a_scripted_part_still_record_and_summarize():
    model = _scripted_parts()
    before = hook_counts(model)
    with torch.no_grad(), record(model, ["0", "2", nn.Linear]) as rec:  # the type skips scripted parts
        out = model(x_(5, 3))
    assert list(rec) == ["0", "2"]
    torch.testing.assert_close(rec["2"], out)
    rows = {r.name: r.output_shape for r in summary(model, (5, 3))}
    assert rows == {"": (5, 2), "0": (5, 4), "1": None, "1.0": None, "1.1": None, "2": (5, 2)}
    assert hook_counts(model) == before


@SAFETY
def test_inplace_input_write_keeps_the_input_seen(extra):
    model = nn.Sequential(nn.Identity(), nn.ReLU(inplace=True))
    x = x_(5, 3)
    with record(model, ["1"], inputs=True, **kw(extra)) as rec:
        model(x.clone())
    torch.testing.assert_close(rec.inputs["1"], x)
    assert (rec.inputs["1"] < 0).any()
    assert (rec["1"] >= 0).all()


@SAFETY
def test_resnet18_bn1_keeps_negative_values(extra, resnet18):
    model = resnet18
    before = state(model)
    x = x_(2, 3, 64, 64)
    with torch.no_grad(), record(model, ["bn1", "relu", "layer1.0.bn2", "fc"], **kw(extra)) as rec:
        logits = model(x)
    assert_same_state(before, state(model))
    assert rec["bn1"].min() < 0
    assert isinstance(rec["relu"], torch.Tensor)  # model.relu runs once at the top level
    with torch.no_grad():
        torch.testing.assert_close(rec["bn1"], model.bn1(model.conv1(x)))
    assert rec["layer1.0.bn2"].min() < 0  # before `out += identity; relu(out)`
    torch.testing.assert_close(rec["fc"], logits)
    # The same record with nothing else recorded is what plain hooks get wrong:
    seen = []
    h = model.bn1.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        h.remove()
    assert seen[0].min() >= 0  # a reference is clipped by the in-place ReLU


# ----------------------------------------------------------------- buffers


def test_capture_buffers_reused_only_when_free():
    torch.manual_seed(0)
    model = Block().eval()
    buffers = CaptureBuffers()
    x1, x2 = x_(4, 4, seed=1), x_(4, 4, seed=2)
    with torch.no_grad(), record(model, ["bn", "fc"], buffers=buffers) as rec1:
        model(x1)
    kept = rec1["bn"].clone()
    size = buffers.nbytes
    with torch.no_grad(), record(model, ["bn", "fc"], buffers=buffers) as rec2:
        model(x2)
    # rec1 is still alive, so its buffers were not touched: new ones were taken.
    torch.testing.assert_close(rec1["bn"], kept)
    assert buffers.nbytes == 2 * size
    ptr = rec2["bn"].data_ptr()
    arr = rec2["bn"].numpy()  # a NumPy view also keeps its buffer busy
    del rec1, rec2
    with torch.no_grad(), record(model, ["bn", "fc"], buffers=buffers) as rec3:
        model(x1)
    assert buffers.nbytes == 2 * size  # steady state: no new memory
    assert rec3["bn"].data_ptr() != ptr
    torch.testing.assert_close(rec3["bn"], kept)
    assert np.isfinite(arr).all()
    torch.testing.assert_close(torch.from_numpy(arr), model.bn(model.fc(x2)).detach())


def test_buffers_share_one_copy_between_views_of_unchanged_memory():
    # Flatten, Dropout in eval and Unflatten hand on (views of) their input: with buffers, they
    # become views of the earlier copy. After the in-place ReLU the memory has changed, so the
    # ReLU's output is copied again, and the earlier capture keeps its negative values.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Flatten(), nn.ReLU(inplace=True), nn.Dropout(0.5),
                          nn.Unflatten(1, (2, 3))).eval()
    buffers = CaptureBuffers()
    x = x_(3, 4)
    lin = model[0](x).detach()
    for _ in range(2):
        with torch.no_grad(), record(model, ["0", "1", "2", "3", "4"], buffers=buffers) as rec:
            model(x)
        assert rec["0"].min() < 0
        torch.testing.assert_close(rec["0"], lin)
        torch.testing.assert_close(rec["1"], lin)
        torch.testing.assert_close(rec["2"], lin.relu())
        torch.testing.assert_close(rec["3"], lin.relu())
        torch.testing.assert_close(rec["4"], lin.relu().view(3, 2, 3))
        assert rec["1"].data_ptr() == rec["0"].data_ptr()
        assert rec["3"].data_ptr() == rec["2"].data_ptr() != rec["0"].data_ptr()
        assert buffers.nbytes == 2 * 3 * 6 * 4  # two copies, reused by the second block
        del rec


def test_buffers_and_to_dtype():
    model = nn.Sequential(nn.Linear(3, 4))
    with torch.no_grad(), record(model, "0", to=torch.float64, buffers=CaptureBuffers()) as rec:
        out = model(x_(2, 3))
    assert rec["0"].dtype == torch.float64
    torch.testing.assert_close(rec["0"], out.double())


# ----------------------------------------------------------------- calls


def test_module_reused_twice_gives_every_call_in_order():
    torch.manual_seed(0)
    model = Twice()
    x = x_(2, 3)
    with torch.no_grad(), record(model, ["act", "fc1"]) as rec:
        model(x)
    with torch.no_grad():
        first = torch.tanh(model.fc1(x))
        second = torch.tanh(model.fc2(first))
    assert rec.n_calls("act") == 2 and rec.counts == {"act": 2, "fc1": 1}
    assert isinstance(rec["act"], Calls) and len(rec["act"]) == 2
    torch.testing.assert_close(rec["act"][0], first)
    torch.testing.assert_close(rec["act"][1], second)
    torch.testing.assert_close(rec["act", 1], second)
    torch.testing.assert_close(rec.calls("act")[0], first)
    with pytest.raises(MultipleCallsError, match="ran 2 times"):
        rec["act"].shape
    with pytest.raises(ValueError, match=r"rec\['act'\]\[i\]"):
        rec["act"].mean()
    with pytest.raises(ValueError):
        np.asarray(rec["act"])
    with pytest.raises(TypeError):
        rec["act"] * 2
    with pytest.raises(IndexError, match="ran 2 time"):
        rec["act", 2]


def test_several_forwards_in_one_block_accumulate():
    model = nn.Sequential(nn.Linear(3, 2))
    with torch.no_grad(), record(model, "0") as rec:
        a = model(x_(1, 3, seed=1))
        b = model(x_(1, 3, seed=2))
    torch.testing.assert_close(torch.cat(rec.calls("0")), torch.cat([a, b]))


# ----------------------------------------------------------------- structures


def test_tuple_output_keeps_structure_and_is_safe():
    model = StructNet("tuple")
    x = x_(2, 3)
    with torch.no_grad(), record(model, "body") as rec:
        model(x)
        y = model.body.fc(x)
    out = rec["body"]
    assert isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], tuple)
    assert out[1][1] is None
    torch.testing.assert_close(out[0], y)  # not clipped by the relu_ in StructNet
    assert (out[0] < 0).any()
    torch.testing.assert_close(out[1][0], 2 * y)


def test_dict_output_keeps_structure():
    model = StructNet("dict")
    x = x_(2, 3)
    with torch.no_grad(), record(model, "body") as rec:
        model(x)
        y = model.body.fc(x)
    out = rec["body"]
    assert set(out) == {"y", "neg", "n"} and out["n"] == 3
    torch.testing.assert_close(out["y"], y)
    torch.testing.assert_close(out["neg"], -y)


def test_namedtuple_output_keeps_type():
    model = StructNet("named")
    with torch.no_grad(), record(model, "body") as rec:
        model(x_(2, 3))
    assert type(rec["body"]) is Pair
    torch.testing.assert_close(rec["body"].high - rec["body"].low, torch.full((2, 4), 2.0))


def test_lstm_output_structure_and_values():
    torch.manual_seed(0)
    model = nn.Sequential(nn.LSTM(3, 5, batch_first=True))
    x = x_(2, 4, 3)
    with torch.no_grad(), record(model, "0", inputs=True) as rec:
        model(x)
    with torch.no_grad():
        direct_out, (direct_h, direct_c) = model[0](x)
    out, (h, c) = rec["0"]
    torch.testing.assert_close(out, direct_out)
    torch.testing.assert_close(h, direct_h)
    torch.testing.assert_close(c, direct_c)
    torch.testing.assert_close(rec.inputs["0"], x)


# ----------------------------------------------------------------- gradients


def test_grads_equal_autograd_grad_even_with_inplace_relu():
    torch.manual_seed(0)
    model = Block().train()
    x = x_(6, 4)
    ref = copy.deepcopy(model)
    z = ref.bn(ref.fc(x))  # the same computation, written out without the in-place op
    loss_ref = (ref.out(torch.relu(z)) ** 2).sum()
    (g_z,) = torch.autograd.grad(loss_ref, z)
    with record(model, ["bn", "act", "out"], grads=True) as rec:
        loss = (model(x) ** 2).sum()
        loss.backward()
    torch.testing.assert_close(rec.grads["bn"], g_z)
    torch.testing.assert_close(rec["bn"], z.detach())
    out_grad = 2 * ref.out(torch.relu(z)).detach()
    torch.testing.assert_close(rec.grads["out"], out_grad)
    assert rec.grads["act"].shape == (6, 6)


def test_grads_for_module_called_twice_and_tuple_outputs():
    torch.manual_seed(0)
    model = Twice()
    x = x_(2, 3)
    with record(model, "act", grads=True) as rec:
        model(x).sum().backward()
    h1 = torch.tanh(model.fc1(x))
    h2 = torch.tanh(model.fc2(h1))
    g1, g2 = torch.autograd.grad(h2.sum(), [h1, h2])
    torch.testing.assert_close(rec.grads["act", 0], g1)
    torch.testing.assert_close(rec.grads["act", 1], g2)

    lstm = nn.Sequential(nn.LSTM(3, 4, batch_first=True))
    with record(lstm, "0", grads=True, outputs=False) as rec:
        out, _ = lstm(x_(2, 5, 3))
        out.sum().backward()
    g_out, (g_h, g_c) = rec.grads["0"]
    torch.testing.assert_close(g_out, torch.ones(2, 5, 4))
    assert g_h is None and g_c is None  # h and c were not used by the loss
    with pytest.raises(ValueError, match="outputs were not recorded"):
        rec["0"]


def test_gradient_hooks_on_outputs_are_removed_on_exit():
    import gc
    import weakref

    torch.manual_seed(0)
    model = Block().train()
    x = x_(6, 4)
    with record(model, ["fc", "bn", "out"], grads=True) as rec:
        out = model(x)
        (out ** 2).sum().backward(retain_graph=True)
        inside = {name: rec.grads[name].clone() for name in ["fc", "bn", "out"]}
        (out ** 2).sum().backward(retain_graph=True)  # a second backward inside overwrites ...
    torch.testing.assert_close(rec.grads["out"], 2 * out.detach())  # ... with the same values
    (3 * out).sum().backward(retain_graph=True)  # after the block: the hooks must be gone
    for name, grad in inside.items():
        torch.testing.assert_close(rec.grads[name], grad)
    assert not torch.equal(rec.grads["out"], torch.full_like(out, 3.0))
    # nothing of the graph (which is still alive: `out` holds it) keeps the recording alive
    ref = weakref.ref(rec)
    del rec
    gc.collect()
    assert ref() is None and out.grad_fn is not None
    out.sum().backward()  # the graph still works without the recording


def test_grads_under_no_grad_is_an_error():
    model = Block()
    with torch.no_grad():
        with pytest.raises(ValueError, match="no_grad"):
            with record(model, "bn", grads=True):
                pass
    assert hook_counts(model) == hook_counts(Block())


def test_grads_without_backward_is_reported():
    model = Block()
    with pytest.raises(LayersNotRunError, match="backward"):
        with record(model, "bn", grads=True):
            model(x_(3, 4))
    assert all(v == 0 for v in hook_counts(model).values())


# ----------------------------------------------------------------- leaves nothing behind


def test_exception_mid_forward_removes_every_hook():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), Boom())
    before = hook_counts(model)
    depth = mode_depth()
    with pytest.raises(RuntimeError, match="boom"):  # the original error, not "did not run"
        with record(model, ["0", "1", "2"], inputs=True, grads=True) as rec:
            model(x_(2, 2))
    assert hook_counts(model) == before
    assert mode_depth() == depth  # no torch function mode left behind
    assert rec.n_calls("0") == 1


def test_keyboard_interrupt_removes_every_hook():
    class Interrupt(nn.Module):
        def forward(self, x):
            raise KeyboardInterrupt

    model = nn.Sequential(nn.Linear(2, 2), Interrupt())
    before = hook_counts(model)
    depth = mode_depth()
    with pytest.raises(KeyboardInterrupt):
        with record(model, ["0", "1"], inputs=True):
            model(x_(1, 2))
    assert hook_counts(model) == before
    assert mode_depth() == depth


def test_users_own_hooks_stay_and_still_fire():
    torch.manual_seed(0)
    model = Block().eval()
    seen = []
    user_handle = model.bn.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    user_pre = model.fc.register_forward_pre_hook(lambda m, i: None)
    before = state(model)
    with record(model, ["bn", "fc"], inputs=True) as rec:
        model(x_(3, 4))
    assert_same_state(before, state(model))
    assert user_handle.id in model.bn._forward_hooks and user_pre.id in model.fc._forward_pre_hooks
    model(x_(3, 4))
    assert len(seen) == 2 and rec["bn"].shape == (3, 6)
    user_handle.remove()
    user_pre.remove()


def test_batchnorm_running_stats_unchanged_by_recording():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(inplace=True)).train()
    recorded = copy.deepcopy(plain)
    x = x_(4, 2, 6, 6)
    plain(x)
    with record(recorded, ["0", "1", "2"], inputs=True, grads=True) as rec:
        recorded(x).sum().backward()
    for (k, a), (_, b) in zip(plain.state_dict().items(), recorded.state_dict().items()):
        assert torch.equal(a, b), k
    assert recorded[1].num_batches_tracked.item() == 1
    assert recorded.training and recorded[1].training
    assert rec["1"].min() < 0

    recorded.eval()
    before = state(recorded)
    with torch.no_grad(), record(recorded, nn.BatchNorm2d):
        recorded(x)
    assert_same_state(before, state(recorded))


def test_recorded_equals_calling_the_submodule_on_its_input():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 3 * 3, 5), nn.Dropout(0.5), nn.Linear(5, 2),
    ).eval()
    x = x_(3, 1, 8, 8)
    names = layer_names(model, leaves=True)
    with torch.no_grad(), record(model, names, inputs=True) as rec:
        model(x)
    assert rec.counts == {name: 1 for name in names}
    with torch.no_grad():
        for name in names:
            module = model.get_submodule(name)
            direct = module(rec.inputs[name].clone())
            torch.testing.assert_close(rec[name], direct, msg=name)


def test_reduce_runs_in_the_hook():
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True))
    x = x_(2, 1, 6, 6)
    seen = []

    def spatial_mean(t):
        seen.append(tuple(t.shape))
        return t.mean((2, 3))

    with torch.no_grad(), record(model, ["0"], reduce=spatial_mean) as rec:
        model(x)
    with torch.no_grad():
        full = model[0](x)
    assert seen == [(2, 3, 4, 4)]
    torch.testing.assert_close(rec["0"], full.mean((2, 3)))

    # a reduce returning a view is copied, so the in-place ReLU cannot reach it
    with torch.no_grad(), record(model, ["0"], reduce=lambda t: t[:, 0]) as rec:
        model(x)
    torch.testing.assert_close(rec["0"], full[:, 0])
    assert (rec["0"] < 0).any()


# ----------------------------------------------------------------- layer specs and errors


def test_layers_by_name_glob_type_and_module(resnet18):
    model = resnet18
    glob = record(model, "layer?.*.conv2").modules
    assert list(glob) == [f"layer{i}.{j}.conv2" for i in range(1, 5) for j in range(2)]
    convs = record(model, nn.Conv2d).modules
    assert len(convs) == 20 and all(isinstance(m, nn.Conv2d) for m in convs.values())
    assert list(record(model, [model.fc, "bn1"]).modules) == ["fc", "bn1"]
    assert layer_names(model)[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer1" in layer_names(model) and "layer1" not in layer_names(model, leaves=True)


@pytest.mark.parametrize(
    "layers, exc, message",
    [
        ("layer5.conv1", ValueError, r"Unknown layer 'layer5.conv1' in ResNet. Closest names: 'layer4.1.conv1'.*layer_names\(model\)"),
        ("layer9.*", ValueError, r"matches no layer.*layer_names"),
        (nn.LSTM, ValueError, r"no layer of type LSTM.*Conv2d"),
        ([], ValueError, r"`layers` is empty"),
        (3, TypeError, r"`layers` must be"),
        ([nn.Linear(2, 2)], ValueError, r"not a submodule"),
    ],
)
def test_layer_spec_errors(layers, exc, message, resnet18):
    with pytest.raises(exc, match=message):
        record(resnet18, layers)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(outputs=False), ValueError, "Nothing to record"),
        (dict(to="gpu9"), ValueError, "`to` must name a device"),
        (dict(to=3), TypeError, "`to` must be None"),
        (dict(reduce="mean"), TypeError, "`reduce` must be a callable"),
        (dict(buffers={}), TypeError, "`buffers` must be a CaptureBuffers"),
    ],
)
def test_record_argument_errors(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        record(Block(), "bn", **kwargs)


def test_layer_that_did_not_run_is_reported():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.a(x)

    model = Branchy()
    with pytest.raises(LayersNotRunError, match=r"1 requested layer\(s\) never ran.*'b'"):
        with record(model, ["a", "b"]):
            model(x_(1, 2))
    with record(model, ["a", "b"], strict=False) as rec:
        model(x_(1, 2))
    assert rec.counts == {"a": 1, "b": 0}
    assert list(rec) == ["a"] and "b" not in rec and "a" in rec and len(rec) == 1
    with pytest.raises(KeyError, match="has not run"):
        rec["b"]
    with pytest.raises(KeyError, match="not one of the recorded layers.*'a'"):
        rec["c"]
    assert all(v == 0 for v in hook_counts(model).values())


def test_inputs_not_recorded_error():
    model = Block()
    with record(model, "bn") as rec:
        model(x_(2, 4))
    with pytest.raises(ValueError, match="inputs=True"):
        rec.inputs["bn"]


# ----------------------------------------------------------------- collect


def test_collect_tensor_dataset_and_loader_agree_with_one_forward():
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = Block().eval()
    model.train()  # collect runs in eval mode and puts the flags back
    x = x_(10, 4)
    y = torch.arange(10)
    with torch.no_grad():
        model.eval()
        expected = model.bn(model.fc(x))
        model.train()
    bn_before = model.bn.running_mean.clone()
    a = collect(model, x, ["bn", "out"], batch_size=3)
    b = collect(model, TensorDataset(x, y), ["bn"], batch_size=4)
    c = collect(model, DataLoader(TensorDataset(x, y), batch_size=7), ["bn"])
    d = collect(model, [x[:6], x[6:]], ["bn"])  # an iterable of batches (length unknown)
    for got in (a["bn"], b["bn"], c["bn"], d["bn"]):
        torch.testing.assert_close(got, expected)
    assert (a["bn"] < 0).any()  # not clipped by the in-place ReLU
    assert a["out"].shape == (10, 3) and not a["out"].requires_grad
    assert model.training and model.bn.training
    torch.testing.assert_close(model.bn.running_mean, bn_before)


def test_collect_reduce_and_errors():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True))
    x = x_(5, 1, 6, 6)
    out = collect(model, x, "0", batch_size=2, reduce=lambda t: t.amax((2, 3)), to=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(out["0"], model[0](x).amax((2, 3)).double())
    with pytest.raises(ValueError, match="ran more than once"):
        collect(Twice(), x_(4, 3), "act", batch_size=2)
    with pytest.raises(ValueError, match="dimension 0"):
        collect(model, x, "0", batch_size=2, reduce=lambda t: t.mean())
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        collect(model, x, "0", batch_size=0)
    assert all(v == 0 for v in hook_counts(model).values())


# ----------------------------------------------------------------- patch


def test_patch_replaces_output_and_record_sees_it():
    torch.manual_seed(0)
    model = Block().eval()
    x = x_(4, 4)

    def ablate(t):
        t = t.clone()
        t[:, 0] = 0
        return t

    with torch.no_grad():
        clean = model(x)
        with record(model, ["fc", "out"]) as rec, patch(model, {"fc": ablate}):
            patched = model(x)
        manual = model.out(torch.relu(model.bn(ablate(model.fc(x)))))
    torch.testing.assert_close(patched, manual)
    assert not torch.allclose(patched, clean)
    assert (rec["fc"][:, 0] == 0).all()  # record (entered first) still sees the patch
    assert all(v == 0 for v in hook_counts(model).values())


def test_patch_in_place_fn_and_shape_check():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    x = x_(2, 3)
    with torch.no_grad(), patch(model, {nn.Linear: lambda t: t.zero_()}):
        assert (model(x) == 0).all()
    with pytest.raises(ValueError, match=r"patch of layer '0' must keep.*\(2, 4\).*Got shape \(2, 3\)"):
        with patch(model, {"0": lambda t: t[:, :3]}):
            model(x)
    with pytest.raises(ValueError, match="dtype"):
        with patch(model, {"1": lambda t: t.double()}):
            model(x)
    with pytest.raises(LayersNotRunError, match="'1'"):
        with patch(model, {"1": lambda t: t}):
            pass
    assert all(v == 0 for v in hook_counts(model).values())


# ----------------------------------------------------------------- summary


def test_summary_rows_and_format():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    model.train()
    rows = summary(model, (4, 2))
    assert rows[0] == LayerRow("", "Sequential", (4, 1), 13)
    assert [tuple(r) for r in rows[1:]] == [
        ("0", "Linear", (4, 3), 9),
        ("1", "Sequential", (4, 1), 4),
        ("1.0", "ReLU", (4, 3), 0),
        ("1.1", "Linear", (4, 1), 4),
    ]
    assert [r.depth for r in rows] == [0, 1, 1, 2, 2]
    assert model.training and all(m.training for m in model.modules())
    text = format_summary(rows)
    assert "Total params: 13" in text and "[4, 3]" in text and "ReLU" in text
    lstm_rows = summary(nn.Sequential(nn.LSTM(3, 5)), torch.zeros(7, 2, 3))
    assert lstm_rows[1].output_shape == ((7, 2, 5), ((1, 2, 5), (1, 2, 5)))


def test_resolve_model_ref():
    pytest.importorskip("torchvision")
    model = resolve_model_ref("torchvision:resnet18")
    assert type(model).__name__ == "ResNet"
    rows = summary(model, example_input_shape("torchvision:resnet18"))
    assert {r.name: r.output_shape for r in rows}["layer4"] == (1, 512, 7, 7)
    assert rows[0].n_params == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match=r"Unknown torchvision model 'resnt18'. Did you mean 'resnet18'.*alexnet"):
        resolve_model_ref("torchvision:resnt18")
    with pytest.raises(ValueError, match="must look like 'torchvision:NAME'"):
        resolve_model_ref("resnet18")


# ----------------------------------------------------------------- real models


def test_torchvision_resnet18_every_leaf_with_grads():
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = tv.models.resnet18(weights=None).train()
    before = hook_counts(model)
    leaves = layer_names(model, leaves=True)
    x = x_(2, 3, 32, 32)
    with record(model, leaves, grads=True) as rec:
        model(x).sum().backward()
    assert hook_counts(model) == before
    assert rec.n_calls("layer1.0.relu") == 2  # BasicBlock reuses its ReLU
    assert rec["conv1"].shape == (2, 64, 16, 16)
    assert rec.grads["fc"].shape == (2, 1000)
    torch.testing.assert_close(rec.grads["fc"], torch.ones(2, 1000))


def test_transformer_encoder():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True, dropout=0.0)
    model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
    x = x_(2, 5, 8)
    names = ["layers.0.self_attn", "layers.0.linear1", "layers.1.norm2", "layers.1"]
    with torch.no_grad():
        with record(model, names, inputs=True) as rec:
            out = model(x)
        attn_out, attn_w = rec["layers.0.self_attn"]
        assert attn_out.shape == (2, 5, 8)
        torch.testing.assert_close(rec["layers.1"], out)
        torch.testing.assert_close(rec["layers.1.norm2"], out)  # post-norm: the last op
        lin = model.layers[0].linear1
        torch.testing.assert_close(rec["layers.0.linear1"], lin(rec.inputs["layers.0.linear1"]))
    # out_proj is used through its weights only: strict mode says so
    with pytest.raises(LayersNotRunError, match="out_proj"):
        with torch.no_grad(), record(model, "layers.0.self_attn.out_proj"):
            model(x)


@pytest.mark.slow
def test_torchvision_vit_b_16():
    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = tv.models.vit_b_16(weights=None).eval()
    before = state(model)
    leaves = layer_names(model, leaves=True)
    x = x_(1, 3, 224, 224)
    with torch.no_grad(), record(model, leaves, strict=False, reduce=lambda t: t[..., :4]) as rec:
        logits = model(x)
    assert_same_state(before, state(model))
    not_run = sorted(n for n, c in rec.counts.items() if c == 0)
    assert not_run == sorted(f"encoder.layers.encoder_layer_{i}.self_attention.out_proj" for i in range(12))
    assert rec["conv_proj"].shape == (1, 768, 14, 4)
    torch.testing.assert_close(rec["heads.head"], logits[..., :4])


def test_every_vizkit_model():
    from vizkit.models import build_default, list_models

    names = list_models()
    assert names
    for name in names:
        torch.manual_seed(0)
        model = build_default(name, (1, 28, 28), 10).eval()
        before = state(model)
        leaves = layer_names(model, leaves=True)
        x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        with torch.no_grad(), record(model, leaves, inputs=True) as rec:
            logits = model(x)
        assert_same_state(before, state(model))
        assert logits.shape == (3, 10), name
        with torch.no_grad():
            for layer in leaves:
                for i in range(rec.n_calls(layer)):
                    inp = copy.deepcopy(rec.inputs[layer, i])
                    args = inp if isinstance(inp, tuple) else (inp,)
                    direct = model.get_submodule(layer)(*args)
                    torch.testing.assert_close(rec[layer, i], direct, msg=f"{name}:{layer}")
        acts = collect(model, x, leaves[-1], batch_size=2)
        torch.testing.assert_close(acts[leaves[-1]], rec[leaves[-1]], msg=name)


@SAFETY
def test_nested_blocks_and_inference_mode(extra):
    torch.manual_seed(0)
    model = Block().eval()
    x = x_(5, 4)
    with torch.no_grad():
        expected = model.bn(model.fc(x))
    with torch.inference_mode():
        with record(model, "bn", **kw(extra)) as outer:
            with record(model, ["bn", "act"], **kw(extra)) as inner:
                model(x)
    for rec in (outer, inner):
        torch.testing.assert_close(rec["bn"], expected)
    assert (outer["bn"] < 0).any() and (inner["act"] >= 0).all()
    assert mode_depth() == 0
