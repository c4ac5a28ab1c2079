import { SESSION_END_REASONS, type SessionEndReason } from '../../../shared/src/index.js';
import type { KeyValueStore } from './kv.js';
import { redisKeys } from './redis-keys.js';

/** How long an ended session's reason is kept (its tombstone), in ms. */
export const TOMBSTONE_TTL_MS = 10 * 60_000;

const TOMBSTONE = 'ended:';
const MARKER = 'ends-at:';

/**
 * Why a session is gone, on every instance. One small key per session, next to its record (same
 * `{storageId}` hash tag), holding no personal data:
 *
 * - at sign-in, a marker with the session's absolute end (epoch seconds), kept for the absolute
 *   lifetime plus {@link TOMBSTONE_TTL_MS}. Idle and absolute timeouts run no code (Redis drops
 *   the record), so a missing record whose marker is still there ended by a timeout: which one,
 *   the clock tells.
 * - every ending that runs code (sign-out, "Your sessions", back-channel logout and security
 *   events, a refused refresh) overwrites it with a tombstone naming the reason, kept for
 *   {@link TOMBSTONE_TTL_MS}.
 *
 * Read only on the way to a 401, never on a call with a live session. Written only for sessions
 * the BFF made: a made-up cookie writes nothing and reads `no_session`. The key is named by the
 * storageId (an HMAC of the cookie), so only the cookie's holder can learn a session's reason.
 */
export class SessionEnds {
  constructor(private readonly kv: KeyValueStore) {}

  /** At sign-in: the marker for a session that ends at `absoluteEnd` (epoch seconds) at the latest. */
  async begin(storageId: string, absoluteEnd: number): Promise<void> {
    const ttlMs = Math.ceil((absoluteEnd - Date.now() / 1000) * 1000) + TOMBSTONE_TTL_MS;
    await this.kv.set(redisKeys.end(storageId), `${MARKER}${absoluteEnd}`, Math.max(1, ttlMs));
  }

  /** An ending that runs code: the tombstone, with its reason. */
  async ended(storageId: string, reason: SessionEndReason): Promise<void> {
    await this.kv.set(redisKeys.end(storageId), `${TOMBSTONE}${reason}`, TOMBSTONE_TTL_MS);
  }

  /** Why the session stored under `storageId` is gone: one read. */
  async why(storageId: string): Promise<SessionEndReason> {
    const value = await this.kv.get(redisKeys.end(storageId));
    if (value?.startsWith(TOMBSTONE)) {
      const reason = value.slice(TOMBSTONE.length) as SessionEndReason;
      return Object.values(SESSION_END_REASONS).includes(reason) ? reason : SESSION_END_REASONS.noSession;
    }
    if (value?.startsWith(MARKER)) {
      const absoluteEnd = Number(value.slice(MARKER.length));
      return absoluteEnd <= Date.now() / 1000 ? SESSION_END_REASONS.absoluteTimeout : SESSION_END_REASONS.idleTimeout;
    }
    return SESSION_END_REASONS.noSession;
  }
}
