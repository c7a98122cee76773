"""Receptive fields, ink statistics: where the data has ink, by hand."""

import numpy as np
import pytest
import torch

from vizkit.analysis.receptive_fields import ink_frequency, ink_ratio, ink_share, structured_units


def test_ink_helpers_by_hand():
    x = torch.zeros(100, 1, 2, 3)
    x[:50, 0, 0, 0] = 1.0   # inked in 50 %
    x[:3, 0, 0, 1] = 0.5    # 3 %: neither never-inked nor inked
    x[:1, 0, 1, 2] = 0.2    # 1 %: not below 1 %, so not never-inked
    ink = ink_frequency(x)
    np.testing.assert_allclose(ink, [[0.5, 0.03, 0.0], [0.0, 0.0, 0.01]])
    fields = np.array([[[4.0, 9.0, -1.0], [3.0, 9.0, 9.0]], [[-2.0, 9.0, 1.0], [-1.0, 9.0, 9.0]]])
    # never-inked: (0,2), (1,0), (1,1) -> mean |f| = (1+3+9+1+1+9)/6 = 4; inked: (0,0) -> 3
    assert ink_ratio(fields, ink) == pytest.approx(4.0 / 3.0)
    np.testing.assert_allclose(ink_share(fields, ink), [4 / 35, 2 / 31])
    assert structured_units(fields, ink, 1) == [0]
    assert np.isnan(ink_ratio(fields, np.full((2, 3), 0.5)))  # no never-inked pixel
    with pytest.raises(ValueError, match="must end in the ink map's shape"):
        ink_ratio(fields[:, :, :2], ink)
    with pytest.raises(ValueError, match="non-empty batch"):
        ink_frequency(torch.zeros(0, 2, 3))


def test_structured_units_pick_fields_on_the_ink():
    ink = np.zeros((6, 6))
    ink[2:4, 2:4] = 0.5
    g = np.random.default_rng(0)
    fields = g.normal(size=(10, 6, 6))
    fields[[3, 7], 2:4, 2:4] += 20.0   # two units whose fields lie on the ink
    assert structured_units(fields, ink, 2) == [3, 7] or structured_units(fields, ink, 2) == [7, 3]
