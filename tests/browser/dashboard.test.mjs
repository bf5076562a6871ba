// The admin dashboard in headless Chromium: it shows the rules, hit counts and backend states
// that this test's traffic produced; a click on a flag's switch flips the flag (a request then
// gets the maintenance redirect); a flag flipped elsewhere shows within a refresh; and the page
// requests nothing outside the admin address (by the browser's own network log).
// Run: node tests/browser/dashboard.test.mjs   (DASHBOARD_SCREENSHOT=file.png saves a picture)
import assert from 'node:assert/strict';
import { startBackend, startDetour } from './lib.mjs';
import { Browser, waitUntil } from './webdriver.mjs';

const backend = await startBackend();
const detour = await startDetour(`version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 2
admin:
  listen: "127.0.0.1:0"
log: { level: warn, access: off }
flags:
  payments_maintenance: { default: false }
pools:
  app:
    backends: ["127.0.0.1:${backend.port}"]
    health: { path: /healthz, interval: 300ms, timeout: 300ms, fall: 2, rise: 1 }
  spare:
    backends: ["127.0.0.1:9"]
    health: { path: /healthz, interval: 300ms, timeout: 300ms, fall: 1, rise: 1 }
rules:
  - name: payments-maintenance
    match: { path_prefix: /api/payments }
    when: { flag: payments_maintenance }
    redirect: { to: "https://backup.example.com{uri}", retry_after: 120 }
  - name: legacy-form
    match: { path: /legacy }
    redirect: { to: /api/v2/form, code: 302 }
  - name: spare
    match: { path_prefix: /spare/ }
    forward: { pool: spare }
  - name: app
    forward: { pool: app }
`);
const base = `http://127.0.0.1:${detour.port}`;
const adminBase = `http://127.0.0.1:${detour.adminPort}`;

// Traffic the dashboard must then show: 3 forwards, 2 redirects (one of them a POST: a body at risk).
for (let i = 0; i < 3; i++) await (await fetch(`${base}/api/orders/${i}`)).text();
await (await fetch(`${base}/legacy`, { redirect: 'manual' })).text();
await (await fetch(`${base}/legacy`, { method: 'POST', body: 'a=1', redirect: 'manual' })).text();

const browser = await Browser.launch();
let failed = false;
try {
  const js = (expr) => browser.run(`return ${expr};`);
  await browser.goto(`${adminBase}/`);
  // Rules in order with their hit counts.
  await waitUntil(async () => (await js("document.querySelectorAll('#rules tbody tr').length")) === 4,
    10000, 'the rules table');
  const names = await js("[...document.querySelectorAll('#rules tbody tr')].map((r) => r.dataset.rule)");
  assert.deepEqual(names, ['payments-maintenance', 'legacy-form', 'spare', 'app']);
  await waitUntil(async () => (await browser.text('tr[data-rule="app"] .hits')) === '3' &&
    (await browser.text('tr[data-rule="legacy-form"] .hits')) === '2', 10000, 'hit counts');
  assert.equal((await browser.text('tr[data-rule="legacy-form"] td:last-child')).trim(), '1');
  // Backend states: the live backend up, the one nobody listens on down.
  await waitUntil(async () => (await browser.text('#pools')).includes('no healthy backend'), 10000,
    'the down pool');
  assert.equal(await browser.text(`tr[data-backend="127.0.0.1:${backend.port}"] .pill`), 'up');
  assert.equal(await browser.text('tr[data-backend="127.0.0.1:9"] .pill'), 'down');
  if (process.env.DASHBOARD_SCREENSHOT) await browser.screenshot(process.env.DASHBOARD_SCREENSHOT);

  // The switch flips the flag; a request then gets the maintenance redirect.
  let res = await fetch(`${base}/api/payments/1`, { redirect: 'manual' });
  assert.equal(res.status, 200);
  await browser.click('input[data-flag="payments_maintenance"] + .slider');
  await waitUntil(async () => (await browser.text('#msg')).includes('now on'), 10000, 'the flag change');
  assert.deepEqual(await (await fetch(`${adminBase}/flags`)).json(), { payments_maintenance: true });
  res = await fetch(`${base}/api/payments/1`, { redirect: 'manual' });
  assert.equal(res.status, 307);
  assert.equal(res.headers.get('location'), 'https://backup.example.com/api/payments/1');
  const checked = "document.querySelector('input[data-flag=\"payments_maintenance\"]').checked";
  assert.equal(await js(checked), true);

  // The flag flipped elsewhere (curl, another operator) shows within a refresh (2 s), also
  // while the switch just clicked still has the focus.
  assert.equal(await js("document.activeElement && document.activeElement.dataset.flag || ''"),
    'payments_maintenance', 'the clicked switch has the focus (what used to freeze it)');
  res = await fetch(`${adminBase}/flags/payments_maintenance`, { method: 'PUT', body: 'false' });
  assert.equal(res.status, 200);
  await waitUntil(async () => (await js(checked)) === false, 3500, 'the switch to show off');
  res = await fetch(`${base}/api/payments/1`, { redirect: 'manual' });
  assert.equal(res.status, 200);

  // Nothing outside the admin address was requested.
  const requested = await browser.requestedUrls();
  const outside = requested.filter((u) => !u.startsWith(`${adminBase}/`));
  assert.deepEqual(outside, []);
  assert.ok(requested.some((u) => u.endsWith('/flags/payments_maintenance')), requested.join(' '));
  console.log(`ok   dashboard (${requested.length} requests, all to ${adminBase})`);
} catch (e) {
  failed = true;
  console.log(`FAIL dashboard\n${e.stack}`);
} finally {
  await browser.close();
  await detour.stop();
  backend.server.close();
}
process.exit(failed ? 1 : 0);
