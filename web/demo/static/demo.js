// The demo app's own behaviour: a fake product whose forms report what the
// user did, and a side panel that shows the journey as Smart Onboarding sees
// it, live. It uses only the public SDK API, as a customer's app would.
(function () {
  "use strict";
  const SO = window.SmartOnboarding;
  const FLOW = "getting-started";
  const $ = (id) => document.getElementById(id);
  const log = (text) => {
    const list = $("live-log");
    if (!list) return;
    const li = document.createElement("li");
    li.textContent = new Date().toLocaleTimeString() + " · " + text;
    list.prepend(li);
    while (list.children.length > 12) list.lastChild.remove();
  };
  const done = (step) => SO.track("step_completed", { flow: FLOW, step });
  const store = (k, v) => (v === undefined ? JSON.parse(localStorage.getItem("acme:" + k) || "null") : localStorage.setItem("acme:" + k, JSON.stringify(v)));

  function renderJourney(j) {
    const list = $("journey-steps");
    if (!list || !j || !j.presentation) return;
    const status = new Map((j.steps || []).map((s) => [s.key, s.status]));
    list.replaceChildren(
      ...j.presentation.steps.map((s) => {
        const li = document.createElement("li");
        li.dataset.status = status.get(s.key) || "pending";
        li.textContent = s.title + " — " + (status.get(s.key) || "pending").replace("_", " ");
        return li;
      }),
    );
    if (j.status === "completed") log("journey completed");
    if (typeof j.engagement === "number") $("engagement").textContent = "Engagement score: " + Math.round(j.engagement);
  }
  let last = null;
  SO.on("journey", (j) => {
    if (j.flow !== FLOW) return;
    last = { ...last, ...j, presentation: j.presentation || (last && last.presentation) };
    renderJourney(last);
  });
  SO.on("intervention", (iv) => log(iv.outcome ? "help " + iv.outcome : "help arrived: " + iv.title));
  SO.on("error", (e) => log("SDK: " + e.message));

  // preview draws a step the dashboard's flow editor sent in the address
  // (#so-preview={flow,key,title,kind,target}): its target outlined and its
  // title beside it, as text only, so a crafted link can inject nothing.
  function preview() {
    const m = /^#so-preview=(.+)$/.exec(location.hash);
    if (!m) return false;
    let p = null;
    try {
      p = JSON.parse(decodeURIComponent(m[1]));
    } catch (_) {
      /* not a preview the editor made */
    }
    if (!p || typeof p !== "object") return false;
    const text = (v) => (typeof v === "string" ? v.slice(0, 200) : "");
    let target = null;
    try {
      target = text(p.target) ? document.querySelector(text(p.target)) : null;
    } catch (_) {
      /* a selector the page cannot parse is reported below as not found */
    }
    const el = (tag, content) => Object.assign(document.createElement(tag), { textContent: content });
    const card = document.createElement("section");
    Object.assign(card, { id: "step-preview", className: "preview" });
    card.setAttribute("aria-label", "Step preview");
    card.append(el("h2", "Preview: " + (text(p.title) || text(p.key) || "untitled step")),
      el("p", `Step ${text(p.key) || "?"} of flow ${text(p.flow) || "?"}${text(p.kind) ? " (" + text(p.kind) + ")" : ""}, as the editor has it.`),
      el("p", target ? `Shown on ${text(p.target)}, outlined below.` : text(p.target) ? `Its target ${text(p.target)} is not on this page.` : "No target: the SDK shows it as a modal."));
    $("main").prepend(card);
    if (target) target.classList.add("previewed"), target.scrollIntoView({ block: "center" });
    const steps = $("journey-steps");
    if (steps) steps.replaceChildren(el("li", "Previewing a step: this visit starts no journey."));
    return true;
  }

  if (!preview()) {
    const start = SO.startFlow(FLOW);
    if (start && start.then) start.then((j) => j && log("journey " + j.status.replace("_", " ")));
  }

  const page = document.body.dataset.page;
  if (page === "home") {
    const status = $("connect-status");
    if (store("connected")) status.textContent = "Connected to Acme Data.";
    $("connect").addEventListener("click", () => {
      store("connected", true);
      status.textContent = "Connected to Acme Data.";
      done("connect");
      log("account connected");
    });
  }
  const listForm = (formId, listId, key, step, describe) => {
    const form = $(formId);
    if (!form) return;
    const list = $(listId);
    const draw = () => list.replaceChildren(...(store(key) || []).map((t) => Object.assign(document.createElement("li"), { textContent: t })));
    draw();
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const value = new FormData(form).get(form.elements[0].name);
      store(key, [...(store(key) || []), describe(value)]);
      draw();
      form.reset();
      done(step);
      log(step.replace("-", " ") + " done");
    });
  };
  listForm("item-form", "items", "items", "create-item", (v) => v);
  listForm("invite-form", "invites", "invites", "invite", (v) => "Invited " + v);
  const billing = $("billing-form");
  if (billing) {
    billing.addEventListener("submit", (e) => {
      e.preventDefault();
      $("billing-status").textContent = "Plan saved: " + billing.elements.plan.value + ".";
      done("billing");
      log("billing set up");
    });
  }
  document.addEventListener("invalid", (e) => log("form refused " + (e.target.name || "a field")), true);
  $("reset").addEventListener("click", () => {
    SO.reset();
    for (const k of Object.keys(localStorage)) if (k.startsWith("acme:")) localStorage.removeItem(k);
  });
})();
