"""Issue 21 item 6 on the embeddings page: the scores are computed where they mean something,
checked on hand-made cases whose answer is known."""

import numpy as np
import pytest

from vizkit.analysis.bottleneck import class_separation
from vizkit.analysis.embedding import map_trustworthiness


def test_separation_in_the_original_space_known_answer():
    # two classes on two points of a 50-D space: all variance between the class means
    f = np.zeros((20, 50))
    f[10:, 7] = 3.0
    y = np.r_[np.zeros(10), np.ones(10)].astype(int)
    assert class_separation(f, y) == pytest.approx(1.0)
    # the same features with shuffled labels: the class means coincide
    y_mixed = np.tile([0, 1], 10)
    assert class_separation(f, y_mixed) == pytest.approx(0.0)


def test_trustworthiness_identity_and_scrambled_map():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(60, 5))
    pca_like = f @ np.linalg.qr(rng.normal(size=(5, 5)))[0][:, :2]  # a projection
    assert map_trustworthiness(f[:, :2], f[:, :2] * 2.0 + 1.0) == 1.0  # similarity keeps all
    scrambled = rng.normal(size=(60, 2))  # a map unrelated to the data
    t_rand = map_trustworthiness(f, scrambled)
    t_proj = map_trustworthiness(f, pca_like)
    assert t_rand < t_proj <= 1.0 and t_rand < 0.7


@pytest.mark.parametrize("kw, match", [({"points": np.zeros((5, 2))}, "one row per"),
                                       ({"n_neighbors": 30}, "below N / 2"),
                                       ({"n_neighbors": 0}, "n_neighbors")])
def test_trustworthiness_errors(kw, match):
    args = {"features": np.zeros((40, 3)), "points": np.zeros((40, 2))}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        map_trustworthiness(**args)
