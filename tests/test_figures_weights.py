"""Figure family weights (vizkit.figures.weights): the weight images, captions from the result."""

import numpy as np
import pytest
import torch
from torch import nn

from _toy import readable
from vizkit.analysis.weights import weight_images
from vizkit.figures import NotApplicable
from vizkit.figures import weights as fam
from vizkit.models import build_default


def test_figure_family_and_not_applicable(pyplot):

    split = _tiny_split()
    figs = fam.figures(build_default("logreg", (1, 28, 28), 10), split)
    assert figs and figs[0].id == "weights" and "raw" in figs[0].caption
    with pytest.raises(NotApplicable, match="logistic regression"):
        fam.figures(build_default("mlp", (1, 28, 28), 10), split)
    with pytest.raises(NotApplicable):
        fam.figures(nn.Sequential(nn.Flatten(), nn.Linear(2, 3)), _tiny_split((2,)))


def _tiny_split(shape=(1, 28, 28)):
    from vizkit.data import Split

    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, *shape, generator=g)
    y = torch.arange(20) % 10
    return Split("tiny", x, y, x, y, x, y, tuple(str(k) for k in range(10)), tuple(shape), "0")


def test_figure_family_weights_caption_equals_the_result(pyplot):
    import dataclasses


    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot")
    split = dataclasses.replace(_tiny_split(), classes=names)
    torch.manual_seed(0)
    model = build_default("logreg", (1, 28, 28), 10)
    f = fam.figures(model, split)[0]
    r = weight_images(model, image_shape=(1, 28, 28))
    imgs = f.data["images"]
    np.testing.assert_allclose(imgs, r.images)
    assert f"|w| <= {np.abs(imgs).max():.3g}" in f.caption
    assert f"of each of the 10 class scores ({', '.join(names)})" in f.caption
    k = np.unravel_index(np.abs(imgs).argmax(), imgs.shape)[0]
    assert f"in the image of class '{names[k]}'" in f.caption
    assert "digit" not in f.caption.lower() and "ink" not in f.caption.lower()
    assert [str(c) for c in f.data["class_names"]] == list(names)
    ims = [im for ax in f.fig.axes for im in ax.get_images()]
    assert len(ims) == 10 and {im.get_clim() for im in ims} == {(-r.vmax, r.vmax)}
    assert sum(ax.get_label() == "<colorbar>" for ax in f.fig.axes) == 1
    readable(f.fig)


def test_weights_caption_says_how_often_the_largest_weights_pixel_is_inked(pyplot):
    """The caption's pixel and ink share are the data's (hand-placed weight and ink)."""
    from vizkit.data import Split

    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with torch.no_grad():
        model[1].weight.fill_(0.01)
        model[1].weight[1, 2 * 4 + 3] = -5.0  # class 1, row 2, column 3
        model[1].bias.zero_()
    x = torch.zeros(8, 1, 4, 4)
    x[:2, 0, 2, 3] = 1.0  # 2 of 8 images ink that pixel
    y = torch.arange(8) % 2
    split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), "0")
    cap = fam.figures(model, split)[0].caption
    assert "class 'b', at row 2, column 3: a pixel above 0.5 in 25.0% of the 8 training" in cap
