import { EventEmitter } from 'node:events';
import type { KeyValueStore } from './kv.js';

interface Entry {
  value: string | Set<string>;
  expiresAt: number;
}

/**
 * In-process store for the demo and tests. Sessions vanish on restart and are not shared
 * between instances, which is why production refuses it.
 */
export class MemoryStore implements KeyValueStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sweeper = setInterval(() => this.#sweep(), 60_000).unref();
  readonly #channels = new EventEmitter().setMaxListeners(0);

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #string(key: string): string | null {
    const value = this.#live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  #sweep() {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  async getAndTouch(key: string, ttlMs: number) {
    const entry = this.#live(key);
    if (!entry || typeof entry.value !== 'string') return null;
    entry.expiresAt = Date.now() + ttlMs;
    return entry.value;
  }

  async get(key: string) {
    return this.#string(key);
  }

  async getWithExpiry(key: string) {
    const entry = this.#live(key);
    return entry && typeof entry.value === 'string' ? { value: entry.value, expiresAtMs: entry.expiresAt } : null;
  }

  async set(key: string, value: string, ttlMs: number, mode?: 'ifExists' | 'ifAbsent') {
    const exists = this.#live(key) !== undefined;
    if ((mode === 'ifExists' && !exists) || (mode === 'ifAbsent' && exists)) return false;
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async replace(key: string, value: string, expected?: string) {
    const entry = this.#live(key);
    if (!entry || (expected !== undefined && entry.value !== expected)) return false;
    entry.value = value;
    return true;
  }

  async take(key: string) {
    const value = this.#string(key);
    this.#entries.delete(key);
    return value;
  }

  async del(keys: string[]) {
    for (const key of keys) this.#entries.delete(key);
  }

  async delIfEquals(key: string, value: string) {
    if (this.#string(key) !== value) return false;
    this.#entries.delete(key);
    return true;
  }

  async countInWindow(key: string, windowMs: number) {
    const entry = this.#live(key);
    const count = (typeof entry?.value === 'string' ? Number(entry.value) : 0) + 1;
    if (entry) entry.value = String(count);
    else this.#entries.set(key, { value: String(count), expiresAt: Date.now() + windowMs });
    return count;
  }

  async addToSet(key: string, member: string, ttlMs: number) {
    const entry = this.#live(key);
    const expiresAt = Date.now() + ttlMs;
    if (entry && entry.value instanceof Set) {
      entry.value.add(member);
      entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
    } else {
      this.#entries.set(key, { value: new Set([member]), expiresAt });
    }
  }

  async removeFromSet(key: string, member: string) {
    const value = this.#live(key)?.value;
    if (value instanceof Set) value.delete(member);
  }

  async extendIfEquals(key: string, value: string, ttlMs: number) {
    const entry = this.#live(key);
    if (!entry || entry.value !== value) return false;
    entry.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async members(key: string) {
    const value = this.#live(key)?.value;
    return value instanceof Set ? [...value] : [];
  }

  async publish(channel: string, message: string) {
    this.#channels.emit(channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    this.#channels.on(channel, onMessage);
    return async () => void this.#channels.off(channel, onMessage);
  }

  async ping() {}

  async ready() {}

  async close() {
    clearInterval(this.#sweeper);
    this.#entries.clear();
    this.#channels.removeAllListeners();
  }
}
