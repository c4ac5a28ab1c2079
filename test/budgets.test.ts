import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startBff, type RunningBff } from './support/bff.js';
import type { TestBrowser } from './support/browser.js';
import { freePort, startRedis, type RunningRedis } from './support/redis.js';
import { logoutTokenFor } from './support/logout-token.js';
import { BOB, startStack, type Stack } from './support/stack.js';
import { storedSessions } from './support/stored-sessions.js';
import { startWebSocketUpstream } from './support/ws-upstream.js';

/**
 * Budgets (docs/budgets.md): one caller must never exhaust what other callers need. Each attack of the
 * issue is reproduced here against the real stack, and shown to stop at its budget while other
 * callers are served.
 */

const API_TIMEOUT_MS = 800;
// 3 s: under a loaded CI run, 140 refusals must all be answered before the admitted trickles time out (1.5 s was not always enough).
const BODY_TIMEOUT_MS = 3000;
const PER_SESSION = 32;

interface Upload {
  /** Settles with the answer's status, or the socket error's code. */
  outcome: Promise<number | string>;
  /** True once `outcome` settled. */
  readonly settled: boolean;
  stop(): void;
}

const settledCount = (uploads: Upload[]) => uploads.filter((upload) => upload.settled).length;

/**
 * A chunked upload that sends `first` bytes at once, then one byte every `gapMs` for ever (a
 * byte well within the stall timeout: only a deadline that no byte resets can end it).
 * `headers` may set another Content-Type than the default octet-stream.
 */
function trickle(url: string, path: string, headers: Record<string, string>, first = 1, gapMs = 200): Upload {
  const { hostname, port } = new URL(url);
  let timer: NodeJS.Timeout | undefined;
  const req = request({
    hostname,
    port,
    path,
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...headers, 'transfer-encoding': 'chunked' },
  });
  const outcome = new Promise<number | string>((resolve) => {
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
  req.write(Buffer.alloc(first, 0x61));
  const drip = () => {
    if (req.destroyed) return;
    req.write('a');
    timer = setTimeout(drip, gapMs);
  };
  timer = setTimeout(drip, gapMs);
  let settled = false;
  void outcome.then(() => (settled = true));
  return {
    outcome,
    get settled() {
      return settled;
    },
    stop() {
      clearTimeout(timer);
      req.destroy();
    },
  };
}

/** Calls `probe` every 200 ms while `during` runs; resolves with every probe's status and time. */
async function probeWhile(during: Promise<unknown>, probe: () => Promise<number>) {
  const results: { status: number; ms: number }[] = [];
  let done = false;
  void during.finally(() => (done = true));
  while (!done) {
    const started = performance.now();
    const status = await probe().catch(() => 0);
    results.push({ status, ms: performance.now() - started });
    await sleep(200);
  }
  return results;
}

/** How many connections the server holds right now (upgraded and handed-over sockets included). */
const connectionsOf = (bff: RunningBff) =>
  new Promise<number>((resolve, reject) => bff.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));

/** A BFF as `main.ts` runs it, in a process of its own (its memory and its exit are its own). */
async function startChildBff(env: Record<string, string | undefined>) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Node's flags as `npm run start:bff` sets them (the young generation's size is part of the RSS).
  const flags = startBffFlags();
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'bff/src/main.ts'], {
    env: {
      ...process.env,
      REDIS_URL: undefined,
      PORT: String(port),
      PUBLIC_URL: url,
      SESSION_KEYS: 'child-test-key-0123456789abcdef-012345',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await expect.poll(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status, { timeout: 15_000 }).toBe(200);
  return { port, url, child, exited };
}

/** The node flags of package.json's `start:bff` script (what production runs with). */
function startBffFlags(): string[] {
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['start:bff']!;
  return script.split(/\s+/).filter((word) => word.startsWith('--'));
}

describe('budgets: one caller never exhausts what other callers need', () => {
  let redis: RunningRedis;
  let wsUpstream: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let stack: Stack;
  let alice: TestBrowser;
  let bob: TestBrowser;

  beforeAll(async () => {
    redis = await startRedis();
    wsUpstream = await startWebSocketUpstream();
    stack = await startStack({
      redisUrl: redis.url,
      env: {
        API_TIMEOUT_MS: String(API_TIMEOUT_MS),
        API_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
        LOGIN_RATE_LIMIT: '1000',
        MAX_BODY_BYTES: String(4 * 1024 * 1024),
      },
      routes: ({ upstream }) =>
        [`/ws=${wsUpstream.url}#websocket=true`, `/wspublic=${wsUpstream.url}#websocket=true&token=none`, `/stream=${upstream}/s`].join(
          ',',
        ),
    });
    alice = await stack.signIn();
    bob = await stack.signIn(BOB);
  });
  afterAll(async () => {
    await stack?.close();
    await wsUpstream?.close();
    await redis?.stop();
  });

  const wsUrl = (path: string) => `${stack.bff.url.replace('http:', 'ws:')}${path}`;
  const openSocket = (path: string, browser?: TestBrowser, options: { maxPayload?: number } = {}) =>
    new WebSocket(wsUrl(path), {
      headers: { origin: stack.bff.url, ...(browser ? { cookie: browser.cookieHeader(stack.bff.url)! } : {}) },
      ...options,
    });
  const handshake = (ws: WebSocket) =>
    new Promise<number>((resolve) => {
      ws.once('open', () => resolve(101));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      ws.once('error', () => resolve(0));
    });
  const closedWith = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const headersOf = (browser: TestBrowser) => ({ cookie: browser.cookieHeader(stack.bff.url)!, 'x-csrf': '1' });

  describe('1. trickling uploads', () => {
    it('one session trickling 140 small uploads: others answer within a second, its own calls over the budget get 429, each trickle ends 408 at API_BODY_TIMEOUT_MS, and no trickle holds an upstream connection', async () => {
      const before = stack.upstream.requests.length;
      stack.upstream.resetPeak();
      const uploads = Array.from({ length: 140 }, (_, i) => trickle(stack.bff.url, `/rec/upload-${i}`, headersOf(alice)));
      // Every upload over the budget is refused at once; the 32 admitted ones trickle on.
      await expect.poll(() => settledCount(uploads), { timeout: 5000 }).toBe(140 - PER_SESSION);
      // The attacker's own ordinary call: its budget is spent.
      const own = await alice.api(`${stack.bff.url}/rec/own`);
      expect(own.status).toBe(429);
      expect(own.headers.get('retry-after')).toBe('1');
      expect(await own.json()).toMatchObject({ error: 'too_many_requests' });
      const started = performance.now();
      const all = Promise.all(uploads.map((upload) => upload.outcome));
      const probes = await probeWhile(
        all,
        async () => (await bob.api(`${stack.bff.url}/rec/probe`, { signal: AbortSignal.timeout(5000) })).status,
      );
      const outcomes = await all;
      expect(outcomes.filter((status) => status === 408)).toHaveLength(PER_SESSION);
      expect(outcomes.filter((status) => status === 429)).toHaveLength(140 - PER_SESSION);
      // Ended by the deadline, not by a stall (a byte came every 200 ms) and not much later.
      expect(performance.now() - started).toBeLessThan(BODY_TIMEOUT_MS + 2000);
      expect(probes.length).toBeGreaterThan(2);
      for (const probe of probes) {
        expect(probe.status).toBe(200);
        expect(probe.ms).toBeLessThan(1000);
      }
      // Small bodies are buffered before an upstream connection is taken: the trickles never got one.
      expect(stack.upstream.requests.slice(before).filter((r) => r.url.includes('/upload-'))).toEqual([]);
      expect(stack.upstream.peakInFlight).toBeLessThanOrEqual(1);
      expect((await alice.api(`${stack.bff.url}/rec/after`)).status).toBe(200); // every slot was released
    }, 20_000);

    it('uploads big enough to stream hold at most API_MAX_CALLS_PER_SESSION upstream connections (a quarter of the pool) and end at the deadline', async () => {
      stack.upstream.resetPeak();
      const uploads = Array.from({ length: 48 }, (_, i) => trickle(stack.bff.url, `/rec/big-${i}`, headersOf(alice), 80 * 1024));
      await expect.poll(() => stack.upstream.inFlight, { timeout: 5000 }).toBe(PER_SESSION);
      const probe = await bob.api(`${stack.bff.url}/rec/probe`);
      expect(probe.status).toBe(200);
      const outcomes = await Promise.all(uploads.map((upload) => upload.outcome));
      expect(outcomes.filter((status) => status === 429)).toHaveLength(48 - PER_SESSION);
      expect(outcomes.filter((status) => status === 408 || status === 'ECONNRESET' || status === 'EPIPE')).toHaveLength(PER_SESSION);
      expect(stack.upstream.peakInFlight).toBeLessThanOrEqual(PER_SESSION + 1);
      await expect.poll(() => stack.upstream.inFlight).toBe(0); // the upstream saw them aborted
    }, 20_000);

    it('callers without a session are budgeted by client address: one address trickling cannot starve another', async () => {
      const bff = await startBff({ ...stack.env, TRUST_PROXY: 'true' });
      try {
        const attacker = { 'x-csrf': '1', 'x-forwarded-for': '203.0.113.7' };
        const uploads = Array.from({ length: 60 }, (_, i) => trickle(bff.url, `/open/upload-${i}`, attacker));
        await sleep(300);
        const other = await fetch(`${bff.url}/open/hello`, { headers: { 'x-csrf': '1', 'x-forwarded-for': '198.51.100.9' } });
        expect(other.status).toBe(200);
        const outcomes = await Promise.all(uploads.map((upload) => upload.outcome));
        expect(outcomes.filter((status) => status === 408)).toHaveLength(PER_SESSION);
        expect(outcomes.filter((status) => status === 429)).toHaveLength(60 - PER_SESSION);
      } finally {
        await bff.close();
      }
    }, 20_000);

    it('made-up session cookies buy no extra calls: a cookie naming no session is counted by address', async () => {
      const bff = await startBff({ ...stack.env });
      try {
        // token=user-or-none: a cookie that names nothing is served as signed out, and paid for by the address.
        const uploads = Array.from({ length: 40 }, (_, i) =>
          trickle(bff.url, `/public/upload-${i}`, { 'x-csrf': '1', cookie: `bff=made-up-${i}-${'x'.repeat(40)}` }),
        );
        const outcomes = await Promise.all(uploads.map((upload) => upload.outcome));
        expect(outcomes.filter((status) => status === 429)).toHaveLength(40 - PER_SESSION);
      } finally {
        await bff.close();
      }
    }, 20_000);
  });

  describe('2. refused upgrades and handshakes that never complete', () => {
    /** An upgrade request on a raw socket; resolves with the socket once the answer's status line arrived. */
    function rawUpgrade(path: string): Promise<{ socket: Socket; status: number }> {
      const { port } = new URL(stack.bff.url);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        socket.once('connect', () =>
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
          ),
        );
        socket.once('data', (chunk: Buffer) => resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString())?.[1] ?? 0) }));
        socket.once('close', () => reject(new Error('closed before an answer')));
      });
    }

    it('destroys refused upgrade sockets a moment after the answer, whatever the client does (one more byte, half-close, nothing)', async () => {
      const baseline = await connectionsOf(stack.bff);
      const held: Socket[] = [];
      for (let i = 0; i < 200; i++) {
        const { socket, status } = await rawUpgrade(i % 2 ? `/static-${i}` : '/rec/not-a-websocket-route');
        expect(status).toBe(400);
        if (i % 3 === 0)
          socket.write('x'); // one more byte after the refusal, and never close
        else if (i % 3 === 1) socket.end(); // half-close
        held.push(socket); // and the rest: never send anything again
      }
      await sleep(1000);
      expect(await connectionsOf(stack.bff)).toBeLessThanOrEqual(baseline);
      expect(stack.bff.app.openUpgradeSockets()).toBe(0);
      for (const socket of held) socket.destroy();
    }, 20_000);

    it('also destroys sockets refused on a WebSocket route (401 without a session, 429 over the budget)', async () => {
      const baseline = await connectionsOf(stack.bff);
      const { socket, status } = await rawUpgrade('/ws/echo');
      expect(status).toBe(403); // no Origin: refused before anything else
      socket.write('more');
      await sleep(1000);
      expect(await connectionsOf(stack.bff)).toBeLessThanOrEqual(baseline);
      socket.destroy();
    });

    it('cuts a handshake whose upstream never answers after the route timeout (504), socket gone', async () => {
      const silent = createServer((socket) => socket.resume()); // reads, never says a word
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      const bff = await startBff({ ...stack.env, API_ROUTES: `/mute=http://127.0.0.1:${port}#websocket=true&token=none` });
      try {
        const started = performance.now();
        const ws = new WebSocket(`${bff.url.replace('http:', 'ws:')}/mute/x`, { headers: { origin: bff.url } });
        expect(await handshake(ws)).toBe(504);
        expect(performance.now() - started).toBeLessThan(API_TIMEOUT_MS + 1500);
        await sleep(700);
        expect(bff.app.openUpgradeSockets()).toBe(0);
      } finally {
        await bff.close();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });

  describe('3. live-connection caps are reserved at admission', () => {
    it('48 WebSocket handshakes in parallel on one session: exactly 16 upgrades and 32 answers 429', async () => {
      const sockets = Array.from({ length: 48 }, () => openSocket('/ws/echo', alice));
      const statuses = await Promise.all(sockets.map(handshake));
      expect(statuses.filter((status) => status === 101)).toHaveLength(16);
      expect(statuses.filter((status) => status === 429)).toHaveLength(32);
      // Another session is not affected.
      const other = openSocket('/ws/echo', bob);
      expect(await handshake(other)).toBe(101);
      for (const ws of [...sockets, other]) ws.terminate();
      // Slots come back when sockets close.
      await expect
        .poll(async () => {
          const again = openSocket('/ws/echo', alice);
          const status = await handshake(again);
          again.terminate();
          return status;
        })
        .toBe(101);
    });

    it('48 event streams in parallel on one session: exactly 16 streams and 32 answers 429', async () => {
      const session = await stack.signIn();
      const headers = { ...headersOf(session), accept: 'text/event-stream' };
      const responses = await Promise.all(Array.from({ length: 48 }, () => fetch(`${stack.bff.url}/stream/events?gapMs=200`, { headers })));
      expect(responses.filter((response) => response.status === 200)).toHaveLength(16);
      expect(responses.filter((response) => response.status === 429)).toHaveLength(32);
      for (const response of responses) await response.body?.cancel();
    });

    it('without a session: at most 32 live connections per client address', async () => {
      const sockets = Array.from({ length: 48 }, () => openSocket('/wspublic/echo'));
      const statuses = await Promise.all(sockets.map(handshake));
      expect(statuses.filter((status) => status === 101)).toHaveLength(32);
      expect(statuses.filter((status) => status === 429)).toHaveLength(16);
      for (const ws of sockets) ws.terminate();
    });
  });

  describe('4. WebSocket messages', () => {
    it('16 sockets of one session each sending a 9.5 MiB message that never ends are each closed 1009 at WS_MAX_MESSAGE_BYTES', async () => {
      const session = await stack.signIn();
      const sockets = Array.from({ length: 16 }, () => openSocket('/ws/echo', session));
      expect(await Promise.all(sockets.map(handshake))).toEqual(Array(16).fill(101));
      const codes = sockets.map(closedWith);
      const piece = Buffer.alloc(512 * 1024, 0x62);
      // 19 fragments of 512 KiB, never the final one (as the attacker did).
      const send = async (ws: WebSocket) => {
        for (let i = 0; i < 19 && ws.readyState === WebSocket.OPEN; i++)
          await new Promise((resolve) => ws.send(piece, { fin: false, binary: true }, resolve));
      };
      await Promise.all(sockets.map(send));
      expect(await Promise.all(codes)).toEqual(Array(16).fill(1009));
    }, 20_000);

    it('closes a socket whose message is still unfinished after API_BODY_TIMEOUT_MS (1008), pings answered or not', async () => {
      const ws = openSocket('/ws/echo', alice);
      expect(await handshake(ws)).toBe(101);
      const code = closedWith(ws);
      const started = performance.now();
      ws.send(Buffer.alloc(1024), { fin: false, binary: true });
      expect(await code).toBe(1008);
      expect(performance.now() - started).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
      expect(performance.now() - started).toBeLessThan(BODY_TIMEOUT_MS * 2 + 500);
    });

    it('messages below the limit still pass both ways, fragmented or not', async () => {
      const ws = openSocket('/ws/echo', alice, { maxPayload: 4 * 1024 * 1024 });
      expect(await handshake(ws)).toBe(101);
      const echoed = new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
      ws.send(Buffer.alloc(300 * 1024, 1), { fin: false, binary: true });
      ws.send(Buffer.alloc(300 * 1024, 2), { fin: true, binary: true });
      expect((await echoed).length).toBe(600 * 1024);
      ws.close();
    });
  });

  describe('5. back-channel logout bodies', () => {
    it('one caller holding 40 back-channel logout bodies open: another caller’s logout is heard at once, and each held body ends 408 at its deadline', async () => {
      const victim = await stack.signIn();
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      // `logout_token=` and then a byte every 200 ms for ever: only a deadline that no byte resets ends it.
      const held = Array.from({ length: 40 }, () => trickle(stack.bff.url, '/bff/backchannel-logout', form, 13));
      await sleep(300);
      expect(settledCount(held)).toBe(0);
      const started = performance.now();
      const { opSid } = (await storedSessions(redis, stack.bff.url).record(victim))!;
      const heard = await fetch(`${stack.bff.url}/bff/backchannel-logout`, {
        method: 'POST',
        headers: form,
        body: new URLSearchParams({ logout_token: await logoutTokenFor(stack, opSid!) }),
        signal: AbortSignal.timeout(5000),
      });
      expect(heard.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(BODY_TIMEOUT_MS);
      expect((await victim.api(`${stack.bff.url}/bff/user`)).status).toBe(401);
      // The body's deadline is API_BODY_TIMEOUT_MS here (below the 10 s cap): none outlives it by much.
      const outcomes = await Promise.race([Promise.all(held.map((upload) => upload.outcome)), sleep(BODY_TIMEOUT_MS + 3000)]);
      for (const upload of held) upload.stop();
      expect(outcomes).toEqual(Array.from({ length: 40 }, () => 408));
    }, 20_000);
  });

  describe('6. shutdown', () => {
    it('after SIGTERM the process exits by SHUTDOWN_TIMEOUT_MS (+2 s) while clients hold an upgraded socket that ignores the close, a refused upgrade, a trickling upload and an idle connection', async () => {
      const { port, url, child, exited } = await startChildBff({
        ...stack.env,
        SHUTDOWN_TIMEOUT_MS: '1500',
        API_ROUTES: `/wspublic=${wsUpstream.url}#websocket=true&token=none,/open=${stack.upstream.url}/public#anonymous`,
        API_BODY_TIMEOUT_MS: '60000',
        API_TIMEOUT_MS: '60000',
      });
      try {
        // An upgraded socket whose client never reads again (so never answers the close).
        const upgraded = connect(port, '127.0.0.1');
        upgraded.on('error', () => undefined);
        upgraded.write(
          `GET /wspublic/echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${url}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        );
        await new Promise((resolve) => upgraded.once('data', resolve));
        upgraded.pause();
        // A refused upgrade with a byte more, never closed.
        const refused = connect(port, '127.0.0.1');
        refused.on('error', () => undefined);
        refused.write('GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nx');
        // An idle keep-alive connection, and an upload that trickles for ever.
        const idle = connect(port, '127.0.0.1');
        idle.on('error', () => undefined);
        const upload = trickle(url, '/open/upload', { 'x-csrf': '1' }, 80 * 1024);
        await sleep(300);
        const signalled = performance.now();
        child.kill('SIGTERM');
        const code = await Promise.race([exited, sleep(1500 + 2500).then(() => 'still running' as const)]);
        expect(code).not.toBe('still running');
        expect(performance.now() - signalled).toBeLessThan(1500 + 2000);
        for (const socket of [upgraded, refused, idle]) socket.destroy();
        upload.stop();
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    }, 30_000);
  });
});
