import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBrowser } from './support/browser.js';
import { startRedis, startRedisCluster, startRedisSentinel, type RunningRedis } from './support/redis.js';
import { ALICE, BOB, startStack, type Stack } from './support/stack.js';
import { createLogger } from '../bff/src/logger.js';
import { RedisStore, connectRedis } from '../bff/src/session/redis-store.js';
import { SessionCache } from '../bff/src/session/session-cache.js';
import { SessionSync } from '../bff/src/session/session-sync.js';
import { logCapture } from './support/bff.js';
import { logoutTokenFor } from './support/logout-token.js';
import { storedSessions } from './support/stored-sessions.js';

/**
 * The in-process session cache (docs/session-cache.md): proxied calls
 * need no Redis round trip, and a change made on one instance is seen on every other within
 * 100 ms of the answer to the request that made it.
 */

/** Waits until every instance's cache hears changes through Redis (its own heartbeat came back). */
async function cachesLive(stack: Stack): Promise<void> {
  for (const bff of stack.bffs) {
    const deadline = Date.now() + 10_000;
    while (!/^bff_session_cache_live 1$/m.test(await (await fetch(`${bff.url}/metrics`)).text())) {
      if (Date.now() > deadline) throw new Error(`the session cache of ${bff.url} did not go live`);
      await sleep(50);
    }
  }
}

/** The ms until `probe` answers `status`, polling every 5 ms, or Infinity after `limitMs`. */
async function msUntil(probe: () => Promise<number>, status: number, limitMs = 1000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if ((await probe()) === status) return performance.now() - started;
    await sleep(5);
  }
  return Number.POSITIVE_INFINITY;
}

function crossInstanceChecks(
  name: string,
  start: () => Promise<{ stack: Stack; recordOf: (browser: TestBrowser) => Promise<{ opSid?: string } | null> }>,
) {
  describe(name, () => {
    let stack: Stack;
    let recordOf: (browser: TestBrowser) => Promise<{ opSid?: string } | null>;

    beforeAll(async () => {
      ({ stack, recordOf } = await start()); // the caller closes the stack
      await cachesLive(stack);
    });

    const call = (browser: TestBrowser, instance: number, path = '/rec/items') =>
      fetch(`${stack.bffs[instance]!.url}${path}`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });
    /** Signs in on A and makes both instances cache the session. */
    const cachedOnBoth = async (user = ALICE) => {
      const browser = await stack.signIn(user);
      for (const instance of [0, 1, 0, 1]) expect((await call(browser, instance)).status).toBe(200);
      return browser;
    };

    it('a sign-out on A is seen on B within 100 ms', async () => {
      const browser = await cachedOnBoth();
      const cookie = browser.cookieHeader(stack.bff.url)!; // kept: the browser drops it at sign-out
      const { logoutUrl } = (await (await browser.api(`${stack.bff.url}/bff/user`)).json()) as { logoutUrl: string };
      const out = await browser.fetch(`${stack.bff.url}${logoutUrl}`);
      expect(out.status).toBe(302);
      const gone = await msUntil(
        async () => (await fetch(`${stack.bffs[1]!.url}/rec/items`, { headers: { 'x-csrf': '1', cookie } })).status,
        401,
      );
      expect(gone).toBeLessThan(100);
    });

    it('a back-channel logout received by A is seen on B within 100 ms', async () => {
      const browser = await cachedOnBoth(BOB);
      const { opSid } = (await recordOf(browser))!;
      const answer = await fetch(`${stack.bffs[0]!.url}/bff/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: await logoutTokenFor(stack, opSid!) }),
      });
      expect(answer.status).toBe(200);
      expect(await msUntil(async () => (await call(browser, 1)).status, 401)).toBeLessThan(100);
    });

    it('a refresh on A is seen on B within 100 ms: B sends the new token at once', async () => {
      const browser = await cachedOnBoth();
      // The sign-in token as if obtained a minute ago: a refusal within 10 s of a grant gets no new grant.
      const id = browser.cookie(stack.bff.url, 'bff')!;
      const record = (await stack.bff.deps.sessions.load(id))!;
      const now = Math.floor(Date.now() / 1000);
      expect(await stack.bff.deps.sessions.update(id, { ...record, accessExpiresAt: now + 60, accessLifetime: 120 })).toBe(true);
      expect((await call(browser, 1)).status).toBe(200); // B caches the aged record again
      const before = stack.upstream.requests.at(-1)!.headers.authorization!;
      // The upstream refuses the token: A refreshes (forced) and retries; nothing else announces it.
      stack.upstream.rejectTokens.add(before.slice('Bearer '.length));
      expect((await call(browser, 0)).status).toBe(200);
      const refreshed = stack.upstream.requests.at(-1)!.headers.authorization;
      expect(refreshed).not.toBe(before);
      const seen = await msUntil(async () => {
        const count = stack.upstream.requests.length;
        await call(browser, 1);
        // B's first request already carries the new token (no refusal and retry of its own).
        return stack.upstream.requests.length === count + 1 && stack.upstream.requests.at(-1)!.headers.authorization === refreshed ? 1 : 0;
      }, 1);
      expect(seen).toBeLessThan(100);
    });
  });
}

describe('the session cache on standalone Redis', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({ redisUrl: redis.url, instances: 2 });
    await cachesLive(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const call = (browser: TestBrowser, instance = 0) =>
    fetch(`${stack.bffs[instance]!.url}/rec/items`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });
  const commandStats = async () => {
    const stats: Record<string, number> = {};
    for (const [, name, calls] of (await redis.client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g))
      stats[name!] = Number(calls);
    return stats;
  };

  it('300 proxied calls cost (almost) no Redis commands', async () => {
    const browser = await stack.signIn();
    expect((await call(browser)).status).toBe(200); // the first call reads (and caches) the session
    const before = await commandStats();
    const started = performance.now();
    for (let i = 0; i < 300; i += 10) {
      const statuses = await Promise.all(Array.from({ length: 10 }, () => call(browser).then((r) => r.status)));
      expect(statuses).toEqual(Array(10).fill(200));
    }
    const after = await commandStats();
    const seconds = (performance.now() - started) / 1000;
    const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    // No session read at all; what remains is the instances' heartbeats (PUBLISH, twice a second).
    expect(delta('getex') + delta('get')).toBe(0);
    const other = Object.keys(after)
      .filter((name) => !['publish', 'info'].includes(name))
      .reduce((sum, name) => sum + delta(name), 0);
    expect(other).toBe(0);
    // Heartbeats follow the clock, not the calls: at most two instances x two a second (plus one
    // each in flight at either end), however slowly a loaded machine made the 300 calls.
    expect(delta('publish')).toBeLessThanOrEqual(2 * (Math.ceil(seconds * 2) + 2));
  });

  crossInstanceChecks('changes on one instance, seen on the other (standalone)', async () => {
    const sessions = storedSessions(redis, stack.bff.url);
    return { stack, recordOf: sessions.record };
  });
});

describe('the session cache keeps the timeouts', () => {
  let redis: RunningRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    // Idle 3 s: an entry is served for 300 ms after the read that slid it.
    stack = await startStack({ redisUrl: redis.url, instances: 2, env: { SESSION_IDLE_TIMEOUT: '3', SESSION_ABSOLUTE_TIMEOUT: '60' } });
    await cachesLive(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  const call = (browser: TestBrowser, instance: number) =>
    fetch(`${stack.bffs[instance]!.url}/rec/items`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } });

  it('B re-reads Redis once its cached idle deadline is near: activity on A alone keeps the session alive for B', async () => {
    const browser = await stack.signIn();
    expect((await call(browser, 1)).status).toBe(200); // B caches it
    for (let i = 0; i < 10; i++) {
      await sleep(500);
      expect((await call(browser, 0)).status).toBe(200); // only A is used for 5 s (> idle)
    }
    expect((await call(browser, 1)).status).toBe(200);
  });

  it('an idle session ends on both instances, whatever they cached', async () => {
    const browser = await stack.signIn();
    for (const instance of [0, 1]) expect((await call(browser, instance)).status).toBe(200);
    await sleep(3500);
    for (const instance of [0, 1]) expect((await call(browser, instance)).status).toBe(401);
  });

  it('the absolute end is checked on every call, cached or not', async () => {
    const browser = await stack.signIn();
    expect((await call(browser, 0)).status).toBe(200);
    const sessions = storedSessions(redis, stack.bff.url);
    // Written behind the cache's back (no announcement): only the per-call check can catch it.
    const record = (await sessions.record(browser))!;
    const redisKey = sessions.keyOf(browser);
    await redis.client.set(redisKey, JSON.stringify({ ...record, expiresAt: Math.floor(Date.now() / 1000) + 1 }), 'KEEPTTL');
    await sessions.announce(browser);
    expect((await call(browser, 0)).status).toBe(200); // re-read: ends in a second
    await sleep(1100);
    expect((await call(browser, 0)).status).toBe(401);
  });
});

describe('the session cache when Redis goes away', () => {
  it('answers 503 within 3 s of Redis dying with sessions cached; Redis back empty: the old cookie gets 401', async () => {
    const redis = await startRedis();
    const stack = await startStack({ redisUrl: redis.url });
    try {
      await cachesLive(stack);
      const browser = await stack.signIn();
      const call = () =>
        fetch(`${stack.bff.url}/rec/items`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } }).then(
          (r) => r.status,
        );
      expect(await call()).toBe(200);
      expect(await call()).toBe(200); // served from the cache
      await redis.kill();
      expect(await msUntil(call, 503, 3000)).toBeLessThan(3000);
      await redis.restart(); // no persistence: it comes back empty
      await cachesLive(stack);
      expect(await msUntil(call, 401, 5000)).toBeLessThan(5000);
    } finally {
      await stack.close();
      await redis.stop();
    }
  });

  it('evicts when full and keeps answering from Redis', async () => {
    const redis = await startRedis();
    const stack = await startStack({ redisUrl: redis.url, deps: { sessionCache: { entries: 2 } } });
    try {
      await cachesLive(stack);
      const browsers = [await stack.signIn(ALICE), await stack.signIn(BOB), await stack.signIn(ALICE)];
      for (let round = 0; round < 2; round++) {
        for (const browser of browsers) {
          const response = await fetch(`${stack.bff.url}/rec/items`, {
            headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! },
          });
          expect(response.status).toBe(200);
        }
      }
      const metrics = await (await fetch(`${stack.bff.url}/metrics`)).text();
      expect(metrics).toMatch(/^bff_session_cache_entries 2$/m);
      // Three sessions in two places: every call of the second round missed (evicted just before).
      expect(Number(/^bff_session_cache_lookups_total\{result="miss"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(6);
    } finally {
      await stack.close();
      await redis.stop();
    }
  });

  it('with SESSION_CACHE_ENTRIES=0 every call reads Redis', async () => {
    const redis = await startRedis();
    const stack = await startStack({ redisUrl: redis.url, env: { SESSION_CACHE_ENTRIES: '0' } });
    try {
      const browser = await stack.signIn();
      const before = Number(/cmdstat_getex:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? 0);
      for (let i = 0; i < 5; i++)
        expect(
          (await fetch(`${stack.bff.url}/rec/items`, { headers: { 'x-csrf': '1', cookie: browser.cookieHeader(stack.bff.url)! } })).status,
        ).toBe(200);
      const after = Number(/cmdstat_getex:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? 0);
      expect(after - before).toBe(5);
    } finally {
      await stack.close();
      await redis.stop();
    }
  });
});

describe('the session cache on a Redis Cluster (three masters)', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let stack: Stack;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await stack?.close();
    await cluster?.stop();
  });

  crossInstanceChecks('changes on one instance, seen on the other (cluster)', async () => {
    stack = await startStack({ redisUrl: cluster.url, instances: 2 });
    const recordOf = async (browser: TestBrowser) => {
      const { sessionKey } = await import('./support/bff.js');
      const raw = await stack.bff.deps.kv.get(sessionKey(browser.cookie(stack.bff.url, 'bff')!));
      return raw ? (JSON.parse(raw) as { opSid?: string }) : null;
    };
    return { stack, recordOf };
  });
});

describe("the session cache on a Redis Cluster when the invalidation subscriber's connection is lost", () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let kv: RedisStore;
  let cache: SessionCache;
  let sync: SessionSync;
  const logs = logCapture();
  beforeAll(async () => {
    cluster = await startRedisCluster();
    kv = new RedisStore(connectRedis(cluster.url));
    await kv.ready();
    cache = new SessionCache({ entries: 10, bytes: 1_000_000 }, 60_000);
    sync = new SessionSync(kv, cache, createLogger({ level: 'info', destination: logs.destination }));
    await sync.start();
  });
  afterAll(async () => {
    await sync?.stop();
    await kv?.close();
    await cluster?.stop();
  });

  /** Polls `cache.live` every 2 ms until it is `wanted`; false if it never was within `ms`. */
  async function becomes(wanted: boolean, ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(2)) if (cache.live === wanted) return true;
    return false;
  }
  /** The node our subscription runs on: the one with a pub/sub client. */
  async function subscriberNode(): Promise<RunningRedis> {
    for (const node of cluster.nodes) if (((await node.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string).trim()) return node;
    throw new Error('no node has a pub/sub client');
  }

  it('a reconnect of the subscriber (its connection killed, the node still up) turns the cache off until it is subscribed again', async () => {
    expect(await becomes(true, 10_000)).toBe(true);
    const before = logs.lines.length;
    // Every node, so it does not matter which one the subscriber is on.
    await Promise.all(cluster.nodes.map((node) => node.client.client('KILL', 'TYPE', 'pubsub')));
    expect(await becomes(false, 2000)).toBe(true);
    expect(logs.lines.slice(before).join('')).toContain('"reason":"subscription lost"');
    expect(await becomes(true, 10_000)).toBe(true);
  });

  it("the subscriber's node killed: the cache goes off; restarted: back on", async () => {
    expect(await becomes(true, 10_000)).toBe(true);
    const node = await subscriberNode();
    await node.kill();
    expect(await becomes(false, 3000)).toBe(true);
    await node.restart();
    expect(await becomes(true, 20_000)).toBe(true);
  });
});

describe('the session cache behind Redis Sentinel', () => {
  let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>;
  let stack: Stack;
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterAll(async () => {
    await stack?.close();
    await sentinel?.stop();
  });

  crossInstanceChecks('changes on one instance, seen on the other (sentinel)', async () => {
    stack = await startStack({ redisUrl: sentinel.url, instances: 2 });
    return { stack, recordOf: storedSessions(sentinel.master, stack.bff.url).record };
  });
});
