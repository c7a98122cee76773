"""Shared fixtures: quiet, deterministic, headless."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest
import torch

# tiny tensors: one thread avoids OpenMP spin-waits and is fastest on a busy machine
torch.set_num_threads(1)

# Hypothesis fuzz tests: a few seconds of examples by default ("ci"); HYPOTHESIS_PROFILE=thorough
# runs many more (e.g. `HYPOTHESIS_PROFILE=thorough python -m pytest -q tests/test_checkpoint_fuzz.py`).
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
    _hypothesis_settings.register_profile("thorough", max_examples=2000, deadline=None)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # hypothesis is a test extra; the fuzz tests skip without it
    pass


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
