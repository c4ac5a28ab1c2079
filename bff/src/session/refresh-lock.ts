import { randomBytes } from 'node:crypto';
import type { KeyValueStore } from './kv.js';
import { redisKeys } from './redis-keys.js';

/** How long one instance may hold a session's refresh lock; a crashed holder blocks no longer. */
const REFRESH_LOCK_MS = 10_000;

/**
 * One Redis lock per session (SET NX PX with a random owner), so one grant at a time spends a
 * session's (rotating) refresh token across instances. The session store offers it as
 * {@link SessionStore.withRefreshLock}; how long to wait for a busy lock is the caller's business.
 */
export class RefreshLock {
  constructor(
    private readonly kv: KeyValueStore,
    /** The lock's lifetime (tests shorten it); extended while its holder runs. */
    readonly lifetimeMs: number = REFRESH_LOCK_MS,
  ) {}

  /**
   * Runs `fn` holding the lock of the session stored under `storageId`, and resolves with its
   * result; undefined at once, without running it, when someone else holds the lock. The lock is
   * released when `fn` settles (only if still ours).
   */
  async run<T extends NonNullable<unknown>>(storageId: string, fn: () => Promise<T>): Promise<T | undefined> {
    const key = redisKeys.lock(storageId);
    const owner = randomBytes(16).toString('base64url');
    if (!(await this.kv.set(key, owner, this.lifetimeMs, 'ifAbsent'))) return undefined;
    const keepAlive = this.#hold(key, owner);
    try {
      return await fn();
    } finally {
      clearInterval(keepAlive);
      await this.kv.delIfEquals(key, owner).catch(() => undefined);
    }
  }

  /**
   * Extends the lock while its holder runs, so a token endpoint slower than the lock's lifetime
   * never lets another instance in to spend the same (rotating) refresh token a second time.
   * A crashed holder stops extending, and its lock expires after one lifetime.
   */
  #hold(key: string, owner: string): NodeJS.Timeout {
    return setInterval(() => {
      this.kv.extendIfEquals(key, owner, this.lifetimeMs).catch(() => undefined);
    }, this.lifetimeMs / 3).unref();
  }
}
