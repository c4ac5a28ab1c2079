import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserSessions } from '../shared/src/index.js';
import type { TestBrowser } from './support/browser.js';
import { launchChromium } from './support/chromium.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { SPA_DIST, ensureBuiltSpa, signedInPage } from './support/spa.js';
import { BOB, startStack, type Stack } from './support/stack.js';

/**
 * The demo's "End my other sessions at the provider": the dev provider ends the user's other
 * provider sessions and its SSF transmitter (dev/ssf) sends a CAEP session-revoked for each to the
 * BFF, which registered its push stream at start (SSF_STREAM=auto). "Your sessions" then lists
 * only the session that asked.
 */
describe('demo: ending my other sessions at the provider', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let chromium: Browser;

  beforeAll(async () => {
    await ensureBuiltSpa();
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      ssf: true,
      routes: ({ idp }) => `/provider=${idp}/demo`,
      env: { STATIC_DIR: SPA_DIST },
    });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await stack?.close();
    await redis?.stop();
  });

  const call = (browser: TestBrowser, path: string, init: RequestInit = {}) =>
    fetch(`${stack.bff.url}${path}`, { ...init, headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });

  it('ends the other provider sessions, and the BFF ends the sessions made through them', async () => {
    expect(stack.idp.transmitter!.streams.map((stream) => stream.endpoint_url)).toEqual([`${stack.bff.url}/bff/ssf`]);
    const [here, laptop, phone, bob] = [await stack.signIn(), await stack.signIn(), await stack.signIn(), await stack.signIn(BOB)];
    expect(((await (await call(here, '/bff/sessions')).json()) as UserSessions).sessions).toHaveLength(3);

    const response = await call(here, '/provider/end-other-sessions', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ended: 2 });

    expect((await call(laptop, '/bff/user')).status).toBe(401);
    expect((await call(phone, '/bff/user')).status).toBe(401);
    expect((await call(bob, '/bff/user')).status).toBe(200);
    const left = ((await (await call(here, '/bff/sessions')).json()) as UserSessions).sessions;
    expect(left).toEqual([expect.objectContaining({ current: true })]);
  });

  it('in Chromium: the button ends them and "Your sessions" shows them gone', async () => {
    const others = [await stack.signIn(), await stack.signIn()];
    const { context, page } = await signedInPage(chromium, stack.bff.url);
    try {
      // This one, the two above and any Alice session an earlier test left.
      const listed = ((await (await call(others[0]!, '/bff/sessions')).json()) as UserSessions).sessions.length;
      expect(listed).toBeGreaterThanOrEqual(3);
      const items = page.getByTestId('session-item');
      await expect.poll(() => items.count()).toBe(listed);
      await page.getByRole('button', { name: 'End my other sessions at the provider' }).click();
      await expect.poll(() => page.getByTestId('provider-outcome').textContent()).toBe(`The provider ended ${listed - 1} other sessions.`);
      await expect.poll(() => items.count()).toBe(1);
      expect(await items.first().getAttribute('data-current')).toBe('true');
      for (const browser of others) expect((await call(browser, '/bff/user')).status).toBe(401);
    } finally {
      await context.close();
    }
  });
});
