import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readCookie } from './cookies.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningRedis } from '../../../test/support/redis.js';
import { createLogger } from '../logger.js';
import { LoginTransactions } from './login-transactions.js';
import { LogoutTokenLedger } from './logout-tokens.js';
import type { SessionRecord } from './records.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore, connectRedis } from './redis-store.js';
import { SessionCache } from './session-cache.js';
import { SessionSync } from './session-sync.js';
import { SessionStore } from './sessions.js';

/** The small stores of session/ against a real Redis: what their verbs promise callers. */
describe('session stores', () => {
  let redis: RunningRedis;
  let kv: RedisStore;
  let sync: SessionSync;

  beforeAll(async () => {
    redis = await startRedis();
    kv = new RedisStore(connectRedis(redis.url));
    await kv.ready();
    sync = new SessionSync(kv, new SessionCache({ entries: 0, bytes: 0 }, 1000), createLogger({ level: 'silent' }));
    await sync.start();
  });
  afterAll(async () => {
    await sync?.stop();
    await kv?.close();
    await redis?.stop();
  });

  const store = (refreshLockMs?: number) =>
    new SessionStore(kv, { idleSeconds: 60, absoluteSeconds: 600, refreshLockMs }, ['s'.repeat(32)], sync, 'https://issuer.example/');
  const record = (): SessionRecord => {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: 'alice',
      claims: {},
      logoutGuard: 'g',
      createdAt: now,
      expiresAt: now + 600,
      sealedTokens: 'sealed-1',
      accessExpiresAt: now + 60,
      accessLifetime: 60,
    };
  };

  it('keeps no Cookie header alive through its cache of storageIds (a cookie value is a slice of the header)', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sessions = store();
    const ids = Array.from({ length: 300 }, () => SessionStore.newId());
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const id of ids) sessions.storageIdOf(readCookie(`other=${'x'.repeat(100_000)}${id}; bff=${id}`, 'bff')!);
    gc();
    // 300 headers of 100 KB would be 30 MB; 300 entries of a few hundred bytes are well under 2.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5_000_000);
    expect(sessions.storageIdOf(ids[0]!)).toBe(sessions.storageIdOf(`${ids[0]}`));
  });

  it('hands a login transaction out once: a second take of the same state finds nothing', async () => {
    const logins = new LoginTransactions(kv);
    const transaction = { browser: 'b', nonce: 'n', codeVerifier: 'v', returnTo: '/' };
    await logins.save('state-1', transaction);
    expect(await logins.take('state-1')).toEqual(transaction);
    expect(await logins.take('state-1')).toBeUndefined();
    expect(await logins.take('never-saved')).toBeUndefined();
  });

  it('counts in a fixed window, in Redis and in memory alike: the window starts with the first count and its key goes with it', async () => {
    for (const counter of [kv, new MemoryStore()]) {
      const counts = [];
      for (let i = 0; i < 3; i++) counts.push(await counter.countInWindow('bff:count-test', 300));
      expect(counts).toEqual([1, 2, 3]);
      const expiresAtMs = (await counter.getWithExpiry('bff:count-test'))!.expiresAtMs!;
      expect(expiresAtMs - Date.now()).toBeGreaterThan(0);
      expect(expiresAtMs - Date.now()).toBeLessThanOrEqual(300);
      await sleep(350);
      expect(await counter.get('bff:count-test')).toBeNull();
      expect(await counter.countInWindow('bff:count-test', 300)).toBe(1);
    }
  });

  it('lets a logout token be claimed once per issuer, and again after its claim was released', async () => {
    const ledger = new LogoutTokenLedger(kv);
    const until = Date.now() / 1000 + 60;
    expect(await ledger.claim('https://a.example/', 'jti-1', until)).toBe(true);
    expect(await ledger.claim('https://a.example/', 'jti-1', until)).toBe(false);
    expect(await ledger.claim('https://b.example/', 'jti-1', until)).toBe(true);
    await ledger.release('https://a.example/', 'jti-1');
    expect(await ledger.claim('https://a.example/', 'jti-1', until)).toBe(true);
  });

  it('writes over the version read for update only: a write in between makes the compare-and-set fail', async () => {
    const sessions = store();
    const id = SessionStore.newId();
    await sessions.create(id, record());
    const first = (await sessions.readForUpdate(id))!;
    expect(first.record.sealedTokens).toBe('sealed-1');
    expect(await sessions.update(id, { ...first.record, sealedTokens: 'sealed-2' }, first.version)).toBe(true);
    expect(await sessions.update(id, { ...first.record, sealedTokens: 'sealed-3' }, first.version)).toBe(false);
    expect((await sessions.readForUpdate(id))!.record.sealedTokens).toBe('sealed-2');
    await sessions.destroy(id);
    expect(await sessions.readForUpdate(id)).toBeNull();
  });

  it('runs one refresh at a time per session, holds the lock past its lifetime while the holder runs, and frees it after', async () => {
    // 600 ms: an extension every 200 ms outlasts a loaded machine's event-loop stalls (300 ms did not, once).
    const sessions = store(600);
    const id = SessionStore.newId();
    let finish!: () => void;
    const holder = sessions.withRefreshLock(id, () => new Promise<string>((resolve) => (finish = () => resolve('first'))));
    await sleep(50);
    let ran = false;
    const busy = async () => sessions.withRefreshLock(id, async () => ((ran = true), 'second'));
    expect(await busy()).toBeUndefined();
    await sleep(2_000); // over three lifetimes: only the holder's extensions keep the lock
    expect(await busy()).toBeUndefined();
    expect(ran).toBe(false);
    finish();
    expect(await holder).toBe('first');
    expect(await busy()).toBe('second');
  });

  it('frees the refresh lock when the holder fails', async () => {
    const sessions = store(300);
    const id = SessionStore.newId();
    await expect(sessions.withRefreshLock(id, () => Promise.reject(new Error('token endpoint down')))).rejects.toThrow(
      'token endpoint down',
    );
    expect(await sessions.withRefreshLock(id, async () => 'next')).toBe('next');
  });
});
