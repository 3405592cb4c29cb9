// Smart Onboarding browser SDK: captures behaviour, delivers every event once,
// shows tours, checklists and interventions, and never breaks the host page.
// Built into /sdk/v1/smartonboard.js (a script setting window.SmartOnboarding)
// and /sdk/v1/smartonboard.mjs (an ES module) by `go generate ./web`.

import { createDelivery } from "./delivery.js";
import { startCapture } from "./capture.js";
import { createStream } from "./stream.js";
import { createUI } from "./ui.js";
import { translator } from "./messages.js";
import { emitter, isoNow, store, urlMatches, uuidv7 } from "./util.js";

const SESSION_GAP_MS = 30 * 60 * 1000; // the server's session gap
const TARGET_TIMEOUT_MS = 10000;
const MAX_QUEUE = 1000;
const EVENT_TYPES = new Set(["session_started", "session_ended", "page_viewed", "step_viewed", "step_started", "step_completed", "step_skipped", "step_back", "click", "rage_click", "hesitation", "error", "idle", "help_opened", "help_closed", "intervention_shown", "intervention_accepted", "intervention_dismissed"]);

let s = null; // the running SDK's state; null before init and after shutdown
const events = emitter((err) => report(err));
const reported = { at: 0, count: 0, seen: new Set() };

// guard runs fn so that nothing it throws reaches the host page.
function guard(fn) {
  return function guarded(...args) {
    try {
      const out = fn.apply(this, args);
      if (out && typeof out.catch === "function") return out.catch((err) => (report(err), undefined));
      return out;
    } catch (err) {
      report(err);
      return undefined;
    }
  };
}

// report tells listeners and the server of an SDK error, each message once and
// at most five a minute.
function report(err) {
  try {
    const message = String((err && err.message) || err).slice(0, 200);
    const now = Date.now();
    if (now - reported.at > 60000) (reported.at = now), (reported.count = 0);
    if (reported.seen.has(message) || ++reported.count > 5) return;
    reported.seen.add(message);
    events.emit("error", { message });
    if (s && s.delivery) record("custom", { name: "sdk_error", message });
  } catch (_) {
    /* reporting must not fail the page either */
  }
}

function scriptHost() {
  try {
    const src = document.currentScript && document.currentScript.src;
    return src ? new URL(src).origin : location.origin;
  } catch (_) {
    return location.origin;
  }
}
const defaultHost = typeof document !== "undefined" ? scriptHost() : "";

/** init starts the SDK: init({key, host, userId, userHash, traits, autocapture, consentRequired, locale}). */
export const init = guard(function init(options) {
  const o = options || {};
  if (typeof o.key !== "string" || !o.key.startsWith("pk_")) throw new Error("SmartOnboarding.init needs a public key (pk_…) as key");
  if (s) (stop(), (s = null)); // a restart keeps the page's on() listeners
  const local = store("localStorage");
  const session = store("sessionStorage");
  const short = o.key.slice(0, 16);
  const host = String(o.host || defaultHost).replace(/\/+$/, "");
  s = {
    o,
    host,
    key: o.key,
    local,
    session,
    short,
    t: translator(o.locale, o.messages),
    userId: o.userId ? String(o.userId) : "", // an anonymous one once consent allows storing it
    userHash: o.userHash || "",
    views: new Map(), // flow key → the journey view last seen, with its steps' content
    closed: new Set(JSON.parse(session.get("so:closed") || "[]")),
    shown: new Set(),
    epoch: 0, // moves on every change of user, so late answers for the last one are dropped
    consented: !o.consentRequired || local.get("so:consent:" + short) === "granted",
  };
  if (s.consented) start(o.traits);
});

function anonymousId(local, short) {
  let id = local.get("so:anon:" + short);
  if (!id) local.set("so:anon:" + short, (id = "anon_" + uuidv7()));
  return id;
}

// start begins capturing, sending and listening; it runs once consent allows.
function start(traits) {
  if (!s.userId) s.userId = anonymousId(s.local, s.short);
  s.delivery = createDelivery({
    host: s.host,
    key: s.key,
    local: s.local,
    session: s.session,
    maxQueue: MAX_QUEUE,
    onError: report,
    onRejected: (rejected) => events.emit("error", { message: "events rejected", rejected }),
  });
  s.delivery.start().catch(report);
  touchSession();
  s.stopCapture = startCapture(s.o.autocapture, { record, target: () => s.target || null, onNavigate: guard(() => renderAll()), guard });
  s.ui = createUI({ locale: s.o.locale, t: s.t, guard, onStepAction: guard(stepAction), onChecklistPick: guard(pick), onIntervention: guard(outcome) });
  s.onHide = guard(() => document.visibilityState === "hidden" && s.delivery.beacon());
  s.onPageHide = guard(() => s.delivery.beacon());
  s.onOnline = guard(() => s.delivery.flush());
  // A "no" given in another tab of the site holds here too.
  s.onStorage = guard((e) => e.key === "so:consent:" + s.short && e.newValue === "denied" && s.o.consentRequired && consent(false));
  document.addEventListener("visibilitychange", s.onHide);
  window.addEventListener("pagehide", s.onPageHide);
  window.addEventListener("online", s.onOnline);
  window.addEventListener("storage", s.onStorage);
  if (traits) identify(s.userId, traits);
  connect();
  resume();
}

// record queues one event, marked with the step it names (where) or else
// the step on screen.
function record(type, properties, where) {
  if (!s || !s.delivery || !s.consented) return null;
  const ev = { id: uuidv7(), type, user_id: s.userId, session_id: touchSession(), timestamp: isoNow(), properties: properties || {} };
  if (where && where.flow) (ev.flow = where.flow), (ev.step = where.step || undefined);
  else if (s.step) (ev.flow = s.step.flow), (ev.step = s.step.key);
  return s.delivery.enqueue(ev, s.userHash) ? ev : null;
}

// touchSession returns the session id, starting a new session (and ending
// the old one at its last activity) after half an hour without events.
function touchSession() {
  const k = "so:s:" + s.short + ":" + s.userId;
  const now = Date.now();
  let cur = s.local.getJSON(k, null);
  if (!cur || now - cur.last > SESSION_GAP_MS) {
    if (cur) enqueueRaw("session_ended", cur.id, new Date(cur.last).toISOString());
    cur = { id: uuidv7(), last: now };
    s.local.setJSON(k, cur);
    enqueueRaw("session_started", cur.id, new Date(now).toISOString());
  } else if (now - cur.last > 1000) {
    cur.last = now;
    s.local.setJSON(k, cur);
  }
  return cur.id;
}

function enqueueRaw(type, sessionId, at) {
  s.delivery.enqueue({ id: uuidv7(), type, user_id: s.userId, session_id: sessionId, timestamp: at, properties: {} }, s.userHash);
}

function api(method, path, body) {
  const headers = { Authorization: "Bearer " + s.key };
  if (s.userHash) headers["X-User-Hash"] = s.userHash;
  if (body) headers["Content-Type"] = "application/json";
  // keepalive lets an answer the page sends as it navigates away (an outcome) still arrive.
  return fetch(s.host + path, { method, headers, keepalive: method !== "GET", body: body ? JSON.stringify(body) : undefined }).then(async (res) => {
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path.split("?")[0]}: ${res.status} ${(data && data.error && data.error.message) || ""}`.trim());
    return data;
  });
}

function connect() {
  if (s.stream) s.stream.close();
  s.stream = createStream({ host: s.host, key: s.key, userId: s.userId, userHash: s.userHash, onEvent: guard(onStreamEvent) });
}

function onStreamEvent(name, data) {
  if (name === "journey") {
    const before = s.views.get(data.flow);
    if (!before || before.flow_version !== data.flow_version || !before.presentation) return refresh(data.flow);
    show({ ...data, presentation: before.presentation });
    events.emit("journey", data);
  } else if (name === "next_step") {
    events.emit("next_step", data);
  } else if (name === "intervention") {
    events.emit("intervention", data);
    const step = stepOf(data.step);
    const onScreen = data.step && s.step && s.step.key === data.step;
    // The help takes the step card's place (the step stays current) until answered.
    if (onScreen) s.ui.hideStep();
    s.ui.showIntervention(data, onScreen ? s.target : findTarget(step), step && step.placement);
  } else if (name === "reset") {
    resume();
  }
}

function stepOf(key) {
  for (const v of s.views.values()) {
    const st = v.presentation && v.presentation.steps.find((x) => x.key === key);
    if (st) return st;
  }
  return null;
}

function findTarget(step) {
  if (!step || !step.target) return null;
  try {
    return document.querySelector(step.target);
  } catch (_) {
    return null;
  }
}

// flows remembers which flows this user is going through, so a new page
// resumes them.
function flows() {
  return s.local.getJSON("so:flows:" + s.short + ":" + s.userId, []);
}
function rememberFlow(key, keep) {
  const list = flows().filter((k) => k !== key);
  if (keep) list.push(key);
  s.local.setJSON("so:flows:" + s.short + ":" + s.userId, list.slice(-10));
}

function resume() {
  for (const key of flows()) refresh(key);
}

function refresh(flowKey) {
  const asked = current();
  return api("GET", `/v1/users/${encodeURIComponent(s.userId)}/journeys/${encodeURIComponent(flowKey)}`).then(
    (v) => (still(asked) ? (show(v), v) : null),
    (err) => {
      if (!still(asked)) return;
      if (/: 404/.test(err.message)) rememberFlow(flowKey, false);
      else report(err);
    },
  );
}

// current and still tell an answer for this user, on this start, from a late
// one for the user before (or an SDK since shut down).
function current() {
  return { s, epoch: s.epoch };
}
function still(asked) {
  return s && asked.s === s && asked.epoch === s.epoch;
}

/** startFlow starts (or returns) the user's journey through a flow and shows its step. */
export const startFlow = guard(function startFlow(flowKey) {
  if (!s || !s.consented) return Promise.resolve(null);
  const asked = current();
  return api("POST", `/v1/users/${encodeURIComponent(s.userId)}/journeys/${encodeURIComponent(flowKey)}`).then((v) => {
    if (!still(asked)) return null;
    rememberFlow(flowKey, true);
    show(v);
    events.emit("journey", v);
    return v;
  });
});

// show takes a journey view and draws its checklist and current step.
function show(v) {
  if (!s || !v || !v.flow) return;
  s.views.set(v.flow, v);
  if (v.status === "completed" || v.status === "abandoned") rememberFlow(v.flow, false);
  renderAll();
}

function renderAll() {
  if (!s || !s.ui) return;
  const v = [...s.views.values()].reverse().find((x) => x.status !== "completed" && x.status !== "abandoned" && x.presentation);
  if (!v) {
    s.ui.renderChecklist(null);
    hideStep();
    return;
  }
  const p = v.presentation;
  const status = new Map((v.steps || []).map((x) => [x.key, x.status]));
  const current = (v.next_step && v.next_step.key) || v.current_step;
  s.ui.renderChecklist({ title: p.name || s.t("checklist"), current, steps: p.steps.map((x) => ({ ...x, status: status.get(x.key) })) });
  const step = p.steps.find((x) => x.key === current);
  if (!step || s.closed.has(v.flow + "/" + step.key) || !urlMatches(step.url)) return hideStep();
  if (s.step && s.step.key === step.key && s.step.flow === v.flow) return;
  present(v.flow, step, p.steps[p.steps.length - 1].key === step.key);
}

function hideStep() {
  if (s.waiting) s.waiting();
  s.waiting = null;
  s.step = s.target = null;
  s.ui.hideStep();
}

// present waits for a step's target (it may render late), then draws the step
// on it, or as a centred modal once the step's timeout passes.
function present(flow, step, last) {
  hideStep();
  const st = { ...step, flow, last };
  s.step = st;
  const viewed = () => {
    const k = flow + "/" + step.key;
    if (s.shown.has(k)) return;
    s.shown.add(k);
    record("step_viewed", {});
    const v = s.views.get(flow);
    const state = v && (v.steps || []).find((x) => x.key === step.key);
    if (!state || state.status === "pending" || !state.status) record("step_started", {});
  };
  // Articles and videos read best as a modal; a step without a target has nowhere else to go.
  if (!step.target || step.kind === "article" || step.kind === "video") return viewed(), s.ui.showStep(st, null);
  let target = findTarget(step);
  if (target) return (s.target = target), viewed(), s.ui.showStep(st, target);
  const mo = new MutationObserver(
    guard(() => {
      if ((target = findTarget(step))) done(target);
    }),
  );
  const timer = setTimeout(
    guard(() => {
      done(null);
      record("custom", { name: "target_missing", target: step.target.slice(0, 200) });
    }),
    step.target_timeout_ms || TARGET_TIMEOUT_MS,
  );
  const stop = () => (mo.disconnect(), clearTimeout(timer));
  const done = (t) => {
    stop();
    s.waiting = null;
    if (s.step !== st) return;
    s.target = t;
    viewed();
    s.ui.showStep(st, t);
  };
  s.waiting = stop;
  mo.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
}

function stepAction(step, action) {
  if (action === "close") {
    s.closed.add(step.flow + "/" + step.key);
    s.session.set("so:closed", JSON.stringify([...s.closed]));
    return hideStep();
  }
  record(action === "skip" ? "step_skipped" : "step_completed", {});
  hideStep();
  s.delivery.flush();
  // The stream brings the journey's next state; without a stream, ask for it.
  const asked = current();
  setTimeout(guard(() => still(asked) && (!s.stream || !s.stream.isOpen()) && refresh(step.flow)), 1500);
}

function pick(step) {
  const v = [...s.views.values()].find((x) => x.presentation && x.presentation.steps.some((y) => y.key === step.key));
  if (!v) return;
  s.closed.delete(v.flow + "/" + step.key);
  s.session.set("so:closed", JSON.stringify([...s.closed]));
  if (step.url && !urlMatches(step.url) && !step.url.includes("*")) return location.assign(step.url);
  const p = v.presentation;
  present(v.flow, p.steps.find((x) => x.key === step.key), p.steps[p.steps.length - 1].key === step.key);
}

// outcome reports what the user did with an intervention; the server logs the
// matching intervention_* event itself, so the SDK sends none.
function outcome(iv, result) {
  events.emit("intervention", { ...iv, outcome: result });
  if (result !== "shown" && s.step && s.step.key === iv.step) (s.step = null), renderAll(); // the step card again
  return api("POST", `/v1/interventions/${encodeURIComponent(iv.id)}/outcome`, { outcome: result, user_id: s.userId }).catch(report);
}

/** identify names the signed-in user (with their identity hash when the project requires one) and sets traits. */
export const identify = guard(function identify(userId, traits, userHash) {
  if (!s) throw new Error("SmartOnboarding.identify called before init");
  const id = String(userId || "");
  if (!id) throw new Error("SmartOnboarding.identify needs a user id");
  const changed = id !== s.userId;
  const newHash = !changed && userHash && userHash !== s.userHash;
  if (changed) {
    s.userId = id;
    s.userHash = userHash || "";
    s.epoch++;
    s.views.clear();
    s.shown.clear();
    if (s.ui) hideStep();
  } else if (newHash) s.userHash = userHash;
  if (!s.consented) return Promise.resolve(null);
  if (newHash) (s.delivery.restamp(id, userHash), connect()); // what waited for the hash goes now
  const done = api("POST", "/v1/identify", { user_id: id, traits: traits || {} }).catch(report);
  if (changed) (touchSession(), connect(), resume());
  return done;
});

/** track records a custom event, or one of the API's event types by its name;
 * properties.flow and properties.step name the step it belongs to (else the
 * step on screen). */
export const track = guard(function track(name, properties) {
  if (!s) throw new Error("SmartOnboarding.track called before init");
  const n = String(name || "");
  if (!n) throw new Error("SmartOnboarding.track needs an event name");
  const props = properties && typeof properties === "object" ? { ...properties } : {};
  let where = null;
  if (typeof props.flow === "string") {
    where = { flow: props.flow, step: typeof props.step === "string" ? props.step : "" };
    delete props.flow;
    delete props.step;
  }
  return EVENT_TYPES.has(n) ? record(n, props, where) : record("custom", { ...props, name: n }, where);
});

/** on listens for "journey", "next_step", "intervention" and "error"; it returns the function that stops listening. */
export const on = guard(function on(name, fn) {
  return events.on(String(name), fn);
});

/** consent records the user's answer: nothing is stored or sent before a yes, and a no drops the queue. */
export const consent = guard(function consent(granted) {
  if (!s) throw new Error("SmartOnboarding.consent called before init");
  s.local.set("so:consent:" + s.short, granted ? "granted" : "denied");
  if (granted && !s.consented) {
    s.consented = true;
    start(s.o.traits);
  } else if (!granted && s.consented) {
    if (s.delivery) s.delivery.drop();
    stop();
    s.consented = false;
  }
});

/** reset forgets the user on sign-out: their queued events still go, then a new anonymous user begins. */
export const reset = guard(function reset() {
  if (!s) return;
  s.local.remove("so:anon:" + s.short);
  s.local.remove("so:flows:" + s.short + ":" + s.userId);
  s.session.remove("so:closed");
  s.closed.clear();
  s.userId = s.consented ? anonymousId(s.local, s.short) : "";
  s.userHash = "";
  s.epoch++;
  s.views.clear();
  s.shown.clear();
  if (s.ui) (hideStep(), s.ui.renderChecklist(null), s.ui.hideIntervention());
  if (s.consented && s.delivery) (touchSession(), connect());
});

// stop undoes start: listeners, stream, UI; the queue stays for the next page.
function stop() {
  if (!s || !s.delivery) return;
  if (s.stopCapture) s.stopCapture();
  if (s.stream) s.stream.close();
  if (s.waiting) s.waiting();
  s.ui.destroy();
  document.removeEventListener("visibilitychange", s.onHide);
  window.removeEventListener("pagehide", s.onPageHide);
  window.removeEventListener("online", s.onOnline);
  window.removeEventListener("storage", s.onStorage);
  s.delivery.beacon();
  s.delivery.stop();
  s.delivery = s.stream = s.ui = s.stopCapture = null;
}

/** shutdown stops the SDK and removes everything it added to the page. */
export const shutdown = guard(function shutdown() {
  stop();
  s = null;
  events.clear();
});

/** version is the SDK's version. */
export const version = "1.0.1";

/** debug reports what the SDK holds, for tests and support. */
export const debug = guard(function debug() {
  return s ? { userId: s.userId, queued: s.delivery ? s.delivery.size() : 0, consented: s.consented, stream: !!(s.stream && s.stream.isOpen()), step: s.step && s.step.key } : null;
});

export default { init, identify, track, startFlow, on, consent, reset, shutdown, version, debug };
