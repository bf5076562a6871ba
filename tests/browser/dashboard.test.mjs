// The admin dashboard in headless Chromium: it shows the rules, hit counts and backend states
// that this test's traffic produced; a click on a flag's switch flips the flag (a request then
// gets the maintenance redirect); and the page requests nothing outside the admin address.
// Run: node tests/browser/dashboard.test.mjs   (DASHBOARD_SCREENSHOT=file.png saves a picture)
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startBackend, startDetour } from './lib.mjs';

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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(`${adminBase}/`);
  // Rules in order with their hit counts.
  await page.waitForFunction(() => document.querySelectorAll('#rules tbody tr').length === 4);
  const names = await page.$$eval('#rules tbody tr', (rows) => rows.map((r) => r.dataset.rule));
  assert.deepEqual(names, ['payments-maintenance', 'legacy-form', 'spare', 'app']);
  await page.waitForFunction(() =>
    document.querySelector('tr[data-rule="app"] .hits')?.textContent === '3' &&
    document.querySelector('tr[data-rule="legacy-form"] .hits')?.textContent === '2');
  const risk = await page.textContent('tr[data-rule="legacy-form"] td:last-child');
  assert.equal(risk.trim(), '1');
  // Backend states: the live backend up, the one nobody listens on down.
  await page.waitForFunction(() => document.querySelector('#pools')?.textContent.includes('no healthy backend'));
  const upState = await page.textContent(`tr[data-backend="127.0.0.1:${backend.port}"] .pill`);
  assert.equal(upState, 'up');
  const downState = await page.textContent('tr[data-backend="127.0.0.1:9"] .pill');
  assert.equal(downState, 'down');
  if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });

  // The switch flips the flag; a request then gets the maintenance redirect.
  let res = await fetch(`${base}/api/payments/1`, { redirect: 'manual' });
  assert.equal(res.status, 200);
  await page.click('label.switch:has(input[data-flag="payments_maintenance"])');
  await page.waitForFunction(() => document.querySelector('#msg')?.textContent.includes('now on'));
  assert.deepEqual(await (await fetch(`${adminBase}/flags`)).json(), { payments_maintenance: true });
  res = await fetch(`${base}/api/payments/1`, { redirect: 'manual' });
  assert.equal(res.status, 307);
  assert.equal(res.headers.get('location'), 'https://backup.example.com/api/payments/1');
  assert.equal(await page.isChecked('input[data-flag="payments_maintenance"]'), true);

  // Nothing outside the admin address was requested.
  const outside = requested.filter((u) => !u.startsWith(`${adminBase}/`));
  assert.deepEqual(outside, []);
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
