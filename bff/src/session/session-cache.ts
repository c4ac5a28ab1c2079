import type { SessionRecord } from './sessions.js';

interface CachedSession {
  record: SessionRecord;
  /** When it was read from Redis (which slid its idle timeout then), ms since the epoch. */
  readAt: number;
  /** Rough memory cost: the stored JSON's length, counted twice for UTF-16 strings and objects. */
  bytes: number;
}

/** Bounds of the session cache. */
export interface SessionCacheLimits {
  /** 0 turns the cache off: every call reads Redis. */
  entries: number;
  bytes: number;
}

/**
 * Session records of this instance, by handle, so a proxied call needs no Redis round trip
 * (DESIGN, "The hot path without a Redis round trip"). An entry is served for `freshMs` after
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
  /** Reads in flight, by handle: an invalidation meanwhile makes their result unfit to keep. */
  readonly #reading = new Map<string, symbol>();
  #bytes = 0;
  #live = false;
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

  /** The cached record when it is fresh and the cache is live; undefined sends the caller to Redis. */
  get(handle: string, now = Date.now()): SessionRecord | undefined {
    const entry = this.#live ? this.#entries.get(handle) : undefined;
    if (entry === undefined || now - entry.readAt >= this.freshMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.record;
  }

  /** Call before reading `handle` from Redis; pass the result to {@link keep}. */
  beginRead(handle: string): symbol {
    const read = Symbol(handle);
    this.#reading.set(handle, read);
    return read;
  }

  /**
   * Keeps what a read returned, unless the session changed since the read began (the change's
   * invalidation may have overtaken the reply) or the cache went down meanwhile.
   */
  keep(handle: string, read: symbol, record: SessionRecord | null, bytes: number, readAt = Date.now()): void {
    if (this.#reading.get(handle) !== read) return;
    this.#reading.delete(handle);
    if (record === null || !this.#live || this.limits.entries === 0) return;
    this.#remove(handle);
    this.#entries.set(handle, { record, readAt, bytes });
    this.#bytes += bytes;
    // Oldest reads first: a busy session is re-read every freshMs and so moves to the back.
    while (this.#entries.size > this.limits.entries || this.#bytes > this.limits.bytes) {
      this.#remove(this.#entries.keys().next().value!);
    }
  }

  /** A session changed or ended somewhere: forget it, and any read of it in flight. */
  invalidate(handle: string): void {
    this.#reading.delete(handle);
    this.#remove(handle);
  }

  /** Live: every change is being heard. Going down empties the cache. */
  setLive(live: boolean): void {
    if (!live) this.clear();
    this.#live = live;
  }

  clear(): void {
    this.#entries.clear();
    this.#reading.clear();
    this.#bytes = 0;
  }

  #remove(handle: string): void {
    const entry = this.#entries.get(handle);
    if (entry === undefined) return;
    this.#entries.delete(handle);
    this.#bytes -= entry.bytes;
  }
}
