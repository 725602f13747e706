/**
 * @module
 * Debian's Chromium driven by playwright-core for the console's browser tests: headless,
 * no sandbox (tests run as root), no background traffic, a fresh temporary profile per launch (Playwright's own), a
 * 1280×800 page and bounded waits. Screenshots go to `ISLET_SCREENSHOT_DIR`, or
 * `dist/screenshots` under the repository.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './repo-root.js';

export const CHROMIUM = process.env.ISLET_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** Why a browser test cannot run here; on CI a missing browser is a failure, never a skip. */
export function browserSkip(): string | false {
  if (chromiumAvailable()) return false;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  return `${CHROMIUM} is not installed`;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A new context (its own cookies and storage) with a page at 1280×800. */
  page(width?: number, height?: number): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    async page(width = 1280, height = 800) {
      const context = await browser.newContext({ viewport: { width, height }, ignoreHTTPSErrors: true });
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      return { context, page };
    },
    async close() {
      // Playwright gave the browser a fresh temporary profile and removes it on close.
      await browser.close().catch(() => {});
    },
  };
}

export function screenshotDir(): string {
  return process.env.ISLET_SCREENSHOT_DIR ?? join(repoRoot(), 'dist', 'screenshots');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = screenshotDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
