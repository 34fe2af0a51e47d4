// The case desk in a real browser, against `thaw serve --demo`: a demo account holder (in
// Chinese, on a phone) opens a case (the form names a missing answer), sees the expected time, an agent
// answers it in the desk with a public reply and an internal note, and the holder sees the
// reply — never the note — and that the desk is waiting for them.
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

function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // The refused form is answered 422 on purpose; Chromium reports every 4xx document.
    if (m.type() === 'error' && !/status of 422/.test(m.text())) errors.push(m.text());
  });
  return errors;
}

/** Signs a demo holder in with the email code, read from the demo mailbox. */
async function signInHolder(page, email) {
  await page.goto(`${base}/security/sign-in`);
  await page.getByTestId('holder-email').fill(email);
  await page.getByTestId('send-code').click();
  await page.getByTestId('holder-code').waitFor();
  const mailbox = await page.context().newPage();
  let code;
  for (let i = 0; i < 50 && !code; i++) {
    // Only this holder's mail: right after start the demo's alert burst can push the code off
    // the newest-50 page of the whole mailbox.
    const account = `demo-${email.match(/\.(\d+)@/)[1]}`;
    await mailbox.goto(`${base}/demo/mailbox?account=${encodeURIComponent(account)}`);
    const mails = await mailbox.getByTestId('mail').filter({ hasText: email }).allInnerTexts();
    code = mails.map((t) => (t.match(/\b(\d{6})\b/) || [])[1]).find(Boolean);
    if (!code) await new Promise((r) => setTimeout(r, 200));
  }
  await mailbox.close();
  assert.ok(code, `a sign-in code for ${email} in the demo mailbox`);
  await page.getByTestId('holder-code').fill(code);
  await page.getByTestId('submit-code').click();
  await page.waitForURL(`${base}/security`);
}

test('a holder opens a case on a phone, an agent answers it, the holder never sees the note', async () => {
  const holderCtx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  const holder = await holderCtx.newPage();
  const holderErrors = watchErrors(holder);
  await signInHolder(holder, 'zhao.na.10291@mail.example');
  // The demo holder's account is in Chinese, so the security centre speaks Chinese to them.
  assert.equal(await holder.getAttribute('html', 'lang'), 'zh-CN');
  await holder.getByRole('link', { name: '我的工单' }).click();
  await holder.getByTestId('new-case').click();
  await holder.getByTestId('category-pick').selectOption('deposit_withdrawal');
  await holder.getByRole('button', { name: '继续' }).click();
  const form = holder.getByTestId('case-form');
  await form.getByLabel('标题').fill('USDT 充值未到账');
  await form.getByLabel('充值还是提现').selectOption('deposit');
  await form.getByLabel('币种').fill('USDT');
  await form.getByLabel('发起时间').fill('2026-11-20T10:15');
  await form.getByLabel('交易哈希（TxID）').fill('0x' + 'ab'.repeat(32));
  await form.getByLabel('请描述发生了什么').fill('昨天通过 TRC20 充值了 250 USDT，到现在还没到账。');
  await holder.getByTestId('submit-case').click();
  assert.match(await holder.getByTestId('form-error').innerText(), /金额: 此项必填/, 'the missing answer is named');
  assert.equal(await holder.getByLabel('币种').inputValue(), 'USDT', 'answers are kept');
  await holder.getByLabel('金额').fill('250');
  await holder.getByTestId('submit-case').click();
  await holder.waitForURL(/\/security\/cases\/C-\d+\?notice=opened$/);
  const number = (await holder.getByTestId('case-number').innerText()).trim();
  assert.match(await holder.getByTestId('expected').innerText(), /我们预计在此时间前回复您：\s*\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  const overflow = await holder.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no sideways scrolling on a phone');
  await shot(holder, 'case-holder-opened');

  const deskCtx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const desk = await deskCtx.newPage();
  const deskErrors = watchErrors(desk);
  await desk.goto(`${base}/desk/sign-in`);
  await desk.getByLabel('工作邮箱').fill('supervisor@thaw.example');
  await desk.getByLabel('密码').fill('thaw-demo-2026');
  await desk.getByRole('button', { name: '登录' }).click();
  await desk.waitForURL(`${base}/desk`);
  await desk.goto(`${base}/desk/cases?queue=team`);
  // The queue shows 50 cases a page, the most urgent first: follow "next page" to the new case.
  while ((await desk.getByRole('link', { name: number, exact: true }).count()) === 0) {
    await desk.getByTestId('queue-next').click();
    await desk.waitForLoadState();
  }
  await desk.getByRole('link', { name: number, exact: true }).click();
  await desk.waitForURL(`${base}/desk/cases/${number}`);
  assert.match(await desk.getByTestId('customer-panel').innerText(), /demo-10291/, 'the customer panel names the account');
  await desk.getByTestId('desk-body').fill('链上确认 12/19 — 仅内部可见 internal only');
  await desk.getByTestId('add-note').click();
  await desk.getByTestId('case-notice').waitFor();
  await desk.getByTestId('desk-body').fill('您的充值正在 TRC20 网络确认中，请发送转账截图 Please send a screenshot。');
  await desk.getByTestId('then-status').selectOption('pending_customer');
  await desk.getByTestId('send-public').click();
  await desk.getByTestId('case-notice').waitFor();
  assert.match(await desk.getByTestId('case-status').innerText(), /等待您的回复/);
  await shot(desk, 'case-desk-zh');

  await holder.goto(`${base}/security/cases/${number}`);
  const timeline = await holder.getByTestId('timeline').innerText();
  assert.match(timeline, /Please send a screenshot/);
  assert.doesNotMatch(timeline, /internal only/, 'internal notes never reach the holder');
  await holder.getByTestId('waiting-for-you').waitFor();
  await holder.getByTestId('reply-body').fill('截图：10:15 转账，TxID 同上。');
  await holder.getByTestId('send-reply').click();
  await holder.waitForURL(/notice=replied$/);
  assert.match(await holder.getByTestId('case-status').innerText(), /处理中/);
  await shot(holder, 'case-holder-replied');
  assert.deepEqual([...holderErrors, ...deskErrors], [], 'no script errors or CSP violations');
  await holderCtx.close();
  await deskCtx.close();
});
