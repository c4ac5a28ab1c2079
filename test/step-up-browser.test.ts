import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.js';
import { signedInPage } from './support/spa.js';
import { ALICE, startStack, type Stack } from './support/stack.js';

/** An API whose `GET /me` answers a fixed `sub` and counts its calls (this test is about the SPA and the BFF). */
async function startMeLikeApi() {
  let calls = 0;
  const server = createServer((_req, res) => {
    calls++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sub: 'seen-by-the-api' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return calls;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const root = fileURLToPath(new URL('..', import.meta.url));
const MFA = 'urn:bff-kit:acr:mfa';

/**
 * The step-up round trip as a user lives it, in Chromium against the real SPA (built from this
 * checkout), the dev provider and the demo API: a call on a route that needs the second factor
 * shows "Confirm it's you", the provider's one-time code page follows, and the user is back on
 * the same view with the call answered.
 */
/** While `weaken.on`, the provider is asked for the password-only acr instead: it answers a weaker one. */
const weaken = { on: false };
const weakening: Middleware = async (ctx, next) => {
  if (weaken.on && ctx.path === '/auth' && ctx.query.acr_values) {
    const query = new URLSearchParams(ctx.querystring);
    query.set('acr_values', 'urn:bff-kit:acr:pwd');
    ctx.querystring = query.toString();
  }
  await next();
};

describe('step-up in the web app (Chromium)', () => {
  let dist: string;
  let stack: Stack;
  let browser: Browser;
  let api: Awaited<ReturnType<typeof startMeLikeApi>>;

  beforeAll(async () => {
    // Built into a folder of its own: web/dist may hold an older build of the SPA.
    dist = mkdtempSync(join(tmpdir(), 'bff-step-up-spa-'));
    await build({ configFile: `${root}web/vite.config.ts`, logLevel: 'silent', build: { outDir: dist, emptyOutDir: true } });
    api = await startMeLikeApi();
    // The app's example call (GET /api/me) on a route that needs the second factor.
    stack = await startStack({
      env: { STATIC_DIR: dist, API_ROUTES: `/api=${api.url}#acr=${encodeURIComponent(MFA)}` },
      idpFront: [weakening],
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await api?.close();
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  it('asks "Confirm it\'s you", signs in with the one-time code, and comes back to the same view where the call now works', async () => {
    const errors: string[] = [];
    const { context, page } = await signedInPage(browser, `${stack.bff.url}/?view=me`, {
      watch: (page) => page.on('pageerror', (error) => errors.push(error.message)),
    });

    // Signed in with the password only: the call is refused with step_up_required, the page stays signed in.
    const prompt = page.getByRole('alertdialog', { name: "Confirm it's you" });
    await expect.poll(() => prompt.isVisible()).toBe(true);
    expect(await prompt.textContent()).toMatch(/second factor/);
    expect(await page.getByTestId('user-name').textContent()).toBe(ALICE.name);
    // The prompt took the focus (its heading, inside the app's shadow roots).
    await expect
      .poll(() => page.locator('#step-up-title').evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement))
      .toBe(true);
    expect(api.calls).toBe(0);

    await page.getByTestId('step-up-confirm').click();
    await page.waitForURL((url) => url.pathname.startsWith('/interaction/'));
    const code = await page.locator('#demo-code').textContent();
    await page.getByLabel('One-time code').fill(code!);
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.waitForURL(`${stack.bff.url}/?view=me`);
    await expect.poll(() => page.getByTestId('me-sub').textContent()).toBe('seen-by-the-api');
    expect(api.calls).toBeGreaterThan(0);
    expect(await prompt.count()).toBe(0);
    const user = await page.evaluate(() => fetch('/bff/user', { headers: { 'x-csrf': '1' } }).then((r) => r.json()));
    expect(user).toMatchObject({ session: { acr: MFA } });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says so when the provider did not confirm it (a weaker acr), and the page stays signed in', async () => {
    const { context, page } = await signedInPage(browser, `${stack.bff.url}/`);
    const prompt = page.getByRole('alertdialog', { name: "Confirm it's you" });
    await expect.poll(() => prompt.isVisible()).toBe(true);
    weaken.on = true;
    try {
      await page.getByTestId('step-up-confirm').click();
      // No code page: the provider's session already has the (weaker) acr it was asked for.
      await page.waitForURL(`${stack.bff.url}/`);
    } finally {
      weaken.on = false;
    }
    await expect.poll(() => page.getByTestId('step-up-failed').isVisible()).toBe(true);
    expect(await page.getByTestId('user-name').textContent()).toBe(ALICE.name);
    await page.getByTestId('step-up-dismiss').click();
    expect(await page.getByTestId('step-up-failed').count()).toBe(0);
    await context.close();
  });
});
