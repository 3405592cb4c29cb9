// Flows: the list, the draft's editor (steps, prerequisites, targets, URLs,
// required/basic, help links) with the API's validation errors shown at the
// field, publishing, the versions side by side, and a preview in the demo.
import { api, can, clearErrors, session, shell, showError, status } from "./api.js";

const KINDS = ["tour", "checklist", "task", "article", "video", "quiz", "form"];
let flow = null;

const me = await session();
if (me) {
  shell();
  const form = document.getElementById("new");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      try {
        const f = await api("POST", "/v1/flows", { key: form.key.value.trim(), name: form.name.value.trim(), steps: [] });
        form.reset();
        await list();
        await open(f.key);
      } catch (err) {
        showError(form, err, "new-err");
      }
    });
  }
  document.getElementById("draft").addEventListener("submit", (ev) => {
    ev.preventDefault();
    save().catch(() => {});
  });
  document.getElementById("add-step")?.addEventListener("click", () => {
    flow.steps.push({ key: "", title: "", kind: "task", content_item_id: "", required: true, basic: false, prerequisites: [], estimated_seconds: 60, help_content_ids: [] });
    renderSteps();
  });
  document.getElementById("publish")?.addEventListener("click", publish);
  // the data loads once every control has its handler
  const content = await api("GET", "/v1/content-items?limit=200").catch(() => ({ items: [] }));
  document.getElementById("content-items").replaceChildren(...content.items.map((c) => new Option(`${c.title} (${c.kind}, ${c.status})`, c.id)));
  await list();
  const key = new URLSearchParams(location.search).get("key");
  if (key) await open(key);
}

async function list() {
  const { items } = await api("GET", "/v1/flows");
  const ul = document.getElementById("flows");
  ul.replaceChildren(...items.map((f) => {
    const li = document.createElement("li");
    const a = Object.assign(document.createElement("a"), { href: "/admin/flows?key=" + encodeURIComponent(f.key), textContent: f.name || f.key });
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      open(f.key);
    });
    li.append(a, ` — ${f.published_version ? "published v" + f.published_version : "draft only"}`);
    return li;
  }));
  if (!items.length) ul.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No flow yet: create one, add its steps, publish it." }));
}

async function open(key) {
  flow = await api("GET", "/v1/flows/" + encodeURIComponent(key));
  history.replaceState(null, "", "/admin/flows?key=" + encodeURIComponent(key));
  document.getElementById("editor").hidden = false;
  document.getElementById("editor-h").textContent = `Draft of ${flow.key}`;
  document.getElementById("editor-meta").textContent = `Draft revision ${flow.revision}; ${flow.published_version ? "published version " + flow.published_version : "never published"}.`;
  document.getElementById("f-name").value = flow.name;
  renderSteps();
  await versions();
}

function field(label, name, value, i, type = "text") {
  const id = `s${i}-${name}`;
  const wrap = document.createElement("div");
  const input = document.createElement("input");
  Object.assign(input, { id, type, name });
  input.dataset.field = `steps[${i}].${name}`;
  input.setAttribute("aria-describedby", id + "-err");
  if (type === "checkbox") input.checked = !!value;
  else input.value = value == null ? "" : String(value);
  if (name === "content_item_id") input.setAttribute("list", "content-items");
  const l = Object.assign(document.createElement("label"), { htmlFor: id, textContent: label });
  const err = Object.assign(document.createElement("p"), { id: id + "-err", className: "error" });
  if (type === "checkbox") {
    l.prepend(input);
    wrap.append(l, err);
  } else wrap.append(l, input, err);
  return wrap;
}

function renderSteps() {
  const box = document.getElementById("steps");
  const editable = can("write");
  box.replaceChildren(...flow.steps.map((s, i) => {
    const fs = document.createElement("fieldset");
    fs.className = "step";
    fs.append(Object.assign(document.createElement("legend"), { textContent: `Step ${i + 1}${s.key ? ": " + s.key : ""}` }));
    const grid = document.createElement("div");
    grid.className = "fields";
    grid.append(field("Key", "key", s.key, i), field("Title", "title", s.title, i), field("Content item", "content_item_id", s.content_item_id, i),
      field("Estimated seconds", "estimated_seconds", s.estimated_seconds, i, "number"), field("Target (CSS selector)", "target", s.target, i),
      field("Page URL pattern", "url", s.url, i), field("Prerequisites (step keys, comma-separated)", "prerequisites", (s.prerequisites || []).join(", "), i),
      field("Help content ids (comma-separated)", "help_content_ids", (s.help_content_ids || []).join(", "), i));
    const kind = document.createElement("select");
    Object.assign(kind, { id: `s${i}-kind`, name: "kind" });
    kind.dataset.field = `steps[${i}].kind`;
    kind.replaceChildren(...KINDS.map((k) => new Option(k, k, false, k === s.kind)));
    const kw = document.createElement("div");
    kw.append(Object.assign(document.createElement("label"), { htmlFor: kind.id, textContent: "Kind" }), kind, Object.assign(document.createElement("p"), { className: "error" }));
    grid.append(kw, field("Required", "required", s.required, i, "checkbox"), field("Basic (shown to novices)", "basic", s.basic, i, "checkbox"));
    fs.append(grid);
    const preview = Object.assign(document.createElement("a"), { href: previewURL(s), target: "_blank", rel: "noopener",
      textContent: `Preview ${s.key || "step " + (i + 1)} in the demo` });
    preview.addEventListener("click", () => {
      read(); // the step as the form has it now, saved or not
      preview.href = previewURL(flow.steps[i]);
    });
    fs.append(preview);
    if (editable) {
      const rm = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: `Remove ${s.key || "step " + (i + 1)}` });
      rm.addEventListener("click", () => {
        read();
        flow.steps.splice(i, 1);
        renderSteps();
      });
      fs.append(" ", rm);
    } else for (const el of fs.querySelectorAll("input, select")) el.disabled = true;
    return fs;
  }));
  if (!editable) document.getElementById("f-name").disabled = true;
}

// previewURL opens a step in the demo: on its page when its URL is one of the
// demo's, with the step in the address for the demo to draw (as text).
function previewURL(step) {
  const page = step.url && step.url.startsWith("/demo/") && !step.url.includes("*") ? step.url : "/demo/";
  const shown = { flow: flow.key, key: step.key, title: step.title, kind: step.kind, target: step.target || "" };
  return page + "#so-preview=" + encodeURIComponent(JSON.stringify(shown));
}

// read copies the form into the draft, keeping the fields the form does not show.
function read() {
  const list = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);
  flow.name = document.getElementById("f-name").value;
  flow.steps.forEach((s, i) => {
    const v = (n) => document.getElementById(`s${i}-${n}`);
    Object.assign(s, { key: v("key").value.trim(), title: v("title").value, content_item_id: v("content_item_id").value.trim(),
      estimated_seconds: Number(v("estimated_seconds").value) || 0, kind: v("kind").value, required: v("required").checked, basic: v("basic").checked,
      prerequisites: list(v("prerequisites").value), help_content_ids: list(v("help_content_ids").value) });
    const target = v("target").value.trim(), url = v("url").value.trim();
    if (target) s.target = target; else delete s.target;
    if (url) s.url = url; else delete s.url;
  });
}

async function save() {
  const form = document.getElementById("draft");
  clearErrors(form);
  read();
  try {
    flow = await api("PATCH", "/v1/flows/" + encodeURIComponent(flow.key), { revision: flow.revision, name: flow.name, steps: flow.steps });
    status(`Draft saved (revision ${flow.revision}).`);
    document.getElementById("editor-meta").textContent = `Draft revision ${flow.revision}; ${flow.published_version ? "published version " + flow.published_version : "never published"}.`;
    return flow;
  } catch (err) {
    showError(form, err, "draft-err");
    throw err;
  }
}

async function publish() {
  try {
    await save();
    const v = await api("POST", `/v1/flows/${encodeURIComponent(flow.key)}/publish`);
    status(`Published version ${v.version}: new journeys follow it.`);
    await open(flow.key);
    await list();
  } catch (err) {
    if (!document.getElementById("draft-err").textContent) status("Publishing failed: " + err.message);
  }
}

// versions shows two published versions side by side, the two latest unless
// the pickers choose others, marking the steps that differ.
async function versions() {
  const box = document.getElementById("versions");
  const all = (flow.versions || []).map((v) => v.version);
  if (!all.length) {
    box.textContent = "Not published yet.";
    return;
  }
  const picks = [all[Math.max(0, all.length - 2)], all[all.length - 1]];
  const bar = document.createElement("div");
  bar.className = "version-pickers";
  const pickers = picks.map((n, side) => {
    const sel = Object.assign(document.createElement("select"), { id: side ? "v-right" : "v-left" });
    sel.replaceChildren(...all.map((v) => new Option(`Version ${v}`, v, false, v === n)));
    sel.addEventListener("change", () => compare(pickers.map((p) => Number(p.value))).catch((err) => status("Versions: " + err.message)));
    bar.append(Object.assign(document.createElement("label"), { htmlFor: sel.id, textContent: side ? "with" : "Compare" }), sel);
    return sel;
  });
  const cols = Object.assign(document.createElement("div"), { id: "version-cols", className: "versions" });
  box.replaceChildren(bar, cols);
  await compare(picks);
}

// compare draws the two versions, each step marked when the other lacks or changes it.
async function compare(picks) {
  const vs = await Promise.all(picks.map((n) => api("GET", `/v1/flows/${encodeURIComponent(flow.key)}/versions/${n}`)));
  const line = (s) => `${s.key}: ${s.title}${s.required ? "" : " (optional)"}`;
  const sig = (s) => JSON.stringify(s);
  document.getElementById("version-cols").replaceChildren(...vs.map((v, side) => {
    const other = new Map(vs[1 - side].steps.map((s) => [s.key, s]));
    const col = document.createElement("div");
    col.append(Object.assign(document.createElement("h4"), { textContent: `Version ${v.version}, ${new Date(v.published_at).toLocaleString()}` }));
    const ol = document.createElement("ol");
    for (const s of v.steps) {
      const li = Object.assign(document.createElement("li"), { textContent: line(s) });
      const o = other.get(s.key);
      const mark = !o ? "only here" : sig(o) !== sig(s) ? "changed" : "";
      if (mark && vs[0].version !== vs[1].version) {
        li.className = "differs";
        li.append(Object.assign(document.createElement("em"), { textContent: ` — ${mark}` }));
      }
      ol.append(li);
    }
    col.append(ol);
    return col;
  }));
}
