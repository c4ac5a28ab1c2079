import type { TimedAccessToken } from '../tokens.js';

/**
 * What the proxy needs of a session, and all the cache keeps: the absolute end and the access
 * tokens held (decrypted once per read, not per call). Claims, the refresh token and the ID
 * token stay in Redis; the /bff endpoints that need them read the full record there.
 */
export interface HotSession {
  expiresAt: number;
  /** By `TokenTarget.id`; the sign-in token under ''. */
  tokens: Record<string, TimedAccessToken>;
  /** The sign-in's `acr` and `auth_time` (epoch seconds), for routes with `acr`/`max_age`. */
  acr?: string;
  authTime?: number;
  /** Only the claims some route's `require` rules name; absent when no route has any. */
  claims?: Record<string, unknown>;
}

interface CachedSession {
  session: HotSession;
  /** When it was read from Redis (which slid its idle timeout then), ms since the epoch. */
  readAt: number;
  /** Rough memory cost in bytes. */
  bytes: number;
}

/** Bounds of the session cache. */
export interface SessionCacheLimits {
  /** 0 turns the cache off: every call reads Redis. */
  entries: number;
  bytes: number;
}

/**
 * Session records of this instance, by storageId, so a proxied call needs no Redis round trip
 * (docs/session-cache.md). An entry is served for `freshMs` after
 * it was read: the read slid the idle timeout in Redis, and re-reading after `freshMs` slides it
 * again, so Redis sees one slide per session and instance per `freshMs` at most, and a session
 * still ends at most `freshMs` before its idle timeout after the last activity.
 *
 * Exactness comes from outside: {@link SessionSync} calls `invalidate` for every change any
 * instance makes, and `setLive(false)` (which empties the cache) whenever it cannot vouch that
 * no change was missed. While not live, nothing is served or stored.
 */
export class SessionCache {
  readonly #entries = new Map<string, CachedSession>();
  /** Reads in flight, by storageId: an invalidation meanwhile makes their result unfit to keep. */
  readonly #reading = new Map<string, symbol>();
  #bytes = 0;
  #live = false;
  /** Counts the times the cache went live: only reads begun in the current period are kept. */
  #generation = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly limits: SessionCacheLimits,
    /** How long an entry is served after it was read. */
    readonly freshMs: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  get live(): boolean {
    return this.#live;
  }

  /** Whether it keeps anything at all (SESSION_CACHE_ENTRIES=0 turns it off). */
  get off(): boolean {
    return this.limits.entries === 0;
  }

  /** The cached record when it is fresh and the cache is live; undefined sends the caller to Redis. */
  get(storageId: string, now = Date.now()): HotSession | undefined {
    const entry = this.#live ? this.#entries.get(storageId) : undefined;
    if (entry === undefined || now - entry.readAt >= this.freshMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.session;
  }

  /** Call before reading `storageId` from Redis; pass the result to {@link keep}, then {@link endRead}. */
  beginRead(storageId: string): symbol {
    const read = Symbol(this.#generation);
    this.#reading.set(storageId, read);
    return read;
  }

  /** A read is over (kept or not): forget it, unless a newer read of the storageId began meanwhile. */
  endRead(storageId: string, read: symbol): void {
    if (this.#reading.get(storageId) === read) this.#reading.delete(storageId);
  }

  /** Reads in flight (bounded by concurrent requests: every read ends with endRead). */
  get pendingReads(): number {
    return this.#reading.size;
  }

  /**
   * Keeps what a read returned, unless the session changed since the read began (the change's
   * invalidation may have overtaken the reply) or the cache went down meanwhile.
   */
  keep(storageId: string, read: symbol, session: HotSession, readAt = Date.now()): void {
    if (this.#reading.get(storageId) !== read) return;
    this.#reading.delete(storageId);
    // A read begun before the cache last went live may predate a change whose message was lost.
    if (!this.#live || read.description !== String(this.#generation) || this.limits.entries === 0) return;
    this.#remove(storageId);
    const bytes = sizeOf(session);
    this.#entries.set(storageId, { session, readAt, bytes });
    this.#bytes += bytes;
    // Oldest reads first: a busy session is re-read every freshMs and so moves to the back.
    while (this.#entries.size > this.limits.entries || this.#bytes > this.limits.bytes) {
      this.#remove(this.#entries.keys().next().value!);
    }
  }

  /** A session changed or ended somewhere: forget it, and any read of it in flight. */
  invalidate(storageId: string): void {
    this.#reading.delete(storageId);
    this.#remove(storageId);
  }

  /** Live: every change is being heard. Going down empties the cache. */
  setLive(live: boolean): void {
    if (!live) this.clear();
    else if (!this.#live) this.#generation++;
    this.#live = live;
  }

  clear(): void {
    this.#entries.clear();
    this.#reading.clear();
    this.#bytes = 0;
  }

  #remove(storageId: string): void {
    const entry = this.#entries.get(storageId);
    if (entry === undefined) return;
    this.#entries.delete(storageId);
    this.#bytes -= entry.bytes;
  }
}

/** Rough heap cost of an entry: its token strings plus object and map overhead. */
function sizeOf(session: HotSession): number {
  let bytes = 200;
  for (const id in session.tokens) bytes += 120 + id.length + session.tokens[id]!.accessToken.length;
  if (session.acr) bytes += session.acr.length;
  if (session.claims) bytes += JSON.stringify(session.claims).length;
  return bytes;
}
