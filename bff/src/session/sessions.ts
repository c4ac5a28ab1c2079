import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyValueStore } from './kv.js';
import type { HotSession, SessionCache } from './session-cache.js';
import type { SessionSync } from './session-sync.js';

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
  /** Random value in `logoutUrl`: a cross-site page cannot know it, so it cannot log users out. */
  logoutGuard: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Absolute end of the session, epoch seconds (the idle end is the Redis TTL). */
  expiresAt: number;
  /** Sealed {@link TokenSet}. */
  sealedTokens: string;
  /** Access token expiry and lifetime in seconds, so "refresh due?" needs no decryption. */
  accessExpiresAt: number;
  accessLifetime: number;
  /**
   * Access tokens of routes with their own `resource`/`scope`, by `TokenTarget.id`. Added on a
   * route's first use, so a session's size grows only with the APIs it actually called.
   */
  routeTokens?: Record<string, HeldToken>;
  /**
   * The session's random public name in "Your sessions" (`handle` in the HTTP API). Not the
   * storage handle (an HMAC of the id, see {@link SessionStore.handleOf}), which never leaves the
   * server. Absent on sessions made before it existed: {@link publicIdOf} derives one for those.
   */
  publicId?: string;
  /** `<browser> on <OS>` from the User-Agent at sign-in (see device.ts); never the User-Agent itself. */
  device?: string;
}

/** A sealed access token and its timing (the sign-in token's fields in a record have the same shape). */
export interface HeldToken {
  /** Sealed {@link TokenSet}; a route token's set holds only `accessToken`. */
  sealedTokens: string;
  accessExpiresAt: number;
  accessLifetime: number;
}

/** A session as the user's sessions view reads it: found by storage handle, its idle timeout not slid. */
export interface StoredSession {
  /** Storage handle (HMAC of the id): server-side only, never sent to a browser. */
  handle: string;
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
 * existed a hash of the storage handle (stable, and as unguessable as the handle itself).
 */
export function publicIdOf(stored: Pick<StoredSession, 'handle' | 'record'>): string {
  return stored.record.publicId ?? createHash('sha256').update(`public-id/v1:${stored.handle}`).digest('base64url').slice(0, 22);
}

/**
 * Who a session belongs to: its `sub`, at the one provider this BFF signs in with (a `sub` is
 * unique per issuer only, so the index names both; the issuer comes from the configuration, not
 * from each record: a record is a few hundred bytes from the next allocation size in Redis).
 */
export type SessionUser = Pick<SessionRecord, 'sub'>;

/** The tokens, only ever in memory in clear. */
export interface TokenSet {
  accessToken: string;
  /**
   * 'dpop' when the provider bound the access token to the BFF's DPoP key (RFC 9449 token_type
   * DPoP): it is then sent as `Authorization: DPoP` with a proof. Absent: a Bearer token (also
   * when DPoP is on but the provider issued Bearer anyway), so sealed sets from before DPoP read
   * as they always did.
   */
  tokenType?: 'dpop';
  refreshToken?: string;
  idToken?: string;
}

/** The token type to remember from a token response's (lower-cased) `token_type`. */
export function tokenTypeOf(tokenType: string | undefined): Pick<TokenSet, 'tokenType'> {
  return tokenType?.toLowerCase() === 'dpop' ? { tokenType: 'dpop' } : {};
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const HANDLE_CACHE_SIZE = 10_000;

/**
 * Redis key layout. Sessions are stored under their *handle*, a keyed hash of the session id
 * (see {@link SessionStore.handleOf}), never under the id itself: a Redis dump, a replica or a
 * `MONITOR` session yields no usable cookie. Every key of one session shares the `{handle}` hash
 * tag, so a Redis Cluster keeps them in one slot; other records hash on their own identifier.
 */
export const keys = {
  session: (handle: string) => `bff:{${handle}}:session`,
  lock: (handle: string) => `bff:{${handle}}:refresh-lock`,
  login: (state: string) => `bff:login:{${state}}`,
  /** Set of session handles per provider session (`sid`). */
  bySid: (sid: string) => `bff:by-sid:{${sid}}`,
  /**
   * Set of session handles per user, named by a keyed hash of issuer and `sub` (see
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
} as const;

/** The HMAC key for session handles, derived from one SESSION_KEYS secret (never the secret itself). */
export function deriveHandleKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'session-handle/v1', 32));
}

/** A session's handle under one key: HMAC-SHA256 of the id, base64url. */
export function handleUnder(key: Buffer, id: string): string {
  return createHmac('sha256', key).update(id).digest('base64url');
}

/** The HMAC key for per-user index names, derived from one SESSION_KEYS secret (its own, not the handles' key). */
export function deriveUserIndexKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'bff-kit', 'user-index/v1', 32));
}

/**
 * A user's index hash under one key: HMAC-SHA256 of issuer and `sub` (JSON, so no pair of them
 * can read as another), base64url.
 */
export function userHashUnder(key: Buffer, issuer: string, user: SessionUser): string {
  return createHmac('sha256', key).update(JSON.stringify([issuer, user.sub])).digest('base64url');
}

/**
 * Session persistence with the idle timeout (key TTL, slid on read) and the absolute deadline.
 * Callers name sessions by id (the cookie value); only handles reach the store.
 */
export class SessionStore {
  /** HMAC keys derived from SESSION_KEYS, current first: older ones still find sessions made before a rotation. */
  readonly #handleKeys: Buffer[];
  /** Per-user index keys, in the same order: the current one names new entries, older ones are still read. */
  readonly #userKeys: Buffer[];
  readonly #handles = new Map<string, string>();

  constructor(
    readonly kv: KeyValueStore,
    readonly timeouts: { idleSeconds: number; absoluteSeconds: number },
    secrets: readonly string[],
    /** This instance's copies of what the proxy needs of each session, kept exact by `sync`. */
    private readonly cache: SessionCache,
    private readonly sync: SessionSync,
    /** Turns a record into its cached form (decrypts its access tokens). */
    private readonly hotOf: (record: SessionRecord) => HotSession,
    /** The provider's issuer (OIDC_ISSUER as configured): with a `sub`, it names a user's index. */
    private readonly issuer: string,
  ) {
    if (secrets.length === 0) throw new Error('SessionStore needs at least one secret');
    this.#handleKeys = secrets.map(deriveHandleKey);
    this.#userKeys = secrets.map(deriveUserIndexKey);
  }

  /** A new opaque session id: 256 random bits. */
  static newId(): string {
    return randomBytes(32).toString('base64url');
  }

  /** A new public name for a session ("Your sessions"): 128 random bits, unrelated to its id. */
  static newPublicId(): string {
    return randomBytes(16).toString('base64url');
  }

  /** Whether `value` could be a session id (malformed cookies never reach Redis). */
  static isId(value: string | undefined): value is string {
    return value !== undefined && ID_PATTERN.test(value);
  }

  /**
   * The name a session is stored under: HMAC-SHA256 of its id under the current key. Cached,
   * because the proxy asks for it on every call.
   */
  handleOf(id: string): string {
    let handle = this.#handles.get(id);
    if (handle === undefined) {
      handle = handleUnder(this.#handleKeys[0]!, id);
      if (this.#handles.size >= HANDLE_CACHE_SIZE) this.#handles.delete(this.#handles.keys().next().value!);
      this.#handles.set(id, handle);
    }
    return handle;
  }

  /**
   * The session from this instance's cache, with no I/O (the proxy's hot path); undefined when it
   * is not cached or not fresh, and then the caller uses {@link loadHot}. The absolute deadline
   * is checked here on every call; the idle one holds because a cached entry is served only for
   * a fraction of the idle timeout after the read that slid it.
   */
  cached(id: string): HotSession | undefined {
    const session = this.cache.get(this.handleOf(id));
    return session !== undefined && session.expiresAt > Date.now() / 1000 ? session : undefined;
  }

  /** {@link load}, then what the proxy needs of it, which the cache keeps. Null as for load. */
  async loadHot(id: string): Promise<HotSession | null> {
    const handle = this.handleOf(id);
    const read = this.cache.beginRead(handle);
    try {
      const record = await this.load(id);
      if (record === null) return null;
      const session = this.hotOf(record);
      this.cache.keep(handle, read, session);
      return session;
    } finally {
      this.cache.endRead(handle, read);
    }
  }

  /**
   * Reads a session from Redis and slides its idle timeout, in one round trip. Null when
   * absent, expired or corrupt.
   */
  async load(id: string): Promise<SessionRecord | null> {
    const handle = this.handleOf(id);
    const idleMs = this.timeouts.idleSeconds * 1000;
    let raw = await this.kv.getAndTouch(keys.session(handle), idleMs);
    if (raw === null && this.#handleKeys.length > 1) raw = await this.#loadFromBeforeRotation(id);
    if (raw === null) return null;
    let record: SessionRecord;
    try {
      record = JSON.parse(raw) as SessionRecord;
    } catch {
      await this.kv.del([keys.session(handle)]);
      return null;
    }
    if (record.expiresAt <= Date.now() / 1000) {
      await this.destroy(id, record);
      return null;
    }
    return record;
  }

  /**
   * Loads a session WITHOUT sliding its idle timeout (`GET /bff/user?slide=false`: background
   * checks must not keep a session alive), with its idle end. Null when absent, expired or corrupt.
   */
  async peek(id: string): Promise<StoredSession | null> {
    const handle = this.handleOf(id);
    const found = await this.#read(handle);
    if (found === null && this.#handleKeys.length > 1) {
      // Stored under a pre-rotation handle: load() moves it, which slides it this once.
      const record = await this.load(id);
      return record && this.#stored(handle, record, Date.now() + this.timeouts.idleSeconds * 1000);
    }
    if (found === null) return null;
    if (found.record.expiresAt <= Date.now() / 1000) {
      await this.#remove(handle, found.record);
      return null;
    }
    return found;
  }

  /**
   * Every live session of a user (from their index), none of them slid. Index members whose
   * session is gone (idle expiry runs no code) are pruned here; past their absolute end, ended.
   */
  async ofUser(user: SessionUser): Promise<StoredSession[]> {
    const handles = await this.#indexed(user);
    const found = await Promise.all(handles.map((handle) => this.#read(handle)));
    const now = Date.now() / 1000;
    const live: StoredSession[] = [];
    for (const [i, handle] of handles.entries()) {
      const stored = found[i] ?? null;
      if (stored === null || stored.record.sub !== user.sub) await this.#unindexUser(user, handle);
      else if (stored.record.expiresAt <= now) await this.#remove(handle, stored.record);
      else live.push(stored);
    }
    return live;
  }

  /**
   * Names of the user's index under every key, current first, then the pre-hash one. Sessions are
   * indexed under the current key; those made before a rotation stay under an older one until
   * they are moved (see {@link #loadFromBeforeRotation}) or end.
   */
  #userIndexes(user: SessionUser): string[] {
    return [...this.#userKeys.map((key) => keys.byUser(userHashUnder(key, this.issuer, user))), keys.legacyBySub(user.sub)];
  }

  /** The handles in every index of the user, once each. */
  async #indexed(user: SessionUser): Promise<string[]> {
    const members = await Promise.all(this.#userIndexes(user).map((index) => this.kv.members(index)));
    return [...new Set(members.flat())];
  }

  async #unindexUser(user: SessionUser, handle: string): Promise<void> {
    await Promise.all(this.#userIndexes(user).map((index) => this.kv.removeFromSet(index, handle)));
  }

  async #read(handle: string): Promise<StoredSession | null> {
    const found = await this.kv.getWithExpiry(keys.session(handle));
    const record = parseRecord(found?.value ?? null);
    return found && record ? this.#stored(handle, record, found.expiresAtMs) : null;
  }

  /** `expiresAtMs`: when the key expires (epoch ms), null without a TTL. */
  #stored(handle: string, record: SessionRecord, expiresAtMs: number | null): StoredSession {
    // A key without a TTL cannot come from this store; treat its idle end as the absolute end.
    const idleEndsAt = expiresAtMs !== null ? Math.min(expiresAtMs / 1000, record.expiresAt) : record.expiresAt;
    // At sign-in the TTL may be capped by the absolute end: never earlier than the sign-in itself.
    const lastActiveAt = Math.max(record.createdAt, idleEndsAt - this.timeouts.idleSeconds);
    return { handle, record, idleEndsAt: Math.floor(idleEndsAt), lastActiveAt: Math.floor(lastActiveAt) };
  }

  /**
   * After SESSION_KEYS gained a new first entry, sessions made before are stored under a handle
   * of an older key: found there once, each moves to its current handle (indexes included).
   */
  async #loadFromBeforeRotation(id: string): Promise<string | null> {
    for (const key of this.#handleKeys.slice(1)) {
      const oldHandle = handleUnder(key, id);
      // Claimed with GETDEL first: a sign-out or back-channel logout racing with the move either
      // finds the record gone, or deleted it before us and nothing is moved (never resurrected).
      const raw = await this.kv.take(keys.session(oldHandle));
      if (raw === null) continue;
      const record = parseRecord(raw);
      if (!record) continue;
      await this.create(id, record);
      await this.#remove(oldHandle, record);
      return raw;
    }
    return null;
  }

  /** Writes a new session and indexes its handle by provider sid and sub (back-channel logout, the user's sessions). */
  async create(id: string, record: SessionRecord): Promise<void> {
    const handle = this.handleOf(id);
    const now = Date.now() / 1000;
    const idleMs = Math.min(this.timeouts.idleSeconds, record.expiresAt - now) * 1000;
    await this.kv.set(keys.session(handle), JSON.stringify(record), Math.max(1, Math.ceil(idleMs)));
    const indexTtlMs = Math.ceil((record.expiresAt - now) * 1000);
    if (record.opSid) await this.kv.addToSet(keys.bySid(record.opSid), handle, indexTtlMs);
    await this.kv.addToSet(this.#userIndexes(record)[0]!, handle, indexTtlMs);
  }

  /**
   * Replaces a live session's record, keeping its TTL; false if it ended meanwhile (never
   * resurrects) or, with `expected`, if the stored record is no longer exactly that.
   */
  async update(id: string, record: SessionRecord, expected?: string): Promise<boolean> {
    const handle = this.handleOf(id);
    const written = await this.kv.replace(keys.session(handle), JSON.stringify(record), expected);
    if (written) await this.sync.changed(handle); // every instance drops its copy before we answer
    return written;
  }

  /** Ends a session: its record, its refresh lock and its index entries. `record` saves a read when the caller has it. */
  async destroy(id: string, record?: SessionRecord | null): Promise<void> {
    const handle = this.handleOf(id);
    record ??= parseRecord(await this.kv.get(keys.session(handle)));
    await this.#remove(handle, record);
  }

  /**
   * Whether the session stored under `handle` still exists and is before its absolute end,
   * without sliding its idle timeout (live connections are checked this way).
   */
  async isLive(handle: string): Promise<boolean> {
    const record = parseRecord(await this.kv.get(keys.session(handle)));
    return record !== null && record.expiresAt > Date.now() / 1000;
  }

  /**
   * Ends a session named by its storage handle (the user's sessions view knows handles, not ids).
   * Resolves with its last stored record, taken as it is deleted (GETDEL): a refresh that rotated
   * the refresh token after `record` was read is not missed. `record` when it was already gone.
   */
  async destroyByHandle(handle: string, record: SessionRecord | null): Promise<SessionRecord | null> {
    const last = parseRecord(await this.kv.take(keys.session(handle))) ?? record;
    await this.#remove(handle, last);
    return last;
  }

  /**
   * Where every ending of a session lands: sign-out, revocation by the user ("Your sessions"),
   * back-channel logout, a refused refresh, undecryptable tokens, the absolute end found on a
   * read. Closing the session's live connections (WebSockets, event streams: the real-time issue)
   * attaches HERE, so no way of ending a session can miss it; it may run twice for one session
   * (koa-session destroys again after a sign-out), so what attaches must be idempotent. Idle
   * expiry runs no code (Redis drops the key): that issue has to notice it on its own.
   */
  async #remove(handle: string, record: SessionRecord | null): Promise<void> {
    await this.kv.del([keys.session(handle), keys.lock(handle)]);
    await this.sync.changed(handle); // every instance drops its copy before we answer
    if (record?.opSid) await this.kv.removeFromSet(keys.bySid(record.opSid), handle);
    if (record) await this.#unindexUser(record, handle);
  }

  /**
   * Ends every session the provider's `sid` or the user's `sub` names (the logout token's issuer
   * was checked: it is this BFF's provider); returns how many ended.
   */
  async destroyByProviderSession(match: { sid?: string; sub?: string }): Promise<number> {
    const { sid, sub } = match;
    if (!sid && !sub) return 0;
    const handles = sid ? await this.kv.members(keys.bySid(sid)) : await this.#indexed({ sub: sub! });
    const records = await Promise.all(handles.map(async (handle) => parseRecord(await this.kv.get(keys.session(handle)))));
    let ended = 0;
    for (const [i, handle] of handles.entries()) {
      const record = records[i] ?? null;
      // With both sid and sub given, only sessions of that sid for that sub end (spec §2.4).
      if (sid && sub && record?.sub !== sub) continue;
      await this.#remove(handle, record);
      if (record !== null) ended++;
      // Expired meanwhile: prune the index it was found in.
      else if (sid) await this.kv.removeFromSet(keys.bySid(sid), handle);
      else await this.#unindexUser({ sub: sub! }, handle);
    }
    return ended;
  }
}

function parseRecord(raw: string | null): SessionRecord | null {
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as SessionRecord;
  } catch {
    return null;
  }
}
