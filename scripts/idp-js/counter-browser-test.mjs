// Headless Chromium (Debian's `chromium`, unmodified) walks the counter check page
// (hanko-counter, `hanko check serve`) like counter staff, through playwright-core, in ONE
// browser process for every case:
//
//   01 refused       the page without the staff token: refused, nothing of the form shown
//   02 sign_in       the URL with the token → a cookie, and the page at / without the token
//   03 check         pick the sample My Number Card, type 照合番号B (masked), read: progress
//                    while reading, then the facts beside the photo (JPEG 2000 shown as PNG),
//                    each field marked signed / not signed, the issuer and chip checks, and the
//                    record kept (the time, the document, the 8 digits without the birth date);
//                    the code's inputs are empty again
//   04 wrong_code    a wrong 照合番号B: the page says so (tries left), no result, no record
//   05 records       /records: one record per passed check, never the 14 digits
//   06 english       ?lang=en: the page in English
//
// Usage: node counter-browser-test.mjs CONFIG.json RESULT.json
// CONFIG: {chromium, screenshots, ready (the demo's ready file content: url, sign_in, number_b)}
// RESULT: {cases: {NAME: {ok, error?, screenshots: [...]}}, failed: [...]}
// Screenshots: check-NN-label.png in `screenshots`.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [configPath, resultPath] = process.argv.slice(2);
if (!configPath || !resultPath) {
  console.error('usage: node counter-browser-test.mjs CONFIG.json RESULT.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const ready = config.ready;
const URL0 = ready.url;
mkdirSync(config.screenshots, { recursive: true });
const TIMEOUT = 90000;

class Failure extends Error {}
function check(cond, what) {
  if (!cond) throw new Failure(what);
}
const norm = (s) => s.replace(/\s+/g, ' ').trim();

const result = { cases: {}, failed: [] };
let current = null;
async function shot(page, label) {
  const name = `check-${current.number}-${label}.png`;
  await page.screenshot({ path: `${config.screenshots}/${name}`, fullPage: true });
  current.screenshots.push(name);
}

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
});
const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();
const consoleErrors = [];
// The script's own errors (a refused page's 401 and the favicon's 404 are not the script's).
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

async function readWith(code) {
  await page.selectOption('#source', 'emulated-mynumber');
  check(await page.locator('#document').inputValue() === 'my_number_card', 'choosing the source picks its document');
  check(await page.locator('#number_b').getAttribute('type') === 'password', 'the code input is masked');
  await page.fill('#number_b', code);
  await page.click('#start');
}

const cases = [
  ['01', 'refused', async () => {
    const r = await page.goto(`${URL0}/`);
    check(r.status() === 401, `without the token: ${r.status()}`);
    check(await page.locator('#check-form').count() === 0, 'no form without the token');
    check((await page.locator('#refused').innerText()).includes('hanko check serve'), 'says how to sign in');
    await shot(page, 'refused');
  }],
  ['02', 'sign_in', async () => {
    await page.goto(ready.sign_in);
    check(new URL(page.url()).search === '', `the token left the URL: ${page.url()}`);
    check(await page.locator('#check-form').count() === 1, 'the form after sign-in');
    await shot(page, 'page');
  }],
  ['03', 'check', async () => {
    await readWith(ready.number_b);
    // Progress while reading (the stand-in reader takes about a second; the real reader of the
    // emulated card may finish first: then the result is checked alone).
    const sawProgress = await page.locator('#progress:not([hidden])').waitFor({ timeout: 3000 }).then(() => true, () => false);
    if (sawProgress) {
      // The step shows, or the result already replaced it (a race the test must not lose).
      await page.locator('#progress:not([hidden]) #step, #result:not([hidden]), #error:not([hidden])').first().waitFor();
      if (await page.locator('#progress:not([hidden])').count()) await shot(page, 'progress');
    }
    check(await page.locator('#number_b').inputValue() === '', 'the code input is cleared once sent');
    await page.locator('#result:not([hidden]), #error:not([hidden])').first().waitFor();
    if (await page.locator('#error:not([hidden])').count()) {
      await shot(page, 'error');
      throw new Failure(`the check failed: ${norm(await page.locator('#error').innerText())}`);
    }
    const fields = norm(await page.locator('#fields').innerText());
    check(fields.includes('試験 花子'), `the name: ${fields}`);
    check(await page.locator('#fields td.signed').count() > 0, 'signed fields are marked');
    const img = page.locator('#photo');
    await img.waitFor();
    await page.waitForFunction(() => { const i = document.getElementById('photo'); return i.complete && i.naturalWidth > 0; });
    const width = await img.evaluate((i) => i.naturalWidth);
    check(width === 90, `the photo decodes in the browser (${width} px wide)`);
    const record = norm(await page.locator('#record').innerText());
    const tail = ready.number_b.slice(6);
    check(record.includes(tail), `the record keeps the 8 digits: ${record}`);
    check(!record.includes(ready.number_b), 'the record never shows the 14 digits');
    check(!(await page.content()).includes(ready.number_b), 'the page never holds the code');
    await shot(page, 'result');
  }],
  ['04', 'wrong_code', async () => {
    await page.goto(`${URL0}/`);
    await readWith(ready.number_b.slice(0, 10) + '0000');
    await page.locator('#error:not([hidden])').waitFor();
    const said = norm(await page.locator('#error').innerText());
    check(/違います|wrong/.test(said), `a wrong code is said: ${said}`);
    check(await page.locator('#result[hidden]').count() === 1, 'no result for a wrong code');
    await shot(page, 'wrong-code');
  }],
  ['05', 'records', async () => {
    await page.click('#nav-records');
    await page.waitForURL(`${URL0}/records`);
    const rows = await page.locator('#records tbody tr').count();
    check(rows === 1, `one record per passed check (${rows})`);
    const t = norm(await page.locator('#records').innerText());
    check(t.includes(ready.number_b.slice(6)) && !t.includes(ready.number_b), `the record: ${t}`);
    await shot(page, 'records');
  }],
  ['06', 'english', async () => {
    await page.goto(`${URL0}/?lang=en`);
    check(norm(await page.locator('h1').innerText()) === 'Read an identity document', 'the English page');
    await page.selectOption('#document', 'passport');
    check(await page.locator('fieldset[data-for=passport]:not([hidden])').count() === 1, 'the passport asks for its MRZ or CAN');
    await shot(page, 'english');
    await page.goto(`${URL0}/?lang=ja`);
  }],
];

for (const [number, name, run] of cases) {
  current = { number, screenshots: [] };
  try {
    await run();
    result.cases[name] = { ok: true, screenshots: current.screenshots };
    console.log(`ok   ${number} ${name}`);
  } catch (e) {
    result.cases[name] = { ok: false, error: String(e.message || e), screenshots: current.screenshots };
    result.failed.push(name);
    console.log(`FAIL ${number} ${name}: ${e.message || e}`);
    try { await shot(page, 'failed'); } catch {}
  }
}
if (consoleErrors.length) {
  result.console_errors = consoleErrors;
  console.log(`console errors: ${consoleErrors.join(' | ')}`);
}
await browser.close();
writeFileSync(resultPath, JSON.stringify(result, null, 1));
process.exit(result.failed.length ? 1 : 0);
