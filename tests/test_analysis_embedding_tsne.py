"""t-SNE through the embedding interface: seeded, shaped, and it keeps neighbours."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.embedding import METHODS, embed, embed_activations


def _clusters(n_per=30, dim=12, k=4, seed=0):
    """``k`` well separated Gaussian blobs in ``dim`` dimensions, each with its own anisotropic
    inner structure (so that within-cluster neighbours matter too)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(k, dim))
    scales = rng.uniform(0.2, 2.0, size=(k, dim))
    x = np.concatenate([c + s * rng.normal(size=(n_per, dim)) for c, s in zip(centres, scales)])
    return x.astype(np.float32), np.repeat(np.arange(k), n_per)


def test_tsne_is_a_listed_method():
    assert METHODS == ("umap", "pca", "tsne")


def test_tsne_same_seed_same_points_and_shape():
    x, y = _clusters()
    a = embed(x, labels=y, method="tsne", n_neighbors=10, seed=3)
    b = embed(x, labels=y, method="tsne", n_neighbors=10, seed=3)
    assert a.points.shape == (len(x), 2) and a.points.dtype == np.float32
    assert a.method == "tsne" and a.layer is None and a.n_features == x.shape[1]
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.labels, y)
    assert type(a.reducer).__name__ == "TSNE" and a.reducer.perplexity == 10.0
    assert a.reducer.random_state == 3


def test_tsne_keeps_neighbours_better_than_random_projections():
    """On a swiss roll (a rolled-up 2D sheet in 3D), every flat projection folds the sheet onto
    itself; t-SNE unrolls it, so its 5 nearest neighbours are far more often true ones."""
    from sklearn.datasets import make_swiss_roll
    from sklearn.manifold import trustworthiness

    x, _ = make_swiss_roll(300, noise=0.05, random_state=0)
    x = x.astype(np.float32)
    res = embed(x, method="tsne", n_neighbors=10, seed=0)
    rng = np.random.default_rng(1)
    t_rand = max(trustworthiness(x, x @ rng.normal(size=(3, 2)), n_neighbors=5) for _ in range(5))
    t_tsne = trustworthiness(x, res.points, n_neighbors=5)
    assert t_tsne > t_rand + 0.05, (t_tsne, t_rand)


def test_tsne_keeps_separated_clusters_apart():
    x, y = _clusters()
    pts = embed(x, labels=y, method="tsne", n_neighbors=10, seed=0).points
    d = ((pts[:, None] - pts[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :5]
    assert (y[nearest] == y[:, None]).all()


def test_tsne_of_a_layer_and_its_errors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.rand(40, 1, 4, 4)
    res = embed_activations(model, x, "2", method="tsne", n_neighbors=5, seed=0)
    assert res.points.shape == (40, 2) and res.layer == "2" and res.n_features == 8
    with pytest.raises(ValueError, match="t-SNE embedding places only the points it was fitted on"):
        res.transform(model, x[:3])
    with pytest.raises(ValueError, match=r"`n_neighbors` \(40\) must be smaller than the number "
                                         r"of points \(40\)"):
        embed_activations(model, x, "2", method="tsne", n_neighbors=40)
    with pytest.raises(ValueError, match=r"`method` must be one of 'umap', 'pca', 'tsne'. "
                                         r"Got 'TSNE' instead."):
        embed(x, method="TSNE")
