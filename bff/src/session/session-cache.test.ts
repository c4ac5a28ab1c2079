import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { MemoryStore } from './memory-store.js';
import { SessionCache, type HotSession } from './session-cache.js';
import { SessionSync } from './session-sync.js';
import { HotSessions } from './hot-sessions.js';
import { SessionStore } from './sessions.js';

const hot: HotSession = { expiresAt: Date.now() / 1000 + 60, tokens: { '': { accessToken: 'a', accessExpiresAt: 0, accessLifetime: 60 } } };
const live = () => {
  const cache = new SessionCache({ entries: 10, bytes: 1_000_000 }, 60_000);
  cache.setLive(true);
  return cache;
};

describe('SessionCache', () => {
  it('keeps what a read returned, unless the session changed while it was read', () => {
    const cache = live();
    cache.keep('h1', cache.beginRead('h1'), hot);
    expect(cache.get('h1')).toBe(hot);
    const read = cache.beginRead('h2');
    cache.invalidate('h2'); // the change's message overtook the reply
    cache.keep('h2', read, hot);
    expect(cache.get('h2')).toBeUndefined();
  });

  it('does not keep a read begun before the cache last went live (its change may be lost)', () => {
    const cache = live();
    const read = cache.beginRead('h');
    cache.setLive(false);
    cache.setLive(true);
    cache.keep('h', read, hot);
    expect(cache.get('h')).toBeUndefined();
  });

  it('serves nothing while not live, and an entry only for its fresh period', () => {
    const cache = new SessionCache({ entries: 10, bytes: 1_000_000 }, 1000);
    cache.keep('h', cache.beginRead('h'), hot);
    expect(cache.get('h')).toBeUndefined();
    cache.setLive(true);
    cache.keep('h', cache.beginRead('h'), hot, 5000);
    expect(cache.get('h', 5999)).toBe(hot);
    expect(cache.get('h', 6000)).toBeUndefined();
  });

  it('says when it is off (SESSION_CACHE_ENTRIES=0), and then keeps nothing', () => {
    const off = new SessionCache({ entries: 0, bytes: 1_000_000 }, 60_000);
    off.setLive(true);
    off.keep('h', off.beginRead('h'), hot);
    expect([off.off, off.get('h'), live().off]).toEqual([true, undefined, false]);
  });

  it('evicts the oldest reads when full, by entries and by bytes', () => {
    const cache = new SessionCache({ entries: 2, bytes: 1_000_000 }, 60_000);
    cache.setLive(true);
    for (const handle of ['a', 'b', 'c']) cache.keep(handle, cache.beginRead(handle), hot);
    expect([cache.get('a'), cache.size]).toEqual([undefined, 2]);
    const small = new SessionCache({ entries: 100, bytes: 800 }, 60_000);
    small.setLive(true);
    for (const handle of ['a', 'b', 'c']) small.keep(handle, small.beginRead(handle), hot);
    expect(small.size).toBeLessThan(3);
  });
});

describe('HotSessions reads through the store into the cache', () => {
  it('forgets every read of a session that does not exist (random cookies cost no memory)', async () => {
    const kv = new MemoryStore();
    const cache = new SessionCache({ entries: 10, bytes: 1_000_000 }, 60_000);
    const sync = new SessionSync(kv, cache, createLogger({ level: 'silent' }));
    await sync.start();
    const sessions = new SessionStore(kv, { idleSeconds: 60, absoluteSeconds: 600 }, ['k'.repeat(32)], sync, 'https://issuer.example/');
    const hotSessions = new HotSessions(sessions, cache, () => hot);
    for (let i = 0; i < 200; i++) expect(await hotSessions.load(SessionStore.newId())).toBeNull();
    expect(cache.pendingReads).toBe(0);
    await sync.stop();
    await kv.close();
  });
});
