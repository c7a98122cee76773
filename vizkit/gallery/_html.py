"""Static HTML for the gallery: ``index.html`` and one page per recipe.

Everything here is escaped with :func:`html.escape`; pages link only to files of the gallery
(no external URL, no script, no web font) and open from disk.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

__all__ = ["render_index", "render_page", "fmt"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#1d2329;background:#f6f7f9;line-height:1.45}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;margin:1.4em 0 .4em}
a{color:#1557b0}
.summary{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:10px 14px;margin:10px 0}
.ok{color:#17692f;font-weight:600}.failed{color:#b3261e;font-weight:600}
section.recipe{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:8px 16px 14px;
margin:16px 0}
.grid{display:flex;flex-wrap:wrap;gap:14px}
figure.thumb{margin:0;width:260px}
figure.thumb img{width:260px;height:190px;object-fit:contain;background:#fff;border:1px solid #e3e6ea}
figure.thumb figcaption{font-size:.82em;color:#4a5560}
figure.full{margin:18px 0;background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:10px}
figure.full img{max-width:100%;height:auto}
figure.full figcaption{color:#333;margin-top:6px}
.fid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;color:#68737d}
table{border-collapse:collapse;margin:6px 0 12px;background:#fff}
th,td{border:1px solid #d8dde3;padding:3px 9px;text-align:left;font-size:.92em}
th{background:#eef1f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace}
pre.cmd{background:#1d2329;color:#e8eaed;padding:8px 12px;border-radius:5px;overflow-x:auto}
.error{background:#fdecea;border:1px solid #b3261e;border-radius:6px;padding:8px 14px;margin:12px 0}
.error pre{white-space:pre-wrap;font-size:.82em;max-height:30em;overflow:auto}
.metrics{font-size:.9em;color:#333}
.doc{white-space:pre-wrap;font-family:inherit;margin:0}
footer{color:#68737d;font-size:.85em;padding:20px}
"""


def fmt(value: Any) -> str:
    """A metric value as short text: floats with 4 significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def _e(value: Any) -> str:
    return escape(fmt(value), quote=True)


def _head(title: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")


def _table(columns, rows, *, caption: str = "", id: str | None = None) -> str:
    attr = f' id="{escape(id)}"' if id else ""
    out = [f"<table{attr}>"]
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    if columns is not None:
        out.append("<tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in columns) + "</tr>")
    for row in rows:
        cells = []
        for v in row:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_e(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _status(rec: dict) -> str:
    if rec["status"] == "ok":
        return '<span class="ok">built</span>'
    return '<span class="failed">FAILED</span>'


def _headline(rec: dict) -> list[tuple[str, Any]]:
    names = rec.get("headline") or list(rec.get("metrics", {}))[:3]
    return [(n, rec["metrics"][n]) for n in names if n in rec.get("metrics", {})]


def _plain_doc(doc: str) -> str:
    """A docstring as plain text: reST's double back-quotes dropped."""
    return doc.strip().replace("``", "")


def _summary_line(doc: str) -> str:
    return _plain_doc(doc).split("\n\n")[0].replace("\n", " ") if doc else ""


def render_index(records: list[dict], *, title: str = "vizkit gallery", footer: str = "") -> str:
    """The index page: a summary, then each recipe's thumbnails with captions and headline metrics."""
    ok = [r for r in records if r["status"] == "ok"]
    failed = [r for r in records if r["status"] != "ok"]
    parts = [_head(title), f"<header><h1>{escape(title)}</h1>"]
    parts.append('<div class="summary" id="summary">')
    parts.append(f"<p>{len(records)} recipes: <span class=\"ok\">{len(ok)} built</span>"
                 + (f", <span class=\"failed\">{len(failed)} failed</span>" if failed else "")
                 + ".</p>")
    if failed:
        parts.append("<p>Failed: " + ", ".join(
            f'<a class="failed" href="{escape(r["page"])}">{escape(r["name"])}</a>' for r in failed)
            + "</p>")
    parts.append("<p>Recipes: " + ", ".join(
        f'<a href="#{escape(r["name"])}">{escape(r["name"])}</a>' for r in records) + "</p>")
    parts.append("</div></header>\n<main>")
    for r in records:
        parts.append(f'<section class="recipe" id="{escape(r["name"])}">')
        parts.append(f'<h2><a href="{escape(r["page"])}">{escape(r["name"])}</a> {_status(r)}</h2>')
        line = _summary_line(r.get("doc", ""))
        if line:
            parts.append(f"<p>{escape(line)}</p>")
        heads = _headline(r)
        if heads:
            parts.append('<p class="metrics">' + " &middot; ".join(
                f"{escape(n)}: <b>{_e(v)}</b>" for n, v in heads) + "</p>")
        if r["status"] != "ok":
            parts.append(f'<p class="failed">{escape(r.get("error_summary", "failed"))} '
                         f'(<a href="{escape(r["page"])}#error">details</a>)</p>')
        if r.get("figures"):
            parts.append('<div class="grid">')
            for f in r["figures"]:
                href = f'{r["page"]}#fig-{f["id"]}'
                parts.append(
                    f'<figure class="thumb"><a href="{escape(href)}"><img src="{escape(f["file"])}" '
                    f'alt="{escape(f["id"])}" width="260" height="190"></a>'
                    f"<figcaption>{escape(_first_sentence(f['caption']))}</figcaption></figure>")
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</main>")
    parts.append(f"<footer>{escape(footer)}</footer>\n</body>\n</html>\n")
    return "\n".join(parts)


def _first_sentence(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    cut = text.find(". ")
    if 0 < cut < limit:
        return text[:cut + 1]
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def render_page(rec: dict, *, footer: str = "") -> str:
    """One recipe's page: what it shows, how to rebuild it, its run facts, tables and figures."""
    name = rec["name"]
    parts = [_head(f"{name} - vizkit gallery"), "<header>",
             '<p><a href="../index.html">&larr; all recipes</a></p>',
             f"<h1>{escape(name)} {_status(rec)}</h1>", "</header>\n<main>"]
    if rec.get("doc"):
        parts.append(f'<pre class="doc">{escape(_plain_doc(rec["doc"]))}</pre>')
    parts.append("<h2>Rebuild</h2>")
    parts.append(f'<pre class="cmd">{escape(rec["command"])}</pre>')
    data = "; ".join(
        f'{d["name"]}' + (f' {d["options"]}' if d.get("options") else "")
        + f' (seed {d["seed"]}, fingerprint {d["fingerprint"]})' for d in rec.get("data", [])) or "-"
    facts = [("status", rec["status"]), ("seed", rec["seed"]), ("data", data),
             ("seconds", rec.get("seconds")), ("recipe hash", rec.get("key", "")),
             ("figures", len(rec.get("figures", [])))]
    parts.append(_table(None, facts, id="facts"))
    if rec["status"] != "ok":
        parts.append('<div class="error" id="error"><h2>This recipe failed</h2>'
                     f"<p>{escape(rec.get('error_summary', ''))}</p>"
                     f"<pre>{escape(rec.get('error', ''))}</pre>"
                     "<p>The figures it made before failing are shown below.</p></div>")
    if rec.get("checkpoints"):
        parts.append("<h2>Models</h2>")
        cols = ["key", "model", "parameters", "epochs run", "best epoch", "test accuracy",
                "checkpoint hash"]
        rows = [[c["key"], c["model"], c["params"], c["epochs"], c["best_epoch"],
                 c.get("test_accuracy"), c["hash"]] for c in rec["checkpoints"]]
        parts.append(_table(cols, rows, id="models"))
    if rec.get("metrics"):
        parts.append("<h2>Metrics</h2>")
        parts.append(_table(["metric", "value"], list(rec["metrics"].items()), id="metrics"))
    for t in rec.get("tables", []):
        parts.append(f"<h2>{escape(t['caption'] or t['id'])}</h2>")
        parts.append(_table(t["columns"], t["rows"], id=f"table-{t['id']}"))
    if rec.get("figures"):
        parts.append("<h2>Figures</h2>")
    for f in rec.get("figures", []):
        parts.append(f'<figure class="full" id="fig-{escape(f["id"])}">'
                     f'<img src="{escape(f["id"])}.png" alt="{escape(f["id"])}" '
                     f'width="{int(f["width"])}" height="{int(f["height"])}">'
                     f"<figcaption>{escape(f['caption'])} "
                     f'<span class="fid">[{escape(f["id"])}.png]</span></figcaption></figure>')
    parts.append("</main>")
    parts.append(f'<footer><a href="../index.html">all recipes</a> &middot; {escape(footer)}</footer>\n'
                 "</body>\n</html>\n")
    return "\n".join(parts)
