"""Shared fixtures: quiet, deterministic, headless."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest
import torch

# tiny tensors: one thread avoids OpenMP spin-waits and is fastest on a busy machine
torch.set_num_threads(1)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; every figure closed afterwards."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture
def seed():
    torch.manual_seed(0)
    return 0
