// The demo, walked as a new user would: the tour across its pages, a reload
// in the middle, struggle on the invite form and the help that follows, with
// no console error and no serious accessibility violation. Run by
// cmd/smartonboard/browser_e2e_test.go against `serve` with the demo on.

import assert from "node:assert/strict";
import { acceptHelp, axe, consoleErrors, result, run, settings, shadow, struggleOnInvite, until, watchEvents } from "./lib.mjs";

const { server, shots } = settings;
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png` });
const stepShown = (page, key) => until(`step ${key} on screen`, () => shadow(page, `[data-step="${key}"]`));
const ready = (page) => until("the SDK", () => page.evaluate(() => !!(window.SmartOnboarding && window.SmartOnboarding.debug())));

await run([
  [
    "a new user follows the demo's tour across pages, reloads, struggles and gets help",
    async (browser) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await ctx.newPage();
      const errors = consoleErrors(page);
      const seen = watchEvents(page);
      await page.goto(server + "/demo/");
      await ready(page);
      const user = await page.evaluate(() => window.SmartOnboarding.debug().userId);
      assert.match(user, /^demo-[0-9a-f]{16}$/);
      await stepShown(page, "connect");
      await until("the journey panel", () => page.locator("#journey-steps li[data-status]").count());
      await shot(page, "demo-home");
      assert.deepEqual(await axe(page), [], "axe-core on the demo with a tour step open");

      await page.click("#connect");
      await until("connect done in the panel", () => page.locator('#journey-steps li[data-status="completed"]').count(), 10000);
      await page.click("nav >> text=Items");
      await ready(page);
      await stepShown(page, "create-item");
      await page.reload();
      await ready(page);
      await stepShown(page, "create-item");
      await page.fill("#item-name", "Quarterly plan");
      await page.click("#item-form button[type=submit]");
      await until("two steps done", async () => (await page.locator('#journey-steps li[data-status="completed"]').count()) === 2, 10000);

      await page.click("nav >> text=Team");
      await ready(page);
      await stepShown(page, "invite");
      await struggleOnInvite(page);
      await shot(page, "demo-intervention");
      assert.equal(await acceptHelp(page), 200, "the accepted outcome is stored");
      await page.fill("#invite-email", "pat@example.com");
      await page.click("#invite-form button[type=submit]");
      await until("three steps done", async () => (await page.locator('#journey-steps li[data-status="completed"]').count()) === 3, 10000);
      await until("the queue to drain", async () => (await page.evaluate(() => window.SmartOnboarding.debug().queued)) === 0, 30000);
      await shot(page, "demo-after-help");
      assert.deepEqual(errors, [], "console errors on the demo");
      result({ scenario: "demo", user, ids: [...seen.ids], accepted: seen.accepted, outcome: "accepted", project: "demo" });
      await ctx.close();
    },
  ],
]);
