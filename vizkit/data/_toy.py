"""2D toy data of the lab: random bivariate Gaussians and Gaussian mixtures."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Random2DGaussian", "sample_gauss_2d", "sample_gmm_2d"]

_LOW, _HIGH = 0.0, 10.0  # the box the means are drawn from, as in the lab


def _rng(seed) -> np.random.Generator:
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, bool):
            raise TypeError(f"`seed` must be an int, a numpy Generator or None. Got {seed!r} instead.")
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    raise TypeError(f"`seed` must be an int, a numpy Generator or None. Got {seed!r} instead.")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Got {value!r} instead.")
    return int(value)


class Random2DGaussian:
    """A bivariate Gaussian with a random mean, spread and orientation.

    The mean is uniform in ``[0, 10]^2``; the two eigenvalues of the covariance are
    ``(U * 10 / 5) ** 2`` with ``U`` uniform in ``[0, 1)``; the axes are rotated by an angle
    uniform in ``[0, 2*pi)``: ``cov = R.T @ diag(eigvals) @ R``.

    Parameters
    ----------
    seed : int, numpy Generator or None, default=None
        Randomness for the parameters and for :meth:`get_sample`.

    Attributes
    ----------
    mean : ndarray of shape (2,)
    eigvals : ndarray of shape (2,)
    rotation : ndarray of shape (2, 2)
    cov : ndarray of shape (2, 2)

    Examples
    --------
    >>> g = Random2DGaussian(seed=0)
    >>> g.get_sample(5).shape
    (5, 2)
    """

    def __init__(self, *, seed=None):
        self._rng = _rng(seed)
        span = _HIGH - _LOW
        self.mean = self._rng.uniform(_LOW, _HIGH, size=2)
        self.eigvals = (self._rng.random(2) * span / 5) ** 2
        theta = self._rng.uniform(0.0, 2 * np.pi)
        c, s = np.cos(theta), np.sin(theta)
        self.rotation = np.array([[c, -s], [s, c]])
        self.cov = self.rotation.T @ np.diag(self.eigvals) @ self.rotation

    def get_sample(self, n: int) -> np.ndarray:
        """Return ``n`` points, an ndarray of shape (n, 2)."""
        n = _positive_int("n", n)
        z = self._rng.standard_normal((n, 2))
        # x = mean + z diag(sqrt(eig)) R  has covariance R.T diag(eig) R
        return self.mean + (z * np.sqrt(self.eigvals)) @ self.rotation


def sample_gauss_2d(C: int, N: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``N`` points from each of ``C`` random Gaussians; class ``i`` is Gaussian ``i``.

    Parameters
    ----------
    C : int
        Number of Gaussians (= classes).
    N : int
        Points per Gaussian.
    seed : int, numpy Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (C*N, 2), float64
    Y : ndarray of shape (C*N,), int64

    Examples
    --------
    >>> X, Y = sample_gauss_2d(3, 10, seed=0)
    >>> X.shape, Y.shape, sorted(set(Y.tolist()))
    ((30, 2), (30,), [0, 1, 2])
    """
    C, N = _positive_int("C", C), _positive_int("N", N)
    rng = _rng(seed)
    X = np.vstack([Random2DGaussian(seed=rng).get_sample(N) for _ in range(C)])
    Y = np.repeat(np.arange(C, dtype=np.int64), N)
    return X, Y


def sample_gmm_2d(K: int, C: int, N: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``N`` points from each of ``K`` random Gaussians, each given a random class.

    Each component gets a class from ``0 .. C-1`` at random, with every class given at least
    one component (so ``K >= C`` is required), as in the lab's ``sample_gmm_2d``.

    Parameters
    ----------
    K : int
        Number of mixture components, ``K >= C``.
    C : int
        Number of classes.
    N : int
        Points per component.
    seed : int, numpy Generator or None, default=None

    Returns
    -------
    X : ndarray of shape (K*N, 2), float64
    Y : ndarray of shape (K*N,), int64
        Class of the component that produced each row.

    Raises
    ------
    ValueError
        ``K``, ``C`` or ``N`` is not a positive integer, or ``K < C``.

    Examples
    --------
    >>> X, Y = sample_gmm_2d(4, 2, 30, seed=0)
    >>> X.shape, Y.shape, sorted(set(Y.tolist()))
    ((120, 2), (120,), [0, 1])
    """
    K, C, N = _positive_int("K", K), _positive_int("C", C), _positive_int("N", N)
    if K < C:
        raise ValueError(
            f"`K` (components) must be >= `C` (classes) so that every class has a component. "
            f"Got K={K}, C={C} instead."
        )
    rng = _rng(seed)
    comp_class = np.concatenate([rng.permutation(C), rng.integers(0, C, size=K - C)])
    rng.shuffle(comp_class)
    X = np.vstack([Random2DGaussian(seed=rng).get_sample(N) for _ in range(K)])
    Y = np.repeat(comp_class.astype(np.int64), N)
    return X, Y
