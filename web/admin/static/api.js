// The dashboard's one way to the API: the session cookie, the CSRF token
// from /v1/auth/me on every unsafe request, and the chosen project in
// X-Project. Pages import it; nothing here is inline, so the CSP allows
// scripts from this origin only.

const PROJECT_KEY = "so_admin_project";
let me = null;

/** ApiError carries the API's error code, message and field. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.field = e.field || "";
  }
}

/** project is the project the dashboard acts in. */
export function project() {
  return localStorage.getItem(PROJECT_KEY) || (me && me.projects[0] && me.projects[0].id) || "default";
}

/** role is the signed-in account's role in the current project. */
export function role() {
  const p = me && me.projects.find((x) => x.id === project());
  return p ? p.role : "";
}

/** can tells whether the role may do what a scope allows (viewer: read; editor: write too; owner: admin too). */
export function can(scope) {
  const r = role();
  return scope === "read" ? r !== "" : scope === "write" ? r === "editor" || r === "owner" : r === "owner";
}

/** api calls the API and returns the decoded body; an error status throws ApiError. */
export async function api(method, path, body) {
  const headers = { "X-Project": project() };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = me ? me.csrf_token : "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** session loads the signed-in account, or sends the browser to the sign-in page. */
export async function session() {
  const res = await fetch("/v1/auth/me", { credentials: "same-origin" });
  if (res.status === 401) {
    location.assign("/admin/login?next=" + encodeURIComponent(location.pathname));
    return null;
  }
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  me = await res.json();
  if (!me.projects.some((p) => p.id === localStorage.getItem(PROJECT_KEY))) localStorage.removeItem(PROJECT_KEY);
  return me;
}

/** shell fills the header: the account, the project switcher, sign-out; and hides what the role may not use. */
export function shell() {
  document.getElementById("account").textContent = me.account.email;
  const sel = document.getElementById("project");
  sel.replaceChildren(...me.projects.map((p) => new Option(`${p.name} (${p.role})`, p.id, false, p.id === project())));
  sel.addEventListener("change", () => {
    localStorage.setItem(PROJECT_KEY, sel.value);
    location.reload();
  });
  document.getElementById("signout").addEventListener("click", async () => {
    await api("POST", "/v1/auth/logout").catch(() => {});
    location.assign("/admin/login");
  });
  for (const el of document.querySelectorAll("[data-needs]")) if (!can(el.dataset.needs)) el.remove();
}

/** status says something to screen readers and eyes alike. */
export function status(text) {
  document.getElementById("status").textContent = text;
}

/** stream reads a server-sent event stream with the dashboard's headers (EventSource cannot send them), calling on(event, data) until signal aborts; it reconnects after a drop. */
export async function stream(path, on, signal) {
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: { "X-Project": project(), Accept: "text/event-stream" }, credentials: "same-origin", signal });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      on("open", null);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) on(event, JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      on("error", err);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** text sets an element's text by id. */
export function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

/** clearErrors empties a form's error messages and unmarks its fields. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll(".error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** showError puts the API's message at the field it names (data-field), or in the element fallback. */
export function showError(form, err, fallback) {
  const el = err.field && form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const msg = el && (document.getElementById(el.getAttribute("aria-describedby") || "") || el.parentElement.querySelector(".error"));
  if (msg) {
    el.setAttribute("aria-invalid", "true");
    msg.textContent = err.message;
    el.focus();
  } else document.getElementById(fallback).textContent = (err.field ? err.field + ": " : "") + err.message;
}

/** emptyRow shows a table body's one row saying there is nothing. */
export function emptyRow(tbody, columns, text) {
  const tr = document.createElement("tr");
  Object.assign(tr.insertCell(), { colSpan: columns, textContent: text });
  tbody.replaceChildren(tr);
}

/** windowParams is the API's from and to for the last `days` days, to the second. */
export function windowParams(days) {
  const to = new Date();
  const iso = (d) => d.toISOString().slice(0, 19) + "Z";
  return { from: iso(new Date(to.getTime() - Number(days) * 86400e3)), to: iso(to) };
}
