// Live pages across processes, on PostgreSQL: two `thaw serve --demo` processes share one
// database; a holder watches their case on server A while an agent answers it on server B, and
// the holder's page shows the reply without reload (and the other way round). The change
// travels from B to A through PostgreSQL LISTEN/NOTIFY and the server-sent events of A.
// Starts its own servers (THAW_BIN, default $CARGO_TARGET_DIR/debug/thaw) on a database it
// creates in THAW_TEST_POSTGRES_URL's cluster (scripts/test exports it) and drops afterwards;
// psql must be on the PATH. CHROMIUM names the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bin, exited, freePort, launchBrowser, sleep, stop, tail, thawEnv, watchErrors } from './harness.mjs';

const pgUrl = process.env.THAW_TEST_POSTGRES_URL;
const shots = process.env.THAW_SCREENSHOTS;
const HOLDER = 'zhao.na.10291@mail.example';
const HOLDER_ACCOUNT = 'demo-10291';
const SUPERVISOR = 'supervisor@thaw.example';
const PASSWORD = 'thaw-demo-2026';

let browser;
let tmp;
let dbName;
let dbUrl;
const servers = {};

// ------------------------------------------------------------------ servers

/** The URL of another database of the same cluster. */
function databaseUrl(name) {
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function psql(sql) {
  execFileSync('psql', [pgUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts `thaw serve --demo` in its own directory on the shared database; waits until ready. */
async function startServer(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const out = path.join(dir, 'thaw.out');
  const err = path.join(dir, 'thaw.err');
  const child = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    env: thawEnv({ THAW_DATABASE_URL: dbUrl }),
    stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
  });
  const server = { name, base, child, out, err };
  servers[name] = server;
  let ready = false;
  // Seeding the demo world on a fresh database takes a while.
  for (let i = 0; i < 1200 && !ready; i++) {
    assert.ok(!exited(child), `thaw ${name} exited: ${tail(err)}${tail(out)}`);
    ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(100);
  }
  assert.ok(ready, `thaw ${name} is ready: ${tail(err)}`);
  // Pages only hear of another process's changes once this process LISTENs.
  const listening = () => /live updates: listening on PostgreSQL/.test(`${tail(out, 1000)}${tail(err, 1000)}`);
  for (let i = 0; i < 100 && !listening(); i++) await sleep(100);
  assert.ok(listening(), `thaw ${name} follows PostgreSQL's notifications: ${tail(err)}${tail(out)}`);
  return server;
}

before(async () => {
  assert.ok(pgUrl, 'THAW_TEST_POSTGRES_URL must name a PostgreSQL cluster (a superuser; scripts/test exports it)');
  assert.ok(fs.existsSync(bin), `no thaw binary at ${bin} (set THAW_BIN)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thaw-live-e2e-'));
  dbName = `thaw_live_${crypto.randomBytes(6).toString('hex')}`;
  psql(`CREATE DATABASE ${dbName}`);
  dbUrl = databaseUrl(dbName);

  // A seeds the demo world; B starts on the same database once A is ready.
  await startServer('A');
  await startServer('B');

  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stop(servers.A?.child);
  await stop(servers.B?.child);
  if (dbName) {
    try {
      psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } catch (e) {
      console.error(`could not drop ${dbName}: ${e.stderr || e}`);
    }
  }
  if (tmp && !process.env.THAW_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a test body; when it fails, shows what both servers logged. */
async function withLogs(body) {
  try {
    await body();
  } catch (e) {
    for (const s of Object.values(servers)) {
      console.error(`--- thaw ${s.name} (${s.base}) log: last lines of ${s.out}, .err ---\n${tail(s.out)}\n${tail(s.err)}`);
    }
    throw e;
  }
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/live-${name}.png`, fullPage: true });
}

// ------------------------------------------------------------------ browser helpers

/**
 * Signs a demo holder in with the email code, read from the demo mailbox of that account: right
 * after start the servers' jobs send a few hundred demo alerts, which would push the code out of
 * the mailbox's newest 50 of all accounts.
 */
async function signInHolder(page, base, email, accountId) {
  await page.goto(`${base}/security/sign-in`);
  await page.getByTestId('holder-email').fill(email);
  await page.getByTestId('send-code').click();
  await page.getByTestId('holder-code').waitFor();
  const mailbox = await page.context().newPage();
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    await mailbox.goto(`${base}/demo/mailbox?account=${encodeURIComponent(accountId)}`);
    // Newest first; a code email's subject ends with the code.
    const subjects = await mailbox.getByTestId('mail').filter({ hasText: email }).locator('h2').allInnerTexts();
    code = subjects.map((t) => (t.match(/\b(\d{6})\s*$/) || [])[1]).find(Boolean);
    if (!code) await sleep(200);
  }
  await mailbox.close();
  assert.ok(code, `a sign-in code for ${email} in the demo mailbox of ${base}`);
  await page.getByTestId('holder-code').fill(code);
  await page.getByTestId('submit-code').click();
  await page.waitForURL(`${base}/security`);
}

/** Runs `navigate` and waits until the page's event stream (`live`, a path) is open. */
async function withLiveStream(page, live, navigate) {
  const opened = page.waitForResponse((r) => new URL(r.url()).pathname === live, { timeout: 15_000 });
  await navigate();
  const res = await opened;
  assert.equal(res.status(), 200, `the event stream ${live} of ${page.url()}`);
  assert.match(res.headers()['content-type'] || '', /^text\/event-stream/);
}

/** Waits (without navigating) until the timeline of `page` contains `text`. */
async function timelineShows(page, text, what) {
  const until = Date.now() + 10_000;
  let seen = '';
  while (Date.now() < until) {
    seen = await page.getByTestId('timeline').innerText();
    if (seen.includes(text)) return;
    await sleep(200);
  }
  assert.fail(`${what}: "${text}" not in the timeline of ${page.url()} after 10 s without reload; it shows:\n${seen}`);
}

// ------------------------------------------------------------------ test

test('a case page updates without reload when another thaw process changes the case (PostgreSQL)', () => withLogs(async () => {
  const A = servers.A.base;
  const B = servers.B.base;
  const tag = crypto.randomBytes(4).toString('hex');

  // The holder, on a phone in Chinese, opens their first case on server A.
  const holderCtx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  const holder = await holderCtx.newPage();
  const holderErrors = watchErrors(holder);
  await signInHolder(holder, A, HOLDER, HOLDER_ACCOUNT);
  await holder.goto(`${A}/security/cases`);
  const first = holder.getByTestId('my-cases').locator('tbody a').first();
  await first.waitFor();
  const number = (await first.innerText()).trim();
  assert.match(number, /^C-\d+$/, 'the demo holder has a case');
  await withLiveStream(holder, `/security/cases/${number}/live`, () => first.click());
  await holder.waitForURL(`${A}/security/cases/${number}`);
  assert.equal((await holder.getByTestId('case-number').innerText()).trim(), number);
  await holder.evaluate(() => { window.__noReload = 1; });
  await shot(holder, 'holder-before');

  // An agent (a supervisor: they work any case) answers it on server B, another process.
  const deskCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const desk = await deskCtx.newPage();
  const deskErrors = watchErrors(desk);
  await desk.goto(`${B}/desk/sign-in`);
  await desk.getByLabel('Work email').fill(SUPERVISOR);
  await desk.getByLabel('Password').fill(PASSWORD);
  await desk.getByRole('button', { name: 'Sign in' }).click();
  await desk.waitForURL(`${B}/desk`);
  await withLiveStream(desk, '/desk/live', () => desk.goto(`${B}/desk/cases/${number}`));
  assert.equal((await desk.getByTestId('case-number').innerText()).trim(), number);
  const reply = `Live reply ${tag}: we are checking the withdrawal now.`;
  await desk.getByTestId('desk-body').fill(reply);
  // After sending, the desk shows the case again: its event stream opens on B.
  await withLiveStream(desk, '/desk/live', () => desk.getByTestId('send-public').click());
  await desk.getByTestId('case-notice').waitFor();
  assert.match(desk.url(), new RegExp(`^${B}/desk/cases/${number}(\\?|$)`));
  await timelineShows(desk, reply, 'the desk shows its own reply');

  // The holder's page on A shows the reply, without navigation.
  await timelineShows(holder, reply, 'the holder\'s page on A hears of the reply sent on B');
  assert.equal(await holder.evaluate(() => window.__noReload), 1, 'the holder\'s page was not reloaded');
  assert.equal(new URL(holder.url()).pathname, `/security/cases/${number}`);
  await shot(holder, 'holder-live-reply');

  // The other way: the holder answers on A; the agent's page on B shows it without reload.
  await desk.evaluate(() => { window.__noReload = 1; });
  const answer = `谢谢，已收到 ${tag}，我等你们的结果。`;
  await holder.getByTestId('reply-body').fill(answer);
  await holder.getByTestId('send-reply').click();
  await holder.waitForURL(/notice=replied$/);
  await timelineShows(holder, answer, 'the holder sees their own reply');
  await timelineShows(desk, answer, 'the desk\'s page on B hears of the holder\'s reply sent on A');
  assert.equal(await desk.evaluate(() => window.__noReload), 1, 'the desk\'s page was not reloaded');
  await shot(desk, 'desk-live-answer');

  assert.deepEqual(holderErrors, [], 'no script errors on the holder\'s pages');
  assert.deepEqual(deskErrors, [], 'no script errors on the desk\'s pages');
  await holderCtx.close();
  await deskCtx.close();
}));
