// Stored cross-site scripting, in a real browser against `thaw serve --demo` (THAW_URL): a corpus
// of script payloads is stored where outsiders and staff write — a case's subject, message and
// intake answers (through the platform API), a hold's explanation and facts, a staff member's
// name, a knowledge-base article (title and Markdown body) and the checker's input — and every
// page that shows them is opened in Chromium. Each payload must arrive as text: no dialog, no
// script run, no element or attribute of the payload's making in the page, no CSP violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { launchBrowser, shot, watchErrors, signInStaff } from './harness.mjs';

const base = process.env.THAW_URL;
const RUN = crypto.randomBytes(3).toString('hex');
const MARK = `x${RUN}`;

// Each payload sets window.__xss (or opens a dialog) if it ever runs, and makes an element with
// the class or id MARK if its markup is ever parsed as markup.
const CORPUS = [
  `<script>window.__xss='script'</script>`,
  `<img src=x class=${MARK} onerror="window.__xss='img'">`,
  `"><svg class=${MARK} onload="window.__xss='svg'">`,
  `'><iframe class=${MARK} srcdoc="<script>parent.__xss='iframe'</script>"></iframe>`,
  `</textarea></title><b class=${MARK}>bold</b>`,
  `<a class=${MARK} href="javascript:window.__xss='href'">click</a>`,
  `{{7*7}} \${7*7} <details class=${MARK} open ontoggle="alert(1)">`,
  `<style>body{display:none}</style><div id=${MARK}>`,
];
const PAYLOAD = CORPUS.join(' ');
// Markdown-specific: raw HTML and javascript: links in an article body.
const MARKDOWN = `# Safe\n\n${CORPUS.join('\n\n')}\n\n[a link](javascript:window.__xss='md')\n\n![img](x" onerror="window.__xss='mdimg')\n`;

let browser;

before(async () => {
  assert.ok(base, 'THAW_URL must name a running thaw');
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

/** A signed-in browser page that records dialogs and CSP violations. */
async function staffPage(email, next) {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  const errors = watchErrors(page);
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await signInStaff(page, base, email, next);
  return { context, page, errors, dialogs };
}

async function csrfOf(page, path) {
  await page.goto(`${base}${path}`);
  return page.locator('input[name=csrf]').first().inputValue();
}

/** Opens `path` and checks that nothing of the corpus ran or became markup; returns the text. */
async function assertInert(view, path, name, status = 200) {
  const { page, dialogs } = view;
  const res = await page.goto(`${base}${path}`);
  assert.equal(res.status(), status, `${path} answers`);
  await page.waitForLoadState('networkidle').catch(() => {});
  const found = await page.evaluate((mark) => ({
    ran: window.__xss || null,
    made: document.querySelectorAll(`.${mark}, #${mark}`).length,
    scripts: [...document.scripts].filter((s) => !s.src).length,
    jsLinks: [...document.querySelectorAll('a[href]')].filter((a) => a.href.trim().toLowerCase().startsWith('javascript:')).length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    iframes: document.querySelectorAll('iframe').length,
    violations: window.__violations,
    text: document.body.innerText,
  }), MARK);
  await shot(page, `xss-${name}`);
  assert.equal(found.ran, null, `${path}: a payload ran`);
  assert.equal(found.made, 0, `${path}: payload markup was parsed`);
  assert.equal(found.scripts, 0, `${path}: an inline script is in the page`);
  assert.equal(found.jsLinks, 0, `${path}: a javascript: link is in the page`);
  assert.equal(found.handlers, 0, `${path}: an element has an inline event handler`);
  assert.equal(found.iframes, 0, `${path}: an iframe is in the page`);
  assert.deepEqual(found.violations, [], `${path}: the CSP had to block something`);
  assert.deepEqual(dialogs, [], `${path}: a dialog opened`);
  return found.text;
}

test('stored script payloads are shown as text on every page that shows them', async () => {
  const admin = await staffPage('admin@thaw.example', '/desk/api-keys');

  // The platform's key, made the way an admin makes one.
  let csrf = await csrfOf(admin.page, '/desk/api-keys');
  let res = await admin.page.request.post(`${base}/desk/api-keys`, { form: { csrf, name: `xss ${RUN}` } });
  assert.equal(res.status(), 200, 'the key page shows the new key');
  await admin.page.setContent(await res.text());
  const key = (await admin.page.getByTestId('new-key').innerText()).trim();
  const api = (method, path, data) => admin.page.request.fetch(`${base}${path}`, {
    method, data, headers: { authorization: `Bearer ${key}` },
  });

  // A holder's case with the corpus in its subject, message and intake; a hold explaining itself with it.
  const account = `xss-${RUN}`;
  res = await api('PUT', `/api/v1/accounts/${account}`, { email: `${account}@mail.example`, locale: 'en' });
  assert.ok(res.ok(), await res.text());
  res = await api('POST', '/api/v1/cases', {
    account_id: account, category: 'other', subject: `Help ${MARK} ${CORPUS[1]}`.slice(0, 200), body: PAYLOAD,
  });
  assert.equal(res.status(), 201, await res.text());
  const number = (await res.json()).number;
  res = await api('POST', `/api/v1/accounts/${account}/holds`, {
    scopes: ['withdraw'], reason_code: 'manual_review',
    explanation: { 'zh-CN': `审核中 {note}`, en: `Under review: {note}` },
    facts: { note: PAYLOAD },
  });
  assert.equal(res.status(), 201, await res.text());

  // A staff member whose name is a payload.
  csrf = await csrfOf(admin.page, '/desk/staff');
  res = await admin.page.request.post(`${base}/desk/staff/new`, {
    form: { csrf, email: `${account}@desk.example`, display_name: CORPUS[1].slice(0, 80), role: 'agent_t1', password: 'correct horse battery staple', locale: 'en' },
  });
  assert.ok(res.status() < 400, `staff added: ${res.status()}`);
  await assertInert(admin, '/desk/staff', 'staff');
  await admin.context.close();

  // An article whose title and Markdown body carry the corpus, published by a supervisor.
  const supervisor = await staffPage('supervisor@thaw.example', '/desk/kb');
  csrf = await csrfOf(supervisor.page, '/desk/kb/edit');
  const slug = `xss-${RUN}`;
  res = await supervisor.page.request.post(`${base}/desk/kb`, {
    form: { csrf, slug, locale: 'en', title: `Safe ${CORPUS[1]}`.slice(0, 150), body: MARKDOWN, tags: 'xss', categories: 'other', action: '', then: 'publish' },
  });
  assert.ok(res.status() < 400, `article saved: ${res.status()} ${(await res.text()).slice(0, 300)}`);

  const caseText = await assertInert(supervisor, `/desk/cases/${number}`, 'case');
  assert.ok(caseText.includes(`onerror="window.__xss='img'"`), 'the payload is shown, as text');
  const queues = (await assertInert(supervisor, '/desk/cases?queue=team', 'queue-team'))
    + (await assertInert(supervisor, '/desk/cases?queue=unassigned', 'queue-unassigned'));
  assert.ok(queues.includes(MARK), 'the case is in a queue, its subject shown as text');
  const accountText = await assertInert(supervisor, `/desk/accounts/${account}`, 'account');
  assert.ok(accountText.includes('<script>'), 'the hold explanation is shown, as text');
  await assertInert(supervisor, `/desk/search?q=${encodeURIComponent(MARK)}`, 'search');
  await assertInert(supervisor, '/desk/kb', 'kb');
  const articleText = await assertInert(supervisor, `/help/${slug}`, 'article');
  assert.ok(articleText.includes('Safe'), 'the article renders');
  // The checker refuses what is not a link, address, number or handle, and shows it back as text.
  await assertInert(supervisor, `/check?value=${encodeURIComponent(CORPUS[1])}`, 'check', 422);
  assert.equal(await supervisor.page.getByTestId('check-value').inputValue(), CORPUS[1]);
  assert.deepEqual(supervisor.errors, []);
  await supervisor.context.close();
});
