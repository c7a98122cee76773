"""The explain page: one static HTML file (inline CSS, script and images) and the arrays behind it.

Every text that reaches the page goes through Jinja2's autoescape or, for the data, through JSON
embedded in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&`` written as
``\\u003c``, ``\\u003e``, ``\\u0026``; the page's script puts text into the page with
``textContent`` only. No URL of another site; images are ``data:`` URIs shared between inputs.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes, npz_bytes
from ._compute import Explanation, method_label

__all__ = ["write_explanation", "page_html", "page_data", "image_png", "map_png"]

#: File names written by :func:`write_explanation` inside its folder.
PAGE, ARRAYS = "index.html", "explanation.npz"


def image_png(image) -> bytes:
    """PNG bytes of one image ``(C, H, W)`` or ``(H, W)`` with values in [0, 1] (clipped)."""
    from PIL import Image

    a = np.asarray(image, dtype=np.float64)
    a = a[0] if a.ndim == 3 and a.shape[0] == 1 else (a.transpose(1, 2, 0) if a.ndim == 3 else a)
    return _png(Image.fromarray(np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8)))


def map_png(values) -> bytes:
    """PNG bytes of a map ``(C, H, W)`` or ``(H, W)`` (channels summed): positive values red,
    negative blue, zero white, scaled by the largest magnitude."""
    from PIL import Image

    a = np.asarray(values, dtype=np.float64)
    s = a.sum(0) if a.ndim == 3 else a
    top = np.abs(s).max()
    v = s / top if top > 0 else np.zeros_like(s)
    rgb = np.stack([1 - np.clip(-v, 0, 1), 1 - np.abs(v), 1 - np.clip(v, 0, 1)], -1)
    return _png(Image.fromarray(np.rint(rgb * 255).astype(np.uint8), "RGB"))


def _png(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


class _Images:
    """Data URIs of PNGs, each stored once; referenced by position."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._seen: dict[bytes, int] = {}

    def add(self, png: bytes) -> int:
        if png not in self._seen:
            self._seen[png] = len(self.uris)
            self.uris.append("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
        return self._seen[png]


def _r(v, n: int = 4):
    return [round(float(x), n) for x in np.ravel(v)] if np.ndim(v) else round(float(v), n)


def page_data(expl: Explanation) -> dict:
    """The page's data: what its script shows, as plain JSON-able values (numbers rounded to
    4 decimals, probabilities to 5).

    Every image is a ``data:`` PNG URI listed once in ``images`` (the same image twice is
    stored once); the inputs, units and neighbours refer to it by its position there.

    Parameters
    ----------
    expl : Explanation
        What :func:`~vizkit.explain.explain` computed.

    Returns
    -------
    dict
        ``classes``, ``layer``, ``methods``, ``fractions``, ``units``, ``fields``, ``inputs``
        (one dict per explained input), ``images`` and ``settings``.

    Examples
    --------
    >>> from vizkit.explain import explain
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(24, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(24) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> model = PTDeep([16, 6, 2])  # untrained: the views work the same
    >>> expl = explain(model, split, indices=[0, 1], methods=["saliency"], n_units=2,
    ...                n_exemplars=2, n_neighbors=2, n_steps=2, actmax_steps=2)
    >>> data = page_data(expl)
    >>> sorted(data)
    ['classes', 'fields', 'fractions', 'images', 'inputs', 'layer', 'methods', 'settings', 'units']
    >>> len(data["inputs"]), data["methods"]
    (2, [{'id': 'saliency', 'label': 'saliency', 'signed': False}])
    >>> data["images"][0][:22]
    'data:image/png;base64,'
    """
    imgs = _Images()
    first = expl.faithfulness[expl.methods[0]]
    units = {}
    for r, u in enumerate(expl.units):
        units[str(int(u))] = {"actmax": imgs.add(image_png(expl.unit_images[r])),
                              "ex": [imgs.add(image_png(im)) for im in expl.exemplar_images[r]],
                              "exl": expl.exemplar_labels[r].tolist(),
                              "exi": expl.exemplars[r].tolist()}
    inputs = []
    best = expl.most_faithful()
    for i in range(len(expl)):
        maps = []
        for m in expl.methods:
            f = expl.faithfulness[m]
            maps.append({"img": imgs.add(map_png(expl.maps[m][i])), "del": _r(f.deletion_auc[i]),
                         "ins": _r(f.insertion_auc[i]), "curve": _r(f.deletion[i], 3)})
        inputs.append({
            "index": int(expl.indices[i]), "label": int(expl.labels[i]),
            "pred": int(expl.predictions[i]), "probs": _r(expl.probabilities[i], 5),
            "img": imgs.add(image_png(expl.images[i])), "caption": expl.captions[i],
            "maps": maps, "best": expl.methods.index(best[i]), "random_del": _r(first.random_deletion_auc[i]),
            "random_curve": _r(first.random_deletion[i], 3),
            "units": [[int(u), _r(s)] for u, s in zip(expl.unit_ids[i], expl.unit_scores[i])],
            "nn": [[imgs.add(image_png(im)), int(lab), _r(d, 3)] for im, lab, d in
                   zip(expl.neighbor_images[i], expl.neighbor_labels[i],
                       expl.neighbor_distances[i])]})
    fields = None
    if expl.fields is not None:
        fields = [imgs.add(map_png(f)) for f in expl.fields]
    return {"classes": list(expl.classes), "layer": expl.layer,
            "methods": [{"id": m, "label": method_label(m), "signed": expl.signed[m]}
                        for m in expl.methods],
            "fractions": _r(first.fractions, 3), "units": units, "fields": fields,
            "inputs": inputs, "images": imgs.uris,
            "settings": {k: v for k, v in expl.settings.items()
                         if isinstance(v, (int, float, str))}}


def _script_json(obj) -> str:
    """JSON that cannot close its ``<script>`` block or open markup."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def page_html(expl: Explanation, *, title: str | None = None) -> str:
    """The page as a string (see the module docstring for how it stays safe).

    Parameters
    ----------
    expl : Explanation
        What :func:`~vizkit.explain.explain` computed.
    title : str, optional
        The page's title; by default it names the model and the number of inputs.

    Returns
    -------
    str
        One self-contained HTML document (its data and images inline).

    Examples
    --------
    >>> from vizkit.explain import explain
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(24, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(24) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> model = PTDeep([16, 6, 2])  # untrained: the views work the same
    >>> expl = explain(model, split, indices=[0, 1], methods=["saliency"], n_units=2,
    ...                n_exemplars=2, n_neighbors=2, n_steps=2, actmax_steps=2)
    >>> html = page_html(expl, title="Two <tiny> images")
    >>> html.startswith("<!doctype html>"), "<title>Two &lt;tiny&gt; images</title>" in html
    (True, True)
    """
    from jinja2 import Environment
    from markupsafe import Markup

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    s = expl.settings
    title = title or f"Why did the {s.get('model', 'model')} say that? {len(expl)} test images"
    n_wrong = int((expl.labels != expl.predictions).sum())
    return env.from_string(_TEMPLATE).render(
        title=title, data=Markup(_script_json(page_data(expl))), n=len(expl), n_wrong=n_wrong,
        layer=expl.layer, settings=s, methods=[method_label(m) for m in expl.methods])


def write_explanation(expl: Explanation, out, *, title: str | None = None) -> list[Path]:
    """Write ``out/index.html`` (the page, one self-contained file) and ``out/explanation.npz``
    (the arrays it shows), atomically; returns their paths.

    Parameters
    ----------
    expl : Explanation
        What :func:`~vizkit.explain.explain` computed.
    out : str or os.PathLike
        The folder (made when missing).
    title : str, optional
        The page's title (:func:`page_html`).

    Returns
    -------
    list of pathlib.Path
        The page and the arrays file.

    Raises
    ------
    ValueError
        ``out`` exists and is not a folder.

    Examples
    --------
    >>> import numpy as np
    >>> from vizkit.explain import explain
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(24, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(24) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> model = PTDeep([16, 6, 2])  # untrained: the views work the same
    >>> expl = explain(model, split, indices=[0, 1], methods=["saliency"], n_units=2,
    ...                n_exemplars=2, n_neighbors=2, n_steps=2, actmax_steps=2)
    >>> page, arrays = write_explanation(expl, "runs/explain")
    >>> page.name, arrays.name
    ('index.html', 'explanation.npz')
    >>> np.load(arrays)["indices"].tolist()
    [0, 1]
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` {out} exists and is not a folder; give a folder path.")
    out.mkdir(parents=True, exist_ok=True)
    page = page_html(expl, title=title).encode("utf-8")
    return [atomic_write_bytes(out / PAGE, page),
            atomic_write_bytes(out / ARRAYS, npz_bytes(explanation_arrays(expl)))]


def explanation_arrays(expl: Explanation) -> dict:
    """The explanation's arrays by name, as the ``.npz`` beside the page holds them."""
    arrays = {k: getattr(expl, k) for k in (
        "indices", "images", "labels", "predictions", "probabilities", "unit_ids", "unit_scores",
        "units", "unit_images", "exemplars", "exemplar_labels", "neighbors",
        "neighbor_distances", "neighbor_labels")}
    arrays["classes"] = np.array(expl.classes)
    for m in expl.methods:
        f = expl.faithfulness[m]
        arrays[f"map_{m}"] = expl.maps[m].astype(np.float32)
        arrays[f"deletion_{m}"] = f.deletion
        arrays[f"insertion_{m}"] = f.insertion
        arrays[f"deletion_auc_{m}"] = f.deletion_auc
        arrays[f"insertion_auc_{m}"] = f.insertion_auc
    first = expl.faithfulness[expl.methods[0]]
    arrays["random_deletion"] = first.random_deletion
    arrays["random_deletion_auc"] = first.random_deletion_auc
    arrays["fractions"] = first.fractions
    if expl.fields is not None:
        arrays["fields"] = expl.fields
    return arrays


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
:root { --fg: #1b1b1b; --mute: #5c5c5c; --line: #d8d8d8; --ok: #1a7f37; --bad: #b42318; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0 auto; padding: 12px;
       max-width: 1100px; }
h1 { font-size: 1.3rem; margin: 0 0 4px; }
h2 { font-size: 1.05rem; margin: 18px 0 6px; }
p.note { color: var(--mute); margin: 0 0 8px; font-size: .9rem; }
img { image-rendering: pixelated; display: block; }
#strip { display: flex; gap: 4px; overflow-x: auto; padding: 4px 0 8px; }
#strip button { border: 2px solid transparent; padding: 0; background: none; cursor: pointer;
                flex: 0 0 auto; }
#strip button.wrong { border-bottom-color: var(--bad); }
#strip button[aria-current="true"] { border-color: var(--fg); }
#strip img { width: 36px; height: 36px; }
#top { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
#main-img { width: 168px; height: 168px; border: 1px solid var(--line); }
#side { flex: 1 1 260px; min-width: 0; }
#caption { margin: 0 0 8px; }
#nav button { font: inherit; padding: 2px 10px; }
.bar { display: grid; grid-template-columns: 4.5em 1fr 3.5em; gap: 6px; align-items: center;
       font-size: .9rem; }
.bar .track { background: #eee; height: 12px; }
.bar .fill { background: #4c78a8; height: 12px; }
.bar.pred .fill { background: #f58518; }
.bar.true .name { font-weight: 700; }
.bar.true .name::after { content: " \\2713 true"; color: var(--ok); font-weight: 400; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(118px, 1fr)); gap: 10px; }
.cell img { width: 100%; max-width: 140px; aspect-ratio: 1; border: 1px solid var(--line); }
.cell .label { font-size: .85rem; }
.cell.best .label { font-weight: 700; }
.unit { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-end; margin-bottom: 10px; }
.unit img { width: 64px; height: 64px; border: 1px solid var(--line); }
.unit .label { flex-basis: 100%; font-size: .9rem; }
svg { width: 100%; max-width: 560px; height: auto; }
@media (max-width: 480px) {
  body { padding: 8px; font-size: 15px; }
  #main-img { width: 120px; height: 120px; }
  .grid { grid-template-columns: repeat(auto-fill, minmax(84px, 1fr)); }
  .unit img { width: 48px; height: 48px; }
}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="note">{{ n }} test images ({{ n_wrong }} misclassified, marked red below); test accuracy
{{ "%.3f"|format(settings.test_accuracy) }} on {{ settings.n_test }} images of {{ settings.data }}.
Pick an image, or use the left and right arrow keys.</p>
<nav id="strip" aria-label="test images"></nav>
<section id="top">
  <figure style="margin:0"><img id="main-img" alt="the input image">
    <figcaption id="main-label" class="note"></figcaption></figure>
  <div id="side">
    <p id="caption"></p>
    <div id="nav"><button id="prev" type="button">&larr; previous</button>
      <button id="next" type="button">next &rarr;</button> <span id="pos" class="note"></span></div>
    <h2>Class probabilities</h2>
    <div id="bars"></div>
  </div>
</section>
<h2>Which pixels? Attributions of the predicted class</h2>
<p class="note">Red: evidence for the predicted class, blue: against. Under each map, its deletion
AUC: the area under the predicted class's probability as the map's most important pixels are
set to black first, {{ settings.n_steps }} steps (lower is more faithful; the boldest map is the
most faithful here), and its insertion AUC (higher is more faithful).</p>
<div id="maps" class="grid"></div>
<p id="random" class="note"></p>
<svg id="curves" viewBox="0 0 440 170" role="img" aria-label="deletion curves"></svg>
<h2>Which hidden units? {{ layer }}</h2>
<p class="note">The units of {{ layer }} (the layer before the output) whose activation times
gradient adds most to the predicted class; each with the image that excites it most
(activation maximization) and the test images that excite it most.</p>
<div id="units"></div>
<h2>Nearest training images in {{ layer }}</h2>
<div id="nn" class="grid"></div>
<section id="fields-sec" hidden>
<h2>Receptive fields of the predicted and the true class</h2>
<p class="note">The output units' weights propagated back to the pixels (the product of the
weight matrices): red pixels raise the class's logit, blue ones lower it.</p>
<div id="fields" class="grid"></div>
</section>
<script type="application/json" id="explain-data">{{ data }}</script>
<script>
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("explain-data").textContent);
  var cur = 0;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function img(ref, alt) {
    var e = document.createElement("img");
    e.src = D.images[ref]; e.alt = alt; return e;
  }
  function cell(ref, label, cls) {
    var c = el("figure", "cell" + (cls ? " " + cls : ""));
    c.style.margin = "0";
    c.appendChild(img(ref, label));
    c.appendChild(el("figcaption", "label", label));
    return c;
  }
  function fill(id, nodes) {
    var box = document.getElementById(id);
    box.replaceChildren.apply(box, nodes);
  }
  var strip = document.getElementById("strip");
  D.inputs.forEach(function (inp, k) {
    var b = el("button", inp.pred === inp.label ? "" : "wrong");
    b.type = "button";
    b.title = "test image " + inp.index + ": true " + D.classes[inp.label] + ", predicted " +
      D.classes[inp.pred];
    b.appendChild(img(inp.img, b.title));
    b.addEventListener("click", function () { show(k); });
    strip.appendChild(b);
  });
  function curves(inp) {
    var svg = document.getElementById("curves"), ns = "http://www.w3.org/2000/svg";
    var nodes = [], colours = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#b279a2", "#9d755d"];
    function line(ys, colour, dash) {
      var p = document.createElementNS(ns, "polyline");
      p.setAttribute("points", ys.map(function (y, j) {
        return (40 + 270 * D.fractions[j]).toFixed(1) + "," + (140 - 120 * y).toFixed(1);
      }).join(" "));
      p.setAttribute("fill", "none"); p.setAttribute("stroke", colour);
      p.setAttribute("stroke-width", "2");
      if (dash) p.setAttribute("stroke-dasharray", "4 3");
      return p;
    }
    function text(x, y, s, anchor) {
      var t = document.createElementNS(ns, "text");
      t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "11");
      if (anchor) t.setAttribute("text-anchor", anchor);
      t.textContent = s; return t;
    }
    var axes = document.createElementNS(ns, "path");
    axes.setAttribute("d", "M40 20 V140 H310"); axes.setAttribute("stroke", "#888");
    axes.setAttribute("fill", "none");
    nodes.push(axes, text(36, 24, "1", "end"), text(36, 143, "0", "end"),
               text(175, 162, "share of pixels deleted, most important first", "middle"),
               text(44, 14, "p(" + D.classes[inp.pred] + ")"));
    inp.maps.forEach(function (m, j) {
      nodes.push(line(m.curve, colours[j % colours.length]));
      nodes.push(text(318, 30 + 12 * j, D.methods[j].label));
      nodes[nodes.length - 1].setAttribute("fill", colours[j % colours.length]);
    });
    nodes.push(line(inp.random_curve, "#777", true),
               text(318, 30 + 12 * inp.maps.length, "random order (dashed)"));
    svg.replaceChildren.apply(svg, nodes);
  }
  function show(k) {
    cur = (k + D.inputs.length) % D.inputs.length;
    var inp = D.inputs[cur], C = D.classes;
    Array.prototype.forEach.call(strip.children, function (b, j) {
      b.setAttribute("aria-current", j === cur ? "true" : "false");
    });
    strip.children[cur].scrollIntoView({block: "nearest", inline: "nearest"});
    var main = document.getElementById("main-img");
    main.src = D.images[inp.img];
    main.dataset.ref = String(inp.img);
    document.getElementById("main-label").textContent = "test image " + inp.index + ", true " +
      C[inp.label] + ", predicted " + C[inp.pred];
    document.getElementById("caption").textContent = inp.caption;
    document.getElementById("pos").textContent = (cur + 1) + " / " + D.inputs.length;
    fill("bars", inp.probs.map(function (p, c) {
      var row = el("div", "bar" + (c === inp.label ? " true" : "") + (c === inp.pred ? " pred" : ""));
      row.dataset.p = String(p);
      var track = el("div", "track"), f = el("div", "fill");
      f.style.width = (100 * p).toFixed(1) + "%";
      track.appendChild(f);
      row.append(el("span", "name", C[c]), track, el("span", "value", p.toFixed(3)));
      return row;
    }));
    var best = inp.best;
    fill("maps", inp.maps.map(function (m, j) {
      var c = cell(m.img, D.methods[j].label + ": deletion AUC " + m.del.toFixed(3) +
                   ", insertion " + m.ins.toFixed(3), j === best ? "best" : "");
      c.dataset.del = String(m.del);
      return c;
    }));
    document.getElementById("random").textContent = "The same pixels deleted in a random " +
      "order: deletion AUC " + inp.random_del.toFixed(3) + " (a map is informative where it " +
      "does better than this).";
    curves(inp);
    fill("units", inp.units.map(function (us) {
      var u = D.units[String(us[0])], box = el("div", "unit");
      box.dataset.unit = String(us[0]);
      box.appendChild(el("div", "label", "unit " + us[0] + ": activation x gradient " +
        (us[1] >= 0 ? "+" : "") + us[1].toFixed(3) + "; left its activation-maximization " +
        "image, then its top test images (labels " + u.exl.map(function (l) { return C[l]; })
        .join(", ") + ")"));
      box.appendChild(img(u.actmax, "activation maximization of unit " + us[0]));
      u.ex.forEach(function (r, j) {
        box.appendChild(img(r, "test image " + u.exi[j] + " (" + C[u.exl[j]] + ")"));
      });
      return box;
    }));
    fill("nn", inp.nn.map(function (n) {
      return cell(n[0], C[n[1]] + " (distance " + n[2].toFixed(2) + ")");
    }));
    if (D.fields) {
      document.getElementById("fields-sec").hidden = false;
      var fs = [cell(D.fields[inp.pred], "predicted " + C[inp.pred])];
      if (inp.label !== inp.pred) fs.push(cell(D.fields[inp.label], "true " + C[inp.label]));
      fill("fields", fs);
    }
    if (history.replaceState) history.replaceState(null, "", "#" + cur);
  }
  document.getElementById("prev").addEventListener("click", function () { show(cur - 1); });
  document.getElementById("next").addEventListener("click", function () { show(cur + 1); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") { show(cur + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { show(cur - 1); e.preventDefault(); }
  });
  var start = parseInt((location.hash || "#0").slice(1), 10);
  show(isNaN(start) ? 0 : start);
})();
</script>
</body>
</html>
"""
