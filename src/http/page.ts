/**
 * The status page: one self-contained HTML document (no build step, no external assets). It polls
 * /api/status every two seconds and streams fires from /api/events (SSE).
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>the clock</title>
<style>
  :root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #fafbfc; --ok: #067647; --warn: #b54708; --bad: #b42318; --accent: #2e5aac; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 16px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  h1 { font-size: 18px; margin: 0; }
  h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  main { padding: 16px 24px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 1fr); gap: 24px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; color: var(--muted); font-size: 12px; }
  td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
  .pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; }
  .active { background: #ecfdf3; color: var(--ok); } .paused { background: #fffaeb; color: var(--warn); }
  .disabled, .standby { background: #f2f4f7; color: var(--muted); } .invalid { background: #fef3f2; color: var(--bad); }
  .leader { background: #eff4ff; color: var(--accent); }
  .muted { color: var(--muted); }
  button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; }
  #feed { list-style: none; margin: 0; padding: 0; max-height: 420px; overflow: auto; }
  #feed li { padding: 4px 0; border-bottom: 1px solid var(--line); }
  #feed li.new { animation: flash 1.5s ease-out; }
  @keyframes flash { from { background: #eff4ff; } to { background: transparent; } }
  svg { width: 100%; height: 90px; background: #fcfcfd; border: 1px solid var(--line); border-radius: 4px; }
  #error { color: var(--bad); }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>the clock</h1>
  <span id="leader" class="muted">loading…</span>
  <span id="peers" class="muted"></span>
  <span id="updated" class="muted"></span>
  <span id="error"></span>
</header>
<main>
  <section>
    <h2>Schedules <span id="count" class="muted"></span> <span id="pager" hidden><button id="prev">&lsaquo; prev</button> <button id="next">next &rsaquo;</button></span></h2>
    <div id="token" hidden>
      <label>Token for actions: <input id="token-input" type="password" autocomplete="off"></label>
      <label>Pause reason: <input id="pause-reason" type="text" maxlength="500" placeholder="optional"></label>
      <label>until: <input id="pause-until" type="datetime-local" title="optional: the pause ends by itself then (your browser's zone)"></label>
    </div>
    <table>
      <thead><tr><th>Schedule</th><th>When</th><th>Next slot</th><th>Last fired</th><th>Lag</th><th>State</th><th id="actions-head" hidden></th></tr></thead>
      <tbody id="schedules"></tbody>
    </table>
  </section>
  <div>
    <section>
      <h2>Lag of recent fires (ms)</h2>
      <svg id="chart" viewBox="0 0 300 90" preserveAspectRatio="none" role="img" aria-label="lag of recent fires"></svg>
      <div class="muted mono" id="chart-scale"></div>
    </section>
    <section style="margin-top: 16px" id="timeline-section" hidden>
      <h2>Last slots of <span id="timeline-name" class="mono"></span> <button id="timeline-close">close</button></h2>
      <svg id="timeline" viewBox="0 0 300 90" preserveAspectRatio="none" role="img" aria-label="lag and outcome of the schedule's last slots"></svg>
      <div class="muted mono" id="timeline-scale"></div>
      <div class="muted"><span class="pill active">succeeded</span> <span class="pill invalid">failed</span> <span class="pill paused">running</span> <span class="pill disabled">unknown / skipped</span></div>
    </section>
    <section style="margin-top: 16px">
      <h2>Live fires</h2>
      <ul id="feed"></ul>
    </section>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const fires = [];
let actions = false;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
function when(ms) {
  if (ms === null || ms === undefined) return "–";
  return new Date(ms).toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "Z");
}
function relative(ms) {
  if (ms === null || ms === undefined) return "";
  const s = Math.round((ms - Date.now()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? abs + " s" : abs < 3600 ? Math.round(abs / 60) + " min" : abs < 86400 ? Math.round(abs / 3600) + " h" : Math.round(abs / 86400) + " d";
  return s >= 0 ? "in " + text : text + " ago";
}
function lag(ms) { return ms === null || ms === undefined ? "–" : ms < 10 ? ms.toFixed(2) + " ms" : Math.round(ms) + " ms"; }

async function act(name, verb, kind = "schedules") {
  const token = $("token-input").value || sessionStorage.getItem("clock-token") || "";
  sessionStorage.setItem("clock-token", token);
  const request = { method: "POST", headers: { authorization: "Bearer " + token } };
  if (verb === "pause") {
    // The reason and the end given above (both optional); an end is sent as an instant (UTC).
    const reason = $("pause-reason").value.trim();
    const until = $("pause-until").value;
    request.headers["content-type"] = "application/json";
    request.body = JSON.stringify({ ...(reason ? { reason } : {}), ...(until ? { until: new Date(until).toISOString() } : {}) });
  }
  const response = await fetch("/api/" + kind + "/" + encodeURIComponent(name) + "/" + verb, request);
  const body = await response.json().catch(() => ({}));
  $("error").textContent = response.ok ? "" : verb + " " + name + ": " + (body.error || response.status);
  refresh();
}

function render(status) {
  actions = status.actions;
  $("token").hidden = !actions;
  $("actions-head").hidden = !actions;
  const leader = status.leader;
  $("leader").textContent = leader ? "leader: " + leader.host + " pid " + leader.pid + " since " + when(leader.since) + " (lease " + (leader.ttlMs / 1000).toFixed(1) + " s left)" : "no leader";
  $("peers").textContent = status.peers.length + " process" + (status.peers.length === 1 ? "" : "es") + ": " + status.peers.map((p) => p.host + "/" + p.pid + " " + p.role).join(", ");
  $("updated").textContent = "updated " + new Date(status.generatedAt).toLocaleTimeString();
  const first = status.schedules.length === 0 ? 0 : status.offset + 1;
  $("count").textContent = status.total > status.schedules.length ? "(" + first + "-" + (status.offset + status.schedules.length) + " of " + status.total + ")" : "(" + status.total + ")";
  $("pager").hidden = status.total <= status.limit;
  $("prev").disabled = status.offset === 0;
  $("next").disabled = status.offset + status.limit >= status.total;
  const body = $("schedules");
  body.replaceChildren();
  for (const s of status.schedules) {
    const row = el("tr");
    row.dataset.schedule = s.name;
    const name = el("td", null, "mono");
    const link = el("a", s.name);
    link.href = "#history";
    link.onclick = (event) => { event.preventDefault(); showTimeline(s.name); };
    name.append(link);
    if (s.description) name.append(el("div", s.description, "muted description"));
    if (s.source === "dynamic") name.append(el("div", "dynamic", "muted"));
    if (s.group) name.append(el("div", "group " + s.group, "muted"));
    if (s.labels) name.append(el("div", Object.entries(s.labels).map(([k, v]) => k + "=" + v).join(" "), "muted"));
    row.append(name);
    row.append(el("td", s.error ? s.error : s.ruleInWords));
    const next = el("td", when(s.nextAt), "mono"); next.append(el("div", relative(s.nextAt), "muted")); row.append(next);
    const last = el("td", when(s.lastFiredAt), "mono"); last.append(el("div", relative(s.lastFiredAt), "muted")); row.append(last);
    row.append(el("td", lag(s.lastLagMs), "mono"));
    const state = s.error ? "invalid" : s.paused ? "paused" : !s.enabled ? "disabled" : s.done ? "done" : "active";
    const stateCell = el("td"); stateCell.append(el("span", state, "pill " + state));
    if (s.pause) {
      const note = [s.pause.until ? "until " + when(s.pause.until) : "", s.pause.reason || ""].filter(Boolean).join(" · ");
      if (note) stateCell.append(el("div", note, "muted pause-note"));
    }
    // With expect: the leader's judgement of its jobs (ok, late, failed, missed) and why.
    if (s.expect && s.expect.state) {
      const judged = s.expect.state;
      const pill = judged.state === "ok" ? "active" : judged.state === "late" ? "paused" : "invalid";
      const line = el("div"); line.append(el("span", judged.state, "pill expect " + pill));
      if (judged.state !== "ok") line.append(el("div", judged.reason, "muted expect-note"));
      stateCell.append(line);
    }
    row.append(stateCell);
    if (actions) {
      const cell = el("td");
      if (!s.error) {
        const toggle = el("button", s.paused ? "resume" : "pause");
        toggle.onclick = () => act(s.name, s.paused ? "resume" : "pause");
        const run = el("button", "trigger");
        run.onclick = () => act(s.name, "trigger");
        cell.append(toggle, " ", run);
        if (s.group) {
          const whole = el("button", (s.paused ? "resume" : "pause") + " group");
          whole.onclick = () => act(s.group, s.paused ? "resume" : "pause", "groups");
          cell.append(" ", whole);
        }
      }
      row.append(cell);
    }
    body.append(row);
  }
  if (fires.length === 0) for (const fire of status.recentFires) addFire(fire, false);
  drawChart();
}

function addFire(fire, live) {
  fires.push(fire);
  if (fires.length > 200) fires.shift();
  const item = el("li", null, live ? "new" : "");
  item.dataset.schedule = fire.schedule;
  item.append(el("span", fire.schedule, "mono"), " ", el("span", when(fire.slotAt), "muted mono"), " ", el("span", lag(fire.lagMs), "mono"));
  $("feed").prepend(item);
  while ($("feed").children.length > 100) $("feed").lastChild.remove();
  if (live) drawChart();
}

function drawChart() {
  const points = fires.slice(-100);
  const svg = $("chart");
  svg.replaceChildren();
  if (points.length === 0) return;
  const max = Math.max(1, ...points.map((p) => p.lagMs));
  const step = points.length > 1 ? 300 / (points.length - 1) : 0;
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.map((p, i) => (i * step).toFixed(1) + "," + (88 - (Math.max(0, p.lagMs) / max) * 84).toFixed(1)).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#2e5aac");
  line.setAttribute("stroke-width", "1.5");
  svg.append(line);
  const sorted = points.map((p) => p.lagMs).sort((a, b) => a - b);
  $("chart-scale").textContent = "max " + lag(max) + " · p50 " + lag(sorted[Math.floor(sorted.length / 2)]) + " · " + points.length + " fires";
}

// A schedule's last slots (its history in Redis): a bar per slot, height its lag, colour its outcome.
let timelineOf = null;
const OUTCOME_COLOURS = { succeeded: "#067647", failed: "#b42318", started: "#b54708" };
async function showTimeline(name) {
  timelineOf = name;
  $("timeline-section").hidden = false;
  $("timeline-name").textContent = name;
  const response = await fetch("/api/history/" + encodeURIComponent(name) + "?limit=100");
  const entries = response.ok ? await response.json() : [];
  if (timelineOf !== name) return;
  const svg = $("timeline");
  svg.replaceChildren();
  const points = entries.slice().reverse();
  const max = Math.max(1, ...points.map((p) => p.lagMs));
  const width = 300 / Math.max(points.length, 1);
  points.forEach((p, i) => {
    const bar = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const height = 4 + (Math.max(0, p.lagMs) / max) * 84;
    bar.setAttribute("x", (i * width).toFixed(2));
    bar.setAttribute("width", Math.max(0.5, width - 0.5).toFixed(2));
    bar.setAttribute("y", (90 - height).toFixed(2));
    bar.setAttribute("height", height.toFixed(2));
    bar.setAttribute("fill", p.kind === "skipped" ? "#d0d5dd" : OUTCOME_COLOURS[p.result] || "#98a2b3");
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = when(p.slotAt) + " " + p.kind + ", lag " + lag(p.lagMs) + ", " + (p.kind === "skipped" ? "not enqueued" : (p.result || "no check-in") + (p.error ? " (" + p.error + ")" : ""));
    bar.append(title);
    svg.append(bar);
  });
  const failed = points.filter((p) => p.result === "failed").length;
  $("timeline-scale").textContent = points.length === 0 ? "no history yet" : points.length + " slots · max lag " + lag(max) + " · " + failed + " failed";
}
$("timeline-close").onclick = () => { timelineOf = null; $("timeline-section").hidden = true; };

// One page of 1,000 schedules at a time: the clock answers from memory in O(page).
const PAGE = 1000;
let offset = 0;
$("prev").onclick = () => { offset = Math.max(0, offset - PAGE); refresh(); };
$("next").onclick = () => { offset += PAGE; refresh(); };

async function refresh() {
  try {
    const response = await fetch("/api/status?limit=" + PAGE + "&offset=" + offset);
    if (!response.ok) throw new Error("status " + response.status);
    render(await response.json());
    if (timelineOf !== null) showTimeline(timelineOf);
    if (!$("error").textContent.includes(":")) $("error").textContent = "";
  } catch (error) {
    $("error").textContent = "cannot reach the clock: " + error.message;
  }
}

$("token-input").value = sessionStorage.getItem("clock-token") || "";
refresh();
setInterval(refresh, 2000);
const events = new EventSource("/api/events");
events.addEventListener("fired", (event) => addFire(JSON.parse(event.data), true));
</script>
</body>
</html>
`;
