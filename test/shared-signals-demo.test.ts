import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserSessions } from '../shared/src/index.js';
import type { TestBrowser } from './support/browser.js';
import { launchChromium } from './support/chromium.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { ALICE, BOB, startStack, type Stack } from './support/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));

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
    // The real SPA: built once if `npm run build` has not run yet.
    if (!existsSync(`${root}web/dist/index.html`)) await build({ configFile: `${root}web/vite.config.ts`, logLevel: 'silent' });
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      ssf: true,
      routes: ({ idp }) => `/provider=${idp}/demo`,
      env: { STATIC_DIR: `${root}web/dist` },
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
    const context = await chromium.newContext();
    try {
      const page = await context.newPage();
      await page.goto(stack.bff.url);
      await page.getByTestId('signin').click();
      await page.getByLabel(/username/i).fill(ALICE.username);
      await page.getByLabel(/password/i).fill(ALICE.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const consent = page.getByRole('button', { name: 'Allow' });
      await Promise.race([
        consent.waitFor({ timeout: 5000 }).then(() => consent.click()),
        page.waitForURL((url) => !url.href.includes('/interaction/'), { timeout: 5000 }),
      ]);
      await expect.poll(() => page.getByTestId('user-name').isVisible()).toBe(true);
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
