// Shared pieces of the browser drivers: launching Debian's chromium through
// playwright-core, deadlines on every wait, shadow DOM queries, results.

import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const settings = JSON.parse(process.env.SO_E2E || "{}");

/** launch starts headless chromium with the flags this closed network needs. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"],
  });
}

/** result prints what the Go side checks against the database. */
export function result(r) {
  console.log("RESULT " + JSON.stringify(r));
}

/** until polls fn until it returns a truthy value, failing after ms. */
export async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** shadow runs a selector inside the SDK's shadow root and returns what fn makes of the element. */
export function shadow(page, selector, fn = "el => !!el") {
  return page.evaluate(
    ([sel, body]) => {
      const host = document.querySelector("[data-smartonboard]");
      const el = host && host.shadowRoot && host.shadowRoot.querySelector(sel);
      return el ? new Function("return (" + body + ")")()(el) : null;
    },
    [selector, fn],
  );
}

/** watchEvents records the ids of every /v1/events request and of those the server accepted. */
export function watchEvents(page) {
  const seen = { ids: new Set(), accepted: [], requests: 0, names: new Set() };
  page.on("request", (req) => {
    if (!req.url().includes("/v1/events") || req.method() !== "POST") return;
    seen.requests++;
    for (const id of idsOf(req)) seen.ids.add(id);
    for (const e of eventsOf(req)) seen.names.add(e.type === "custom" ? e.properties.name : e.type);
  });
  page.on("response", (res) => {
    const req = res.request();
    if (!req.url().includes("/v1/events") || req.method() !== "POST" || res.status() !== 200) return;
    seen.accepted.push(...idsOf(req));
  });
  return seen;
}

function eventsOf(req) {
  try {
    return JSON.parse(req.postData() || "{}").events || [];
  } catch (_) {
    return [];
  }
}

const idsOf = (req) => eventsOf(req).map((e) => e.id);

/** consoleErrors collects the page's console errors and uncaught exceptions. */
export function consoleErrors(page) {
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => r.status() >= 400 && errors.push(`${r.status()} from ${r.request().method()} ${r.url().split("?")[0]}`));
  return errors;
}

/** axeSource is axe-core, injected into pages. */
export const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe runs axe-core on the page and returns its serious and critical violations. */
export async function axe(page) {
  await page.evaluate(axeSource); // through the debugger protocol, which the page's CSP does not govern
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations);
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

// shootOpenPages saves what every open page shows, to see why a scenario failed.
async function shootOpenPages(browser, n) {
  let i = 0;
  for (const ctx of browser.contexts()) {
    for (const page of ctx.pages()) {
      const path = `${settings.shots || "/tmp"}/FAILED-${n}-${++i}.png`;
      await page.screenshot({ path }).then(() => console.log(`     screenshot of the failure: ${path}`), () => {});
    }
    await ctx.close().catch(() => {});
  }
}

/** scenarios runs each scenario in turn and reports failures; the exit code says whether all passed. */
export async function run(list) {
  const browser = await launch();
  let failed = 0;
  for (const [name, fn] of list) {
    const started = Date.now();
    try {
      await fn(browser);
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
      await shootOpenPages(browser, failed);
    }
  }
  await browser.close();
  console.log(failed ? `${failed} of ${list.length} scenarios failed` : `all ${list.length} scenarios passed`);
  process.exit(failed ? 1 : 0);
}

/** struggleOnInvite hesitates on the demo's invite field and fails its form
 * until Smart Onboarding sends help, which it waits for. */
export async function struggleOnInvite(page) {
  await page.hover("#invite-email");
  await page.waitForTimeout(5600); // resting on the step's target: hesitation
  for (let i = 0; i < 3 && !(await shadow(page, "[data-intervention]")); i++) {
    await page.fill("#invite-email", "pat@gmail.com");
    await page.click("#invite-form button[type=submit]"); // refused: not the company's domain
    await page.waitForTimeout(300);
  }
  await until("help on the invite step", () => shadow(page, "[data-intervention]"), 15000);
}

/** acceptHelp clicks the help's primary button and returns the status of the stored outcome. */
export async function acceptHelp(page) {
  const answered = page.waitForResponse((r) => r.url().includes("/outcome") && r.request().postData()?.includes("accepted"), { timeout: 10000 });
  await page.evaluate(() => document.querySelector("[data-smartonboard]").shadowRoot.querySelector("[data-intervention] button.primary").click());
  return (await answered).status();
}
