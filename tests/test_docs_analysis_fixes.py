"""Bugs found while writing the analysis modules' numpydoc docstrings (issue 22)."""

import numpy as np
import pytest
import torch

from vizkit.analysis.decision_surface import resolve_rect
from vizkit.analysis.receptive_fields import field_views, ink_frequency, structured_units
from vizkit.models import PTDeep


def test_field_views_take_flat_inputs_like_images():
    # the docstring's ``x : (N, ...)``: flat inputs used to give flat gradient fields that
    # could not be stacked with the (H, W) propagated ones
    torch.manual_seed(0)
    net = PTDeep([16, 8, 6, 3])
    x = torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    ink = ink_frequency(x, threshold=0.5)
    as_images = field_views(net, 3, x, ink)
    flat = field_views(net, 3, x.reshape(12, 16), ink)
    assert flat.views == as_images.views == ["propagated", "propagated, mean-gated", "gradient"]
    assert flat.fields.shape == as_images.fields.shape == (3, 3, 4, 4)
    np.testing.assert_allclose(flat.fields, as_images.fields, atol=1e-6)
    np.testing.assert_allclose(flat.ratios, as_images.ratios, equal_nan=True)
    # the gradient view is a real gradient, not the propagated view reshaped
    assert not np.allclose(flat.fields[2], flat.fields[0])


@pytest.mark.parametrize("n", [-1, 1.5, True, "2"])
def test_structured_units_rejects_a_bad_n(n):
    fields, ink = np.ones((3, 1, 2)), np.array([[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 0"):
        structured_units(fields, ink, n)


def test_structured_units_n_zero_and_more_than_units():
    fields, ink = np.array([[[1.0, 3.0]], [[3.0, 1.0]]]), np.array([[0.0, 1.0]])
    assert structured_units(fields, ink, 0) == []
    assert structured_units(fields, ink, np.int64(5)) == [0, 1]


def test_rect_errors_print_plain_numbers():
    with pytest.raises(ValueError) as e:
        resolve_rect(((1, 0), (0, 1)))
    assert "(1.0, 0.0) and (0.0, 1.0)" in str(e.value) and "np.float64" not in str(e.value)
    with pytest.raises(ValueError, match=r"finite. Got \(0.0, 0.0\) to \(inf, 1.0\)"):
        resolve_rect(((0, 0), (np.inf, 1)))
