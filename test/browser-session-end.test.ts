import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page, WebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEndReason } from '../shared/src/index.js';
import { launchChromium } from './support/chromium.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { SCREENSHOTS, SPA_DIST, ensureBuiltSpa, signedInPage } from './support/spa.js';
import { ALICE, startStack, type Stack } from './support/stack.js';

/**
 * A session that ends, as the user lives it, in Chromium (docs/session-lifecycle.md): the
 * signed-out view says why, "Sign in again" tries `prompt=none` first (back without typing while
 * the provider still knows the user) and falls back to the provider's sign-in page, and the user
 * lands on the same view with what they had typed.
 */
describe('when the session ends, in Chromium', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    await ensureBuiltSpa();
    mkdirSync(SCREENSHOTS, { recursive: true });
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, env: { STATIC_DIR: SPA_DIST } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await stack?.close();
    await redis?.stop();
  });

  /** The view the tests work on: a query the SPA keeps, so landing back on it is visible in the URL. */
  const VIEW = '/?view=notes';
  /** Every URL the page navigated to, redirects included (the provider's sign-in pages live under /interaction/). */
  let visited: string[] = [];
  /** Every WebSocket the page opened. */
  let sockets: WebSocket[] = [];

  /** A signed-in page on VIEW, its navigations and sockets recorded from the start. */
  async function recordedPage(): Promise<Page> {
    visited = [];
    sockets = [];
    let page: Page;
    ({ context, page } = await signedInPage(browser, `${stack.bff.url}${VIEW}`, {
      context: { viewport: { width: 1000, height: 760 } },
      watch(page) {
        page.on('request', (request) => {
          if (request.isNavigationRequest() && request.frame() === page.mainFrame()) visited.push(request.url());
        });
        page.on('websocket', (socket) => sockets.push(socket));
      },
    }));
    return page;
  }
  const cookieOf = async () => (await context.cookies()).find((cookie) => cookie.name === 'bff')!.value;
  /** What a background check does when the user comes back to the tab. */
  const returnToTab = (page: Page) => page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  const messageOf = (page: Page) =>
    page
      .getByTestId('auth-message')
      .textContent()
      .catch(() => null);

  /** Ends the page's session the way each reason comes about (a made-up cookie for no_session). */
  async function end(reason: SessionEndReason): Promise<void> {
    const { sessions } = stack.bff.deps;
    if (reason === 'ended_elsewhere') await sessions.destroyByProviderSession({ sub: ALICE.sub });
    else if (reason === 'no_session')
      await context.addCookies([{ name: 'bff', value: randomBytes(32).toString('base64url'), url: stack.bff.url }]);
    else await sessions.destroy(await cookieOf(), undefined, reason);
  }

  /** "Sign in again" in the signed-out view, and back on the same view. */
  async function signInAgain(page: Page): Promise<void> {
    expect(await page.getByTestId('signin').textContent()).toContain('Sign in again');
    await page.getByTestId('signin').click();
    await expect.poll(() => page.getByTestId('user-name').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(VIEW);
  }

  it('says why in plain words for each reason, and "Sign in again" brings the user back without typing (prompt=none)', async () => {
    const page = await recordedPage();
    const cases: Array<[SessionEndReason, string]> = [
      ['ended_elsewhere', 'You were signed out on another device or by your sign-in provider. Please sign in again.'],
      ['signed_out', 'You signed out. Sign in again whenever you like.'],
      ['refresh_refused', 'Your sign-in could no longer be renewed, so you were signed out. Please sign in again.'],
      ['no_session', 'Your session ended. Please sign in again.'],
    ];
    for (const [reason, message] of cases) {
      await end(reason);
      await returnToTab(page);
      await expect.poll(() => messageOf(page), { timeout: 10_000 }).toBe(message);
      await page.screenshot({ path: `${SCREENSHOTS}/signed-out-${reason}.png` });
      const before = visited.length;
      await signInAgain(page);
      // A top-level round trip through the provider, which asked nothing: no sign-in page shown.
      const trip = visited.slice(before);
      expect(trip.some((url) => url.includes('prompt=none'))).toBe(true);
      expect(trip.some((url) => url.includes('/interaction/'))).toBe(false);
    }
    await context.close();
  }, 60_000); // five sign-ins

  // demo:start
  it('keeps what was typed when the session is ended elsewhere (the live socket closed with 4401) and restores it after signing in again', async () => {
    const page = await recordedPage();
    await expect.poll(() => page.getByTestId('notes-empty').count()).toBe(1);
    await expect.poll(() => sockets.length).toBe(1); // the live notes socket
    await page.getByTestId('note-input').fill('A thought not yet added');
    await end('ended_elsewhere');
    // No background check asked for: the socket's 4401 leads to the signed-out view.
    await expect.poll(() => sockets[0]!.isClosed(), { timeout: 5000 }).toBe(true);
    await expect
      .poll(() => messageOf(page), { timeout: 10_000 })
      .toBe('You were signed out on another device or by your sign-in provider. Please sign in again.');
    await signInAgain(page);
    await expect.poll(() => page.getByTestId('note-input').inputValue()).toBe('A thought not yet added');
    // Added: the draft is gone; nothing else of it stays in the tab.
    await page.getByTestId('note-add').click();
    await expect.poll(() => page.getByTestId('note-item').count()).toBe(1);
    expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }))).toBe('{}');
    await context.close();
  });
  // demo:end

  it('falls back to the interactive sign-in when the provider needs the user (login_required), back on the same view', async () => {
    const page = await recordedPage();
    // demo:start
    await page.getByTestId('note-input').fill('Typed before the provider forgot me');
    // demo:end
    // The provider no longer knows this browser (its own cookies gone); the BFF's cookie stays.
    const kept = (await context.cookies()).filter((cookie) => cookie.name === 'bff');
    await context.clearCookies();
    await context.addCookies(kept);
    await end('ended_elsewhere');
    await returnToTab(page);
    await expect.poll(() => messageOf(page), { timeout: 10_000 }).toMatch(/signed out on another device/);
    const before = visited.length;
    await page.getByTestId('signin').click();
    // prompt=none was tried and refused: the provider's sign-in page, without a click in between.
    await expect.poll(() => page.getByLabel(/username/i).isVisible(), { timeout: 10_000 }).toBe(true);
    const trip = visited.slice(before);
    expect(trip.some((url) => url.includes('prompt=none'))).toBe(true);
    expect(trip.some((url) => url.includes('login_error=login_required'))).toBe(true);
    await page.getByLabel(/username/i).fill(ALICE.username);
    await page.getByLabel(/password/i).fill(ALICE.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const consent = page.getByRole('button', { name: 'Allow' });
    await Promise.race([
      consent.waitFor({ timeout: 5000 }).then(() => consent.click()),
      page.waitForURL((url) => !url.href.includes('/interaction/'), { timeout: 5000 }),
    ]);
    await expect.poll(() => page.getByTestId('user-name').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(VIEW);
    // demo:start
    await expect.poll(() => page.getByTestId('note-input').inputValue()).toBe('Typed before the provider forgot me');
    // demo:end
    await context.close();
  });
});
