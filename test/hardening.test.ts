import { request } from 'node:http';
import { connect } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Middleware } from 'koa';
import { RedisStore, connectRedis } from '../bff/src/session/redis-store.js';
import { TestBrowser } from './support/browser.js';
import { TEST_SESSION_KEY, lockKey, sessionKey, sidIndexKey, startBff, userIndexKey } from './support/bff.js';
import { rawHttp, rawRequest } from './support/raw-http.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { BOB, ALICE, CLIENT_ID, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * The defects of the second security review, each reproduced against the real stack
 * (SECURITY.md, docs/api-proxy.md). Every test here failed before its fix.
 */

const API_TIMEOUT_MS = 600;
const MAX_BODY_BYTES = 64 * 1024;

/** Security headers every answer the BFF writes itself carries. */
function expectSecurityHeaders(response: { headers: Headers }, what: string, options: { html?: boolean; hsts?: boolean } = {}) {
  expect(response.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(response.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(response.headers.get('cache-control'), what).toBe('no-store');
  if (options.hsts) expect(response.headers.get('strict-transport-security'), what).toMatch(/max-age=\d+/);
  if (options.html) {
    expect(response.headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options'), what).toBe('DENY');
  }
}

/** Streams a chunked upload: `chunks` pieces of `size` bytes, `gapMs` apart; resolves with the status or the error code. */
function chunkedUpload(
  url: string,
  path: string,
  headers: Record<string, string>,
  chunks: number,
  size: number,
  gapMs = 0,
  stallAfter = Infinity,
) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status?: number; error?: string; body?: string }>((resolve) => {
    const req = request({ hostname, port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    let sent = 0;
    const next = () => {
      if (req.destroyed) return;
      if (sent === stallAfter) return; // stop sending, keep the connection open
      if (sent === chunks) return void req.end();
      sent++;
      req.write(Buffer.alloc(size, 0x61));
      setTimeout(next, gapMs);
    };
    next();
  });
}

describe('hardening round two', () => {
  let redis: RunningRedis;
  let stack: Stack;
  let slowTokenEndpointMs = 0;
  const slowTokenEndpoint: Middleware = async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token' && slowTokenEndpointMs > 0)
      await new Promise((resolve) => setTimeout(resolve, slowTokenEndpointMs));
    await next();
  };

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      redisUrl: redis.url,
      instances: 2,
      idpFront: [slowTokenEndpoint],
      deps: { refreshLockMs: 300 },
      env: { API_TIMEOUT_MS: String(API_TIMEOUT_MS), MAX_BODY_BYTES: String(MAX_BODY_BYTES), LOGIN_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  /** The same browser talking to another instance (another port on one host, as behind a load balancer). */
  const shareCookies = (browser: TestBrowser, url: string) =>
    browser.cookies.set(new URL(url).host, browser.cookies.get(new URL(stack.bff.url).host)!);
  const stored = () => storedSessions(redis, stack.bff.url);
  const sessionIdOf = (browser: TestBrowser) => stored().idOf(browser);
  const recordOf = async (browser: TestBrowser) => (await stored().record(browser))!;
  const RETIRED_KEY_TOKENS = 'v1.retired.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

  describe('1. security headers on every error the BFF writes', () => {
    it('sends nosniff, no-referrer and no-store on thrown JSON errors: 401, 403, 404 and proxied 401/400', async () => {
      const url = stack.bff.url;
      const cases: [string, Promise<Response>, number][] = [
        ['GET /bff/user without a session', fetch(`${url}/bff/user`, { headers: { 'x-csrf': '1' } }), 401],
        ['GET /bff/user without X-CSRF', fetch(`${url}/bff/user`), 403],
        ['unknown /bff path', fetch(`${url}/bff/nothing-here`, { headers: { 'x-csrf': '1' } }), 404],
        ['proxy without a session', fetch(`${url}/rec/x`, { headers: { 'x-csrf': '1' } }), 401],
        ['proxy, bad path', fetch(`${url}/rec/a%2fb`, { headers: { 'x-csrf': '1' } }), 400],
      ];
      for (const [what, pending, status] of cases) {
        const response = await pending;
        expect(response.status, what).toBe(status);
        expect(response.headers.get('content-type'), what).toMatch(/application\/json/);
        expectSecurityHeaders(response, what);
        expect(response.headers.get('x-request-id'), what).toBeTruthy();
        // A 401 also says why there is no session (docs/session-lifecycle.md); nothing else is added.
        expect(Object.keys(await response.json()).sort(), what).toEqual(
          status === 401 ? ['error', 'message', 'reason'] : ['error', 'message'],
        );
      }
    });

    it('sends CSP and framing protection on error pages (sign-out not confirmed, bad callback state)', async () => {
      const browser = await stack.signIn();
      const multiByteGuard = `${'é'}${'x'.repeat(42)}`; // as many characters as the real guard, more bytes
      for (const response of [
        await browser.fetch(`${stack.bff.url}/bff/logout?sid=wrong`),
        await browser.fetch(`${stack.bff.url}/bff/logout?sid=${encodeURIComponent(multiByteGuard)}`),
        await fetch(`${stack.bff.url}/bff/callback?state=nobody`),
      ]) {
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/text\/html/);
        expectSecurityHeaders(response, response.url, { html: true });
      }
    });

    it('sends the headers (HSTS included on https) on the 429 and 503 pages of /bff/login', async () => {
      const deadPort = await freePort();
      const limited = await startBff({ ...stack.env, PUBLIC_URL: 'https://app.example.com', LOGIN_RATE_LIMIT: '1' });
      const noProvider = await startBff({ ...stack.env, OIDC_ISSUER: `http://127.0.0.1:${deadPort}` });
      try {
        await fetch(`${limited.url}/bff/login`, { redirect: 'manual' });
        const tooMany = await fetch(`${limited.url}/bff/login`, { redirect: 'manual' });
        expect(tooMany.status).toBe(429);
        expect(tooMany.headers.get('retry-after')).toBeTruthy();
        expectSecurityHeaders(tooMany, '429', { html: true, hsts: true });
        const down = await fetch(`${noProvider.url}/bff/login`, { redirect: 'manual' });
        expect(down.status).toBe(503);
        expectSecurityHeaders(down, '503', { html: true });
      } finally {
        await limited.close();
        await noProvider.close();
      }
    });

    it('answers requests the HTTP parser refuses with nosniff too', async () => {
      const raw = await rawHttp(stack.bff.url, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
      expect(raw).toMatch(/^HTTP\/1\.1 400/);
      expect(raw.toLowerCase()).toContain('x-content-type-options: nosniff');
    });
  });

  describe('2-4. request bodies', () => {
    it('refuses a chunked upload above MAX_BODY_BYTES with 413 and never completes it upstream', async () => {
      const browser = await stack.signIn();
      const before = stack.upstream.requests.length;
      const result = await chunkedUpload(
        stack.bff.url,
        '/rec/upload-chunked',
        { cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' },
        40,
        4096,
      );
      if (result.status !== undefined) {
        expect(result.status).toBe(413);
        expect(JSON.parse(result.body!)).toMatchObject({ error: 'too_large' });
      } else {
        expect(result.error).toMatch(/ECONNRESET|EPIPE/); // cut while still sending: also allowed
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stack.upstream.requests.slice(before).filter((r) => r.url.includes('upload-chunked'))).toEqual([]);
      // A chunked body within the limit goes through whole.
      const ok = await chunkedUpload(
        stack.bff.url,
        '/rec/upload-small',
        { cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' },
        4,
        1024,
      );
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body!)).toMatchObject({ bodyBytes: 4096 });
    });

    it('cuts a body that stalls longer than API_TIMEOUT_MS (408); the session keeps its own calls within its budget (429 beyond) and others keep being served', async () => {
      const browser = await stack.signIn();
      const other = await stack.signIn(BOB);
      const headers = { cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' };
      // More stalled uploads than the pool has connections to the upstream (128).
      const stalled = Array.from({ length: 130 }, (_, i) => chunkedUpload(stack.bff.url, `/rec/stall-${i}`, headers, 10, 100, 0, 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const meanwhile = await other.api(`${stack.bff.url}/rec/meanwhile`, { signal: AbortSignal.timeout(API_TIMEOUT_MS * 6) });
      expect(meanwhile.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(API_TIMEOUT_MS * 6);
      const results = await Promise.all(stalled);
      for (const result of results)
        expect(result.status ?? result.error).toSatisfy((outcome) => outcome === 408 || outcome === 429 || outcome === 'ECONNRESET');
      expect(results.some((result) => result.status === 408)).toBe(true);
    }, 20_000);

    it('blames the upstream (504), not the browser (408), when the upstream is the one not reading the body', async () => {
      const bff = await startBff({
        ...stack.env,
        API_TIMEOUT_MS: String(API_TIMEOUT_MS),
        MAX_BODY_BYTES: String(16 * 1024 * 1024),
        API_ROUTES: `/up=${stack.upstream.url}#anonymous`,
      });
      try {
        // 8 MB against an upstream that reads nothing for three times API_TIMEOUT_MS: the buffers
        // fill, the BFF stops reading the browser, and the browser waits. Nobody stalled but the
        // upstream, so the answer is the upstream's timeout.
        const result = await chunkedUpload(bff.url, `/up/slow-read?ms=${API_TIMEOUT_MS * 3}`, { 'x-csrf': '1' }, 8, 1024 * 1024);
        expect(result.status ?? result.error).toSatisfy((outcome) => outcome === 504 || outcome === 'ECONNRESET' || outcome === 'EPIPE');
        expect(result.status).not.toBe(408);
      } finally {
        await bff.close();
      }
    }, 20_000);

    it('survives an upload to an upstream that is down: 502, and no crash when the unread body later stalls', async () => {
      const dead = await freePort();
      const bff = await startBff({
        ...stack.env,
        API_TIMEOUT_MS: String(API_TIMEOUT_MS),
        MAX_BODY_BYTES: String(1024 * 1024),
        API_ROUTES: `/down=http://127.0.0.1:${dead}#anonymous`,
      });
      try {
        // Big enough to be streamed (beyond the request buffer), then it stalls: the upstream call
        // starts, fails, and the stall timer later fires on a body nobody reads any more.
        const result = await Promise.race([
          chunkedUpload(bff.url, '/down/upload', { 'x-csrf': '1' }, 10, 40 * 1024, 0, 3),
          new Promise<{ status: number }>((resolve) => setTimeout(() => resolve({ status: 0 }), API_TIMEOUT_MS * 4)),
        ]);
        expect(result.status).toBe(502);
        await new Promise((resolve) => setTimeout(resolve, API_TIMEOUT_MS * 2)); // past the stall timer
        expect((await fetch(`${bff.url}/healthz`)).status).toBe(200);
      } finally {
        await bff.close();
      }
    });

    it('frees the upstream connection when the browser stops reading an answer for longer than API_TIMEOUT_MS', async () => {
      const browser = await stack.signIn();
      const before = stack.upstream.unfinishedAnswers;
      const { hostname, port } = new URL(stack.bff.url);
      const socket = connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.pause(); // read nothing: the BFF's writes back up, and it pauses the upstream
      socket.write(
        `GET /rec/big?bytes=${64 * 1024 * 1024} HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nCookie: ${browser.cookieHeader(stack.bff.url)}\r\n\r\n`,
      );
      const closed = new Promise((resolve) => socket.once('close', resolve));
      let waited = 0;
      while (stack.upstream.unfinishedAnswers === before && waited < API_TIMEOUT_MS * 8) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        waited += 100;
      }
      expect(stack.upstream.unfinishedAnswers).toBe(before + 1);
      socket.resume();
      await closed; // and the browser's connection is cut, not left hanging
    }, 20_000);

    it('accepts Expect: 100-continue uploads after its checks, and refuses them before the body when a check fails', async () => {
      const browser = await stack.signIn();
      const body = Buffer.alloc(20_000, 0x62);
      const send = (headers: Record<string, string>) =>
        new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
          const { hostname, port } = new URL(stack.bff.url);
          let continued = false;
          const req = request(
            {
              hostname,
              port,
              path: '/rec/continue',
              method: 'PUT',
              headers: { ...headers, expect: '100-continue', 'content-length': String(body.length) },
            },
            (res) => {
              let text = '';
              res.on('data', (chunk) => (text += chunk));
              res.on('end', () => resolve({ status: res.statusCode!, continued, body: text }));
            },
          );
          req.on('continue', () => {
            continued = true;
            req.end(body);
          });
          req.on('error', reject);
          req.flushHeaders();
        });
      const logsBefore = stack.bff.logs.length;
      const ok = await send({ cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' });
      expect(ok).toMatchObject({ status: 200, continued: true });
      expect(JSON.parse(ok.body)).toMatchObject({ method: 'PUT', bodyBytes: body.length });
      expect(stack.upstream.requests.at(-1)!.headers.expect).toBeUndefined();
      const refused = await send({ 'x-csrf': '1' });
      expect(refused).toMatchObject({ status: 401, continued: false });
      expect(stack.bff.logs.slice(logsBefore).filter((line) => /"level":50/.test(line))).toEqual([]);
    });
  });

  describe('5-6. what reaches an upstream', () => {
    it('forwards browser headers by allowlist only, and X-Forwarded-For as the socket address', async () => {
      const browser = await stack.signIn();
      const response = await browser.api(`${stack.bff.url}/rec/allowlist`, {
        headers: {
          'x-original-url': '/admin',
          'x-rewrite-url': '/admin',
          'x-http-method-override': 'DELETE',
          'x-forwarded-prefix': '/evil',
          'x-real-ip': '6.6.6.6',
          'x-forwarded-user': 'admin',
          'x-forwarded-for': '6.6.6.6',
          'x-auth-request-email': 'admin@example.com',
          'accept-language': 'de',
          'if-none-match': '"abc"',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        },
      });
      expect(response.status).toBe(200);
      const seen = stack.upstream.requests.at(-1)!.headers;
      for (const name of [
        'x-original-url',
        'x-rewrite-url',
        'x-http-method-override',
        'x-forwarded-prefix',
        'x-real-ip',
        'x-forwarded-user',
        'x-auth-request-email',
        'x-csrf',
        'cookie',
      ]) {
        expect(seen[name], name).toBeUndefined();
      }
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen).toMatchObject({
        'accept-language': 'de',
        'if-none-match': '"abc"',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
    });

    it('forwards the names in API_FORWARD_HEADERS', async () => {
      const bff = await startBff({ ...stack.env, API_FORWARD_HEADERS: 'X-Tenant' });
      try {
        const response = await rawRequest(bff.url, '/open/tenant', { 'x-csrf': '1', 'x-tenant': 'acme', 'x-other': 'no' });
        expect(response.status).toBe(200);
        const seen = stack.upstream.requests.at(-1)!.headers;
        expect(seen['x-tenant']).toBe('acme');
        expect(seen['x-other']).toBeUndefined();
      } finally {
        await bff.close();
      }
    });

    it('20 sign-in starts at once from one address: exactly LOGIN_RATE_LIMIT pass, each instance counting in the same window, and another address still starts', async () => {
      const env = { ...stack.env, TRUST_PROXY: 'true', LOGIN_RATE_LIMIT: '5' };
      const [one, two] = [await startBff(env), await startBff(env)];
      try {
        const start = (bff: typeof one, address: string) =>
          fetch(`${bff.url}/bff/login`, { redirect: 'manual', headers: { 'x-forwarded-for': address } });
        const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => start(i % 2 ? one : two, '203.0.113.77')));
        expect(statuses.filter((r) => r.status === 302)).toHaveLength(5);
        const refused = statuses.filter((r) => r.status === 429);
        expect(refused).toHaveLength(15);
        for (const r of refused) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await start(one, '203.0.113.78')).status).toBe(302);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });

    it('with TRUST_PROXY=true counts from the right: rotating the client-written entry does not escape the login rate limit', async () => {
      const bff = await startBff({ ...stack.env, TRUST_PROXY: 'true', LOGIN_RATE_LIMIT: '3' });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const response = await fetch(`${bff.url}/bff/login`, {
            redirect: 'manual',
            headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` },
          });
          statuses.push(response.status);
        }
        expect(statuses).toEqual([302, 302, 302, 429, 429]);
        // Another client behind the same proxy has its own budget.
        expect((await fetch(`${bff.url}/bff/login`, { redirect: 'manual', headers: { 'x-forwarded-for': '203.0.113.10' } })).status).toBe(
          302,
        );
        // Upstream sees exactly the trusted address.
        await rawRequest(bff.url, '/open/xff', { 'x-csrf': '1', 'x-forwarded-for': '6.6.6.6, 203.0.113.9' });
        expect(stack.upstream.requests.at(-1)!.headers['x-forwarded-for']).toBe('203.0.113.9');
      } finally {
        await bff.close();
      }
    });
  });

  describe('7, 10, 14. sessions in Redis', () => {
    it('never stores a session id in clear: no key, value or set member holds the cookie', async () => {
      const browser = await stack.signIn();
      await browser.api(`${stack.bff.url}/rec/refresh-something`);
      const id = sessionIdOf(browser);
      const everything: string[] = [];
      for (const key of await redis.client.keys('*')) {
        everything.push(key);
        const type = await redis.client.type(key);
        if (type === 'string') everything.push((await redis.client.get(key)) ?? '');
        if (type === 'set') everything.push(...(await redis.client.smembers(key)));
        if (type === 'zset') everything.push(...(await redis.client.zrange(key, 0, -1)));
      }
      expect(everything.length).toBeGreaterThan(3);
      expect(everything.filter((entry) => entry.includes(id))).toEqual([]);
      expect(await redis.client.exists(sessionKey(id))).toBe(1);
    });

    it('keeps sessions working across a SESSION_KEYS rotation (new key first, old one still listed)', async () => {
      const browser = await stack.signIn();
      const rotatedKey = 'rotated-session-key-0123456789abcdef-012345';
      const rotated = await startBff({ ...stack.env, SESSION_KEYS: `${rotatedKey},${TEST_SESSION_KEY}` });
      shareCookies(browser, rotated.url);
      try {
        expect((await browser.api(`${rotated.url}/bff/user`)).status).toBe(200);
        // Moved to its handle under the new key, old one gone; the proxy finds it too.
        const id = sessionIdOf(browser);
        expect(await redis.client.exists(sessionKey(id, rotatedKey))).toBe(1);
        expect(await redis.client.exists(sessionKey(id))).toBe(0);
        expect((await browser.api(`${rotated.url}/rec/after-rotation`)).status).toBe(200);
      } finally {
        await rotated.close();
      }
    });

    it('signs out a session whose tokens no longer decrypt: session and cookie gone, no 500', async () => {
      const browser = await stack.signIn();
      const logoutUrl = ((await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string }).logoutUrl;
      await stored().patch(browser, { sealedTokens: RETIRED_KEY_TOKENS });
      const id = sessionIdOf(browser);
      const response = await browser.fetch(`${stack.bff.url}${logoutUrl}`);
      expect(response.status).toBe(302);
      expect(await redis.client.exists(sessionKey(id))).toBe(0);
      expect(browser.cookie(stack.bff.url, 'bff')).toBeUndefined();
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
    });

    it('ends a session whose tokens no longer decrypt on a proxied call too (401, not 500)', async () => {
      const browser = await stack.signIn();
      await stored().patch(browser, { sealedTokens: RETIRED_KEY_TOKENS });
      expect((await browser.api(`${stack.bff.url}/rec/x`)).status).toBe(401);
      expect(await redis.client.exists(sessionKey(sessionIdOf(browser)))).toBe(0);
    });

    it('removes ended sessions from the sid and sub indexes (sign-out and back-channel logout)', async () => {
      const storageIdOf = (browser: TestBrowser) => stack.bff.deps.sessions.storageIdOf(sessionIdOf(browser));
      const first = await stack.signIn();
      const second = await stack.signIn();
      const [firstHandle, secondHandle] = [storageIdOf(first), storageIdOf(second)];
      const firstRecord = await recordOf(first);
      const secondRecord = await recordOf(second);
      expect(await redis.client.smembers(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }))).toEqual(
        expect.arrayContaining([firstHandle, secondHandle]),
      );
      const logoutUrl = ((await (await first.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string }).logoutUrl;
      expect((await first.fetch(`${stack.bff.url}${logoutUrl}`)).status).toBe(302);
      expect(await redis.client.smembers(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }))).not.toContain(firstHandle);
      expect(await redis.client.smembers(sidIndexKey(firstRecord.opSid!))).not.toContain(firstHandle);

      const token = await logoutToken({ sid: secondRecord.opSid });
      expect((await postLogoutToken(stack.bff.url, token)).status).toBe(200);
      expect(await redis.client.smembers(userIndexKey({ iss: stack.idp.issuer, sub: ALICE.sub }))).not.toContain(secondHandle);
      expect(await redis.client.smembers(sidIndexKey(secondRecord.opSid!))).not.toContain(secondHandle);
    });
  });

  describe('8. metric labels', () => {
    it('does not create a metric series per callback error value', async () => {
      const values = Array.from({ length: 25 }, (_, i) => `made_up_error_${i}`);
      for (const value of values) {
        const response = await fetch(`${stack.bff.url}/bff/callback?error=${value}`, { redirect: 'manual' });
        expect(response.headers.get('location')).toBe('/?login_error=other');
      }
      const metrics = await (await fetch(`${stack.bff.url}/metrics`)).text();
      expect(values.filter((value) => metrics.includes(value))).toEqual([]);
      expect(metrics).toMatch(/bff_sign_ins_total\{result="other"\} \d+/);
      expect((await fetch(`${stack.bff.url}/bff/callback?error=access_denied`, { redirect: 'manual' })).headers.get('location')).toBe(
        '/?login_error=access_denied',
      );
    });
  });

  describe('9. path escapes', () => {
    it.each(['/rec/..;/admin', '/rec/%252e%252e/admin', '/rec/%c0%ae%c0%ae/admin', '/rec/a/..;x=1/b'])(
      'refuses %s with 400 before the upstream',
      async (path) => {
        const browser = await stack.signIn();
        const before = stack.upstream.requests.length;
        const response = await rawRequest(stack.bff.url, path, { cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' });
        expect(response.status).toBe(400);
        expect(stack.upstream.requests.length).toBe(before);
      },
    );
  });

  describe('12. refresh lock', () => {
    it('holds the lock while a token endpoint slower than its lifetime answers: the rotated refresh token is used once and the session lives', async () => {
      const browser = await stack.signIn();
      const id = sessionIdOf(browser);
      await stored().makeDue(browser);
      shareCookies(browser, stack.bffs[1]!.url);
      const refreshes = () => stack.idp.stats.tokenGrants.refresh_token ?? 0;
      const refreshesBefore = refreshes();
      slowTokenEndpointMs = 1200; // four lock lifetimes (300 ms)
      try {
        const calls = [stack.bffs[0]!, stack.bffs[1]!, stack.bffs[0]!, stack.bffs[1]!].map((bff, i) =>
          new Promise((resolve) => setTimeout(resolve, i * 150)).then(() => browser.api(`${bff.url}/rec/slow-refresh-${i}`)),
        );
        const statuses = (await Promise.all(calls)).map((response) => response.status);
        expect(statuses).toEqual([200, 200, 200, 200]);
      } finally {
        slowTokenEndpointMs = 0;
      }
      expect(refreshes() - refreshesBefore).toBe(1);
      expect(await redis.client.exists(lockKey(id))).toBe(0);
      expect((await browser.api(`${stack.bffs[1]!.url}/rec/after`)).status).toBe(200);
    }, 20_000);
  });

  describe('13. back-channel logout', () => {
    it('requires exp and refuses a typ other than logout+jwt or JWT', async () => {
      const browser = await stack.signIn();
      const { opSid } = await recordOf(browser);
      expect((await postLogoutToken(stack.bff.url, await logoutToken({ sid: opSid }, { exp: false }))).status).toBe(400);
      expect((await postLogoutToken(stack.bff.url, await logoutToken({ sid: opSid }, { typ: 'at+jwt' }))).status).toBe(400);
      expect((await postLogoutToken(stack.bff.url, await logoutToken({ sid: opSid }, { typ: 'JWT' }))).status).toBe(200);
      expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
      const another = await stack.signIn();
      const { opSid: anotherSid } = await recordOf(another);
      expect((await postLogoutToken(stack.bff.url, await logoutToken({ sid: anotherSid }, { typ: 'logout+jwt' }))).status).toBe(200);
    });

    it('answers 503, not 500, when no cached key matches and the JWKS cannot be fetched', async () => {
      const own = await startStack({ redisUrl: redis.url });
      try {
        const { privateKey } = await generateKeyPair('RS256', { extractable: true });
        const stranger = { ...(await exportJWK(privateKey)), kid: 'unknown-key', alg: 'RS256' };
        await own.idp.close(); // the provider is gone: its JWKS cannot be fetched
        const token = await logoutToken({ sid: 'x' }, { key: stranger, issuer: own.idp.issuer });
        const response = await postLogoutToken(own.bff.url, token);
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ error: 'unavailable' });
      } finally {
        await own.close().catch(() => undefined);
      }
    });

    it('records the jti only once the sessions are gone: a retry after a failed delete still works', async () => {
      // A store that fails the first session delete, on the real Redis.
      const real = new RedisStore(connectRedis(redis.url));
      let failNextDelete = true;
      const del = async (names: string[]) => {
        if (failNextDelete && names.some((name) => name.endsWith(':session'))) {
          failNextDelete = false;
          throw new Error('simulated store failure');
        }
        return real.del(names);
      };
      const flaky = new Proxy(real, {
        get: (target, property) => {
          if (property === 'del') return del;
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const port = await freePort();
      const bff = await startBff({ ...stack.env }, port, undefined, { kv: flaky });
      try {
        const browser = await stack.signIn(ALICE, stack.bff);
        const { opSid } = await recordOf(browser);
        const token = await logoutToken({ sid: opSid });
        expect((await postLogoutToken(bff.url, token)).status).toBeGreaterThanOrEqual(500);
        expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
        expect((await postLogoutToken(bff.url, token)).status).toBe(200);
        expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
        expect((await postLogoutToken(bff.url, token)).status).toBe(400); // now it is a replay
      } finally {
        await bff.close();
      }
    });
  });

  /** A logout token signed like the dev provider's (or with `key`), valid unless told otherwise. */
  async function logoutToken(
    claims: { sid?: string; sub?: string },
    options: { exp?: boolean; typ?: string; key?: Record<string, unknown>; issuer?: string } = {},
  ) {
    const jwk = (options.key ?? stack.idp.privateJwk) as Parameters<typeof importJWK>[0];
    const jwt = new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid as string, ...(options.typ ? { typ: options.typ } : {}) })
      .setIssuer(options.issuer ?? stack.idp.issuer)
      .setAudience(CLIENT_ID)
      .setIssuedAt();
    if (options.exp !== false) jwt.setExpirationTime('2m');
    return jwt.sign(await importJWK(jwk, 'RS256'));
  }
});

function postLogoutToken(url: string, token: string) {
  return fetch(`${url}/bff/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }),
  });
}
