// The overview: live counters over the analytics stream, the window's
// journey numbers, open alerts, the top insights, and a new project's first steps.
import { api, session, shell, status, stream, text, windowParams } from "./api.js";

const me = await session();
if (me) {
  shell();
  const ctl = new AbortController();
  addEventListener("pagehide", () => ctl.abort());
  stream("/v1/analytics/stream", (event, data) => {
    if (event === "open") {
      text("live-state", "(live)");
      for (const dd of document.querySelectorAll('[id^="live-"]')) if (dd.textContent === "–") dd.textContent = "0"; // a quiet project sends no metrics until something happens
    }
    else if (event === "error") text("live-state", "(reconnecting…)");
    else if (event === "metrics") {
      for (const k of ["active_users", "events_per_minute", "journeys_started_per_minute", "journeys_completed_per_minute"]) text("live-" + k, String(data[k]));
    }
  }, ctl.signal);
  document.getElementById("copy").addEventListener("click", () => {
    navigator.clipboard.writeText(document.getElementById("snippet").textContent).then(() => status("The snippet is copied."), () => status("Select the snippet and copy it."));
  });
  document.getElementById("days").addEventListener("change", () => load().catch((err) => status("Could not load the overview: " + err.message)));
  load().catch((err) => status("Could not load the overview: " + err.message));
}

async function load() {
  const [ov, alerts, insights, flows] = await Promise.all([
    api("GET", "/v1/analytics/overview?" + new URLSearchParams(windowParams(document.getElementById("days").value))),
    api("GET", "/v1/alerts?status=open"),
    api("GET", "/v1/analytics/insights"),
    api("GET", "/v1/flows"),
  ]);
  text("ov-active_users", String(ov.active_users));
  text("ov-journeys_started", String(ov.journeys_started));
  text("ov-completion_rate", ov.completion_rate == null ? "–" : Math.round(ov.completion_rate * 100) + "%");
  text("ov-median_seconds_to_complete", ov.median_seconds_to_complete == null ? "–" : duration(ov.median_seconds_to_complete));
  nextSteps(ov.events === 0, !flows.items.some((f) => f.published_version));
  list("alerts", alerts.alerts, (a) => `${a.severity}: ${a.message}`, "No open alerts.");
  list("insights", (insights.insights || []).slice(0, 5), (i) => `${/[.!?]$/.test(i.title) ? i.title : i.title + "."} ${i.detail}`, "No insights yet: they need a week of journeys.");
}

function list(id, items, line, empty) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(items.length ? items : [null]).map((x) => {
    const li = document.createElement("li");
    li.textContent = x ? line(x) : empty;
    return li;
  }));
}

function duration(s) {
  return s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
}

// nextSteps tells a new project's admin what to do first: install the
// snippet while no event has arrived, publish a flow while none is.
function nextSteps(noEvents, noFlow) {
  document.getElementById("empty").hidden = !noEvents && !noFlow;
  document.getElementById("next-snippet").hidden = !noEvents;
  document.getElementById("next-flow").hidden = !noFlow;
  const pre = document.getElementById("snippet");
  pre.textContent = pre.textContent.replace("ORIGIN", location.origin);
}
