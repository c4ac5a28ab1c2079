import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { build } from 'vite';
import { ALICE } from './stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where browser tests write their screenshots (copied to docs/screenshots/ when the UI changes). */
export const SCREENSHOTS = `${root}test/artifacts/screenshots`;
/** The built SPA, for STATIC_DIR. */
export const SPA_DIST = `${root}web/dist`;

/** The newest modification time of a file under `path` (or of `path` itself). */
function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/** True when web/dist is missing or older than a source it is built from. */
function spaIsStale(): boolean {
  const built = `${SPA_DIST}/index.html`;
  if (!existsSync(built)) return true;
  const sources = ['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts', 'shared/src'].map((path) => `${root}${path}`);
  return Math.max(...sources.filter(existsSync).map(newestChange)) > statSync(built).mtimeMs;
}

/**
 * The real SPA, built when `npm run build` has not run yet or a source changed since: a stale
 * build would test yesterday's SPA. Runs once before the workers start (test/support/global-setup.ts),
 * so parallel test files never build into web/dist at the same time.
 */
export async function ensureBuiltSpa() {
  if (spaIsStale()) await build({ configFile: `${root}web/vite.config.ts`, logLevel: 'silent' });
}

/** Presses Sign in and goes through the dev provider's pages as a user would. */
export async function signInThroughPages(page: Page, user = ALICE, consent: 'allow' | 'deny' = 'allow') {
  await page.getByTestId('signin').click();
  await signInAtProvider(page, user, consent);
}

/** On the dev provider's sign-in page: the user's name and password, then consent when it is asked. */
export async function signInAtProvider(page: Page, user = ALICE, consent: 'allow' | 'deny' = 'allow') {
  await page.getByLabel(/username/i).fill(user.username);
  await page.getByLabel(/password/i).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const consentButton = page.getByRole('button', { name: consent === 'allow' ? 'Allow' : 'Deny' });
  // The provider asks for consent only once per user and client.
  await Promise.race([
    consentButton.waitFor({ timeout: 5000 }).then(() => consentButton.click()),
    page.waitForURL((url) => !url.href.includes('/interaction/'), { timeout: 5000 }),
  ]);
}

/**
 * A browser context of its own (its own cookies) with one page that opened `url` (the SPA) and
 * signed in through the provider's pages as `user`, the user card shown. `watch` sees the page
 * before it loads anything (listeners that must miss no request). Close the context when done.
 */
export async function signedInPage(
  browser: Browser,
  url: string,
  options: { user?: typeof ALICE; context?: BrowserContextOptions; watch?: (page: Page) => void } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options.context);
  const page = await context.newPage();
  options.watch?.(page);
  await page.goto(url);
  await signInThroughPages(page, options.user);
  await page.getByTestId('user-name').waitFor({ timeout: 10_000 });
  return { context, page };
}
