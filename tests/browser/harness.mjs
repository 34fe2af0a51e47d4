// What the browser tests share: the browser, free ports, starting and stopping processes (thaw
// and helpers such as the OpenID Connect provider), screenshots and script-error watching.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The thaw binary under test (scripts/test sets THAW_BIN). */
export const bin = process.env.THAW_BIN || `${process.env.CARGO_TARGET_DIR || `${os.homedir()}/.cache/thaw/target`}/debug/thaw`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Debian's Chromium, headless, as every browser test runs it. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

/** A screenshot into THAW_SCREENSHOTS, when set. */
export async function shot(page, name) {
  if (process.env.THAW_SCREENSHOTS) await page.screenshot({ path: `${process.env.THAW_SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** Collects script errors and CSP violations of a page (4xx documents are not script errors). */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(`${m.text()} (${m.location().url})`);
  });
  return errors;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The environment for thaw: ours without the THAW_* settings of whoever runs the test. */
export function thawEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('THAW_')));
  return { ...env, THAW_LOG: 'info', ...extra };
}

export function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after five seconds. */
export async function stop(child) {
  if (!child || exited(child)) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, sleep(5000)]);
  if (!exited(child)) {
    child.kill('SIGKILL');
    await done;
  }
}

/**
 * Starts `thaw serve --demo` in `dir` on `port` with extra environment; waits until /readyz
 * answers (seeding the demo world on a fresh database takes a while).
 */
export async function startThaw({ dir, port, env = {} }) {
  fs.mkdirSync(dir, { recursive: true });
  const base = `http://127.0.0.1:${port}`;
  const out = path.join(dir, 'thaw.out');
  const err = path.join(dir, 'thaw.err');
  assert.ok(fs.existsSync(bin), `no thaw binary at ${bin} (set THAW_BIN)`);
  const child = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env: thawEnv(env),
    stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
  });
  let ready = false;
  for (let i = 0; i < 1200 && !ready; i++) {
    assert.ok(!exited(child), `thaw exited: ${tail(err)}${tail(out)}`);
    ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(100);
  }
  assert.ok(ready, `thaw is ready: ${tail(err)}`);
  return { base, child, out, err };
}

/** Signs a demo staff member in at the desk (password `thaw-demo-2026`) and waits for `next`. */
export async function signInStaff(page, base, email, next = '/desk') {
  await page.goto(`${base}/desk/sign-in?next=${encodeURIComponent(next)}`);
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill('thaw-demo-2026');
  await page.locator('form[action="/desk/sign-in"] button[type=submit]').click();
  await page.waitForURL((u) => u.pathname === next);
}
