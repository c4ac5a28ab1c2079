import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Note } from '../shared/src/index.js';
import { rawHttp, rawRequest } from './support/raw-http.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { BOB, startStack, type Stack } from './support/stack.js';

describe('API proxy', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    // `/rec/admin` nested in `/rec`, as an admin API under a general one would be.
    stack = await startStack({
      redisUrl: redis.url,
      env: { API_TIMEOUT_MS: '500' },
      routes: ({ upstream }) => `/rec/admin=${upstream}/admin-api`,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it("reaches the demo API with the user's token: notes per user", async () => {
    const alice = await stack.signIn();
    const bob = await stack.signIn(BOB);
    const created = await alice.api(`${stack.bff.url}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'buy milk' }),
    });
    expect(created.status).toBe(201);
    const note = (await created.json()) as Note;
    expect(note.text).toBe('buy milk');
    const aliceNotes = (await (await alice.api(`${stack.bff.url}/api/notes`)).json()) as Note[];
    expect(aliceNotes.map((n) => n.id)).toContain(note.id);
    const bobNotes = (await (await bob.api(`${stack.bff.url}/api/notes`)).json()) as Note[];
    expect(bobNotes.map((n) => n.id)).not.toContain(note.id);
    expect((await alice.api(`${stack.bff.url}/api/notes/${note.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(((await (await alice.api(`${stack.bff.url}/api/notes`)).json()) as Note[]).map((n) => n.id)).not.toContain(note.id);
  });

  it("sends the bearer token and X-Forwarded-*, never the browser's cookie, authorization or unlisted headers", async () => {
    const browser = await stack.signIn();
    const response = await browser.api(`${stack.bff.url}/rec/items?q=a%20b&x=1`, {
      headers: { authorization: 'Basic ZXZpbDpldmls', 'x-custom': 'kept', 'x-forwarded-for': '6.6.6.6' },
    });
    expect(response.status).toBe(200);
    const seen = stack.upstream.requests.at(-1)!;
    expect(seen.url).toBe('/v1/items?q=a%20b&x=1');
    expect(seen.headers.authorization).toMatch(/^Bearer eyJ/);
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-csrf']).toBeUndefined();
    expect(seen.headers['x-custom']).toBeUndefined(); // not on the allowlist
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(stack.bff.url).host);
    expect(seen.headers['x-request-id']).toBe(response.headers.get('x-request-id'));
  });

  it('drops headers the client named in Connection (hop-by-hop)', async () => {
    const browser = await stack.signIn();
    const response = await rawRequest(stack.bff.url, '/rec/hop', {
      cookie: browser.cookieHeader(stack.bff.url)!,
      'x-csrf': '1',
      connection: 'keep-alive, x-secret-hop',
      'x-secret-hop': 'drop me',
      'keep-alive': 'timeout=5',
    });
    expect(response.status).toBe(200);
    const seen = stack.upstream.requests.at(-1)!;
    expect(seen.url).toBe('/v1/hop');
    expect(seen.headers['x-secret-hop']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
  });

  it('reuses keep-alive connections to the upstream', async () => {
    const browser = await stack.signIn();
    const before = stack.upstream.requests.length;
    for (let i = 0; i < 5; i++) expect((await browser.api(`${stack.bff.url}/rec/keep-alive/${i}`)).status).toBe(200);
    const ports = new Set(stack.upstream.requests.slice(before).map((r) => r.remotePort));
    expect(ports.size).toBe(1);
  });

  it('streams a 5 MB body both ways intact', async () => {
    const browser = await stack.signIn();
    const body = randomBytes(5 * 1024 * 1024);
    const response = await browser.api(`${stack.bff.url}/rec/upload`, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as { bodyBytes: number; bodySha256: string };
    expect(echoed.bodyBytes).toBe(body.length);
    expect(echoed.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('needs a session and the CSRF header', async () => {
    const anonymous = await fetch(`${stack.bff.url}/rec/items`, { headers: { 'x-csrf': '1' } });
    expect(anonymous.status).toBe(401);
    const browser = await stack.signIn();
    const before = stack.upstream.requests.length;
    const noCsrf = await browser.fetch(`${stack.bff.url}/rec/items`, { method: 'POST', body: 'x' });
    expect(noCsrf.status).toBe(403);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('lets anonymous routes through without a token', async () => {
    const response = await fetch(`${stack.bff.url}/open/info`, { headers: { 'x-csrf': '1' } });
    expect(response.status).toBe(200);
    const seen = stack.upstream.requests.at(-1)!;
    expect(seen.url).toBe('/public/info');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('never lets traversal escape the route', async () => {
    const browser = await stack.signIn();
    const cookie = browser.cookieHeader(stack.bff.url)!;
    const before = stack.upstream.requests.length;
    for (const path of [
      '/rec/../admin',
      '/rec/%2e%2e/admin',
      '/rec/a/%2F..%2Fadmin',
      '/rec/a%5c..%5cadmin',
      '/rec/./x',
      '/rec/..%2fadmin',
    ]) {
      const response = await rawRequest(stack.bff.url, path, { cookie, 'x-csrf': '1' });
      expect(response.status, path).toBe(400);
    }
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('refuses a path that reaches the nested /rec/admin route through /rec once decoded, stripped of ; parameters or lower-cased (400, nothing forwarded)', async () => {
    const browser = await stack.signIn();
    const cookie = browser.cookieHeader(stack.bff.url)!;
    // The nested route is real: its own paths go to its own upstream base path.
    expect((await rawRequest(stack.bff.url, '/rec/admin/x', { cookie, 'x-csrf': '1' })).status).toBe(200);
    expect(stack.upstream.requests.at(-1)!.url).toBe('/admin-api/x');
    const before = stack.upstream.requests.length;
    for (const path of ['/rec/%61dmin/x', '/rec/admin;x/y', '/rec/Admin/x']) {
      const response = await rawRequest(stack.bff.url, path, { cookie, 'x-csrf': '1' });
      expect(response.status, path).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'bad_request' });
    }
    expect(stack.upstream.requests.length).toBe(before);
    // Upper case, escapes and parameters that select no other route still pass, and so does the query.
    expect((await rawRequest(stack.bff.url, '/rec/Notes/A%20B;v=1?q=%23x%0A', { cookie, 'x-csrf': '1' })).status).toBe(200);
    expect(stack.upstream.requests.at(-1)!.url).toBe('/v1/Notes/A%20B;v=1?q=%23x%0A');
  });

  it('refuses # and encoded control characters in a proxied path with 400 (Node hands a raw # to the app), and a # in a WebSocket handshake path with 400, not 500', async () => {
    const browser = await stack.signIn();
    const cookie = browser.cookieHeader(stack.bff.url)!;
    const before = stack.upstream.requests.length;
    const host = new URL(stack.bff.url).host;
    const statusOf = async (request: string) => (await rawHttp(stack.bff.url, request)).split('\r\n')[0];
    for (const target of ['/rec/x#y', '/rec/x?q=1#/../admin', '/rec/a%0ab', '/rec/a%00b', '/rec/a%7fb']) {
      expect(
        await statusOf(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n`),
        target,
      ).toBe('HTTP/1.1 400 Bad Request');
    }
    expect(stack.upstream.requests.length).toBe(before);
    const upgrade = (target: string) =>
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${stack.bff.url}\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    expect(await statusOf(upgrade('/api/x#y'))).toBe('HTTP/1.1 400 Bad Request');
    expect(await statusOf(upgrade('/api/a%0ab'))).toBe('HTTP/1.1 400 Bad Request');
  });

  it('survives clients that abort mid-request, in both directions', async () => {
    const browser = await stack.signIn();
    const logsBefore = stack.bff.logs.length;
    const waiting = new AbortController();
    const slow = browser.api(`${stack.bff.url}/rec/slow?ms=300`, { signal: waiting.signal });
    setTimeout(() => waiting.abort(), 50);
    await expect(slow).rejects.toThrow();
    const uploading = new AbortController();
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(64 * 1024));
        setTimeout(() => uploading.abort(), 50); // never finishes the body
      },
    });
    const upload = browser.api(`${stack.bff.url}/rec/upload`, {
      method: 'POST',
      body,
      signal: uploading.signal,
      duplex: 'half',
    } as RequestInit);
    await expect(upload).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 400));
    expect((await browser.api(`${stack.bff.url}/rec/after-abort`)).status).toBe(200);
    expect((await fetch(`${stack.bff.url}/healthz`)).status).toBe(200);
    // A browser that leaves is not a server failure: no error log, and the calls count as 499.
    const newLogs = stack.bff.logs.slice(logsBefore);
    expect(newLogs.filter((line) => line.includes('"level":50'))).toEqual([]);
    expect(newLogs.some((line) => line.includes('"status":499'))).toBe(true);
  });

  it('keeps upstream Set-Cookie away from the browser', async () => {
    const browser = await stack.signIn();
    const response = await browser.api(`${stack.bff.url}/rec/set-cookie`);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it('answers 504 when the upstream is slower than API_TIMEOUT_MS and 502 when it is down', async () => {
    const browser = await stack.signIn();
    const slow = await browser.api(`${stack.bff.url}/rec/slow?ms=2000`);
    expect(slow.status).toBe(504);
    expect(await slow.json()).toEqual({ error: 'gateway_timeout', message: expect.any(String) });

    const { startBff } = await import('./support/bff.js');
    const closedPort = (await import('./support/redis.js')).freePort;
    const down = await startBff({ ...stack.env, API_ROUTES: `/rec=http://127.0.0.1:${await closedPort()}` });
    try {
      const browser2 = await stack.signIn(undefined, stack.bff);
      // The session lives in the shared Redis, so the second app can use it.
      const response = await fetch(`${down.url}/rec/x`, { headers: { 'x-csrf': '1', cookie: browser2.cookieHeader(stack.bff.url)! } });
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: string }).error).toBe('bad_gateway');
    } finally {
      await down.close();
    }
  });
});
