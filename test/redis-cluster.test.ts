import { SignJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../bff/src/session/kv.js';
import type { SessionRecord } from '../bff/src/session/records.js';
import { RedisStore, connectRedis } from '../bff/src/session/redis-store.js';
import { startRedis, startRedisCluster } from './support/redis.js';
import { ALICE, CLIENT_ID, startStack, type Stack } from './support/stack.js';
import { lockKey, sessionKey } from './support/bff.js';

describe('on a real Redis Cluster (three masters)', () => {
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  let stack: Stack;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    stack = await startStack({ redisUrl: cluster.url, instances: 2 });
    for (const bff of stack.bffs) {
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        ready = (await fetch(`${bff.url}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready).toBe(200);
    }
  });
  afterAll(async () => {
    await stack?.close();
    await cluster?.stop();
  });

  /** Reads a session through the BFF's own store (which routes keys to the right node). */
  const record = async (id: string) => {
    const raw = await stack.bff.deps.kv.get(sessionKey(id));
    return raw ? (JSON.parse(raw) as SessionRecord) : null;
  };

  it('signs in, proxies, refreshes once under concurrency on two instances, and logs out by back-channel', async () => {
    const browser = await stack.signIn();
    const id = browser.cookie(stack.bff.url, 'bff')!;
    const cookie = browser.cookieHeader(stack.bff.url)!;
    const call = (instance: number) => fetch(`${stack.bffs[instance]!.url}/rec/items`, { headers: { 'x-csrf': '1', cookie } });
    expect((await browser.api(`${stack.bff.url}/bff/user`)).status).toBe(200);
    expect((await call(1)).status).toBe(200);

    // Make the token due; then 10 concurrent calls on two instances share one refresh.
    const current = (await record(id))!;
    await stack.bff.deps.kv.replace(sessionKey(id), JSON.stringify({ ...current, accessExpiresAt: 0 }));
    const before = stack.idp.stats.tokenGrants.refresh_token ?? 0;
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2).then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
    expect((stack.idp.stats.tokenGrants.refresh_token ?? 0) - before).toBe(1);

    // The session and its lock share a hash slot; indexes live elsewhere.
    const nodeOf = async (key: string) => {
      const slot = (await cluster.nodes[0]!.client.cluster('KEYSLOT', key)) as number;
      return slot;
    };
    expect(await nodeOf(sessionKey(id))).toBe(await nodeOf(lockKey(id)));

    const key = await importJWK(stack.idp.privateJwk, 'RS256');
    const token = await new SignJWT({
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      jti: crypto.randomUUID(),
      sid: (await record(id))!.opSid,
    })
      .setProtectedHeader({ alg: 'RS256', kid: stack.idp.privateJwk.kid })
      .setIssuer(stack.idp.issuer)
      .setAudience(CLIENT_ID)
      .setSubject(ALICE.sub)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(key);
    const logout = await fetch(`${stack.bffs[1]!.url}/bff/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }),
    });
    expect(logout.status).toBe(200);
    expect(await record(id)).toBeNull();
    expect((await call(0)).status).toBe(401);
  });
});

describe('readiness on a Redis Cluster that cannot take keys', () => {
  it('is not ready while the Cluster refuses keyed commands, though its master answers PING', async () => {
    // One master holding slots 0-100 only: cluster_state is fail, so ioredis' Cluster never passes
    // its own check and refuses every keyed command, while the master it found answers PING between
    // the Cluster's reconnects (what a TLS cluster's first seconds look like, for ever).
    const node = await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes-partial.conf']);
    await node.client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '100');
    const store = new RedisStore(connectRedis(`redis+cluster://127.0.0.1:${node.port}`));
    try {
      let ready = 0;
      let refused = 0;
      for (const until = Date.now() + 3000; Date.now() < until;) {
        await store.ping().then(
          () => ready++,
          () => refused++,
        );
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The Cluster refuses keyed commands all along (a key of any slot).
      expect(await store.set('probe', '1', 1000).catch((error: unknown) => error)).toBeInstanceOf(StoreUnavailableError);
      expect(refused).toBeGreaterThan(0);
      expect(ready).toBe(0);
    } finally {
      store.redis.disconnect();
      await node.stop();
    }
  }, 20_000);
});
