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

  const start = SO.startFlow(FLOW);
  if (start && start.then) start.then((j) => j && log("journey " + j.status.replace("_", " ")));

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
