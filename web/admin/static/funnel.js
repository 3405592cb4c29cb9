// The funnel of a flow and version: bars of journeys reaching and
// completing each step (uPlot), and a table with drop-off, time on step and
// struggle, with a window and a trait segment.
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { api, session, shell, status, windowParams } from "./api.js";

let plot = null;
let linked = null; // the window a link (an alert's "See the funnel") asked for
const me = await session();
if (me) {
  shell();
  const form = document.getElementById("controls");
  const { items: flows } = await api("GET", "/v1/flows");
  const flowSel = document.getElementById("flow");
  flowSel.replaceChildren(...flows.map((f) => new Option(f.name || f.key, f.key)));
  const versions = () => {
    const f = flows.find((x) => x.key === flowSel.value);
    document.getElementById("version").replaceChildren(new Option("all", ""), ...((f && f.versions) || []).map((v) => new Option("v" + v.version, String(v.version))));
  };
  flowSel.addEventListener("change", versions);
  fromLink(flowSel, flows);
  versions();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    show().catch((err) => (document.getElementById("controls-error").textContent = (err.field ? err.field + ": " : "") + err.message));
  });
  if (flows.length) await show().catch((err) => status(err.message));
  else status("No flow yet: create and publish one, and its funnel shows here.");
}

async function show() {
  document.getElementById("controls-error").textContent = "";
  const form = document.getElementById("controls");
  const q = new URLSearchParams({ flow: form.flow.value, ...(linked && form.days.value === "linked" ? linked : windowParams(form.days.value)) });
  if (form.version.value) q.set("version", form.version.value);
  const seg = form.segment.value.trim();
  if (seg) {
    const [k, v] = seg.split("=");
    if (!k || v === undefined) throw Object.assign(new Error("write the segment as trait=value, for example plan=pro"), { field: "segment" });
    q.set("trait." + k.trim(), v.trim());
  }
  const fn = await api("GET", "/v1/analytics/funnel?" + q);
  const steps = fn.steps || [];
  draw(steps);
  const body = document.querySelector("#steps tbody");
  body.replaceChildren(...steps.map((s) => {
    const tr = document.createElement("tr");
    const pct = (x) => (x == null ? "–" : Math.round(x * 100) + "%");
    const secs = (x) => (x == null ? "–" : x < 90 ? Math.round(x) + " s" : Math.round(x / 60) + " min");
    for (const c of [s.key, s.reached, s.completed, s.skipped, `${s.drop_off} (${pct(s.drop_off_rate)})`, secs(s.median_seconds), secs(s.p90_seconds), pct(s.struggle_rate)]) {
      tr.insertCell().textContent = String(c);
    }
    return tr;
  }));
  status(steps.length ? "" : "No journeys in this window.");
}

// fromLink selects the flow and window of ?flow=&from=&to= when the page was
// opened with them, adding the window to the choices.
function fromLink(flowSel, flows) {
  const q = new URLSearchParams(location.search);
  if (flows.some((f) => f.key === q.get("flow"))) flowSel.value = q.get("flow");
  const from = new Date(q.get("from") || ""), to = new Date(q.get("to") || "");
  if (isNaN(from) || isNaN(to) || from >= to) return;
  linked = { from: from.toISOString(), to: to.toISOString() };
  const days = document.getElementById("days");
  days.append(new Option(`${from.toLocaleString()} to ${to.toLocaleString()}`, "linked"));
  days.value = "linked";
}

function draw(steps) {
  const el = document.getElementById("chart");
  if (plot) plot.destroy();
  const x = steps.map((_, i) => i);
  const left = uPlot.paths.bars({ size: [0.35, 60], align: -1 });
  const right = uPlot.paths.bars({ size: [0.35, 60], align: 1 });
  const opts = {
    width: Math.max(280, Math.min(el.clientWidth || 800, 1100)),
    height: 260,
    scales: { x: { time: false, range: [-0.5, Math.max(steps.length - 0.5, 0.5)] } },
    axes: [{ values: (u, vals) => vals.map((v) => (Number.isInteger(v) && steps[v] ? steps[v].key : "")), splits: () => x }, {}],
    series: [
      { label: "Step", value: (u, v) => (v == null || !steps[v] ? "–" : steps[v].key) },
      { label: "Reached", fill: "#0b5cad", stroke: "#0b5cad", paths: left, points: { show: false } },
      { label: "Completed", fill: "#2e9d57", stroke: "#2e9d57", paths: right, points: { show: false } },
    ],
  };
  plot = new uPlot(opts, [x, steps.map((s) => s.reached), steps.map((s) => s.completed)], el);
}
