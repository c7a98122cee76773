"""Teacher's review item 3: the bottleneck's region shading gets a key a room can read, one
labelled row per class (a colour bar's ten thin strips could not be read when projected). Its
colours come from the function that shades the regions, checked against it and by hand."""

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from test_analysis_bottleneck import _images, _rbfnet, _split
from vizkit.figures import make_figures
from vizkit.plot.bottleneck import center_size_handles, plot_region_key
from vizkit.plot.decision_surface import region_image
from vizkit.plot.style import class_colors


def test_region_key_rows_are_the_regions_colours_by_hand(pyplot):
    im = plot_region_key(4, class_names=list("wxyz"), min_alpha=0.1, max_alpha=0.45, n_steps=5)
    img = np.asarray(im.get_array())
    assert img.shape == (4, 5, 3)
    pal = np.asarray([to_rgb(c) for c in class_colors(4)])
    # palest at confidence 1/C (weight min_alpha), strongest at 1 (weight max_alpha)
    np.testing.assert_allclose(img[:, 0], 1 - 0.1 * (1 - pal))
    np.testing.assert_allclose(img[:, -1], 1 - 0.45 * (1 - pal))
    assert np.all(np.diff(img.sum(2), axis=1) <= 1e-12)  # darker with confidence, row by row
    # the same colours the regions get at those confidences (the second route)
    surf = SimpleNamespace(n_classes=4, labels=np.array([[2, 3]]), confidence=np.array([[0.25, 0.625]]))
    np.testing.assert_allclose(region_image(surf, min_alpha=0.1, max_alpha=0.45)[0],
                               [img[2, 0], img[3, 2]])
    ax = im.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == list("wxyz")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "1"]
    assert ax.get_xlim() == pytest.approx((0.25, 1.0))
    assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 12


def test_region_key_one_class_and_custom_colours(pyplot):
    im = plot_region_key(1, colors=["#ff0000", "#0000ff"], n_steps=2)
    np.testing.assert_allclose(np.asarray(im.get_array())[0, -1], [1.0, 0.4, 0.4])  # 0.6 red
    assert [t.get_text() for t in im.axes.get_yticklabels()] == ["0"]


@pytest.mark.parametrize("args, kwargs, message", [
    ((0,), {}, "n_classes >= 1"),
    ((3,), {"n_steps": 1}, "n_steps >= 2"),
    ((3,), {"class_names": ["a", "b"]}, "2 names for 3 classes"),
])
def test_region_key_errors(args, kwargs, message, pyplot):
    with pytest.raises(ValueError, match=message):
        plot_region_key(*args, **kwargs)


def test_bottleneck_figure_has_a_labelled_key_and_says_so(pyplot):
    x, y = _images()
    split = _split(x, y, ["T-shirt/top", "Ankle boot", "Bag"])
    model = _rbfnet()
    f = make_figures("bottleneck", model, split)[0]
    C = int(model(x[:1]).shape[1])  # the classes the head can predict (10 here, 3 named)
    keys = [ax for ax in f.fig.axes if ax.get_images()
            and np.asarray(ax.get_images()[0].get_array()).shape == (C, 64, 3)]
    assert len(keys) == 1
    key = keys[0]
    # a row for every class the head can predict: the split's names, then the numbers
    assert [t.get_text() for t in key.get_yticklabels()] == \
        list(split.classes) + [str(c) for c in range(3, C)]
    assert f"one row per class, from confidence {1 / C:.2g} (1/{C}, palest) to 1" in f.caption
    assert "colour bar" not in f.caption
    # the key's colours are those of the regions drawn beside it, at their own confidences
    img = np.asarray(key.get_images()[0].get_array())
    pal = np.asarray([to_rgb(c) for c in class_colors(C)])
    np.testing.assert_allclose(img[:, -1], 1 - 0.45 * (1 - pal))  # the family's max_alpha
    # every text a room reads: >= 12 pt
    f.fig.canvas.draw()
    sizes = [t.get_fontsize() for t in f.fig.findobj(lambda a: hasattr(a, "get_fontsize")
                                                      and hasattr(a, "get_text"))
             if t.get_visible() and t.get_text().strip()]
    assert min(sizes) >= 12


def test_sigma_legend_prints_no_value_twice():
    labels = [h.get_label() for h in center_size_handles([0.998, 0.9996, 1.0, 1.0004])]
    assert len(labels) == len(set(labels))
    assert [h.get_label() for h in center_size_handles([0.5, 2.0], n=3)] == \
        ["|sigma| 0.5", "|sigma| 1.25", "|sigma| 2"]
