// A minimal W3C WebDriver client over Node's fetch, driving Debian's chromedriver and
// chromium (packages chromium and chromium-driver): no npm package needed. Just what the tests
// use: navigate, find, click, text, run a script, screenshot, the URLs requested, and wait for
// a condition.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function waitUntil(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await pred()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export class Browser {
  static async launch() {
    const port = await freePort();
    const driver = spawn(process.env.CHROMEDRIVER || '/usr/bin/chromedriver', [`--port=${port}`],
      { stdio: ['ignore', 'ignore', 'ignore'] });
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await (await fetch(`${base}/status`)).json()).value.ready, 15000,
      'chromedriver');
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'detour-chromium-'));
    const b = new Browser(driver, base, userDataDir);
    const res = await b.call('POST', '/session', {
      capabilities: { alwaysMatch: { browserName: 'chrome',
        // The DevTools network events, for requestedUrls(): they list every request the page
        // started, also those a Content-Security-Policy then blocked.
        'goog:loggingPrefs': { performance: 'ALL' },
        'goog:chromeOptions': {
        binary: process.env.CHROMIUM || '/usr/bin/chromium',
        // As the machine's notes require: no background traffic, no sandbox as root.
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--disable-dev-shm-usage', `--user-data-dir=${userDataDir}`, '--window-size=1280,900'],
      } } },
    });
    b.session = res.sessionId;
    return b;
  }

  constructor(driver, base, userDataDir) {
    this.driver = driver;
    this.base = base;
    this.userDataDir = userDataDir;
  }

  async call(method, url, body) {
    const res = await fetch(this.base + url, {
      method, headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`webdriver ${method} ${url}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  s(url) { return `/session/${this.session}${url}`; }
  async goto(url) { await this.call('POST', this.s('/url'), { url }); }
  async url() { return this.call('GET', this.s('/url')); }
  async find(css) {
    const v = await this.call('POST', this.s('/element'), { using: 'css selector', value: css });
    return v[ELEMENT];
  }
  async click(css) { await this.call('POST', this.s(`/element/${await this.find(css)}/click`), {}); }
  async text(css) { return this.call('GET', this.s(`/element/${await this.find(css)}/text`)); }
  async run(script, ...args) { return this.call('POST', this.s('/execute/sync'), { script, args }); }
  async screenshot(file) {
    fs.writeFileSync(file, Buffer.from(await this.call('GET', this.s('/screenshot')), 'base64'));
  }
  // Every URL the browser started a request for since the session began (the page, its
  // fetches, anything it references), from the DevTools Network.requestWillBeSent events of
  // chromedriver's performance log. Unlike Resource Timing, this includes requests that were
  // blocked (by the CSP, say) or failed. data: URLs load nothing and are left out, and so is
  // what the browser's own pages (chrome://new-tab-page before the first goto) load.
  async requestedUrls() {
    const entries = await this.call('POST', this.s('/se/log'), { type: 'performance' });
    this.seenUrls = this.seenUrls || [];
    for (const e of entries) {
      const m = JSON.parse(e.message).message;
      if (m.method !== 'Network.requestWillBeSent') continue;
      if (/^chrome(-untrusted)?:/.test(m.params.documentURL || '')) continue;
      const url = m.params.request.url;
      if (!url.startsWith('data:')) this.seenUrls.push(url);
    }
    return [...this.seenUrls];
  }
  async close() {
    try {
      if (this.session) await this.call('DELETE', this.s(''));
    } finally {
      this.driver.kill('SIGTERM');
      fs.rmSync(this.userDataDir, { recursive: true, force: true });
    }
  }
}
