// The channel page's settings form (api/templates/_settings_form.html): typed values out of typed
// inputs, only what changed is sent, and each refused value is marked at its field
// (aria-invalid + the message under it) from the API's 422, not only in a toast.
// Every input kind is handled by its kind (data-kind), never by a setting's name.
(() => {
  "use strict";
  const form = document.getElementById("settings-form");
  if (!form || !form.querySelector("#save-settings")) return;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const fields = $$(".field[data-setting]", form);

  function toast(message, bad = false) {
    const t = $("#toast");
    if (!t) return;
    t.textContent = message;
    t.className = "toast" + (bad ? " bad" : "");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 3500);
  }

  // ---------------------------------------------------------------- tags (a list of words)
  function addChip(box, word) {
    const w = word.trim();
    if (!w) return;
    const chip = $(".chip-template", box).content.firstElementChild.cloneNode(true);
    $("span", chip).textContent = w;
    $("button", chip).setAttribute("aria-label", `remove ${w}`);
    $(".chips", box).append(chip);
  }
  $$(".tags", form).forEach((box) => {
    const input = $(".tag-input", box);
    input.addEventListener("keydown", (e) => {
      if ((e.key === "Enter" || e.key === ",") && input.value.trim()) {
        e.preventDefault();
        input.value.split(",").forEach((w) => addChip(box, w));
        input.value = "";
      } else if (e.key === "Enter") {
        e.preventDefault(); // Enter in an empty tag box adds nothing and does not submit
      } else if (e.key === "Backspace" && !input.value) {
        $(".chips", box).lastElementChild?.remove();
      }
    });
    box.addEventListener("click", (e) => {
      const remove = e.target.closest(".remove-chip");
      if (remove) { remove.closest(".chip").remove(); input.focus(); }
    });
  });

  // ---------------------------------------------------------------- publishing slots
  $$(".slot-picker", form).forEach((picker) => {
    const list = $(".slots", picker);
    const empty = $(".slots-empty", picker);
    const sync = () => { empty.hidden = list.children.length > 0; };
    $(".add-slot", picker).addEventListener("click", () => {
      const row = $(".slot-template", picker).content.firstElementChild.cloneNode(true);
      list.append(row);
      sync();
      $(".slot-time", row).focus();
    });
    picker.addEventListener("click", (e) => {
      const remove = e.target.closest(".remove-slot");
      if (remove) { remove.closest(".slot-row").remove(); sync(); }
    });
  });

  // ---------------------------------------------------------------- a review-policy style subset
  $$(".subset", form).forEach((group) => {
    const follow = $(".use-default", group);
    if (!follow) return;
    const sync = () => $$(".options input", group).forEach((b) => { b.disabled = follow.checked; });
    follow.addEventListener("change", sync);
    sync();
  });

  // ---------------------------------------------------------------- values
  // A field's value as the API takes it; {error} when the input itself cannot hold a value.
  function valueOf(field) {
    const kind = field.dataset.kind;
    const input = $(`#set-${CSS.escape(field.dataset.setting)}`, field);
    if (kind === "flag") return input.checked;
    if (kind === "choice" || kind === "text") return input.value.trim();
    if (kind === "number" || kind === "whole") {
      if (input.validity.badInput) return { error: "Type a number." };
      if (input.value.trim() === "") return JSON.parse(field.dataset.initial) === null ? null : "";
      return Number(input.value);
    }
    if (kind === "words") {
      const words = $$(".chip span", field).map((s) => s.textContent.trim()).filter(Boolean);
      input.value.split(",").map((w) => w.trim()).filter(Boolean).forEach((w) => words.push(w));
      return words;
    }
    if (kind === "slots") {
      const slots = [];
      for (const row of $$(".slot-row", field)) {
        const days = $$(".days input:checked", row).map((b) => b.value);
        const time = $(".slot-time", row).value;
        if (!days.length) return { error: "Pick at least one day for each slot, or remove the slot." };
        if (!time) return { error: "Give each slot a time (HH:MM)." };
        slots.push(`${days.join(",")} ${time}`);
      }
      return slots;
    }
    if (kind === "subset") {
      if ($(".use-default", field)?.checked) return null;
      return $$(".options input:checked", field).map((b) => b.value);
    }
    return input ? input.value : null;
  }

  // ---------------------------------------------------------------- marking fields
  function target(field) {
    return $(`#set-${CSS.escape(field.dataset.setting)}`, field);
  }
  function clearMarks() {
    fields.forEach((field) => {
      field.classList.remove("invalid");
      target(field)?.removeAttribute("aria-invalid");
      const msg = $(".field-error", field);
      msg.hidden = true;
      msg.textContent = "";
    });
    const general = $("#settings-error");
    general.hidden = true;
    general.textContent = "";
  }
  function mark(name, message) {
    const field = fields.find((f) => f.dataset.setting === name);
    if (!field) {
      const general = $("#settings-error");
      general.textContent = (general.textContent ? general.textContent + " " : "") + message;
      general.hidden = false;
      return null;
    }
    field.classList.add("invalid");
    target(field)?.setAttribute("aria-invalid", "true");
    const msg = $(".field-error", field);
    msg.textContent = message;
    msg.hidden = false;
    return field;
  }
  function focusFirst(marked) {
    const first = marked.find(Boolean);
    if (!first) return;
    first.scrollIntoView({ block: "center" });
    (target(first) || first).focus({ preventScroll: true });
  }
  // The API's sentence names the setting and the value ("channel setting privacy='x' is not
  // allowed; use ..."); next to its own field the label already says which one.
  function atField(message) {
    return message.replace(/^channel setting [a-z_]+=(.*) is not allowed; use /s, "$1 is not allowed: use ");
  }

  // ---------------------------------------------------------------- save
  const save = $("#save-settings");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMarks();
    const changes = {};
    const local = [];
    for (const field of fields) {
      const value = valueOf(field);
      if (value && typeof value === "object" && !Array.isArray(value) && value.error) {
        local.push(mark(field.dataset.setting, value.error));
        continue;
      }
      if (JSON.stringify(value) !== JSON.stringify(JSON.parse(field.dataset.initial))) changes[field.dataset.setting] = value;
    }
    if (local.length) { focusFirst(local); toast("Some settings need fixing: see the marked fields.", true); return; }
    if (!Object.keys(changes).length) { toast("Nothing changed"); return; }
    save.disabled = true;
    try {
      const res = await fetch(`/api/channels/${encodeURIComponent(form.dataset.channel)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json", "X-Tubeflow-Request": "1" },
        body: JSON.stringify(changes),
        credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
      if (!res.ok) {
        const problems = Array.isArray(data.detail) ? data.detail : [{ loc: [], msg: data.detail || `HTTP ${res.status}` }];
        const marked = problems.map((p) => {
          const loc = p.loc || [];
          const name = loc[0] === "body" ? loc[1] : undefined;
          return mark(typeof name === "string" ? name : "", name ? atField(String(p.msg)) : String(p.msg));
        });
        focusFirst(marked);
        const n = marked.filter(Boolean).length;
        toast(n ? `Not saved: ${n === 1 ? "one setting needs" : `${n} settings need`} fixing (marked).` : "Not saved: " + problems.map((p) => p.msg).join("; "), true);
        return;
      }
      toast("Settings saved");
      setTimeout(() => location.reload(), 400);
    } catch (e) {
      toast(`Not saved: ${e.message}`, true);
    } finally {
      save.disabled = false;
    }
  });
})();
