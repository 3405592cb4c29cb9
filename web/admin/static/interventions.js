// Interventions: effect against the holdout by kind and step, with
// intervals, and the ROI with an editable value per activated user.
import { api, session, shell, status, emptyRow } from "./api.js";

const pct = (x) => (x * 100).toFixed(1) + " pts";
const me = await session();
if (me) {
  shell();
  const form = document.getElementById("value");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      document.getElementById("vpu-err").textContent = "";
      try {
        const v = form.vpu.value === "" ? null : Number(form.vpu.value);
        const { settings } = await api("GET", "/v1/project"); // PATCH replaces the settings whole
        settings.analytics = { ...(settings.analytics || {}), value_per_activated_user: v };
        if (v === null) delete settings.analytics.value_per_activated_user;
        await api("PATCH", "/v1/project", { settings });
        status("The value is saved.");
        await load();
      } catch (err) {
        document.getElementById("vpu-err").textContent = err.message;
      }
    });
  }
  load().catch((err) => status("Could not load the interventions: " + err.message));
}

async function load() {
  const to = new Date(), from = new Date(to.getTime() - 30 * 86400e3);
  const q = `from=${from.toISOString().slice(0, 19)}Z&to=${to.toISOString().slice(0, 19)}Z`;
  const [fx, roi] = await Promise.all([api("GET", "/v1/analytics/interventions?" + q), api("GET", "/v1/analytics/roi?" + q)]);
  const body = document.querySelector("#effects tbody");
  body.replaceChildren(...fx.groups.map((g) => {
    const tr = document.createElement("tr");
    const diff = (d) => (d.defined ? `${pct(d.difference)} [${pct(d.low)}, ${pct(d.high)}]` : "not yet (an arm has no users)");
    for (const c of [`${g.flow} / ${g.step}`, g.kind, String(g.sent.users), String(g.held_out.users), diff(g.step_completion_difference),
      diff(g.journey_completion_difference), `${g.accepted} / ${g.shown}`]) tr.insertCell().textContent = c;
    return tr;
  }));
  if (!fx.groups.length) {
    emptyRow(body, 7, "No interventions in the last 30 days.");
  }
  const vpu = document.getElementById("vpu");
  if (vpu) vpu.value = roi.value_per_activated_user == null ? "" : String(roi.value_per_activated_user);
  const t = roi.total;
  document.getElementById("roi").textContent = t.uplift.defined
    ? `Activated users gained: ${t.activated_users_gained.estimate.toFixed(1)} [${t.activated_users_gained.low.toFixed(1)}, ${t.activated_users_gained.high.toFixed(1)}]` +
      (t.value ? `, worth ${t.value.estimate.toFixed(0)} ${roi.currency} [${t.value.low.toFixed(0)}, ${t.value.high.toFixed(0)}].` : ". Set the value of an activated user to price it.")
    : "Not measurable yet: both the users sent help and the holdout need users.";
}
