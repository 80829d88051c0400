// The final checkpoint's metadata form: title, description and tags as they will be published.
// Each field counts as YouTube does (title in characters, description in UTF-8 bytes, tags in
// characters with a comma between tags and quotes around a tag with a space) and says next to
// itself what YouTube would refuse, as the workflow's validator (tubeflow/youtube_limits.py) will.
// Only fields the reviewer changed are sent (app.js's finalEdits asks `edits()`); an untouched one
// stays derived from the approved script.  Approve is held back while a field is refused.
(() => {
  const form = document.getElementById("metadata-form");
  if (!form) return;
  const max = {
    title: Number(form.dataset.titleMax),
    description: Number(form.dataset.descriptionMax),
    tags: Number(form.dataset.tagsMax),
  };
  const field = (name) => form.elements[name];
  const chars = (s) => [...s].length; // code points, as Python's len()
  const bytes = (s) => new TextEncoder().encode(s).length;
  const tagList = (s) => s.split(",").map((t) => t.trim()).filter(Boolean);
  const tagsLength = (tags) => tags.reduce((n, t) => n + chars(t) + (t.includes(" ") ? 2 : 0), 0) + Math.max(0, tags.length - 1);
  const angles = (s) => s.includes("<") || s.includes(">");

  const checks = {
    title(value) {
      const t = value.trim();
      const n = chars(t);
      const problem = !t ? "The title may not be empty."
        : n > max.title ? `The title is ${n} characters; YouTube allows at most ${max.title}.`
        : angles(t) ? "The title may not contain < or > (YouTube refuses them)." : "";
      return { problem, count: `${n} / ${max.title} characters`, over: n > max.title };
    },
    description(value) {
      const n = bytes(value);
      const problem = n > max.description ? `The description is ${n} bytes (UTF-8); YouTube allows at most ${max.description}.`
        : angles(value) ? "The description may not contain < or > (YouTube refuses them)." : "";
      return { problem, count: `${n} / ${max.description} bytes`, over: n > max.description };
    },
    tags(value) {
      const tags = tagList(value);
      const n = tagsLength(tags);
      const bad = tags.find(angles);
      const problem = bad ? `The tag “${bad}” may not contain < or > (YouTube refuses them).`
        : n > max.tags ? `The tags add up to ${n} characters (commas between them, quotes around a tag with a space); YouTube allows ${max.tags}.` : "";
      return { problem, count: `${tags.length} ${tags.length === 1 ? "tag" : "tags"}, ${n} / ${max.tags} characters`, over: n > max.tags };
    },
  };

  function check(name) {
    const el = field(name);
    const { problem, count, over } = checks[name](el.value);
    const counter = form.querySelector(`[data-counter=${name}]`);
    counter.textContent = count;
    counter.classList.toggle("over", over);
    const error = form.querySelector(`[data-error=${name}]`);
    error.textContent = problem;
    error.hidden = !problem;
    el.setAttribute("aria-invalid", problem ? "true" : "false");
    return !problem;
  }

  // The confirmation names the title: it names the one that will be published.  (This file runs
  // before the page's buttons are parsed: they are looked up when needed.)
  const approveButton = () => document.getElementById("approve");
  let askedWith = null;
  let planSaid = null;
  let dialogSaid = null;
  const titleShown = field("title").defaultValue;
  function renameConfirm() {
    const approve = approveButton();
    if (!approve) return;
    if (askedWith === null) askedWith = approve.dataset.confirm || "";
    const now = field("title").value.trim() || titleShown;
    if (askedWith && titleShown) approve.dataset.confirm = askedWith.replace(titleShown, now);
    const asking = document.querySelector("#confirm-title");  // the publish dialog names it too
    if (asking && titleShown) {
      dialogSaid ??= asking.textContent;
      asking.textContent = dialogSaid.replace(titleShown, now);
    }
    const plan = document.querySelector("#publish-plan");
    if (plan && titleShown) {
      planSaid ??= plan.innerHTML;
      plan.innerHTML = planSaid.replace(escaped(titleShown), escaped(now));
    }
  }
  const escaped = (s) => { const d = document.createElement("div"); d.textContent = s; return d.innerHTML; };

  const names = Object.keys(checks);
  names.forEach((name) => field(name).addEventListener("input", () => { check(name); if (name === "title") renameConfirm(); }));
  // After app.js has put back a draft (it runs after this file, before DOMContentLoaded).
  const start = () => { names.forEach(check); renameConfirm(); };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // Held back before app.js's own handler (and its "publish now?" question) sees the click.
  document.addEventListener("click", (event) => {
    const approve = approveButton();
    if (!approve || !approve.contains(event.target)) return;
    const refused = names.filter((name) => !check(name));
    if (!refused.length) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    field(refused[0]).focus();
  }, true);

  window.tubeflowMetadata = {
    // The changed fields as the review's edits; false when one would be refused.
    edits() {
      if (!names.every(check)) return false;
      const out = {};
      const title = field("title");
      if (title.value.trim() !== title.defaultValue.trim()) out.title = title.value.trim();
      const description = field("description");
      if (description.value !== description.defaultValue) out.description = description.value;
      const tags = field("tags");
      if (JSON.stringify(tagList(tags.value)) !== JSON.stringify(tagList(tags.defaultValue))) out.tags = tagList(tags.value);
      return out;
    },
  };
})();
