// The content library: filters, an editor with the sanitized markdown
// preview the server renders, scheduling and complexity variants.
import { api, can, clearErrors, session, shell, showError, status } from "./api.js";

let item = null;
let previewTimer = 0;
const $ = (id) => document.getElementById(id);

const me = await session();
if (me) {
  shell();
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    list().catch((err) => status(err.message));
  });
  $("new-item")?.addEventListener("click", () => edit(null));
  $("editor").addEventListener("submit", (ev) => {
    ev.preventDefault();
    save();
  });
  $("c-body").addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 300);
  });
  if (!can("write")) for (const el of $("editor").querySelectorAll("input, select, textarea")) el.disabled = true;
  await list().catch((err) => status(err.message));
  const id = new URLSearchParams(location.search).get("id");
  if (id) await edit(await api("GET", "/v1/content-items/" + encodeURIComponent(id)));
}

async function list() {
  const q = new URLSearchParams({ limit: "100" });
  for (const [k, el] of [["q", "q"], ["status", "f-status"], ["kind", "f-kind"]]) if ($(el).value) q.set(k, $(el).value);
  const { items } = await api("GET", "/v1/content-items?" + q);
  $("items").replaceChildren(...items.map((c) => {
    const li = document.createElement("li");
    const a = Object.assign(document.createElement("a"), { href: "/admin/content?id=" + c.id, textContent: c.title });
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      edit(c);
    });
    li.append(a, ` — ${c.kind}, ${c.status}${c.complexity !== "standard" ? ", " + c.complexity : ""}${c.variant_of ? " (variant)" : ""}`);
    return li;
  }));
  if (!items.length) $("items").replaceChildren(Object.assign(document.createElement("li"), { textContent: "Nothing matches." }));
  $("all-items").replaceChildren(...items.map((c) => new Option(c.title, c.id)));
}

async function edit(c) {
  item = c;
  $("editor").hidden = false;
  $("editor-h").textContent = c ? `Edit ${c.title}` : "New item";
  $("c-title").value = c ? c.title : "";
  $("c-kind").value = c ? c.kind : "article";
  $("c-status").value = c ? c.status : "draft";
  $("c-complexity").value = c ? c.complexity : "standard";
  $("c-variant").value = c ? c.variant_of || "" : "";
  $("c-body").value = c ? c.body : "";
  $("c-scheduled").value = c && c.scheduled_at ? localInput(new Date(c.scheduled_at)) : "";
  if (c) history.replaceState(null, "", "/admin/content?id=" + c.id);
  await preview();
}

function localInput(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function preview() {
  if (!can("write")) return;
  const { html } = await api("POST", "/v1/content-preview", { body: $("c-body").value }).catch(() => ({ html: "" }));
  $("preview").innerHTML = html; // sanitized by the server's bluemonday policy, and the page's CSP runs no inline script
}

async function save() {
  const form = $("editor");
  clearErrors(form);
  const sched = $("c-scheduled").value;
  const body = { title: $("c-title").value, kind: $("c-kind").value, status: $("c-status").value, complexity: $("c-complexity").value,
    body: $("c-body").value, scheduled_at: sched ? new Date(sched).toISOString() : null, variant_of: $("c-variant").value.trim() };
  try {
    item = item ? await api("PATCH", "/v1/content-items/" + item.id, { ...body, version: item.version }) : await api("POST", "/v1/content-items", body);
    status(`Saved ${item.title} (version ${item.version}).`);
    await list();
    await edit(item);
  } catch (err) {
    showError(form, err, "c-err");
  }
}
