// Drives headless Chromium through the daemon's dashboard, for
// spec/functional/dashboard_spec.lua (which starts the daemon, commits the
// groups and asserts what this prints). Steps:
//   1. load /ui, read each group's name, phase and counts from the DOM
//   2. commit a new config to "web" (Canary 1) with the CLI, watch the
//      rollout's progress bar until the canary pauses, click "Pause rollout"
//      (phase paused), click "Promote canary": the bar stays where it was
//      while paused; click "Resume rollout", watch it move to the end
//   3. save a screenshot
//   4. click "Promote canary" and "Resume rollout" on "db" (steady, not
//      paused: refused), read the errors shown
//   5. click "Scale" with db's size box empty (refused by the page), then
//      set it to 4 and click "Scale"
// Prints one JSON object on stdout. Exit 3 (and {"launch": "why"}) when
// Chromium cannot start: the spec reports PENDING.
//
// env: IK_UI_URL (http://127.0.0.1:PORT), IK_BIN, INFRAKIT_HOME,
//      IK_UI_SCREENSHOT, IK_UI_NODE_MODULES (build/ui-test), IK_UI_WEB_V2 (the
//      spec to commit in step 2, a file), CHROMIUM (default /usr/bin/chromium)
"use strict";
const path = require("path");
const { execFileSync } = require("child_process");
const { createRequire } = require("module");

const need = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const url = need("IK_UI_URL");
const req = createRequire(path.resolve(need("IK_UI_NODE_MODULES"), "package.json"));
const { chromium } = req("playwright-core");

const cli = (...args) =>
  execFileSync(need("IK_BIN"), args, { env: process.env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What the page shows for group id: {phase, counts: {desired, ...}, progress: [value, max], error, instances}.
async function groupView(page, id) {
  return page.evaluate((gid) => {
    const s = document.querySelector(`section.group[data-group="${gid}"]`);
    if (!s) return null;
    const num = (sel) => {
      const e = s.querySelector(sel);
      return e ? e.textContent.trim() : null;
    };
    const bar = s.querySelector("progress.rollout-progress");
    return {
      name: num(".group-name"),
      phase: num(".phase"),
      counts: {
        desired: num(".count-desired dd"),
        current: num(".count-current dd"),
        updated: num(".count-updated dd"),
        available: num(".count-available dd"),
      },
      progress: bar ? [bar.value, bar.max] : null,
      label: num(".rollout-label"),
      error: num(".action-error"),
      instances: s.querySelectorAll("tr[data-instance]").length,
      chartLines: s.querySelectorAll(".chart svg polyline, .chart svg circle").length,
    };
  }, id);
}

// Poll the page (no fixed sleep decides anything) until pred(view) or ms pass.
async function until(page, id, pred, ms, seen) {
  const end = Date.now() + ms;
  let v;
  while (Date.now() < end) {
    v = await groupView(page, id);
    if (v && seen) seen.push(`${v.phase} ${v.progress ? v.progress.join("/") : "-"}`);
    if (v && pred(v)) return v;
    await sleep(100);
  }
  throw new Error(`${id}: condition not met in ${ms} ms; last view ${JSON.stringify(v)}`);
}

async function main() {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
      timeout: 30000,
    });
  } catch (e) {
    process.stdout.write(JSON.stringify({ launch: String(e.message).split("\n")[0] }) + "\n");
    process.exit(3);
  }
  const out = { console: [], pageErrors: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") out.console.push(m.text());
    });
    page.on("pageerror", (e) => out.pageErrors.push(String(e)));
    const res = await page.goto(`${url}/ui`);
    out.status = res.status();
    out.csp = res.headers()["content-security-policy"] || null;
    await page.waitForSelector('section.group[data-group="db"]', { timeout: 15000 });
    out.title = await page.title();
    out.groups = await page.$$eval("section.group .group-name", (es) => es.map((e) => e.textContent));
    out.before = { web: await groupView(page, "web"), db: await groupView(page, "db") };

    // 2. A rollout, its canary, the promotion.
    cli("group", "commit", need("IK_UI_WEB_V2"));
    const seen = [];
    // The phase comes with its event, the counts with the next status: wait
    // for the canary to be counted too (under ASan it can lag the phase).
    out.canary = await until(
      page, "web", (v) => v.phase === "canary-paused" && v.counts && v.counts.updated === "1", 30000, seen);
    await page.click('section.group[data-group="web"] button.pause');
    out.paused = await until(page, "web", (v) => v.phase === "paused", 10000, seen);
    // Promoted while paused: nothing more is replaced until Resume.
    await page.click('section.group[data-group="web"] button.promote');
    await until(page, "web", (v) => !v.error, 10000);
    await sleep(3000); // three MinHealthySeconds: a rollout going on would have moved
    out.stillPaused = await groupView(page, "web");
    await page.click('section.group[data-group="web"] button.resume');
    out.promoted = await until(
      page, "web", (v) => v.phase === "steady" && v.progress && v.progress[0] === v.progress[1] && v.counts.updated === "3",
      60000, seen);
    out.progressSeen = [...new Set(seen)];

    // 3. The screenshot, once the chart has a sample.
    await until(page, "web", (v) => v.chartLines > 0, 30000).catch(() => {});
    out.web = await groupView(page, "web");
    await page.screenshot({ path: need("IK_UI_SCREENSHOT"), fullPage: true });

    // 4. A refused action shows the API's text.
    await page.click('section.group[data-group="db"] button.promote');
    out.refused = await until(page, "db", (v) => !!v.error, 10000);
    await page.click('section.group[data-group="db"] button.resume');
    out.refusedResume = await until(page, "db", (v) => !!v.error && v.error.startsWith("Resume"), 10000);

    // 5. Scale from the page: an empty size is refused here, not sent as 0.
    await page.fill('section.group[data-group="db"] input.size-input', "");
    await page.click('section.group[data-group="db"] button.scale');
    out.emptySize = await until(page, "db", (v) => !!v.error && v.error.startsWith("Scale"), 10000);
    await page.fill('section.group[data-group="db"] input.size-input', "4");
    await page.click('section.group[data-group="db"] button.scale');
    out.scaled = await until(page, "db", (v) => v.counts.desired === "4", 10000);
    out.live = await page.textContent("#live");
    out.events = await page.$$eval("#events li", (es) => es.map((e) => e.textContent));
  } catch (e) {
    out.failure = String(e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ failure: String(e.stack || e) }) + "\n");
  process.exit(1);
});
