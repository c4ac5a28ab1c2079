import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionKey, startBff } from './support/bff.js';
import { rawHttp, rawRequest as rawRequestWithBody } from './support/raw-http.js';
import { TestBrowser } from './support/browser.js';
import { storedSessions } from './support/stored-sessions.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

/** Only the status of a raw request. */
const rawRequest = async (url: string, path: string, headers: Record<string, string>, method = 'GET') =>
  (await rawRequestWithBody(url, path, headers, method)).status;

describe('security hardening', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, env: { LOGIN_RATE_LIMIT: '1000', MAX_BODY_BYTES: '1048576' } });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  describe('headers', () => {
    it('sends a strict CSP, framing protection, nosniff and no-referrer on HTML', async () => {
      const response = await fetch(`${stack.bff.url}/bff/callback?state=x`);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    });

    it('marks every /bff/* answer no-store', async () => {
      for (const path of ['/bff/user', '/bff/login', '/bff/callback', '/bff/logout']) {
        const response = await fetch(`${stack.bff.url}${path}`, { redirect: 'manual', headers: { 'x-csrf': '1' } });
        expect(response.headers.get('cache-control'), path).toBe('no-store');
      }
    });
  });

  describe('CSRF', () => {
    it('refuses unsafe proxied calls without X-CSRF, with a wrong value, or from another site', async () => {
      const browser = await stack.signIn();
      const before = stack.upstream.requests.length;
      const cases: Record<string, string>[] = [
        {},
        { 'x-csrf': '0' },
        { 'x-csrf': '1', 'sec-fetch-site': 'cross-site' },
        { 'x-csrf': '1', 'sec-fetch-site': 'same-site' },
      ];
      for (const headers of cases) {
        const response = await browser.fetch(`${stack.bff.url}/rec/items`, { method: 'POST', headers, body: 'x' });
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ error: 'csrf' });
      }
      expect(stack.upstream.requests.length).toBe(before);
      const ok = await browser.fetch(`${stack.bff.url}/rec/items`, {
        method: 'POST',
        headers: { 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
        body: 'x',
      });
      expect(ok.status).toBe(200);
    });

    it('does not let a cross-site link sign the user out (sid guard)', async () => {
      const browser = await stack.signIn();
      expect((await browser.fetch(`${stack.bff.url}/bff/logout`)).status).toBe(400);
      expect((await browser.fetch(`${stack.bff.url}/bff/logout?sid=`)).status).toBe(400);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    });
  });

  describe('cookies', () => {
    it('uses __Host-Http- prefixed Secure cookies when PUBLIC_URL is https', async () => {
      const port = await freePort();
      const bff = await startBff({ ...stack.env, PUBLIC_URL: 'https://app.example.com', REDIS_URL: redis.url }, port);
      try {
        const response = await fetch(`${bff.url}/bff/login`, { redirect: 'manual' });
        const cookie = response.headers.getSetCookie()[0]!;
        expect(cookie).toMatch(/^__Host-Http-bff-login=/);
        expect(cookie).toMatch(/; httponly/i);
        expect(cookie).toMatch(/; secure/i);
        expect(cookie).toMatch(/; path=\//i);
        expect(cookie).not.toMatch(/domain=/i);
        expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
      } finally {
        await bff.close();
      }
    });

    it('treats malformed session cookies as signed out, never as errors', async () => {
      for (const cookie of [
        'bff=%%%',
        'bff=' + 'x'.repeat(4000),
        'bff=a;bff=b',
        'bff="quoted"',
        'bff=\u00ff\u00fe',
        '=;;=',
        'bff=' + 'A'.repeat(43),
      ]) {
        const status = await rawRequest(stack.bff.url, '/bff/user', { cookie, 'x-csrf': '1' });
        expect(status, cookie).toBe(401);
        const proxied = await rawRequest(stack.bff.url, '/rec/x', { cookie, 'x-csrf': '1' });
        expect(proxied, cookie).toBe(401);
      }
    });
  });

  describe('limits and malformed input', () => {
    it('answers 431 to oversized headers and 413 to oversized bodies', async () => {
      const status = await rawRequest(stack.bff.url, '/bff/user', { 'x-csrf': '1', 'x-big': 'a'.repeat(64 * 1024) }).catch(() => 431);
      expect(status).toBe(431);
      const browser = await stack.signIn();
      const response = await browser.api(`${stack.bff.url}/rec/upload`, { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: 'too_large' });
    });

    it('answers 414/431-class limits for huge query strings without reaching the upstream', async () => {
      const before = stack.upstream.requests.length;
      const status = await rawRequest(stack.bff.url, `/rec/x?q=${'a'.repeat(70 * 1024)}`, { 'x-csrf': '1' }).catch(() => 431);
      expect([414, 431]).toContain(status);
      expect(stack.upstream.requests.length).toBe(before);
    });

    it('cuts off a slow client that never finishes its headers', async () => {
      const bff = await startBff({ ...stack.env, REDIS_URL: undefined }, undefined, { headersTimeoutMs: 500 });
      try {
        const { connect } = await import('node:net');
        const socket = connect(bff.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write('GET /bff/user HTTP/1.1\r\nHost: x\r\nx-csrf: 1\r\n'); // ... and never the blank line
        const started = Date.now();
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk));
        await new Promise((resolve) => socket.once('close', resolve));
        expect(Date.now() - started).toBeLessThan(3000);
        expect(answer).toMatch(/^HTTP\/1\.1 408/);
      } finally {
        await bff.close();
      }
    });

    it('survives non-UTF-8 and malformed percent-encoding without a 5xx', async () => {
      for (const path of [
        '/%ff%fe',
        '/bff/login?returnTo=%ff',
        '/bff/callback?state=%ff%00',
        '/assets/%c0%af..%c0%afetc',
        '/%',
        '/rec/%ff',
      ]) {
        const status = await rawRequest(stack.bff.url, path, { 'x-csrf': '1', accept: 'text/html' });
        expect(status, path).toBeLessThan(500);
      }
    });

    it('refuses request smuggling: Content-Length with Transfer-Encoding', async () => {
      const before = stack.upstream.requests.length;
      const { host } = new URL(stack.bff.url);
      const head = await rawHttp(
        stack.bff.url,
        `POST /rec/x HTTP/1.1\r\nHost: ${host}\r\nx-csrf: 1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect(head).toMatch(/^HTTP\/1\.1 400/);
      expect(stack.upstream.requests.length).toBe(before);
    });

    it('does not forward header-injection attempts (CR/LF in header values are rejected)', async () => {
      const { host } = new URL(stack.bff.url);
      const head = await rawHttp(stack.bff.url, `GET /rec/x HTTP/1.1\r\nHost: ${host}\r\nx-csrf: 1\r\nx-a: b\rInjected: yes\r\n\r\n`);
      expect(head).toMatch(/^HTTP\/1\.1 400/);
    });
  });

  describe('rate limit', () => {
    it('limits sign-in starts per client address with 429 and Retry-After', async () => {
      const port = await freePort();
      // The memory store keeps this count apart from the other tests' sign-ins on the shared Redis.
      const bff = await startBff({ ...stack.env, LOGIN_RATE_LIMIT: '3', REDIS_URL: undefined }, port);
      try {
        const statuses = [];
        for (let i = 0; i < 5; i++) statuses.push((await fetch(`${bff.url}/bff/login`, { redirect: 'manual' })).status);
        expect(statuses.slice(0, 3)).toEqual([302, 302, 302]);
        const limited = await fetch(`${bff.url}/bff/login`, { redirect: 'manual' });
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      } finally {
        await bff.close();
      }
    });
  });

  describe('fuzz', () => {
    it('answers random paths, headers and cookies without undocumented 5xx and stays healthy', async () => {
      const browser = await stack.signIn();
      const session = browser.cookieHeader(stack.bff.url)!;
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
      const pieces = [
        'bff',
        'api',
        'rec',
        'open',
        '..',
        '.',
        '%2e',
        '%2f',
        '%5c',
        '%00',
        '%ff',
        'user',
        'login',
        'callback',
        'logout',
        'assets',
        'index.html',
        '~',
        ';',
        '@',
        '%',
        'a'.repeat(300),
      ];
      const allowed = new Set([502, 503, 504]);
      for (let i = 0; i < 300; i++) {
        const path =
          '/' +
          Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(pieces)).join('/') +
          (random() < 0.3 ? `?${pick(pieces)}=${pick(pieces)}` : '');
        const headers: Record<string, string> = {};
        if (random() < 0.5) headers['x-csrf'] = pick(['1', '0', '', '11']);
        if (random() < 0.5) headers.cookie = pick([session, 'bff=' + pick(pieces), 'bff-login=x', '']);
        if (random() < 0.3) headers['sec-fetch-site'] = pick(['same-origin', 'cross-site', 'none', 'garbage']);
        if (random() < 0.3) headers.accept = pick(['text/html', 'application/json', '*/*']);
        if (random() < 0.2) headers['content-type'] = pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain']);
        const method = pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);
        const status = await rawRequest(stack.bff.url, path, headers, method).catch(() => 400);
        if (status >= 500) expect(allowed.has(status), `${method} ${path} -> ${status}`).toBe(true);
      }
      expect((await fetch(`${stack.bff.url}/healthz`)).status).toBe(200);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    });
  });
});

describe('dependencies down', () => {
  it('answers 503 JSON while Redis is down and recovers without a restart', async () => {
    const redis = await startRedis();
    const stack = await startStack({ redisUrl: redis.url });
    try {
      const browser = await stack.signIn();
      await redis.kill();
      const user = await browser.api(`${stack.bff.url}/bff/user`);
      expect(user.status, 'GET /bff/user while Redis is down').toBe(503);
      const body = await user.text();
      expect(JSON.parse(body)).toEqual({ error: 'unavailable', message: expect.any(String) });
      expect(body).not.toMatch(/at .*\.ts|ECONNREFUSED|Error:/);
      const proxied = await browser.api(`${stack.bff.url}/rec/x`);
      expect(proxied.status, 'proxied call while Redis is down').toBe(503);
      expect((await fetch(`${stack.bff.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${stack.bff.url}/readyz`)).status).toBe(503);
      const login = await fetch(`${stack.bff.url}/bff/login`, { redirect: 'manual' });
      expect(login.status, 'GET /bff/login while Redis is down').toBe(503);
      expect(login.headers.get('content-type')).toMatch(/text\/html/);

      await redis.restart();
      let ready = 0;
      for (let i = 0; i < 150 && ready !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = (await fetch(`${stack.bff.url}/readyz`)).status;
      }
      expect(ready, 'readiness after Redis came back').toBe(200);
      // The restarted Redis kept no data, so the old session is gone: signed out, not an error.
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
      const again = await stack.signIn();
      expect((await again.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    } finally {
      await stack.close();
      await redis.stop();
    }
  });

  it('answers 503 and keeps the session when the provider is down at refresh time', async () => {
    const redis = await startRedis();
    const stack = await startStack({ redisUrl: redis.url });
    try {
      const browser = await stack.signIn();
      const key = sessionKey(browser.cookie(stack.bff.url, 'bff')!);
      await storedSessions(redis, stack.bff.url).makeDue(browser);
      await stack.idp.close();
      const response = await browser.api(`${stack.bff.url}/rec/x`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'unavailable' });
      expect(await redis.client.exists(key)).toBe(1);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    } finally {
      await stack.close().catch(() => undefined);
      await redis.stop();
    }
  });

  it('shows a clear page when the provider is down at sign-in, and signs in once it is back', async () => {
    const { startIdp } = await import('../dev/idp/index.js');
    const { CLIENT_ID, CLIENT_SECRET, API_AUDIENCE, ALICE } = await import('./support/stack.js');
    const { loginThroughIdp } = await import('../dev/idp/test-login.js');
    const idpPort = await freePort();
    const bffPort = await freePort();
    const bffUrl = `http://127.0.0.1:${bffPort}`;
    const bff = await startBff(
      { OIDC_ISSUER: `http://127.0.0.1:${idpPort}`, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
      bffPort,
    );
    let idp: Awaited<ReturnType<typeof startIdp>> | undefined;
    try {
      expect((await fetch(`${bffUrl}/readyz`)).status).toBe(503);
      const down = await fetch(`${bffUrl}/bff/login`, { redirect: 'manual' });
      expect(down.status).toBe(503);
      expect(await down.text()).toMatch(/not reachable/);

      idp = await startIdp({
        port: idpPort,
        clients: [
          {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [`${bffUrl}/bff/callback`],
            post_logout_redirect_uris: [`${bffUrl}/`],
          },
        ],
        apiAudience: API_AUDIENCE,
      });
      let ready = 0;
      for (let i = 0; i < 150 && ready !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = (await fetch(`${bffUrl}/readyz`)).status;
      }
      expect(ready).toBe(200);
      const browser = new TestBrowser();
      const start = await browser.fetch(`${bffUrl}/bff/login`);
      expect(start.status).toBe(302);
      expect((await browser.fetch(await loginThroughIdp(start.headers.get('location')!, ALICE))).status).toBe(302);
      expect((await browser.api(`${bffUrl}/bff/user`)).status).toBe(200);
    } finally {
      await bff.close();
      await idp?.close();
    }
  });
});
