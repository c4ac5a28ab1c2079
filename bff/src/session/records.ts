import { createHash } from 'node:crypto';
import type { SealedToken } from '../tokens.js';

/*
 * The session records and how they are written to and read from storage (JSON). Only the
 * session/ stores call parse and serialise; everyone else sees typed records.
 */

/**
 * What the kit keeps per signed-in browser. `tokens` is sealed by the TokenVault; everything
 * else is what `/bff/user` and the refresh rule need without decrypting.
 */
export interface SessionRecord {
  sub: string;
  /** ID token claims merged with userinfo, protocol claims removed. */
  claims: Record<string, unknown>;
  /** The provider's session id (`sid` claim), for back-channel logout. */
  opSid?: string;
  /** The ID token's `acr` and `auth_time` (epoch seconds) at sign-in or the last step-up. */
  acr?: string;
  authTime?: number;
  /** Random value in `logoutUrl`: a cross-site page cannot know it, so it cannot log users out. */
  logoutGuard: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Absolute end of the session, epoch seconds (the idle end is the Redis TTL). */
  expiresAt: number;
  /** Sealed TokenSet (tokens.ts). */
  sealedTokens: string;
  /** Access token expiry and lifetime in seconds, so "refresh due?" needs no decryption. */
  accessExpiresAt: number;
  accessLifetime: number;
  /**
   * Access tokens of routes with their own `resource`/`scope`, by `TokenTarget.id`. Added on a
   * route's first use, so a session's size grows only with the APIs it actually called.
   */
  routeTokens?: Record<string, SealedToken>;
  /**
   * The session's random public name in "Your sessions" (`handle` in the HTTP API). Not the
   * storage storageId (an HMAC of the id, see {@link SessionStore.storageIdOf}), which never leaves the
   * server. Absent on sessions made before it existed: {@link publicIdOf} derives one for those.
   */
  publicId?: string;
  /** `<browser> on <OS>` from the User-Agent at sign-in (see device.ts); never the User-Agent itself. */
  device?: string;
}

/** A session as the user's sessions view reads it: found by storage storageId, its idle timeout not slid. */
export interface StoredSession {
  /** Storage storageId (HMAC of the id): server-side only, never sent to a browser. */
  storageId: string;
  record: SessionRecord;
  /** When the session ends unless something slides it, epoch seconds (from the key's TTL). */
  idleEndsAt: number;
  /**
   * Its last activity that slid the idle timeout, epoch seconds: idle end minus the idle timeout.
   * Derived from the TTL rather than stored, so sliding stays one command (GETEX) and proxied
   * calls write nothing extra; a non-sliding read (`slide=false`) leaves it where it was, as the
   * contract wants. Once the hot path slides only every min(60 s, idle/10), it is that coarse.
   */
  lastActiveAt: number;
}

/**
 * The public name of a stored session: its `publicId`, or for sessions made before publicIds
 * existed a hash of the storage storageId (stable, and as unguessable as the storageId itself).
 */
export function publicIdOf(stored: Pick<StoredSession, 'storageId' | 'record'>): string {
  return stored.record.publicId ?? createHash('sha256').update(`public-id/v1:${stored.storageId}`).digest('base64url').slice(0, 22);
}

/**
 * Who a session belongs to: its `sub`, at the one provider this BFF signs in with (a `sub` is
 * unique per issuer only, so the index names both; the issuer comes from the configuration, not
 * from each record: a record is a few hundred bytes from the next allocation size in Redis).
 */
export type SessionUser = Pick<SessionRecord, 'sub'>;

/**
 * A stored record exactly as read: the version a compare-and-set write must still find (see
 * {@link SessionStore.readForUpdate}). Opaque to callers; two reads of an unchanged record are equal.
 */
export type RecordVersion = string & { readonly __recordVersion: never };

/** A record as stored. */
export function serialiseRecord(record: SessionRecord): string {
  return JSON.stringify(record);
}

/** A stored record; throws on one that is not JSON (callers that must not throw use {@link parseRecord}). */
export function readRecord(raw: string): SessionRecord {
  return JSON.parse(raw) as SessionRecord;
}

/** A stored record, or null when there is none or it is corrupt. */
export function parseRecord(raw: string | null): SessionRecord | null {
  if (raw === null) return null;
  try {
    return readRecord(raw);
  } catch {
    return null;
  }
}
