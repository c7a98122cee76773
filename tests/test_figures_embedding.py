"""Figure family embedding (vizkit.figures.embedding): the caption quotes the separation of the
points drawn, one legend of the class names, readable text."""

import numpy as np
import torch
from matplotlib.text import Text
from torch import nn

from vizkit.analysis.bottleneck import class_separation
from vizkit.data import Split
from vizkit.figures import make_figures


def _knn_by_hand(points, labels, k=10, folds=5):
    """A second route to map_knn_accuracy: the same stratified folds, a numpy majority vote."""
    from sklearn.model_selection import StratifiedKFold

    points, labels = np.asarray(points, float), np.asarray(labels)
    hits = []
    for train, test in StratifiedKFold(n_splits=folds).split(points, labels):
        d = ((points[test, None, :] - points[None, train, :]) ** 2).sum(-1)
        near = labels[train][np.argsort(d, axis=1, kind="stable")[:, :k]]
        vote = np.array([np.bincount(row, minlength=labels.max() + 1).argmax() for row in near])
        hits.append((vote == labels[test]).mean())
    return float(np.mean(hits))


def test_map_knn_accuracy_reads_the_picture_and_handles_uneven_classes():
    from vizkit.analysis.embedding import map_knn_accuracy

    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 3)  # uneven: the small class allows 3 folds only
    apart = rng.normal(size=(33, 2)) + 20 * y[:, None]
    assert map_knn_accuracy(apart, y, n_neighbors=3) == 1.0
    mixed = rng.normal(size=(33, 2))
    assert map_knn_accuracy(mixed, y) <= 30 / 33 + 1e-9  # no better than the majority class
    assert np.isnan(map_knn_accuracy(apart[:31], y[:31]))  # a class of one point
    assert np.isnan(map_knn_accuracy(apart[:30], y[:30]))  # one class only
    import pytest

    with pytest.raises(ValueError, match="one row per label"):
        map_knn_accuracy(apart, y[:5])
    with pytest.raises(ValueError, match="`folds`"):
        map_knn_accuracy(apart, y, folds=0)


def test_figure_family_embedding_caption_equals_the_drawn_points(pyplot):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.rand(60, 1, 4, 4, generator=g) * 0.3
    x[:, 0, 0, :] += y[:, None].float() / 2  # the class is in the top row
    names = ("T-shirt/top", "Ankle boot", "Bag")
    split = Split("fashion-like", x, y, x[:6], y[:6], x, y, names, (1, 4, 4), "0" * 16)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    from vizkit.analysis.embedding import layer_activations
    from sklearn.manifold import trustworthiness

    feats = [x.reshape(60, -1).numpy(), layer_activations(model, x, "2").numpy()]
    for f in make_figures("embedding", model, split):
        # separation is measured in each layer's own space (distances on a t-SNE/UMAP map mean
        # nothing), so it is the same for the three maps
        seps = [class_separation(a, f.data["labels"]) for a in feats]
        np.testing.assert_allclose(f.data["panel_separation"], seps)
        assert "the raw input " + f"{seps[0]:.2f}" in f.caption
        trust = [trustworthiness(a.astype(float), c.astype(float), n_neighbors=10)
                 for a, c in zip(feats, f.data["panel_coords"])]
        np.testing.assert_allclose(f.data["panel_trustworthiness"], trust, atol=1e-9)
        assert f"Trustworthiness of each map (scikit-learn, 10 neighbours" in f.caption
        shown = [_knn_by_hand(c, f.data["labels"]) for c in f.data["panel_coords"]]
        np.testing.assert_allclose(f.data["panel_map_knn_accuracy"], shown, atol=1e-9)
        assert "How well each map itself shows the classes" in f.caption
        partly = "shows it only partly" in f.caption
        assert partly == (f.caption.startswith("The classes come apart") and shown[-1] < 0.9)
        assert f"of the first 60 test examples (3 classes of fashion-like)" in f.caption
        assert "the raw input (16 features)" in f.caption and "digit" not in f.caption.lower()
        legend = [ax.get_legend() for ax in f.fig.axes if ax.get_legend()]
        assert [t.get_text() for t in legend[0].get_texts()] == list(names)
        f.fig.canvas.draw()
        sizes = [t.get_fontsize() for t in f.fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip()]
        # >= 20 px once fitted to a 1920x1080 slide: pt * min(26.7 / w, 15 / h) (inches)
        w, h = f.fig.get_figwidth(), f.fig.get_figheight()
        assert min(sizes) * min(1920 / 72 / w, 1080 / 72 / h) >= 20


def test_plot_embedding_writes_each_class_at_the_median_of_its_points(pyplot):
    from vizkit.analysis.embedding import Embedding
    from vizkit.plot.embedding import plot_embedding

    pts = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [10.0, 10.0], [12.0, 14.0]])
    res = Embedding(points=pts, labels=np.array([0, 0, 0, 2, 2]), reducer=None, method="pca",
                    layer=None, n_features=2)
    ax = plot_embedding(res, class_names=["zero", "one", "two"], label_classes=True)
    texts = {t.get_text(): t.get_position() for t in ax.vizkit_class_labels}
    assert texts == {"zero": (2.0, 0.0), "two": (11.0, 12.0)}  # class 1 has no points
    assert not plot_embedding(res, class_names=["zero", "one", "two"]).vizkit_class_labels
