// Oversight and administration in a real browser, against `thaw serve --demo` (THAW_URL): the
// public official-channel checker, a supervisor's analytics, the audit log's verification, and
// an admin walking every admin page from the hub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, shot, watchErrors, signInStaff } from './harness.mjs';

const base = process.env.THAW_URL;
let browser;

before(async () => {
  assert.ok(base, 'THAW_URL must name a running thaw');
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

async function noSidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

test('the checker tells an official domain from a look-alike and says what to do', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${base}/check`);
  await page.getByTestId('check-value').fill('https://WWW.thaw.example./account');
  await page.getByTestId('check-submit').click();
  await page.getByTestId('check-official').waitFor();
  // A Cyrillic "а" in place of the Latin one.
  await page.getByTestId('check-value').fill('https://th\u0430w.example/login');
  await page.getByTestId('check-submit').click();
  const warning = page.getByTestId('check-look_alike');
  await warning.waitFor();
  assert.match(await warning.innerText(), /thaw\.example/);
  assert.ok((await page.getByTestId('check-tricks').locator('li').count()) >= 1, 'the trick is named');
  assert.match(await page.getByTestId('check-report').getAttribute('href'), /category=phishing_report/);
  assert.ok(await noSidewaysScroll(page), 'no sideways scrolling on a phone');
  await shot(page, 'check-look-alike');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a supervisor filters the analytics and downloads a section as CSV', async () => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signInStaff(page, base, 'supervisor@thaw.example', '/desk/analytics');
  const charts = await page.locator('main svg').count();
  assert.ok(charts >= 5, `server-drawn charts: ${charts}`);
  await shot(page, 'analytics-zh');
  const filters = page.getByTestId('analytics-filters');
  await filters.locator('select[name=category]').selectOption('phishing_report');
  await filters.locator('button[type=submit], input[type=submit]').first().click();
  await page.waitForURL(/category=phishing_report/);
  const csvLink = page.locator('a[href*=".csv"]').first();
  const href = await csvLink.getAttribute('href');
  const res = await page.request.get(new URL(href, base).toString());
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /text\/csv/);
  assert.ok((await res.text()).split('\n').length > 1, 'a header and rows');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a compliance officer verifies the audit chain', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await signInStaff(page, base, 'compliance@thaw.example', '/desk/audit');
  assert.ok((await page.getByTestId('audit-log').locator('tbody tr').count()) > 0, 'the demo wrote audited changes');
  await page.getByTestId('audit-verify').click();
  assert.match(await page.getByTestId('audit-verdict').innerText(), /intact|unbroken|verified/i);
  await context.close();
});

test('an admin reaches every admin page from the hub; a bad SLA file is shown with its line', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await signInStaff(page, base, 'admin@thaw.example');
  await page.getByTestId('nav-admin').click();
  await page.waitForURL(`${base}/desk/admin`);
  await shot(page, 'admin-hub');
  const links = await page.getByTestId('admin-sections').locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.length >= 8, `the hub lists the admin pages: ${links}`);
  for (const href of links) {
    const res = await page.goto(`${base}${href}`);
    assert.equal(res.status(), 200, href);
    assert.ok((await page.locator('h1').innerText()).length > 0, `${href} has a heading`);
  }
  await page.goto(`${base}/desk/admin/sla`);
  await page.locator('textarea[name=text]').fill('[calendars.cn]\ntime_zone = "Asia/Shanghai"\nhours = "09:00-13:00, 12:00-18:00"\n');
  await page.getByTestId('sla-check').click();
  assert.match(await page.getByTestId('sla-errors').innerText(), /line 3.*overlaps/);
  await page.goto(`${base}/desk/admin/policy`);
  assert.match(await page.getByTestId('policy-sha').innerText(), /^[0-9a-f]{64}$/);
  await page.getByTestId('policy-check').click();
  assert.match(await page.getByTestId('policy-ok').innerText(), /valid/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('agents do not see the admin menu and are refused its pages', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await signInStaff(page, base, 'agent1.en@thaw.example');
  assert.equal(await page.getByTestId('nav-admin').count(), 0);
  const res = await page.goto(`${base}/desk/admin/policy`);
  assert.equal(res.status(), 403);
  await context.close();
});
