"""Tiny seeded splits for the unit tests (no downloads)."""

import torch

from vizkit.data import Split, fingerprint


def xor_split(n=300, seed=0) -> Split:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    Y = (X[:, 0] * X[:, 1] > 0).long()
    a, b = int(n * 0.6), int(n * 0.8)
    return Split("toy-xor", X[:a], Y[:a], X[a:b], Y[a:b], X[b:], Y[b:], ("neg", "pos"), (2,),
                 fingerprint(X, Y))


def image_split(n=120, seed=0, size=8, classes=3) -> Split:
    """Class c has a bright c-th horizontal band: trivially learnable images [N, 1, size, size]."""
    g = torch.Generator().manual_seed(seed)
    Y = torch.arange(n) % classes
    X = torch.rand(n, 1, size, size, generator=g) * 0.2
    for c in range(classes):
        X[Y == c, 0, c * 2:(c * 2) + 2, :] += 0.8
    X = X.clamp(0, 1)
    a, b = int(n * 0.6), int(n * 0.8)
    return Split("toy-bands", X[:a], Y[:a], X[a:b], Y[a:b], X[b:], Y[b:],
                 tuple(str(c) for c in range(classes)), (1, size, size), fingerprint(X, Y))


def readable(fig, max_width=12.7):
    """Every visible text >= 8 pt and the figure at most ``max_width`` inches wide (the
    gallery's page shows 110 CSS px per inch on at most ~1400 px)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert min(sizes) >= 8, min(sizes)
    assert fig.get_figwidth() <= max_width
