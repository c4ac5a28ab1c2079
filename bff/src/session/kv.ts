import { ERROR_CODES } from '../../../shared/src/index.js';
import { HttpError } from '../errors.js';

/**
 * The small key-value surface the kit needs from Redis. Two implementations: Redis (ioredis;
 * standalone, Sentinel or Cluster) and memory (development only). Every write carries a TTL,
 * so nothing the kit writes outlives its purpose.
 */
export interface KeyValueStore {
  /** GET that also resets the key's TTL (Redis GETEX PX): the sliding idle timeout in one round trip. */
  getAndTouch(key: string, ttlMs: number): Promise<string | null>;
  get(key: string): Promise<string | null>;
  /**
   * GET and the key's expiry (epoch ms, by the store's clock; null without one) in one round
   * trip, TTL untouched (reads that must not slide the idle timeout). Null when absent. An
   * absolute time, not a TTL: two reads of an unchanged key give the same answer.
   */
  getWithExpiry(key: string): Promise<{ value: string; expiresAtMs: number | null } | null>;
  /** SET with a TTL. `ifExists` (XX) never resurrects a deleted key; `ifAbsent` (NX) is a lock. Returns whether it wrote. */
  set(key: string, value: string, ttlMs: number, mode?: 'ifExists' | 'ifAbsent'): Promise<boolean>;
  /** Overwrites an existing key and keeps its TTL (SET XX KEEPTTL), only while it holds `expected` when given. False when it did not write. */
  replace(key: string, value: string, expected?: string): Promise<boolean>;
  /** GETDEL: read once, then it is gone (single-use records). */
  take(key: string): Promise<string | null>;
  del(keys: string[]): Promise<void>;
  /** Deletes `key` only while it still holds `value` (releasing a lock we own). */
  delIfEquals(key: string, value: string): Promise<boolean>;
  /**
   * Counts one more event in a fixed window: the window starts with the key's first count and ends
   * `windowMs` later (the key goes with it). Resolves with the count so far, this one included.
   */
  countInWindow(key: string, windowMs: number): Promise<number>;
  /** Adds to a set and sets the set's TTL to `ttlMs`: pass a TTL none of the set's members outlives. */
  addToSet(key: string, member: string, ttlMs: number): Promise<void>;
  removeFromSet(key: string, member: string): Promise<void>;
  members(key: string): Promise<string[]>;
  /** Extends `key`'s TTL to `ttlMs` only while it still holds `value` (a lock we own). */
  extendIfEquals(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** PUBLISH to every subscriber of `channel` (on a Cluster, through every node). */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Listens on `channel` over a connection of its own, subscribing again after every reconnect.
   * `onDown` is called whenever that connection is lost (messages may have been missed meanwhile).
   * Resolves with a function that unsubscribes and closes the connection.
   */
  subscribe(channel: string, onMessage: (message: string) => void, onDown: () => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  /** Waits (bounded) for the store's first connection; resolves even if it never comes. */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store could not be reached or answered with an error: a 503 the client may see (the cause,
 * for the log only, is the store's own error).
 */
export class StoreUnavailableError extends HttpError {
  constructor(cause: unknown) {
    super(503, ERROR_CODES.unavailable, 'The service is temporarily unavailable. Please try again shortly.', { cause });
    this.name = 'StoreUnavailableError';
  }
}
