// Users: search by id or traits; one user's journeys with a step timeline,
// the predicted success with its reasons, and the interventions received.
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { ApiError, api, session, shell, status, emptyRow } from "./api.js";

const me = await session();
if (me) {
  shell();
  const form = document.getElementById("search");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = form.id.value.trim();
    if (id) return showUser(id);
    search().catch((err) => status("Search failed: " + err.message));
  });
  const id = new URLSearchParams(location.search).get("id");
  (id ? showUser(id) : search()).catch((err) => status(err.message));
}

async function search() {
  const form = document.getElementById("search");
  const q = new URLSearchParams({ limit: "50" });
  for (const k of ["role", "plan", "experience"]) if (form[k].value.trim()) q.set(k, form[k].value.trim());
  const { items } = await api("GET", "/v1/users?" + q);
  const ul = document.getElementById("results");
  ul.replaceChildren(...items.map((u) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "/admin/users?id=" + encodeURIComponent(u.user_id);
    a.textContent = u.user_id;
    li.append(a, ` — last seen ${new Date(u.last_seen_at).toLocaleString()}`);
    return li;
  }));
  if (!items.length) ul.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No users match. Users appear once the SDK or POST /v1/identify names them." }));
}

async function showUser(id) {
  let user;
  try {
    user = await api("GET", "/v1/users/" + encodeURIComponent(id));
  } catch (err) {
    status(err instanceof ApiError && err.status === 404 ? `No user ${id}.` : err.message);
    return;
  }
  history.replaceState(null, "", "/admin/users?id=" + encodeURIComponent(id));
  const box = document.getElementById("user");
  box.hidden = false;
  document.getElementById("user-h").textContent = "User " + user.user_id;
  document.getElementById("traits").textContent = "Traits: " + (Object.entries(user.traits || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "none");
  const { items: flows } = await api("GET", "/v1/flows");
  const journeys = document.getElementById("journeys");
  journeys.replaceChildren();
  for (const f of flows) {
    const j = await api("GET", `/v1/users/${encodeURIComponent(id)}/journeys/${f.key}`).catch(() => null);
    if (j && j.status && j.started_at) journeys.append(await journeyView(id, j));
  }
  if (!journeys.children.length) journeys.textContent = "No journey yet.";
  const { detections } = await api("GET", `/v1/users/${encodeURIComponent(id)}/detections`);
  document.getElementById("detections").replaceChildren(...(detections.length ? detections.map((d) =>
    Object.assign(document.createElement("li"), { textContent: `${new Date(d.detected_at).toLocaleString()}: ${d.rule} on ${d.flow} / ${d.step}` }))
    : [Object.assign(document.createElement("li"), { textContent: "No struggle detected." })]));
  const { items } = await api("GET", "/v1/interventions?limit=50&user_id=" + encodeURIComponent(id));
  const body = document.querySelector("#interventions tbody");
  body.replaceChildren(...items.map((iv) => {
    const tr = document.createElement("tr");
    const outcome = iv.held_out ? "held out (not shown)" : iv.accepted_at ? "accepted" : iv.dismissed_at ? "dismissed" : iv.shown_at ? "shown" : "sent";
    const why = iv.trigger === "low_success" ? `low predicted success (${iv.predictor}, ${Math.round((iv.score || 0) * 100)}%)` : `struggle: ${iv.rule}`;
    for (const c of [new Date(iv.triggered_at).toLocaleString(), `${iv.flow} / ${iv.step}`, iv.kind, why, outcome]) tr.insertCell().textContent = c;
    return tr;
  }));
  if (!items.length) {
    emptyRow(body, 5, "None yet.");
  }
  status("");
}

async function journeyView(id, j) {
  const section = document.createElement("section");
  const h = document.createElement("h3");
  h.textContent = `${j.flow} (version ${j.flow_version}): ${j.status}`;
  section.append(h);
  const ol = document.createElement("ol");
  ol.className = "timeline";
  for (const s of j.steps) {
    const li = document.createElement("li");
    const when = s.completed_at || s.started_at;
    li.textContent = `${s.key}: ${s.status}${when ? " at " + new Date(when).toLocaleString() : ""}${s.errors ? `, ${s.errors} errors` : ""}`;
    ol.append(li);
  }
  section.append(ol);
  const p = await api("GET", `/v1/users/${encodeURIComponent(id)}/prediction?flow=${j.flow}`).catch(() => null);
  const pred = document.createElement("div");
  pred.className = "prediction";
  if (p) {
    const head = document.createElement("p");
    head.textContent = `Predicted success: ${Math.round(p.probability * 100)}% (${p.prior ? "prior: no model yet" : "model " + p.model_version})` +
      (j.engagement == null ? "" : `; engagement ${Math.round(j.engagement)}`);
    const ul = document.createElement("ul");
    for (const c of p.explanation) ul.append(Object.assign(document.createElement("li"), { textContent: c.text }));
    pred.append(head, ul);
  }
  section.append(pred);
  section.append(await engagementView(id, j));
  return section;
}

// engagementView charts the journey's engagement by minute.
async function engagementView(id, j) {
  const box = document.createElement("div");
  const label = `Engagement over time in ${j.flow}`;
  const { points } = await api("GET", `/v1/users/${encodeURIComponent(id)}/journeys/${j.flow}/engagement`).catch(() => ({ points: [] }));
  box.className = "engagement";
  if (points.length < 2) {
    box.textContent = points.length ? `Engagement: ${Math.round(points[0].score)} (${points[0].level}).` : "No engagement score yet.";
    return box;
  }
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", `${label}: from ${Math.round(points[0].score)} to ${Math.round(points[points.length - 1].score)}`);
  queueMicrotask(() => new uPlot({ width: Math.max(280, Math.min(box.clientWidth || 600, 700)), height: 160, scales: { y: { range: [0, 100] } },
    series: [{}, { label: "Engagement", stroke: "#0b5cad", width: 2 }] },
    [points.map((p) => new Date(p.minute).getTime() / 1000), points.map((p) => p.score)], box));
  return box;
}
