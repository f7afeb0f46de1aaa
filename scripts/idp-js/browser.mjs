// Debian's chromium under playwright-core, headless, with the flags this machine needs (no
// network beyond loopback: without the background-networking flags chromium keeps reaching out).
// playwright-core never downloads a browser; `scripts/idp-js.sh --chromium` installs Debian's.
//
//   import { launch } from './browser.mjs';
//   const browser = await launch();
//   const page = await browser.newPage();
//   …
//   await browser.close();

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.HANKO_CHROMIUM ?? '/usr/bin/chromium';

/** A headless chromium with a fresh, empty profile (removed on close). */
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'hanko-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    ...options,
  });
  const close = context.close.bind(context);
  context.close = async () => {
    try {
      await close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };
  return context;
}
