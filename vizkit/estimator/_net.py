"""``NetClassifier``: any vizkit torch model as a scikit-learn classifier, trained by ``vizkit.train.fit``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from ._names import did_you_mean

__all__ = ["NetClassifier", "SKIPPED_CHECKS"]

#: scikit-learn estimator checks that NetClassifier does not pass, with the reason (the tests pass
#: this dict as ``expected_failed_checks``; every other check runs and must pass).
SKIPPED_CHECKS: dict[str, str] = {
    "check_array_api_input":
        "array-API inputs (CuPy, torch tensors through array_api_compat) are not supported: X is "
        "converted to a NumPy float32 array. scikit-learn skips this check anyway unless "
        "SCIPY_ARRAY_API=1.",
}

_TRAIN_PARAMS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "patience")
_MODEL_PARAMS = ("hidden", "dropout", "activation", "batchnorm")
_MANAGED = ("seed", "progress", "device")  # TrainConfig keys the estimator sets itself


class NetClassifier(ClassifierMixin, BaseEstimator):
    """A vizkit torch model (``'deep'``, ``'mlp'``, ``'logreg'``, ``'cnn'``, ``'rbf'``) as a
    scikit-learn classifier, trained by :func:`vizkit.train.fit`.

    Input size and classes come from the data at fit time, so ``NetClassifier()`` works on any
    ``(X, y)``; it can go in a :class:`~sklearn.pipeline.Pipeline`, :func:`~sklearn.model_selection.
    cross_val_score`, :class:`~sklearn.model_selection.RandomizedSearchCV` or
    :class:`~sklearn.inspection.DecisionBoundaryDisplay` unchanged.

    Early stopping watches a validation part taken (stratified, seeded) from the data given to
    :meth:`fit` only, so a cross-validation score never sees its own test fold.

    Parameters
    ----------
    model : {'deep', 'mlp', 'logreg', 'cnn', 'rbf'}, default='deep'
        A name of :func:`vizkit.models.list_models`. 'deep' is seed 004's net: [D, 360, 187, C]
        with batch norm and dropout 0.5 unless ``hidden``/``dropout``/... say otherwise.
    hidden : int or tuple of int, default=None
        Hidden layer sizes ('mlp', 'deep'; for 'cnn' the width of its dense layer). None: the
        model's default.
    dropout : float, default=None
        Dropout probability (None: the model's default).
    activation : {'relu', 'sigmoid', 'tanh', 'gelu', 'elu', 'leaky_relu', 'identity'}, default=None
        Hidden non-linearity of 'mlp' / 'deep' (None: 'relu').
    batchnorm : bool, default=None
        Batch norm after hidden layers (None: the model's default).
    input_shape : tuple of int, default=None
        Shape of one example; flat rows of X are reshaped to it (e.g. ``(1, 28, 28)`` for flat
        MNIST). None: ``X.shape[1:]``, except that 'cnn'/'rbf' on flat square-sized rows get
        ``(1, s, s)``.
    normalize : 'auto', None or (float, float), default='auto'
        Input standardization stored inside the model. 'auto': MNIST's constants for 1x28x28
        images, else the mean and standard deviation of the training X (one number each).
    classes : array-like, default=None
        Fix the classes (and the order of :meth:`predict_proba`'s columns). Then ``y`` must hold
        every one of them and nothing else: a cross-validation fold missing a class is an error,
        not a silently smaller model. None: ``np.unique(y)``.
    epochs : int, default=40
    batch_size : int, default=64
    lr : float, default=1e-3
    optimizer : {'adam', 'sgd', 'adamw'}, default='adam'
    weight_decay : float, default=0.0
    patience : int or None, default=8
        Early stopping on the validation loss (None: train all epochs); the best epoch's weights
        are kept.
    val_fraction : float, default=0.1
        Share of the fit data held out (stratified) for early stopping; 0 trains on everything
        and keeps the epoch with the lowest training loss.
    train_options : dict, default=None
        Any other :class:`vizkit.train.TrainConfig` key (``momentum``, ``scheduler``,
        ``augment``, ``param_lambda``...).
    seed : int, default=0
        Seeds the initial weights, dropout, shuffling and the validation split. The global
        random state of the caller is left as it was.
    device : str, default='cpu'
    verbose : bool, default=False
        Show the per-epoch progress bar of :func:`vizkit.train.fit`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Values per example (784 for 1x28x28 images).
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.
    model_ : torch.nn.Module
        The trained network (eval mode); takes raw inputs of ``input_shape_``, returns logits.
    spec_ : dict
        The model's :func:`vizkit.models.build` spec.
    config_ : vizkit.train.TrainConfig
    history_ : vizkit.train.History
    input_shape_ : tuple of int
    n_iter_ : int
        Epochs run.
    data_fingerprint_ : str
        :func:`vizkit.data.fingerprint` of the (reshaped) fit data and encoded labels.

    Notes
    -----
    Passes scikit-learn's estimator checks (``tests/test_estimator.py`` runs them all with
    ``parametrize_with_checks`` on a 3-epoch net), also the ones a stochastic model often fails
    (``check_fit_idempotent``, ``check_methods_subset_invariance``,
    ``check_methods_sample_order_invariance``): every random step is seeded by ``seed`` inside a
    forked torch RNG, and predictions run in eval mode (dropout off, batch-norm running
    statistics). Not run: ``check_array_api_input`` (array-API inputs are converted to NumPy;
    see ``vizkit.estimator.SKIPPED_CHECKS``). ``fit`` takes no ``sample_weight``, so the
    sample-weight checks do not apply.

    Examples
    --------
    >>> from vizkit.data import sample_gmm_2d
    >>> X, y = sample_gmm_2d(4, 2, 30, seed=0)
    >>> clf = NetClassifier("mlp", hidden=(16,), epochs=20).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    def __init__(self, model: str = "deep", *, hidden=None, dropout: float | None = None,
                 activation: str | None = None, batchnorm: bool | None = None,
                 input_shape: tuple | None = None, normalize="auto", classes=None,
                 epochs: int = 40, batch_size: int = 64, lr: float = 1e-3,
                 optimizer: str = "adam", weight_decay: float = 0.0, patience: int | None = 8,
                 val_fraction: float = 0.1, train_options: dict | None = None, seed: int = 0,
                 device: str = "cpu", verbose: bool = False) -> None:
        self.model = model
        self.hidden = hidden
        self.dropout = dropout
        self.activation = activation
        self.batchnorm = batchnorm
        self.input_shape = input_shape
        self.normalize = normalize
        self.classes = classes
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.patience = patience
        self.val_fraction = val_fraction
        self.train_options = train_options
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ scikit-learn plumbing
    def set_params(self, **params: Any) -> "NetClassifier":
        """Set parameters; an unknown name is refused with the list of valid ones."""
        valid = sorted(self.get_params(deep=False))
        unknown = [k for k in params if k not in valid]
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for "
                             f"NetClassifier.{did_you_mean(unknown[0], valid)} Valid parameters: "
                             f"{', '.join(valid)}.")
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"allow_nan": False}

    # ------------------------------------------------------------------ validation helpers
    def _check_X(self, X, *, reset: bool, y="no_validation"):
        # feature names only (n_features is counted over all axes below, images included)
        try:
            from sklearn.utils.validation import validate_data
        except ImportError:  # scikit-learn < 1.6
            self._check_feature_names(X, reset=reset)
        else:
            validate_data(self, X, reset=reset, skip_check_array=True, ensure_2d=False)
        kw = dict(allow_nd=True, dtype=np.float32, ensure_min_samples=1, estimator=self)
        if isinstance(y, str) and y == "no_validation":
            X = check_array(X, input_name="X", **kw)
        else:
            X, y = check_X_y(X, y, **kw)
        n = int(np.prod(X.shape[1:]))
        if reset:
            self.n_features_in_ = n
        elif n != self.n_features_in_:
            raise ValueError(f"X has {n} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return X if isinstance(y, str) and y == "no_validation" else (X, y)

    def _resolve_input_shape(self, X: np.ndarray) -> tuple:
        n = int(np.prod(X.shape[1:]))
        if self.input_shape is not None:
            try:
                shape = tuple(int(s) for s in self.input_shape)
            except (TypeError, ValueError):
                raise TypeError(f"`input_shape` must be a tuple of ints. Got {self.input_shape!r} "
                                "instead.") from None
            if int(np.prod(shape)) != n or any(s < 1 for s in shape):
                raise ValueError(f"`input_shape` {shape} holds {int(np.prod(shape))} values; X has "
                                 f"{n} per example (X shape {X.shape}).")
            return shape
        if X.ndim == 2 and self.model in ("cnn", "rbf"):
            side = math.isqrt(n)
            if side * side == n:
                return (1, side, side)
            raise ValueError(f"model {self.model!r} needs images; X rows have {n} values, not a "
                             "square number: pass `input_shape=(C, H, W)`.")
        return tuple(int(s) for s in X.shape[1:])

    def _encode(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_classification_targets(y)
        if self.classes is None:
            classes = np.unique(y)
        else:
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
                raise ValueError(f"`classes` must be a 1-D list of distinct labels. Got "
                                 f"{self.classes!r} instead.")
            present = np.unique(y)
            extra = [c for c in present.tolist() if c not in set(classes.tolist())]
            if extra:
                raise ValueError(f"y has label(s) {extra} that are not in `classes` "
                                 f"{classes.tolist()}.")
            missing = [c for c in classes.tolist() if c not in set(present.tolist())]
            if missing:
                raise ValueError(
                    f"y has no example of class(es) {missing} of `classes` {classes.tolist()}: "
                    "every class needs training examples. In cross-validation a fold lacks them; "
                    "use a StratifiedKFold with fewer folds, or leave `classes` unset.")
        if len(classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes; y has only one class "
                             f"({classes.tolist()}).")
        index = {c: i for i, c in enumerate(classes.tolist())}
        y_enc = np.fromiter((index[c] for c in y.tolist()), dtype=np.int64, count=len(y))
        return classes, y_enc

    def _spec(self, input_shape: tuple, n_classes: int, x_train: np.ndarray) -> dict:
        from ..models import default_spec, list_models

        if self.model not in list_models():
            raise ValueError(f"`model` must be one of {', '.join(map(repr, list_models()))}. Got "
                             f"{self.model!r} instead (see vizkit.models.list_models()).")
        import inspect

        from ..models import get_model

        def accepts(m: str) -> set:
            if m in ("mlp", "deep"):  # PTDeep: hidden sizes go into its `config`
                return set(_MODEL_PARAMS)
            return set(inspect.signature(get_model(m)[0]).parameters)

        given = [n for n in _MODEL_PARAMS if getattr(self, n) is not None]
        bad = [n for n in given if n not in accepts(self.model)]
        if bad:
            fits = [m for m in list_models() if set(bad) <= accepts(m)]
            raise ValueError(f"{', '.join(map(repr, bad))} do(es) not apply to model "
                             f"{self.model!r}" + (f" (models that take it: "
                                                 f"{', '.join(map(repr, fits))})" if fits else "")
                             + "; leave it None.")
        overrides: dict[str, Any] = {}
        for name in given:
            value = getattr(self, name)
            if name == "hidden":
                if self.model in ("mlp", "deep"):
                    value = (value,) if isinstance(value, (int, np.integer)) else value
                    try:
                        value = tuple(int(h) for h in value)
                    except (TypeError, ValueError):
                        raise TypeError(f"`hidden` must be an int or a tuple of ints. Got "
                                        f"{self.hidden!r} instead.") from None
                    if not value or min(value) < 1:
                        raise ValueError(f"`hidden` sizes must be >= 1. Got {self.hidden!r} instead.")
                elif self.model == "cnn":
                    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                        raise TypeError(f"`hidden` of model 'cnn' is the width of its dense "
                                        f"layer, an int. Got {self.hidden!r} instead.")
                    value = int(value)
            elif name == "dropout":
                value = float(value)
            overrides[name] = value
        image = input_shape == (1, 28, 28)
        norm = self.normalize
        if isinstance(norm, str):
            if norm != "auto":
                raise ValueError(f"`normalize` must be 'auto', None or (mean, std). Got {norm!r} "
                                 "instead.")
            if image:
                norm_arg = None  # default_spec puts MNIST's constants
            else:
                mean = float(x_train.mean(dtype=np.float64))
                std = float(x_train.std(dtype=np.float64))
                norm_arg = (mean, std if std > 1e-12 and math.isfinite(std) else 1.0)
        elif norm is None:
            norm_arg = (0.0, 1.0) if image else None  # (0, 1): no MNIST constants either
        else:
            try:
                norm_arg = (float(norm[0]), float(norm[1]))
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"`normalize` must be 'auto', None or (mean, std). Got "
                                 f"{self.normalize!r} instead.") from None
        try:
            return default_spec(self.model, input_shape, n_classes, normalize=norm_arg, **overrides)
        except ValueError as e:
            raise ValueError(f"model {self.model!r} cannot be built with {overrides or 'defaults'} "
                             f"for input shape {input_shape}: {e}") from None

    def _config(self):
        from ..train import TrainConfig

        opts = dict(self.train_options or {})
        clash = [k for k in opts if k in _TRAIN_PARAMS or k in _MANAGED]
        if clash:
            raise ValueError(f"set {', '.join(map(repr, clash))} as NetClassifier parameter(s), "
                             "not in `train_options`.")
        if not 0.0 <= float(self.val_fraction) < 1.0:
            raise ValueError(f"`val_fraction` must be in [0, 1). Got {self.val_fraction!r} instead.")
        return TrainConfig.from_dict({
            **{k: getattr(self, k) for k in _TRAIN_PARAMS}, **opts,
            "seed": int(self.seed), "device": self.device, "progress": bool(self.verbose)})

    def _val_indices(self, y_enc: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(y_enc)
        n_val = int(round(float(self.val_fraction) * n))
        everything = np.arange(n)
        if n_val < 1 or n - n_val < 1:
            return everything, everything[:0]
        counts = np.bincount(y_enc, minlength=n_classes)
        stratify = (y_enc if counts.min() >= 2 and n_val >= n_classes and n - n_val >= n_classes
                    else None)
        from sklearn.model_selection import train_test_split

        tr, va = train_test_split(everything, test_size=n_val, stratify=stratify,
                                  random_state=int(self.seed) % 2**32)
        return np.sort(tr), np.sort(va)

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X, y) -> "NetClassifier":
        """Train a fresh network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
        y : array-like of shape (n_samples,)
            Any labels (strings, non-contiguous ints...).

        Returns
        -------
        self
        """
        from ..data import Split, fingerprint
        from ..models import build
        from ..train import fit

        X, y = self._check_X(X, reset=True, y=y)
        classes, y_enc = self._encode(y)
        cfg = self._config()
        shape = self._resolve_input_shape(X)
        x_all = torch.tensor(X.reshape(len(X), *shape))
        y_all = torch.from_numpy(y_enc)
        tr, va = self._val_indices(y_enc, len(classes))
        fp = fingerprint(x_all, y_all)
        split = Split(name="estimator", x_train=x_all[tr], y_train=y_all[tr], x_val=x_all[va],
                      y_val=y_all[va], x_test=x_all[:0], y_test=y_all[:0],
                      classes=tuple(str(c) for c in classes.tolist()), input_shape=shape,
                      fingerprint=fp, info={"source": "NetClassifier.fit"})
        device = torch.device(self.device)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the caller's random state stays as it was
            spec = self._spec(shape, len(classes), X[tr])  # (default_spec builds a model to check)
            torch.manual_seed(int(self.seed))
            net = build(spec)
            history = fit(net, split, cfg)
        net.eval()
        self.classes_ = classes
        self.model_ = net
        self.spec_ = spec
        self.config_ = cfg
        self.history_ = history
        self.input_shape_ = shape
        self.n_iter_ = len(history.epochs)
        self.data_fingerprint_ = fp
        self._sizes = [len(tr), len(va)]
        return self

    def _logits(self, X) -> torch.Tensor:
        from ..train import predict_logits

        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        x = torch.tensor(X.reshape(len(X), *self.input_shape_))
        return predict_logits(self.model_, x, batch_size=self.config_.eval_batch_size,
                              device=self.config_.device)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, ndarray of shape (n_samples, n_classes), columns in ``classes_`` order."""
        return torch.softmax(self._logits(X).double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row, from ``classes_``."""
        logits = self._logits(X)
        return self.classes_[logits.argmax(1).numpy()]

    # ------------------------------------------------------------------ checkpoint
    def save_checkpoint(self, path: str | os.PathLike, *, data: dict | None = None,
                        metrics: dict | None = None, **meta: Any) -> Path:
        """Write the fitted network as a normal vizkit checkpoint (:func:`vizkit.checkpoint.save`).

        Parameters
        ----------
        path : path-like
        data : dict, optional
            Replaces the checkpoint's ``data`` record (``name``, ``fingerprint``, ...), e.g. the
            :class:`vizkit.data.Split` the fit data came from, so ``vizkit analyze`` reloads it.
            Default: name ``'estimator'`` and the fit data's fingerprint.
        metrics : dict, optional
        **meta
            More plain data to store.

        Returns
        -------
        Path

        Examples
        --------
        >>> clf.save_checkpoint("runs/search/model.pt")  # doctest: +SKIP
        >>> model, meta = vizkit.checkpoint.load("runs/search/model.pt")  # doctest: +SKIP
        """
        from ..train import save_trained

        check_is_fitted(self)
        classes = [c.item() if hasattr(c, "item") else c for c in self.classes_.tolist()]
        record = {"name": "estimator", "fingerprint": self.data_fingerprint_,
                  "classes": [str(c) for c in classes], "input_shape": list(self.input_shape_),
                  "sizes": [*self._sizes, 0]}
        record.update(data or {})
        params = {k: (list(v) if isinstance(v, tuple) else v)
                  for k, v in self.get_params(deep=False).items()}
        if params.get("classes") is not None:
            params["classes"] = [c.item() if hasattr(c, "item") else c
                                 for c in np.asarray(params["classes"]).tolist()]
        return save_trained(path, self.model_, record, self.config_, self.history_, metrics,
                            spec=self.spec_, seed=int(self.seed), model_name=self.model,
                            classes=classes, estimator_params=params, **meta)
