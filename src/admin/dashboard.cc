// The admin dashboard: one self-contained page (no external assets), refreshed in place.

#include "admin/admin_server.h"

namespace detour {

const std::string& dashboardHtml() {
  static const std::string kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>detour admin</title>
<style>
  :root { --bg:#0f1419; --panel:#171e26; --line:#26313d; --text:#e6edf3; --dim:#8b98a5;
          --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--text);
         font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; justify-content:space-between;
           padding:12px 16px; border-bottom:1px solid var(--line); position:sticky; top:0; background:var(--bg); }
  h1 { font-size:18px; margin:0; letter-spacing:.3px; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.8px; color:var(--dim); margin:0 0 8px; }
  main { padding:16px; display:grid; gap:16px; grid-template-columns: 1fr; max-width:1400px; margin:0 auto; }
  @media (min-width: 1000px) { main { grid-template-columns: 2fr 1fr; } .wide { grid-column: 1 / -1; } }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px; min-width:0; }
  .cards { display:grid; grid-template-columns: repeat(auto-fit, minmax(140px,1fr)); gap:10px; }
  .card { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:10px; }
  .card .v { font-size:22px; font-weight:600; font-variant-numeric: tabular-nums; }
  .card .k { color:var(--dim); font-size:12px; }
  .scroll { overflow-x:auto; }
  table { border-collapse:collapse; width:100%; }
  th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  td.wrap { white-space:normal; overflow-wrap:anywhere; min-width:140px; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  td.num { text-align:right; font-variant-numeric: tabular-nums; }
  .pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; border:1px solid var(--line); }
  .up { color:var(--ok); border-color:var(--ok); } .down { color:var(--bad); border-color:var(--bad); }
  .risk { color:var(--warn); font-weight:600; }
  .muted { color:var(--dim); }
  .status { font-size:12px; color:var(--dim); }
  .status b { color:var(--text); }
  .flag { display:flex; justify-content:space-between; align-items:center; padding:8px 0; border-bottom:1px solid var(--line); gap:8px; }
  .switch { position:relative; width:46px; height:26px; flex:none; }
  .switch input { opacity:0; width:0; height:0; }
  .slider { position:absolute; inset:0; background:#3a4653; border-radius:26px; cursor:pointer; transition:.15s; }
  .slider:before { content:""; position:absolute; width:20px; height:20px; left:3px; top:3px; background:#fff; border-radius:50%; transition:.15s; }
  input:checked + .slider { background:var(--warn); }
  input:checked + .slider:before { transform:translateX(20px); }
  input:focus-visible + .slider { outline:2px solid var(--accent); }
  #msg { min-height:18px; font-size:12px; }
  .err { color:var(--bad); }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
</style>
</head>
<body>
<header>
  <h1>detour</h1>
  <div class="status" id="status">loading…</div>
</header>
<main>
  <section class="wide">
    <div class="cards">
      <div class="card"><div class="v" id="c-req">–</div><div class="k">requests</div></div>
      <div class="card"><div class="v" id="c-redir">–</div><div class="k">redirects</div></div>
      <div class="card"><div class="v" id="c-5xx">–</div><div class="k">5xx answers</div></div>
      <div class="card"><div class="v" id="c-risk">–</div><div class="k">bodies at risk (301/302)</div></div>
      <div class="card"><div class="v" id="c-conn">–</div><div class="k">open connections</div></div>
      <div class="card"><div class="v" id="c-uperr">–</div><div class="k">upstream errors</div></div>
    </div>
  </section>
  <section>
    <h2>Rules <span class="muted">(first match wins)</span></h2>
    <div class="scroll"><table id="rules"><thead><tr>
      <th>#</th><th>name</th><th>action</th><th>condition</th><th class="num">hits</th><th class="num" title="POST/PUT/PATCH/DELETE answered 301/302">at risk</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <div style="display:grid; gap:16px; align-content:start; min-width:0">
    <section>
      <h2>Flags</h2>
      <div id="flags"></div>
      <div id="msg"></div>
    </section>
    <section>
      <h2>Pools</h2>
      <div id="pools"></div>
    </section>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
const fmt = (n) => Number(n).toLocaleString("en-US");
let token = sessionStorage.getItem("detour-admin-token") || "";

function sumMetric(text, name, filter) {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    if (filter && !filter(line)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  }
  return total;
}

function renderRules(rules) {
  const body = $("rules").tBodies[0];
  body.innerHTML = rules.map((r) => {
    const lossy = r.code === 301 || r.code === 302;
    const action = r.action === "redirect"
                 ? `<span class="${lossy ? "risk" : ""}" title="${lossy ? "clients may turn POST into GET and drop the body" : ""}">${r.code}</span> → <code>${esc(r.to)}</code>`
                 : r.action === "forward" ? `forward → pool <b>${esc(r.pool)}</b>`
                 : `respond ${r.status}`;
    const cond = [r.when ? esc(r.when) : "", r.active === false ? '<span class="muted">inactive window</span>' : ""]
                 .filter(Boolean).join(", ");
    const risk = r.bodies_at_risk > 0 ? `<span class="risk">${fmt(r.bodies_at_risk)}</span>` : "0";
    return `<tr data-rule="${esc(r.name)}"><td class="muted">${r.index + 1}</td><td>${esc(r.name)}</td>` +
           `<td class="wrap">${action}</td><td class="wrap">${cond}</td><td class="num hits">${fmt(r.hits)}</td><td class="num">${risk}</td></tr>`;
  }).join("");
}

// Flag switches are updated in place: a switch keeps its element (and focus, after a click)
// but always shows the value the server has, unless a change of that flag is on its way.
const pendingFlags = new Set();
let flagWrites = 0;  // PUTs sent so far: an answer to /flags older than one of them is stale
function renderFlags(flags) {
  const box = $("flags");
  const names = Object.keys(flags);
  const inputs = [...box.querySelectorAll("input[data-flag]")];
  if (names.length && inputs.length === names.length && inputs.every((el, i) => el.dataset.flag === names[i])) {
    for (const el of inputs) if (!pendingFlags.has(el.dataset.flag)) el.checked = !!flags[el.dataset.flag];
    return;
  }
  if (!names.length) { box.innerHTML = '<div class="muted">no flags configured</div>'; return; }
  box.innerHTML = names.map((n) =>
    `<div class="flag"><span>${esc(n)}</span><label class="switch" title="${esc(n)}">` +
    `<input type="checkbox" data-flag="${esc(n)}" ${flags[n] ? "checked" : ""} aria-label="${esc(n)}">` +
    `<span class="slider"></span></label></div>`).join("");
  for (const input of box.querySelectorAll("input[data-flag]")) {
    input.addEventListener("change", () => setFlag(input.dataset.flag, input.checked, input));
  }
}

function renderPools(pools) {
  const box = $("pools");
  const names = Object.keys(pools);
  if (!names.length) { box.innerHTML = '<div class="muted">no pools configured</div>'; return; }
  box.innerHTML = names.map((n) => {
    const p = pools[n];
    const rows = p.backends.map((b) =>
      `<tr data-backend="${esc(b.backend)}"><td><code>${esc(b.backend)}</code></td>` +
      `<td><span class="pill ${b.state}">${b.state}</span></td>` +
      `<td class="muted">${b.last_error ? esc(b.last_error) : ""}</td></tr>`).join("");
    return `<div style="margin-bottom:12px"><b>${esc(n)}</b> <span class="pill ${p.down ? "down" : "up"}">` +
           `${p.down ? "no healthy backend" : "serving"}</span> <span class="muted">${esc(p.balance)}` +
           `${p.active_checks ? ", active checks" : ", passive checks"}</span>` +
           `<div class="scroll"><table><tbody>${rows}</tbody></table></div></div>`;
  }).join("");
}

async function setFlag(name, value, input) {
  pendingFlags.add(name);
  ++flagWrites;
  try {
    await putFlag(name, value, input);
  } catch (e) {
    input.checked = !value;
    $("msg").className = "err";
    $("msg").textContent = `could not set ${name}: admin API unreachable`;
  } finally {
    pendingFlags.delete(name);
  }
  refresh();
}

async function putFlag(name, value, input) {
  const headers = { "Content-Type": "text/plain" };
  if (token) headers.Authorization = "Bearer " + token;
  let res = await fetch("/flags/" + encodeURIComponent(name), { method: "PUT", headers, body: String(value) });
  if (res.status === 401) {
    const t = prompt("Admin token for flag changes:");
    if (t) {
      await res.text();
      token = t;
      sessionStorage.setItem("detour-admin-token", t);
      headers.Authorization = "Bearer " + t;
      res = await fetch("/flags/" + encodeURIComponent(name), { method: "PUT", headers, body: String(value) });
    }
  }
  const answer = (await res.text()).trim();
  if (res.ok) {
    $("msg").className = "";
    $("msg").textContent = `${name} is now ${value ? "on" : "off"}`;
  } else {
    input.checked = !value;
    $("msg").className = "err";
    $("msg").textContent = `could not set ${name}: ${res.status} ${answer}`;
  }
}

async function refresh() {
  const writes = flagWrites;
  try {
    const [rules, flags, pools, metrics, ready] = await Promise.all([
      fetch("/rules").then((r) => r.json()), fetch("/flags").then((r) => r.json()),
      fetch("/pools").then((r) => r.json()), fetch("/metrics").then((r) => r.text()),
      fetch("/readyz").then(async (r) => { await r.text(); return r.status; })]);
    renderRules(rules);
    if (writes === flagWrites) renderFlags(flags);
    renderPools(pools);
    $("c-req").textContent = fmt(sumMetric(metrics, "detour_requests_total"));
    $("c-redir").textContent = fmt(sumMetric(metrics, "detour_redirects_total"));
    $("c-5xx").textContent = fmt(sumMetric(metrics, "detour_requests_total", (l) => /status="5/.test(l)));
    $("c-risk").textContent = fmt(sumMetric(metrics, "detour_bodies_at_risk_total"));
    $("c-conn").textContent = fmt(sumMetric(metrics, "detour_connections_open"));
    $("c-uperr").textContent = fmt(sumMetric(metrics, "detour_upstream_errors_total"));
    const gen = sumMetric(metrics, "detour_config_generation");
    $("status").innerHTML = `${ready === 200 ? "<b>ready</b>" : '<b class="err">draining</b>'} · config generation <b>${gen}</b> · ` +
      `reloads ok <b>${sumMetric(metrics, "detour_reloads_total", (l) => l.includes('"ok"'))}</b>, failed ` +
      `<b>${sumMetric(metrics, "detour_reloads_total", (l) => l.includes('"failed"'))}</b> · updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $("status").innerHTML = '<b class="err">admin API unreachable</b>';
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace detour
