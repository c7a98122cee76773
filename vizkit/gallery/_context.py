"""What a recipe sees: :class:`RecipeContext` (data, cached training, figures, metrics, tables)."""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from .._io import file_lock, npz_bytes, png_size, safe_name, sha256, write_if_changed
from ._cache import CacheMiss, cache_key, check_folder, forget_entry, load_entry, record_entry
from ._html import DISPLAY_DPI, PNG_DPI
from ._record import slide_text_px

__all__ = ["RecipeContext", "DataChoice", "load_data", "ASSET_SUFFIXES"]

#: What :meth:`RecipeContext.asset` may write: pages of a recipe's own, beside its figures.
ASSET_SUFFIXES = (".html",)

_DATA_CACHE: dict = {}


def load_data(name: str, *, root=None, seed: int = 0, **options):
    """:func:`vizkit.data.load`, memoized per process (recipes share the loaded tensors)."""
    from .. import data

    key = (name, str(root), seed, tuple(sorted(options.items())))
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = data.load(name, root=root, seed=seed, **options)
    return _DATA_CACHE[key]


class DataChoice:
    """The gallery's data for the MNIST recipes: a name, or ``None`` for
    :func:`vizkit.data.default_source` (resolved once, on first use)."""

    def __init__(self, name: str | None = None, root=None) -> None:
        self._name = name
        self.root = None if root is None else str(root)

    @property
    def name(self) -> str:
        if self._name is None:
            from ..data import default_source

            self._name = default_source(root=self.root)
        return self._name


def _plain(value: Any) -> Any:
    """Numbers from numpy/torch as Python numbers, for JSON."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class RecipeContext:
    """Handed to a recipe's ``run(ctx)``; records everything the gallery shows for it.

    The gallery makes one per recipe run; :meth:`standalone` makes one for running a recipe by
    hand.

    Parameters
    ----------
    name : str
        The recipe's name (its file's stem).
    source : str
        The recipe's source text: its hash is part of the cache key of the models it trains
        (unless shared).
    out : pathlib.Path
        The folder its figures and assets are written to.
    cache_dir : pathlib.Path
        The folder of trained models (:func:`~vizkit.gallery.default_cache_dir`).
    data : DataChoice
        The gallery's data choice for the MNIST recipes (``vizkit gallery --data``).
    seed : int, default 0
        The gallery seed.
    retrain : bool, default False
        Train every model again instead of loading it from the cache.
    lib_version : str, default ""
        vizkit's version, part of the models' cache key.
    log : callable, optional
        Called with each progress message (a str); by default messages are dropped.
    path : str, default ""
        The recipe's file name as Python runs it: a figure records the line of that file whose
        call made it.

    Attributes
    ----------
    name : str
        The recipe's name (its file's stem).
    seed : int
        The gallery seed: pass it to every random step of the recipe.

    Examples
    --------
    A recipe::

        def run(ctx):
            split = ctx.data("gmm-2d", K=4, C=2, N=40)
            model, hist, metrics = ctx.train("mlp", "mlp", split, {"epochs": 200}, hidden=(10,))
            ctx.metric("test accuracy", metrics["accuracy"], headline=True)
            ctx.family("decision-surface", model, split)

    What a context records, by hand:

    >>> ctx = RecipeContext.standalone("My recipe", out="figures", seed=3)
    >>> ctx.name, ctx.seed
    ('my-recipe', 3)
    >>> ctx.metric("test accuracy", 0.9123, headline=True)
    >>> ctx.table("sizes", ["layer", "units"], [["hidden", 10]])
    >>> ctx.metrics_, ctx.headline_, ctx.tables_[0]["rows"]
    ({'test accuracy': 0.9123}, ['test accuracy'], [['hidden', 10]])
    """

    def __init__(self, name: str, *, source: str, out: Path, cache_dir: Path, data: DataChoice,
                 seed: int = 0, retrain: bool = False, lib_version: str = "",
                 log=None, path: str = "") -> None:
        self.name = name
        self.seed = int(seed)
        self._source = source
        self._out = Path(out)
        self._cache = Path(cache_dir)
        self._data = data
        self._retrain = retrain
        self._version = lib_version
        self._log = log or (lambda msg: None)
        self.figures_: list[dict] = []
        self.metrics_: dict[str, Any] = {}
        self.headline_: list[str] = []
        self.tables_: list[dict] = []
        self.checkpoints_: list[dict] = []
        self.data_used_: list[dict] = []
        self.n_trained = 0
        self.n_cached = 0
        self._ids: set[str] = set()
        self._path = path
        self.figure_data_: dict[str, dict] = {}
        self.assets_: list[dict] = []
        self._meta: dict[int, dict] = {}

    @classmethod
    def standalone(cls, name: str, *, out: str | Path | None = None, data: str | None = None,
                   seed: int = 0, cache_dir: str | Path | None = None) -> "RecipeContext":
        """A context for running a recipe by hand (in a notebook, say): figures go to ``out``
        (default ``<name>-figures``), models to the gallery's cache.

        Examples
        --------
        >>> ctx = RecipeContext.standalone("gmm_decision_surfaces")  # doctest: +SKIP
        >>> run(ctx)                                                   # doctest: +SKIP
        """
        from .. import __version__
        from .._io import default_cache_dir

        out = Path(out) if out is not None else Path(f"{safe_name(name)}-figures")
        return cls(safe_name(name), source="", out=out,
                   cache_dir=Path(cache_dir) if cache_dir is not None else default_cache_dir(),
                   data=DataChoice(data), seed=seed, lib_version=__version__, log=print)

    # ------------------------------------------------------------------ data
    def data(self, name: str | None = None, *, seed: int | None = None, **options):
        """Load a data set as a :class:`vizkit.data.Split` (memoized).

        Parameters
        ----------
        name : str, optional
            A :func:`vizkit.data.load` source; ``None`` is the gallery's data choice
            (``vizkit gallery --data``, by default ``mnist`` when present else ``mnist-5k``).
        seed : int, optional
            Default: the gallery seed.
        **options
            Source options (``K``, ``C``, ``N`` for ``'gmm-2d'``).
        """
        request = "default" if name is None else name
        real = self._data.name if name is None else name
        seed = self.seed if seed is None else int(seed)
        split = load_data(real, root=self._data.root, seed=seed, **options)
        entry = {"request": request, "name": split.name, "seed": seed,
                 "options": {k: _plain(v) for k, v in sorted(options.items())},
                 "fingerprint": split.fingerprint}
        if entry not in self.data_used_:
            self.data_used_.append(entry)
        return split

    # ------------------------------------------------------------------ training
    def train(self, key: str, model: str | dict, split, config: Any = None, *, shared: bool = False,
              recorder: Any = None, **overrides: Any):
        """Train a model, or load it when an identical run is cached.

        Parameters
        ----------
        key : str
            A short name for this model within the recipe (its checkpoint file name).
        model : str or dict
            A registry name (``'logreg'``, ``'mlp'``, ``'deep'``, ``'cnn'``, ``'rbf'``) or a spec.
        split : vizkit.data.Split
        config : dict or TrainConfig, optional
            Missing keys come from :func:`vizkit.train.default_config`; ``seed`` defaults to
            the gallery seed.
        shared : bool, default=False
            Leave the recipe's source out of the cache key, so that recipes asking for the very
            same model (key, spec, config, seed, data) share one training run.
        recorder : object, optional
            Views over training (``on_epoch_end(epoch, model)``, ``snapshots()``,
            ``identity()``; e.g. a figure family's ``recorder(split, seed=...)``): called at
            epoch 0 and after every epoch. Its snapshots are stored beside the cached checkpoint
            and replayed, without training, when the model is loaded from the cache; a cached
            model without them (or with another recorder's) is trained again. Read them with
            :meth:`views`.
        **overrides
            Model constructor arguments for a registry name (``hidden=(100,)``...).

        Returns
        -------
        model, history, metrics
            As :func:`vizkit.train.train_model`; ``metrics`` are on the test part.

        Notes
        -----
        The cache key hashes the recipe's source, the vizkit version, the source of the code that
        trains, the spec, the training config, the seed and the data fingerprint: change any of
        them and the model is trained again; change none and nothing is trained or written. A
        cached checkpoint is used only when its bytes are those vizkit recorded writing for this
        very key (:mod:`vizkit.gallery._cache`); anything else is trained again.
        """
        from ..train import TrainConfig, default_config, model_spec

        if isinstance(model, str):
            spec = model_spec(model, split, **overrides)
            name = model
        elif isinstance(model, dict):
            if overrides:
                raise ValueError("model overrides are only for a registry name; put them in the "
                                 "spec's 'args' instead.")
            spec, name = model, model.get("name", "")
        else:
            raise TypeError(f"`model` must be a registry name or a spec dict. Got "
                            f"{type(model).__name__} instead.")
        if isinstance(config, TrainConfig):
            cfg = config
        else:
            cfg_dict = dict(config or {})
            cfg_dict.setdefault("seed", self.seed)
            cfg_dict.setdefault("progress", False)
            cfg = default_config(name, n_train=len(split.y_train), **cfg_dict)
        hashed_cfg = {k: v for k, v in cfg.to_dict().items()
                      if k not in ("progress", "log_every", "eval_batch_size")}
        digest = cache_key(recipe="shared" if shared else sha256(self._source.encode()),
                           version=self._version, key=key, spec=spec, config=hashed_cfg,
                           seed=cfg.seed, data=(split.name, split.fingerprint))
        stem = safe_name(key, default="model")
        path = self._cache / ("_shared" if shared else self.name) / f"{stem}-{digest}.pt"
        net, hist, metrics, meta = self._load_or_train(key, name, spec, split, cfg, path, digest,
                                                       recorder)
        self._meta[id(net)] = meta
        conf = meta.get("config", {})
        if any(c["hash"] == digest for c in self.checkpoints_):
            return net, hist, metrics   # asked for again: one model, listed (and timed) once
        self.checkpoints_.append({
            "key": key, "model": spec.get("class", name), "hash": digest,
            "params": int(sum(p.numel() for p in net.parameters())),
            "epochs": len(hist.epochs), "best_epoch": hist.best_epoch,
            "test_accuracy": _plain(metrics.get("accuracy")),
            "optimizer": conf.get("optimizer"), "lr": _plain(conf.get("lr")),
            "batch_size": conf.get("batch_size"), "max_epochs": conf.get("epochs"),
            "train_seconds": round(float(hist.seconds), 1),
            "sizes": [len(split.y_train), len(split.y_val), len(split.y_test)],
        })
        return net, hist, metrics

    def _load_or_train(self, key, name, spec, split, cfg, path: Path, digest: str, recorder=None):
        """The cached checkpoint at ``path``, or a model trained by :func:`vizkit.train.train_model`
        and written there (atomically: a crash leaves no half file). A lock beside the file makes
        recipes running side by side (``--jobs``) that need the same model train it once."""
        def waiting() -> None:
            self._log(f"  {self.name}: {key}: another recipe is training it; waiting")

        check_folder(path)
        with file_lock(path.with_name(path.name + ".lock"), on_wait=waiting):
            return self._load_or_train_locked(key, name, spec, split, cfg, path, digest, recorder)

    def _load_or_train_locked(self, key, name, spec, split, cfg, path: Path, digest: str,
                              recorder=None):
        from ..train import History, NoViews, load_views, train_model

        if not self._retrain:
            try:
                net, meta = load_entry(path, digest, fingerprint=split.fingerprint)
                if recorder is not None:  # NoViews when missing or from another recorder
                    meta["views"], _ = load_views(path, recorder)
                self.n_cached += 1
                self._log(f"  {self.name}: {key}: cached ({path.name})")
                return net, History.from_dict(meta.get("history", {})), meta["metrics"], meta
            except NoViews as e:
                self._log(f"  {self.name}: {key}: cached views unusable ({e}); training again")
            except CacheMiss as miss:
                if not miss.missing:
                    self._log(f"  {self.name}: {key}: cached checkpoint not used ({miss}); "
                              "training again")
        forget_entry(path)
        self._log(f"  {self.name}: {key}: training {spec.get('class', name)} "
                  f"({cfg.epochs} epochs max)")
        net, hist, metrics = train_model(spec, split, cfg, checkpoint=path,
                                         meta={"gallery_key": digest}, recorder=recorder)
        record_entry(path, digest)
        net.eval()
        self.n_trained += 1
        meta = {"config": cfg.to_dict(), "history": hist.to_dict(), "metrics": metrics,
                "seed": cfg.seed, "model_name": name, "gallery_key": digest, "spec": spec,
                "data": split.record()}
        if recorder is not None:
            meta["views"] = recorder.snapshots()
        return net, hist, metrics, meta

    def meta(self, model) -> dict:
        """The checkpoint meta (config, history, metrics, spec, data) of a model from :meth:`train`,
        and ``views``, its recorded snapshots, when it was trained with a recorder."""
        return self._meta.get(id(model), {})

    def views(self, model) -> dict:
        """The snapshots recorded while ``model`` (from :meth:`train` with a ``recorder``) trained,
        as ``recorder.snapshots()`` gave them (replayed from the cache when it was cached).

        Raises
        ------
        ValueError
            ``model`` was not trained by :meth:`train` with a ``recorder``.
        """
        views = self.meta(model).get("views")
        if views is None:
            raise ValueError("this model has no recorded views: pass recorder=... to ctx.train.")
        return views

    # ------------------------------------------------------------------ outputs
    def figure(self, id: str, fig, caption: str, *, data: dict | None = None) -> str:
        """Save a matplotlib figure as ``<recipe>/<id>.png`` (deterministic bytes) and close it.

        Parameters
        ----------
        id : str
            Made a safe file name and unique within the recipe.
        fig : matplotlib.figure.Figure
        caption : str
        data : dict of str to array-like, optional
            The arrays the figure draws, written beside it as ``<recipe>/<id>.npz``.

        Returns
        -------
        str
            The id used.
        """
        from ..figures import Figure, close_figure, write_figure

        try:
            min_font = _min_font(fig)
        except BaseException:
            close_figure(fig)
            raise
        written = write_figure(Figure(str(id), fig, str(caption), data=dict(data or {})),
                               self._out, taken=self._ids)
        fid, png = written.stem, written.png_bytes
        keys: list[str] = []
        if data:
            keys = sorted(str(k) for k in data)
            self.figure_data_[fid] = data
        w, h = png_size(png)
        self.figures_.append({"id": fid, "caption": str(caption), "sha256": sha256(png),
                              "width": w, "height": h, "data": keys, "line": self._caller_line(),
                              "min_font": min_font,
                              "slide_text_px": slide_text_px(min_font, w, h, PNG_DPI)})
        return fid

    def _new_id(self, id: str) -> str:
        """``id`` as a safe file name stem, made unique within the recipe."""
        from ..figures import unique_stem

        return unique_stem(id, self._ids)

    def animation(self, id: str, gif: bytes, caption: str, *, data: dict | None = None,
                  min_font: float = 0.0) -> str:
        """Save an animated GIF as ``<recipe>/<id>.gif``, shown (and played) on the page at its
        own size, like a figure.

        Parameters
        ----------
        id : str
            Made a safe file name, unique within the recipe (figures and animations share ids).
        gif : bytes
            A GIF file of more than one frame, drawn at the gallery's display scale (110 pixels
            per figure inch), e.g. :func:`vizkit.plot.animation.surface_animation`.
        caption : str
        data : dict of str to array-like, optional
            The arrays behind it, written as ``<recipe>/<id>.npz``.
        min_font : float, optional
            The smallest font size (pt) drawn in it, for the page's records.

        Returns
        -------
        str
            The id used.

        Raises
        ------
        ValueError
            ``gif`` is not a readable GIF with at least two frames.
        """
        import io

        from PIL import Image, UnidentifiedImageError

        if not isinstance(gif, (bytes, bytearray)) or not bytes(gif[:6]) in (b"GIF87a", b"GIF89a"):
            raise ValueError(f"`gif` must be the bytes of a GIF file. Got {type(gif).__name__} "
                             "that does not start with GIF87a/GIF89a instead.")
        try:
            with Image.open(io.BytesIO(gif)) as im:
                (w, h), n_frames = im.size, getattr(im, "n_frames", 1)
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"`gif` could not be read as a GIF: {e}") from None
        if n_frames < 2:
            raise ValueError(f"an animation needs at least 2 frames. Got {n_frames} (use "
                             "ctx.figure for a still image).")
        fid = self._new_id(id)
        gif = bytes(gif)
        write_if_changed(self._out / f"{fid}.gif", gif)
        keys: list[str] = []
        if data:
            write_if_changed(self._out / f"{fid}.npz", npz_bytes(data))
            keys = sorted(str(k) for k in data)
            self.figure_data_[fid] = data
        self.figures_.append({"id": fid, "caption": str(caption), "sha256": sha256(gif),
                              "width": w, "height": h, "data": keys, "line": self._caller_line(),
                              "min_font": float(min_font), "ext": "gif",
                              "slide_text_px": slide_text_px(float(min_font), w, h, DISPLAY_DPI)})
        return fid

    def asset(self, name: str, data: bytes, caption: str = "") -> str:
        """Save a page of the recipe's own (e.g. the explain page) as ``<recipe>/<name>``, linked
        from the recipe's page with ``caption`` and kept by the gallery like its figures.

        Parameters
        ----------
        name : str
            ``'<id>.html'``; the id is made a safe file name, unique within the recipe (figures
            and assets share ids).
        data : bytes
            The file's bytes (written atomically, only when they changed).
        caption : str, optional
            The link's text on the recipe's page.

        Returns
        -------
        str
            The file name used.

        Raises
        ------
        ValueError
            A name without the ``.html`` suffix, or data that is not bytes.
        """
        if not isinstance(name, str) or not name.endswith(ASSET_SUFFIXES) or \
                len(name) <= len(".html"):
            raise ValueError(f"an asset's name must be '<id>' + one of {', '.join(ASSET_SUFFIXES)}."
                             f" Got {name!r} instead.")
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError(f"`data` must be bytes. Got {type(data).__name__} instead.")
        stem, suffix = name.rsplit(".", 1)
        fname = f"{self._new_id(stem)}.{suffix}"
        write_if_changed(self._out / fname, bytes(data))
        self.assets_.append({"file": fname, "caption": str(caption), "sha256": sha256(bytes(data))})
        return fname

    def _caller_line(self) -> int:
        """The line of the recipe's source whose call is making the current figure."""
        frame = inspect.currentframe()
        try:
            while frame is not None:
                if frame.f_code.co_filename == self._path:
                    return frame.f_lineno
                frame = frame.f_back
        finally:
            del frame
        return 0

    def figures(self, figures: Iterable, *, prefix: str | None = None) -> list[str]:
        """Save a list of :class:`vizkit.figures.Figure` (``id``, ``fig``, ``caption`` and the
        arrays it draws, ``data``)."""
        ids = []
        for f in figures:
            fid = f"{prefix}-{f.id}" if prefix else f.id
            ids.append(self.figure(fid, f.fig, f.caption, data=getattr(f, "data", None) or None))
        return ids

    def family(self, name: str, model, split, *, prefix: str | None = None,
               meta: dict | None = None, seed: int | None = None) -> list[str]:
        """``vizkit.figures.make_figures(name, model, split, ...)`` and save its figures.

        ``meta`` defaults to the model's checkpoint meta (:meth:`meta`), ``seed`` to the gallery seed.
        """
        from ..figures import make_figures

        meta = self.meta(model) if meta is None else meta
        figs = make_figures(name, model, split, meta=meta, seed=self.seed if seed is None else seed)
        return self.figures(figs, prefix=prefix)

    def metric(self, name: str, value: Any, *, headline: bool = False) -> None:
        """Record a number (or short text) for the recipe's metrics table; ``headline`` ones also
        appear on the index page."""
        self.metrics_[str(name)] = _plain(value)
        if headline and str(name) not in self.headline_:
            self.headline_.append(str(name))

    def table(self, id: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
              caption: str = "") -> None:
        """A table for the recipe's page."""
        columns = [str(c) for c in columns]
        rows = [[_plain(v) for v in row] for row in rows]
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                raise ValueError(f"table {id!r} row {i} has {len(row)} values for "
                                 f"{len(columns)} columns.")
        self.tables_.append({"id": safe_name(id, default="table"), "columns": columns,
                             "rows": rows, "caption": str(caption)})

    def log(self, message: str) -> None:
        self._log(f"  {self.name}: {message}")


def _min_font(fig) -> float:
    """The smallest font size (pt) of the figure's visible, non-empty text (0 without text).

    The figure is laid out first (without rendering): tick labels get their text only then.
    """
    from matplotlib.text import Text

    fig.draw_without_rendering()

    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    return round(float(min(sizes)), 2) if sizes else 0.0

