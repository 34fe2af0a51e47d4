// The desk in a real browser: a staff member signs in, switches the language and signs out.
// Run by scripts/test against `thaw serve --demo`; THAW_URL names the server, CHROMIUM the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from './harness.mjs';

const base = process.env.THAW_URL;
const shots = process.env.THAW_SCREENSHOTS;
let browser;

before(async () => {
  assert.ok(base, 'THAW_URL must name a running thaw');
  browser = await launchBrowser();
});

after(async () => { await browser?.close(); });

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

test('a staff member signs in, switches the language and signs out', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(`${base}/desk`);
  assert.match(page.url(), /\/desk\/sign-in\?next=%2Fdesk$/, 'the desk sends strangers to sign-in');
  await page.getByLabel('Work email').fill('agent1.en@thaw.example');
  await page.getByLabel('Password').fill('thaw-demo-2026');
  await shot(page, 'signin');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/desk`);
  assert.match(await page.getByTestId('desk-welcome').innerText(), /Welcome, Sam Taylor/);
  assert.match(await page.getByTestId('whoami').innerText(), /Agent, tier 1/);
  await shot(page, 'desk-en');

  await page.getByTestId('lang-zh-CN').click();
  await page.waitForLoadState('load');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.match(await page.getByTestId('desk-welcome').innerText(), /您好/);
  assert.match(await page.getByTestId('whoami').innerText(), /一线客服/);
  await shot(page, 'desk-zh');

  await page.getByTestId('sign-out').click();
  await page.waitForURL(/\/desk\/sign-in\?signed_out=1$/);
  assert.match(await page.getByTestId('signed-out').innerText(), /您已安全退出/, 'the chosen language stays after sign-out');
  await page.goto(`${base}/desk`);
  assert.match(page.url(), /\/desk\/sign-in/, 'signed out for real');
  assert.deepEqual(errors, [], 'no script errors or CSP violations');
  await context.close();
});

test('a wrong password shows an error on a phone-sized screen', async () => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${base}/desk/sign-in`);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'Accept-Language picks Chinese');
  await page.getByLabel('工作邮箱').fill('agent1.zh@thaw.example');
  await page.getByLabel('密码').fill('not the password');
  await page.getByRole('button', { name: '登录' }).click();
  assert.match(await page.getByTestId('signin-error').innerText(), /邮箱或密码不正确/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no sideways scrolling on a phone');
  await shot(page, 'signin-phone-zh');
  await context.close();
});
