// The 307 flow end to end with real clients: headless Chromium submits a POST form, detour
// answers 307, the browser re-sends the POST with its body, detour forwards it to a backend.
// The same form against a 302 rule arrives as a GET without a body: why detour exists.
// Also curl -L and Node's fetch. Run: node tests/browser/redirect_flow.test.mjs
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startBackend, startDetour } from './lib.mjs';
import { Browser, waitUntil } from './webdriver.mjs';

const formPage = (action) =>
  `<!doctype html><title>order</title><form method="post" action="${action}">` +
  '<input name="item" value="42"><input name="note" value="hello world &amp; more">' +
  '<button id="go" type="submit">Order</button></form>';

const backend = await startBackend();
const yaml = `version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
log: { level: warn, access: off }
pools:
  app: { backends: ["127.0.0.1:${backend.port}"] }
rules:
  - name: form-307
    match: { path: /form }
    respond: { status: 200, body: ${JSON.stringify(formPage('/api/v1/orders'))}, headers: { Content-Type: "text/html; charset=utf-8" } }
  - name: form-302
    match: { path: /form302 }
    respond: { status: 200, body: ${JSON.stringify(formPage('/legacy/orders'))}, headers: { Content-Type: "text/html; charset=utf-8" } }
  - name: orders-v1-moved
    match: { path: /api/v1/orders, methods: [POST] }
    redirect: { to: /api/v2/orders, code: 307 }
  - name: legacy-302
    match: { path: /legacy/orders }
    redirect: { to: /api/v2/orders, code: 302 }
  - name: app
    forward: { pool: app }
`;
const detour = await startDetour(yaml);
const base = `http://127.0.0.1:${detour.port}`;
const expectedBody = 'item=42&note=hello+world+%26+more';

const browser = await Browser.launch();
let failed = false;
// What reached the backend for the orders endpoint (the browser also asks for a favicon).
const orders = () => backend.received.filter((r) => r.url === '/api/v2/orders');
async function check(name, fn) {
  backend.received.length = 0;
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}\n${e.stack}`);
  }
}

try {
  await check('browser: a POST form across 307 arrives as the same POST with its body', async () => {
    await browser.goto(`${base}/form`);
    await browser.click('#go');
    await waitUntil(async () => (await browser.url()) === `${base}/api/v2/orders`, 10000, 'the redirect');
    assert.equal(await browser.text('#got'), `POST /api/v2/orders body=${expectedBody}`);
    assert.equal(orders().length, 1);
    assert.equal(orders()[0].method, 'POST');
    assert.equal(orders()[0].body, expectedBody);
    assert.equal(orders()[0].headers['content-type'], 'application/x-www-form-urlencoded');
  });

  await check('browser: the same form across 302 arrives as a GET and the body is lost', async () => {
    await browser.goto(`${base}/form302`);
    await browser.click('#go');
    await waitUntil(async () => (await browser.url()) === `${base}/api/v2/orders`, 10000, 'the redirect');
    assert.equal(await browser.text('#got'), 'GET /api/v2/orders body=');
    assert.equal(orders().length, 1);
    assert.equal(orders()[0].method, 'GET');
    assert.equal(orders()[0].body, '');
  });

  await check('curl -L re-sends the POST and its body across 307', async () => {
    // Async: the backend runs in this process and must keep serving while curl runs.
    const { stdout: out } = await promisify(execFile)('curl', ['-sS', '-L', '-H', 'Expect:',
      '--data-binary', expectedBody, `${base}/api/v1/orders`], { encoding: 'utf8', timeout: 10000 });
    assert.match(out, /POST \/api\/v2\/orders body=item=42/);
    assert.equal(orders().length, 1);
    assert.equal(orders()[0].method, 'POST');
    assert.equal(orders()[0].body, expectedBody);
  });

  await check("Node's fetch re-sends the POST and its body across 307", async () => {
    const res = await fetch(`${base}/api/v1/orders`, { method: 'POST', body: expectedBody, redirect: 'follow',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    assert.ok(res.redirected);
    assert.equal(res.url, `${base}/api/v2/orders`);
    assert.match(await res.text(), /POST \/api\/v2\/orders body=item=42/);
    assert.equal(orders().length, 1);
    assert.equal(orders()[0].method, 'POST');
    assert.equal(orders()[0].body, expectedBody);
  });

  await check("Node's fetch turns POST into GET across 302", async () => {
    const res = await fetch(`${base}/legacy/orders`, { method: 'POST', body: expectedBody, redirect: 'follow' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /GET \/api\/v2\/orders body=</);
    assert.equal(orders()[0].method, 'GET');
    assert.equal(orders()[0].body, '');
  });
} finally {
  await browser.close();
  await detour.stop();
  backend.server.close();
}
process.exit(failed ? 1 : 0);
