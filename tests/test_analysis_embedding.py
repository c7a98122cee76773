"""Embeddings: the PCA route against scikit-learn on hand-collected activations, UMAP determinism and
reuse, labels in order, separated clusters stay separated, errors, the scatter's colours."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from torch import nn

from vizkit.analysis.embedding import embed, embed_activations, layer_activations


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 3))


def _clusters(n_per=50, k=4, d=10, seed=0):
    """k well-separated Gaussian blobs (centres 10 * e_i, unit spread) in d dimensions."""
    g = torch.Generator().manual_seed(seed)
    centres = 10.0 * torch.eye(k, d)
    y = torch.arange(k).repeat_interleave(n_per)
    x = centres[y] + torch.randn(len(y), d, generator=g)
    perm = torch.randperm(len(y), generator=g)
    return x[perm], y[perm], centres


@pytest.fixture(scope="module")
def umap_runs():
    """Every UMAP fit of this module, so numba's JIT compile is paid once (n = 200)."""
    x, y, centres = _clusters()
    model = nn.Sequential(nn.Identity(), nn.Identity())  # a layer whose activations are the data
    first = embed_activations(model, x, "1", labels=y, method="umap", seed=0)
    again = embed_activations(model, x, "1", labels=y, method="umap", seed=0)
    other = embed_activations(model, x, "1", labels=y, method="umap", seed=1)
    g = torch.Generator().manual_seed(5)
    y_new = torch.tensor([0, 1, 2, 3, 3, 2])
    x_new = centres[y_new] + 0.5 * torch.randn(len(y_new), centres.shape[1], generator=g)
    new_points = first.transform(model, x_new)
    return dict(x=x, y=y, first=first, again=again, other=other, y_new=y_new,
                new_points=new_points, refit=first.transform(x))


# ------------------------------------------------------------------------------------- PCA
def test_pca_route_equals_sklearn_pca_on_hand_collected_activations():
    model = _mlp()
    x = torch.rand(60, 1, 4, 4)
    res = embed_activations(model, x, "2", method="pca", batch_size=16)
    with torch.no_grad():
        hand = torch.relu(model[1](x.reshape(60, -1))).numpy()
    ref = PCA(n_components=2, random_state=0).fit_transform(hand)
    np.testing.assert_allclose(res.points, ref, atol=1e-5)
    assert res.method == "pca" and res.layer == "2" and res.n_features == 12


def test_conv_activations_are_flattened_per_example():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(48, 2))
    x = torch.rand(30, 1, 4, 4)
    acts = layer_activations(model, x, "1", batch_size=7)
    with torch.no_grad():
        hand = torch.relu(model[0](x)).reshape(30, -1)
    torch.testing.assert_close(acts, hand)
    res = embed_activations(model, x, "1", method="pca")
    ref = PCA(n_components=2, random_state=0).fit_transform(hand.numpy())
    np.testing.assert_allclose(res.points, ref, atol=1e-5)


def test_layer_none_embeds_the_raw_inputs():
    x = torch.rand(40, 1, 3, 3)
    res = embed_activations(_mlp(), x, None, method="pca")
    ref = PCA(n_components=2, random_state=0).fit_transform(x.reshape(40, -1).numpy())
    np.testing.assert_allclose(res.points, ref, atol=1e-5)
    assert res.layer is None and res.n_features == 9


def test_pca_transform_of_fitted_points_is_their_embedding_and_routes_agree():
    model = _mlp()
    x = torch.rand(50, 1, 4, 4)
    res = embed_activations(model, x, "2", method="pca")
    np.testing.assert_allclose(res.transform(model, x), res.points, atol=1e-5)
    acts = layer_activations(model, x[:5], "2")
    np.testing.assert_allclose(res.transform(acts), res.transform(model, x[:5]), atol=1e-6)
    with pytest.raises(ValueError, match="fitted on 12 features.*have 16"):
        res.transform(x.reshape(50, -1))


def test_labels_kept_in_order_and_follow_their_points():
    model = _mlp()
    x = torch.rand(40, 1, 4, 4)
    y = torch.arange(40) % 3
    res = embed_activations(model, x, "2", labels=y, method="pca")
    np.testing.assert_array_equal(res.labels, y.numpy())
    # shuffling the inputs with their labels shuffles points and labels together
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    res_p = embed_activations(model, x[perm], "2", labels=y[perm], method="pca")
    np.testing.assert_array_equal(res_p.labels, y[perm].numpy())
    # PCA is defined up to each component's sign
    signs = np.sign((res_p.points * res.points[perm.numpy()]).sum(0))
    np.testing.assert_allclose(res_p.points * signs, res.points[perm.numpy()], atol=1e-4)


def test_pca_keeps_separated_clusters_separated():
    x, y, _ = _clusters()
    res = embed(x, labels=y, method="pca")
    assert silhouette_score(res.points, res.labels) > 0.5


def test_model_left_as_it_was():
    model = _mlp()
    model.train()
    embed_activations(model, torch.rand(20, 1, 4, 4), "2", method="pca")
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


# ------------------------------------------------------------------------------------ UMAP
def test_umap_same_seed_same_coordinates(umap_runs):
    first, again, other = umap_runs["first"], umap_runs["again"], umap_runs["other"]
    assert first.method == "umap" and first.points.shape == (200, 2)
    np.testing.assert_array_equal(first.points, again.points)
    assert not np.allclose(first.points, other.points)  # the seed does matter


def test_umap_keeps_separated_clusters_separated_and_labels_in_order(umap_runs):
    first = umap_runs["first"]
    np.testing.assert_array_equal(first.labels, umap_runs["y"].numpy())
    assert silhouette_score(first.points, first.labels) > 0.5


def test_umap_reuses_the_fit_for_new_points(umap_runs):
    first = umap_runs["first"]
    centroids = np.stack([first.points[first.labels == c].mean(0) for c in range(4)])
    new = umap_runs["new_points"]
    nearest = np.linalg.norm(new[:, None] - centroids[None], axis=2).argmin(1)
    np.testing.assert_array_equal(nearest, umap_runs["y_new"].numpy())
    # the fitted points map onto their own embedding (and the result is a copy)
    np.testing.assert_allclose(umap_runs["refit"], first.points, atol=1e-5)
    umap_runs["refit"][:] = 0
    assert np.abs(first.points).sum() > 0


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, match", [
    ({"layer": "layers.9"}, r"`layer` must be None \(the inputs\) or one of the layer names of "
                            r"Sequential: '0', '1', '2', '3'.*Got 'layers.9' instead."),
    ({"method": "tnse"}, r"`method` must be one of 'umap', 'pca', 'tsne'. Got 'tnse' instead."),
    ({"labels": [0, 1]}, "one entry per point: 20 points, 2 labels"),
    ({"method": "umap", "n_neighbors": 20}, r"`n_neighbors` \(20\) must be smaller than the number "
                                            r"of points \(20\)"),
    ({"method": "umap", "n_neighbors": 1}, "`n_neighbors` must be an integer >= 2"),
])
def test_errors(kwargs, match):
    args = {"layer": "2", "method": "pca", **kwargs}
    layer = args.pop("layer")
    with pytest.raises(ValueError, match=match):
        embed_activations(_mlp(), torch.rand(20, 1, 4, 4), layer, **args)


# ------------------------------------------------------------------------------------ plot
def test_plot_embedding_uses_class_colours_and_names(pyplot):
    from vizkit.plot.style import class_colors
    from vizkit.plot.embedding import plot_embedding

    x, y, _ = _clusters(n_per=10)
    res = embed(x, labels=y, method="pca")
    ax = plot_embedding(res, class_names=["zero", "one", "two", "three", "four"])
    sc = ax.collections[-1]
    order = sc.vizkit_order
    np.testing.assert_allclose(sc.get_offsets(), res.points[order])
    expected = np.asarray(class_colors(5))[res.labels[order]]
    np.testing.assert_allclose(sc.get_facecolors()[:, :3], expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero", "one", "two", "three"]
    assert ax.get_xlabel() == "PC 1" and ax.get_title() == "PCA of the input"
    # the caller's labels stay
    fig, ax2 = pyplot.subplots()
    ax2.set_title("mine")
    plot_embedding(res, ax=ax2, legend=False)
    assert ax2.get_title() == "mine" and ax2.get_legend() is None


def test_plot_embedding_without_labels_and_bad_labels(pyplot):
    from vizkit.plot.embedding import plot_embedding

    res = embed(np.random.default_rng(0).normal(size=(15, 3)), method="pca")
    ax = plot_embedding(res)
    assert len(ax.collections[-1].get_offsets()) == 15 and ax.get_legend() is None
    res.labels = np.arange(15) % 4
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\] for 2 classes"):
        plot_embedding(res, class_names=["a", "b"])


# ------------------------------------------------------------------------------ figure family
def test_embedding_figures_show_input_and_learned_layers(pyplot, umap_runs):
    from vizkit.data import Split, fingerprint
    from vizkit.analysis.embedding import embedding_layers
    from vizkit.figures.embedding import figures as make
    from vizkit.models import ConvNet, PTDeep, PTLogreg, RBFNet

    assert embedding_layers(PTDeep([4, 6, 5, 3])) == [
        ("layers.1", "first hidden ReLU (6 units)"), ("layers.3", "last hidden ReLU (5 units)")]
    assert [n for n, _ in embedding_layers(ConvNet(image_size=8, channels=(2,)))] == [
        "features", "classifier.2"]
    assert [n for n, _ in embedding_layers(RBFNet(image_size=8, channels=(2,)))] == [
        "features", "bottleneck"]
    assert embedding_layers(PTLogreg(4, 3)) == []

    x, y = torch.rand(40, 1, 4, 4, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 4
    parts = (x, y, x, y, x, y)
    split = Split("tiny", *parts, classes=("a", "b", "c", "d"), input_shape=(1, 4, 4),
                  fingerprint=fingerprint(*parts))
    figs = make(PTDeep([16, 8, 4]), split)
    assert [f.id for f in figs] == ["embedding_umap", "embedding_tsne", "embedding_pca"]
    axes = figs[1].fig.axes
    assert len(axes) == 2 and "input (raw pixels)" in axes[0].get_title()
    assert "'layers.1'" in axes[1].get_title()
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["a", "b", "c", "d"]
    only_input = make(PTLogreg(16, 4), split)[-1]
    assert len(only_input.fig.axes) == 1 and "no hidden layer" in only_input.caption
