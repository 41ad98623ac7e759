// A real headless Chromium for UI tests: playwright-core driving the browser binary that the
// @sparticuz/chromium npm package ships (so `npm ci` brings it; no download at install or run
// time). There is no skip: a browser that cannot start fails the test.
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** The machine's network is closed and the tests want nothing from outside: no background traffic. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Playwright gives every launch a fresh, temporary user data dir. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  return playwright.launch({ executablePath, headless: true, args: ARGS, timeout: 60_000 });
}

export interface TestBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  /** One page reused by the file's tests; `dialogs` lists every alert/confirm/prompt it opened. */
  readonly page: Page;
  readonly dialogs: string[];
}

/** One browser per test file, started before its tests and closed after. */
export function useBrowser(): TestBrowser {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const dialogs: string[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the browser starts in beforeAll: use it inside tests and hooks');
    return value;
  };
  return {
    get browser() {
      return need(browser);
    },
    get context() {
      return need(context);
    },
    get page() {
      return need(page);
    },
    dialogs,
  };
}
