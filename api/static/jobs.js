// The video jobs page: each active job follows GET /jobs/{id}/events (SSE, cookie-authenticated).
// EventSource reconnects by itself with Last-Event-ID, so a dropped connection misses nothing.
"use strict";
(function () {
  const KINDS = ["queued", "started", "checkpoint", "resumed", "complete", "error"];

  function describe(m) {
    switch (m.event) {
      case "queued": return "queued for " + m.op;
      case "started": return "started on " + (m.worker || "a worker");
      case "checkpoint": return m.saved === "output" ? "output saved" : "inputs saved";
      case "resumed": return "resumed on " + (m.worker || "another worker") + " after: " + m.after_failure +
        " (" + m.reached_before_failure + " % had been encoded on " + (m.failed_worker || "?") + ")";
      case "complete": return "complete in " + (m.gpu_seconds || 0).toFixed(1) + " GPU s";
      case "error": return "failed: " + m.message;
      default: return m.event;
    }
  }

  function watch(row) {
    const id = row.dataset.job;
    const fill = row.querySelector(".progress div");
    const pct = row.querySelector(".pct");
    const status = row.querySelector(".status");
    const detail = row.querySelector(".detail");
    const log = row.querySelector(".events");
    const es = new EventSource("/jobs/" + encodeURIComponent(id) + "/events");
    const show = (p) => { fill.style.width = p + "%"; pct.textContent = p.toFixed(1) + " %"; };
    es.addEventListener("progress", (e) => {
      const m = JSON.parse(e.data);
      show(m.percent);
      status.textContent = "running";
      detail.textContent = (m.frames || 0) + " frames · " + (m.speed || 0) + "× · " + (m.worker || "");
      row.dataset.seen = (row.dataset.seen || "") + m.percent + " ";
    });
    for (const kind of KINDS) {
      es.addEventListener(kind, (e) => {
        const m = JSON.parse(e.data);
        const li = document.createElement("li");
        li.className = "ev-" + kind;
        li.textContent = describe(m);
        log.appendChild(li);
        if (kind === "started" || kind === "resumed") status.textContent = "running";
        if (kind === "complete") { show(100); status.textContent = "completed"; es.close(); }
        if (kind === "error") { status.textContent = "failed"; es.close(); }
      });
    }
  }

  document.querySelectorAll("tr[data-job]").forEach((row) => {
    if (row.dataset.status === "active") watch(row);
  });
})();
