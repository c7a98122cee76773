"""Figure family ``embedding``: UMAP (and PCA) of the test set's raw inputs beside one or two of
the model's learned layers, coloured by class."""

from __future__ import annotations

from . import Figure, NotApplicable

__all__ = ["make", "embedding_layers"]

_MAX_POINTS = 1000


def embedding_layers(model) -> list[tuple[str, str]]:
    """``(layer name, description)`` of the learned layers worth embedding for ``model``.

    MLP (``PTDeep``): the first and the last hidden activation; ``ConvNet``: the flattened conv
    features and the hidden ReLU of the classifier; ``RBFNet``: the conv features and the
    bottleneck; any other model: its last ReLU-like activation, if any. Logistic regression has
    none (only the input is embedded).
    """
    from torch import nn

    from ..models import ConvNet, PTDeep, PTLogreg, RBFNet

    if isinstance(model, PTLogreg):
        return []
    if isinstance(model, PTDeep):
        mods = list(model.layers)
        last_linear = max(i for i, m in enumerate(mods) if isinstance(m, nn.Linear))
        hidden = [i for i, m in enumerate(mods[:last_linear])
                  if not isinstance(m, (nn.Linear, nn.Dropout, nn.BatchNorm1d))]
        picks = sorted({hidden[0], hidden[-1]}) if hidden else []
        out = []
        for i in picks:
            which = "last" if i == hidden[-1] else "first"
            width = [m for m in mods[:i] if isinstance(m, nn.Linear)][-1].out_features
            out.append((f"layers.{i}", f"{which} hidden {type(mods[i]).__name__} ({width} units)"))
        return out
    if isinstance(model, ConvNet):
        relus = [i for i, m in enumerate(model.classifier) if isinstance(m, nn.ReLU)]
        out = [("features", "conv features (flattened)")]
        if relus:
            out.append((f"classifier.{relus[-1]}", "hidden ReLU of the classifier"))
        return out
    if isinstance(model, RBFNet):
        return [("features", "conv features (flattened)"),
                ("bottleneck", "the 2D bottleneck before the RBF layer")]
    acts = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid)
    names = [n for n, m in model.named_modules() if n and isinstance(m, acts)]
    return [(names[-1], f"last activation ({names[-1]})")] if names else []


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """UMAP and PCA of up to 1000 test points: the input, then the model's learned layers."""
    import matplotlib.pyplot as plt
    from torch import nn

    from ..analysis.embedding import embed_activations
    from ..plot.embedding import plot_embedding

    if not isinstance(model, nn.Module):
        raise NotApplicable(f"embeddings read a torch model's layers; {type(model).__name__} is "
                            "not an nn.Module.")
    n = min(_MAX_POINTS, len(split.y_test))
    x, y = split.x_test[:n], split.y_test[:n]
    layers = [(None, "input (raw pixels)" if len(split.input_shape) == 3 else "input")]
    layers += embedding_layers(model)
    classes = list(split.classes)
    figures = []
    for method in ("umap", "pca"):
        cols = len(layers)
        fig, axes = plt.subplots(1, cols, figsize=(4.2 * cols + 0.8, 4.5), squeeze=False,
                                 layout="constrained")
        for k, (layer, what) in enumerate(layers):
            res = embed_activations(model, x, layer, labels=y, method=method, seed=seed)
            ax = axes[0, k]
            ax.set_title(f"{what}\n{'' if layer is None else repr(layer) + ', '}"
                         f"{res.n_features} features", fontsize=9)
            plot_embedding(res, ax=ax, class_names=classes, legend=k == cols - 1,
                           legend_kw={"loc": "center left", "bbox_to_anchor": (1.01, 0.5),
                                      "title": "class", "title_fontsize": 8})
        if method == "umap":
            head = f"UMAP (n_neighbors=15, min_dist=0.1, seed={seed})"
            look = ("UMAP keeps neighbourhoods, not distances: compare how cleanly the classes "
                    "separate in the input and in the learned layers; classes that stay mixed are "
                    "the ones the model confuses.")
        else:
            head = "PCA (first two principal components)"
            look = ("PCA is linear and keeps large-scale distances: well-trained deeper layers "
                    "spread the classes along the first components.")
        fig.suptitle(f"{head} of {n} test examples, coloured by true class", fontsize=10)
        caption = (f"{head} of the first {n} test examples: the raw input"
                   + (", then " + ", ".join(repr(l) for l, _ in layers[1:]) if len(layers) > 1
                      else " only (the model has no hidden layer)")
                   + f". Colours are the class colours of every figure. {look}")
        figures.append(Figure(id=f"embedding_{method}", fig=fig, caption=caption))
    return figures
