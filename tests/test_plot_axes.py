"""The image grid every image figure is laid out on: its shape, and a clear error for an empty or
impossible grid (an empty selection used to crash with ZeroDivisionError)."""

import numpy as np
import pytest

from vizkit.plot._axes import image_grid_axes


@pytest.mark.parametrize("n, ncols, rows", [(1, None, 1), (5, None, 1), (6, None, 2),
                                            (7, 3, 3), (np.int64(4), 4, 1)])
def test_the_grid_holds_exactly_n_axes(pyplot, n, ncols, rows):
    fig, axes = image_grid_axes(n, ncols=ncols)
    assert len(axes) == len(fig.axes) == n
    assert len({ax.get_subplotspec().rowspan.start for ax in axes}) == rows


@pytest.mark.parametrize("n, ncols", [(0, None), (-1, None), (2.5, None), (True, None),
                                      (3, 0), (3, -2)])
def test_an_empty_or_impossible_grid_is_a_clear_error(pyplot, n, ncols):
    with pytest.raises(ValueError, match="`n`|`ncols`") as info:
        image_grid_axes(n, ncols=ncols)
    assert repr(ncols if ncols is not None and n == 3 else n) in str(info.value)
