"""Weight images: the linear input->class map as images, normalization folded in, one scale."""

import numpy as np
import pytest
import torch
from torch import nn

from _toy import readable
from vizkit.analysis.weights import linear_input_map, weight_images
from vizkit.figures import NotApplicable
from vizkit.models import PTDeep, PTLogreg, build_default
from vizkit.plot.weights import plot_weight_images, plot_weight_images_grid


def test_logreg_images_fold_in_normalization_and_reproduce_logits():
    torch.manual_seed(0)
    m = PTLogreg(16, 3, normalize=(0.25, 0.5))
    with torch.no_grad():
        m.b.copy_(torch.tensor([0.1, -0.2, 0.3]))
    r = weight_images(m, image_shape=(1, 4, 4))
    assert r.images.shape == (3, 4, 4)
    np.testing.assert_allclose(r.images[1], (m.W[:, 1] / 0.5).detach().view(4, 4).numpy(),
                               rtol=1e-6)
    assert r.vmax == pytest.approx(np.abs(r.images).max())
    # the images and effective bias are the model on RAW pixels: logits = x . img + bias
    x = torch.rand(5, 1, 4, 4)
    logits = x.flatten(1).double().numpy() @ r.images.reshape(3, -1).T + r.bias
    np.testing.assert_allclose(logits, m(x).detach().double().numpy(), rtol=1e-5, atol=1e-5)


def test_ptdeep_linear_and_raw_arrays_agree():
    torch.manual_seed(0)
    deep = PTDeep([784, 10])  # no normalization: images are the weights themselves
    W = deep.layers[0].weight.detach()  # [C, D]
    a = weight_images(deep)
    b = weight_images(deep.layers[0])
    c = weight_images(W.t().numpy())  # [D, C]
    d = weight_images(W)  # [C, D], side found from the square 784
    for r in (b, c, d):
        np.testing.assert_allclose(r.images, a.images, rtol=1e-6)
    assert a.images.shape == (10, 28, 28) and a.labels == [str(k) for k in range(10)]
    np.testing.assert_allclose(a.images[3], W[3].view(28, 28).numpy(), rtol=1e-6)


def test_registry_models():
    r = weight_images(build_default("logreg", (1, 28, 28), 10))
    assert r.images.shape == (10, 28, 28) and r.space == "raw input"
    with pytest.raises(ValueError, match="no single linear input->class map"):
        weight_images(build_default("mlp", (1, 28, 28), 10))
    with pytest.raises(ValueError, match="no single linear input->class map"):
        linear_input_map(build_default("cnn", (1, 28, 28), 10))


@pytest.mark.parametrize("arg, kw, message", [
    (np.zeros((5, 5)), {}, "ambiguous"),
    (np.zeros((3, 10)), {}, "cannot guess the image shape"),
    (np.zeros((16, 3)), {"image_shape": (3, 3)}, "has 9 pixels"),
    (np.zeros(16), {}, "must be 2-D"),
    (np.zeros((16, 3)), {"labels": ["a"]}, "1 names for 3 classes"),
])
def test_errors(arg, kw, message):
    with pytest.raises(ValueError, match=message):
        weight_images(arg, **kw)


def test_plot_one_symmetric_scale_and_colorbar(pyplot):
    torch.manual_seed(0)
    r = weight_images(PTLogreg(784, 10))
    out = plot_weight_images(r)
    assert len(out["images"]) == 10 and out["colorbar"] is not None
    for im in out["images"]:
        assert im.get_clim() == (-r.vmax, r.vmax)
        assert im.get_cmap().name == "RdBu_r"
    assert [ax.get_title() for ax in out["axes"]] == [str(k) for k in range(10)]
    np.testing.assert_array_equal(out["images"][7].get_array(), r.images[7])


def test_grid_shares_one_scale_across_lambdas(pyplot):
    big = weight_images(np.ones((16, 3)) * 2.0, image_shape=(4, 4))
    small = weight_images(np.ones((16, 3)) * 0.5, image_shape=(4, 4))
    out = plot_weight_images_grid([big, small], ["λ=0", "λ=1"])
    assert out["vmax"] == 2.0
    assert all(im.get_clim() == (-2.0, 2.0) for row in out["images"] for im in row)
    assert [row[0].get_ylabel() for row in out["axes"]] == ["λ=0", "λ=1"]
    with pytest.raises(ValueError, match="2 results"):
        plot_weight_images_grid([big, small], ["only one"])


def test_figure_family_and_not_applicable(pyplot):
    from vizkit.plot import weights as fam

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


def test_one_model_wraps_into_a_grid_not_a_strip(pyplot):
    r = weight_images(np.random.default_rng(0).normal(size=(16, 10)), image_shape=(4, 4))
    out = plot_weight_images_grid([r], ["λ=0"])
    boxes = [ax.get_position() for ax in out["axes"][0]]
    assert len({round(b.y0, 3) for b in boxes}) == 2 and len({round(b.x0, 3) for b in boxes}) == 5
    assert len(out["fig"].axes) == 11  # 10 images + one colour bar, no empty axes left
    assert all(im.get_clim() == (-r.vmax, r.vmax) for im in out["images"][0])
    assert out["colorbar"].mappable.get_clim() == (-r.vmax, r.vmax)
    readable(out["fig"])
    three = plot_weight_images_grid([r, r, r], ["a", "b", "c"])  # a column per class
    assert len({round(ax.get_position().x0, 3) for ax in three["axes"][0]}) == 10
    readable(three["fig"])


def test_figure_family_weights_caption_equals_the_result(pyplot):
    import dataclasses

    from vizkit.plot import weights as fam

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
    from vizkit.plot import weights as fam

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
