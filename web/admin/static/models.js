// The model registry: metrics, drift, training and activation (rollback).
import { api, can, session, shell, status } from "./api.js";

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
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = 8;
    td.textContent = "No model yet: predictions come from the prior. Train one once 200 journeys have settled.";
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...models.map(row));
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
