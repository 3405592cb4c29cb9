// Autocapture: what the SDK records without the host page asking, each part
// switchable. It records where things happen (an element path, a URL path),
// never what a user typed or read.

import { elementPath, scrub } from "./util.js";

const INTERACTIVE = 'a[href],button,input,select,textarea,summary,[role="button"],[role="link"],[role="menuitem"],[role="tab"],[data-so-id]';
const RAGE_CLICKS = 3; // on one element within RAGE_MS
const RAGE_MS = 1000;
const HESITATION_MS = 5000;
const IDLE_MS = 60000;

/** DEFAULTS switch every part of autocapture on. */
export const DEFAULTS = {
  pageViews: true,
  clicks: true,
  rageClicks: true,
  hesitation: true,
  errors: true,
  forms: true,
  back: true,
  idle: true,
};

/** startCapture installs the listeners and returns the function that removes them.
 * record(type, properties) queues an event; target() is the current step's
 * target element, if any; onNavigate is told of every navigation. */
export function startCapture(options, { record, target, onNavigate, guard }) {
  const on = { ...DEFAULTS, ...(options === false ? Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, false])) : options || {}) };
  const undo = [];
  const listen = (node, type, fn, opts) => {
    const g = guard(fn);
    node.addEventListener(type, g, opts);
    undo.push(() => node.removeEventListener(type, g, opts));
  };
  const interactive = (el) => (el && el.closest ? el.closest(INTERACTIVE) : null);
  const ours = (el) => el && el.closest && el.closest("[data-smartonboard]");

  // Page views, single-page navigation included.
  let lastPath = location.pathname;
  const navigated = (back) => {
    if (location.pathname === lastPath) return;
    lastPath = location.pathname;
    isBack();
    if (on.pageViews) record("page_viewed", { path: location.pathname });
    onNavigate(back);
  };
  if (on.pageViews) record("page_viewed", { path: location.pathname });
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    let live = true;
    const wrapper = function (...args) {
      const out = original.apply(this, args);
      if (live) guard(() => navigated(false))();
      return out;
    };
    history[method] = wrapper;
    // Put the original back only if no router patched it after us; else go quiet.
    undo.push(() => ((live = false), history[method] === wrapper && (history[method] = original)));
  }
  listen(window, "popstate", () => {
    const back = isBack();
    if (back && on.back) record("step_back", {});
    navigated(back);
  });
  listen(window, "hashchange", () => navigated(false));

  // Clicks and rage clicks.
  let recent = [];
  listen(
    document,
    "click",
    (e) => {
      const el = interactive(e.target) || (on.rageClicks ? e.target : null);
      if (!el || ours(el) || el.nodeType !== 1) return;
      const path = elementPath(el);
      if (on.clicks && interactive(e.target)) record("click", { path });
      const now = Date.now();
      recent = recent.filter((c) => now - c.at < RAGE_MS && c.el === el);
      recent.push({ el, at: now });
      if (on.rageClicks && recent.length === RAGE_CLICKS) record("rage_click", { path, clicks: RAGE_CLICKS });
      hesitation.reset();
    },
    true,
  );

  // Hesitation: the pointer resting on the step's target or an interactive
  // element without acting.
  const hesitation = (() => {
    let timer = 0;
    let over = null;
    return {
      over(el) {
        if (el === over) return;
        this.reset();
        over = el;
        if (!el || !on.hesitation) return;
        timer = setTimeout(
          guard(() => {
            timer = 0;
            if (over === el && el.isConnected) record("hesitation", { path: elementPath(el), duration_ms: HESITATION_MS });
          }),
          HESITATION_MS,
        );
      },
      reset() {
        clearTimeout(timer);
        timer = 0;
        over = null;
      },
    };
  })();
  listen(document, "pointerover", (e) => {
    const t = target();
    const el = t && t.contains(e.target) ? t : interactive(e.target);
    hesitation.over(el && !ours(el) ? el : null);
  });
  listen(document, "keydown", () => hesitation.reset(), true);

  // Errors: the message and where, never the page's data.
  let errorsThisMinute = 0;
  let minute = 0;
  const jsError = (message, source) => {
    const m = Math.floor(Date.now() / 60000);
    if (m !== minute) (minute = m), (errorsThisMinute = 0);
    if (++errorsThisMinute > 10) return;
    record("error", { kind: "javascript", message: scrub(message), source: String(source || "").split(/[?#]/)[0].slice(0, 200) });
  };
  if (on.errors) {
    listen(window, "error", (e) => {
      if (e.target === window || !e.target || !e.target.tagName) jsError(e.message, e.filename);
    });
    listen(window, "unhandledrejection", (e) => jsError(e.reason && e.reason.message ? e.reason.message : e.reason, "promise"));
  }
  if (on.forms) {
    listen(
      document,
      "invalid",
      (e) => {
        const el = e.target;
        if (!el || ours(el)) return;
        const masked = el.closest && el.closest("[data-so-mask]");
        record("error", { kind: "validation", path: elementPath(el), field: masked ? "" : (el.name || "").slice(0, 64), reason: reasonOf(el) });
      },
      true,
    );
  }

  // Idle: no input for a minute.
  let idleTimer = 0;
  let idle = false;
  const active = () => {
    clearTimeout(idleTimer);
    if (idle) idle = false;
    idleTimer = setTimeout(
      guard(() => {
        if (!on.idle || document.visibilityState === "hidden") return;
        idle = true;
        record("idle", { idle_ms: IDLE_MS });
      }),
      IDLE_MS,
    );
  };
  for (const t of ["pointerdown", "keydown", "scroll", "pointermove"]) listen(document, t, active, { passive: true, capture: true });
  active();
  undo.push(() => clearTimeout(idleTimer), () => hesitation.reset());

  return () => undo.splice(0).forEach((f) => f());
}

// reasonOf names which constraint failed, never the value.
function reasonOf(el) {
  const v = el.validity;
  if (!v) return "invalid";
  for (const k of ["valueMissing", "typeMismatch", "patternMismatch", "tooLong", "tooShort", "rangeUnderflow", "rangeOverflow", "stepMismatch", "badInput", "customError"]) {
    if (v[k]) return k;
  }
  return "invalid";
}

// isBack tells a back navigation from a forward one where the Navigation API
// says which; without it every popstate counts as back, the common case.
let lastIndex = typeof navigation !== "undefined" && navigation.currentEntry ? navigation.currentEntry.index : -1;
function isBack() {
  if (typeof navigation === "undefined" || !navigation.currentEntry) return true;
  const i = navigation.currentEntry.index;
  const back = i < lastIndex;
  lastIndex = i;
  return back;
}
