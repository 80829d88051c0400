// Analytics charts as inline SVG, drawn here without a library (served locally; the CSP allows
// only our own scripts).  Data comes from the page's <script type="application/json" id="analytics-data">.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const W = 720, H = 240, PAD = { l: 48, r: 48, t: 16, b: 28 };

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    const t = el("text", Object.assign({ x: x, y: y, "font-size": 11, fill: "currentColor" }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function svg(host, label) {
    const s = el("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": label });
    host.appendChild(s);
    el("line", { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, stroke: "#999" }, s);
    el("line", { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, stroke: "#999" }, s);
    return s;
  }
  function points(xs, ys, xmax, ymax) {
    const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
    return xs.map(function (x, i) {
      const px = PAD.l + (xmax ? x / xmax : 0) * iw;
      const py = H - PAD.b - (ymax ? ys[i] / ymax : 0) * ih;
      return px.toFixed(1) + "," + py.toFixed(1);
    }).join(" ");
  }

  function daily(host, days) {
    if (!days.length) { host.textContent = "No days collected yet."; return; }
    const s = svg(host, "views and watch minutes per day");
    const xs = days.map(function (_, i) { return i; }), xmax = Math.max(1, days.length - 1);
    const views = days.map(function (d) { return d.views; });
    const mins = days.map(function (d) { return d.watch_minutes; });
    const vmax = Math.max(1, Math.max.apply(null, views)), mmax = Math.max(1, Math.max.apply(null, mins));
    el("polyline", { points: points(xs, views, xmax, vmax), fill: "none", stroke: "#2563eb", "stroke-width": 2,
                     class: "series-views", "data-count": days.length }, s);
    el("polyline", { points: points(xs, mins, xmax, mmax), fill: "none", stroke: "#d97706", "stroke-width": 2,
                     "stroke-dasharray": "5 3", class: "series-watch", "data-count": days.length }, s);
    text(s, 4, PAD.t + 8, String(vmax), { fill: "#2563eb" });
    text(s, W - PAD.r + 4, PAD.t + 8, mmax.toFixed(0) + " min", { fill: "#d97706" });
    text(s, PAD.l, H - 8, days[0].day);
    text(s, W - PAD.r, H - 8, days[days.length - 1].day, { "text-anchor": "end" });
    text(s, PAD.l + 8, PAD.t + 8, "views", { fill: "#2563eb" });
    text(s, PAD.l + 56, PAD.t + 8, "watch minutes", { fill: "#d97706" });
  }

  function retention(host, detail) {
    const pts = detail.retention || [];
    if (!pts.length) { host.textContent = "No retention curve yet."; return; }
    const s = svg(host, "audience retention");
    const ymax = Math.max(1, Math.max.apply(null, pts.map(function (p) { return p.watch_ratio; })));
    const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
    (detail.sections || []).forEach(function (sec, i) {
      const x0 = PAD.l + sec.start * iw, x1 = PAD.l + sec.end * iw;
      if (sec.sharp) {
        el("rect", { x: x0, y: PAD.t, width: Math.max(1, x1 - x0), height: ih, fill: "#dc2626", "fill-opacity": 0.12,
                     class: "sharp-drop", "data-section": sec.name }, s);
      }
      el("line", { x1: x0, y1: PAD.t, x2: x0, y2: H - PAD.b, stroke: "#6b7280", "stroke-dasharray": "3 3",
                   class: "section-mark", "data-section": sec.name }, s);
      text(s, x0 + 3, PAD.t + 10 + (i % 2) * 12, sec.name, { class: "section-label" });
    });
    el("polyline", {
      points: points(pts.map(function (p) { return p.ratio; }), pts.map(function (p) { return p.watch_ratio; }), 1, ymax),
      fill: "none", stroke: "#16a34a", "stroke-width": 2, id: "retention-line", "data-count": pts.length
    }, s);
    text(s, 4, PAD.t + 8, (100 * ymax).toFixed(0) + "%");
    text(s, 4, H - PAD.b, "0%");
    text(s, PAD.l, H - 8, "0:00");
    const dur = detail.video.duration_s || 0;
    text(s, W - PAD.r, H - 8, dur ? Math.floor(dur / 60) + ":" + String(Math.round(dur % 60)).padStart(2, "0") : "end",
         { "text-anchor": "end" });
  }

  const data = document.getElementById("analytics-data");
  if (!data) return;
  const parsed = JSON.parse(data.textContent || "{}");
  const d = document.getElementById("daily-chart");
  if (d) daily(d, parsed.daily || []);
  const r = document.getElementById("retention-chart");
  if (r && parsed.detail) retention(r, parsed.detail);
})();
