// The dashboard, used as an admin would: signing in as the owner the first
// start printed (a wrong password is refused with a message, a sign-in
// without the form's token refused), the overview's live counters moving
// while the demo is used in another tab, the models page, and a viewer who
// sees no edit controls and whose forged requests the API refuses; no console error
// and no serious axe finding on any page; a screenshot of every page. Run by
// cmd/smartonboard/browser_e2e_test.go against `serve` with the demo on.

import assert from "node:assert/strict";
import { acceptHelp, axe, consoleErrors, result, run, settings, shadow, struggleOnInvite, until } from "./lib.mjs";

const { server, shots, ownerEmail, ownerPassword, viewerEmail, viewerPassword } = settings;
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

// unexpected drops the error answers a scenario provokes on purpose (each
// also logs Chrome's "Failed to load resource", which names no URL; the
// response lines, which do, are matched by URL).
const unexpected = (errors, status, ...allowed) =>
  errors.filter((e) => !allowed.some((a) => e.includes(a)) && !e.includes(`responded with a status of ${status}`));

// PAGES are every page with what shows it has loaded its data.
const PAGES = [["/admin/", "#ov-journeys_started"], ["/admin/funnel", "#steps"], ["/admin/users", "#results li"],
  ["/admin/flows", "#flows li"], ["/admin/content", "#items li"], ["/admin/interventions", "#effects tbody tr"], ["/admin/models", "#models tbody tr"],
  ["/admin/alerts", "#alerts tbody tr"], ["/admin/keys", "#keys tbody tr"], ["/admin/webhooks", "#hooks tbody tr"], ["/admin/settings", "#audit tbody tr"]];

async function signIn(page, email, password) {
  await page.goto(server + "/admin/login");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("#login button[type=submit]");
}

await run([
  [
    "sign-in refuses a wrong password, then the owner watches the demo move the live counters",
    async (browser) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      await page.goto(server + "/admin/");
      await until("the sign-in page", () => page.url().includes("/admin/login"));
      assert.deepEqual(await axe(page), [], "axe-core on the sign-in page");
      await shot(page, "admin-login");
      await signIn(page, ownerEmail, "not the password");
      await until("the refusal", async () => (await page.textContent("#error")).includes("Wrong email or password"));
      await shot(page, "admin-login-refused");

      await page.fill("#password", ownerPassword);
      await page.click("#login button[type=submit]");
      await until("the overview", () => page.url().endsWith("/admin/") && page.locator("#account").textContent());
      assert.equal(await page.textContent("#account"), ownerEmail);
      await page.selectOption("#project", "demo");
      await until("the demo project's overview", async () => (await page.inputValue("#project")) === "demo" && (await page.textContent("#live-state")) === "(live)");
      assert.deepEqual(await axe(page), [], "axe-core on the overview");

      const before = Number((await page.textContent("#live-events_per_minute")) || "0") || 0;
      const demo = await ctx.newPage();
      await demo.goto(server + "/demo/");
      await until("the demo's SDK", () => demo.evaluate(() => !!(window.SmartOnboarding && window.SmartOnboarding.debug())));
      const demoUser = await demo.evaluate(() => window.SmartOnboarding.debug().userId);
      await demo.click("#connect");
      const moved = await until("the live counter to move", async () => {
        const n = Number(await page.textContent("#live-events_per_minute"));
        return n > before ? n : 0;
      }, 20000);
      await shot(page, "admin-overview-live");
      assert.match(await page.textContent("#alerts"), /critical: Completion of "getting-started" within a day fell/, "the overview lists the demo's open alert");
      let flip = false;
      await until("today's journeys in the overview's window", async () => {
        await page.selectOption("#days", (flip = !flip) ? "1" : "30");
        await page.waitForTimeout(300);
        return Number(await page.textContent("#ov-journeys_started")) >= 1;
      }, 20000);
      await demo.click("nav >> text=Items");
      await demo.fill("#item-name", "Quarterly plan");
      await demo.click("#item-form button[type=submit]");
      await until("two steps done in the demo", async () => (await demo.locator('#journey-steps li[data-status="completed"]').count()) === 2, 10000);
      await demo.click("nav >> text=Team");
      await until("the demo's SDK on the team page", () => demo.evaluate(() => !!(window.SmartOnboarding && window.SmartOnboarding.debug())));
      await struggleOnInvite(demo);
      assert.equal(await acceptHelp(demo), 200, "the demo user's accepted help is stored");
      await demo.close();

      await page.click("nav >> text=Models");
      await until("the models page", () => page.locator("#models tbody tr").count());
      assert.ok(await page.locator("#train").count(), "the owner sees the train button");
      assert.deepEqual(await axe(page), [], "axe-core on the models page");
      await shot(page, "admin-models");

      await page.click("nav >> text=Users");
      await until("the users page", () => page.locator("#results li").count());
      await page.fill("#q-id", demoUser);
      await page.click("#search button[type=submit]");
      await until("the demo user's journey", async () => (await page.textContent("#journeys")).includes("Predicted success"));
      assert.match(await page.textContent("#journeys"), /connect: completed/, "the timeline shows the step done in the demo");
      assert.match(await page.textContent("#journeys"), /Predicted success: \d+% \(model v\d+\)/, "the demo user is predicted by the demo's model");
      await until("the user's struggle and engagement", async () => (await page.locator("#detections li").count()) && (await page.locator(".engagement").count()));
      assert.match(await page.textContent("#detections"), /on getting-started \/ invite/, "the struggle on the invite step");
      const accepted = /getting-started \/ invite.*struggle: .*accepted/s;
      await until("the help the demo user accepted", async () => accepted.test(await page.textContent("#interventions tbody")));
      assert.deepEqual(await axe(page), [], "axe-core on a user's page");
      await shot(page, "admin-user");

      await page.click("nav >> text=Funnel");
      await until("the funnel table", () => page.locator("#steps tbody tr").count());
      assert.ok(await page.locator("#chart canvas").count(), "the funnel chart draws");
      const first = await page.locator("#steps tbody tr").first().locator("td").allTextContents();
      assert.equal(first[0], "connect");
      assert.ok(Number(first[1]) >= 1 && Number(first[2]) >= 1, `the demo user reached and completed connect: ${first}`);
      assert.deepEqual(await axe(page), [], "axe-core on the funnel");
      await shot(page, "admin-funnel");

      // The demo's history ends with a release that made its invite step
      // harder: the alert rules found the drop when it was stored.
      await page.click("nav >> text=Alerts");
      const ack = page.locator("#alerts tr", { hasText: 'Completion of "getting-started"' }).locator("button", { hasText: "Acknowledge" });
      await until("the demo's completion-drop alert", () => ack.count());
      assert.deepEqual(await axe(page), [], "axe-core on the alerts page");
      await shot(page, "admin-alerts");
      const alertRow = page.locator("#alerts tr", { hasText: 'Completion of "getting-started"' });
      const recent = Number((await alertRow.textContent()).match(/of the (\d+) journeys started/)[1]);
      await alertRow.locator("a", { hasText: "See the funnel" }).click();
      await until("the funnel behind the alert", () => page.locator("#steps tbody tr").count());
      assert.equal(await page.inputValue("#flow"), "getting-started", "the alert's flow");
      assert.equal(await page.inputValue("#days"), "linked", "the alert's window");
      const reached = Number((await page.locator("#steps tbody tr").first().locator("td").allTextContents())[1]);
      // The alert counts whole hours inside its window; the funnel also counts the hours at either end.
      assert.ok(reached >= recent && reached <= recent * 1.2, `the funnel over the alert's window: ${reached} journeys, the alert's ${recent}`);
      await page.goBack();
      await until("the demo's completion-drop alert again", () => ack.count());
      await ack.first().click();
      await until("the alert acknowledged", async () => (await page.textContent("#status")).includes("acknowledged"));

      await page.goto(server + "/admin/"); // switching on the user's page would look for the demo user in the other project
      await page.selectOption("#project", "default");
      await until("the default project", async () => (await page.inputValue("#project")) === "default");

      await page.click("nav >> text=API keys");
      await until("the keys page", () => page.locator("#keys tbody tr").count());
      await page.fill("#name", "ui-made");
      await page.selectOption("#kind", "secret");
      await page.click("#create button[type=submit]");
      const key = await until("the new key's value", async () => (await page.textContent("#created-key")).trim());
      const callWith = (k) => page.evaluate(async (k) => (await fetch("/v1/flows", { headers: { Authorization: "Bearer " + k } })).status, k);
      assert.equal(await callWith(key), 200, "the key made in the UI works");
      assert.deepEqual(await axe(page), [], "axe-core on the keys page");
      await shot(page, "admin-keys");
      page.once("dialog", (d) => d.accept());
      await page.click('#keys button[aria-label="Revoke ui-made"]');
      await until("the key revoked", async () => (await page.textContent("#status")).includes("revoked"));
      await until("the revoked key refused", async () => (await callWith(key)) === 401, 10000);
      assert.deepEqual(unexpected(errors, 401, "401 from POST " + server + "/v1/auth/login", "401 from GET " + server + "/v1/auth/me",
        "401 from GET " + server + "/v1/flows"), [], "console errors");
      result({ scenario: "owner", outcome: String(moved), user: demoUser });
      await ctx.close();
    },
  ],
  [
    "the owner edits and publishes the demo's flow, a field error shown at its field, and the demo shows the change",
    async (browser) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      await signIn(page, ownerEmail, ownerPassword);
      await until("the overview", () => page.url().endsWith("/admin/") && page.locator("#account").textContent());
      await page.selectOption("#project", "demo");
      await until("the demo project", async () => (await page.inputValue("#project")) === "demo");
      await page.click("nav >> text=Flows");
      await until("the flow list", () => page.locator("#flows a").count());
      await page.fill("#new-key", "Bad key");
      await page.fill("#new-name", "Second tour");
      await page.click("#new button[type=submit]");
      await until("the error at the new flow's key", async () => (await page.textContent("#new-key-err")).includes("is not a key"));
      await page.fill("#new-key", "second-tour");
      await page.click("#new button[type=submit]");
      await until("the new flow's draft", async () => (await page.textContent("#editor-h")) === "Draft of second-tour");
      assert.match(await page.textContent("#flows"), /Second tour — draft only/);
      await page.click("#flows a >> text=Getting started");
      await until("the draft's steps", () => page.locator("#steps fieldset").count());
      assert.deepEqual(await axe(page), [], "axe-core on the flow editor");
      await page.fill("#s1-key", "Not A Key");
      await page.click("#draft button[type=submit]");
      await until("the error at the step's key", async () => (await page.textContent("#s1-key-err")).includes("is not a key"));
      assert.equal(await page.getAttribute("#s1-key", "aria-invalid"), "true");
      await shot(page, "admin-flow-error");
      await page.fill("#s1-key", "create-item");
      await page.fill("#s0-title", "Connect your warehouse");
      await page.click("#publish");
      await until("the new version", async () => (await page.textContent("#status")).includes("Published version"));
      await until("the new version beside the old", async () => /connect: Connect your warehouse/.test(await page.textContent("#versions")));
      const cols = page.locator("#version-cols > div");
      assert.match(await cols.nth(0).textContent(), /^Version 1,.*connect: Connect your account — changed/, "the old version, its changed step marked");
      assert.match(await cols.nth(1).textContent(), /^Version 2,.*connect: Connect your warehouse — changed/, "the new version, its changed step marked");
      assert.equal(await page.locator("#version-cols li.differs").count(), 2, "only the changed step is marked, on both sides");
      await page.selectOption("#v-left", "2");
      await until("version 2 beside itself", async () => /^Version 2,/.test(await cols.nth(0).textContent()));
      assert.doesNotMatch(await page.textContent("#version-cols"), /— changed/, "a version compared with itself shows changes");
      await shot(page, "admin-flows");

      await page.fill("#s1-title", "Name your first card"); // unsaved: the preview shows the form as it is
      const [shown] = await Promise.all([ctx.waitForEvent("page"), page.click("text=Preview create-item in the demo")]);
      await until("the step's page in the demo", () => shown.locator("#step-preview").count());
      assert.equal(new URL(shown.url()).pathname, "/demo/items", "the preview opens the step's page");
      assert.match(await shown.textContent("#step-preview"), /Preview: Name your first card.*Step create-item of flow getting-started \(task\).*Shown on #item-name/s);
      assert.ok(await shown.locator("#item-name.previewed").count(), "the step's target is outlined");
      assert.match(await shown.textContent("#journey-steps"), /starts no journey/);
      assert.deepEqual(await axe(shown), [], "axe-core on a step preview");
      await shot(shown, "demo-step-preview");
      const crafted = { title: '<img src=x onerror="window.pwned = 1">', key: "k", target: "<<not a selector" };
      await shown.goto(server + "/demo/team#so-preview=" + encodeURIComponent(JSON.stringify(crafted)));
      await until("the crafted preview", () => shown.locator("#step-preview").count());
      assert.equal(await shown.locator("#step-preview img").count(), 0, "a crafted preview injected markup");
      assert.match(await shown.textContent("#step-preview"), /Preview: <img src=x.*Its target <<not a selector is not on this page/s);
      assert.equal(await shown.evaluate(() => window.pwned), undefined, "a crafted preview ran a script");
      await shown.close();
      assert.deepEqual(unexpected(errors, 400, "400 from PATCH " + server + "/v1/flows/", "400 from POST " + server + "/v1/flows"), [], "console errors");

      const visitor = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage(); // a new demo user: the new version
      await visitor.goto(server + "/demo/");
      const title = await until("the edited step in the demo", () => shadow(visitor, '[data-step="connect"]', "el => el.textContent.includes('Connect your warehouse') && el.textContent"));
      assert.ok(title);
      result({ scenario: "flow-edit" });
      await ctx.close();
    },
  ],
  [
    "the owner prices interventions and changes settings (an out-of-range value refused at its field); every page reads at 200% zoom",
    async (browser) => {
      const ctx = await browser.newContext({ viewport: { width: 640, height: 900 } }); // a 1280-wide laptop at 200%
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      await signIn(page, ownerEmail, ownerPassword);
      await until("the overview", () => page.url().endsWith("/admin/") && page.locator("#account").textContent());
      for (const [path, ready] of PAGES) {
        await page.goto(server + path);
        await until(`${path} loaded`, () => page.locator(ready).count());
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
        assert.ok(wide <= 1, `${path} scrolls sideways by ${wide}px at 200% zoom`);
        assert.deepEqual(await axe(page), [], `axe-core on ${path}`);
        await shot(page, "zoom200" + path.replaceAll("/", "-"));
      }

      await page.goto(server + "/admin/content");
      await until("the content page", () => page.locator("#items li").count());
      await page.click("#new-item");
      await page.fill("#c-title", "Welcome article");
      await page.fill("#c-body", "# Hello\n\n<script>window.pwned = 1</script>\n\nSome <img src=x onerror=\"window.pwned = 2\"> **bold** [docs](https://example.com)");
      await until("the sanitized preview", () => page.locator("#preview h1").count());
      assert.equal(await page.locator("#preview script, #preview [onerror]").count(), 0, "the preview keeps a script or a handler");
      assert.equal(await page.evaluate(() => window.pwned), undefined, "the preview ran the body's script");
      assert.equal(await page.textContent("#preview strong"), "bold");
      await page.selectOption("#c-status", "published");
      await page.click("#editor button[type=submit]");
      await until("the item saved", async () => (await page.textContent("#status")).includes("Saved Welcome article"));
      const parent = await until("the saved item's id in the address", () => new URL(page.url()).searchParams.get("id"));
      await page.click("#new-item");
      await page.fill("#c-title", "Welcome, simply");
      await page.fill("#c-body", "Short and plain.");
      await page.selectOption("#c-complexity", "basic");
      await page.fill("#c-variant", parent);
      await page.selectOption("#c-status", "scheduled");
      await page.fill("#c-scheduled", "2030-01-01T09:00");
      await page.click("#editor button[type=submit]");
      await until("the variant saved", async () => (await page.textContent("#status")).includes("Saved Welcome, simply"));
      await until("the variant listed", async () => /Welcome, simply — article, scheduled, basic \(variant\)/.test(await page.textContent("#items")));
      assert.deepEqual(await axe(page), [], "axe-core on the content editor");
      await shot(page, "admin-content");

      await page.goto(server + "/admin/models");
      await until("the active model's calibration plot", () => page.locator("#calibration canvas").count());
      assert.match(await page.textContent("#active-summary"), /^v1, trained on journeys/);
      assert.match(await page.textContent("#calib-text"), /predicted \d+% → observed \d+%/);
      await shot(page, "admin-models-active");

      await page.goto(server + "/admin/webhooks");
      await until("the webhooks page", () => page.locator("#hooks tbody tr").count());
      await page.fill("#w-url", "http://127.0.0.1:9/hook");
      await page.click("#create button[type=submit]");
      await until("the signing secret", async () => (await page.textContent("#w-secret")).startsWith("whsec_"));
      await page.click('#hooks button:has-text("Disable")');
      await until("the webhook disabled", async () => (await page.textContent("#hooks")).includes("disabled (disabled by"));
      await page.click('#hooks button:has-text("Deliveries")');
      await until("the deliveries", () => page.locator("#deliveries tbody tr").count());
      assert.deepEqual(await axe(page), [], "axe-core on the webhooks page");
      await shot(page, "admin-webhooks");

      await page.goto(server + "/admin/interventions");
      await until("the ROI", async () => (await page.textContent("#roi")).length > 0);
      await page.fill("#vpu", "120");
      await page.click("#value button[type=submit]");
      await until("the value saved", async () => (await page.textContent("#status")).includes("saved"));

      await page.goto(server + "/admin/settings");
      await until("the settings", () => page.locator("#b-holdout_percent").count());
      await page.fill("#b-holdout_percent", "80");
      await page.click("#settings button[type=submit]");
      await until("the error at the holdout share", async () => (await page.textContent("#b-holdout_percent-err")).length > 0);
      await shot(page, "admin-settings-error");
      await page.fill("#b-holdout_percent", "10");
      await page.click("#settings button[type=submit]");
      await until("the settings saved", async () => (await page.textContent("#status")).includes("Settings saved"));
      await until("the change in the audit log", async () => (await page.textContent("#audit")).includes("project"));
      // the preview's <img src=x> (its onerror stripped) asks for /admin/x
      assert.deepEqual(unexpected(errors, 400, "400 from PATCH " + server + "/v1/project", "404 from GET " + server + "/admin/x", "status of 404"), [], "console errors");
      result({ scenario: "settings" });
      await ctx.close();
    },
  ],
  [
    "a viewer sees no edit controls, and the API refuses forged edits and a request without its CSRF token",
    async (browser) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      await signIn(page, viewerEmail, viewerPassword);
      await until("the overview", () => page.url().endsWith("/admin/") && page.locator("#account").textContent());
      await page.click("nav >> text=Models");
      await until("the models page", () => page.locator("#models tbody tr").count());
      assert.equal(await page.locator("#train").count(), 0, "a viewer is offered training");
      assert.equal(await page.locator("#models button").count(), 0, "a viewer is offered activation");
      await page.click("nav >> text=Flows");
      await until("the flow list", () => page.locator("#flows li").count());
      assert.equal(await page.locator("#new").count(), 0, "a viewer is offered a new flow");
      for (const [path, ready] of PAGES) {
        await page.goto(server + path);
        await until(`${path} for a viewer`, () => page.locator(ready).count());
        const offered = await page.evaluate(() => [...document.querySelectorAll("[data-needs], #alerts button, #keys button, #hooks button, #models button, #steps button")]
          .filter((b) => !b.textContent.startsWith("Deliveries")).map((b) => b.id || b.textContent));
        assert.deepEqual(offered, [], `${path} offers a viewer edit controls`);
      }
      await shot(page, "admin-models-viewer");
      const forged = await page.evaluate(async () => {
        const me = await (await fetch("/v1/auth/me")).json();
        const withToken = await fetch("/v1/models/train", { method: "POST", headers: { "X-Project": "default", "X-CSRF-Token": me.csrf_token } });
        const flow = await fetch("/v1/flows", { method: "POST", headers: { "X-Project": "default", "X-CSRF-Token": me.csrf_token, "Content-Type": "application/json" }, body: JSON.stringify({ key: "forged", name: "Forged", steps: [] }) });
        return [withToken.status, flow.status];
      });
      assert.deepEqual(forged, [403, 403], "a viewer's forged edits");
      await page.click("#signout");
      await until("the sign-in page after signing out", () => page.url().includes("/admin/login"));
      assert.equal(await page.evaluate(async () => (await fetch("/v1/auth/me")).status), 401, "the session after signing out");
      const tokenless = await page.evaluate(async ([email, password]) => (await fetch("/v1/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) })).status, [viewerEmail, viewerPassword]);
      assert.equal(tokenless, 403, "a sign-in without the sign-in form's CSRF token");
      assert.equal(await page.evaluate(async () => (await fetch("/v1/auth/me")).status), 401, "the session after the refused sign-in");
      await ctx.close();

      const owner = await (await browser.newContext()).newPage();
      await signIn(owner, ownerEmail, ownerPassword);
      await until("the owner's overview", () => owner.url().endsWith("/admin/"));
      const noToken = await owner.evaluate(async () => (await fetch("/v1/models/train", { method: "POST", headers: { "X-Project": "default" } })).status);
      assert.equal(noToken, 403, "an owner's request without the CSRF token");
      const fresh = await owner.evaluate(async () => {
        const me = await (await fetch("/v1/auth/me")).json();
        const res = await fetch("/v1/projects", { method: "POST", headers: { "X-CSRF-Token": me.csrf_token, "Content-Type": "application/json" }, body: JSON.stringify({ name: "Brand new" }) });
        return res.status === 201 ? (await res.json()).id : "status " + res.status;
      });
      await owner.reload();
      await until("the new project in the switcher", () => owner.locator(`#project option[value="${fresh}"]`).count());
      await owner.selectOption("#project", fresh);
      await until("a new project's first steps", () => owner.locator("#empty:not([hidden]) #next-snippet:not([hidden])").count());
      assert.ok(await owner.locator("#next-flow:not([hidden])").count(), "a new project is told to publish a flow");
      const snippet = await owner.textContent("#snippet");
      assert.ok(snippet.includes(server + "/sdk/v1/smartonboard.js") && /integrity="sha384-/.test(snippet), `the snippet to copy: ${snippet}`);
      assert.deepEqual(await axe(owner), [], "axe-core on a new project's overview");
      await shot(owner, "admin-overview-new-project");
      assert.deepEqual(unexpected(errors, 403, "403 from POST " + server + "/v1/models/train", "403 from POST " + server + "/v1/flows",
        "403 from POST " + server + "/v1/auth/login",
        "401 from GET " + server + "/v1/auth/me", "status of 401"), [], "console errors");
      result({ scenario: "viewer" });
    },
  ],
]);
