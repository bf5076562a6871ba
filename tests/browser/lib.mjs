// Shared helpers for the Node-driven tests: a recording backend, the real detour binary on a
// config with port 0 (ready file, deadline), and cleanup by pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const detourBinary = process.env.DETOUR_BINARY || path.resolve('build/detour');

// An HTTP backend on 127.0.0.1:0 that records each request (method, url, headers, body) and
// answers with an HTML page naming what it got.
export async function startBackend() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      const html = `<!doctype html><title>backend</title><p id="got">${esc(`${req.method} ${req.url} body=${body}`)}</p>`;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) });
      res.end(html);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, received, port: server.address().port };
}

async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Starts detour on `yaml`; resolves with { port, adminPort, proc, stop }.
export async function startDetour(yaml) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detour-node-'));
  const cfg = path.join(dir, 'detour.yaml');
  const ready = path.join(dir, 'ready');
  fs.writeFileSync(cfg, yaml);
  const proc = spawn(detourBinary, ['run', '-c', cfg, '--ready-file', ready], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  await waitFor(() => exited || (fs.existsSync(ready) && fs.readFileSync(ready, 'utf8').includes('ready\n')), 10000, 'detour ready');
  if (exited) throw new Error(`detour exited: ${stderr}`);
  const readyText = fs.readFileSync(ready, 'utf8');
  const port = Number(/listen \S+:(\d+)/.exec(readyText)[1]);
  const adminMatch = /admin \S+:(\d+)/.exec(readyText);
  const adminPort = adminMatch ? Number(adminMatch[1]) : 0;
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    await waitFor(() => exited, 10000, 'detour exit');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { port, adminPort, proc, stop };
}
