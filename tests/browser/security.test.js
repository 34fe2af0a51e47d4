// The security centre in a real browser, as an account holder uses it: sign-in by email code,
// the anti-phishing code, TOTP (checked against pyotp), an alert email received by a real SMTP
// server (aiosmtpd) whose single-use "this wasn't me" link freezes the account, lifting the
// freeze by step-up after the waiting period, passkeys with Chromium's virtual authenticator,
// and the pages in Chinese.
// Starts its own thaw (THAW_BIN, default $CARGO_TARGET_DIR/debug/thaw) and SMTP server; needs
// python3 with pyotp and aiosmtpd. CHROMIUM names the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bin, exited, freePort, launchBrowser, sleep, stop, tail, thawEnv } from './harness.mjs';

const shots = process.env.THAW_SCREENSHOTS;
// The platform's single sign-on secret: a holder coming back from the platform gets a session
// with no factor verified yet.
const SSO_SECRET = 'e2e-platform-shared-secret-0123456789abcdef';
const ANTI_PHISHING = 'Blue42Harbor';

let browser;
let tmp;
let base;
let apiKey;
let thaw;
let smtp;
let maildir;
const consumed = new Set();

// ------------------------------------------------------------------ servers

function connects(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

before(async () => {
  assert.ok(fs.existsSync(bin), `no thaw binary at ${bin} (set THAW_BIN)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thaw-security-e2e-'));
  const dbUrl = `sqlite://${tmp}/thaw.db`;

  // A real SMTP server writing what it receives into a Maildir.
  const smtpPort = await freePort();
  maildir = path.join(tmp, 'maildir');
  smtp = spawn('python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { cwd: tmp, stdio: ['ignore', fs.openSync(`${tmp}/smtp.out`, 'w'), fs.openSync(`${tmp}/smtp.err`, 'w')] });
  for (let i = 0; i < 100 && !(await connects(smtpPort)); i++) {
    assert.ok(!exited(smtp), `aiosmtpd did not start: ${tail(`${tmp}/smtp.err`)}`);
    await sleep(100);
  }
  assert.ok(await connects(smtpPort), 'aiosmtpd listens');

  // The default policy with a 4 s waiting period for lifting a self-freeze.
  const policy = execFileSync(bin, ['policy', 'default'], { cwd: tmp, env: thawEnv({}), encoding: 'utf8' });
  const short = policy.replace(/^self_freeze_wait = "2h"/m, 'self_freeze_wait = "4s"');
  assert.notEqual(short, policy, 'the default policy names self_freeze_wait = "2h"');
  fs.writeFileSync(`${tmp}/policy.toml`, short);

  // The platform backend's API key.
  const created = execFileSync(bin, ['admin', 'create-api-key', '--name', 'e2e'],
    { cwd: tmp, env: thawEnv({ THAW_DATABASE_URL: dbUrl }), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  apiKey = created.trim().split('\n').pop().trim();
  assert.match(apiKey, /^thaw_\w+$/, `an API key on the last line: ${created}`);

  const port = await freePort();
  // localhost, not 127.0.0.1: passkeys need a host name.
  base = `http://localhost:${port}`;
  thaw = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], {
    cwd: tmp,
    env: thawEnv({
      THAW_DATABASE_URL: dbUrl,
      THAW_PUBLIC_URL: base,
      THAW_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      THAW_POLICY_FILE: `${tmp}/policy.toml`,
      THAW_ALERT_THROTTLE_SECS: '0',
      THAW_SSO_HS256_SECRET: SSO_SECRET,
    }),
    stdio: ['ignore', fs.openSync(`${tmp}/thaw.out`, 'w'), fs.openSync(`${tmp}/thaw.err`, 'w')],
  });
  let ready = false;
  for (let i = 0; i < 150 && !ready; i++) {
    assert.ok(!exited(thaw), `thaw serve exited: ${tail(`${tmp}/thaw.err`)}${tail(`${tmp}/thaw.out`)}`);
    ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(100);
  }
  assert.ok(ready, `thaw is ready: ${tail(`${tmp}/thaw.err`)}`);

  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stop(thaw);
  await stop(smtp);
  if (tmp && !process.env.THAW_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a test body; when it fails, shows what thaw logged. */
async function withLogs(body) {
  try {
    await body();
  } catch (e) {
    console.error(`--- thaw log (last lines of ${tmp}/thaw.out, .err) ---\n${tail(`${tmp}/thaw.out`)}\n${tail(`${tmp}/thaw.err`)}`);
    throw e;
  }
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/security-${name}.png`, fullPage: true });
}

// ------------------------------------------------------------------ email

const MAIL_PY = `
import email, json, os, sys
from email import policy
d = sys.argv[1]
out = []
for name in (os.listdir(d) if os.path.isdir(d) else []):
    p = os.path.join(d, name)
    with open(p, 'rb') as f:
        m = email.message_from_bytes(f.read(), policy=policy.default)
    text = m.get_body(('plain',))
    html = m.get_body(('html',))
    out.append({"file": name, "mtime": os.stat(p).st_mtime, "to": str(m['to'] or ''), "subject": str(m['subject'] or ''),
                "text": text.get_content() if text else '', "html": html.get_content() if html else ''})
print(json.dumps(out))
`;

/** Every message the SMTP server received, decoded by Python's email package. */
function mailbox() {
  const out = execFileSync('python3', ['-c', MAIL_PY, path.join(maildir, 'new')], { encoding: 'utf8' });
  return JSON.parse(out).sort((a, b) => a.mtime - b.mtime);
}

/**
 * Waits for a message to `to` not returned before whose subject (and text, if given) match;
 * returns the newest such message and marks it read.
 */
async function waitForMail(to, { subject, text }, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = mailbox().filter((m) => !consumed.has(m.file) && m.to.includes(to) && subject.test(m.subject)
      && (!text || text.test(m.text)));
    if (found.length) {
      const m = found[found.length - 1];
      consumed.add(m.file);
      return m;
    }
    if (Date.now() > until) {
      const seen = mailbox().filter((m) => m.to.includes(to)).map((m) => m.subject);
      assert.fail(`no email to ${to} with subject ${subject}${text ? ` and text ${text}` : ''}; got ${JSON.stringify(seen)}`);
    }
    await sleep(200);
  }
}

function codeOf(mail) {
  const m = mail.subject.match(/(\d{6})\s*$/);
  assert.ok(m, `a 6-digit code in the subject: ${mail.subject}`);
  assert.ok(mail.text.includes(m[1]), 'and in the text');
  return m[1];
}

// ------------------------------------------------------------------ platform backend, TOTP, SSO

async function api(method, url, body) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

async function newAccount(prefix) {
  const r = crypto.randomBytes(4).toString('hex');
  const id = `e2e-${prefix}-${r}`;
  const email = `holder-${prefix}-${r}@example.com`;
  const res = await api('PUT', `/api/v1/accounts/${id}`, { email, locale: 'en' });
  assert.equal(res.status, 201, `account created: ${JSON.stringify(res.json)}`);
  return { id, email };
}

function login(accountId, device, geo, occurredAtMs, ip) {
  return api('POST', '/api/v1/events', {
    id: `e2e-evt-${crypto.randomUUID()}`,
    account_id: accountId,
    kind: 'login_succeeded',
    occurred_at: new Date(occurredAtMs).toISOString(),
    ip,
    device_id: device,
    user_agent: 'Mozilla/5.0 (e2e)',
    geo,
  });
}

function totpNow(secret) {
  return execFileSync('python3', ['-c', 'import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())', secret],
    { encoding: 'utf8' }).trim();
}

/** Waits until the 30 s TOTP step is later than `step`, so a fresh code is not a replay. */
async function totpStepAfter(step) {
  while (Math.floor(Date.now() / 30_000) <= step) await sleep(250);
}

function ssoToken(sub, email) {
  const b64 = (s) => Buffer.from(s).toString('base64url');
  const header = b64('{"alg":"HS256","typ":"JWT"}');
  const claims = b64(JSON.stringify({ sub, email, exp: Math.floor(Date.now() / 1000) + 120, jti: crypto.randomUUID() }));
  const sig = crypto.createHmac('sha256', SSO_SECRET).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${sig}`;
}

// ------------------------------------------------------------------ browser helpers

/** Script errors and console errors of a page (CSP violations show here). */
function watch(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`); });
  return errors;
}

async function noSidewaysScroll(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, `no sideways scrolling on ${page.url()}`);
}

/** Signs in by the email code flow and lands on `next` (default /security). */
async function signInByEmail(page, email, next) {
  const res = await page.goto(`${base}/security/sign-in${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  assert.equal(res.status(), 200, `the sign-in page of the security centre (${bin})`);
  await page.getByTestId('holder-email').fill(email);
  await page.getByTestId('send-code').click();
  await page.getByTestId('holder-code').waitFor();
  const code = codeOf(await waitForMail(email, { subject: /^thaw verification code:/, text: /sign in/ }));
  await page.getByTestId('holder-code').fill(code);
  await page.getByTestId('submit-code').click();
  await page.waitForURL(`${base}${next || '/security'}`);
}

async function verifiedCount(page) {
  const text = await page.getByTestId('verified-count').innerText();
  const m = text.match(/(\d+)/);
  assert.ok(m, `a count in "${text}"`);
  return Number(m[1]);
}

/** Reloads the hold page until its waiting period is over and the release button works. */
async function untilReleasable(page) {
  for (let i = 0; i < 40 && await page.getByTestId('release').isDisabled(); i++) {
    await sleep(250);
    await page.reload();
  }
  assert.equal(await page.getByTestId('release').isEnabled(), true, 'the release button works after the waiting period');
}

// ------------------------------------------------------------------ tests

test('a holder sets up TOTP, freezes the account from an alert email and lifts the freeze by step-up', () => withLogs(async () => {
  const { id, email } = await newAccount('path');
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = watch(page);

  // Sign-in by email code.
  await signInByEmail(page, email);
  assert.equal(await page.getByTestId('account-id').innerText(), id);
  await page.getByTestId('no-holds').waitFor();
  await shot(page, 'overview');

  // The anti-phishing code.
  await page.goto(`${base}/security/factors`);
  await page.getByTestId('ap-code').fill(ANTI_PHISHING);
  await page.getByTestId('ap-save').click();
  await page.waitForURL(/\/security\/factors\?notice=anti_phishing_saved$/);
  assert.match(await page.getByTestId('notice').innerText(), /Anti-phishing code saved/);
  assert.equal(await page.getByTestId('ap-code').inputValue(), ANTI_PHISHING);

  // TOTP: the email code of the sign-in counts as a verified factor, so setting up is allowed.
  assert.equal(await page.getByTestId('totp-setup').isEnabled(), true);
  await page.getByTestId('totp-setup').click();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'a base32 secret');
  await page.getByTestId('totp-qr').waitFor();
  await page.getByTestId('totp-confirm-code').fill(totpNow(secret));
  await page.getByTestId('totp-confirm').click();
  await page.getByTestId('recovery-codes').waitFor();
  const enrolledStep = Math.floor(Date.now() / 30_000);
  assert.equal(await page.getByTestId('recovery-codes').locator('li code').count(), 10, 'ten recovery codes, shown once');
  assert.match(await page.getByTestId('notice').innerText(), /Authenticator set up/);
  await page.getByTestId('totp-on').waitFor();
  await shot(page, 'factors');

  // The platform reports sign-ins: a known phone in Shanghai two days ago, now a new laptop in
  // Frankfurt (no impossible travel: 8,800 km in 48 h).
  const first = await login(id, 'phone-A', { country: 'CN', city: 'Shanghai', lat: 31.23, lon: 121.47 },
    Date.now() - 48 * 3600_000, '198.51.100.20');
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.equal(first.json.action, 'allow', `the first sign-in sets the baseline: ${JSON.stringify(first.json)}`);
  const second = await login(id, 'laptop-B', { country: 'DE', city: 'Frankfurt', lat: 50.11, lon: 8.68 },
    Date.now(), '203.0.113.7');
  assert.equal(second.status, 200, JSON.stringify(second.json));
  assert.equal(second.json.action, 'challenge', JSON.stringify(second.json));
  assert.deepEqual(second.json.reasons.map((r) => r.code).sort(), ['new_country', 'new_device'], JSON.stringify(second.json));

  // The alert email shows the anti-phishing code first and carries the freeze link.
  const alert = await waitForMail(email, { subject: /^A new device signed in to your account$/ });
  assert.ok(alert.text.startsWith(`Your anti-phishing code: ${ANTI_PHISHING}`), `the code comes first: ${alert.text}`);
  assert.match(alert.html, /<div id="anti-phishing"[^>]*><strong>Your anti-phishing code: Blue42Harbor<\/strong><\/div>/);
  for (const fact of ['laptop-B', 'Frankfurt', '203.0.113.7']) assert.ok(alert.text.includes(fact), `${fact} in ${alert.text}`);
  const href = alert.html.match(/<a id="freeze-link" href="([^"]+)"/);
  assert.ok(href, `a freeze link in the HTML: ${alert.html}`);
  const link = href[1].replaceAll('&amp;', '&');
  assert.match(link, new RegExp(`^${base}/freeze/[0-9a-f]{64}$`));
  assert.ok(alert.text.includes(link), 'the text part has the same link');

  // The link, opened on a phone that is not signed in: a confirmation, then frozen, then spent.
  const phone = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 } });
  const stranger = await phone.newPage();
  const strangerErrors = watch(stranger);
  await stranger.goto(link);
  await stranger.getByTestId('freeze-confirm').waitFor();
  await noSidewaysScroll(stranger);
  await shot(stranger, 'freeze-link-phone');
  await stranger.getByTestId('freeze-confirm').click();
  assert.match(await stranger.getByTestId('frozen').innerText(), /Your account is frozen/);
  const again = await stranger.goto(link);
  assert.equal(again.status(), 410);
  assert.match(await stranger.getByTestId('link-invalid').innerText(), /This link does not work/, 'the link works once');
  assert.equal(await stranger.getByTestId('freeze-confirm').count(), 0);
  // The spent link answers 410 Gone, which Chromium reports on the console; nothing else may.
  const unexpected = strangerErrors.filter((e) => !/status of 410 .*\/freeze\//.test(e));
  assert.deepEqual(unexpected, [], 'no script errors or CSP violations on the freeze pages');
  await phone.close();
  await waitForMail(email, { subject: /^Your account has been restricted$/ });

  // The freeze signed everyone out of the security centre (the thief may have had a session).
  await page.goto(`${base}/security`);
  await page.waitForURL(/\/security\/sign-in\?next=%2Fsecurity$/);

  // The holder comes back from the platform (single sign-on): a new session, no factor
  // verified yet; the freeze is listed with why, and how to lift it.
  await page.goto(`${base}/sso?token=${ssoToken(id, email)}&next=/security`);
  await page.waitForURL(`${base}/security`);
  const card = page.locator('article.hold-card').filter({ hasText: 'You froze your account yourself' });
  assert.equal(await card.count(), 1, 'the self-freeze is listed');
  assert.match(await card.getByTestId('hold-why').innerText(), /You froze your account yourself at .* \(from IP /);
  assert.match(await card.locator('h3').innerText(), /everything/);
  await shot(page, 'frozen');
  await card.locator('[data-testid^=lift-]').click();
  await page.waitForURL(/\/security\/holds\/[^/?]+$/);
  const holdId = page.url().split('/').pop();
  assert.equal(await page.getByTestId('needs-factors').innerText(), '2');
  await page.getByTestId('stepup').waitFor();
  assert.equal(await verifiedCount(page), 0);
  const release = await page.getByTestId('release');
  assert.equal(await release.isDisabled(), true, 'nothing verified: the release button does not work');

  // Step-up 1: TOTP, with a code of a later step than the one used for setting it up.
  await totpStepAfter(enrolledStep);
  await page.getByTestId('totp-code').fill(totpNow(secret));
  await page.getByTestId('verify-totp').click();
  await page.waitForURL(`${base}/security/holds/${holdId}?notice=verified`);
  assert.match(await page.getByTestId('notice').innerText(), /Verified\./);
  assert.equal(await verifiedCount(page), 1);
  assert.equal(await page.getByTestId('totp-code').count(), 0, 'TOTP is done');

  // Step-up 2: a code sent by email (which shows the anti-phishing code too).
  await page.getByTestId('send-email-code').click();
  await page.waitForURL(`${base}/security/holds/${holdId}?notice=code_sent`);
  const stepUpMail = await waitForMail(email, { subject: /^thaw verification code:/, text: /confirm it is you/ });
  assert.ok(stepUpMail.text.startsWith(`Your anti-phishing code: ${ANTI_PHISHING}`));
  await page.getByTestId('email-code').fill(codeOf(stepUpMail));
  await page.getByTestId('verify-email').click();
  await page.waitForURL(`${base}/security/holds/${holdId}?notice=verified`);
  assert.equal(await verifiedCount(page), 2);
  const verified = await page.getByTestId('verified-count').innerText();
  assert.ok(verified.includes('Authenticator app (TOTP) ✓') && verified.includes('Email code ✓'), verified);
  await shot(page, 'hold-verified');

  // Lifted after the 4 s waiting period; withdrawals cool down, and a checklist follows.
  await untilReleasable(page);
  await page.getByTestId('release').click();
  await page.waitForURL(`${base}/security/thawed/${holdId}`);
  await page.getByTestId('thawed').waitFor();
  assert.match(await page.getByTestId('thawed').innerText(), /Restriction lifted/);
  await page.getByTestId('cooldown').waitFor();
  await page.getByTestId('checklist').waitFor();
  await shot(page, 'thawed');
  await waitForMail(email, { subject: /^A restriction on your account was lifted$/ });

  await page.goto(`${base}/security`);
  assert.equal(await page.getByTestId(`hold-${holdId}`).count(), 0, 'the freeze is gone');
  assert.deepEqual(errors, [], 'no script errors or CSP violations');
  await context.close();
}));

test('a holder adds a passkey and uses it to verify, with Chromium\'s virtual authenticator', () => withLogs(async () => {
  const { email } = await newAccount('passkey');
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = watch(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });

  await signInByEmail(page, email);
  await page.goto(`${base}/security/factors`);
  assert.equal(await page.getByTestId('passkey-item').count(), 0);
  await page.locator('#passkey-label').fill('E2E laptop');
  await page.getByTestId('passkey-add').click();
  // The first factor comes with ten recovery codes, shown this once before going on.
  await page.getByTestId('recovery-codes').waitFor();
  assert.equal(await page.getByTestId('recovery-codes').locator('li code').count(), 10);
  await page.getByRole('link', { name: /I have saved them/ }).click();
  await page.waitForURL(`${base}/security/factors?notice=passkey_added`);
  assert.match(await page.getByTestId('notice').innerText(), /Passkey added/);
  assert.equal(await page.getByTestId('passkey-item').count(), 1);
  assert.match(await page.getByTestId('passkey-item').innerText(), /E2E laptop/);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds one credential');
  assert.equal(credentials[0].rpId, 'localhost');
  await shot(page, 'passkey-added');

  // A hold to lift: the holder freezes the account in the portal.
  await page.goto(`${base}/security`);
  await page.getByTestId('freeze').click();
  await page.waitForURL(`${base}/security?notice=frozen`);
  await page.getByTestId('notice').waitFor();
  const card = page.locator('article.hold-card').filter({ hasText: 'You froze your account yourself' });
  assert.equal(await card.count(), 1);
  const lift = card.locator('[data-testid^=lift-]');
  const holdId = (await lift.getAttribute('data-testid')).slice('lift-'.length);

  // Signed in again by email code: one factor verified; the passkey is the second.
  await page.getByTestId('holder-sign-out').click();
  await page.waitForURL(/\/security\/sign-in\?notice=signed_out$/);
  await signInByEmail(page, email, `/security/holds/${holdId}`);
  const before = await verifiedCount(page);
  assert.equal(before, 1, 'the email code of the sign-in');
  await page.getByTestId('verify-passkey').click();
  await page.waitForURL(`${base}/security/holds/${holdId}?notice=verified`);
  assert.match(await page.getByTestId('notice').innerText(), /Verified\./);
  assert.equal(await verifiedCount(page), before + 1);
  assert.match(await page.getByTestId('verified-count').innerText(), /Email code ✓.*Passkey ✓|Passkey ✓.*Email code ✓/);
  assert.equal(await page.getByTestId('verify-passkey').count(), 0, 'the passkey is done');
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(after.credentials.length, 1);
  assert.ok(after.credentials[0].signCount >= credentials[0].signCount, 'the credential was used');
  await shot(page, 'passkey-verified');

  await untilReleasable(page);
  await page.getByTestId('release').click();
  await page.waitForURL(`${base}/security/thawed/${holdId}`);
  await page.getByTestId('thawed').waitFor();
  assert.deepEqual(errors, [], 'no script errors or CSP violations');
  await context.close();
}));

test('the security centre in Chinese on a phone', () => withLogs(async () => {
  const { email } = await newAccount('zh');
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const errors = watch(page);
  await signInByEmail(page, email);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');

  await page.getByTestId('lang-zh-CN').click();
  await page.locator('html[lang="zh-CN"]').waitFor({ state: 'attached' });
  assert.equal(page.url(), `${base}/security`, 'back on the same page');
  assert.equal(await page.locator('h1').innerText(), '账户安全');
  assert.match(await page.getByTestId('no-holds').innerText(), /[\u4e00-\u9fff]/);
  assert.equal(await page.getByTestId('freeze').innerText(), '立即冻结账户');
  assert.equal(await page.getByTestId('holder-sign-out').innerText(), '退出');
  await noSidewaysScroll(page);
  await shot(page, 'overview-zh-phone');

  await page.goto(`${base}/security/factors`);
  assert.equal(await page.locator('h1').innerText(), '验证方式与防钓鱼码');
  await noSidewaysScroll(page);
  await page.goto(`${base}/security/history`);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await noSidewaysScroll(page);

  await page.getByTestId('holder-sign-out').click();
  await page.waitForURL(/\/security\/sign-in\?notice=signed_out$/);
  assert.match(await page.getByTestId('notice').innerText(), /您已退出安全中心/, 'the chosen language stays after sign-out');
  assert.deepEqual(errors, [], 'no script errors or CSP violations');
  await context.close();
}));
