// The dashboard's live path, GET /events (Server-Sent Events), against a
// stand-in server: the page's files from ui/, a two-method JSON-RPC and an
// /events stream in the daemon's format (`id:`, `event: <name>`, `data:
// <an events.jsonl line>`). For spec/functional/dashboard_spec.lua: the
// page must show the events, say it is live, and re-read the group on each
// event, whether or not this daemon serves /events yet.
// Prints one JSON object; exit 3 ({"launch": why}) when Chromium cannot start.
// env: IK_UI_NODE_MODULES (build/ui-test), CHROMIUM (default /usr/bin/chromium)
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const req = createRequire(path.resolve(process.env.IK_UI_NODE_MODULES || "build/ui-test", "package.json"));
const { chromium } = req("playwright-core");

const types = { ".html": "text/html", ".css": "text/css", ".js": "text/javascript" };
const status = {
  ID: "web", Phase: "steady", TargetHash: "aaaa", GoodHash: "aaaa", Instances: [], Failures: [],
  Summary: { Desired: 2, Current: 2, Updated: 2, Available: 2, Done: 2, Total: 2, Reason: "" },
};

const server = http.createServer((q, res) => {
  const url = q.url.split("?")[0];
  if (q.method === "GET" && url === "/ui/history.json") {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end('{"IntervalMs":10000,"Groups":{}}');
  }
  if (q.method === "GET" && (url === "/ui" || url.startsWith("/ui/"))) {
    const f = path.basename(url === "/ui" || url === "/ui/" ? "index.html" : url);
    res.writeHead(200, { "Content-Type": types[path.extname(f)] || "application/octet-stream" });
    return res.end(fs.readFileSync(path.join("ui", f)));
  }
  if (q.method === "GET" && url === "/events") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    // One phase change, as the engine writes it; the status follows it.
    status.Phase = "rolling";
    status.Summary.Reason = "waiting for 1 new instance to be healthy";
    const line = { time: new Date().toISOString(), group: "web", event: "phase", from: "steady", to: "rolling" };
    res.write(`id: 7\nevent: phase\ndata: ${JSON.stringify(line)}\n\n`);
    return; // held open, as the daemon's stream is
  }
  if (q.method === "POST" && url === "/") {
    let body = "";
    q.on("data", (c) => (body += c));
    q.on("end", () => {
      const call = JSON.parse(body);
      const result = call.method === "Group.InspectGroups" ? { Groups: [{ ID: "web" }] } : { Status: status };
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result }));
    });
    return;
  }
  res.writeHead(404);
  res.end();
});

async function main() {
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
      timeout: 30000,
    });
  } catch (e) {
    process.stdout.write(JSON.stringify({ launch: String(e.message).split("\n")[0] }) + "\n");
    server.close();
    process.exit(3);
  }
  const out = {};
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/ui`);
    await page.waitForSelector("#events li", { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector(".phase")?.textContent === "rolling", null, { timeout: 10000 });
    out.live = await page.textContent("#live");
    out.events = await page.$$eval("#events li", (es) => es.map((e) => e.textContent));
    out.phase = await page.textContent(".phase");
    out.note_hidden = await page.$eval("#events-note", (e) => e.hidden);
  } catch (e) {
    out.failure = String(e.stack || e);
  } finally {
    await browser.close();
    server.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

main();
