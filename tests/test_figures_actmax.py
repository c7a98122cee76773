"""Figure family actmax (vizkit.figures.actmax): class, facet and hidden-unit images, captions
from the results."""

import numpy as np
import pytest
import torch

from vizkit.data import Split
from vizkit.figures import NotApplicable
from vizkit.figures.actmax import SAME_FACETS, figures
from vizkit.models import build_default


def test_figure_family(pyplot):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 1, 8, 8, generator=g)
    y = torch.arange(30) % 3
    split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 8, 8), "0")
    torch.manual_seed(0)
    net = build_default("cnn", (1, 8, 8), 3, channels=(4, 6), hidden=8)
    figs = figures(net, split)
    assert [f.id for f in figs] == ["actmax-classes", "actmax-facets", "actmax-hidden"]
    cls, facets, hidden = figs
    assert cls.fig.axes[0].get_title() == "optimized"
    # each block's heading states the two numbers it compares, with the verdict's sign
    heads = [sf._suptitle.get_text() for sf in cls.fig.subfigs if sf._suptitle is not None]
    assert len(heads) == 3 and heads[0].startswith("class a: optimized ")
    assert cls.data["images"].shape == (3, 1, 8, 8) and list(cls.data["targets"]) == [0, 1, 2]
    act, p, best = (cls.data[k] for k in ("activations", "probabilities", "best_real_activations"))
    with torch.no_grad():  # the recorded numbers are the network's on the recorded images
        logits = net.eval()(torch.from_numpy(cls.data["images"]))
        real = net(x)
    np.testing.assert_allclose(act, logits[torch.arange(3), torch.arange(3)].numpy(), rtol=1e-5)
    np.testing.assert_allclose(best, real.max(0).values.numpy(), rtol=1e-5)
    # the caption's numbers are the data's
    beats = cls.data["beats_every_test_image"]
    assert beats.tolist() == (act > best).tolist()
    for k, c in enumerate("abc"):  # each class's verdict, with both numbers, in the caption
        pair = (f"{act[k]:.3g} vs" if beats[k] else f"{best[k]:.3g} vs {act[k]:.3g}")
        assert f"class {c} (" in cls.caption and pair in cls.caption
    assert f"at least {p.min():.3f}" in cls.caption and "24 training images" not in cls.caption
    assert f"{len(split.y_train)} training images" in cls.caption
    assert facets.data["images"].shape == (9, 1, 8, 8)
    assert list(facets.data["targets"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # the facets' correlation is recomputed from the images, and the caption judges it honestly
    im = torch.from_numpy(facets.data["images"]).flatten(1).view(3, 3, -1)
    im = im - im.mean(-1, keepdim=True)
    im = im / im.norm(dim=-1, keepdim=True)
    pairs = [float(im[c, i] @ im[c, j])
             for c in range(3) for i in range(3) for j in range(3) if i != j]
    corr = float(np.mean(pairs))
    assert float(facets.data["facet_correlation"]) == pytest.approx(corr, abs=1e-5)
    assert f"class: {corr:.2f} (1: identical)" in facets.caption
    assert ("barely differ" in facets.caption) == (corr >= SAME_FACETS)
    assert "conv2 + batch norm (features.5)" in hidden.caption  # the norm after the last conv
    assert hidden.data["targets"][-1] == "features.5"  # the whole-layer objective
    n_bad = int(hidden.data["degenerate"].sum())
    assert ("No image is degenerate" in hidden.caption) == (n_bad == 0)
    x2 = torch.rand(10, 2)
    split2 = Split("2d", x2, y[:10], x2, y[:10], x2, y[:10], ("a", "b", "c"), (2,), "0")
    with pytest.raises(NotApplicable, match="input shape"):
        figures(build_default("mlp", (2,), 3), split2)
