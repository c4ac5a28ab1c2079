import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { TestBrowser } from './support/browser.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { BOB, startStack, type Stack } from './support/stack.js';
import { logoutTokenFor } from './support/logout-token.js';
import { storedSessions } from './support/stored-sessions.js';
import { startWebSocketUpstream } from './support/ws-upstream.js';

/** API_TIMEOUT_MS of the stream route: the test streams stay quiet longer than this. */
const STREAM_TIMEOUT_MS = 400;

describe('real time through the BFF: WebSockets and event streams (two instances)', () => {
  let redis: RunningRedis;
  let upstream: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    upstream = await startWebSocketUpstream();
    stack = await startStack({
      redisUrl: redis.url,
      instances: 2,
      routes: ({ upstream: recording }) =>
        [
          `/ws=${upstream.url}/v1#websocket=true`,
          `/wspublic=${upstream.url}#websocket=true&token=none`,
          `/stream=${recording}/s#timeout=${STREAM_TIMEOUT_MS}`,
        ].join(','),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    await redis?.stop();
  });

  const wsUrl = (instance: number, path: string) => `${stack.bffs[instance]!.url.replace('http:', 'ws:')}${path}`;
  const originOf = (instance: number) => stack.bffs[instance]!.url;

  /** Opens a WebSocket like a browser on `instance` would (its Origin and the session cookie). */
  function open(
    path: string,
    options: { browser?: TestBrowser; instance?: number; headers?: Record<string, string>; protocols?: string[] } = {},
  ) {
    const instance = options.instance ?? 0;
    const cookie = options.browser?.cookieHeader(stack.bff.url);
    return new WebSocket(wsUrl(instance, path), options.protocols ?? [], {
      headers: { origin: originOf(instance), ...(cookie ? { cookie } : {}), ...options.headers },
      maxPayload: 4 * 1024 * 1024,
    });
  }
  /** Resolves when the socket opened, or with the HTTP status that refused the handshake. */
  const handshake = (ws: WebSocket) =>
    new Promise<{ opened: true } | { status: number; body: string }>((resolve, reject) => {
      ws.once('open', () => resolve({ opened: true }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      ws.once('error', reject);
    });
  const nextMessage = (ws: WebSocket) =>
    new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
      ws.once('message', (data: Buffer, isBinary) => resolve({ data, isBinary })),
    );
  const closed = (ws: WebSocket) =>
    new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  /** As `closed`, but a socket still open after `ms` resolves with code -1 and its state (a failure that says which). */
  const closedWithin = (ws: WebSocket, ms: number) =>
    Promise.race([
      closed(ws),
      new Promise<{ code: number; reason: string }>((resolve) =>
        setTimeout(() => resolve({ code: -1, reason: `still ${['connecting', 'open', 'closing', 'closed'][ws.readyState]}` }), ms).unref(),
      ),
    ]);

  it('opens on a websocket=true route with the right Origin, forwarding the token and never the cookie', async () => {
    const browser = await stack.signIn();
    const before = upstream.handshakes.length;
    const ws = open('/ws/chat?room=1', { browser, protocols: ['chat.v2', 'chat.v1'] });
    expect(await handshake(ws)).toEqual({ opened: true });
    expect(ws.protocol).toBe('chat.v2'); // the upstream's choice reaches the browser
    const seen = upstream.handshakes[before]!;
    expect(seen.url).toBe('/v1/chat?room=1'); // prefix stripped, base path added, query kept
    expect(seen.headers.authorization).toMatch(/^Bearer ey/);
    const { accessToken } = stack.bff.deps.sessionTokens.open((await storedSessions(redis, stack.bff.url).record(browser))!);
    expect(seen.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-csrf']).toBeUndefined();
    expect(seen.headers['x-forwarded-host']).toBe(new URL(stack.bff.url).host);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['sec-websocket-protocol']?.split(/, */)).toEqual(['chat.v2', 'chat.v1']);
    ws.close();
  });

  it.each([
    ['a wrong Origin', { origin: 'http://evil.example' }, 403],
    ['no Origin', { origin: '' }, 403],
    ['cross-site fetch metadata', { 'sec-fetch-site': 'cross-site' }, 403],
    ['same-site (not same-origin) fetch metadata', { 'sec-fetch-site': 'same-site' }, 403],
  ])('refuses %s (%j) before anything is forwarded', async (_name, headers, status) => {
    const browser = await stack.signIn();
    const before = upstream.handshakes.length;
    const ws = open('/ws/chat', { browser, headers });
    const result = await handshake(ws);
    expect(result).toMatchObject({ status });
    expect(JSON.parse((result as { body: string }).body)).toMatchObject({ error: 'csrf' });
    expect(upstream.handshakes.length).toBe(before);
  });

  it('refuses a handshake without a session (401), but lets token=none routes open signed out', async () => {
    const before = upstream.handshakes.length;
    const refused = await handshake(open('/ws/chat'));
    expect(refused).toMatchObject({ status: 401 });
    expect(upstream.handshakes.length).toBe(before);
    const open_ = open('/wspublic/feed');
    expect(await handshake(open_)).toEqual({ opened: true });
    expect(upstream.handshakes.at(-1)!.headers.authorization).toBeUndefined();
    open_.close();
  });

  it.each(['/rec/chat', '/bff/user', '/', '/index.html', '/nowhere'])(
    'answers an upgrade on %s (no websocket=true route) with 400 and forwards nothing',
    async (path) => {
      const browser = await stack.signIn();
      const before = upstream.handshakes.length;
      const recordedBefore = stack.upstream.requests.length;
      const result = await handshake(open(path, { browser }));
      expect(result).toMatchObject({ status: 400 });
      expect(upstream.handshakes.length).toBe(before);
      expect(stack.upstream.requests.length).toBe(recordedBefore);
    },
  );

  it('never lets a path name another host: //host/ in a WebSocket path is refused and nothing is contacted', async () => {
    const other = await startWebSocketUpstream();
    try {
      const browser = await stack.signIn();
      const target = new URL(other.url).host;
      for (const path of [`/wspublic//${target}/x`, `/ws//${target}/x`]) {
        expect(await handshake(open(path, { browser }))).toMatchObject({ status: 400 });
      }
      expect(other.handshakes).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('refuses a malformed handshake (no key, another version, bad subprotocols) before opening an upstream leg', async () => {
    const browser = await stack.signIn();
    const before = upstream.handshakes.length;
    const raw = async (headers: Record<string, string>) => {
      const { request } = await import('node:http');
      return new Promise<number>((resolve, reject) => {
        const req = request(`${stack.bff.url}/wspublic/echo`, {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            origin: stack.bff.url,
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            cookie: browser.cookieHeader(stack.bff.url)!,
            ...headers,
          },
        });
        req.on('response', (res) => resolve(res.statusCode!));
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    };
    expect(await raw({ 'sec-websocket-key': '' })).toBe(400);
    expect(await raw({ 'sec-websocket-key': 'short' })).toBe(400);
    expect(await raw({ 'sec-websocket-version': '8' })).toBe(400);
    expect(await raw({ 'sec-websocket-protocol': 'a, a' })).toBe(400);
    expect(await raw({ 'sec-websocket-protocol': 'a b' })).toBe(400);
    expect(upstream.handshakes.length).toBe(before);
    expect(await raw({})).toBe(101); // the same request, well formed
  });

  it('closes the upstream leg when the browser leaves during the upstream handshake', async () => {
    const browser = await stack.signIn();
    const openBefore = upstream.open;
    const ws = open('/wspublic/slow', { browser });
    ws.on('error', () => undefined);
    await sleep(100);
    ws.terminate(); // gone before the upstream answered (it takes 300 ms)
    await sleep(600);
    expect(upstream.open).toBe(openBefore);
  });

  it("relays an upstream's refusal as HTTP, its Set-Cookie dropped, and upgrades nothing", async () => {
    const browser = await stack.signIn();
    const ws = open('/ws/../v1/x', { browser });
    expect(await handshake(ws)).toMatchObject({ status: 400 }); // traversal is refused as for HTTP
    const refused = open('/wspublic/refuse', { browser });
    let setCookie: string[] | undefined;
    refused.once('unexpected-response', (_req, res) => (setCookie = res.headers['set-cookie']));
    const result = await handshake(refused);
    expect(result).toMatchObject({ status: 403 });
    expect(JSON.parse((result as { body: string }).body)).toEqual({ error: 'refused_by_upstream' });
    expect(setCookie).toBeUndefined();
  });

  it('carries text, binary and 1 MB messages both ways', async () => {
    const browser = await stack.signIn();
    const ws = open('/ws/echo', { browser });
    expect(await handshake(ws)).toEqual({ opened: true });
    ws.send('hello');
    expect(await nextMessage(ws)).toMatchObject({ isBinary: false });
    const binary = randomBytes(64);
    ws.send(binary);
    const echoedBinary = await nextMessage(ws);
    expect(echoedBinary.isBinary).toBe(true);
    expect(Buffer.compare(echoedBinary.data, binary)).toBe(0);
    const big = randomBytes(1024 * 1024);
    ws.send(big);
    const echoedBig = await nextMessage(ws);
    expect(echoedBig.data.length).toBe(big.length);
    expect(Buffer.compare(echoedBig.data, big)).toBe(0);
    const bigText = 'x'.repeat(1024 * 1024);
    ws.send(bigText);
    const echoedText = await nextMessage(ws);
    expect(echoedText.isBinary).toBe(false);
    expect(echoedText.data.toString()).toBe(bigText);
    ws.close();
  });

  it('passes a close on in both directions', async () => {
    const browser = await stack.signIn();
    const fromBrowser = open('/ws/echo', { browser });
    await handshake(fromBrowser);
    const closesBefore = upstream.closes.length;
    fromBrowser.close(4000, 'bye');
    await expect.poll(() => upstream.closes.length).toBe(closesBefore + 1);
    expect(upstream.closes.at(-1)).toEqual({ code: 4000, reason: 'bye' });

    const fromUpstream = open('/ws/echo', { browser });
    await handshake(fromUpstream);
    const done = closed(fromUpstream);
    fromUpstream.send('close:4003');
    expect(await done).toEqual({ code: 4003, reason: 'upstream closes' });
  });

  it('a sign-out on instance B closes a socket held through instance A within 5 s (4401), upstream leg too', async () => {
    const browser = await stack.signIn();
    const ws = open('/ws/echo', { browser, instance: 0 });
    expect(await handshake(ws)).toEqual({ opened: true });
    const openUpstream = upstream.open;
    const done = closed(ws);
    const started = performance.now();
    const { logoutUrl } = (await (
      await fetch(`${stack.bffs[1]!.url}/bff/user`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } })
    ).json()) as { logoutUrl: string };
    const out = await fetch(`${stack.bffs[1]!.url}${logoutUrl}`, {
      headers: { cookie: browser.cookieHeader(stack.bff.url)! },
      redirect: 'manual',
    });
    expect(out.status).toBe(302);
    expect(await done).toEqual({ code: 4401, reason: 'session ended' });
    expect(performance.now() - started).toBeLessThan(5000);
    await expect.poll(() => upstream.open).toBe(openUpstream - 1);
  });

  it('a back-channel logout closes the session s sockets on every instance within 5 s', async () => {
    const browser = await stack.signIn(BOB);
    const sockets = [open('/ws/echo', { browser, instance: 0 }), open('/ws/echo', { browser, instance: 1 })];
    // Both handshakes are listened to at once: the second socket's 'open' may come while the first
    // is still awaited, and a listener attached after it would wait for ever (this test's old hang).
    // A refusal must fail here, not hang below; so must a handshake nobody answers.
    const opened = sockets.map((ws, i) =>
      Promise.race([handshake(ws), sleep(10_000).then(() => `no answer: socket ${i} readyState ${ws.readyState}`)]),
    );
    expect(await Promise.all(opened)).toEqual([{ opened: true }, { opened: true }]);
    const done = sockets.map((ws) => closedWithin(ws, 10_000));
    const { opSid } = (await storedSessions(redis, stack.bff.url).record(browser))!;
    const token = await logoutTokenFor(stack, opSid!);
    const started = performance.now();
    const answer = await fetch(`${stack.bffs[1]!.url}/bff/backchannel-logout`, {
      method: 'POST',
      body: new URLSearchParams({ logout_token: token }),
      signal: AbortSignal.timeout(10_000), // a hang here must say so (it once timed the whole test out)
    });
    expect(answer.status).toBe(200);
    expect((await Promise.all(done)).map((result) => result.code)).toEqual([4401, 4401]); // instance 0, instance 1
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('an idle timeout nobody acted on still closes the socket within 5 s', async () => {
    const browser = await stack.signIn();
    const ws = open('/ws/echo', { browser });
    expect(await handshake(ws)).toEqual({ opened: true });
    const done = closed(ws);
    // The session expires in Redis by itself (as an idle timeout does): no code runs, no message.
    await redis.client.pexpire(storedSessions(redis, stack.bff.url).keyOf(browser), 10);
    const started = performance.now();
    expect((await done).code).toBe(4401);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('shows open connections in a gauge and closed ones by reason', async () => {
    const browser = await stack.signIn();
    const ws = open('/ws/echo', { browser });
    expect(await handshake(ws)).toEqual({ opened: true });
    const metrics = async () => (await fetch(`${stack.bff.url}/metrics`)).text();
    expect(await metrics()).toMatch(/^bff_live_connections\{kind="websocket"\} [1-9]/m);
    ws.close();
    await expect
      .poll(async () => /^bff_live_connections_closed_total\{kind="websocket",reason="browser"\} [1-9]/m.test(await metrics()))
      .toBe(true);
    expect(await metrics()).toMatch(/^bff_live_connections_closed_total\{kind="websocket",reason="session_ended"\} [1-9]/m);
  });

  /** Reads an event stream through the BFF with fetch, as the SPA does; resolves the events with their arrival times. */
  async function readEvents(response: Response, stopAfter = Number.POSITIVE_INFINITY) {
    const events: { data: string; at: number }[] = [];
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        if (data !== undefined) events.push({ data, at: performance.now() });
        buffer = buffer.slice(end + 2);
      }
      if (events.length >= stopAfter) {
        await reader.cancel();
        break;
      }
    }
    return events;
  }

  it('relays an event stream event by event, and it outlives the route timeout', async () => {
    const browser = await stack.signIn();
    const started = performance.now();
    const response = await fetch(`${stack.bff.url}/stream/events?count=4&gapMs=${STREAM_TIMEOUT_MS * 2}`, {
      headers: { 'x-csrf': '1', accept: 'text/event-stream', cookie: browser.cookieHeader(stack.bff.url)! },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response);
    const ended = performance.now();
    expect(events.map((event) => event.data)).toEqual(['event 0', 'event 1', 'event 2', 'event 3']);
    // The first event came long before the stream ended, and quiet gaps of twice the timeout passed.
    expect(events[0]!.at - started).toBeLessThan(ended - started - STREAM_TIMEOUT_MS * 4);
    expect(ended - started).toBeGreaterThan(STREAM_TIMEOUT_MS * 5);
  });

  it('ends an event stream when its session ends (sign-out on the other instance)', async () => {
    const browser = await stack.signIn();
    const cookie = browser.cookieHeader(stack.bff.url)!;
    const response = await fetch(`${stack.bffs[0]!.url}/stream/events?gapMs=200`, {
      headers: { 'x-csrf': '1', accept: 'text/event-stream', cookie },
    });
    expect(response.status).toBe(200);
    const reading = readEvents(response);
    await sleep(300);
    const openBefore = stack.upstream.openStreams;
    const { logoutUrl } = (await (await fetch(`${stack.bffs[1]!.url}/bff/user`, { headers: { 'x-csrf': '1', cookie } })).json()) as {
      logoutUrl: string;
    };
    const started = performance.now();
    await fetch(`${stack.bffs[1]!.url}${logoutUrl}`, { headers: { cookie }, redirect: 'manual' });
    const events = await reading;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(events.length).toBeGreaterThan(0);
    await expect.poll(() => stack.upstream.openStreams).toBeLessThan(openBefore); // the upstream leg is closed too
  });

  it('limits live connections per session (429), and ordinary calls keep working while streams are open', async () => {
    const browser = await stack.signIn();
    const headers = { 'x-csrf': '1', accept: 'text/event-stream', cookie: browser.cookieHeader(stack.bff.url)! };
    const streams = await Promise.all(Array.from({ length: 16 }, () => fetch(`${stack.bff.url}/stream/events?gapMs=200`, { headers })));
    expect(streams.map((response) => response.status)).toEqual(Array(16).fill(200));
    const refused = await fetch(`${stack.bff.url}/stream/events?gapMs=200`, { headers });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests' });
    const ordinary = await fetch(`${stack.bff.url}/stream/items`, {
      headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! },
    });
    expect(ordinary.status).toBe(200);
    for (const response of streams) await response.body!.cancel();
  });

  it('gives an answer that is not a stream the body timeout back, even when a stream was asked for', async () => {
    const browser = await stack.signIn();
    // /big with a reader that never reads would stall on backpressure; /slow stalls before headers.
    // Here: headers come at once, then nothing: the idle timer cuts the body.
    const response = await fetch(`${stack.bff.url}/stream/stall?ms=${STREAM_TIMEOUT_MS * 4}`, {
      headers: { 'x-csrf': '1', accept: 'text/event-stream', cookie: browser.cookieHeader(stack.bff.url)! },
    });
    expect(response.status).toBe(200);
    const started = performance.now();
    await expect(response.text()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(STREAM_TIMEOUT_MS * 3);
  });

  it('still bounds the wait for the stream headers by the route timeout (504)', async () => {
    const browser = await stack.signIn();
    const response = await fetch(`${stack.bff.url}/stream/slow?ms=${STREAM_TIMEOUT_MS * 3}`, {
      headers: { 'x-csrf': '1', accept: 'text/event-stream', cookie: browser.cookieHeader(stack.bff.url)! },
    });
    expect(response.status).toBe(504);
  });
});

describe('graceful shutdown with live connections', () => {
  it('closes WebSockets with 1001 going away once the drain is done', async () => {
    const upstream = await startWebSocketUpstream();
    const stack = await startStack({ routes: () => `/ws=${upstream.url}#websocket=true&token=none` });
    try {
      const ws = new WebSocket(`${stack.bff.url.replace('http:', 'ws:')}/ws/echo`, { headers: { origin: stack.bff.url } });
      await new Promise((resolve) => ws.once('open', resolve));
      const done = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      stack.bff.server.close();
      await stack.bff.app.drain(1000);
      expect(await done).toBe(1001);
      // Upgrades after shutdown began are refused, not left hanging.
      const late = new WebSocket(`${stack.bff.url.replace('http:', 'ws:')}/ws/echo`, { headers: { origin: stack.bff.url } });
      const status = await new Promise<number>((resolve) => {
        late.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
        late.once('error', () => resolve(0));
      });
      expect([503, 0]).toContain(status);
    } finally {
      await stack.close();
      await upstream.close();
    }
  });
});
