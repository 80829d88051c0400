// The b-roll checkpoint: every picture of every part, swapped, removed, reordered or uploaded with
// buttons (so a phone and a keyboard can do all of it), saved to re-render the preview.
// The page keeps the layout in the DOM: a part's <ol class="bitems"> is what is on screen, in
// order; its <ul class="bcands"> the alternatives.  Edits go to the API as {"parts": {part: [keys]}}.
(() => {
  "use strict";
  const form = document.getElementById("broll-form");
  if (!form) return;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const pid = document.querySelector("[data-detail]")?.dataset.production;
  const parts = $$("fieldset.bpart", form);
  const keysOf = (fs) => $$(".bitems > .btile", fs).map((li) => li.dataset.key);
  const original = new Map(parts.map((fs) => [fs.dataset.part, keysOf(fs).join("\n")]));

  // Clips play muted while a mouse points at them or the keyboard focuses them; a tap (or Enter,
  // Space) starts and stops one.  The poster, a still from the clip's middle, shows otherwise.
  // Pointer events tell a mouse from a finger: a tap also sends mouse-compatible events and a
  // focus, which must not count as a second toggle.
  function wireClip(video) {
    const play = () => video.play().catch(() => {});
    const stop = () => { video.pause(); };
    const toggle = () => { if (video.paused) play(); else stop(); };
    video.addEventListener("pointerenter", (e) => { if (e.pointerType === "mouse") play(); });
    video.addEventListener("pointerleave", (e) => { if (e.pointerType === "mouse") stop(); });
    video.addEventListener("pointerup", (e) => { if (e.pointerType !== "mouse") toggle(); });
    video.addEventListener("focus", () => { if (video.matches(":focus-visible")) play(); });
    video.addEventListener("blur", stop);
    video.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
    });
    video.addEventListener("click", (e) => e.preventDefault());
  }
  $$(".btile video", form).forEach(wireClip);

  function changed() {
    const out = {};
    for (const fs of parts) {
      const keys = keysOf(fs);
      if (keys.join("\n") !== original.get(fs.dataset.part)) out[fs.dataset.part] = keys;
    }
    return out;
  }

  function seconds(x) { return `${x.toFixed(1)}`; }

  // The part's time shared equally by its pictures, as the server will share it.
  function refresh(fs) {
    const start = Number(fs.dataset.start);
    const end = Number(fs.dataset.end);
    const items = $$(".bitems > .btile", fs);
    const step = (end - start) / Math.max(items.length, 1);
    // A part as planned keeps the server's times (the planner's split, rounded by the server); an
    // edited one shows the equal split the server will make of it.
    const edited = keysOf(fs).join("\n") !== original.get(fs.dataset.part);
    items.forEach((li, j) => {
      const t = $("[data-time]", li);
      const a = start + j * step;
      const b = j === items.length - 1 ? end : start + (j + 1) * step;
      if (t) {
        if (!("planned" in t.dataset)) t.dataset.planned = t.textContent;
        t.textContent = !edited && t.dataset.planned ? t.dataset.planned : `${seconds(a)}–${seconds(b)} s`;
      }
      const button = (what) => $(`[data-act=${what}]`, li) || {};
      button("up").disabled = j === 0;
      button("down").disabled = j === items.length - 1;
      button("remove").disabled = items.length === 1;
      $("[data-act=up]", li)?.setAttribute("aria-label", `move picture ${j + 1} earlier`);
      $("[data-act=down]", li)?.setAttribute("aria-label", `move picture ${j + 1} later`);
    });
    $$(".bcands > .btile [data-time]", fs).forEach((t) => { t.textContent = ""; });
    const count = $("[data-count]", fs);
    if (count) count.textContent = String(items.length);
    const target = swapTarget(fs);
    $$(".bcands > .btile [data-act=use]", fs).forEach((b) => {
      b.textContent = target ? `Use for picture ${items.indexOf(target) + 1}` : "Add to the part";
    });
    const n = Object.keys(changed()).length;
    const save = $("#broll-save");
    if (save) save.disabled = n === 0;
    const undo = $("#broll-undo");
    if (undo) undo.hidden = n === 0;
    const state = $("#broll-state");
    if (state) state.textContent = n ? `unsaved changes in ${n} ${n === 1 ? "part" : "parts"}` : "";
  }

  function swapTarget(fs) {
    return $(".bitems > .btile.swapping", fs);
  }

  function endSwap(fs) {
    $$(".btile.swapping", fs).forEach((li) => li.classList.remove("swapping"));
    const box = $(".bswap", fs);
    if (box) box.hidden = true;
  }

  function act(fs, li, what) {
    const items = $(".bitems", fs);
    const cands = $(".bcands", fs);
    if (what === "up" && li.previousElementSibling) items.insertBefore(li, li.previousElementSibling);
    else if (what === "down" && li.nextElementSibling) items.insertBefore(li.nextElementSibling, li);
    else if (what === "remove" && items.children.length > 1) { endSwap(fs); cands.prepend(li); }
    else if (what === "swap") {
      const was = li.classList.contains("swapping");
      endSwap(fs);
      if (!was) {
        li.classList.add("swapping");
        const box = $(".bswap", fs);
        box.hidden = false;
        $("[data-swap-prompt]", box).textContent = `Choose a replacement for picture ${[...items.children].indexOf(li) + 1} from the alternatives below, or upload one.`;
        $(".bcands [data-act=use]", fs)?.focus();
      }
    } else if (what === "swap-cancel") endSwap(fs);
    else if (what === "use") put(fs, li);
    refresh(fs);
    if (what === "up" || what === "down") $(`[data-act=${what}]`, li)?.focus();
  }

  // An alternative (or an upload) goes on screen: in place of the picture being swapped, else last.
  function put(fs, li) {
    const target = swapTarget(fs);
    if (target) {
      target.replaceWith(li);
      $(".bcands", fs).prepend(target);
      endSwap(fs);
    } else {
      $(".bitems", fs).append(li);
    }
    $("[data-act=up]", li)?.focus();
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    event.preventDefault();
    const fs = button.closest("fieldset.bpart");
    act(fs, button.closest(".btile"), button.dataset.act);
  });

  function text(tag, cls, value) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = value;
    return el;
  }

  // The tile of an upload, built like the server's (api/templates/_macros.html broll_tile).
  function tile(m) {
    const li = document.createElement("li");
    li.className = "btile";
    li.dataset.key = m.key;
    li.dataset.kind = m.kind;
    li.dataset.source = m.source;
    const media = document.createElement("div");
    media.className = "bmedia";
    if (m.kind === "video") {
      const v = document.createElement("video");
      Object.assign(v, { muted: true, loop: true, playsInline: true, src: m.url, preload: m.poster_url ? "none" : "metadata" });
      v.tabIndex = 0;
      if (m.poster_url) v.poster = m.poster_url;
      media.append(v, text("span", "badge", "clip"));
      wireClip(v);
    } else {
      const img = document.createElement("img");
      img.src = m.url;
      img.alt = m.description;
      media.append(img);
    }
    const meta = document.createElement("div");
    meta.className = "bmeta small";
    const head = document.createElement("p");
    const time = text("strong", "btime", "");
    time.dataset.time = "";
    head.append(time, " ", text("span", "bsrc", m.source));
    meta.append(head, text("p", "bdesc", m.description), text("p", "bscore muted", m.reason || ""));
    const actions = document.createElement("div");
    actions.className = "bactions";
    for (const [a, label, cls] of [["up", "↑ Earlier", "on-screen"], ["down", "↓ Later", "on-screen"], ["swap", "Swap…", "on-screen"],
      ["remove", "Remove", "on-screen danger"], ["use", "Add to the part", "offered primary"]]) {
      const b = text("button", cls, label);
      b.type = "button";
      b.dataset.act = a;
      actions.append(b);
    }
    li.append(media, meta, actions);
    return li;
  }

  $$("input[data-upload]", form).forEach((input) => input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    const fs = input.closest("fieldset.bpart");
    const state = $("#broll-state");
    if (state) state.textContent = `uploading ${file.name}…`;
    input.disabled = true;
    try {
      const res = await fetch(`/api/broll-uploads/${encodeURIComponent(pid)}?filename=${encodeURIComponent(file.name)}`, {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream", "X-Tubeflow-Request": "1" },
        body: file,
        credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.detail || `HTTP ${res.status}`);
      const li = tile(data.item);
      $(".bcands", fs).prepend(li);
      put(fs, li);
      refresh(fs);
    } catch (e) {
      window.tubeflowToast?.(`Upload refused: ${e.message}`, true);
      if (state) state.textContent = `upload refused: ${e.message}`;
    } finally {
      input.value = "";
      input.disabled = false;
    }
  }));

  $("#broll-undo")?.addEventListener("click", () => {
    for (const fs of parts) {
      const want = original.get(fs.dataset.part).split("\n");
      const all = $$(".btile", fs);
      endSwap(fs);
      for (const key of want) {
        const li = all.find((x) => x.dataset.key === key);
        if (li) $(".bitems", fs).append(li);
      }
      for (const li of $$(".bitems > .btile", fs)) if (!want.includes(li.dataset.key)) $(".bcands", fs).prepend(li);
      refresh(fs);
    }
  });

  const save = $("#broll-save");
  save?.addEventListener("click", async () => {
    const edits = changed();
    if (!Object.keys(edits).length) return;
    save.disabled = true;
    window.tubeflowDeciding?.(true);
    try {
      const res = await fetch(`/api/productions/${encodeURIComponent(pid)}/revise`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Tubeflow-Request": "1" },
        body: JSON.stringify({ stage: "broll", edits: { parts: edits } }),
        credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${res.status}`);
      $("#broll-state").textContent = "saved; rendering the preview again…";
      // The checkpoint is closed while the preview renders; the page follows the production.
      window.tubeflowLeave?.();
      setTimeout(() => location.reload(), 300);
    } catch (e) {
      window.tubeflowDeciding?.(false);
      window.tubeflowToast?.(e.message, true);
      $("#broll-state").textContent = `not saved: ${e.message}`;
      save.disabled = false;
    }
  });

  parts.forEach(refresh);
  window.tubeflowBroll = {
    edits: () => { const p = changed(); return Object.keys(p).length ? { parts: p } : null; },
    dirty: () => Object.keys(changed()).length > 0,
  };
})();
