"""vizkit.models in the uncommon case: frozen weights (activation maximization, attributions),
one sample, float64."""

from __future__ import annotations

import pytest
import torch

from vizkit.models import PTLogreg
from vizkit.models._torch_models import _skinny_matmul


@pytest.mark.parametrize("x_grad, w_grad", [(True, False), (False, True)])
def test_skinny_product_gradients_when_only_one_side_requires_them(x_grad, w_grad):
    """Frozen weights and an input that requires grad (what actmax and attributions do), and
    the reverse: each gradient is the plain product's, and the other side gets none."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 6, dtype=torch.float64, generator=g).requires_grad_(x_grad)  # one sample
    W = torch.randn(6, 3, dtype=torch.float64, generator=g).requires_grad_(w_grad)
    up = torch.randn(1, 3, dtype=torch.float64, generator=g)
    (_skinny_matmul(x, W) * up).sum().backward()
    if x_grad:
        torch.testing.assert_close(x.grad, up @ W.t())
        assert W.grad is None
    else:
        torch.testing.assert_close(W.grad, x.t() @ up)
        assert x.grad is None


def test_logreg_input_gradient_with_frozen_parameters():
    torch.manual_seed(0)
    model = PTLogreg(12, 4, normalize=(0.5, 0.25)).eval()  # the input convention inside
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(1, 1, 3, 4, requires_grad=True)  # an image, not 2-D
    model(x)[0, 2].backward()
    torch.testing.assert_close(x.grad.flatten(), model.W[:, 2] / 0.25)  # d logit_2 / dx = W_2 / std
