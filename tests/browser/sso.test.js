// Staff single sign-on in a real browser against a real OpenID Connect provider (panva's
// oidc-provider, tests/browser/oidc-provider.mjs): authorisation code with PKCE, roles mapped
// from the `thaw_role` claim. Starts the provider and its own `thaw serve --demo` (SQLite in a
// temporary directory) configured for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, launchBrowser, shot, startThaw, stop, tail, watchErrors } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_ID = 'thaw-desk';
const CLIENT_SECRET = 'e2e-oidc-client-secret-0123456789';
const USERS = [
  // A demo staff member (an agent in thaw) whom the provider makes a supervisor.
  { sub: 'idp-0001', email: 'Agent1.EN@thaw.example', name: 'Sam Taylor', thaw_role: 'desk-supervisors' },
  // Someone thaw does not know yet: created on first sign-in.
  { sub: 'idp-0002', email: 'li.ming@desk.example', name: '李明', thaw_role: ['desk-staff', 'desk-admins'] },
  // Known to the provider but without any desk role.
  { sub: 'idp-0003', email: 'visitor@desk.example', name: 'Visitor', thaw_role: 'wiki-readers' },
];

let browser;
let tmp;
let idp;
let thaw;

/** Starts the provider once: its process and issuer, or an error after 30 s without it. */
async function spawnProvider(port, redirectUri) {
  const child = spawn(process.execPath, [path.join(here, 'oidc-provider.mjs')], {
    cwd: here,
    env: {
      ...process.env,
      OIDC_PORT: String(port),
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_REDIRECT_URI: redirectUri,
      OIDC_USERS: JSON.stringify(USERS),
    },
    stdio: ['ignore', 'pipe', fs.openSync(path.join(tmp, 'idp.err'), 'w')],
  });
  const lines = readline.createInterface({ input: child.stdout });
  try {
    const issuer = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the provider did not start: ${tail(path.join(tmp, 'idp.err'))}`)), 30_000);
      lines.on('line', (line) => {
        const m = line.match(/^OIDC ready (\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`the provider exited with ${code}: ${tail(path.join(tmp, 'idp.err'))}`)));
    });
    return { child, issuer };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** The provider, started again once if its first process hangs before listening (seen once in
 * a full run: a Node.js process blocked at start with no socket open). */
async function startProvider(port, redirectUri) {
  try {
    return await spawnProvider(port, redirectUri);
  } catch (first) {
    console.error(`# ${first.message}; starting the provider again`);
    return spawnProvider(port, redirectUri);
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thaw-sso-e2e-'));
  const idpPort = await freePort();
  let thawPort = await freePort();
  while (thawPort === idpPort) thawPort = await freePort();
  const thawBase = `http://127.0.0.1:${thawPort}`;
  idp = await startProvider(idpPort, `${thawBase}/desk/sso/callback`);
  thaw = await startThaw({
    dir: path.join(tmp, 'thaw'),
    port: thawPort,
    env: {
      THAW_PUBLIC_URL: thawBase,
      THAW_STAFF_OIDC_ISSUER: idp.issuer,
      THAW_STAFF_OIDC_CLIENT_ID: CLIENT_ID,
      THAW_STAFF_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      THAW_STAFF_OIDC_ROLE_MAP: 'desk-staff=agent_t1, desk-supervisors=supervisor, desk-admins=admin',
      THAW_STAFF_OIDC_ALLOW_HTTP: 'true',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stop(thaw?.child);
  await stop(idp?.child);
  if (tmp && !process.env.THAW_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

async function withLogs(body) {
  try {
    await body();
  } catch (e) {
    console.error(`--- thaw log ---\n${tail(thaw.out)}\n${tail(thaw.err)}\n--- provider ---\n${tail(path.join(tmp, 'idp.err'))}`);
    throw e;
  }
}

/** Starts single sign-on from the desk's sign-in page and signs in at the provider as `email`. */
async function signInAtProvider(page, email, next = '/desk') {
  // The first sign-in discovers the provider while the demo is still being seeded; under the
  // load of the other browser tests that can take longer than Playwright's 30 s default.
  page.setDefaultTimeout(90_000);
  await page.goto(`${thaw.base}/desk/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByTestId('sso-start').click();
  await page.waitForSelector('#email');
  assert.ok(page.url().startsWith(idp.issuer), `the browser is at the provider: ${page.url()}`);
  await page.fill('#email', email);
  await page.click('#sign-in');
  // Back at thaw: the page asked for, or the sign-in page's error at the callback's address.
  await page.waitForURL((u) => u.href.startsWith(thaw.base));
}

test('a known staff member signs in with single sign-on and takes the role the provider gives', () => withLogs(async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${thaw.base}/desk/sign-in`);
  await shot(page, 'sso-signin');
  await signInAtProvider(page, 'agent1.en@thaw.example', '/desk/analytics');
  assert.equal(new URL(page.url()).pathname, '/desk/analytics', 'back where the sign-in started');
  assert.match(await page.getByTestId('whoami').innerText(), /Sam Taylor · Supervisor/, 'the mapped role replaced the agent role');
  await shot(page, 'sso-signed-in');
  assert.deepEqual(errors, []);
  await context.close();
}));

test('someone new is created with the mapped role; the audit log records it', () => withLogs(async () => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await signInAtProvider(page, 'li.ming@desk.example');
  assert.equal(new URL(page.url()).pathname, '/desk');
  assert.match(await page.getByTestId('whoami').innerText(), /李明 · 管理员/, 'the highest mapped role: admin');
  await page.goto(`${thaw.base}/desk/audit?action=staff.sso_linked`);
  const rows = await page.getByTestId('audit-log').locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 2, `two members tied to the provider: ${rows.join('\n')}`);
  assert.ok(rows.some((r) => r.includes('idp-0002') && r.includes('sso:idp-0002')), `actor and subject recorded: ${rows.join('\n')}`);
  await context.close();
}));

test('no desk role, a cancelled sign-in and a forged callback are each refused with a clear message', () => withLogs(async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signInAtProvider(page, 'visitor@desk.example');
  assert.match(await page.getByTestId('signin-error').innerText(), /no desk role/);
  await page.goto(`${thaw.base}/desk`);
  assert.match(page.url(), /\/desk\/sign-in/, 'not signed in');

  // Cancelled at the provider (a new context: no provider session).
  const other = await browser.newContext({ locale: 'en-US' });
  const p2 = await other.newPage();
  await p2.goto(`${thaw.base}/desk/sign-in`);
  await p2.getByTestId('sso-start').click();
  await p2.waitForSelector('#email');
  await p2.click('#cancel-button');
  await p2.waitForURL((u) => u.href.startsWith(thaw.base));
  assert.match(await p2.getByTestId('signin-error').innerText(), /refused the sign-in/);

  // A callback this browser did not start: no pending sign-in cookie.
  const res = await p2.goto(`${thaw.base}/desk/sso/callback?code=forged&state=forged`);
  assert.equal(res.status(), 400);
  assert.match(await p2.getByTestId('signin-error').innerText(), /did not start on this page/);
  await other.close();
  await context.close();
}));
