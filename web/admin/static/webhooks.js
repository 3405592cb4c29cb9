// Webhooks: add (the signing secret shown once), deliveries, disable and
// enable, delete; owners only change them.
import { api, can, emptyRow, session, shell, status } from "./api.js";

const TYPES = ["journey.completed", "journey.abandoned", "struggle.detected", "intervention.triggered", "intervention.escalated", "alert.opened"];
const $ = (id) => document.getElementById(id);

const me = await session();
if (me) {
  shell();
  const form = $("create");
  if (form) {
    $("w-events").append(...TYPES.map((t) => {
      const l = document.createElement("label");
      l.append(Object.assign(document.createElement("input"), { type: "checkbox", name: "event", value: t, checked: t === "journey.completed" }), t);
      return l;
    }));
    form.addEventListener("submit", create);
  }
  refresh().catch((err) => status("Could not load the webhooks: " + err.message));
}

async function create(ev) {
  ev.preventDefault();
  const form = ev.target;
  for (const el of form.querySelectorAll(".error")) el.textContent = "";
  const events = [...form.querySelectorAll("input[name=event]:checked")].map((c) => c.value);
  try {
    const h = await api("POST", "/v1/webhooks", { url: $("w-url").value.trim(), events });
    $("w-created").hidden = false;
    $("w-secret").textContent = h.secret;
    $("w-url").value = "";
    await refresh();
  } catch (err) {
    const id = err.field && err.field.startsWith("events") ? "w-events-err" : err.field === "url" ? "w-url-err" : "w-err";
    $(id).textContent = err.message;
  }
}

async function refresh() {
  const { items } = await api("GET", "/v1/webhooks");
  $("hooks").querySelector("tbody").replaceChildren(...items.map(row));
  if (!items.length) {
    emptyRow($("hooks").querySelector("tbody"), 4, "No webhook: add one to tell your systems of completions, struggle and alerts.");
  }
}

function button(label, fn) {
  const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: label });
  b.addEventListener("click", () => fn().catch((err) => status(err.message)));
  return b;
}

function row(h) {
  const tr = document.createElement("tr");
  const state = h.disabled_at ? `disabled (${h.disabled_reason})` : h.consecutive_failures ? `active, ${h.consecutive_failures} failed in a row` : "active";
  for (const c of [h.url, h.events.join(", "), state]) tr.insertCell().textContent = c;
  const act = tr.insertCell();
  act.append(button(`Deliveries to ${h.url}`, () => deliveries(h)), " ");
  if (can("admin")) {
    act.append(h.disabled_at
      ? button(`Enable ${h.url}`, async () => { await api("POST", `/v1/webhooks/${h.id}/enable`); status("Enabled."); await refresh(); })
      : button(`Disable ${h.url}`, async () => { await api("POST", `/v1/webhooks/${h.id}/disable`); status("Disabled."); await refresh(); }), " ",
    button(`Delete ${h.url}`, async () => {
      if (!confirm(`Delete the webhook to ${h.url}?`)) return;
      await api("DELETE", "/v1/webhooks/" + h.id);
      status("Deleted.");
      await refresh();
    }));
  }
  return tr;
}

async function deliveries(h) {
  const { items } = await api("GET", `/v1/webhooks/${h.id}/deliveries?limit=50`);
  $("deliveries-card").hidden = false;
  $("deliveries-h").textContent = "Deliveries to " + h.url;
  const body = $("deliveries").querySelector("tbody");
  body.replaceChildren(...items.map((d) => {
    const tr = document.createElement("tr");
    for (const c of [new Date(d.created_at).toLocaleString(), d.type, d.status, String(d.attempts), d.last_status_code ? String(d.last_status_code) : d.last_error || "–"]) tr.insertCell().textContent = c;
    return tr;
  }));
  if (!items.length) {
    emptyRow(body, 5, "Nothing delivered yet.");
  }
}
