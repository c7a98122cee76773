"""The torch models of the seeds: PTLogreg, PTDeep, ConvNet, RBFLayer and RBFNet."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._base import Normalize, SpecModule, make_activation

__all__ = ["PTLogreg", "PTDeep", "ConvNet", "RBFLayer", "RBFNet", "rbf_expanded"]


class _SkinnyMatmul(torch.autograd.Function):
    """``x @ W`` for a ``W`` [D, C] with few columns, with the products laid out the fast way.

    MKL's sgemm is pathologically slow for the skinny ``[B, D] @ [D, C]`` with C = 10 (about 4x
    slower than for C = 16 on the CPU), and autograd's default backward for it computes
    ``x^T @ g`` in that same slow shape. The transposed products ``(W^T x^T)^T`` and
    ``(g^T x)^T`` give the same numbers 3-5x faster. The backward is made of differentiable
    operations, so double backward works.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x, W):
        return (W.t() @ x.t()).t().contiguous()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        gx = g @ W.t() if ctx.needs_input_grad[0] else None
        gW = (g.t() @ x).t() if ctx.needs_input_grad[1] else None
        return gx, gW


def _skinny_matmul(x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    return _SkinnyMatmul.apply(x, W)


class PTLogreg(SpecModule):
    """Multinomial logistic regression (seed 002, ``pt_logreg``): logits = x W + b.

    Parameters
    ----------
    D : int
        Number of input features (image inputs are flattened).
    C : int
        Number of classes.
    normalize : (float, float), optional
        Input ``(mean, std)`` applied inside the model (submodule ``norm``); None: raw inputs.

    Examples
    --------
    >>> PTLogreg(2, 3)(torch.zeros(4, 2)).shape
    torch.Size([4, 3])
    """

    def __init__(self, D: int, C: int, *, normalize: Sequence[float] | None = None) -> None:
        super().__init__()
        self.norm = _norm(normalize)
        _check_pos_int(D=D, C=C)
        self.W = nn.Parameter(torch.randn(D, C) * 0.01)
        self.b = nn.Parameter(torch.zeros(C))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _skinny_matmul(self.norm(x).flatten(1), self.W) + self.b


class PTDeep(SpecModule):
    """Configurable fully connected classifier (seed 002, ``pt_deep``).

    Parameters
    ----------
    config : list of int
        ``[D, h1, ..., C]``: input size, hidden sizes, number of classes. ``[2, 3]`` is logistic
        regression of 2D data into 3 classes (9 parameters).
    activation : {'relu', 'sigmoid', 'tanh', 'gelu', 'elu', 'leaky_relu', 'identity'}, default='relu'
        Non-linearity of the hidden layers.
    batchnorm : bool, default=False
        Insert ``BatchNorm1d`` after every hidden affine layer (seed 002, 004).
    dropout : float, default=0.0
        Dropout probability after every hidden activation (seed 004).
    normalize : (float, float), optional
        Input ``(mean, std)`` applied inside the model (submodule ``norm``); None: raw inputs.

    Raises
    ------
    ValueError
        ``config`` has fewer than two sizes, ``dropout`` is not in [0, 1), or an unknown
        ``activation``.

    Notes
    -----
    Submodules are ``flatten``, then ``layers.0, layers.1, ...`` in order; the affine layers are
    ``nn.Linear``, so ``[m for m in model.layers if isinstance(m, nn.Linear)]`` lists the weight
    matrices from the input to the logits.

    Examples
    --------
    >>> m = PTDeep([2, 10, 3], "tanh")
    >>> m(torch.zeros(5, 2)).shape
    torch.Size([5, 3])
    """

    def __init__(self, config: Sequence[int], activation: str = "relu", batchnorm: bool = False,
                 dropout: float = 0.0, *, normalize: Sequence[float] | None = None) -> None:
        super().__init__()
        self.norm = _norm(normalize)
        config = [int(c) for c in config]
        if len(config) < 2:
            raise ValueError(f"`config` needs at least [D, C]. Got {config!r} instead.")
        _check_pos_int(**{f"config[{i}]": c for i, c in enumerate(config)})
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Got {dropout!r} instead.")
        make_activation(activation)  # validates the name
        self.config = config
        self.activation = activation
        self.flatten = nn.Flatten()
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(config[:-1], config[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(config) - 2:
                if batchnorm:
                    layers.append(nn.BatchNorm1d(d_out))
                layers.append(make_activation(activation))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.flatten(self.norm(x)))


def _conv_block(c_in: int, c_out: int, batchnorm: bool, n_convs: int = 1) -> list[nn.Module]:
    """``n_convs`` x (3x3 conv, [BN], ReLU), then a 2x2 max pool."""
    block: list[nn.Module] = []
    for i in range(n_convs):
        block.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1,
                               bias=not batchnorm))
        if batchnorm:
            block.append(nn.BatchNorm2d(c_out))
        block.append(nn.ReLU())
    block.append(nn.MaxPool2d(2))
    return block


def _conv_stack(in_channels: int, channels: Sequence[int], image_size: int,
                batchnorm: bool, n_convs: int = 1) -> tuple[list[nn.Module], int, int]:
    """Conv blocks for ``channels``; returns (modules, output channels, output side length)."""
    blocks: list[nn.Module] = []
    c_in, size = in_channels, image_size
    for c in channels:
        blocks += _conv_block(c_in, c, batchnorm, n_convs)
        c_in, size = c, size // 2
    if size < 1:
        raise ValueError(f"`image_size` {image_size} is too small for {len(channels)} pooling "
                         "blocks; use fewer `channels`.")
    return blocks, c_in, size


class ConvNet(SpecModule):
    """A small CNN for 1x28x28 (or any CxHxW) images: conv-BN-ReLU-pool blocks, then an MLP head.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input images.
    n_classes : int, default=10
        Number of outputs.
    image_size : int, default=28
        Height and width of the (square) input images.
    channels : tuple of int, default=(32, 64)
        Output channels of each 3x3 conv block (each block halves height and width).
    hidden : int, default=128
        Width of the hidden fully connected layer.
    batchnorm : bool, default=True
        Batch normalization after each convolution.
    dropout : float, default=0.25
        Dropout before the last layer.
    block_convs : int, default=1
        3x3 convs (each with BN and ReLU) per block before its pool; 2 is the VGG layout.
    normalize : (float, float), optional
        Input ``(mean, std)`` applied inside the model (submodule ``norm``); None: raw inputs.

    Raises
    ------
    ValueError
        ``block_convs`` is not 1, 2 or 3, a size is not a positive integer, or the images are
        too small for the number of blocks.

    Notes
    -----
    Submodules: ``features`` (the conv stack, ``features.0`` is the first ``Conv2d``) and
    ``classifier`` (flatten, Linear, ReLU, Dropout, Linear).

    Examples
    --------
    >>> ConvNet(channels=(4, 8), hidden=16)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28,
                 channels: Sequence[int] = (32, 64), hidden: int = 128, batchnorm: bool = True,
                 dropout: float = 0.25, *, block_convs: int = 1,
                 normalize: Sequence[float] | None = None) -> None:
        super().__init__()
        self.norm = _norm(normalize)
        channels = [int(c) for c in channels]
        if isinstance(block_convs, bool) or block_convs not in (1, 2, 3):
            raise ValueError("`block_convs` (3x3 convs per block) must be one of 1, 2, 3. Got "
                             f"{block_convs!r} instead.")
        _check_pos_int(in_channels=in_channels, n_classes=n_classes, image_size=image_size,
                       hidden=hidden, **{f"channels[{i}]": c for i, c in enumerate(channels)})
        blocks, c_in, size = _conv_stack(in_channels, channels, image_size, batchnorm,
                                         int(block_convs))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c_in * size * size, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.norm(x)))


class RBFLayer(SpecModule):
    """Radial basis function layer (seed 000): ``h_k = exp(-||x - w_k||^2 / (2 sigma_k^2))``.

    The squared distances come from ``||x||^2 - 2 x.w + ||w||^2`` (one matrix product), so no
    ``[B, K, D]`` tensor is ever built: memory is ``O(B K)`` instead of ``O(B K D)``.

    Parameters
    ----------
    in_features : int
        D, the input size.
    n_centers : int
        K, the number of centres.

    Attributes
    ----------
    centers : nn.Parameter of shape (K, D), initialised from N(0, 1)
    sigma : nn.Parameter of shape (K,), initialised to 1

    Examples
    --------
    >>> layer = RBFLayer(2, 5)
    >>> layer(layer.centers[:1].detach()).argmax().item()
    0
    """

    def __init__(self, in_features: int, n_centers: int) -> None:
        super().__init__()
        _check_pos_int(in_features=in_features, n_centers=n_centers)
        self.in_features = int(in_features)
        self.n_centers = int(n_centers)
        self.centers = nn.Parameter(torch.randn(n_centers, in_features))
        self.sigma = nn.Parameter(torch.ones(n_centers))

    def squared_distances(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, K]`` squared Euclidean distances between inputs and centres (clamped at 0)."""
        x2 = (x * x).sum(1, keepdim=True)
        w2 = (self.centers * self.centers).sum(1)
        d2 = torch.addmm(x2 + w2, x, self.centers.t(), alpha=-2.0)
        return d2.clamp_min(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"RBFLayer expects input of shape [B, {self.in_features}]. "
                             f"Got {list(x.shape)} instead.")
        return torch.exp(-self.squared_distances(x) / (2.0 * self.sigma * self.sigma))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, n_centers={self.n_centers}"


def rbf_expanded(x: torch.Tensor, centers: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The seed's reference RBF: expand to ``[B, K, D]``, square, sum. For tests and benchmarks.

    Parameters
    ----------
    x : Tensor of shape (B, D)
        Inputs.
    centers : Tensor of shape (K, D)
        RBF centres.
    sigma : Tensor of shape (K,)
        RBF widths.

    Returns
    -------
    Tensor of shape (B, K)
        ``exp(-||x - c_k||^2 / (2 sigma_k^2))``, what :class:`RBFLayer` computes without the
        ``[B, K, D]`` intermediate.

    Examples
    --------
    >>> rbf_expanded(torch.zeros(1, 2), torch.zeros(3, 2), torch.ones(3))
    tensor([[1., 1., 1.]])
    """
    B, D = x.shape
    K = centers.shape[0]
    a = (centers.unsqueeze(0).expand(B, K, D) - x.unsqueeze(1).expand(B, K, D)).pow(2).sum(2)
    return torch.exp(-a / (2 * sigma.pow(2)))


class RBFNet(SpecModule):
    """Seed 000's deep RBF network: conv layers -> FC to 2 -> RBF (K = 100) -> FC to classes.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input images.
    n_classes : int, default=10
        Number of outputs.
    image_size : int, default=28
        Height and width of the (square) input images.
    channels : tuple of int, default=(32, 64)
        Output channels of each conv block.
    bottleneck : int, default=2
        Size of the feature vector before the RBF layer (2 gives the seed's 2D plot).
    n_centers : int, default=100
        K, the number of RBF centres.
    hidden : int or None, default=None
        Width of a fully connected ReLU layer (submodule ``hidden``) between the conv features
        and the bottleneck; None: none (the seed's net). 128 lifts the 2D net from ~0.93 to
        ~0.97 test accuracy on mnist-5k: one linear map from the conv features straight to 2
        numbers generalizes poorly.
    batchnorm : bool, default=True
        Batch normalization after each convolution.
    bottleneck_norm : bool, default=True
        Batch-normalize the bottleneck features so they live where the N(0, 1)-initialised
        centres are. Without it the features often start far from every centre, every RBF
        output is ~0, and the net never leaves chance level (seed 000's "BatchNorm where
        appropriate").
    normalize : (float, float), optional
        Input ``(mean, std)`` applied inside the model (submodule ``norm``); None: raw inputs.

    Notes
    -----
    Submodules: ``features`` (conv stack + flatten), ``hidden`` (Linear + ReLU, or Identity),
    ``bottleneck`` (Linear to 2), ``bottleneck_bn``
    (BatchNorm1d or Identity), ``rbf``
    (:class:`RBFLayer`), ``head`` (Linear K -> classes). ``model.embed(x)`` returns the bottleneck
    features; ``model.head(model.rbf(z))`` maps bottleneck points to logits.

    Examples
    --------
    >>> net = RBFNet(channels=(4, 8), n_centers=5)
    >>> net.embed(torch.zeros(3, 1, 28, 28)).shape, net(torch.zeros(3, 1, 28, 28)).shape
    (torch.Size([3, 2]), torch.Size([3, 10]))
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, image_size: int = 28,
                 channels: Sequence[int] = (32, 64), bottleneck: int = 2, n_centers: int = 100,
                 batchnorm: bool = True, bottleneck_norm: bool = True, *,
                 normalize: Sequence[float] | None = None, hidden: int | None = None) -> None:
        super().__init__()
        self.norm = _norm(normalize)
        channels = [int(c) for c in channels]
        _check_pos_int(in_channels=in_channels, n_classes=n_classes, image_size=image_size,
                       bottleneck=bottleneck, n_centers=n_centers,
                       **({} if hidden is None else {"hidden": hidden}))
        blocks, c_in, size = _conv_stack(in_channels, channels, image_size, batchnorm)
        blocks.append(nn.Flatten())
        self.features = nn.Sequential(*blocks)
        n_features = c_in * size * size
        if hidden is None:
            self.hidden: nn.Module = nn.Identity()
        else:
            self.hidden = nn.Sequential(nn.Linear(n_features, int(hidden)), nn.ReLU())
            n_features = int(hidden)
        self.bottleneck = nn.Linear(n_features, bottleneck)
        self.bottleneck_bn = nn.BatchNorm1d(bottleneck) if bottleneck_norm else nn.Identity()
        self.rbf = RBFLayer(bottleneck, n_centers)
        self.head = nn.Linear(n_centers, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The bottleneck features (the input of the RBF layer)."""
        return self.bottleneck_bn(self.bottleneck(self.hidden(self.features(self.norm(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rbf(self.embed(x)))


def _check_pos_int(**values: int) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or int(v) != v or int(v) < 1:
            raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")


def _norm(normalize: Sequence[float] | None) -> nn.Module:
    """``Normalize(mean, std)`` from a pair, or ``Identity`` for raw inputs."""
    if normalize is None:
        return nn.Identity()
    if len(normalize) != 2:
        raise ValueError(f"`normalize` must be a (mean, std) pair. Got {normalize!r} instead.")
    return Normalize(float(normalize[0]), float(normalize[1]))
