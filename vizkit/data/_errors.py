"""The data stage's own errors: a source that cannot be had, a file that cannot be read."""

from __future__ import annotations

__all__ = ["DataFileError", "DataUnavailable"]


class DataUnavailable(ValueError):
    """A data set is neither on disk nor downloadable; the message says how to get it."""


class DataFileError(ValueError):
    """A data file is damaged, truncated or not what its name says.

    The message names the file and what is wrong with it (for example "IDX file
    '.../train-images-idx3-ubyte' is truncated: ... found 1000 bytes"). A ``ValueError``,
    so that ``except ValueError`` keeps catching it.
    """
