import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBff, type RunningBff } from './support/bff.js';
import { launchChromium } from './support/chromium.js';
import { intercept } from './support/idp-front.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { signInAtProvider } from './support/spa.js';
import { ALICE, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';
import { throwawayTls, type ThrowawayTls } from './support/tls.js';

/**
 * RFC 10017 (OAuth 2.0 for browser-based applications), the BFF's cookie: `__Host-Http-bff` on
 * https, set by the real BFF and accepted by the real Chromium; start refused for cookie settings
 * a browser would drop; and a session that ends no later than its refresh token
 * (`refresh_token_expires_in`).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(root, 'node_modules/tsx/dist/cli.mjs');

/** A TLS terminator on a free loopback port in front of an http origin (as a deployment's proxy). */
async function startTlsFront(tls: ThrowawayTls, target: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createHttpsServer({ key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) }, (req, res) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('RFC 10017: the session cookie', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let tls: ThrowawayTls;
  let front: { url: string; close(): Promise<void> };
  let secureBff: RunningBff;
  let browser: Browser;
  /** `refresh_token_expires_in` the token endpoint adds to its answers (undefined: the provider's own answer). */
  let refreshTokenLifetime: number | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    tls = throwawayTls();
    const port = await freePort();
    // The front's port is only known once it listens: it proxies to the BFF's port, chosen first.
    front = await startTlsFront(tls, port);
    stack = await startStack({
      redisUrl: redis.url,
      extraOrigins: [front.url],
      idpFront: [
        intercept('/token', () => async (request) => {
          const answer = await request.forward();
          if (refreshTokenLifetime === undefined || answer.status !== 200) return answer;
          const body = { ...JSON.parse(answer.body!), refresh_token_expires_in: refreshTokenLifetime };
          return { ...answer, body: JSON.stringify(body) };
        }),
      ],
    });
    secureBff = await startBff({ ...stack.env, PUBLIC_URL: front.url }, port);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await secureBff?.close();
    await front?.close();
    await stack?.close();
    await redis?.stop();
    tls?.remove();
  });

  it('signs in over https with __Host-Http-bff and __Host-Http-bff-login cookies that Chromium keeps', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const loginCookies: string[] = [];
      page.on('response', async (response) => {
        if (response.url().startsWith(`${front.url}/bff/`))
          loginCookies.push(...((await response.headerValue('set-cookie')) ?? '').split('\n'));
      });
      await page.goto(`${front.url}/bff/login`);
      expect((await context.cookies(front.url)).map((cookie) => cookie.name)).toEqual(['__Host-Http-bff-login']);
      await signInAtProvider(page);
      await page.waitForURL((url) => url.href.startsWith(`${front.url}/`) && !url.pathname.startsWith('/bff/'));
      // The login cookie stays until its few minutes are over (it is single use at the BFF).
      const cookies = await context.cookies(front.url);
      expect(cookies.map((cookie) => cookie.name).sort()).toEqual(['__Host-Http-bff', '__Host-Http-bff-login']);
      expect(cookies.find((cookie) => cookie.name === '__Host-Http-bff')).toMatchObject({
        httpOnly: true,
        secure: true,
        path: '/',
        domain: 'localhost',
        sameSite: 'Strict',
      });
      expect(loginCookies.find((line) => line.startsWith('__Host-Http-bff='))).not.toMatch(/domain=/i);
      // The page's scripts cannot see it, and the session works.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      const user = await page.evaluate(async () => (await fetch('/bff/user', { headers: { 'x-csrf': '1' } })).json());
      expect(user).toMatchObject({ sub: ALICE.sub });
    } finally {
      await context.close();
    }
  });

  it('refuses to start, with exit code 1 and a line naming the variable, when a cookie setting breaks its prefix', () => {
    const result = spawnSync(process.execPath, [TSX, join(root, 'bff/src/main.ts')], {
      env: { ...stack.env, PATH: process.env.PATH, PORT: '0', PUBLIC_URL: 'http://127.0.0.1:1', SESSION_COOKIE_NAME: '__Host-Http-bff' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr + result.stdout).toContain(
      'SESSION_COOKIE_NAME: a __Host-Http- cookie needs Secure, which the BFF sets only when PUBLIC_URL is https',
    );
  });

  describe('refresh_token_expires_in', () => {
    const stored = () => storedSessions(redis, stack.bff.url);

    it('ends the session no later than the refresh token the provider says it issued, at sign-in and at each refresh', async () => {
      refreshTokenLifetime = 600;
      try {
        const before = Math.floor(Date.now() / 1000);
        const signedIn = await stack.signIn();
        const record = (await stored().record(signedIn))!;
        expect(record.expiresAt).toBeGreaterThanOrEqual(before + 600);
        expect(record.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
        const user = await signedIn.api(`${stack.bff.url}/bff/user`);
        expect(((await user.json()) as { session: { expiresAt: number } }).session.expiresAt).toBe(record.expiresAt);

        // A refresh whose new refresh token lives longer moves the end up, never past SESSION_ABSOLUTE_TIMEOUT.
        refreshTokenLifetime = 10 * 24 * 3600;
        await stored().makeDue(signedIn);
        expect((await signedIn.api(`${stack.bff.url}/rec/items`)).status).toBe(200);
        expect((await stored().record(signedIn))!.expiresAt).toBe(record.createdAt + 28800);

        // A shorter one brings it forward again.
        refreshTokenLifetime = 300;
        await stored().makeDue(signedIn);
        const refreshedAt = Math.floor(Date.now() / 1000);
        expect((await signedIn.api(`${stack.bff.url}/rec/items`)).status).toBe(200);
        const end = (await stored().record(signedIn))!.expiresAt;
        expect(end).toBeGreaterThanOrEqual(refreshedAt + 300);
        expect(end).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 300);
      } finally {
        refreshTokenLifetime = undefined;
      }
    });

    it('keeps SESSION_ABSOLUTE_TIMEOUT when the provider says nothing', async () => {
      const signedIn = await stack.signIn();
      const record = (await stored().record(signedIn))!;
      expect(record.expiresAt).toBe(record.createdAt + 28800);
    });
  });
});

describe('docs/rfc10017.md', () => {
  it('names only tests that exist, each in the file it gives', () => {
    const table = readFileSync(join(root, 'docs/rfc10017.md'), 'utf8');
    const named: Array<[file: string, name: string]> = [];
    for (const row of table.split('\n').filter((line) => /^\| \d/.test(line))) {
      const cell = row.split(' | ').at(-1)!.replace(/ \|$/, '');
      let file = '';
      for (const part of cell.split(/; (?=`|›)/)) {
        const match = /^(?:`([^`]+)` )?› (.+)$/.exec(part.trim());
        expect(match, `${part} (in: ${row.slice(0, 40)}…)`).not.toBeNull();
        file = match![1] ?? file;
        named.push([file, match![2]!.trim()]);
      }
    }
    expect(named.length).toBeGreaterThan(25);
    for (const [file, name] of named) {
      expect(existsSync(join(root, file)), file).toBe(true);
      expect(readFileSync(join(root, file), 'utf8'), `${file} › ${name}`).toContain(name);
    }
  });
});
