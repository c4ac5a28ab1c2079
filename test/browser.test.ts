import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/chromium.js';
import { ensureBuiltSpa, signInThroughPages } from './support/spa.js';
import { startBff, type RunningBff } from './support/bff.js';
import { reservePort, startRedis, type RunningRedis } from './support/redis.js';
// demo:start
import { REPORTS_API } from '../dev/idp/index.js';
// demo:end
import { ALICE, startStack, type Stack } from './support/stack.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const shots = `${root}test/artifacts/screenshots`;

/**
 * A real API upstream on loopback whose `GET /me` and `GET /notes` answer 200 with JSON of the
 * wrong shape (as a misconfigured route or a changed API would); it records what it was asked.
 */
async function startMalformedNotesApi() {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const known = req.method === 'GET' && (req.url === '/notes' || req.url === '/me');
    res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(known ? { not: 'a list', sub: 42 } : { error: 'not_found', message: 'Not found.' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What page scripts can see: cookies and every storage area. */
async function pageVisibleState(page: Page) {
  return page.evaluate(async () => {
    const databases = indexedDB.databases ? await indexedDB.databases() : [];
    return {
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      databases: databases.map((d) => d.name),
    };
  });
}

for (const store of ['memory', 'redis'] as const) {
  describe(`the web app in Chromium (${store} store)`, () => {
    let redis: RunningRedis | undefined;
    let stack: Stack;
    let browser: Browser;
    let context: BrowserContext;

    beforeAll(async () => {
      await ensureBuiltSpa();
      mkdirSync(shots, { recursive: true });
      if (store === 'redis') redis = await startRedis();
      stack = await startStack({ redisUrl: redis?.url, env: { STATIC_DIR: `${root}web/dist` } });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.close();
      await redis?.stop();
    });

    it('signs in by typing credentials, calls the APIs, survives a reload, and signs out', async () => {
      context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(stack.bff.url);
      await expect.poll(() => page.getByTestId('signin').isVisible()).toBe(true);
      // demo:start
      // A token=user-or-none route answers signed out too.
      await expect.poll(() => page.getByTestId('greeting').textContent()).toBe('Hello, guest!');
      // demo:end
      if (store === 'memory') await page.screenshot({ path: `${shots}/signed-out.png` });

      await signInThroughPages(page);
      await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
      // The example call: GET /api/me through the BFF, which adds the token.
      await expect.poll(() => page.getByTestId('me-sub').textContent()).toBe(ALICE.sub);
      // demo:start
      await expect.poll(() => page.getByTestId('greeting').textContent()).toBe(`Hello, ${ALICE.sub}!`);
      // The reports API only takes a token for its own audience: the BFF gets one on first use.
      await page.getByTestId('call-reports').click();
      await expect.poll(() => page.getByTestId('reports-audience').textContent()).toBe(`token for ${REPORTS_API.audience}`);

      await page.getByTestId('note-input').fill('Buy oat milk');
      await page.getByTestId('note-add').click();
      await expect.poll(() => page.getByTestId('note-item').count()).toBe(1);
      await page.getByTestId('note-input').fill('Call the bank');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByTestId('note-item').count()).toBe(2);
      expect(await page.getByTestId('note-item').first().textContent()).toContain('Call the bank');
      // demo:end
      if (store === 'memory') await page.screenshot({ path: `${shots}/signed-in.png`, fullPage: true });
      // demo:start
      await page.getByTestId('note-delete').first().click();
      await expect.poll(() => page.getByTestId('note-item').count()).toBe(1);
      // demo:end

      await page.reload();
      await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
      await expect.poll(() => page.getByTestId('me-sub').textContent()).toBe(ALICE.sub);
      // demo:start
      await expect.poll(() => page.getByTestId('note-item').count()).toBe(1);
      // demo:end

      const visible = await pageVisibleState(page);
      expect(visible.cookie).toBe(''); // HttpOnly: the session cookie is out of the page's reach
      expect(visible.local).toBe('{}');
      expect(visible.session).toBe('{}');
      expect(visible.databases).toEqual([]);
      const cookies = await context.cookies();
      expect(cookies.find((c) => c.name === 'bff')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

      await page.getByTestId('signout').click();
      await page.getByRole('button', { name: /yes, sign me out/i }).click();
      await expect.poll(() => page.getByTestId('signin').isVisible()).toBe(true);
      expect(new URL(page.url()).origin).toBe(stack.bff.url);
      expect((await context.cookies()).find((c) => c.name === 'bff')).toBeUndefined();
      expect(errors.filter((e) => !/401|Unauthorized/.test(e))).toEqual([]);
      await context.close();
    });

    it("keeps every token out of the page's reach", async () => {
      context = await browser.newContext();
      const page = await context.newPage();
      const bodies: string[] = [];
      page.on('response', async (response) => {
        if (new URL(response.url()).origin === stack.bff.url) bodies.push(await response.text().catch(() => ''));
      });
      await page.goto(stack.bff.url);
      await signInThroughPages(page);
      await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
      await expect.poll(() => page.getByTestId('me-sub').textContent()).toBe(ALICE.sub); // the proxied call came back
      const html = await page.content();
      const all = [...bodies, html, JSON.stringify(await pageVisibleState(page))].join('\n');
      expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/); // no JWT anywhere the page can read
      expect(all).not.toMatch(/refresh_token|access_token|id_token/);
      await context.close();
    });

    it('shows a readable message when consent is denied', async () => {
      context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(stack.bff.url);
      const { BOB } = await import('./support/stack.js');
      await signInThroughPages(page, BOB, 'deny');
      await expect.poll(() => page.getByTestId('auth-message').textContent()).toMatch(/declined/);
      expect(page.url()).not.toContain('login_error'); // removed from the address bar
      if (store === 'memory') await page.screenshot({ path: `${shots}/consent-denied.png` });
      await context.close();
    });

    // demo:start
    it('updates the notes live in another tab, and shows the signed-out view when the session ends elsewhere', async () => {
      context = await browser.newContext();
      const first = await context.newPage();
      await first.goto(stack.bff.url);
      await signInThroughPages(first);
      await expect.poll(() => first.getByTestId('user-name').isVisible()).toBe(true);
      const second = await context.newPage();
      const socket = second.waitForEvent('websocket');
      await second.goto(stack.bff.url);
      // The list loaded (empty or not) and the live socket is on its way (the panel opens it
      // only once /bff/config said the route takes WebSockets).
      await expect
        .poll(async () => (await second.getByTestId('notes-empty').count()) + (await second.getByTestId('note-item').count()))
        .toBeGreaterThan(0);
      await socket;
      await new Promise((resolve) => setTimeout(resolve, 300)); // its handshake through the BFF
      const before = await second.getByTestId('note-item').count();
      // A note added in the first tab reaches the second over its WebSocket (no reload, no focus).
      await first.getByTestId('note-input').fill('Seen live elsewhere');
      await first.getByTestId('note-add').click();
      await expect.poll(() => second.getByTestId('note-item').count(), { timeout: 5000 }).toBe(before + 1);
      expect(await second.getByTestId('note-item').first().textContent()).toContain('Seen live elsewhere');
      // The session ends on the server (as after a sign-out on another device): the BFF closes the
      // sockets with 4401 and both tabs show the signed-out view without waiting for a check.
      const id = (await context.cookies()).find((cookie) => cookie.name === 'bff')!.value;
      await stack.bff.deps.sessions.destroy(id);
      for (const page of [first, second]) await expect.poll(() => page.getByTestId('signin').isVisible(), { timeout: 5000 }).toBe(true);
      await context.close();
    });
    // demo:end

    it('signs out every tab when one tab signs out', async () => {
      context = await browser.newContext();
      const first = await context.newPage();
      await first.goto(stack.bff.url);
      await signInThroughPages(first);
      await expect.poll(() => first.getByTestId('user-name').isVisible()).toBe(true);
      const second = await context.newPage();
      await second.goto(stack.bff.url);
      await expect.poll(() => second.getByTestId('user-name').isVisible()).toBe(true);

      await first.getByTestId('signout').click();
      await expect.poll(() => second.getByTestId('signin').isVisible()).toBe(true);
      expect(await second.getByTestId('auth-message').textContent()).toMatch(/another tab/);
      await context.close();
    });
  });
}

describe('session expiry in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    await ensureBuiltSpa();
    stack = await startStack({ env: { STATIC_DIR: `${root}web/dist`, SESSION_IDLE_TIMEOUT: '3', SESSION_ABSOLUTE_TIMEOUT: '3' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows the signed-out view with an explanation once the session has expired', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.bff.url);
    await signInThroughPages(page);
    await expect.poll(() => page.getByTestId('user-name').isVisible()).toBe(true);
    await expect
      .poll(
        () =>
          page
            .getByTestId('auth-message')
            .textContent()
            .catch(() => null),
        { timeout: 10_000 },
      )
      .toMatch(/timed out after 3 seconds without activity|the longest time a session can last/);
    expect(await page.getByTestId('signin').isVisible()).toBe(true);
    await page.screenshot({ path: `${shots}/session-expired.png` });
    await context.close();
  });
});

describe('an API answer of the wrong shape in Chromium', () => {
  let api: Awaited<ReturnType<typeof startMalformedNotesApi>>;
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    await ensureBuiltSpa();
    api = await startMalformedNotesApi();
    stack = await startStack({ env: { STATIC_DIR: `${root}web/dist`, API_ROUTES: `/api=${api.url}` } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await api?.close();
  });

  it('shows an error in the API panel, and throws nothing, when /api/me answers 200 with the wrong shape', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(stack.bff.url);
    await signInThroughPages(page);
    await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
    await expect.poll(() => api.requests).toContain('GET /me'); // the odd answer really came through the proxy

    const alert = page.locator('me-panel').getByRole('alert');
    await expect.poll(async () => errors.length > 0 || (await alert.count()) > 0, { timeout: 5000 }).toBe(true);
    expect(errors).toEqual([]);
    expect(await alert.textContent()).toMatch(/could not read/);
    await context.close();
  });

  // demo:start
  it('shows an error in the notes panel, and throws nothing, when /api/notes answers 200 with a non-list', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(stack.bff.url);
    await signInThroughPages(page);
    await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
    await expect.poll(() => api.requests).toContain('GET /notes'); // the odd answer really came through the proxy

    const alert = page.locator('notes-panel').getByRole('alert');
    // Wait for whichever comes first (an error state or an uncaught error), then require the former.
    await expect.poll(async () => errors.length > 0 || (await alert.count()) > 0, { timeout: 5000 }).toBe(true);
    expect(errors).toEqual([]);
    expect(await alert.textContent()).toMatch(/could not read/);
    await context.close();
  });
  // demo:end
});

describe('"Your sessions" in Chromium', () => {
  const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0';
  const SAFARI_ON_IPHONE =
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    await ensureBuiltSpa();
    mkdirSync(shots, { recursive: true });
    stack = await startStack({ env: { STATIC_DIR: `${root}web/dist` } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A signed-in page in a browser context of its own (another device), recording the query of every later /bff/user check. */
  async function device(userAgent?: string) {
    const context = await browser.newContext({ userAgent, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const userChecks: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/bff/user') userChecks.push(url.search);
    });
    await page.goto(stack.bff.url);
    await signInThroughPages(page);
    await expect.poll(() => page.getByTestId('user-name').isVisible()).toBe(true);
    expect(userChecks.at(-1)).toBe(''); // loading the page is use: that check slides the idle timeout
    userChecks.length = 0;
    return { context, page, userChecks };
  }
  /** What a background check does when the user comes back to a tab. */
  const returnToTab = (page: Page) => page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));

  it('lists this device and the others, signs one out after a keyboard-driven confirmation, and that device sees it was signed out', async () => {
    const desktop = await device(FIREFOX_ON_WINDOWS);
    const laptop = await device();
    const { page } = laptop;
    const items = page.getByTestId('session-item');
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.nth(0).getByTestId('session-device').textContent()).toBe('Chrome on Linux'); // newest first
    expect(await items.nth(0).getAttribute('data-current')).toBe('true');
    expect(await items.nth(0).textContent()).toContain('This device');
    expect(await items.nth(0).getByRole('button').count()).toBe(0); // this device signs out with the header's button
    expect(await items.nth(1).getByTestId('session-device').textContent()).toBe('Firefox on Windows');
    expect(await items.nth(1).textContent()).toMatch(/Signed in .+ · Last active .+/);
    await page.getByTestId('sessions-panel').screenshot({ path: `${shots}/your-sessions.png` });

    // Keyboard only: Enter opens the confirmation with Cancel focused; Escape cancels and ends nothing.
    const signOutDesktop = page.getByRole('button', { name: /^Sign out Firefox on Windows, signed in / });
    await signOutDesktop.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Sign out Firefox on Windows?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(
      await page.evaluate(() =>
        document.querySelector('app-shell')?.shadowRoot?.querySelector('sessions-panel')?.shadowRoot?.activeElement?.textContent?.trim(),
      ),
    ).toBe('Cancel');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await returnToTab(desktop.page);
    await expect.poll(() => desktop.userChecks.length).toBe(1);
    expect(await desktop.page.getByTestId('user-name').isVisible()).toBe(true);

    // Enter, Tab to "Sign out", Enter: done, announced, and the list shows only this device.
    await signOutDesktop.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await page.screenshot({ path: `${shots}/your-sessions-confirm.png` });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('sessions-outcome').textContent())
      .toBe('Signed out Firefox on Windows. It will have to sign in again.');
    await expect.poll(() => items.count()).toBe(1);
    expect(await page.getByTestId('sessions-only-this').isVisible()).toBe(true);

    // The other device learns it at its next background check, and says why (the BFF's reason).
    await returnToTab(desktop.page);
    await expect
      .poll(() =>
        desktop.page
          .getByTestId('auth-message')
          .textContent()
          .catch(() => null),
      )
      .toBe('You were signed out on another device or by your sign-in provider. Please sign in again.');
    expect(await desktop.page.getByTestId('signin').isVisible()).toBe(true);
    // Every background check left the idle timeout alone (the live notes socket, closed with 4401,
    // may tell the device before its second check does).
    expect(desktop.userChecks.length).toBeGreaterThanOrEqual(1);
    expect(desktop.userChecks.every((query) => query === '?slide=false')).toBe(true);
    expect(await page.getByTestId('user-name').isVisible()).toBe(true); // this device is untouched
    await desktop.context.close();

    // "Sign out all other sessions" ends the rest and says how many.
    const phone = await device(SAFARI_ON_IPHONE);
    await page.getByTestId('sessions-refresh').click();
    await expect.poll(() => items.count()).toBe(2);
    await page.getByTestId('sessions-end-others').click();
    await page.getByRole('dialog', { name: 'Sign out 1 other session?' }).getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByTestId('sessions-outcome').textContent()).toBe('Signed out 1 other session.');
    await expect.poll(() => items.count()).toBe(1);
    await returnToTab(phone.page);
    await expect.poll(() => phone.page.getByTestId('signin').isVisible()).toBe(true);
    await phone.context.close();
    await laptop.context.close();
  });
});

describe('a copy configured with only API_ROUTES=/api=<its API> in Chromium', () => {
  let stack: Stack;
  let bff: RunningBff;
  let browser: Browser;
  beforeAll(async () => {
    await ensureBuiltSpa();
    // The stack's provider and demo API, and a BFF of its own with one route and no WebSocket.
    const reservation = await reservePort();
    const origin = `http://127.0.0.1:${reservation.port}`;
    stack = await startStack({ extraOrigins: [origin] });
    await reservation.release();
    bff = await startBff({ ...stack.env, STATIC_DIR: `${root}web/dist`, API_ROUTES: `/api=${stack.api.url}` }, reservation.port);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await bff?.close();
    await stack?.close();
  });

  /** A page recording every request it makes (WebSockets too) and every console message. */
  async function recordedPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requests: URL[] = [];
    const console: string[] = [];
    page.on('request', (request) => requests.push(new URL(request.url())));
    page.on('websocket', (socket) => requests.push(new URL(socket.url())));
    page.on('console', (message) => console.push(`${message.type()}: ${message.text()} at ${message.location().url}`));
    page.on('pageerror', (error) => console.push(`error: ${error.message}`));
    return { context, page, requests, console };
  }

  /** What the page asked of the BFF beyond its own files, and anything it asked of a third origin. */
  function outside(requests: URL[]) {
    const spaFiles = /^\/(index\.html|favicon\.svg|assets\/[\w.-]+)?$/;
    return requests
      .filter((url) =>
        url.origin === bff.url
          ? !/^\/(bff|api)\//.test(url.pathname) && !spaFiles.test(url.pathname)
          : url.origin !== new URL(stack.idp.issuer).origin,
      )
      .map((url) => url.href);
  }

  it('calls nothing outside /bff and /api and logs no console error, signed out and signed in', async () => {
    const { context, page, requests, console } = await recordedPage();
    await page.goto(bff.url);
    await expect.poll(() => page.getByTestId('signin').isVisible()).toBe(true);
    await page.waitForLoadState('networkidle');
    expect(requests.map((url) => url.pathname)).toContain('/bff/config');
    expect(await page.locator('api-panel').count()).toBe(0); // no /public route: no greeting
    expect(outside(requests)).toEqual([]);
    // Signed out, the page learns it from /bff/status: no 401 from /bff/user (which Chromium would
    // log as a failed load), no 404, no refused handshake.
    expect(requests.map((url) => url.pathname)).not.toContain('/bff/user');
    expect(console.filter((line) => line.startsWith('error'))).toEqual([]);

    await signInThroughPages(page);
    await expect.poll(() => page.getByTestId('user-name').textContent()).toBe(ALICE.name);
    await expect.poll(() => page.getByTestId('me-sub').textContent()).toBe(ALICE.sub); // /api/me through the one route
    // demo:start
    await expect.poll(() => page.getByTestId('notes-empty').isVisible()).toBe(true); // /api/notes through the one route
    // demo:end
    await expect.poll(() => page.getByTestId('session-item').count()).toBe(1);
    await page.waitForLoadState('networkidle');
    expect(await page.locator('api-panel').count()).toBe(0); // neither /public nor /reports
    expect(requests.filter((url) => url.protocol === 'ws:')).toEqual([]); // /api takes no WebSocket: none opened
    expect(outside(requests)).toEqual([]);
    expect(console.filter((line) => line.startsWith('error'))).toEqual([]);
    await context.close();
  });
});
