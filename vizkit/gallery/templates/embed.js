// The embedding explorer: hover or tap a point of the map to see its image, label and prediction.
(function () {
  "use strict";
  var root = document.querySelector(".embed");
  if (!root) return;
  var d = JSON.parse(root.getAttribute("data-points"));
  var map = root.querySelector("canvas.map"), digit = root.querySelector("canvas.digit");
  var info = document.getElementById("embed-info");
  var ctx = map.getContext("2d"), dctx = digit.getContext("2d");
  var raw = d.images ? atob(d.images) : "", n = d.labels.length, S = map.width, pad = 14;
  var xs = d.coords.map(function (p) { return p[0]; }), ys = d.coords.map(function (p) { return p[1]; });
  var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
  var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
  function px(i) {
    return [pad + (xs[i] - x0) / ((x1 - x0) || 1) * (S - 2 * pad),
            S - pad - (ys[i] - y0) / ((y1 - y0) || 1) * (S - 2 * pad)];
  }
  function draw(sel) {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, S, S);
    for (var i = 0; i < n; i++) {
      var p = px(i);
      ctx.fillStyle = d.colors[d.labels[i] % d.colors.length];
      ctx.beginPath(); ctx.arc(p[0], p[1], i === sel ? 6 : 2.5, 0, 2 * Math.PI); ctx.fill();
      if (i === sel) { ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.stroke(); }
    }
  }
  function show(i) {
    var img = dctx.createImageData(d.w, d.h), off = i * d.w * d.h;
    for (var k = 0; k < d.w * d.h; k++) {
      var v = d.images ? raw.charCodeAt(off + k) : 255;
      img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = v; img.data[4 * k + 3] = 255;
    }
    dctx.putImageData(img, 0, 0);
    var lab = d.class_names[d.labels[i]], pred = d.class_names[d.predictions[i]];
    info.textContent = "point " + i + ": label " + lab + ", prediction " + pred +
      (d.labels[i] === d.predictions[i] ? " (right)" : " (wrong)");
    info.setAttribute("data-index", String(i));
    draw(i);
  }
  function nearest(ev) {
    var r = map.getBoundingClientRect(), sx = S / r.width;
    var mx = (ev.clientX - r.left) * sx, my = (ev.clientY - r.top) * sx, best = -1, bd = Infinity;
    for (var i = 0; i < n; i++) {
      var p = px(i), dd = (p[0] - mx) * (p[0] - mx) + (p[1] - my) * (p[1] - my);
      if (dd < bd) { bd = dd; best = i; }
    }
    if (best >= 0 && bd < 400) show(best);
  }
  map.addEventListener("mousemove", nearest);
  map.addEventListener("pointerdown", nearest);
  draw(-1);
})();
