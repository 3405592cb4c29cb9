// The model registry: metrics, drift, training and activation (rollback).
import uPlot from "./vendor/uplot/uPlot.esm.js";
import { api, can, emptyRow, session, shell, status } from "./api.js";

let plot = null;

const me = await session();
if (me) {
  shell();
  const train = document.getElementById("train");
  if (train) {
    train.addEventListener("click", async () => {
      train.disabled = true;
      try {
        const { job } = await api("POST", "/v1/models/train");
        status(`Training queued (job ${job.id}); the list updates when it ends.`);
        await waitJob(job.id);
      } catch (err) {
        status("Training failed: " + err.message);
      } finally {
        train.disabled = false;
      }
    });
  }
  refresh().catch((err) => status("Could not load the models: " + err.message));
}

async function waitJob(id) {
  for (let i = 0; i < 600; i++) {
    const { job } = await api("GET", "/v1/models/jobs/" + id);
    if (job.state === "completed") {
      status(`Training job ${id} completed.`);
      return refresh();
    }
    if (job.state === "cancelled" || job.state === "discarded") {
      status(`Training job ${id} ${job.state}: ${job.error}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function refresh() {
  const { models } = await api("GET", "/v1/models");
  const body = document.querySelector("#models tbody");
  if (!models.length) {
    emptyRow(body, 8, "No model yet: predictions come from the prior. Train one once 200 journeys have settled.");
    return;
  }
  body.replaceChildren(...models.map(row));
  const active = models.find((m) => m.status === "active");
  document.getElementById("active-card").hidden = !active;
  if (active) showActive(active);
}

// showActive draws the active model's calibration plot and lists its drift.
function showActive(m) {
  const bins = (m.calibration || []).filter((b) => b.n > 0);
  document.getElementById("active-summary").textContent = `v${m.version}, trained on journeys that started ${new Date(m.trained_from).toLocaleDateString()} to ${new Date(m.trained_to).toLocaleDateString()}: ` +
    `AUC ${m.metrics.auc.toFixed(3)}, log loss ${m.metrics.log_loss.toFixed(3)}, Brier ${m.metrics.brier.toFixed(3)}, calibration error ${m.metrics.ece.toFixed(3)} on ${m.metrics.n} holdout predictions.`;
  document.getElementById("calib-text").textContent = bins.map((b) => `predicted ${Math.round(b.predicted * 100)}% → observed ${Math.round(b.observed * 100)}% (${b.n})`).join("; ");
  const el = document.getElementById("calibration");
  if (plot) plot.destroy();
  plot = new uPlot({
    width: Math.max(280, Math.min(el.clientWidth || 600, 640)), height: 280,
    scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
    series: [{ label: "Predicted" }, { label: "Observed", stroke: "#0b5cad", width: 2, points: { size: 7 } }, { label: "Perfect", stroke: "#999", dash: [4, 4], points: { show: false } }],
  }, [bins.map((b) => b.predicted), bins.map((b) => b.observed), bins.map((b) => b.predicted)], el);
  const h = m.health;
  const drift = document.getElementById("drift");
  drift.replaceChildren(...(h && h.drift && h.drift.length
    ? h.drift.map((d) => Object.assign(document.createElement("li"), { textContent: `${d.feature}: stability index ${d.psi.toFixed(3)}${d.psi > 0.25 ? " (shifted)" : ""}` }))
    : [Object.assign(document.createElement("li"), { textContent: h ? `Checked ${new Date(h.at).toLocaleString()}: too few recent journeys (${h.recent_journeys}) to compare.` : "Not checked yet: the monitor runs hourly." })]));
  if (h && h.live_auc != null) drift.append(Object.assign(document.createElement("li"), { textContent: `Live AUC on ${h.live_journeys} journeys settled since training: ${h.live_auc.toFixed(3)}` }));
}

function row(m) {
  const tr = document.createElement("tr");
  const health = m.health || {};
  const cells = [`v${m.version}`, m.status, m.metrics.auc.toFixed(3), m.metrics.ece.toFixed(3), String(m.journeys.holdout),
    health.max_psi == null ? "–" : health.max_psi.toFixed(2), m.note];
  for (const c of cells) tr.insertCell().textContent = c;
  const action = tr.insertCell();
  if (m.status !== "active" && can("write")) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = `Activate v${m.version}`;
    b.addEventListener("click", async () => {
      try {
        await api("POST", `/v1/models/${m.id}/activate`);
        status(`Model v${m.version} is active; every instance uses it within seconds.`);
        await refresh();
      } catch (err) {
        status("Activation failed: " + err.message);
      }
    });
    action.append(b);
  }
  return tr;
}
