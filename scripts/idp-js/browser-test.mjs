// Headless Chromium (Debian's `chromium`, unmodified) walks the idp's web wallet through
// playwright-core, in ONE browser process for every case:
//
//   login          authorize → wallet: choose the card, PIN, same-PIN shortcut → approve → the RP
//                  redirect URI with code + state
//   no_js          the same with JavaScript off (only the PC flow's polling needs it)
//   wrong_pin      a wrong PIN: the message with the tries left; then cancel → access_denied
//   pc             the PC flow: the first page shows the QR code and polls; a second browser context
//                  (another device, no cookie) opens the app URL and approves; the first page moves
//                  on to the RP by itself
//   substitute_ok  the test-card substitute page: 正常 + a test card → code
//   substitute_err the test-card substitute page: 異常 + "certificate held" → access_denied
//
// Usage: node browser-test.mjs CONFIG.json RESULT.json
// CONFIG: {chromium, screenshots, cases: {NAME: {authorize_url, redirect_prefix, card, ...}}}
// The RP's redirect URI is a real page on loopback (served by the Rust test).
// RESULT: {NAME: {url, params, notice?, ...}}. Exit status 0 only when every case did what it
// should; each failure is printed with its case name.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [configPath, resultPath] = process.argv.slice(2);
if (!configPath || !resultPath) {
  console.error('usage: node browser-test.mjs CONFIG.json RESULT.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
mkdirSync(config.screenshots, { recursive: true });
const results = {};
const failures = [];
// A bound on each wait (not a timing): the test suite runs many ecosystems at once on few cores.
const TIMEOUT = 90000;

function check(cond, what) {
  if (!cond) throw new Error(what);
}

// A fresh browser context (a device of its own: no cookies shared).
async function newContext(browser, options = {}) {
  const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 900, height: 1100 }, ...options });
  context.setDefaultTimeout(TIMEOUT);
  return context;
}

async function debugNav(page, tag) {
  page.on('request', (r) => process.env.DEBUG_NAV && console.log(`${tag} request ${r.method()} ${r.url()} nav=${r.isNavigationRequest()}`));
  page.on('requestfailed', (r) => process.env.DEBUG_NAV && console.log(`${tag} failed ${r.url()} ${r.failure()?.errorText}`));
}

async function shot(page, name) {
  await page.screenshot({ path: `${config.screenshots}/${name}.png`, fullPage: true });
}

function paramsOf(url) {
  return Object.fromEntries(new URL(url).searchParams.entries());
}

async function arriveAtRp(page, prefix) {
  try {
    await page.waitForURL((u) => u.toString().startsWith(prefix), { timeout: TIMEOUT });
  } catch (e) {
    const text = await page.locator('body').innerText().catch(() => '?');
    throw new Error(`${e.message.split('\n')[0]} — at ${page.url()}: ${text.slice(0, 400)}`);
  }
  return page.url();
}

async function approveWithCard(page, card, pin, { samePin = false } = {}) {
  await page.getByLabel(card).check();
  await page.getByLabel(/Authentication PIN|Signature password/).fill(pin);
  if (samePin) await page.getByLabel(/same as the authentication PIN/).check();
}

const cases = {
  async login(browser, c) {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(c.authorize_url);
    check(page.url().includes('/app/requests/'), `not on the wallet: ${page.url()}`);
    const client = await page.locator('#client').innerText();
    check(client === c.client_name, `client name ${client}`);
    for (const s of c.shared) check(await page.locator(`[data-share="${s}"]`).count() === 1, `shared ${s} not shown`);
    await shot(page, '01-wallet');
    await approveWithCard(page, c.card, c.pin, { samePin: true });
    await shot(page, '02-wallet-filled');
    await page.getByRole('button', { name: /Approve/ }).click();
    const url = await arriveAtRp(page, c.redirect_prefix);
    await shot(page, '03-rp-callback');
    const params = paramsOf(url);
    check(params.code && params.state === c.state, `redirect ${url}`);
    await context.close();
    return { url, params };
  },

  // The wallet without JavaScript: the form alone logs in.
  async no_js(browser, c) {
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(c.authorize_url);
    await approveWithCard(page, c.card, c.pin);
    await page.getByRole('button', { name: /Approve/ }).click();
    const url = await arriveAtRp(page, c.redirect_prefix);
    const params = paramsOf(url);
    check(params.code && params.state === c.state, `no-JS redirect ${url}`);
    await context.close();
    return { url, params };
  },

  async wrong_pin(browser, c) {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(c.authorize_url);
    await approveWithCard(page, c.card, c.wrong_pin);
    await page.getByRole('button', { name: /Approve/ }).click();
    const notice = await page.getByRole('alert').first().innerText();
    check(/tries left/.test(notice) && /あと\d回/.test(notice), `wrong PIN message: ${notice}`);
    check((await page.locator('#pin').inputValue()) === '', 'the PIN is written back into its input');
    check(!notice.includes(c.wrong_pin), 'the PIN is echoed in the message');
    await shot(page, '04-wrong-pin');
    await page.getByRole('button', { name: /Cancel/ }).click();
    const url = await arriveAtRp(page, c.redirect_prefix);
    const params = paramsOf(url);
    check(params.error === 'access_denied' && params.state === c.state, `cancel redirect ${url}`);
    await context.close();
    return { url, params, notice };
  },

  async pc(browser, c) {
    const desktop = await newContext(browser);
    const page = await desktop.newPage();
    await debugNav(page, 'desktop');
    await page.goto(c.authorize_url);
    const qr = page.locator('#pc .qr svg');
    check(await qr.count() === 1, 'no QR code');
    const appUrl = (await page.locator('#app-url').innerText()).trim();
    check(appUrl === page.url(), `the QR's URL ${appUrl} is not the wallet's ${page.url()}`);
    await shot(page, '05-pc-qr');
    // Another device: a fresh context, no cookie, the URL the QR code holds.
    const phone = await newContext(browser);
    const other = await phone.newPage();
    await other.goto(appUrl);
    check(await other.locator('#pc').count() === 0, 'the other device shows a QR code');
    await approveWithCard(other, c.card, c.pin);
    await other.getByRole('button', { name: /Approve/ }).click();
    await other.getByText('承認しました').first().waitFor();
    await shot(other, '06-pc-other-device-approved');
    // The first page polls the status and moves on to the RP by itself.
    const url = await arriveAtRp(page, c.redirect_prefix);
    const params = paramsOf(url);
    check(params.code && params.state === c.state, `PC redirect ${url}`);
    await desktop.close();
    await phone.close();
    return { url, params, app_url: appUrl };
  },

  async substitute_ok(browser, c) {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(c.authorize_url);
    await page.getByText('認証API/署名APIテストレスポンス設定画面').waitFor();
    check(await page.locator('#pin').count() === 0, 'the card UI is shown to a substitute client');
    await page.getByRole('radio', { name: /正常/ }).check();
    await page.getByLabel(c.card).check();
    await shot(page, '07-substitute-normal');
    await page.getByRole('button', { name: /Send/ }).click();
    const url = await arriveAtRp(page, c.redirect_prefix);
    const params = paramsOf(url);
    check(params.code && params.state === c.state, `substitute redirect ${url}`);
    await context.close();
    return { url, params };
  },

  async substitute_err(browser, c) {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(c.authorize_url);
    await page.getByRole('radio', { name: /異常/ }).check();
    await page.getByLabel(/^エラーの種類/).selectOption(c.error);
    await shot(page, '08-substitute-error');
    await page.getByRole('button', { name: /Send/ }).click();
    const url = await arriveAtRp(page, c.redirect_prefix);
    const params = paramsOf(url);
    check(params.error === 'access_denied' && params.state === c.state, `substitute error redirect ${url}`);
    await context.close();
    return { url, params };
  },
};

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  console.log(`chromium ${browser.version()}`);
  for (const [name, c] of Object.entries(config.cases)) {
    try {
      results[name] = await cases[name](browser, c);
      console.log(`ok   ${name}`);
    } catch (e) {
      failures.push(name);
      results[name] = { error: String(e && e.message ? e.message : e) };
      console.log(`FAIL ${name}: ${results[name].error}`);
    }
  }
} finally {
  await browser.close();
}
writeFileSync(resultPath, JSON.stringify(results, null, 2));
console.log(`${Object.keys(config.cases).length - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 ? 0 : 1);
