"""Data stage: :func:`load` a source by name into a :class:`Split` of tensors.

Sources: ``'mnist'``, ``'fashion-mnist'`` (from the data root, downloaded through
torchvision, or Debian's ``dataset-fashion-mnist``), ``'mnist-5k'`` (embedded, no download),
``'digits'`` (scikit-learn's 8x8) and ``'gmm-2d'`` (toy 2D mixtures). :func:`list_sources`
says which load offline; :func:`image_folder` reads a folder of PNGs per class lazily.
Damaged files raise :class:`DataFileError` naming the file and what is wrong with it.

Inside: ``_locate`` finds the files (and probes the download mirrors), ``_read`` and ``_idx``
read them, ``_holdout`` splits them, ``_sources`` names the sources and puts these together.

Examples
--------
>>> from vizkit.data import load
>>> split = load("mnist-5k", seed=0)
>>> split.x_train.shape, split.x_val.shape, split.x_test.shape
(torch.Size([3000, 1, 28, 28]), torch.Size([1000, 1, 28, 28]), torch.Size([1000, 1, 28, 28]))
"""

from ._errors import DataFileError, DataUnavailable
from ._folder import image_folder, write_image_folder
from ._idx import read_idx, read_idx_header, write_idx
from ._locate import default_root
from ._sources import SOURCES, SourceInfo, default_source, list_sources, load
from ._split import Split, fingerprint
from ._toy import Random2DGaussian, sample_gauss_2d, sample_gmm_2d

__all__ = [
    "SOURCES",
    "DataFileError",
    "DataUnavailable",
    "Random2DGaussian",
    "SourceInfo",
    "Split",
    "default_root",
    "default_source",
    "fingerprint",
    "image_folder",
    "list_sources",
    "load",
    "read_idx",
    "read_idx_header",
    "sample_gauss_2d",
    "sample_gmm_2d",
    "write_idx",
    "write_image_folder",
]
