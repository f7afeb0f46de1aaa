// Headless Chromium (Debian's `chromium`, unmodified) walks the demo bank of `hanko up` like a
// person, through playwright-core, in ONE browser process for every case. The cases run in
// order and tell one story: 試験　花子 finds no account, opens one (signature certificate, the
// pre-filled form, occupation and purpose, the verification record), logs in, checks her age,
// signs a contract, consents to the latest facts, moves (the console's 転居) and sees 「異動あり」
// with her new address, and recovers her account with the new certificate; around her,
// 見本　みらい (17) fails the age check, the bank's staff see the change, 見本　太郎 types a wrong
// PIN, 例題　さくら locks her card, someone cancels in the wallet, 架空　一 loses his card, and
// the pages are read in English.
//
//   01 home              the home page: the bank's name, the open-an-account and log-in buttons
//   02 login_no_account  log in with a card that has no account → 「口座が見つかりません」
//   03 open_account      /open → wallet: card + signature password → /open/form pre-filled from
//                        the certificate → occupation, purpose → the wallet again → the
//                        verification record (method, time, document, the facts, occupation,
//                        purpose, evidence id, kept 7 years)
//   04 logout_login      log out; log in with the authentication PIN → /me with the account
//   05 age_check         見本　みらい (17) refused at 18; 試験　花子 passes; no birth date shown
//   06 contract          /me/contract: sign the PDF's hash in the wallet, download the PDF and
//                        its .p7s (the Rust test has openssl verify them)
//   07 consent           /me/consent: consent to the latest facts (a signature in the wallet)
//   08 move              the console (its sign-in URL), 転居 of 試験　花子 → /me shows 「異動あり」
//                        and the new address
//   09 staff             the staff dashboard (the URL hanko up printed) shows the account's
//                        「異動あり」 and the webhook event; without the key it is refused
//   10 recover           case 7: the move wrote a new signature certificate (serials linked);
//                        /recover with it, logged out → /me 「アカウントを復旧しました」, the same
//                        account, the new address, a recovery record
//   11 wrong_pin         見本　太郎 types a wrong PIN: the wallet says how many tries are left;
//                        the right PIN then goes through (the counter is reset)
//   12 pin_locked        例題　さくら's wrong PINs: the tries count down, then 「ロックされています」,
//                        even for the right PIN; cancel → the bank's cancellation page
//   13 cancel            キャンセル in the wallet → the bank's cancellation page
//   14 lost_card         the console's 紛失 for 架空　一 → his login is refused with a clear
//                        message, in the wallet and at the bank
//   15 recover_unknown   account recovery by someone with no account → 「口座は見つかりませんでした」
//   16 english           ?lang=en: the home page, the login, /me, /open, /age in English
//
// Usage: node up-browser-test.mjs CONFIG.json RESULT.json
// CONFIG: {chromium, screenshots, ready_file (hanko up's --ready-file: urls, console, staff,
//          residents, pin, password) or ready (its content), only?: [case names]}
// RESULT: {cases: {NAME: {ok, skipped?, error?, screenshots: [...], ...what it saw}}, failed: [...]}
// Exit status 0 only when every case did what it should; each failure is printed with its case
// name. A case whose page the bank does not have yet fails as "skip: not built" (never a pass);
// a case whose earlier step failed (its `needs`) is not run and fails as "not run".

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [configPath, resultPath] = process.argv.slice(2);
if (!configPath || !resultPath) {
  console.error('usage: node up-browser-test.mjs CONFIG.json RESULT.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const ready = config.ready_file ? JSON.parse(readFileSync(config.ready_file, 'utf8')) : config.ready;
const BANK = ready.urls.bank;
const IDP = ready.urls.idp;
const CONSOLE_SIGN_IN = ready.console;
const PIN = ready.pin ?? config.pin;
const PASSWORD = ready.password ?? config.password;
mkdirSync(config.screenshots, { recursive: true });

// A bound on each wait (not a timing): the test suite runs many things at once on few cores.
const TIMEOUT = 90000;

function resident(prefix) {
  const r = ready.residents.find((r) => r.name.startsWith(prefix));
  if (!r) throw new Error(`no resident ${prefix} in the ready file`);
  return r;
}
const HANAKO = resident('試験');
const TARO = resident('見本　太郎');
const HAJIME = resident('架空');
const MIRAI = resident('見本　みらい');
const SAKURA = resident('例題');

class Failure extends Error {}
class NotBuilt extends Error {}

function check(cond, what) {
  if (!cond) throw new Failure(what);
}

// ---------------------------------------------------------------------------------------------
// The person's tools.

// A fresh browser context: a device of its own (its own cookies).
async function newContext(browser, options = {}) {
  const context = await browser.newContext({
    locale: 'ja-JP',
    viewport: { width: 1000, height: 900 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  return context;
}

// The screenshots of the running case: `NN-K-label.png` (NN the case's number, K its step).
let current = null;
async function shot(page, label) {
  current.step += 1;
  const name = `${current.number}-${current.step}-${label}.png`;
  await page.screenshot({ path: `${config.screenshots}/${name}`, fullPage: true });
  current.screenshots.push(name);
  return name;
}

// Text with its white space folded (U+3000 too: 試験　花子 reads 試験 花子).
const norm = (s) => s.replace(/\s+/g, ' ').trim();

async function text(page, selector = 'body') {
  return norm(await page.locator(selector).first().innerText());
}

// Goes to a bank page; a 404 means the bank does not have it yet.
async function visit(page, url) {
  let response;
  try {
    response = await page.goto(url);
  } catch (e) {
    // Chromium refuses to show an error answer without a body (axum's 404 of an unknown route).
    if (!/ERR_HTTP_RESPONSE_CODE_FAILURE/.test(e.message)) throw e;
    const probe = await page.context().request.get(url, { maxRedirects: 0 });
    if (probe.status() === 404) throw new NotBuilt(`${new URL(url).pathname} answers 404`);
    throw new Failure(`${url} answers ${probe.status()} without a page`);
  }
  if (response && response.status() === 404) throw new NotBuilt(`${new URL(url).pathname} answers 404`);
  return response;
}

// Waits until the browser is at `prefix` (a bank page after the wallet), with what the page says
// when it is not.
async function arriveAt(page, prefix, what) {
  try {
    await page.waitForURL((u) => u.toString().startsWith(prefix), { timeout: TIMEOUT });
  } catch (e) {
    const body = await text(page).catch(() => '?');
    throw new Failure(`${what}: still at ${page.url()}: ${body.slice(0, 400)}`);
  }
  await page.waitForLoadState('load');
}

async function atWallet(page) {
  try {
    await page.waitForURL((u) => u.toString().startsWith(`${IDP}/app/requests/`), { timeout: TIMEOUT });
  } catch (e) {
    const body = await text(page).catch(() => '?');
    throw new Failure(`not sent to the wallet: at ${page.url()}: ${body.slice(0, 400)}`);
  }
  await page.locator('#form').waitFor();
}

// In the wallet: chooses the card, types the PIN (a login) or the signature password (a
// signature), and approves. Returns what the wallet asked (its heading).
async function approveInWallet(page, card, secret, label) {
  await atWallet(page);
  const heading = await text(page, 'h1');
  await page.locator(`input[name="card"][value="${card}"]`).check();
  await page.locator('#pin').fill(secret);
  if (await page.locator('#same_pin').count()) await page.locator('#same_pin').check();
  await shot(page, `wallet-${label}`);
  await page.locator('#approve').click();
  return heading;
}

// Logs in with `card` from the login page; the bank's page after the wallet.
async function logIn(page, card, label = 'login') {
  await visit(page, `${BANK}/login`);
  await page.locator('#login-start').click();
  await approveInWallet(page, card, PIN, label);
  await arriveAt(page, BANK, 'back at the bank after the login');
}

async function logOut(page) {
  await page.getByRole('button', { name: /ログアウト|Log out/ }).click();
  await page.waitForURL(`${BANK}/`);
}

// The console, signed in with the URL `hanko up` printed; clicks `button` in the row of `card`.
// The console's message (#done).
async function atTheCounter(context, card, button, label) {
  const page = await context.newPage();
  await page.goto(CONSOLE_SIGN_IN);
  await page.locator('table').waitFor();
  const row = page.locator('tr').filter({ has: page.locator('code', { hasText: card }) });
  check((await row.count()) === 1, `the console has no row for card ${card}`);
  await shot(page, `console-${label}`);
  await row.getByRole('button', { name: button }).click();
  const done = await text(page, '#done');
  await shot(page, `console-${label}-done`);
  await page.close();
  return done;
}

// ---------------------------------------------------------------------------------------------
// The cases, in the order of the story.

const state = {};

const cases = [
  ['01', 'home', [], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/`);
    const body = await text(page);
    check(body.includes('見本銀行'), `the home page does not name the bank: ${body.slice(0, 200)}`);
    check(await page.locator('#open').isVisible(), 'no open-an-account button (#open)');
    check(await page.locator('#login').isVisible(), 'no log-in button (#login)');
    await shot(page, 'home');
    const title = await page.title();
    await page.close();
    return { title };
  }],

  ['02', 'login_no_account', [], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/`);
    await page.locator('#login').click();
    await page.waitForURL(`${BANK}/login`);
    await shot(page, 'login');
    await page.locator('#login-start').click();
    const wallet = await approveInWallet(page, HANAKO.card_id, PIN, 'login');
    check(/ログインの要求/.test(wallet), `the wallet asks for something else: ${wallet}`);
    await arriveAt(page, BANK, 'back at the bank');
    const title = await text(page, 'h1');
    check(title === '口座が見つかりません', `the bank says ${title}`);
    const sessions = (await hanako.cookies(BANK)).filter((c) => c.name === 'hanko_bank_session');
    check(sessions.length === 0, 'a session without an account');
    await shot(page, 'no-account');
    await page.close();
    return { title };
  }],

  ['03', 'open_account', [], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/`);
    check((await page.locator('#open').getAttribute('href')) === '/open', 'the home page links elsewhere to open');
    await visit(page, `${BANK}/open`);
    if ((await page.locator('#open-start').count()) === 0) throw new NotBuilt('/open has no #open-start button');
    check(/犯罪による収益の移転防止に関する法律/.test(await text(page, '#law')), 'the law is not named on /open');
    await shot(page, 'open');
    // The first signature: the bank reads the facts from the signature certificate.
    await page.locator('#open-start').click();
    const first = await approveInWallet(page, HANAKO.card_id, PASSWORD, 'open-sign-certificate');
    check(/電子署名の要求/.test(first), `the wallet asks for ${first}`);
    await arriveAt(page, `${BANK}/open/form`, 'the account form after the first signature');
    // The 4 facts come from the verified certificate, read-only.
    const prefilled = {};
    for (const [f, id] of [['name', 'f-name'], ['address', 'f-address'], ['birth_date', 'f-birth-date'], ['sex', 'f-sex']]) {
      const el = page.locator(`#${id}`);
      check((await el.count()) === 1, `the form has no #${id}`);
      prefilled[f] = (await el.innerText()).trim();
    }
    check(prefilled.name === HANAKO.name, `pre-filled name ${prefilled.name}`);
    check(prefilled.address.length > 0, 'no pre-filled address');
    check(prefilled.birth_date === '1985-04-01', `pre-filled birth date ${prefilled.birth_date}`);
    check((await page.locator('input[name="name"], input[name="address"]').count()) === 0, 'the facts are editable');
    await shot(page, 'open-form');
    // A person picks from the lists.
    await page.locator('#occupation').selectOption({ label: '会社員' });
    await page.locator('#purpose').selectOption({ label: '生計費決済' });
    await shot(page, 'open-form-filled');
    await page.locator('#apply-start').click();
    // The second signature: the application itself.
    await approveInWallet(page, HANAKO.card_id, PASSWORD, 'open-sign-application');
    await arriveAt(page, `${BANK}/records/`, 'the verification record after the application');
    const row = async (id) => text(page, `#r-${id} td`).catch(() => '');
    const record = {};
    for (const id of ['method', 'checked-at', 'document', 'name', 'address', 'birth-date', 'occupation', 'purpose', 'evidence-id', 'retain-until']) {
      record[id] = await row(id);
      check(record[id].length > 0, `the record has no ${id} (#r-${id})`);
    }
    check(record.name === norm(HANAKO.name), `the record's name ${record.name}`);
    check(record.address === norm(prefilled.address), `the record's address ${record.address}`);
    check(record.occupation === '会社員' && record.purpose === '生計費決済', `occupation / purpose ${record.occupation} / ${record.purpose}`);
    check(/署名用電子証明書/.test(record.method), `the record's method ${record.method}`);
    const opened = await text(page, '#opened');
    const account = await text(page, '#account-number');
    check(/口座を開設しました/.test(opened) && /^\d{7}$/.test(account), `the record page says ${opened}`);
    const retain = record['retain-until'].slice(0, 4);
    const checked = record['checked-at'].slice(0, 4);
    check(Number(retain) - Number(checked) === 7, `kept until ${record['retain-until']} (checked ${record['checked-at']})`);
    check(!/個人番号：|My Number:/.test(await text(page, 'main')), 'a My Number on the record');
    await shot(page, 'record');
    state.account = account;
    state.address = prefilled.address;
    const url = page.url();
    await page.close();
    return { prefilled, record, account, record_url: url, evidence: record['evidence-id'] };
  }],

  ['04', 'logout_login', ['open_account'], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/me`);
    check(page.url() === `${BANK}/me`, `not logged in after opening the account: ${page.url()}`);
    await logOut(page);
    await visit(page, `${BANK}/me`);
    check(page.url() === `${BANK}/login`, `/me without a session goes to ${page.url()}`);
    await logIn(page, HANAKO.card_id);
    check(page.url() === `${BANK}/me`, `the login ends at ${page.url()}`);
    const me = await text(page, 'main');
    check(me.includes(norm(HANAKO.name)), `/me does not show the name: ${me.slice(0, 300)}`);
    if (state.account) check(me.includes(state.account), `/me does not show the account ${state.account}`);
    await shot(page, 'me');
    await page.close();
    return {};
  }],

  ['05', 'age_check', [], async ({ browser, hanako }) => {
    // 見本　みらい, 17, in a browser of her own.
    const mirai = await newContext(browser);
    const page = await mirai.newPage();
    await visit(page, `${BANK}/age`);
    if ((await page.locator('#age-start').count()) === 0) throw new NotBuilt('/age has no #age-start button');
    await shot(page, 'age');
    await page.locator('#age-start').click();
    await approveInWallet(page, MIRAI.card_id, PASSWORD, 'age-mirai');
    await arriveAt(page, BANK, 'back at the bank after the age check');
    const refused = await text(page, '#age-result');
    check((await page.locator('#age-result').getAttribute('data-result')) === 'no', `みらい (17): ${refused}`);
    check(/18歳未満/.test(refused), `みらい (17): ${refused}`);
    await shot(page, 'age-refused');
    await mirai.close();
    // 試験　花子 passes.
    const p2 = await hanako.newPage();
    await visit(p2, `${BANK}/age`);
    await p2.locator('#age-start').click();
    await approveInWallet(p2, HANAKO.card_id, PASSWORD, 'age-hanako');
    await arriveAt(p2, BANK, 'back at the bank after the age check');
    const passed = await text(p2, '#age-result');
    check((await p2.locator('#age-result').getAttribute('data-result')) === 'yes', `花子: ${passed}`);
    check(/18歳以上/.test(passed), `花子: ${passed}`);
    check(!(await text(p2, 'main')).includes('1985'), 'the birth date is shown');
    await shot(p2, 'age-passed');
    await p2.close();
    return { refused, passed };
  }],

  ['06', 'contract', ['open_account'], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/me`);
    if ((await page.locator('#contract-link').count()) === 0) throw new NotBuilt('/me has no #contract-link');
    await page.locator('#contract-link').click();
    await page.waitForURL(`${BANK}/me/contract`);
    const sha256 = await text(page, '#contract-sha256');
    check(/^[0-9a-f]{64}$/.test(sha256), `the contract's SHA-256 ${sha256}`);
    await shot(page, 'contract');
    await page.locator('#contract-sign').click();
    const wallet = await approveInWallet(page, HANAKO.card_id, PASSWORD, 'contract');
    check(/電子署名の要求/.test(wallet), `the wallet asks for ${wallet}`);
    await arriveAt(page, `${BANK}/me/contracts/`, 'the signed contract after the wallet');
    const signed = await text(page, '#contract-signed');
    check(/電子署名しました/.test(signed), `the bank says ${signed}`);
    check((await text(page, 'main')).includes(sha256), 'the signed page shows another SHA-256');
    await shot(page, 'contract-signed');
    // The customer downloads the contract and its signature.
    const files = {};
    for (const [id, ext] of [['download-pdf', 'pdf'], ['download-p7s', 'p7s']]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`#${id}`).click()]);
      const file = `${config.screenshots}/contract.${ext}`;
      await download.saveAs(file);
      files[ext] = file;
      files[`${ext}_name`] = download.suggestedFilename();
    }
    const p7s = readFileSync(files.p7s);
    check(p7s.length > 500 && p7s[0] === 0x30, `the .p7s is not DER (${p7s.length} bytes)`);
    check(readFileSync(files.pdf).subarray(0, 5).toString() === '%PDF-', 'the contract is not a PDF');
    const url = page.url();
    await page.close();
    return { ...files, sha256, contract_url: url };
  }],

  ['07', 'consent', ['open_account'], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/me`);
    if ((await page.locator('#consent-link').count()) === 0) throw new NotBuilt('/me has no #consent-link');
    await page.locator('#consent-link').click();
    await page.waitForURL(`${BANK}/me/consent`);
    await shot(page, 'consent');
    await page.locator('#consent-start').click();
    await approveInWallet(page, HANAKO.card_id, PASSWORD, 'consent');
    await arriveAt(page, BANK, 'back at the bank after consenting');
    const done = await text(page, '#consent-done').catch(() => '');
    check(/同意を受け付けました/.test(done), `the consent page: ${(await text(page, 'main')).slice(0, 300)}`);
    await shot(page, 'consent-given');
    await visit(page, `${BANK}/me`);
    const status = await text(page, '#consent');
    check(/同意済み/.test(status), `/me says ${status}`);
    await page.close();
    return { done, status };
  }],

  ['08', 'move', ['open_account', 'consent'], async ({ browser, hanako }) => {
    // The operator's own browser.
    const operator = await newContext(browser);
    const done = await atTheCounter(operator, HANAKO.card_id, /転居/, 'move');
    await operator.close();
    check(/転居を記録しました/.test(done), `the console says ${done}`);
    const address = (done.match(/新住所 ([^）)]+)/) || [])[1];
    check(address, `no new address in ${done}`);
    // The bank heard it from the platform's webhook (delivered by the console's sync); the
    // new address is fetched with the consent. A bounded number of reloads.
    const page = await hanako.newPage();
    let me = '';
    for (let i = 0; i < 30; i += 1) {
      await visit(page, `${BANK}/me`);
      me = await text(page, 'main');
      if (me.includes('異動あり') && me.includes(address)) break;
      await page.waitForTimeout(1000);
    }
    check(page.url() === `${BANK}/me`, `not logged in: ${page.url()}`);
    const changed = await text(page, '#changed').catch(() => '');
    check(changed.includes('異動あり'), `/me shows no 異動あり: ${me.slice(0, 400)}`);
    check(me.includes(address), `/me does not show the new address ${address}: ${me.slice(0, 400)}`);
    await shot(page, 'me-changed');
    state.moved = true;
    state.newAddress = address;
    await page.close();
    return { console: done, address, changed };
  }],

  ['09', 'staff', ['open_account', 'move'], async ({ browser }) => {
    // The bank's staff, in their own browser, with the URL hanko up printed.
    if (!ready.staff) throw new NotBuilt('the ready file has no staff URL');
    const staff = await newContext(browser);
    const page = await staff.newPage();
    await visit(page, ready.staff);
    check(page.url() === `${BANK}/staff`, `the staff sign-in ends at ${page.url()}`);
    const row = page.locator(`#account-${state.account}`);
    check((await row.count()) === 1, `the dashboard has no row #account-${state.account}`);
    const badge = await text(page, `#changed-${state.account}`).catch(() => '');
    check(badge.includes('異動あり'), `the dashboard shows no 異動あり for ${state.account}: ${badge}`);
    const events = await text(page, '#events');
    check(/facts_changed|affiliation_changed/.test(events) && events.includes(state.account), `the events: ${events}`);
    await shot(page, 'staff');
    // Without the key: refused.
    const stranger = await newContext(browser);
    const other = await stranger.newPage();
    const r = await other.goto(`${BANK}/staff`);
    check(r.status() === 403, `/staff without the key answers ${r.status()}`);
    await stranger.close();
    await staff.close();
    return { badge, events };
  }],

  ['10', 'recover', ['open_account', 'move'], async ({ hanako }) => {
    // Case 7: the move put a new signature certificate on her card (the old one revoked, the
    // serials linked). She recovers with it from a fresh start: the platform's user id follows
    // the linkage and finds her account; she is logged in to the same account, with the new
    // address, and a recovery record.
    const page = await hanako.newPage();
    await visit(page, `${BANK}/me`);
    await logOut(page);
    await page.getByRole('link', { name: /アカウント復旧/ }).click();
    await page.waitForURL(`${BANK}/recover`);
    await shot(page, 'recover');
    await page.locator('#recover-start').click();
    await approveInWallet(page, HANAKO.card_id, PASSWORD, 'recover');
    await arriveAt(page, `${BANK}/me`, '/me after the recovery');
    const recovered = await text(page, '#recovered').catch(() => '');
    check(/アカウントを復旧しました/.test(recovered), `/me says ${(await text(page, 'main')).slice(0, 300)}`);
    const me = await text(page, 'main');
    check(me.includes(state.account), `/me shows another account than ${state.account}`);
    check(me.includes(state.newAddress), `/me does not show the new address ${state.newAddress}`);
    check(/アカウント復旧の本人確認記録/.test(me), 'no recovery record on /me');
    await shot(page, 'recovered');
    await page.close();
    return { recovered };
  }],

  ['11', 'wrong_pin', [], async ({ browser }) => {
    const taro = await newContext(browser);
    const page = await taro.newPage();
    await visit(page, `${BANK}/login`);
    await page.locator('#login-start').click();
    await approveInWallet(page, TARO.card_id, '9876', 'wrong-pin');
    const notice = await text(page, '#notice');
    const m = notice.match(/あと(\d+)回/);
    check(m && new RegExp(`${m[1]} tries left`).test(notice), `the wallet says ${notice}`);
    check(!notice.includes('9876'), 'the PIN is echoed');
    check((await page.locator('#pin').inputValue()) === '', 'the PIN is written back into its input');
    await shot(page, 'wrong-pin');
    // The right PIN goes through (and resets the counter).
    await page.locator(`input[name="card"][value="${TARO.card_id}"]`).check();
    await page.locator('#pin').fill(PIN);
    await page.locator('#approve').click();
    await arriveAt(page, BANK, 'back at the bank after the right PIN');
    const title = await text(page, 'h1');
    check(title === '口座が見つかりません', `after the right PIN the bank says ${title}`);
    await taro.close();
    return { notice, tries_left: Number(m[1]) };
  }],

  ['12', 'pin_locked', [], async ({ browser }) => {
    // 例題　さくら's card (her own story: nobody else uses it) after wrong PINs: the tries count
    // down, then the card is locked and says so — even to the right PIN.
    const sakura = await newContext(browser);
    const page = await sakura.newPage();
    await visit(page, `${BANK}/login`);
    await page.locator('#login-start').click();
    const notices = [];
    await approveInWallet(page, SAKURA.card_id, '9876', 'pin-locked');
    for (let i = 0; i < 5; i += 1) {
      const notice = await text(page, '#notice');
      notices.push(notice);
      if (/ロックされています/.test(notice) && !/あと\d+回/.test(notice)) break;
      await page.locator(`input[name="card"][value="${SAKURA.card_id}"]`).check();
      await page.locator('#pin').fill('9876');
      await page.locator('#approve').click();
    }
    const locked = notices[notices.length - 1];
    check(/暗証番号がロックされています/.test(locked) && /locked/.test(locked), `the wallet says ${notices.join(' | ')}`);
    const counted = notices.map((n) => (n.match(/あと(\d+)回/) || [])[1]).filter(Boolean).map(Number);
    check(counted.length >= 2 && counted.every((n, i) => i === 0 || n === counted[i - 1] - 1), `tries ${counted}`);
    // The right PIN does not open a locked card.
    await page.locator(`input[name="card"][value="${SAKURA.card_id}"]`).check();
    await page.locator('#pin').fill(PIN);
    await page.locator('#approve').click();
    const still = await text(page, '#notice');
    check(/ロックされています/.test(still), `after the right PIN the wallet says ${still}`);
    await shot(page, 'locked');
    await page.locator('#cancel').click();
    await arriveAt(page, BANK, 'back at the bank after cancelling');
    check((await text(page, 'h1')) === 'キャンセルしました', 'no cancellation page after a locked card');
    await sakura.close();
    return { notices, tries: counted };
  }],

  ['13', 'cancel', [], async ({ hanako }) => {
    const page = await hanako.newPage();
    await visit(page, `${BANK}/`);
    // Logged in: log out first, then cancel the login in the wallet.
    if (await page.getByRole('button', { name: /ログアウト/ }).count()) await logOut(page);
    await visit(page, `${BANK}/login`);
    await page.locator('#login-start').click();
    await atWallet(page);
    await shot(page, 'wallet-before-cancel');
    await page.locator('#cancel').click();
    await arriveAt(page, BANK, 'back at the bank after cancelling');
    const title = await text(page, 'h1');
    const body = await text(page, 'main');
    check(title === 'キャンセルしました', `the bank says ${title}: ${body.slice(0, 200)}`);
    check(/情報は何も送られていません/.test(body), `the cancellation page: ${body}`);
    await shot(page, 'cancelled');
    await page.close();
    return { title };
  }],

  ['14', 'lost_card', [], async ({ browser }) => {
    const operator = await newContext(browser);
    const done = await atTheCounter(operator, HAJIME.card_id, /紛失/, 'lost');
    await operator.close();
    check(/紛失を記録しました/.test(done), `the console says ${done}`);
    const hajime = await newContext(browser);
    const page = await hajime.newPage();
    await visit(page, `${BANK}/login`);
    await page.locator('#login-start').click();
    await approveInWallet(page, HAJIME.card_id, PIN, 'lost');
    // The wallet refuses and says why; back at the bank, the bank says it too.
    const wallet = await text(page, 'main');
    check(/一時保留/.test(wallet), `the wallet says ${wallet.slice(0, 400)}`);
    await shot(page, 'wallet-refused');
    await page.locator('#continue').click();
    await arriveAt(page, BANK, 'back at the bank after the refusal');
    const bank = await text(page, 'main');
    check(!(await hajime.cookies(BANK)).some((c) => c.name === 'hanko_bank_session'), 'a session for a lost card');
    check(/一時保留|held|suspended/.test(bank), `the bank says ${bank.slice(0, 400)}`);
    await shot(page, 'bank-refused');
    await hajime.close();
    return { console: done, wallet, bank };
  }],

  ['15', 'recover_unknown', [], async ({ browser }) => {
    // Account recovery by someone with no account (見本　太郎): the bank finds none and says so.
    const taro = await newContext(browser);
    const page = await taro.newPage();
    await visit(page, `${BANK}/`);
    await page.getByRole('link', { name: /アカウント復旧/ }).click();
    await page.waitForURL(`${BANK}/recover`);
    if ((await page.locator('#recover-start').count()) === 0) throw new NotBuilt('/recover has no #recover-start');
    await shot(page, 'recover');
    await page.locator('#recover-start').click();
    await approveInWallet(page, TARO.card_id, PASSWORD, 'recover');
    await arriveAt(page, BANK, 'back at the bank after the recovery signature');
    const message = await text(page, '#not-recovered').catch(() => '');
    check(/口座は見つかりませんでした/.test(message), `the bank says ${(await text(page, 'main')).slice(0, 300)}`);
    check(!(await taro.cookies(BANK)).some((c) => c.name === 'hanko_bank_session'), 'a session without an account');
    await shot(page, 'not-recovered');
    await taro.close();
    return { message };
  }],

  ['16', 'english', ['open_account'], async ({ browser }) => {
    const context = await newContext(browser, { locale: 'en-US' });
    const page = await context.newPage();
    await visit(page, `${BANK}/?lang=en`);
    const home = await text(page);
    check(home.includes('Mihon Bank') && /Open an account/.test(home), `the English home: ${home.slice(0, 300)}`);
    check((await page.locator('html').getAttribute('lang')) === 'en', 'html lang is not en');
    await shot(page, 'home-en');
    // The language stays (a cookie): the login page and the pages after the wallet.
    await visit(page, `${BANK}/login`);
    check(/Log in with the My Number Card/.test(await text(page)), 'the login page is not in English');
    await shot(page, 'login-en');
    await page.locator('#login-start').click();
    await approveInWallet(page, HANAKO.card_id, PIN, 'login-en');
    await arriveAt(page, `${BANK}/me`, '/me after the login');
    const me = await text(page, 'main');
    check(/My page/.test(me) && /Account number/.test(me), `/me in English: ${me.slice(0, 300)}`);
    if (state.moved) {
      const changed = await text(page, '#changed');
      check(/^Facts changed/.test(changed) && !/[ぁ-ん]/.test(changed), `the change note in English: ${changed}`);
    }
    await shot(page, 'me-en');
    for (const path of ['/open', '/age']) {
      const r = await page.goto(`${BANK}${path}`);
      if (r && r.status() === 404) throw new NotBuilt(`${path} answers 404`);
      check(!/[ぁ-ん]{4,}/.test(await text(page, 'main')), `${path} is not in English`);
      await shot(page, `${path.slice(1)}-en`);
    }
    await visit(page, `${BANK}/?lang=ja`);
    check((await text(page)).includes('見本銀行'), 'back to Japanese');
    await context.close();
    return {};
  }],
];

// ---------------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  // The flags of scripts/idp-js/README.md (no network beyond loopback here).
  args: [
    '--no-sandbox',
    '--disable-dev-shm-usage',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const results = {};
const failed = [];
try {
  console.log(`chromium ${browser.version()}`);
  // 試験　花子's own browser, kept through her story.
  const hanako = await newContext(browser);
  for (const [number, name, needs, run] of cases) {
    if (config.only && !config.only.includes(name)) continue;
    current = { number, step: 0, screenshots: [] };
    const result = { ok: false, screenshots: current.screenshots };
    const blocked = needs.filter((n) => failed.includes(n));
    if (blocked.length) {
      // The story needs an earlier step: not run, and a failure of its own.
      failed.push(name);
      result.error = `not run: needs ${blocked.join(', ')}, which failed`;
      console.log(`FAIL ${name}: ${result.error}`);
      results[name] = result;
      continue;
    }
    const started = Date.now();
    try {
      Object.assign(result, await run({ browser, hanako }), { ok: true });
      // Wall time, screenshots included: information, never an assertion.
      result.ms = Date.now() - started;
      console.log(`ok   ${name} (${result.ms} ms)`);
    } catch (e) {
      failed.push(name);
      const message = String(e && e.message ? e.message : e).split('\n')[0];
      if (e instanceof NotBuilt) {
        result.skipped = `skip: not built (${message})`;
        console.log(`FAIL ${name}: skip: not built (${message})`);
      } else {
        result.error = message;
        console.log(`FAIL ${name}: ${message}`);
      }
      // What the browser showed when it failed; then every page of the case is closed.
      let k = 0;
      for (const context of browser.contexts()) {
        for (const p of context.pages()) {
          k += 1;
          await p.screenshot({ path: `${config.screenshots}/${number}-failed-${k}.png`, fullPage: true }).catch(() => {});
          await p.close().catch(() => {});
        }
        if (context !== hanako) await context.close().catch(() => {});
      }
    }
    results[name] = result;
  }
  await hanako.close();
} finally {
  await browser.close();
}
writeFileSync(resultPath, JSON.stringify({ cases: results, failed }, null, 2));
console.log(`${Object.keys(results).length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
