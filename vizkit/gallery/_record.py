"""What the gallery knows of one recipe run: :class:`RecipeRecord` and :class:`FigureRecord`.

Records go to ``manifest.json`` and come back from it on the next build. Coming back, a record
is checked field by field (:meth:`RecipeRecord.from_dict`): anything that is not what the gallery
itself writes makes the record unusable, and the recipe simply runs again. Paths and links are
never stored as inputs: :attr:`RecipeRecord.page` and :meth:`FigureRecord.file` derive them from
the recipe name and the figure id.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .._io import SAFE_NAME
from ._store import RECIPE_NAME, GalleryError

__all__ = ["FigureRecord", "RecipeRecord", "parse_manifest", "slide_text_px", "MANIFEST_FORMAT",
           "MANIFEST_VERSION", "SLIDE_PX", "MIN_SLIDE_TEXT_PX"]

MANIFEST_FORMAT = "vizkit-gallery"
MANIFEST_VERSION = 3
#: The slide a teacher projects a figure on (width, height in pixels): a 1080p screen.
SLIDE_PX = (1920, 1080)
#: The smallest text height (pixels, on :data:`SLIDE_PX`) readable from the back of a room:
#: about 14 pt on a projector.
MIN_SLIDE_TEXT_PX = 20.0
_HEX = frozenset("0123456789abcdef")
_MAX_DEPTH = 6
#: The image kinds a figure can be.
IMAGE_EXTS = ("png", "gif")


def _json_plain(value: Any, depth: int = 0) -> bool:
    """Is ``value`` plain JSON data (str keys, finite numbers), at most a few levels deep?"""
    if depth > _MAX_DEPTH:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_plain(v, depth + 1) for k, v in value.items())
    return False


def _int(value: Any, low: int = 0, high: int = 1 << 31) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and value >= 0


def slide_text_px(min_font: float, width: int, height: int, dpi: float) -> float:
    """How tall (pixels) the smallest text of an image is once it is scaled to fit a slide.

    The image (``width`` x ``height`` pixels, drawn at ``dpi`` pixels per inch, its smallest
    text ``min_font`` points) is scaled, up or down, to the largest size that fits
    :data:`SLIDE_PX` with its aspect ratio kept; its smallest text is then
    ``min_font / 72 * dpi * scale`` pixels tall (the font size's em height).

    Parameters
    ----------
    min_font : float
        The smallest font size (points) drawn in the image; 0 when it has no text.
    width, height : int
        The image's size in pixels (> 0).
    dpi : float
        The pixels per inch it was drawn at (> 0).

    Returns
    -------
    float
        The smallest text's height in slide pixels, rounded to 0.1 (0.0 for an image without
        text).

    Raises
    ------
    ValueError
        A size or the dpi is not positive, or ``min_font`` is negative.

    Examples
    --------
    A 9 pt label on a 2x (220 dpi) figure 3840 pixels wide is halved to fit 1920:

    >>> slide_text_px(9.0, 3840, 1000, 220)
    13.8
    >>> slide_text_px(12.0, 1100, 1100, 110)  # scaled up to 1080 x 1080
    18.0
    """
    if not (width > 0 and height > 0 and dpi > 0 and min_font >= 0):
        raise ValueError(f"slide_text_px needs a positive size and dpi and a font size >= 0. "
                         f"Got min_font={min_font!r}, width={width!r}, height={height!r}, "
                         f"dpi={dpi!r} instead.")
    scale = min(SLIDE_PX[0] / width, SLIDE_PX[1] / height)
    return round(float(min_font) / 72.0 * float(dpi) * scale, 1)


@dataclass
class FigureRecord:
    """One figure of a recipe: ``OUT/<recipe>/<id>.png`` (an animation: ``<id>.gif``), and
    ``<id>.npz`` when it has data.

    Attributes
    ----------
    id : str
        The figure's file-name stem, unique within its recipe (matches :data:`SAFE_NAME`).
    caption : str
        The caption shown under it.
    sha256 : str
        SHA-256 of the image file's bytes (64 hexadecimal digits).
    width, height : int
        The image's size in pixels.
    data : list of str
        The names of the arrays in its ``.npz`` (empty: no ``.npz``).
    line : int, default 0
        The recipe source line whose call made it (0: not known).
    min_font : float, default 0.0
        The smallest font size (points) of its text (0: no text).
    slide_text_px : float, default 0.0
        Its smallest text's height in pixels once the image is scaled to fit a 1920x1080
        slide (:func:`slide_text_px`; 0: no text).
    ext : {"png", "gif"}, default "png"
        The image kind: a PNG drawn at twice display size, or an animation drawn at display
        size.
    """

    id: str
    caption: str
    sha256: str
    width: int
    height: int
    data: list[str] = field(default_factory=list)
    line: int = 0  # the recipe source line whose call made it (0: not known)
    min_font: float = 0.0  # the smallest font size (pt) of its text (0: no text)
    #: its smallest text's height (px) when the image is scaled to fit a 1920x1080 slide
    #: (:func:`slide_text_px`; 0: no text)
    slide_text_px: float = 0.0
    ext: str = "png"  # 'png' (a 2x figure) or 'gif' (an animation drawn at display size)

    @property
    def name(self) -> str:
        """The image's file name inside the recipe's folder."""
        return f"{self.id}.{self.ext}"

    def file(self, recipe: str) -> str:
        """The image's path relative to the gallery folder."""
        return f"{recipe}/{self.name}"

    def data_file(self, recipe: str) -> str | None:
        """The ``.npz`` of the arrays it draws, relative to the gallery folder (None without)."""
        return f"{recipe}/{self.id}.npz" if self.data else None

    @classmethod
    def from_dict(cls, d: Any) -> "FigureRecord":
        if not isinstance(d, dict):
            raise GalleryError("a figure record is not an object")
        ok = (isinstance(d.get("id"), str) and SAFE_NAME.match(d["id"]) is not None
              and isinstance(d.get("caption"), str) and isinstance(d.get("sha256"), str)
              and len(d["sha256"]) == 64 and set(d["sha256"]) <= _HEX
              and _int(d.get("width"), 1, 100_000) and _int(d.get("height"), 1, 100_000)
              and isinstance(d.get("data", []), list)
              and all(isinstance(k, str) and k.isidentifier() for k in d.get("data", []))
              and _int(d.get("line", 0)) and _num(d.get("min_font", 0.0))
              and _num(d.get("slide_text_px", 0.0))
              and d.get("ext", "png") in IMAGE_EXTS)
        if not ok:
            raise GalleryError("a figure record has a missing or malformed field")
        return cls(id=d["id"], caption=d["caption"], sha256=d["sha256"], width=d["width"],
                   height=d["height"], data=list(d.get("data", [])), line=d.get("line", 0),
                   min_font=float(d.get("min_font", 0.0)),
                   slide_text_px=float(d.get("slide_text_px", 0.0)), ext=d.get("ext", "png"))


@dataclass
class RecipeRecord:
    """One recipe's run: status, timings, data, models, metrics, tables, figures, output.

    Attributes
    ----------
    name : str
        The recipe's name (its file's stem).
    key : str
        Hash of the recipe's source, vizkit's sources and the seed: a record whose key still
        matches is up to date and the recipe is not run again.
    status : {"ok", "failed"}, default "ok"
        Whether ``run(ctx)`` returned or raised.
    error : str, default ""
        The traceback of a failed run (this machine's folders replaced by their roots' names).
    error_summary : str, default ""
        Its one-line summary (``ExceptionType: first line``), shown on the index page.
    seconds : float, default 0.0
        Wall-clock seconds of the run.
    train_seconds : float, default 0.0
        The seconds of it spent training models (0 for models loaded from the cache).
    seed : int, default 0
        The gallery seed it ran with.
    doc : str, default ""
        The recipe's module docstring (the page's text).
    topic : str, default ""
        The recipe's ``TOPIC`` constant (its section of the index page).
    data : list of dict, default []
        The data sets it loaded (name, fingerprint, ...).
    checkpoints : list of dict, default []
        The models it trained or loaded from the cache (key, model, hash, ...).
    metrics : dict, default {}
        Name -> number or short text (:meth:`RecipeContext.metric`).
    headline : list of str, default []
        The metric names also shown on the index page.
    tables : list of dict, default []
        Its tables (``id``, ``columns``, ``rows``, ``caption``).
    figures : list of FigureRecord, default []
        Its figures, in the order it made them.
    assets : list of dict, default []
        Pages of its own (an ``.html`` ``file``, a ``caption``, its ``sha256``).
    output : str, default ""
        What it printed (the last 20 000 characters).
    provenance : dict, default {}
        What made the figures: vizkit's version and source hash, and the versions of torch,
        numpy, ... it ran on.
    trained, cached : int, default 0
        How many models it trained, and how many it loaded from the cache.
    """

    name: str
    key: str
    status: str = "ok"
    error: str = ""
    error_summary: str = ""
    seconds: float = 0.0
    train_seconds: float = 0.0
    seed: int = 0
    doc: str = ""
    topic: str = ""
    data: list = field(default_factory=list)
    checkpoints: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    headline: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    figures: list[FigureRecord] = field(default_factory=list)
    assets: list = field(default_factory=list)
    output: str = ""
    provenance: dict = field(default_factory=dict)
    trained: int = 0
    cached: int = 0

    @property
    def page(self) -> str:
        """The recipe's page, relative to the gallery folder."""
        return f"{self.name}/index.html"

    @property
    def command(self) -> str:
        uses_default = any(isinstance(d, dict) and d.get("request") == "default" for d in self.data)
        names = {d.get("name") for d in self.data if isinstance(d, dict)
                 and d.get("request") == "default"}
        cmd = f"vizkit gallery --only {self.name}"
        if uses_default and len(names) == 1:
            cmd += f" --data {names.pop()}"
        return cmd + f"\npython recipes/{self.name}.py"

    def to_dict(self) -> dict:
        """JSON for the manifest; ``page`` and each figure's ``file`` are written for readers of
        the manifest, and ignored when it is read back."""
        d = asdict(self)
        d["page"] = self.page
        for f, fd in zip(self.figures, d["figures"]):
            fd["file"] = f.file(self.name)
            if f.data:
                fd["data_file"] = f.data_file(self.name)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "RecipeRecord":
        """A record read back from a manifest, checked field by field.

        Raises
        ------
        GalleryError
            When any field is missing, of the wrong type, or not what the gallery writes.
        """
        if not isinstance(d, dict):
            raise GalleryError("a recipe record is not an object")
        text = ("key", "error", "error_summary", "doc", "topic", "output")
        ok = (isinstance(d.get("name"), str) and RECIPE_NAME.match(d["name"]) is not None
              and d.get("status") in ("ok", "failed")
              and all(isinstance(d.get(k, ""), str) for k in text)
              and _num(d.get("seconds", 0)) and _num(d.get("train_seconds", 0))
              and _int(d.get("seed", 0), -(1 << 63), 1 << 63)
              and _int(d.get("trained", 0)) and _int(d.get("cached", 0))
              and all(isinstance(d.get(k, []), list) and _json_plain(d.get(k, []))
                      for k in ("data", "checkpoints", "headline", "tables"))
              and all(isinstance(x, dict) for k in ("data", "checkpoints", "tables")
                      for x in d.get(k, []))
              and all(isinstance(d.get(k, {}), dict) and _json_plain(d.get(k, {}))
                      for k in ("metrics", "provenance"))
              and isinstance(d.get("figures", []), list))
        if not ok:
            raise GalleryError(f"the record of {str(d.get('name'))[:40]!r} has a missing or "
                               "malformed field")
        figures = [FigureRecord.from_dict(f) for f in d.get("figures", [])]
        if len({f.id for f in figures}) != len(figures):
            raise GalleryError("a recipe record lists a figure twice")
        assets = d.get("assets", [])
        if not (isinstance(assets, list) and all(
                isinstance(a, dict) and isinstance(a.get("file"), str)
                and a["file"].endswith(".html") and a["file"] != "index.html"
                and SAFE_NAME.match(a["file"][:-5]) and isinstance(a.get("caption", ""), str)
                and isinstance(a.get("sha256", ""), str) for a in assets)):
            raise GalleryError("an asset record is malformed")
        for t in d.get("tables", []):
            if not (isinstance(t.get("columns"), list) and isinstance(t.get("rows"), list)
                    and all(isinstance(r, list) for r in t["rows"])):
                raise GalleryError("a table record is malformed")
        names = {f.name for f in fields(cls)} - {"figures"}
        kw = {k: d[k] for k in names if k in d}
        return cls(**kw, figures=figures)


def parse_manifest(raw: bytes) -> dict[str, RecipeRecord]:
    """The usable records of a ``manifest.json``'s bytes, by recipe name.

    Never raises for any input: bytes that are not a manifest give ``{}``, a record that does
    not check out is left out (its recipe runs again).
    """
    try:
        m = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    if not isinstance(m, dict) or m.get("format") != MANIFEST_FORMAT \
            or m.get("format_version") != MANIFEST_VERSION or not isinstance(m.get("recipes"), list):
        return {}
    records: dict[str, RecipeRecord] = {}
    for d in m["recipes"]:
        try:
            rec = RecipeRecord.from_dict(d)
        except (GalleryError, RecursionError):
            continue
        records.setdefault(rec.name, rec)
    return records


def removed_names(raw: bytes) -> list[str]:
    """Recipe names listed in a manifest's bytes (checked against the name rule), for cleaning up
    recipes that no longer exist; never raises."""
    try:
        m = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return []
    recipes = m.get("recipes") if isinstance(m, dict) else None
    if not isinstance(recipes, list):
        return []
    return sorted({r["name"] for r in recipes if isinstance(r, dict) and isinstance(r.get("name"), str)
                   and RECIPE_NAME.match(r["name"])})
