import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionEnds } from '../bff/src/session/session-ends.js';
import { launchChromium } from './support/chromium.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { SCREENSHOTS, SPA_DIST, ensureBuiltSpa, signedInPage } from './support/spa.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The warning before a session ends, in Chromium (docs/session-lifecycle.md). A 16 s idle timeout
 * stands in for 30 minutes: the warning then shows for its last 8 s (half the idle timeout,
 * below the usual two minutes), so nothing waits for minutes.
 */
describe('the expiry warning in Chromium', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    await ensureBuiltSpa();
    mkdirSync(SCREENSHOTS, { recursive: true });
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      env: { STATIC_DIR: SPA_DIST, SESSION_IDLE_TIMEOUT: '16', SESSION_ABSOLUTE_TIMEOUT: '3600' },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await stack?.close();
    await redis?.stop();
  });

  const VIEWPORT = { viewport: { width: 1000, height: 760 } };
  /** Two signed-in tabs of one browser. */
  async function twoTabs(): Promise<[Page, Page]> {
    let first: Page;
    ({ context, page: first } = await signedInPage(browser, stack.bff.url, { context: VIEWPORT }));
    const second = await context.newPage();
    await second.goto(stack.bff.url);
    await expect.poll(() => second.getByTestId('user-name').isVisible()).toBe(true);
    return [first, second];
  }
  const dialogOf = (page: Page) => page.getByRole('alertdialog');
  /** The data-testid of the focused element, looking into shadow roots. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      let active = document.activeElement;
      while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
      return active?.getAttribute('data-testid') ?? active?.tagName ?? null;
    });
  const countdownOf = async (page: Page) => (await page.getByTestId('expiry-countdown').textContent())!.trim();
  const seconds = (countdown: string) => {
    const [m, s] = /(\d+):(\d\d)/.exec(countdown)!.slice(1).map(Number) as [number, number];
    return m * 60 + s;
  };

  it('warns in every tab before the idle end: focus in the dialog, a countdown, keyboard, and Stay signed in for all', async () => {
    const [first, second] = await twoTabs();
    // Nothing at first: the warning comes in the idle timeout's last 8 s.
    expect(await dialogOf(first).count()).toBe(0);
    await expect.poll(() => dialogOf(first).isVisible(), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => dialogOf(second).isVisible(), { timeout: 5000 }).toBe(true);
    expect(await dialogOf(first).getAttribute('aria-modal')).toBe('true');
    expect(await dialogOf(first).getByRole('heading').textContent()).toBe('Are you still there?');
    expect(await dialogOf(first).textContent()).toContain('your session ends after 16 seconds without activity');
    expect(await focused(first)).toBe('expiry-stay');
    // The countdown is visible and moves.
    const before = seconds(await countdownOf(first));
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(8);
    await expect.poll(async () => seconds(await countdownOf(first)), { timeout: 3000 }).toBeLessThan(before);
    await first.screenshot({ path: `${SCREENSHOTS}/expiry-warning.png` });
    // Tab stays inside the modal dialog; Enter on the focused button answers it.
    // Tab never reaches the page behind the modal dialog (it is inert): only the browser's own UI.
    for (const key of ['Tab', 'Tab', 'Shift+Tab']) {
      await first.keyboard.press(key);
      expect(['expiry-stay', 'BODY']).toContain(await focused(first));
    }
    const idleBefore = await first.getByTestId('session-idle-expiry').textContent();
    await dialogOf(first).getByRole('button', { name: 'Stay signed in' }).focus();
    await first.keyboard.press('Enter');
    // Both tabs put it away together; the session lives on, its idle end moved.
    await expect.poll(() => dialogOf(first).count()).toBe(0);
    await expect.poll(() => dialogOf(second).count(), { timeout: 5000 }).toBe(0);
    expect(await first.getByTestId('user-name').isVisible()).toBe(true);
    expect(await first.getByTestId('session-idle-expiry').textContent()).not.toBe(idleBefore);

    // Next time Escape answers it too ("I am here"), from the other tab.
    await expect.poll(() => dialogOf(second).isVisible(), { timeout: 20_000 }).toBe(true);
    await second.keyboard.press('Escape');
    await expect.poll(() => dialogOf(second).count()).toBe(0);
    await expect.poll(() => dialogOf(first).count(), { timeout: 5000 }).toBe(0);
    expect(await second.getByTestId('user-name').isVisible()).toBe(true);
    await context.close();
  }, 90_000); // two rounds of the idle timeout's last 8 s, and two sign-ins

  it('before the absolute end: says when it ends, "Not now" dismisses it in every tab, then the session ends with that reason', async () => {
    const [first, second] = await twoTabs();
    // The session is made to reach its absolute end in 7 s: its record and its end marker, written
    // as the BFF writes them (what a session signed in 3593 s ago looks like).
    const { sessions, kv } = stack.bff.deps;
    const id = (await context.cookies()).find((cookie) => cookie.name === 'bff')!.value;
    const endsAt = Math.floor(Date.now() / 1000) + 7;
    const { record } = (await sessions.readForUpdate(id))!;
    expect(await sessions.update(id, { ...record, expiresAt: endsAt })).toBe(true);
    await new SessionEnds(kv).begin(sessions.storageIdOf(id), endsAt);
    await first.reload();
    await expect.poll(() => dialogOf(first).isVisible(), { timeout: 5000 }).toBe(true);
    await expect.poll(() => dialogOf(second).isVisible(), { timeout: 5000 }).toBe(true);
    expect(await dialogOf(first).getByRole('heading').textContent()).toBe('Your session ends soon');
    expect(await dialogOf(first).locator('time').getAttribute('datetime')).toBe(new Date(endsAt * 1000).toISOString());
    expect(await focused(first)).toBe('expiry-sign-in');
    await first.screenshot({ path: `${SCREENSHOTS}/expiry-absolute.png` });
    await dialogOf(first).getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => dialogOf(first).count()).toBe(0);
    await expect.poll(() => dialogOf(second).count(), { timeout: 5000 }).toBe(0);
    // At the end: the signed-out view, saying why, in both tabs.
    for (const page of [first, second]) {
      await expect
        .poll(
          () =>
            page
              .getByTestId('auth-message')
              .textContent()
              .catch(() => null),
          { timeout: 15_000 },
        )
        .toBe('Your session reached the longest time a session can last. Please sign in again.');
    }
    expect(await first.getByTestId('signin').textContent()).toContain('Sign in again');
    await first.screenshot({ path: `${SCREENSHOTS}/signed-out-absolute_timeout.png` });
    await context.close();
  }, 60_000);

  it('left alone, the warning runs out and the signed-out view says the session timed out', async () => {
    let page: Page;
    ({ context, page } = await signedInPage(browser, stack.bff.url, { context: VIEWPORT }));
    await expect.poll(() => dialogOf(page).isVisible(), { timeout: 20_000 }).toBe(true);
    await expect
      .poll(
        () =>
          page
            .getByTestId('auth-message')
            .textContent()
            .catch(() => null),
        { timeout: 20_000 },
      )
      .toBe('Your session timed out after 16 seconds without activity. Please sign in again.');
    expect(await dialogOf(page).count()).toBe(0);
    await page.screenshot({ path: `${SCREENSHOTS}/signed-out-idle_timeout.png` });
    await context.close();
  }, 60_000); // a whole idle timeout
});
