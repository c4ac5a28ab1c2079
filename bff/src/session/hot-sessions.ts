import type { SessionRecord } from './records.js';
import type { HotSession, SessionCache } from './session-cache.js';
import type { SessionStore } from './sessions.js';

/**
 * The proxy's view of sessions: what it needs of each (see {@link HotSession}), from this
 * instance's cache or read through the store into it. Kept out of the store, which neither
 * caches nor decrypts: `hotOf` (the decrypting step, SessionTokens.hotOf) is handed in by the
 * composition, which builds this after both the store and the token service.
 */
export class HotSessions {
  constructor(
    private readonly sessions: Pick<SessionStore, 'storageIdOf' | 'load'>,
    /** This instance's copies, kept exact by SessionSync (the store announces every change). */
    private readonly cache: SessionCache,
    /** Turns a record into its cached form (decrypts its access tokens); may throw VaultError. */
    private readonly hotOf: (record: SessionRecord) => HotSession,
  ) {}

  /**
   * The session from this instance's cache, with no I/O (the proxy's hot path); undefined when it
   * is not cached or not fresh, and then the caller uses {@link load}. The absolute deadline
   * is checked here on every call; the idle one holds because a cached entry is served only for
   * a fraction of the idle timeout after the read that slid it.
   */
  cached(id: string): HotSession | undefined {
    const session = this.cache.get(this.sessions.storageIdOf(id));
    return session !== undefined && session.expiresAt > Date.now() / 1000 ? session : undefined;
  }

  /** {@link SessionStore.load} (which slides the idle timeout), then what the proxy needs of it, which the cache keeps. Null as for load. */
  async load(id: string): Promise<HotSession | null> {
    const storageId = this.sessions.storageIdOf(id);
    const read = this.cache.beginRead(storageId);
    try {
      const record = await this.sessions.load(id);
      if (record === null) return null;
      const session = this.hotOf(record);
      this.cache.keep(storageId, read, session);
      return session;
    } finally {
      this.cache.endRead(storageId, read);
    }
  }
}
