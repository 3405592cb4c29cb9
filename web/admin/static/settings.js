// Project settings (struggle thresholds, intervention caps and holdout,
// identity verification, allowed origins), members and the audit log.
import { api, can, clearErrors, emptyRow, session, shell, showError, status } from "./api.js";

const BEHAVIOUR = [
  ["hesitation_seconds", "Hesitation that counts as struggle (s)"], ["stuck_seconds", "Stuck on a step (s)"],
  ["repeated_clicks", "Repeated clicks"], ["errors_per_step", "Errors per step"], ["step_backs", "Step backs"],
  ["interventions_per_session", "Interventions per session"], ["step_cooldown_seconds", "Cooldown per step (s)"],
  ["holdout_percent", "Holdout share (%)"], ["success_threshold", "Low predicted success below"], ["outcome_window_minutes", "Outcome window (min)"],
];

let loaded = null;
const me = await session();
if (me) {
  shell();
  document.getElementById("settings").addEventListener("submit", save); // before anything shows, so no form submits natively
  document.getElementById("member")?.addEventListener("submit", addMember);
  await Promise.all([loadProject(), loadMembers(), loadAudit()]).catch((err) => status(err.message));
  if (!can("admin")) for (const el of document.querySelectorAll("#settings input, #settings textarea")) el.disabled = true;
}

async function loadProject() {
  const p = (loaded = await api("GET", "/v1/project"));
  document.getElementById("p-name").value = p.name;
  document.getElementById("identity").checked = p.identity_verification;
  document.getElementById("origins").value = (p.settings.allowed_origins || []).join("\n");
  const b = p.settings.behaviour || {};
  document.getElementById("behaviour").replaceChildren(...BEHAVIOUR.map(([k, label]) => {
    const d = document.createElement("div");
    const input = Object.assign(document.createElement("input"), { id: "b-" + k, type: "number", step: "any", min: "0", placeholder: "default", value: b[k] == null ? "" : String(b[k]) });
    input.dataset.field = "settings.behaviour." + k;
    input.setAttribute("aria-describedby", "b-" + k + "-err");
    d.append(Object.assign(document.createElement("label"), { htmlFor: input.id, textContent: label }), input,
      Object.assign(document.createElement("p"), { id: "b-" + k + "-err", className: "error" }));
    return d;
  }));
}

async function save(ev) {
  ev.preventDefault();
  const form = ev.target;
  clearErrors(form);
  const behaviour = {};
  for (const [k] of BEHAVIOUR) {
    const v = document.getElementById("b-" + k).value;
    if (v !== "") behaviour[k] = Number(v);
  }
  const origins = document.getElementById("origins").value.split("\n").map((x) => x.trim()).filter(Boolean);
  try {
    const settings = { ...loaded.settings, behaviour, allowed_origins: origins }; // PATCH replaces the settings whole
    await api("PATCH", "/v1/project", { name: document.getElementById("p-name").value, identity_verification: document.getElementById("identity").checked, settings });
    await loadProject();
    status("Settings saved.");
    await loadAudit();
  } catch (err) {
    showError(form, err, "settings-err");
  }
}

async function loadMembers() {
  const { items } = await api("GET", "/v1/members");
  document.querySelector("#members tbody").replaceChildren(...items.map((m) => {
    const tr = document.createElement("tr");
    for (const c of [m.email, m.role, new Date(m.created_at).toLocaleDateString()]) tr.insertCell().textContent = c;
    const act = tr.insertCell();
    if (can("admin") && m.email !== me.account.email) {
      const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: `Remove ${m.email}` });
      b.addEventListener("click", async () => {
        await api("DELETE", "/v1/members/" + m.account_id).then(() => status(`${m.email} removed.`), (err) => status(err.message));
        await loadMembers();
      });
      act.append(b);
    }
    return tr;
  }));
}

async function addMember(ev) {
  ev.preventDefault();
  document.getElementById("m-err").textContent = "";
  try {
    await api("POST", "/v1/members", { email: document.getElementById("m-email").value.trim(), role: document.getElementById("m-role").value });
    status("Member saved.");
    ev.target.reset();
    await loadMembers();
  } catch (err) {
    document.getElementById("m-err").textContent = err.message;
  }
}

async function loadAudit() {
  const { items } = await api("GET", "/v1/audit-log?limit=20");
  const body = document.querySelector("#audit tbody");
  body.replaceChildren(...items.map((e) => {
    const tr = document.createElement("tr");
    for (const c of [new Date(e.at).toLocaleString(), e.actor, e.action, e.target, (e.changes || []).join(", ")]) tr.insertCell().textContent = c;
    return tr;
  }));
  if (!items.length) emptyRow(body, 5, "No changes recorded yet.");
}
