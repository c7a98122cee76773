"""vizkit._torch: one layer resolver, the model's device, and mode contexts that put flags back."""

import pytest
import torch
from torch import nn

from vizkit._torch import frozen_eval, layer_name, model_device, resolve_layer, training_mode


def _mixed() -> nn.Module:
    """Nested modules with mixed ``training`` and ``requires_grad`` flags."""
    net = nn.Sequential(
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU()),
        nn.Dropout(0.5),
        nn.Sequential(nn.Linear(4, 2)),
    )
    net[0].eval()                      # inner block in eval, the rest in train
    net[0][1].train()                  # ... but its batch norm in train
    net[2][0].bias.requires_grad_(False)
    return net


def _flags(net):
    return ([m.training for m in net.modules()], [p.requires_grad for p in net.parameters()])


@pytest.mark.parametrize("context", [frozen_eval, lambda m: training_mode(m, False),
                                     lambda m: training_mode(m, True)])
def test_flags_restored_after_an_exception(context):
    net = _mixed()
    before = _flags(net)
    assert len(set(before[0])) == 2 and len(set(before[1])) == 2  # really mixed
    with pytest.raises(RuntimeError, match="boom"):
        with context(net):
            raise RuntimeError("boom")
    assert _flags(net) == before


def test_frozen_eval_sets_eval_and_freezes_every_parameter_then_restores():
    net = _mixed()
    before = _flags(net)
    with frozen_eval(net) as m:
        assert m is net
        assert not any(x.training for x in net.modules())
        assert not any(p.requires_grad for p in net.parameters())
        y = net(torch.randn(5, 3))
        assert not y.requires_grad
    assert _flags(net) == before


def test_training_mode_sets_every_module_and_keeps_requires_grad():
    net = _mixed()
    before = _flags(net)
    with training_mode(net, True):
        assert all(x.training for x in net.modules())
        assert [p.requires_grad for p in net.parameters()] == before[1]
    with training_mode(net, False):
        assert not any(x.training for x in net.modules())
    assert _flags(net) == before
    with pytest.raises(TypeError, match="`mode` must be True"):
        with training_mode(net, "eval"):
            pass


def test_nested_contexts_unwind_in_order():
    net = _mixed()
    before = _flags(net)
    with training_mode(net, True):
        with frozen_eval(net):
            assert not net.training
        assert all(x.training for x in net.modules())
        assert all(p.requires_grad == f for p, f in zip(net.parameters(), before[1]))
    assert _flags(net) == before


def test_resolve_layer_dotted_names_and_modules():
    net = _mixed()
    assert resolve_layer(net, "0.1") is net[0][1]
    assert resolve_layer(net, "2.0") is net[2][0]
    assert resolve_layer(net, net[1]) is net[1]
    assert layer_name(net, net[0][2]) == "0.2"


def test_resolve_layer_shared_module_alias():
    lin = nn.Linear(2, 2)
    net = nn.Module()
    net.a = lin
    net.b = nn.Sequential(lin)  # the same module under a second name
    assert resolve_layer(net, "b.0") is lin


@pytest.mark.parametrize("name, closest", [("0.3", "'0.1'"), ("2.1", "'2.0'"), ("O.1", "'0.1'")])
def test_unknown_layer_lists_closest_names_and_layer_names(name, closest):
    with pytest.raises(ValueError) as e:
        resolve_layer(_mixed(), name)
    msg = str(e.value)
    assert f"Unknown layer {name!r} in Sequential" in msg
    assert "Closest names:" in msg and closest in msg
    assert "vizkit.hooks.layer_names(model)" in msg


@pytest.mark.parametrize("args, err, message", [
    ((nn.Linear(1, 1), 3), TypeError, "`layer` must be a dotted layer name or an nn.Module"),
    ((nn.Sequential(nn.ReLU()), nn.ReLU()), ValueError, "not a submodule of Sequential"),
    (("model", "0"), TypeError, "`model` must be a torch.nn.Module"),
    ((nn.Sequential(nn.ReLU()), ""), ValueError, "Unknown layer ''"),
])
def test_resolve_layer_errors(args, err, message):
    with pytest.raises(err, match=message):
        resolve_layer(*args)
    net = nn.Sequential(nn.ReLU())
    with pytest.raises(ValueError, match="not a submodule"):
        layer_name(net, nn.ReLU())


def test_model_device():
    assert model_device(nn.Linear(2, 2)) == torch.device("cpu")
    bn_only = nn.BatchNorm1d(3, affine=False)  # buffers, no parameters
    assert model_device(bn_only) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")
    assert model_device(nn.ReLU(), default=None) is None
    if torch.cuda.is_available():
        assert model_device(nn.Linear(2, 2).cuda()).type == "cuda"


def test_spec_input_shape_is_read_in_one_place():
    from vizkit._torch import model_input_shape, spec_input_shape
    from vizkit.models import build_default

    model = build_default("mlp", (1, 4, 4), 3)
    assert tuple(spec_input_shape(model)) == (1, 4, 4) == model_input_shape(model)
    assert spec_input_shape(nn.Linear(2, 2)) is None  # a user's model without a spec
    with pytest.raises(ValueError, match="input shape is unknown: pass `input_shape"):
        model_input_shape(nn.Linear(2, 2))
