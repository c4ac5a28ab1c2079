import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { SessionUser } from './records.js';

/*
 * Where the session/ stores keep things in Redis. Private to session/ (its stores speak verbs;
 * nothing else builds a key), so a change of layout touches this file and the stores only.
 * Tests reach the layout through test/support/bff.ts.
 */

/**
 * Redis key layout. Sessions are stored under their *storageId*, a keyed hash of the session id
 * (see {@link SessionStore.storageIdOf}), never under the id itself: a Redis dump, a replica or a
 * `MONITOR` session yields no usable cookie. Every key of one session shares the `{storageId}` hash
 * tag, so a Redis Cluster keeps them in one slot; other records hash on their own identifier.
 */
export const redisKeys = {
  session: (storageId: string) => `bff:{${storageId}}:session`,
  lock: (storageId: string) => `bff:{${storageId}}:refresh-lock`,
  /** Why the session is gone (session-ends.ts): its absolute end while it lives, then its tombstone. */
  end: (storageId: string) => `bff:{${storageId}}:end`,
  login: (state: string) => `bff:login:{${state}}`,
  /** Sign-in starts from one client address in the current window (the login rate limit). */
  loginRate: (address: string) => `bff:login-rate:{${address}}`,
  /** Set of session storageIds per provider session (`sid`). */
  bySid: (sid: string) => `bff:by-sid:{${sid}}`,
  /**
   * Set of session storageIds per user, named by a keyed hash of issuer and `sub` (see
   * {@link userHashUnder}): a key name never carries a user identifier in clear.
   */
  byUser: (userHash: string) => `bff:by-user:{${userHash}}`,
  /**
   * The per-user index as it was before it was hashed (it names the `sub`): read and pruned, never
   * written, so sessions made before the change are still listed and ended by a `sub`. Remove once
   * every deployment has run SESSION_ABSOLUTE_TIMEOUT past that change.
   */
  legacyBySub: (sub: string) => `bff:by-sub:{${sub}}`,
  logoutJti: (jti: string) => `bff:logout-jti:{${jti}}`,
  /** Security Event Tokens (Shared Signals) already used, by issuer and `jti`. */
  setJti: (jti: string) => `bff:set-jti:{${jti}}`,
  /** One-time start-up work claimed by one instance (see StartupClaims). */
  startupClaim: (name: string) => `bff:startup:{${name}}`,
} as const;

/**
 * The HMAC key for session storageIds, derived from one SESSION_KEYS secret (never the secret
 * itself). A KeyObject, made once: an HMAC made from raw key bytes imports them anew each time,
 * several times the cost of the hash (a storageId is computed on every session-cache miss).
 */
export function deriveStorageIdKey(secret: string): KeyObject {
  // The label is frozen: every stored session is named under it (redis-keys.test.ts pins it).
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'session-handle/v1', 32)));
}

/** A session's storageId under one key: HMAC-SHA256 of the id, base64url. */
export function storageIdUnder(key: KeyObject, id: string): string {
  return createHmac('sha256', key).update(id).digest('base64url');
}

/** The HMAC key for per-user index names, derived from one SESSION_KEYS secret (its own, not the storageIds' key). */
export function deriveUserIndexKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'user-index/v1', 32)));
}

/**
 * A user's index hash under one key: HMAC-SHA256 of issuer and `sub` (JSON, so no pair of them
 * can read as another), base64url.
 */
export function userHashUnder(key: KeyObject, issuer: string, user: SessionUser): string {
  return createHmac('sha256', key)
    .update(JSON.stringify([issuer, user.sub]))
    .digest('base64url');
}
