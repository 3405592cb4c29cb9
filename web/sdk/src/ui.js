// Rendering: tour steps anchored to their targets, the fallback modal, the
// checklist and intervention popovers, all inside one open Shadow DOM host so
// the host page's styles cannot break them and tests and assistive technology
// can reach them.

const CSS = `
:host{all:initial}
*{box-sizing:border-box}
.so{font:14px/1.45 var(--so-font,system-ui,-apple-system,"Segoe UI",sans-serif);color:var(--so-fg,#1b1f24)}
.card{position:fixed;z-index:2;max-width:min(340px,calc(100vw - 16px));background:var(--so-bg,#fff);color:var(--so-fg,#1b1f24);border-radius:var(--so-radius,10px);box-shadow:0 8px 30px rgba(0,0,0,.22);padding:14px 16px;outline:none;transition:opacity .15s}
.card h2{font-size:15px;margin:0 0 6px;padding-inline-end:22px}
.body{margin:0 0 10px;overflow-wrap:anywhere}
.body img,.body video,.body iframe{max-width:100%}
.video{display:block;width:100%;max-height:60vh;margin:0 0 10px;border-radius:6px;background:#000}
.row{display:flex;gap:8px;justify-content:flex-end;flex-wrap:wrap}
button{font:inherit;border-radius:6px;border:1px solid var(--so-accent,#2557d6);padding:5px 12px;cursor:pointer;background:transparent;color:var(--so-accent-fg-inverse,#1d46ad)}
button.primary{background:var(--so-accent,#2557d6);color:var(--so-accent-fg,#fff)}
button:focus-visible{outline:3px solid var(--so-focus,#f2a900);outline-offset:2px}
.x{position:absolute;inset-inline-end:8px;top:8px;border:0;padding:2px 7px;font-size:16px;line-height:1;color:inherit}
.backdrop{position:fixed;inset:0;z-index:1;background:rgba(10,14,20,.45)}
.modal{left:50%;top:50%;transform:translate(-50%,-50%);max-width:min(520px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto}
[dir=rtl] .modal{left:auto;right:50%;transform:translate(50%,-50%)}
.launcher{position:fixed;z-index:2;bottom:18px;inset-inline-end:18px;background:var(--so-accent,#2557d6);color:var(--so-accent-fg,#fff);border:0;border-radius:999px;padding:9px 16px;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.panel{bottom:66px;inset-inline-end:18px;width:300px}
.panel ol{list-style:none;margin:0;padding:0}
.panel li button{width:100%;text-align:start;border:0;padding:6px 8px;color:inherit;display:flex;gap:8px}
.panel li button[aria-current=step]{background:rgba(37,87,214,.1)}
.mark{width:1.2em;flex:none}
.bar{height:6px;background:#e3e7ee;border-radius:3px;margin:4px 0 10px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--so-accent,#2557d6)}
.intervention{border-top:4px solid var(--so-accent,#2557d6)}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media (prefers-reduced-motion:reduce){.card{transition:none}}
`;

const RTL = /^(ar|he|fa|ur|ps|yi|dv|ku)(-|$)/i;
let ids = 0;

/** createUI builds the Shadow DOM host and returns what the SDK draws with. */
export function createUI({ locale, t, guard, onStepAction, onChecklistPick, onIntervention }) {
  const host = document.createElement("div");
  host.setAttribute("data-smartonboard", "");
  host.style.cssText = "position:fixed;top:0;left:0;width:0;height:0;z-index:2147483000";
  const root = host.attachShadow({ mode: "open" });
  const wrap = document.createElement("div");
  wrap.className = "so";
  const lang = locale || navigator.language || "";
  wrap.dir = RTL.test(lang) || document.documentElement.dir === "rtl" ? "rtl" : "ltr";
  wrap.lang = lang;
  const style = document.createElement("style");
  style.textContent = CSS;
  root.append(style, wrap);
  (document.body || document.documentElement).appendChild(host);

  let step = null; // {el, target, cleanup}
  let modal = null; // {el, backdrop, restore}
  let panel = null;
  let launcher = null;
  let popover = null;
  // A polite live region tells screen readers of a step or help that appears
  // without taking focus from what the user is doing.
  const live = document.createElement("div");
  live.className = "sr";
  live.setAttribute("aria-live", "polite");
  wrap.append(live);
  const announce = (text) => {
    live.textContent = "";
    setTimeout(() => (live.textContent = text), 50);
  };
  // Esc closes the checklist, the help or the step on screen even when focus
  // is in the page (the cards' own handlers stop the key when focus is inside).
  const onEsc = guard((e) => {
    if (e.key !== "Escape" || modal) return;
    if (panel) return closePanel();
    const open = popover || step;
    if (open) open.el.querySelector(".x").click();
  });
  document.addEventListener("keydown", onEsc);

  const el = (tag, attrs = {}, ...children) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") n.textContent = v;
      else if (k === "html") n.innerHTML = v; // sanitized by the server (bluemonday)
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), guard(v));
      else if (v !== false && v != null) n.setAttribute(k, v === true ? "" : v);
    }
    n.append(...children.filter(Boolean));
    return n;
  };

  function card(kind, { title, html, video, buttons, onClose, labelPrefix }) {
    const id = "so-" + ++ids;
    const c = el("div", { class: "card " + kind, role: "dialog", "aria-labelledby": id + "-t", "aria-describedby": html ? id + "-b" : false, tabindex: "-1" });
    const parts = [
      el("button", { class: "x", type: "button", "aria-label": t("close"), onclick: onClose, text: "×" }),
      el("h2", { id: id + "-t" }, labelPrefix ? el("span", { class: "sr", text: labelPrefix + ": " }) : null, document.createTextNode(title || "")),
      video ? el("video", { class: "video", src: video, controls: true, preload: "metadata", "aria-label": title || "" }) : null,
      html ? el("div", { class: "body", id: id + "-b", html }) : null,
      el("div", { class: "row" }, ...buttons.map((b) => el("button", { type: "button", class: b.primary ? "primary" : "", onclick: b.onClick, text: b.label }))),
    ];
    c.append(...parts.filter(Boolean));
    c.addEventListener("keydown", guard((e) => e.key === "Escape" && (e.stopPropagation(), onClose())));
    return c;
  }

  // place puts a card beside its target, on the preferred side when it fits,
  // and always inside the viewport.
  function place(c, target, placement) {
    const r = target.getBoundingClientRect();
    const w = c.offsetWidth;
    const h = c.offsetHeight;
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const gap = 10;
    const fits = {
      bottom: r.bottom + gap + h <= vh,
      top: r.top - gap - h >= 0,
      right: r.right + gap + w <= vw,
      left: r.left - gap - w >= 0,
    };
    const order = [placement, "bottom", "top", "right", "left"].filter((p) => p && p !== "auto" && p in fits);
    const side = order.find((p) => fits[p]) || "bottom";
    let x = side === "right" ? r.right + gap : side === "left" ? r.left - gap - w : r.left + r.width / 2 - w / 2;
    let y = side === "bottom" ? r.bottom + gap : side === "top" ? r.top - gap - h : r.top + r.height / 2 - h / 2;
    x = Math.max(8, Math.min(x, vw - w - 8));
    y = Math.max(8, Math.min(y, vh - h - 8));
    c.style.left = x + "px";
    c.style.top = y + "px";
    c.dataset.placement = side;
  }

  // anchor keeps a card placed while the page scrolls, resizes or changes.
  function anchor(c, target, placement) {
    const update = guard(() => target.isConnected && place(c, target, placement));
    update();
    let frame = 0;
    const soon = () => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), update()));
    };
    window.addEventListener("scroll", soon, true);
    window.addEventListener("resize", soon);
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(soon) : null;
    if (ro) ro.observe(target);
    const mo = new MutationObserver(soon);
    mo.observe(document.body, { childList: true, subtree: true, attributes: true });
    return () => {
      window.removeEventListener("scroll", soon, true);
      window.removeEventListener("resize", soon);
      if (ro) ro.disconnect();
      mo.disconnect();
      cancelAnimationFrame(frame);
    };
  }

  function stepButtons(s) {
    const b = [];
    if (!s.required) b.push({ label: t("skip"), onClick: () => onStepAction(s, "skip") });
    b.push({ label: s.last ? t("done") : t("next"), primary: true, onClick: () => onStepAction(s, "complete") });
    return b;
  }

  /** showStep draws a step as a tooltip on target, or as a modal without one. */
  function showStep(s, target) {
    hideStep();
    if (!target) return showModal({ title: s.title, html: s.body_html, video: s.video_url, buttons: stepButtons(s), onClose: () => onStepAction(s, "close"), kind: "step" });
    const c = card("step", { title: s.title, html: s.body_html, buttons: stepButtons(s), onClose: () => onStepAction(s, "close") });
    c.dataset.step = s.key;
    wrap.append(c);
    step = { el: c, target, cleanup: anchor(c, target, s.placement) };
    announce(s.title);
  }

  function hideStep() {
    if (step) {
      step.cleanup();
      step.el.remove();
      step = null;
    }
    if (modal && modal.kind === "step") closeModal();
  }

  /** showModal opens a modal dialog with focus trapped inside and restored after. */
  function showModal({ title, html, video, buttons, onClose, kind }) {
    closeModal();
    // Focus inside the SDK shows as its host: remember the element within.
    const restore = document.activeElement === host ? root.activeElement : document.activeElement;
    const backdrop = el("div", { class: "backdrop", onclick: onClose });
    const c = card("modal", { title, html, video, buttons, onClose });
    c.setAttribute("aria-modal", "true");
    c.dataset.kind = kind || "content";
    c.addEventListener("keydown", guard((e) => e.key === "Tab" && trap(c, e)));
    wrap.append(backdrop, c);
    modal = { el: c, backdrop, restore, kind };
    const first = focusables(c).find((b) => !b.classList.contains("x")) || c;
    first.focus();
    return c;
  }

  function closeModal() {
    if (!modal) return;
    const { el: c, backdrop, restore } = modal;
    modal = null;
    c.remove();
    backdrop.remove();
    if (restore && restore.isConnected && restore.focus) restore.focus();
  }

  /** renderChecklist draws (or updates) the launcher and, when open, the panel. */
  function renderChecklist(list) {
    if (!list) {
      if (launcher) launcher.remove();
      if (panel) panel.remove();
      launcher = panel = null;
      return;
    }
    const done = list.steps.filter((s) => s.status === "completed" || s.status === "skipped").length;
    const label = `${list.title} ${done}/${list.steps.length}`;
    if (!launcher) {
      launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "so-checklist", onclick: () => togglePanel(list) });
      wrap.append(launcher);
    }
    launcher.textContent = label;
    launcher._list = list;
    if (panel) drawPanel(list, false);
  }

  function togglePanel(list) {
    if (panel) return closePanel();
    drawPanel(launcher._list || list, true);
  }

  function drawPanel(list, focus) {
    const done = list.steps.filter((s) => s.status === "completed" || s.status === "skipped").length;
    const items = list.steps.map((s) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", "aria-current": s.key === list.current ? "step" : false, "data-step": s.key, onclick: () => (closePanel(), onChecklistPick(s)) },
          el("span", { class: "mark", "aria-hidden": "true", text: s.status === "completed" ? "✓" : s.status === "skipped" ? "–" : "○" }),
          el("span", { text: s.title }),
          el("span", { class: "sr", text: " (" + t(s.status || "pending") + ")" }),
        ),
      ),
    );
    const fresh = el(
      "div",
      { class: "card panel", id: "so-checklist", role: "dialog", "aria-label": list.title, tabindex: "-1" },
      el("button", { class: "x", type: "button", "aria-label": t("close"), onclick: closePanel, text: "×" }),
      el("h2", { text: list.title }),
      el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(list.steps.length), "aria-valuenow": String(done), "aria-label": t("progress") }, el("span", { style: `width:${(100 * done) / Math.max(1, list.steps.length)}%` })),
      el("ol", {}, ...items),
    );
    fresh.addEventListener("keydown", guard((e) => panelKeys(fresh, e)));
    const had = panel && panel.contains(root.activeElement) ? root.activeElement.dataset.step || "panel" : null;
    if (panel) panel.replaceWith(fresh);
    else wrap.append(fresh);
    // An update keeps the reader's place. (CSS here is the stylesheet, not window.CSS: no selector escaping.)
    if (had) ([...fresh.querySelectorAll("li button")].find((b) => b.dataset.step === had) || fresh).focus();
    panel = fresh;
    launcher.setAttribute("aria-expanded", "true");
    if (focus) (fresh.querySelector("[aria-current=step]") || fresh.querySelector("li button") || fresh).focus();
  }

  function panelKeys(p, e) {
    if (e.key === "Escape") return e.stopPropagation(), closePanel();
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const items = [...p.querySelectorAll("li button")];
    const i = items.indexOf(root.activeElement);
    const next = items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length];
    if (next) (e.preventDefault(), next.focus());
  }

  function closePanel() {
    if (!panel) return;
    panel.remove();
    panel = null;
    if (launcher) {
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
    }
  }

  /** showIntervention draws an intervention as a popover at target, or in a corner. */
  function showIntervention(iv, target, placement) {
    hideIntervention();
    const actions = iv.actions && iv.actions.length ? iv.actions : [{ id: "accept", label: t("showMe") }, { id: "dismiss", label: t("notNow") }];
    const buttons = actions.map((a) => ({ label: a.label, primary: a.id === "accept", onClick: () => (hideIntervention(), onIntervention(iv, a.id === "accept" ? "accepted" : "dismissed")) }));
    const c = card("intervention", { title: iv.title, html: iv.body_html, buttons, labelPrefix: t("help"), onClose: () => (hideIntervention(), onIntervention(iv, "dismissed")) });
    c.dataset.intervention = iv.id;
    wrap.append(c);
    announce(t("help") + ": " + (iv.title || ""));
    if (target) popover = { el: c, cleanup: anchor(c, target, placement || "auto") };
    else {
      c.style.bottom = "70px";
      c.style.insetInlineEnd = "18px";
      popover = { el: c, cleanup: () => {} };
    }
    onIntervention(iv, "shown");
  }

  function hideIntervention() {
    if (popover) {
      popover.cleanup();
      popover.el.remove();
      popover = null;
    }
  }

  function destroy() {
    hideStep();
    hideIntervention();
    closeModal();
    renderChecklist(null);
    document.removeEventListener("keydown", onEsc);
    host.remove();
  }

  return { showStep, hideStep, showModal, closeModal, renderChecklist, showIntervention, hideIntervention, destroy, root };
}

function focusables(c) {
  return [...c.querySelectorAll("button,[href],input,select,textarea,[tabindex]:not([tabindex='-1'])")].filter((n) => !n.disabled);
}

// trap keeps Tab inside a modal.
function trap(c, e) {
  const f = focusables(c);
  if (!f.length) return;
  const active = c.getRootNode().activeElement;
  if (e.shiftKey && (active === f[0] || active === c)) (e.preventDefault(), f[f.length - 1].focus());
  else if (!e.shiftKey && active === f[f.length - 1]) (e.preventDefault(), f[0].focus());
}
