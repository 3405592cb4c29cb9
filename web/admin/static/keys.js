// API keys: create with scopes (shown once), revoke; owners only.
import { api, can, session, shell, status } from "./api.js";

const me = await session();
if (me) {
  shell();
  const form = document.getElementById("create");
  if (form) {
    const scopes = document.getElementById("scopes");
    const kind = document.getElementById("kind");
    const sync = () => (scopes.hidden = kind.value !== "secret");
    kind.addEventListener("change", sync);
    sync();
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = document.getElementById("create-error");
      err.textContent = "";
      const body = { kind: kind.value, name: form.name.value.trim() };
      if (body.kind === "secret") body.scopes = [...form.querySelectorAll("input[name=scope]:checked")].map((c) => c.value);
      try {
        const k = await api("POST", "/v1/api-keys", body);
        document.getElementById("created").hidden = false;
        document.getElementById("created-key").textContent = k.key;
        form.name.value = "";
        await refresh();
      } catch (e) {
        err.textContent = (e.field ? e.field + ": " : "") + e.message;
      }
    });
  }
  refresh().catch((err) => status("Could not load the keys: " + err.message));
}

async function refresh() {
  const { items } = await api("GET", "/v1/api-keys");
  document.querySelector("#keys tbody").replaceChildren(...items.map(row));
}

function row(k) {
  const tr = document.createElement("tr");
  tr.dataset.key = k.prefix;
  for (const c of [k.name, k.kind, k.prefix + "…", (k.scopes || []).join(", ") || "–", k.last_used_at ? new Date(k.last_used_at).toLocaleString() : "never",
    k.revoked_at ? "revoked" : "active"]) tr.insertCell().textContent = c;
  const actions = tr.insertCell();
  if (!k.revoked_at && can("admin")) {
    const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Revoke" });
    b.setAttribute("aria-label", `Revoke ${k.name}`);
    b.addEventListener("click", async () => {
      if (!confirm(`Revoke ${k.name}? Requests with it fail at once.`)) return;
      try {
        await api("DELETE", "/v1/api-keys/" + k.id);
        status(`${k.name} is revoked.`);
        await refresh();
      } catch (err) {
        status(err.message);
      }
    });
    actions.append(b);
  }
  return tr;
}
