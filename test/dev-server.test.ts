import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { freePort } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * `npm run dev`'s Vite server (web/vite.config.ts, as dev/start.ts --dev starts it) in front of a
 * real BFF: everything but the SPA's own files must reach the BFF, WebSocket upgrades included.
 */
describe('the dev server (npm run dev)', () => {
  let stack: Stack;
  let vite: ViteDevServer;
  let web: string;
  beforeAll(async () => {
    stack = await startStack();
    const port = await freePort();
    // What dev/start.ts sets before it starts Vite.
    Object.assign(process.env, { BFF_URL: stack.bff.url, API_ROUTES: stack.env.API_ROUTES, WEB_PORT: String(port) });
    vite = await createServer({
      configFile: fileURLToPath(new URL('../web/vite.config.ts', import.meta.url)),
      logLevel: 'silent',
      server: { hmr: false },
    });
    await vite.listen();
    web = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await vite?.close();
    await stack?.close();
  });

  it('serves the SPA itself', async () => {
    const page = await fetch(`${web}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module"');
  });

  it('proxies /bff and every API_ROUTES prefix to the BFF (/public and /reports too)', async () => {
    const browser = await stack.signIn();
    const headers = { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! };
    const user = await fetch(`${web}/bff/user`, { headers });
    expect(user.status).toBe(200);
    const hello = await fetch(`${web}/public/hello`, { headers });
    expect(hello.status).toBe(200);
    expect(await hello.json()).toMatchObject({ signedIn: true });
    const reports = await fetch(`${web}/reports/me`, { headers });
    expect(reports.headers.get('content-type')).toMatch(/json/);
    expect(reports.status).toBe(200);
    expect((await fetch(`${web}/api/notes`, { headers })).status).toBe(200);
  });

  it('proxies WebSocket upgrades: live notes open through the dev server', async () => {
    const browser = await stack.signIn();
    // The BFF checks Origin against its PUBLIC_URL (with npm run dev that is the dev server's origin).
    const ws = new WebSocket(`${web.replace('http:', 'ws:')}/api/notes/live`, {
      headers: { origin: stack.bff.url, cookie: browser.cookieHeader(stack.bff.url)! },
      handshakeTimeout: 5000,
    });
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      ws.once('error', (error) => resolve(`error ${error.message}`));
    });
    ws.close();
    expect(outcome).toBe('open');
  });
});
