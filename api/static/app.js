// The dashboard's only script: live updates over SSE, review actions over the REST API.
// No build step on purpose: the server renders every page, this file only adds behaviour.
(() => {
  "use strict";
  const STAGES = JSON.parse(document.body.dataset.stages || "[]");
  const LAST_KEY = "tubeflow.lastEventId";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function toast(message, bad = false) {
    const t = $("#toast");
    t.textContent = message;
    t.className = "toast" + (bad ? " bad" : "");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 3500);
  }

  async function api(path, { method = "GET", body } = {}) {
    // The custom header is the CSRF guard the server asks of cookie-authenticated changes.
    const res = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-Tubeflow-Request": "1" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      let msg = data.detail;
      if (Array.isArray(msg)) msg = msg.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      if (res.status === 401) location.href = "/login?next=" + encodeURIComponent(location.pathname);
      throw new Error(msg || `HTTP ${res.status}`);
    }
    return data;
  }

  // ------------------------------------------------------------ live stage bars
  function renderBar(bar, stage, state) {
    const cur = Math.max(0, STAGES.indexOf(stage));
    bar.dataset.stage = stage;
    bar.dataset.state = state;
    $$(".seg", bar).forEach((seg) => {
      const i = STAGES.indexOf(seg.dataset.seg);
      seg.classList.remove("done", "cur", "running", "waiting", "needs_attention", "blocked", "failed", "cancelled", "completed");
      if (i < cur || state === "completed") seg.classList.add("done");
      else if (i === cur) seg.classList.add("cur", state);
    });
  }

  // A Short posted, waiting or failed on TikTok or Instagram: the production page's list and table
  // follow; other pages ignore it (it moves no stage).
  const POST_STATES = { platform_published: "published", platform_needs_attention: "needs attention",
    platform_blocked: "reconnect needed", platform_waiting: "waiting" };
  function applyPlatformEvent(ev) {
    const list = $(`[data-production="${CSS.escape(ev.production_id)}"] #platform-events`);
    if (!list) return;
    $(".none", list)?.remove();
    const li = document.createElement("li");
    li.className = `ev-${ev.kind}`;
    li.dataset.kind = ev.kind;
    const time = document.createElement("time");
    time.dateTime = ev.at || "";
    time.className = "muted";
    time.textContent = `${(ev.at || new Date().toISOString()).slice(0, 16).replace("T", " ")} UTC`;
    li.append(time, " ");
    const summary = String(ev.summary || "");
    if (ev.location && summary.endsWith(`: ${ev.location}`)) {
      const a = document.createElement("a");
      a.href = ev.location;
      a.rel = "noopener";
      a.textContent = ev.location;
      li.append(summary.slice(0, -ev.location.length), a);
    } else {
      li.append(summary);
    }
    list.append(li);
    const row = $(`#platform-posts tr[data-platform="${CSS.escape(String(ev.platform))}"][data-idx="${Number(ev.index)}"]`);
    const cell = row && $("[data-post-status]", row);
    if (cell && POST_STATES[ev.kind]) {
      cell.textContent = POST_STATES[ev.kind];
      cell.className = ev.kind === "platform_published" ? "ok" : (ev.kind === "platform_waiting" ? "" : "bad");
      const where = $("[data-post-where]", row);
      if (where) {
        where.textContent = "";
        if (ev.location) {
          const a = document.createElement("a");
          a.href = ev.location;
          a.rel = "noopener";
          a.textContent = ev.location;
          where.append(a);
        } else {
          where.textContent = ev.kind === "platform_published" ? "private, no public link" : String(ev.reason || "");
        }
      }
    }
  }

  function applyEvent(ev) {
    if (!ev.production_id) return;
    if (String(ev.kind || "").startsWith("platform_")) { applyPlatformEvent(ev); return; }
    const roots = $$(`[data-production="${CSS.escape(ev.production_id)}"]`);
    const hint = $("#new-hint");
    if (!roots.length && hint && ev.id) hint.hidden = false; // a production this page does not list yet
    roots.forEach((root) => {
      if (ev.stage) $$("[data-stagebar]", root).forEach((bar) => renderBar(bar, ev.stage, ev.state || bar.dataset.state));
      if (typeof ev.progress === "number") {
        $$("[data-progress]", root).forEach((p) => {
          p.firstElementChild.style.width = `${ev.progress}%`;
          p.lastElementChild.textContent = `${Math.round(ev.progress)}%`;
        });
      }
      if (typeof ev.progress === "number") $$("[data-progress-label]", root).forEach((l) => { l.textContent = `${Math.round(ev.progress)}%`; });
      if (ev.stage) {
        $$("[data-since]", root).forEach((l) => {
          if (l.dataset.sinceStage !== ev.stage) { l.dataset.since = ev.at || new Date().toISOString(); l.dataset.sinceStage = ev.stage; }
        });
        const step = STAGES.indexOf(ev.stage);
        if (step > 0) $$("[data-step-label]", root).forEach((l) => { l.textContent = `(step ${step} of ${STAGES.length - 1})`; });
      }
      if (ev.stage) $$("[data-stage-label]", root).forEach((l) => { l.textContent = ev.stage.replace(/_/g, " "); });
      if (ev.state) $$("[data-state-label]", root).forEach((l) => { l.textContent = ev.state; l.className = `state ${ev.state}`; });
      if (ev.detail !== undefined) $$("[data-detail-label]", root).forEach((l) => { l.textContent = ev.detail || ""; });
      if (ev.detail !== undefined) showStep(root, ev.detail || "");
      if (root.hasAttribute("data-detail")) {
        // A checkpoint opening or closing, or the end, changes what the page shows: re-render it,
        // unless the reviewer has typed something not yet sent: then say so and keep the text.
        const cp = ev.checkpoint || "";
        const held = ["needs_attention", "blocked"];
        const ended = ["completed", "failed", "cancelled", ...held].includes(ev.state) || held.includes(root.dataset.state);
        if (ev.state && (cp !== root.dataset.checkpoint || (ended && ev.state !== root.dataset.state))) {
          const was = root.dataset.checkpoint;
          root.dataset.checkpoint = cp;
          root.dataset.state = ev.state;
          if (drafts.dirty() && !leaving && !deciding) staleBanner(was);
          else setTimeout(() => { leaving = true; location.reload(); }, 300);
        }
      }
    });
  }

  // A running stage's own count arrives in its detail ("7 of 12 pictures found, about 20 s left"):
  // the bar under the status line follows it; a detail without a count hides it.
  function showStep(root, detail) {
    const box = $("#step", root);
    if (!box) return;
    const m = /^(\d+) of (\d+) ([^,]+)/.exec(detail);
    box.hidden = !m;
    if (!m) return;
    const bar = $("#step-bar", box);
    bar.max = Number(m[2]);
    bar.value = Number(m[1]);
    $("#step-text", box).textContent = `${m[1]} of ${m[2]} ${m[3]}`;
  }

  // "for 35 s": how long the current stage has run, ticking while the page is open.
  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`;
  }
  function tick() {
    $$("[data-since]").forEach((l) => {
      if (!l.dataset.sinceStage) l.dataset.sinceStage = $("[data-stagebar]")?.dataset.stage || "";
      if (!Number.isNaN(Date.parse(l.dataset.since))) l.textContent = (l.closest("#working") ? "" : "for ") + ago(l.dataset.since);
    });
  }
  tick();
  setInterval(tick, 1000);

  function remember(id) {
    const prev = Number(localStorage.getItem(LAST_KEY) || 0);
    if (id > prev) localStorage.setItem(LAST_KEY, String(id));
  }

  async function showAway(since) {
    const missed = await api(`/api/events/missed?since=${since}`);
    if (missed.finished.length) {
      const list = $("#away-list");
      list.innerHTML = "";
      for (const e of missed.finished) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `/productions/${encodeURIComponent(e.production_id)}`;
        a.textContent = e.title || e.topic || e.production_id;
        li.append(a, ` ${e.state === "completed" ? "completed" : e.state}${e.error ? ": " + e.error : ""}`);
        list.append(li);
      }
      $("#away").hidden = false;
    }
    return missed.last_id;
  }

  function connect(since) {
    const live = $("#live");
    const es = new EventSource(`/api/events?since=${since}`);
    es.onopen = () => { live.className = "live on"; };
    es.onerror = () => { live.className = "live off"; }; // EventSource retries with Last-Event-ID itself
    es.onmessage = (msg) => {
      const ev = JSON.parse(msg.data);
      remember(Number(msg.lastEventId || ev.id));
      applyEvent(ev);
    };
    window.tubeflowEvents = es;
  }

  async function startLive() {
    const latest = Number(document.body.dataset.latestEvent || 0);
    const stored = localStorage.getItem(LAST_KEY);
    let since = latest;
    if (stored !== null && Number(stored) < latest) {
      try { since = await showAway(Number(stored)); } catch (e) { since = latest; }
    }
    remember(since);
    connect(since);
  }
  $("#away-close")?.addEventListener("click", () => { $("#away").hidden = true; });

  // ------------------------------------------------------------ drafts
  // What a reviewer types is kept in localStorage (per production, checkpoint and attempt, and
  // field) as they type, so neither a live update, a reload nor a closed tab loses it; a draft is
  // dropped once its decision is sent.  `leaving` is set when this page itself navigates away.
  let leaving = false;
  let deciding = false; // this tab's own approve/reject is in flight: its live update is no news
  const reviewCard = $("#review");
  const drafts = (() => {
    const fields = reviewCard && !reviewCard.dataset.readonly
      ? $$("textarea[name], input[name]:not([type=radio]):not([type=checkbox])", reviewCard) : [];
    const prefix = reviewCard
      ? `tubeflow.draft:${reviewCard.dataset.of}:${reviewCard.dataset.checkpoint}#${reviewCard.dataset.attempt}:` : "";
    const key = (el) => prefix + (el.form?.id || "") + "." + el.name;
    let restored = 0;
    for (const el of fields) {
      const saved = localStorage.getItem(key(el));
      if (saved !== null && saved !== el.value) {
        el.value = saved;
        restored += 1;
        if (el.closest("#reject-form")) $("#reject-form").hidden = false;
      }
      el.addEventListener("input", () => {
        if (el.value === el.defaultValue) localStorage.removeItem(key(el));
        else localStorage.setItem(key(el), el.value);
      });
    }
    if (restored) {
      const note = $("#draft-note");
      if (note) { note.hidden = false; note.textContent = `Restored ${restored} unsaved ${restored === 1 ? "field" : "fields"} from your last visit.`; }
    }
    return {
      dirty: () => fields.some((el) => el.value !== el.defaultValue) || Boolean(window.tubeflowBroll?.dirty()),
      clear: () => fields.forEach((el) => localStorage.removeItem(key(el))),
    };
  })();

  // What the b-roll checkpoint's script (api/static/broll.js) shares with this one.
  window.tubeflowToast = toast;
  window.tubeflowLeave = () => { leaving = true; };
  window.tubeflowDeciding = (on) => { deciding = on; };

  window.addEventListener("beforeunload", (event) => {
    if (leaving || !drafts.dirty()) return;
    event.preventDefault();
    event.returnValue = ""; // the browser asks "leave the page?"; the draft stays saved either way
  });

  async function staleBanner(checkpoint) {
    const banner = $("#stale");
    if (!banner) return;
    let what = "the production moved on — reload to see it";
    try {
      const view = await api(`/api/productions/${encodeURIComponent(pid)}`);
      const last = (view.review_history || []).filter((r) => r.stage === checkpoint).pop();
      if (checkpoint && last) {
        what = `this ${checkpoint} checkpoint was ${last.approved ? "approved" : "rejected"}${last.reviewer ? " by " + last.reviewer : ""} in another tab; the production moved on — reload to see it`;
      }
    } catch (e) { /* the generic sentence still holds */ }
    $("#stale-text").textContent = `${what[0].toUpperCase()}${what.slice(1)}. Your unsaved text is kept here and in this browser.`;
    banner.hidden = false;
    $$("#approve, #reject").forEach((b) => { b.disabled = true; b.title = "this checkpoint is no longer open"; });
  }
  // Reloading from the banner is a choice made knowingly, and the draft stays stored: no second question.
  $("#stale-reload")?.addEventListener("click", () => { leaving = true; location.reload(); });

  // ------------------------------------------------------------ audio transcript
  // The word being spoken is highlighted; a word seeks there; a part's ▶ plays that part alone.
  const narration = $("#narration");
  const spoken = $$("#transcript .word");
  if (narration && spoken.length) {
    let stopAt = null;
    let lit = null;
    const follow = () => {
      const t = narration.currentTime;
      const now = spoken.find((w) => t >= Number(w.dataset.start) && t < Number(w.dataset.end)) || null;
      if (now !== lit) { lit?.classList.remove("now"); now?.classList.add("now"); lit = now; }
      if (stopAt !== null && t >= stopAt) { narration.pause(); stopAt = null; }
    };
    narration.addEventListener("timeupdate", follow);
    // While a part plays alone, look every frame (timeupdate comes only every ~250 ms), so it
    // stops at the part's end rather than a word into the next part.
    const watch = () => { follow(); if (stopAt !== null && !narration.paused) requestAnimationFrame(watch); };
    narration.addEventListener("play", () => { if (stopAt !== null) requestAnimationFrame(watch); });
    const seek = (at, play) => { narration.currentTime = at; if (play) narration.play().catch(() => {}); };
    spoken.forEach((w) => w.addEventListener("click", () => { stopAt = null; seek(Number(w.dataset.start), !narration.paused); }));
    $$("#transcript .tplay").forEach((b) => b.addEventListener("click", () => {
      stopAt = Number(b.dataset.end);
      seek(Number(b.dataset.start), true);
    }));
  }

  // ------------------------------------------------------------ actions
  function busy(button, work) {
    return async (event) => {
      event.preventDefault();
      button.disabled = true;
      try { await work(); } catch (e) { toast(e.message, true); } finally { button.disabled = false; deciding = false; }
    };
  }

  const detail = $("[data-detail]");
  const pid = detail?.dataset.production;

  function scriptEdits() {
    const original = JSON.parse($("#script-data").textContent);
    const form = $("#script-form").elements;
    const edited = structuredClone(original);
    edited.title = form.title.value.trim();
    edited.hook = form.hook.value.trim();
    edited.description = form.description.value;
    edited.tags = form.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
    edited.sections.forEach((s, i) => {
      s.heading = form[`heading-${i}`].value.trim();
      s.narration = form[`narration-${i}`].value.trim();
    });
    return JSON.stringify(edited) === JSON.stringify(original) ? null : { script: edited };
  }

  // The b-roll layout as changed and not yet saved (api/static/broll.js); it goes with the approval.
  function brollEdits() {
    return window.tubeflowBroll ? window.tubeflowBroll.edits() : null;
  }

  function finalEdits() {
    const picked = $("#thumb-form input:checked");
    const edits = picked ? { thumbnail: Number(picked.value) } : {};
    // Title, description and tags the reviewer changed (api/static/metadata.js checks them at the field).
    const metadata = window.tubeflowMetadata ? window.tubeflowMetadata.edits() : {};
    if (metadata === false) throw new Error("Fix the marked field first: YouTube would refuse it.");
    Object.assign(edits, metadata);
    // The Shorts' other platforms: the ones unticked, and captions the reviewer changed.
    const off = [], captions = {}, covers = {};
    document.querySelectorAll("#platforms-form .platform-choice").forEach((box) => {
      const name = box.dataset.platform;
      if (!box.querySelector("input[type=checkbox]").checked) off.push(name);
      const text = box.querySelector("textarea");
      if (text.value.trim() && text.value !== text.defaultValue) captions[name] = text.value;
      const cover = box.querySelector("input.cover-at");
      if (cover && cover.value !== cover.defaultValue) {
        const at = Number(cover.value);
        if (cover.value === "" || !Number.isFinite(at) || at < 0 || at > 180) {
          cover.focus();
          throw new Error("The cover time must be seconds into the Short, from 0 to 180.");
        }
        covers[name] = at;
      }
    });
    if (off.length) edits.platforms_off = off;
    if (Object.keys(captions).length) edits.platform_captions = captions;
    if (Object.keys(covers).length) edits.platform_covers = covers;
    return Object.keys(edits).length ? edits : null;
  }

  // The audio checkpoint's "word=RESPELLING" lines as the API's pronounce map: only the lines the
  // reviewer added or changed (the field starts as the channel's lexicon); null when none, false
  // (after saying why) when a line cannot be read.
  function pronunciations() {
    const field = $("#pronounce");
    const split = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
    const stored = new Set(split(field?.defaultValue || ""));
    const lines = split(field?.value || "").filter((l) => !stored.has(l));
    if (!lines.length) return null;
    const words = {};
    for (const line of lines) {
      const i = line.indexOf("=");
      if (i < 1) { toast(`Pronunciation "${line}": write word=RESPELLING`, true); return false; }
      words[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    return words;
  }

  // ------------------------------------------------------------ the publish confirmation
  // A modal <dialog>: the page behind it is inert, Tab and Shift+Tab stay among its buttons,
  // Escape or "Go back" says no, and focus returns to the button that opened it.
  function ask(dialog, opener) {
    return new Promise((resolve) => {
      const buttons = $$("button", dialog);
      const done = (yes) => {
        dialog.removeEventListener("keydown", onKey);
        dialog.removeEventListener("cancel", onCancel);
        buttons.forEach((b) => b.removeEventListener("click", onClick));
        if (dialog.open) dialog.close();
        resolve(yes);
        setTimeout(() => opener?.focus(), 0); // after busy() has enabled it again
      };
      const onClick = (e) => done(e.currentTarget.value === "yes");
      const onCancel = (e) => { e.preventDefault(); done(false); };
      const onKey = (e) => {
        if (e.key !== "Tab") return;
        const i = buttons.indexOf(document.activeElement);
        const next = e.shiftKey ? (i <= 0 ? buttons.length - 1 : i - 1) : (i + 1) % buttons.length;
        e.preventDefault();
        buttons[next].focus();
      };
      dialog.addEventListener("keydown", onKey);
      dialog.addEventListener("cancel", onCancel);
      buttons.forEach((b) => b.addEventListener("click", onClick));
      dialog.showModal();
      $("#confirm-no", dialog)?.focus(); // the safe choice first: Enter right away does not publish
    });
  }

  const approve = $("#approve");
  approve?.addEventListener("click", busy(approve, async () => {
    // The final approve publishes: it asks first, saying what goes where and when.
    const dialog = $("#confirm-dialog");
    if (approve.dataset.confirm && dialog && !(await ask(dialog, approve))) return;
    deciding = true;
    const kind = $("#review").dataset.kind;
    let edits = kind === "script" ? scriptEdits() : kind === "broll" ? brollEdits() : kind === "final" ? finalEdits() : null;
    if (kind === "audio") {
      const words = pronunciations();
      if (words === false) return;
      edits = words ? { pronounce: words } : null;
    }
    const body = { stage: approve.dataset.stage };
    if (edits) body.edits = edits;
    const st = await api(`/api/productions/${pid}/approve`, { method: "POST", body });
    drafts.clear();
    leaving = true;
    toast(`Approved; now ${st.stage.replace(/_/g, " ")}`);
    setTimeout(() => location.reload(), 400);
  }));

  const rejectOpen = $("#reject-open");
  rejectOpen?.addEventListener("click", () => {
    $("#reject-form").hidden = false;
    rejectOpen.setAttribute("aria-expanded", "true");
    $("#feedback").focus();
  });
  // Escape closes the rejection form (its text stays in the draft) and gives focus back.
  $("#reject-form")?.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    $("#reject-form").hidden = true;
    rejectOpen?.setAttribute("aria-expanded", "false");
    rejectOpen?.focus();
  });

  // Save and re-voice: the changed pronunciations go to the channel's lexicon with a rejection, so
  // the narration is voiced again with them (the workflow saves them before the redo).
  const revoice = $("#revoice");
  revoice?.addEventListener("click", busy(revoice, async () => {
    const words = pronunciations();
    if (words === false) return;
    if (!words) { toast("Change or add a pronunciation first: the field holds the channel's lexicon.", true); return; }
    deciding = true;
    const said = Object.entries(words).map(([w, r]) => `${w}=${r}`).join(", ");
    const body = { stage: revoice.dataset.stage, feedback: `Re-voice with the updated pronunciations: ${said}`, pronounce: words };
    const st = await api(`/api/productions/${pid}/reject`, { method: "POST", body });
    drafts.clear();
    leaving = true;
    toast(`Pronunciations saved; re-voicing (${st.stage.replace(/_/g, " ")})`);
    setTimeout(() => location.reload(), 400);
  }));
  const reject = $("#reject");
  reject?.addEventListener("click", busy(reject, async () => {
    deciding = true;
    const feedback = $("#feedback").value.trim();
    if (!feedback) { toast("Say what should change: the feedback goes to the next attempt.", true); return; }
    const body = { stage: reject.dataset.stage, feedback };
    const to = $("#redo-to");
    if (to && to.value !== "thumbnail") body.to = to.value;
    const words = pronunciations();
    if (words === false) return;
    if (words) body.pronounce = words;
    const st = await api(`/api/productions/${pid}/reject`, { method: "POST", body });
    drafts.clear();
    leaving = true;
    toast(`Rejected; redoing (${st.stage.replace(/_/g, " ")})`);
    setTimeout(() => location.reload(), 400);
  }));

  const cancel = $("#cancel");
  cancel?.addEventListener("click", busy(cancel, async () => {
    if (!confirm("Cancel this production?")) return;
    await api(`/api/productions/${pid}/cancel`, { method: "POST", body: { reason: "cancelled from the dashboard" } });
    toast("Cancelling…");
  }));

  const retry = $("#retry");
  retry?.addEventListener("click", busy(retry, async () => {
    const st = await api(`/api/productions/${pid}/retry`, { method: "POST", body: { note: "retried from the dashboard" } });
    toast(`Retrying ${st.stage.replace(/_/g, " ")}`);
    setTimeout(() => location.reload(), 400);
  }));

  const start = $("#start-form");
  start?.addEventListener("submit", busy($("button", start), async () => {
    const res = await api("/api/productions", { method: "POST", body: { channel: start.elements["channel"].value, topic: start.elements["topic"].value } });
    location.href = `/productions/${res.id}`;
  }));

  const chan = $("#channel-form");
  chan?.addEventListener("submit", busy($("button", chan), async () => {
    await api("/api/channels", { method: "POST", body: { name: chan.elements["name"].value, niche: chan.elements["niche"].value } });
    location.reload();
  }));

  // ------------------------------------------------------------ channel page
  // The settings form: /static/settings_form.js.
  $$(".pick-caption-style").forEach((b) => b.addEventListener("click", busy(b, async () => {
    await api(`/api/channels/${encodeURIComponent(b.dataset.channel)}`, { method: "PATCH", body: { caption_style: b.dataset.kind } });
    toast(`Captions: ${b.dataset.kind}`);
    setTimeout(() => location.reload(), 400);
  })));
  const topicForm = $("#topic-form");
  topicForm?.addEventListener("submit", busy($("button", topicForm), async () => {
    await api(`/api/channels/${encodeURIComponent(topicForm.dataset.channel)}/topics`, { method: "POST", body: { topic: topicForm.elements["topic"].value } });
    location.reload();
  }));
  $$(".cadence-action").forEach((b) => b.addEventListener("click", busy(b, async () => {
    await api(`/api/channels/${encodeURIComponent(b.dataset.channel)}/cadence/${b.dataset.action}`, { method: "POST" });
    location.reload();
  })));

  const disconnect = $("#disconnect-youtube");
  if (disconnect) disconnect.addEventListener("click", busy(disconnect, async () => {
    const question = `Disconnect ${disconnect.dataset.channel} from ${disconnect.dataset.title}? Its stored credentials are deleted; later videos go to the outbox until it is connected again.`;
    if (!confirm(question)) return;
    await api(`/api/channels/${encodeURIComponent(disconnect.dataset.channel)}/account`, { method: "DELETE" });
    location.reload();
  }));

  startLive();
})();
