// Browser scenarios for the SDK, run by cmd/smartonboard/browser_e2e_test.go
// against a real server and a host page on another origin. Each scenario has
// its own browser context (its own storage), so none leaks into another.

import assert from "node:assert/strict";
import http from "node:http";
import { axe, consoleErrors, result, run, settings, shadow, until, watchEvents } from "./lib.mjs";

const { server, pages, key, shots, helpUser } = settings;
let n = 0;
const user = (name) => `${name}-${Date.now().toString(36)}-${++n}`;
const open = (page, path, params = {}) =>
  page.goto(pages + path + "?" + new URLSearchParams({ server, key, ...params })).then(() => until("the SDK on " + path, () => page.evaluate(() => window.fixtureReady)));
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png` });
const queued = (page) => page.evaluate(() => (window.SmartOnboarding.debug() || {}).queued);
const stepShown = (page, key) => until(`step ${key} on screen`, () => shadow(page, `[data-step="${key}"]`));

// drained waits until the page has nothing left to send.
async function drained(page, ms = 60000) {
  await until("the queue to drain", async () => (await queued(page)) === 0, ms);
}

// near tells whether a tooltip sits beside its target, not somewhere else.
async function near(page, stepKey, targetSelector) {
  const card = await shadow(page, `[data-step="${stepKey}"]`, "el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height} }");
  const t = await page.locator(targetSelector).boundingBox();
  assert.ok(card && t, "card and target both have boxes");
  const gapY = Math.min(Math.abs(card.y - (t.y + t.height)), Math.abs(t.y - (card.y + card.h)));
  assert.ok(gapY < 40, `tooltip ${JSON.stringify(card)} is not beside its target ${JSON.stringify(t)}`);
}

await run([
  [
    "a tour step renders on its target, with no console errors",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      await open(page, "/one", { user: user("tour"), flow: "tour" });
      await stepShown(page, "connect");
      await near(page, "connect", "#connect");
      assert.equal(await shadow(page, '[data-step="connect"]', "el => el.getAttribute('role')"), "dialog");
      const text = await shadow(page, '[data-step="connect"]', "el => el.textContent");
      assert.ok(!/null|undefined/.test(text), `the step card shows ${JSON.stringify(text)}`);
      await shot(page, "tour-step-on-target");
      const violations = await axe(page);
      assert.deepEqual(violations, [], "axe-core: serious or critical violations with a tour step open");
      assert.deepEqual(errors, [], "console errors");
      await ctx.close();
    },
  ],
  [
    "a video step plays in a modal, even with a target on the page",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await open(page, "/one", { user: user("video"), flow: "watch" });
      await until("the video modal", () => shadow(page, '[data-kind="step"][aria-modal="true"] video', "el => el.getAttribute('src')"), 8000).then((src) =>
        assert.equal(src, "/media/intro.mp4"),
      );
      await shot(page, "video-modal");
      await ctx.close();
    },
  ],
  [
    "the tour resumes after navigation and after a reload",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("resume");
      await open(page, "/one", { user: u, flow: "tour" });
      await stepShown(page, "connect");
      await page.evaluate(() => {
        const b = [...document.querySelector("[data-smartonboard]").shadowRoot.querySelectorAll('[data-step="connect"] button')].find((x) => x.classList.contains("primary"));
        b.click();
      });
      await until("the connect step to close", async () => !(await shadow(page, '[data-step="connect"]')));
      await page.waitForTimeout(300);
      await page.click("a[href='/two']");
      await until("page two", () => page.evaluate(() => location.pathname === "/two" && window.fixtureReady));
      await stepShown(page, "create");
      await near(page, "create", "#create");
      await page.reload();
      await until("the SDK after the reload", () => page.evaluate(() => window.fixtureReady));
      await stepShown(page, "create");
      await shot(page, "tour-resumed-after-reload");
      await drained(page);
      await ctx.close();
    },
  ],
  [
    "a target rendered 3 s late gets its step; one that never renders falls back to a modal",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await open(page, "/late", { user: user("late"), flow: "late" });
      assert.equal(await shadow(page, '[data-step="wait"]'), null, "no step before the target exists");
      await until("the late target", () => page.locator("#late-target").count(), 8000);
      await stepShown(page, "wait");
      await near(page, "wait", "#late-target");
      await shot(page, "late-target");
      await ctx.close();
    },
  ],
  [
    "a target that never renders falls back to a centred modal and is reported",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("missing");
      const seen = watchEvents(page);
      await open(page, "/three", { user: u, flow: "missing" });
      await until("the fallback modal", () => shadow(page, '[data-kind="step"][aria-modal="true"]'), 8000);
      assert.equal(await page.evaluate(() => document.querySelector("[data-smartonboard]").shadowRoot.activeElement?.tagName), "BUTTON", "focus moves into the modal");
      await shot(page, "missing-target-modal");
      await page.keyboard.press("Escape");
      await until("the modal to close on Escape", async () => !(await shadow(page, '[aria-modal="true"]')));
      await drained(page);
      assert.ok(seen.names.has("target_missing"), "the missing target is reported as an event");
      result({ scenario: "missing-target", user: u, ids: [...seen.ids], accepted: seen.accepted });
      await ctx.close();
    },
  ],
  [
    "every event made while the network is cut for 10 s is stored once",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("cut");
      const seen = watchEvents(page);
      let cut = false;
      await ctx.route("**/v1/events*", (route) => (cut ? route.abort("internetdisconnected") : route.continue()));
      await open(page, "/one", { user: u });
      await drained(page);
      cut = true;
      const until10s = Date.now() + 10000;
      for (let i = 0; Date.now() < until10s; i++) {
        await page.click(i % 2 ? "#connect" : "#other");
        await page.evaluate((i) => window.SmartOnboarding.track("offline_action", { i }), i);
        await page.waitForTimeout(400);
      }
      assert.ok((await queued(page)) > 0, "events wait in the queue while the network is cut");
      cut = false;
      await page.evaluate(() => window.SmartOnboarding.track("back_online", {}));
      await drained(page);
      result({ scenario: "network-cut", user: u, ids: [...seen.ids], accepted: seen.accepted });
      await ctx.close();
    },
  ],
  [
    "queued events survive a reload",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("reload");
      const seen = watchEvents(page);
      let cut = true;
      await ctx.route("**/v1/events*", (route) => (cut ? route.abort("internetdisconnected") : route.continue()));
      await open(page, "/one", { user: u });
      for (let i = 0; i < 5; i++) await page.evaluate((i) => window.SmartOnboarding.track("before_reload", { i }), i);
      await until("the events in the queue", async () => (await queued(page)) >= 5);
      await page.reload();
      await until("the SDK after the reload", () => page.evaluate(() => window.fixtureReady));
      assert.ok((await queued(page)) >= 5, "the queue came back after the reload");
      cut = false;
      await page.evaluate(() => window.SmartOnboarding.track("after_reload", {}));
      await drained(page);
      result({ scenario: "reload-queue", user: u, ids: [...seen.ids], accepted: seen.accepted });
      await ctx.close();
    },
  ],
  [
    "two tabs of one user send each event once",
    async (browser) => {
      const ctx = await browser.newContext();
      const u = user("tabs");
      const a = await ctx.newPage();
      const b = await ctx.newPage();
      const seenA = watchEvents(a);
      const seenB = watchEvents(b);
      await open(a, "/one", { user: u });
      await open(b, "/two", { user: u });
      for (let i = 0; i < 10; i++) {
        await a.evaluate((i) => window.SmartOnboarding.track("tab_a", { i }), i);
        await b.evaluate((i) => window.SmartOnboarding.track("tab_b", { i }), i);
      }
      await drained(a);
      await drained(b);
      const ids = new Set([...seenA.ids, ...seenB.ids]);
      result({ scenario: "two-tabs", user: u, ids: [...ids], accepted: [...seenA.accepted, ...seenB.accepted] });
      await ctx.close();
    },
  ],
  [
    "with consent required and not given, nothing reaches /v1/events or storage",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const seen = watchEvents(page);
      await open(page, "/one", { user: user("consent"), consent: "required" });
      await page.click("#connect");
      await page.click("#connect");
      await page.evaluate(() => window.SmartOnboarding.track("before_consent", {}));
      await page.waitForTimeout(1500);
      assert.equal(seen.requests, 0, "requests to /v1/events before consent");
      const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("so:q:") && localStorage.getItem(k) !== "[]"));
      assert.deepEqual(stored, [], "queued events in localStorage before consent");
      await page.evaluate(() => window.SmartOnboarding.consent(true));
      await until("events once consent is given", () => seen.accepted.length > 0);
      await ctx.close();
    },
  ],
  [
    "keyboard alone opens the checklist, moves through it and dismisses it",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const id = user("keys");
      await open(page, "/one", { user: id, flow: "tour" });
      await stepShown(page, "connect");
      const active = () => page.evaluate(() => {
        const root = document.querySelector("[data-smartonboard]").shadowRoot;
        const el = root.activeElement;
        return el ? (el.className || el.tagName) + (el.dataset.step ? ":" + el.dataset.step : "") : document.activeElement?.id || "";
      });
      let found = false;
      for (let i = 0; i < 20 && !found; i++) {
        await page.keyboard.press("Tab");
        found = (await active()) === "launcher";
      }
      assert.ok(found, "Tab reaches the checklist launcher");
      await page.keyboard.press("Enter");
      await until("the checklist panel", () => shadow(page, "#so-checklist"));
      assert.equal(await active(), "BUTTON:connect", "focus on the current step");
      await page.keyboard.press("ArrowDown");
      assert.equal(await active(), "BUTTON:create", "ArrowDown moves to the next step");
      await shot(page, "checklist-open");
      // A journey update redraws the open panel and keeps the reader's place
      // (it once threw there, and Escape then lost the panel).
      const res = await fetch(server + "/v1/events", {
        method: "POST",
        headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
        body: JSON.stringify({ events: [{ id: id + "-done", type: "step_completed", user_id: id, session_id: "s-" + id, flow: "tour", step: "connect", timestamp: new Date().toISOString() }] }),
      });
      assert.equal(res.status, 200, "posting the step's completion");
      await until("the launcher to count the step done", () => page.evaluate(() => document.querySelector("[data-smartonboard]").shadowRoot.querySelector(".launcher").textContent.includes("1/")));
      assert.equal(await active(), "BUTTON:create", "focus stays on the step the reader was on");
      await page.keyboard.press("Escape");
      await until("the panel to close", async () => !(await shadow(page, "#so-checklist")));
      assert.equal(await active(), "launcher", "focus returns to the launcher");
      await ctx.close();
    },
  ],
  [
    "an event that is not JSON is refused alone: later events still go, and nothing reaches the page",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      const u = user("badprops");
      const seen = watchEvents(page);
      await open(page, "/one", { user: u });
      const reported = await page.evaluate(() => {
        const got = [];
        window.SmartOnboarding.on("error", (e) => got.push(e.message));
        const loop = {};
        loop.self = loop;
        window.SmartOnboarding.track("circular", loop); // must not throw here
        window.SmartOnboarding.track("huge", { blob: "x".repeat(20000) });
        window.SmartOnboarding.track("after_bad_ones", { ok: true });
        return got;
      });
      assert.ok(reported.some((m) => /not JSON/.test(m)) && reported.some((m) => /over the 9000-byte limit/.test(m)), `errors reported: ${reported}`);
      await drained(page);
      assert.ok(seen.names.has("after_bad_ones") && !seen.names.has("circular") && !seen.names.has("huge"), [...seen.names].join(","));
      assert.deepEqual(errors, [], "console errors");
      result({ scenario: "bad-properties", user: u, ids: [...seen.ids], accepted: seen.accepted });
      await ctx.close();
    },
  ],
  [
    "a right-to-left locale mirrors the SDK and speaks its language",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await open(page, "/one", { user: user("rtl"), flow: "tour", locale: "ar" });
      await stepShown(page, "connect");
      assert.equal(await shadow(page, ".so", "el => el.dir"), "rtl");
      assert.equal(await shadow(page, '[data-step="connect"] button.primary', "el => el.textContent"), "التالي");
      await shot(page, "right-to-left");
      await ctx.close();
    },
  ],
  [
    "a stream replaced by the user's newer ones stays closed",
    async (browser) => {
      const ctx = await browser.newContext();
      const u = user("replaced");
      const a = await ctx.newPage();
      let opensA = 0;
      a.on("request", (r) => r.url().includes("/v1/stream") && opensA++);
      await open(a, "/one", { user: u });
      await until("tab A's stream", () => a.evaluate(() => window.SmartOnboarding.debug().stream));
      // Eight more streams of the user (the most one user may hold), from
      // other devices, replace the oldest: A's. (A browser holds at most six
      // connections to one host, so they cannot all come from its tabs.)
      const others = [];
      for (let i = 0; i < 8; i++) {
        others.push(
          new Promise((resolve, reject) => {
            const req = http.get(`${server}/v1/stream?user_id=${u}&key=${key}`, (res) => resolve({ req, res }));
            req.on("error", reject);
          }),
        );
      }
      const opened = await Promise.all(others);
      assert.ok(opened.every((o) => o.res.statusCode === 200), "the other devices' streams open");
      await until("tab A told it was replaced", async () => !(await a.evaluate(() => window.SmartOnboarding.debug().stream)));
      await a.waitForTimeout(3000);
      assert.equal(opensA, 1, "tab A reconnected after being replaced");
      for (const o of opened) o.req.destroy();
      await ctx.close();
    },
  ],
  [
    "503 and 429 are retried after Retry-After; another 4xx is not retried",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("retry");
      const seen = watchEvents(page);
      const answers = []; // what each /v1/events request got, in order
      let mode = "pass";
      const refusedIds = [];
      await ctx.route("**/v1/events*", (route) => {
        if (mode === "busy" && answers.filter((a) => a !== "passed").length < 2) {
          const status = answers.length % 2 ? 429 : 503;
          answers.push(status);
          return route.fulfill({ status, headers: { "Retry-After": "1", "Content-Type": "application/json" }, body: '{"error":{"code":"unavailable","message":"busy"}}' });
        }
        if (mode === "refuse") {
          answers.push(400);
          refusedIds.push(...JSON.parse(route.request().postData() || '{"events":[]}').events.map((e) => e.id));
          return route.fulfill({ status: 400, headers: { "Content-Type": "application/json" }, body: '{"error":{"code":"invalid","message":"refused"}}' });
        }
        answers.push("passed");
        return route.continue();
      });
      await open(page, "/one", { user: u });
      await drained(page);
      answers.length = 0;
      mode = "busy";
      const kept = await page.evaluate(() => window.SmartOnboarding.track("through_busy", {}).id);
      await drained(page);
      assert.deepEqual(answers.slice(0, 3), [503, 429, "passed"], "503, then 429, then delivered");
      mode = "refuse";
      answers.length = 0;
      const refused = await page.evaluate(() => {
        const got = [];
        window.SmartOnboarding.on("error", (e) => got.push(e.message));
        window.SmartOnboarding.track("refused_once", {});
        return new Promise((resolve) => setTimeout(() => resolve(got), 2500));
      });
      await drained(page);
      // The refusal is reported, and the report is an event too (refused in turn): no id is sent twice.
      assert.ok(answers.length >= 1 && answers.every((a) => a === 400), `answers ${answers}`);
      assert.equal(new Set(refusedIds).size, refusedIds.length, `a refused event was sent again: ${refusedIds}`);
      assert.ok(refused.some((m) => /events refused \(400\)/.test(m)), `reported: ${refused}`);
      mode = "pass";
      // Only what the server answered 200 for is stored: the refused event never reached it.
      assert.ok(seen.accepted.includes(kept), "the event that waited through 503 and 429 was accepted");
      result({ scenario: "retries", user: u, ids: [...new Set(seen.accepted)], accepted: seen.accepted });
      await ctx.close();
    },
  ],
  [
    "events made just before the page goes away arrive by beacon",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const u = user("beacon");
      await open(page, "/one", { user: u });
      await drained(page);
      const ids = await page.evaluate(() => [1, 2, 3].map((i) => window.SmartOnboarding.track("leaving", { i }).id));
      await page.goto("about:blank"); // before the half-second batch timer: only the beacon can carry them
      result({ scenario: "beacon", user: u, expect: ids });
      await ctx.close();
    },
  ],
  [
    "hesitating and failing the form brings an intervention, and accepting it is stored",
    async (browser) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const seen = watchEvents(page);
      await open(page, "/form", { user: helpUser, flow: "help" });
      await stepShown(page, "verify");
      await page.hover("#verify");
      await page.waitForTimeout(5600); // the pointer rests on the step's target: hesitation
      for (let i = 0; i < 3; i++) {
        await page.fill("#code", "12ab");
        await page.click("#verify"); // fails validation: an error on the step
        await page.waitForTimeout(300);
      }
      await until("the intervention popover", () => shadow(page, "[data-intervention]"), 15000);
      await shot(page, "intervention");
      const answered = page.waitForResponse((r) => r.url().includes("/outcome") && r.request().postData()?.includes("accepted"), { timeout: 10000 });
      await page.evaluate(() => {
        const root = document.querySelector("[data-smartonboard]").shadowRoot;
        root.querySelector("[data-intervention] button.primary").click();
      });
      assert.equal((await answered).status(), 200, "the accepted outcome is stored");
      await until("the popover to close", async () => !(await shadow(page, "[data-intervention]")));
      await drained(page);
      result({ scenario: "intervention", user: helpUser, ids: [...seen.ids], accepted: seen.accepted, outcome: "accepted" });
      await ctx.close();
    },
  ],
]);
