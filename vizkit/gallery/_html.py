"""Static HTML for the gallery, from Jinja2 templates (``templates/``, autoescape on).

A page shows the recipe's docstring, its source highlighted by Pygments and cut into blocks, each
block followed by the figures its calls made, what it printed, its tables, models and provenance.
Pages link only to files of the gallery (no external URL, no web font) and open from disk; the
one script, the embedding explorer, is inline and reads its points from a ``data-`` attribute.
"""

from __future__ import annotations

import ast
import base64
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._record import FigureRecord, RecipeRecord

__all__ = ["render_index", "render_page", "fmt", "code_blocks", "docstring_html", "DISPLAY_DPI",
           "PNG_DPI"]

#: PNGs are rendered at ``PNG_DPI`` (2x) and shown at ``DISPLAY_DPI`` CSS px per figure inch, so a
#: matplotlib font of 8 pt is 8/72 * 110 = 12.2 CSS px (> 9 CSS pt) on the page; a figure with
#: smaller text is shown larger (see :func:`display_size`).
PNG_DPI = 220
DISPLAY_DPI = 110
_MIN_CSS_PX = 12.0  # 9 pt
THUMB_SIZE = (480, 360)
_EMBED_KEYS = ("coords", "labels", "predictions", "class_names")


def fmt(value: Any) -> str:
    """A metric value as short text: floats with 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return " / ".join(fmt(v) for v in value)
    return str(value)


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # noqa: F401

    env = Environment(loader=PackageLoader("vizkit.gallery", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = fmt
    return env


@lru_cache(maxsize=1)
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


def _highlight(code: str):
    from markupsafe import Markup
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return Markup(highlight(code, PythonLexer(), HtmlFormatter(cssclass="highlight")))


def _plain_doc(doc: str) -> str:
    """A docstring as plain text: reST's double back-quotes dropped."""
    return doc.strip().replace("``", "")


#: What a docstring's Markdown may become on a page or in a notebook: the tags Markdown writes
#: (no image: a page loads nothing from outside the gallery), links with a title, and only
#: ``http(s):``, ``mailto:``, relative and ``#anchor`` targets.
_DOC_TAGS = frozenset({"p", "a", "code", "pre", "em", "strong", "b", "i", "ul", "ol", "li",
                       "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "dl", "dt",
                       "dd", "table", "thead", "tbody", "tr", "th", "td", "del", "sub", "sup"})
_DOC_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
_DOC_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def docstring_html(doc: str) -> str:
    """A recipe's docstring as safe HTML: rendered as Markdown (paragraphs, lists, ``code``,
    **bold**, links), then sanitized by ``nh3`` (Rust's ammonia).

    Raw HTML in the docstring is kept as text (Markdown's HTML passthrough is off); what Markdown
    writes keeps only :data:`_DOC_TAGS` and links whose target is ``http(s):``, ``mailto:``,
    relative or an ``#anchor`` (``javascript:``, ``data:``... in any case, spelled with entities
    or with whitespace inside, lose their ``href``). The page and the notebook both show this.
    """
    import markdown
    import nh3

    md = markdown.Markdown(output_format="html")
    md.preprocessors.deregister("html_block")  # raw HTML stays text
    md.inlinePatterns.deregister("html")
    return nh3.clean(md.convert(str(doc).strip()), tags=set(_DOC_TAGS),
                     attributes={k: set(v) for k, v in _DOC_ATTRIBUTES.items()},
                     url_schemes=set(_DOC_URL_SCHEMES), link_rel="noopener noreferrer")


def _doc_html(doc: str):
    """:func:`docstring_html` as markup for the page template."""
    return _markup(docstring_html(doc))


def _summary_line(doc: str) -> str:
    return _plain_doc(doc).split("\n\n")[0].replace("\n", " ") if doc else ""


# ---------------------------------------------------------------------------- code blocks
def _body_start(tree: ast.Module) -> int:
    """The first line after the module docstring."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                             ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0].end_lineno + 1
    return 1


def _cuts(tree: ast.Module, lines: list[int]) -> list[int]:
    """Line numbers after which a block ends: before each definition, and at the end of each
    statement of the module, or of ``run``'s body, that contains a line that made a figure."""
    stmts = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            stmts += node.body
        elif not (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)):
            stmts.append(node)
    cuts = {node.lineno - 1 - len(getattr(node, "decorator_list", [])) for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}  # each definition starts a block
    for line in lines:
        for s in stmts:
            if s.lineno <= line <= s.end_lineno:
                cuts.add(s.end_lineno)
    return sorted(cuts)


def code_blocks(source: str, figures: list[FigureRecord]) -> list[dict]:
    """The recipe's source (docstring left out) cut into blocks, each with the figures made by
    calls inside it; figures made elsewhere (or from an unknown line) follow the last block."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [{"code": source, "figures": list(figures)}]
    lines = source.splitlines()
    start = _body_start(tree)
    cuts = [c for c in _cuts(tree, [f.line for f in figures if f.line]) if c >= start]
    blocks, lo = [], start
    for c in cuts + [len(lines)]:
        code = "\n".join(lines[lo - 1:c]).strip("\n")
        if code.strip():
            blocks.append({"code": code, "lo": lo, "hi": c, "figures": []})
        lo = c + 1
    if not blocks:
        return [{"code": source, "figures": list(figures)}]
    for f in figures:
        home = next((b for b in blocks if f.line and b["lo"] <= f.line <= b["hi"]), blocks[-1])
        home["figures"].append(f)
    return blocks


# ---------------------------------------------------------------------------- figures
def display_size(f: FigureRecord) -> tuple[int, int]:
    """Width and height (CSS px) at which a 2x PNG shows its smallest text at >= 9 pt (an
    animation is drawn at ``DISPLAY_DPI`` and shown at its own size)."""
    if f.ext == "gif":
        return f.width, f.height
    per_inch = DISPLAY_DPI
    if f.min_font > 0:
        per_inch = max(per_inch, _MIN_CSS_PX * 72.0 / f.min_font)
    scale = min(1.0, per_inch / PNG_DPI)
    return max(1, round(f.width * scale)), max(1, round(f.height * scale))


def _embed_data(folder: Path, figures: list[FigureRecord]) -> dict | None:
    """The first figure whose data holds an embedding (coords, labels, predictions, class names,
    images), as JSON for the explorer; None when there is none or it does not check out."""
    import numpy as np

    for f in figures:
        if not set(_EMBED_KEYS) <= set(f.data):
            continue
        try:
            with np.load(folder / f"{f.id}.npz", allow_pickle=False) as z:
                coords, labels = np.asarray(z["coords"], float), np.asarray(z["labels"]).astype(int)
                preds = np.asarray(z["predictions"]).astype(int)
                names = [str(c) for c in z["class_names"]]
                images = np.asarray(z["images"]) if "images" in z.files else None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        n = len(labels)
        if not (0 < n <= 5000 and coords.shape == (n, 2) and preds.shape == (n,)
                and np.isfinite(coords).all() and 0 <= labels.min() and labels.max() < len(names)
                and 0 <= preds.min() and preds.max() < len(names)):
            return None
        if images is not None and images.ndim == 4:
            images = images.mean(axis=-1)
        ok_images = images is not None and images.ndim == 3 and images.shape[0] == n \
            and images.shape[1] * images.shape[2] <= 64 * 64
        h, w = (images.shape[1], images.shape[2]) if ok_images else (8, 8)
        from matplotlib import colormaps, colors

        cmap = colormaps["tab10"]
        payload = {"coords": np.round(coords, 4).tolist(), "labels": labels.tolist(),
                   "predictions": preds.tolist(), "class_names": names, "w": int(w), "h": int(h),
                   "colors": [colors.to_hex(cmap(i % 10)) for i in range(len(names))],
                   "images": base64.b64encode(np.clip(images, 0, 255).astype(np.uint8).tobytes())
                   .decode("ascii") if ok_images else ""}
        return {"id": f.id, "json": json.dumps(payload, separators=(",", ":")), "w": w, "h": h}
    return None


# ---------------------------------------------------------------------------- pages
def _data_text(rec: RecipeRecord) -> str:
    parts = []
    for d in rec.data:
        opts = d.get("options") or {}
        parts.append(f"{d.get('name')}" + (f" {opts}" if opts else "")
                     + f" (seed {d.get('seed')}, fingerprint {d.get('fingerprint')})")
    return "; ".join(parts) or "-"


def render_page(rec: RecipeRecord, *, source: str, folder: Path, prev: str | None = None,
                next: str | None = None, footer: str = "") -> str:
    """One recipe's page (``folder`` holds its figures' data, read for the embedding explorer)."""
    blocks = code_blocks(source, rec.figures)
    for b in blocks:
        b["html"] = _highlight(b["code"])
        b["figures"] = [{**vars(f), "display_w": display_size(f)[0],
                         "display_h": display_size(f)[1]} for f in b["figures"]]
    return _env().get_template("page.html").render(
        title=f"{rec.name} - vizkit gallery", r=rec, doc=_doc_html(rec.doc), blocks=blocks,
        prev=prev, next=next, data=_data_text(rec), embed=_embed_data(folder, rec.figures),
        footer=footer, pygments_css=_markup(_pygments_css()))


def _markup(text: str):
    from markupsafe import Markup

    return Markup(text)


def render_index(records: list[RecipeRecord], *, thumbs: set[str], title: str = "vizkit gallery",
                 footer: str = "") -> str:
    """The index: a summary with times, then the recipes as cards grouped by topic."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        names = r.headline or list(r.metrics)[:3]
        card = {"name": r.name, "page": r.page, "status": r.status, "seconds": r.seconds,
                "train_seconds": r.train_seconds, "error_summary": r.error_summary,
                "summary": _summary_line(r.doc), "n_figures": len(r.figures),
                "heads": [(n, r.metrics[n]) for n in names if n in r.metrics],
                "thumb": r.name in thumbs}
        groups.setdefault(r.topic or "Other", []).append(card)
    return _env().get_template("index.html").render(
        title=title, records=records, n_ok=sum(r.status == "ok" for r in records),
        failed=[r for r in records if r.status != "ok"], groups=list(groups.items()),
        total_seconds=sum(r.seconds for r in records),
        train_seconds=sum(r.train_seconds for r in records), thumb_w=THUMB_SIZE[0] // 2,
        thumb_h=THUMB_SIZE[1] // 2, footer=footer, pygments_css="")
