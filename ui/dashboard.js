// The infrakit dashboard (GET /ui). Plain JavaScript, no framework, no build.
//
// Data, as any client gets it:
//   POST /                JSON-RPC: Group.InspectGroups, Group.Status,
//                         Group.SetSize, Group.Promote, Group.Pause,
//                         Group.Resume (the CLI's calls)
//   GET /events           Server-Sent Events, one per events.jsonl line; when
//                         the daemon has none (404), the page re-reads the
//                         groups every 2 s instead
//   GET /ui/history.json  the last hour of each group's size, sampled by
//                         the daemon every 10 s
"use strict";

const POLL_MS = 2000; // without /events
const SAFETY_POLL_MS = 15000; // with /events: still re-read now and then
const HISTORY_MS = 10000;
const MAX_EVENTS = 100;
// The event names the daemon writes (docs/groups.md, "The event log"). SSE
// delivers a named event only to a listener for its name.
const EVENT_NAMES = [
  "committed", "resumed", "phase", "provisioned", "destroyed-instance", "drained", "labelled",
  "action-failed", "drain-failed", "instance-lost", "crash-loop", "instance-missing",
  "rollout-done", "rollout-failed", "promoted", "rollout-paused", "rollout-resumed", "scaled", "freed", "destroyed",
  "observe-failed", "persist-failed", "leadership-gained", "leadership-lost",
];

const $ = (id) => document.getElementById(id);
let rpcId = 0;
let history = { Groups: {} };
let lastGroups = [];
let refreshing = null;
let refreshAgain = false;
let pollTimer = null;
const groupErrors = {}; // group ID -> the last refused action's text, until the next action

// --- JSON-RPC ---------------------------------------------------------------

// Call method with params; resolves to the result, rejects with an Error
// whose message is the API's error text.
async function rpc(method, params) {
  const res = await fetch("/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`${method}: HTTP ${res.status}: ${text || "no body"}`);
  }
  if (body.error) throw new Error(body.error.message || JSON.stringify(body.error));
  return body.result;
}

// --- small DOM helpers --------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function age(ms) {
  if (ms === null || ms === undefined) return "?";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

const short = (hash) => (hash ? hash.slice(0, 8) : "-");

function showError(text) {
  const p = $("error");
  p.textContent = text || "";
  p.hidden = !text;
}

// --- groups -------------------------------------------------------------------

// Re-read every group (one at a time per call; calls while one runs are
// folded into one more).
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const inspected = await rpc("Group.InspectGroups", { ID: "" });
      const ids = (inspected.Groups || []).map((g) => g.ID).sort();
      const groups = await Promise.all(
        ids.map((id) =>
          rpc("Group.Status", { ID: id }).then(
            (r) => r.Status,
            (e) => ({ ID: id, Phase: "?", Error: e.message, Summary: {}, Instances: [], Failures: [] })
          )
        )
      );
      if (pollTimer) notePhaseChanges(lastGroups, groups);
      lastGroups = groups;
      render(groups);
      showError("");
      $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      showError(`Cannot read the groups: ${e.message}`);
    } finally {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        refresh();
      }
    }
  })();
  return refreshing;
}

// The last error per instance: a failure whose action or text names it.
function instanceError(g, id) {
  let last = null;
  for (const f of g.Failures || []) {
    if ((f.Action || "").includes(id) || (f.Error || "").includes(id)) {
      if (!last || (f.LastMs || 0) > (last.LastMs || 0)) last = f;
    }
  }
  return last ? last.Error : "";
}

function renderCounts(s) {
  const item = (label, v, cls) => el("div", { class: cls }, el("dt", {}, label), el("dd", {}, v ?? "-"));
  return el("dl", { class: "counts" },
    item("desired", s.Desired, "count-desired"),
    item("current", s.Current, "count-current"),
    item("updated", s.Updated, "count-updated"),
    item("available", s.Available, "count-available"));
}

function renderRollout(g) {
  const s = g.Summary || {};
  const total = s.Total || s.Desired || 0;
  const done = s.Total ? s.Done || 0 : s.Updated || 0;
  const rolling = g.TargetHash && g.GoodHash && g.TargetHash !== g.GoodHash;
  const label = rolling ? `rollout to ${short(g.TargetHash)}: ${done}/${total}` : `${done}/${total} at ${short(g.TargetHash)}`;
  return el("div", { class: "rollout" },
    el("progress", { class: "rollout-progress", max: total || 1, value: Math.min(done, total || 1), "aria-label": label }),
    el("span", { class: "rollout-label" }, label));
}

function renderInstances(g) {
  const rows = (g.Instances || []).map((i) => {
    const current = i.ConfigHash === g.TargetHash;
    return el("tr", { "data-instance": i.ID },
      el("td", {}, el("code", {}, i.ID)),
      el("td", {}, i.LogicalID || "-"),
      el("td", { class: `health-${i.Health}` }, i.Health),
      el("td", { class: current ? "" : "old" },
        el("code", {}, short(i.ConfigHash)), current ? "" : ` → ${short(g.TargetHash)}`),
      el("td", {}, age(i.AgeMs)),
      el("td", { class: "err" }, instanceError(g, i.ID)));
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "no instances")));
  return el("table", { class: "instances" },
    el("thead", {}, el("tr", {}, ["ID", "logical ID", "health", "config (current → target)", "age", "last error"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

// An action button's call: disable while it runs, show the API's text when
// it is refused, re-read the group after.
async function act(id, method, params) {
  delete groupErrors[id];
  try {
    await rpc(method, Object.assign({ ID: id }, params || {}));
  } catch (e) {
    groupErrors[id] = `${method.replace("Group.", "")} refused: ${e.message}`;
  }
  await refresh();
}

// Scale to the size box's value: a whole number, checked here (an empty box
// must not become 0, which would destroy every instance).
function scale(g, input) {
  const v = input.value.trim();
  input.blur(); // render() leaves a group alone while its size box has the focus
  if (!/^\d+$/.test(v)) {
    groupErrors[g.ID] = `Scale: the size must be a whole number of instances (0 or more), not "${v}"`;
    render(lastGroups);
    return;
  }
  act(g.ID, "Group.SetSize", { Size: Number(v) });
}

function renderControls(g) {
  const size = el("input", {
    type: "number", min: 0, step: 1, value: (g.Summary || {}).Desired ?? 0, "aria-label": "size", class: "size-input",
    onkeydown: (e) => { if (e.key === "Enter") scale(g, size); },
  });
  return el("div", { class: "controls" },
    size,
    el("button", { class: "scale", onclick: () => scale(g, size) }, "Scale"),
    el("button", {
      class: g.Phase === "canary-paused" ? "promote primary" : "promote",
      title: "go on with a canary rollout (Group.Promote)",
      onclick: () => act(g.ID, "Group.Promote"),
    }, "Promote canary"),
    // Both always shown: the daemon decides, and says why it refuses.
    el("button", {
      class: "pause",
      title: "start no new replacement until resumed (Group.Pause)",
      onclick: () => act(g.ID, "Group.Pause"),
    }, "Pause rollout"),
    el("button", {
      class: g.Paused ? "resume primary" : "resume",
      title: "let a paused rollout go on (Group.Resume)",
      onclick: () => act(g.ID, "Group.Resume"),
    }, "Resume rollout"));
}

function renderGroup(g) {
  const s = g.Summary || {};
  const reason = s.Reason || g.Failure || g.Error || "";
  return el("section", { class: "group", "data-group": g.ID },
    el("div", { class: "top" },
      el("div", { class: "summary" },
        el("div", { class: "group-head" },
          el("h2", { class: "group-name" }, g.ID),
          el("span", { class: `phase phase-${g.Phase}` }, g.Phase),
          renderCounts(s)),
        reason ? el("p", { class: "reason" }, reason) : null,
        renderRollout(g),
        renderControls(g),
        groupErrors[g.ID] ? el("p", { class: "error action-error", role: "alert" }, groupErrors[g.ID]) : null),
      el("div", { class: "chart" }, renderChart(g.ID))),
    el("div", { class: "table-wrap" }, renderInstances(g)));
}

function render(groups) {
  const root = $("groups");
  // Keep what the user is typing in a size box across a re-render.
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".group");
  if (focused && document.activeElement.classList.contains("size-input")) return;
  root.replaceChildren(...(groups.length ? groups.map(renderGroup) : [el("p", { class: "muted" }, "No groups committed.")]));
}

// --- chart: the last hour of desired / current / available ----------------------

function renderChart(id) {
  const W = 320, H = 110, P = 22;
  const rows = (history.Groups || {})[id] || [];
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${id}: size over the last hour` });
  // The x axis spans what the daemon has, up to an hour, at least 5 minutes.
  const now = Date.now();
  const oldest = rows.length ? rows[0][0] : now;
  const from = now - Math.min(3600e3, Math.max(300e3, now - oldest));
  let max = 1;
  for (const r of rows) max = Math.max(max, r[1], r[2], r[3]);
  const x = (t) => P + ((t - from) / (now - from)) * (W - P - 4);
  const y = (v) => H - P + 4 - (v / max) * (H - P - 8);
  box.append(svg("line", { x1: P, y1: y(0), x2: W - 4, y2: y(0), stroke: "#d1d5db" }));
  const label = (tx, ty, text, anchor) => {
    const t = svg("text", { x: tx, y: ty, "font-size": 9, fill: "#6b7280", "text-anchor": anchor || "start" });
    t.textContent = text;
    box.append(t);
  };
  label(P - 3, y(max) + 3, max, "end");
  label(P - 3, y(0) + 3, 0, "end");
  label(P, H - 4, `-${Math.round((now - from) / 60e3)}m`);
  label(W - 4, H - 4, "now", "end");
  // desired last: dashed, on top of the others it usually equals
  const series = [[2, "#2563eb", ""], [3, "#16803c", ""], [1, "#6b7280", "4 3"]];
  for (const [col, color, dash] of series) {
    const pts = rows.filter((r) => r[0] >= from).map((r) => `${x(r[0]).toFixed(1)},${y(r[col]).toFixed(1)}`);
    if (pts.length === 0) continue;
    if (pts.length === 1) { // one sample: a dot, a line would have no length
      const [cx, cy] = pts[0].split(",");
      box.append(svg("circle", { cx, cy, r: 2.5, fill: color, class: `series-${col}` }));
      continue;
    }
    box.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 1.5, "stroke-dasharray": dash || "none", class: `series-${col}` }));
  }
  const legend = el("div", { class: "legend" },
    el("span", { class: "swatch-desired" }, "┄ desired"),
    el("span", { class: "swatch-current" }, "— current"),
    el("span", { class: "swatch-available" }, "— available"),
    rows.length ? null : el("span", {}, "(no samples yet)"));
  return [box, legend];
}

async function loadHistory() {
  try {
    const res = await fetch("/ui/history.json");
    if (res.ok) history = await res.json();
    render(lastGroups);
  } catch (e) {
    /* the next round will tell */
  }
}

// --- events -------------------------------------------------------------------

function addEvent(name, data) {
  let ev = {};
  try {
    ev = JSON.parse(data);
  } catch (e) {
    ev = { raw: data };
  }
  const { time, group, event, ...rest } = ev;
  const when = time ? new Date(time) : new Date();
  const detail = Object.entries(rest).filter(([, v]) => v !== "" && v !== null).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  const li = el("li", { class: `event event-${name}` },
    el("time", { datetime: when.toISOString() }, when.toLocaleTimeString()),
    el("span", { class: "name" }, event || name),
    group ? el("code", {}, group) : null, " ", detail);
  const list = $("events");
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

// Without /events: a line per phase change seen between two reads, so the
// panel still tells what happened (coarser than the event log).
function notePhaseChanges(before, after) {
  const was = Object.fromEntries(before.map((g) => [g.ID, g.Phase]));
  for (const g of after) {
    if (was[g.ID] === undefined || was[g.ID] === g.Phase) continue;
    const s = g.Summary || {};
    addEvent("phase", JSON.stringify({ group: g.ID, event: "phase", from: was[g.ID], to: g.Phase, reason: s.Reason || "" }));
  }
}

function setLive(on, text) {
  const s = $("live");
  s.className = `live ${on ? "on" : "off"}`;
  s.textContent = text;
}

function startPolling(why) {
  if (pollTimer) return;
  setLive(false, `polling every ${POLL_MS / 1000} s`);
  const note = $("events-note");
  note.hidden = false;
  note.textContent = `No live events (${why}); the groups are re-read every ${POLL_MS / 1000} s.`;
  pollTimer = setInterval(refresh, POLL_MS);
}

// Live events from GET /events; if the daemon has no such endpoint (404:
// EventSource gives up, readyState CLOSED), poll instead. A dropped
// connection is retried by EventSource itself (with Last-Event-ID).
function connectEvents() {
  if (!window.EventSource) return startPolling("this browser has no EventSource");
  const es = new EventSource("/events");
  const on = (e) => {
    addEvent(e.type, e.data);
    refresh();
  };
  for (const name of EVENT_NAMES) es.addEventListener(name, on);
  es.onmessage = on; // events without a name
  es.onopen = () => {
    setLive(true, "live");
    $("events-note").hidden = true;
    if (pollTimer) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) startPolling("GET /events is not served by this daemon");
    else setLive(false, "reconnecting…");
  };
}

// --- start --------------------------------------------------------------------

refresh();
loadHistory();
setInterval(loadHistory, HISTORY_MS);
setInterval(refresh, SAFETY_POLL_MS);
connectEvents();
