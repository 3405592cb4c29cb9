// The sign-in page: POST /v1/auth/login with the form's CSRF token, then on
// to where the visitor was going.
const form = document.getElementById("login");
const error = document.getElementById("error");

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const res = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.csrf_token.value },
      credentials: "same-origin",
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      error.textContent = res.status === 401 ? "Wrong email or password." : (body && body.error && body.error.message) || `Sign-in failed (${res.status}).`;
      form.password.focus();
      return;
    }
    const next = new URLSearchParams(location.search).get("next") || "";
    location.assign(next.startsWith("/admin/") ? next : "/admin/");
  } catch (err) {
    error.textContent = "The server cannot be reached: " + err.message;
  } finally {
    button.disabled = false;
  }
});
