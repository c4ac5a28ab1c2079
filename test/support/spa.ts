import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { ALICE } from './stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Where browser tests write their screenshots (copied to docs/screenshots/ when the UI changes). */
export const SCREENSHOTS = `${root}test/artifacts/screenshots`;
/** The built SPA, for STATIC_DIR. */
export const SPA_DIST = `${root}web/dist`;

/** The real SPA: built once if `npm run build` has not run yet. */
export async function ensureBuiltSpa() {
  if (!existsSync(`${SPA_DIST}/index.html`)) await build({ configFile: `${root}web/vite.config.ts`, logLevel: 'silent' });
}

/** Presses Sign in and goes through the dev provider's pages as a user would. */
export async function signInThroughPages(page: Page, user = ALICE, consent: 'allow' | 'deny' = 'allow') {
  await page.getByTestId('signin').click();
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
