// Alerts: acknowledge or resolve (editors and owners).
import { api, can, session, shell, status, emptyRow } from "./api.js";

const me = await session();
if (me) {
  shell();
  const filter = document.getElementById("filter");
  filter.addEventListener("change", () => refresh().catch((err) => status(err.message)));
  refresh().catch((err) => status("Could not load the alerts: " + err.message));
}

async function refresh() {
  const st = document.getElementById("filter").value;
  const { alerts } = await api("GET", "/v1/alerts" + (st ? "?status=" + st : ""));
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren(...alerts.map(row));
  if (!alerts.length) {
    emptyRow(body, 5, "No alerts here.");
  }
}

function row(a) {
  const tr = document.createElement("tr");
  for (const c of [new Date(a.opened_at).toLocaleString(), a.severity, a.status, a.message]) tr.insertCell().textContent = c;
  const funnel = funnelLink(a.query);
  if (funnel) tr.cells[3].append(" ", funnel);
  const actions = tr.insertCell();
  if (can("write")) {
    for (const [verb, label, allowed] of [["acknowledge", "Acknowledge", a.status === "open"], ["resolve", "Resolve", a.status !== "resolved"]]) {
      if (!allowed) continue;
      const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: label });
      b.setAttribute("aria-label", `${label}: ${a.message}`);
      b.addEventListener("click", async () => {
        try {
          await api("POST", `/v1/alerts/${a.id}/${verb}`);
          status(`Alert ${verb === "resolve" ? "resolved" : "acknowledged"}.`);
          await refresh();
        } catch (err) {
          status(err.message);
        }
      });
      actions.append(b, " ");
    }
  }
  return tr;
}

// funnelLink opens the funnel page on the flow and window the alert was
// judged on, when its report is a funnel.
function funnelLink(query) {
  const prefix = "/v1/analytics/funnel?";
  if (!query || !query.startsWith(prefix)) return null;
  const q = new URLSearchParams(query.slice(prefix.length));
  const link = Object.assign(document.createElement("a"), { href: "/admin/funnel?" + q, textContent: "See the funnel" });
  link.setAttribute("aria-label", `See the funnel of ${q.get("flow")} behind this alert`);
  return link;
}
