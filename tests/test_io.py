"""The private write path: deterministic npz archives."""

import io

import numpy as np
import pytest

from vizkit._io import npz_bytes


def test_npz_bytes_round_trip_and_deterministic():
    arrays = {"fields": np.arange(6.0).reshape(2, 3)[:, ::2], "layer": np.array("fc1"),
              "targets": np.array([1, 2], dtype=np.int64)}
    data = npz_bytes(arrays)
    assert data == npz_bytes(dict(reversed(list(arrays.items()))))
    with np.load(io.BytesIO(data)) as z:
        assert sorted(z.files) == ["fields", "layer", "targets"]
        np.testing.assert_array_equal(z["fields"], arrays["fields"])
        assert z["layer"].shape == () and str(z["layer"]) == "fc1"
        assert z["targets"].dtype == np.int64
        assert z["fields"].dtype == np.float32  # float64 is stored as float32


@pytest.mark.parametrize("arrays, message", [
    ({"a b": np.zeros(2)}, "identifiers"),
    ({"x": np.array([{}], dtype=object)}, "dtype object"),
])
def test_npz_bytes_rejects(arrays, message):
    with pytest.raises(ValueError, match=message):
        npz_bytes(arrays)
