"""Property-based tests of the checkpoint loader: whatever the bytes, it raises CheckpointError (or
loads), and it never asks for more memory than the file could justify.

A few seconds of examples by default; ``HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

import io
import json
import zipfile

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vizkit import checkpoint
from vizkit.checkpoint import CheckpointError
from vizkit.models import PTDeep

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# every allocation may be at most this many times the file size, plus a constant
SLACK_FACTOR, SLACK_BYTES = 4, 1 << 20


class AllocationLimit(TorchDispatchMode):
    """Fails (before allocating) any tensor op that would make a tensor larger than ``limit`` bytes."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        size = args[0] if args and isinstance(args[0], (list, tuple, torch.Size)) else None
        if size is not None and all(isinstance(s, int) for s in size) and \
                str(kwargs.get("device", "cpu")) != "meta":
            n = 1
            for s in size:
                n *= max(int(s), 0)
            self._account(n * 8, func)  # at most 8 bytes per element
        out = func(*args, **kwargs)
        for t in out if isinstance(out, (list, tuple)) else [out]:
            if isinstance(t, torch.Tensor) and not t.is_meta:
                self._account(t.numel() * t.element_size(), func)
        return out

    def _account(self, nbytes: int, func) -> None:
        self.largest = max(self.largest, nbytes)
        if nbytes > self.limit:
            raise AssertionError(f"{func} asked for {nbytes} bytes, more than {self.limit}")


def _load_bounded(path):
    limit = SLACK_FACTOR * path.stat().st_size + SLACK_BYTES
    with AllocationLimit(limit):
        try:
            checkpoint.load(path)
        except CheckpointError:
            pass


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    torch.manual_seed(0)
    p = checkpoint.save(tmp_path_factory.mktemp("fuzz") / "m.pt", PTDeep([3, 8, 2], batchnorm=True),
                        seed=1, data={"name": "gmm-2d"})
    return p.read_bytes()


def test_the_guard_stops_a_real_160_gb_build(tmp_path):
    # the guard itself: building the 160 GB model for real is stopped before it allocates
    with pytest.raises(AssertionError, match="asked for"):
        with AllocationLimit(1 << 20):
            PTDeep([64, 200000, 200000, 10])


def test_huge_spec_in_a_small_file_allocates_nothing_large(tmp_path, valid_bytes):
    p = tmp_path / "m.pt"
    p.write_bytes(valid_bytes)
    payload = torch.load(p, weights_only=True)
    payload["spec"] = {"class": "PTDeep", "args": {"config": [64, 200000, 200000, 10]}}
    buf = io.BytesIO()
    torch.save(payload, buf)
    p.write_bytes(buf.getvalue())
    with AllocationLimit(SLACK_FACTOR * p.stat().st_size + SLACK_BYTES) as guard:
        with pytest.raises(CheckpointError, match="spec asks for 160.1 GB"):
            checkpoint.load(p)
    assert guard.largest < 10_000


_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


@_settings
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path, data):
    p = tmp_path / "r.pt"
    p.write_bytes(data)
    _load_bounded(p)


@_settings
@given(cuts=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       truncate=st.none() | st.integers(0, 10**6))
def test_mutated_checkpoint_bytes(tmp_path, valid_bytes, cuts, truncate):
    data = bytearray(valid_bytes)
    for where, value in cuts:
        data[where % len(data)] = value
    if truncate is not None:
        data = data[: truncate % (len(data) + 1)]
    p = tmp_path / "m.pt"
    p.write_bytes(bytes(data))
    _load_bounded(p)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@_settings
@given(key=st.sampled_from(["spec", "args", "config", "meta", "format_version", "state_dict"]),
       value=_json)
def test_mutated_payload_values(tmp_path, valid_bytes, key, value):
    """A well-formed archive (correct CRCs) whose payload holds wrong values: the checks after
    unpickling must hold alone."""
    payload = torch.load(io.BytesIO(valid_bytes), weights_only=True)
    if key == "args":
        payload["spec"]["args"] = value
    elif key == "config":
        payload["spec"]["args"]["config"] = value
    else:
        payload[key] = value
    buf = io.BytesIO()
    torch.save(payload, buf)
    p = tmp_path / "m.pt"
    p.write_bytes(buf.getvalue())
    _load_bounded(p)


def test_valid_bytes_load(tmp_path, valid_bytes):
    p = tmp_path / "m.pt"
    p.write_bytes(valid_bytes)
    with AllocationLimit(SLACK_FACTOR * len(valid_bytes) + SLACK_BYTES):
        model, meta = checkpoint.load(p)
    assert meta["seed"] == 1 and model.model_args["config"] == [3, 8, 2]
    with zipfile.ZipFile(p) as zf:
        assert zf.testzip() is None
    json.dumps(meta["spec"])
