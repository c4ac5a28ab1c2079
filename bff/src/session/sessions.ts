import type { KeyObject } from 'node:crypto';
import { SESSION_END_REASONS, type SessionEndReason } from '../../../shared/src/index.js';
import type { KeyValueStore } from './kv.js';
import type { RecordVersion, SessionRecord, SessionUser, StoredSession } from './records.js';
import { parseRecord, readRecord, serialiseRecord } from './records.js';
import { deriveStorageIdKey, deriveUserIndexKey, storageIdUnder, redisKeys, userHashUnder } from './redis-keys.js';
import { RefreshLock } from './refresh-lock.js';
import { SessionEnds } from './session-ends.js';
import { detachedCopy, isSessionId, newPublicId, newSessionId } from './session-ids.js';
import type { SessionSync } from './session-sync.js';

const STORAGE_ID_CACHE_SIZE = 10_000;

/**
 * Session persistence with the idle timeout (key TTL, slid on read) and the absolute deadline.
 * Callers name sessions by id (the cookie value); only storageIds reach the store.
 */
export class SessionStore {
  /** HMAC keys derived from SESSION_KEYS, current first: older ones still find sessions made before a rotation. */
  readonly #storageIdKeys: KeyObject[];
  /** Per-user index keys, in the same order: the current one names new entries, older ones are still read. */
  readonly #userKeys: KeyObject[];
  readonly #storageIds = new Map<string, string>();
  readonly #refreshLock: RefreshLock;
  readonly #ends: SessionEnds;

  constructor(
    private readonly kv: KeyValueStore,
    /** `refreshLockMs`: the refresh lock's lifetime (tests shorten it; see refresh-lock.ts). */
    readonly timeouts: { idleSeconds: number; absoluteSeconds: number; refreshLockMs?: number },
    secrets: readonly string[],
    /** Tells every instance (their session caches) about each change, before a write answers. */
    private readonly sync: SessionSync,
    /** The provider's issuer (OIDC_ISSUER as configured): with a `sub`, it names a user's index. */
    private readonly issuer: string,
  ) {
    if (secrets.length === 0) throw new Error('SessionStore needs at least one secret');
    this.#storageIdKeys = secrets.map(deriveStorageIdKey);
    this.#userKeys = secrets.map(deriveUserIndexKey);
    this.#refreshLock = new RefreshLock(kv, timeouts.refreshLockMs);
    this.#ends = new SessionEnds(kv);
  }

  /** Session ids and public names (session-ids.ts), where the store's callers look for them. */
  static newId = newSessionId;
  static newPublicId = newPublicId;
  static isId = isSessionId;

  /** The name a session is stored under: HMAC-SHA256 of its id under the current key; cached (the proxy asks on every call). */
  storageIdOf(id: string): string {
    let storageId = this.#storageIds.get(id);
    if (storageId === undefined) {
      storageId = storageIdUnder(this.#storageIdKeys[0]!, id);
      if (this.#storageIds.size >= STORAGE_ID_CACHE_SIZE) this.#storageIds.delete(this.#storageIds.keys().next().value!);
      this.#storageIds.set(detachedCopy(id), storageId); // the id may be a slice of a whole Cookie header
    }
    return storageId;
  }

  /** Reads a session from Redis and slides its idle timeout, in one round trip. Null when absent, expired or corrupt. */
  async load(id: string): Promise<SessionRecord | null> {
    const storageId = this.storageIdOf(id);
    const idleMs = this.timeouts.idleSeconds * 1000;
    let raw = await this.kv.getAndTouch(redisKeys.session(storageId), idleMs);
    if (raw === null && this.#storageIdKeys.length > 1) raw = await this.#loadFromBeforeRotation(id);
    if (raw === null) return null;
    const record = parseRecord(raw);
    if (record === null) {
      await this.kv.del([redisKeys.session(storageId)]);
      return null;
    }
    if (record.expiresAt <= Date.now() / 1000) {
      await this.destroy(id, record);
      return null;
    }
    return record;
  }

  /** Loads a session WITHOUT sliding its idle timeout (`slide=false`: background checks), with its idle end; null as for load. */
  async peek(id: string): Promise<StoredSession | null> {
    const storageId = this.storageIdOf(id);
    const found = await this.#read(storageId);
    if (found === null && this.#storageIdKeys.length > 1) {
      // Stored under a pre-rotation storageId: load() moves it, which slides it this once.
      const record = await this.load(id);
      return record && this.#stored(storageId, record, Date.now() + this.timeouts.idleSeconds * 1000);
    }
    if (found === null) return null;
    if (found.record.expiresAt <= Date.now() / 1000) {
      await this.#remove(storageId, found.record);
      return null;
    }
    return found;
  }

  /**
   * Every live session of a user (from their index), none of them slid. Index members whose
   * session is gone (idle expiry runs no code) are pruned here; past their absolute end, ended.
   */
  async ofUser(user: SessionUser): Promise<StoredSession[]> {
    const storageIds = await this.#indexed(user);
    const found = await Promise.all(storageIds.map((storageId) => this.#read(storageId)));
    const now = Date.now() / 1000;
    const live: StoredSession[] = [];
    for (const [i, storageId] of storageIds.entries()) {
      const stored = found[i] ?? null;
      if (stored === null || stored.record.sub !== user.sub) await this.#unindexUser(user, storageId);
      else if (stored.record.expiresAt <= now) await this.#remove(storageId, stored.record);
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
    return [...this.#userKeys.map((key) => redisKeys.byUser(userHashUnder(key, this.issuer, user))), redisKeys.legacyBySub(user.sub)];
  }

  /** The storageIds in every index of the user, once each. */
  async #indexed(user: SessionUser): Promise<string[]> {
    const members = await Promise.all(this.#userIndexes(user).map((index) => this.kv.members(index)));
    return [...new Set(members.flat())];
  }

  async #unindexUser(user: SessionUser, storageId: string): Promise<void> {
    await Promise.all(this.#userIndexes(user).map((index) => this.kv.removeFromSet(index, storageId)));
  }

  async #read(storageId: string): Promise<StoredSession | null> {
    const found = await this.kv.getWithExpiry(redisKeys.session(storageId));
    const record = parseRecord(found?.value ?? null);
    return found && record ? this.#stored(storageId, record, found.expiresAtMs) : null;
  }

  /** `expiresAtMs`: when the key expires (epoch ms), null without a TTL. */
  #stored(storageId: string, record: SessionRecord, expiresAtMs: number | null): StoredSession {
    // A key without a TTL cannot come from this store; treat its idle end as the absolute end.
    const idleEndsAt = expiresAtMs !== null ? Math.min(expiresAtMs / 1000, record.expiresAt) : record.expiresAt;
    // At sign-in the TTL may be capped by the absolute end: never earlier than the sign-in itself.
    const lastActiveAt = Math.max(record.createdAt, idleEndsAt - this.timeouts.idleSeconds);
    return { storageId, record, idleEndsAt: Math.floor(idleEndsAt), lastActiveAt: Math.floor(lastActiveAt) };
  }

  /**
   * After SESSION_KEYS gained a new first entry, sessions made before are stored under a storageId
   * of an older key: found there once, each moves to its current storageId (indexes included).
   */
  async #loadFromBeforeRotation(id: string): Promise<string | null> {
    for (const key of this.#storageIdKeys.slice(1)) {
      const oldHandle = storageIdUnder(key, id);
      // Claimed with GETDEL first: a sign-out or back-channel logout racing with the move either
      // finds the record gone, or deleted it before us and nothing is moved (never resurrected).
      const raw = await this.kv.take(redisKeys.session(oldHandle));
      if (raw === null) continue;
      const record = parseRecord(raw);
      if (!record) continue;
      await this.create(id, record);
      await this.#remove(oldHandle, record);
      return raw;
    }
    return null;
  }

  /** Writes a new session and indexes its storageId by provider sid and sub (back-channel logout, the user's sessions). */
  async create(id: string, record: SessionRecord): Promise<void> {
    const storageId = this.storageIdOf(id);
    const now = Date.now() / 1000;
    const idleMs = Math.min(this.timeouts.idleSeconds, record.expiresAt - now) * 1000;
    // No session outlives the absolute timeout from now (a step-up keeps an earlier end; a refresh
    // token's expiry only shortens it): indexes set to it never end before one of their sessions.
    const indexTtlMs = Math.ceil(Math.max(this.timeouts.absoluteSeconds, record.expiresAt - now) * 1000);
    // Sent together; the cookie goes out only once all landed (never a session without its indexes).
    await Promise.all([
      this.kv.set(redisKeys.session(storageId), serialiseRecord(record), Math.max(1, Math.ceil(idleMs))),
      this.#ends.begin(storageId, record.expiresAt),
      record.opSid && this.kv.addToSet(redisKeys.bySid(record.opSid), storageId, indexTtlMs),
      this.kv.addToSet(this.#userIndexes(record)[0]!, storageId, indexTtlMs),
    ]);
  }

  /**
   * Replaces a live session's record, keeping its TTL; false if it ended meanwhile (never
   * resurrects) or, with `expected` (from {@link readForUpdate}), if the stored record is no
   * longer exactly that version (compare-and-set).
   */
  async update(id: string, record: SessionRecord, expected?: RecordVersion): Promise<boolean> {
    const storageId = this.storageIdOf(id);
    const written = await this.kv.replace(redisKeys.session(storageId), serialiseRecord(record), expected);
    if (written) await this.sync.changed(storageId); // every instance drops its copy before we answer
    return written;
  }

  /**
   * A session's record with its version, for a compare-and-set {@link update}; null when it is
   * gone. Slides nothing and checks no deadline (the caller is mid-refresh of a session it has
   * just loaded); throws on a corrupt record.
   */
  async readForUpdate(id: string): Promise<{ record: SessionRecord; version: RecordVersion } | null> {
    const raw = await this.kv.get(redisKeys.session(this.storageIdOf(id)));
    return raw === null ? null : { record: readRecord(raw), version: raw as RecordVersion };
  }

  /**
   * Runs `fn` holding the session's refresh lock (one grant at a time per session, across
   * instances; extended while `fn` runs), resolving with its result; undefined at once, without
   * running it, when another caller holds the lock (wait and look at the record again).
   */
  withRefreshLock<T extends NonNullable<unknown>>(id: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.#refreshLock.run(this.storageIdOf(id), fn);
  }

  /** The refresh lock's lifetime: a holder may run longer (it extends the lock), a crashed one blocks no longer. */
  get refreshLockMs(): number {
    return this.#refreshLock.lifetimeMs;
  }

  /** Ends a session: its record, refresh lock and index entries (`record` saves a read); its cookie is then told `reason`. */
  async destroy(id: string, record?: SessionRecord | null, reason?: SessionEndReason): Promise<void> {
    const storageId = this.storageIdOf(id);
    record ??= parseRecord(await this.kv.get(redisKeys.session(storageId)));
    await this.#remove(storageId, record, reason);
  }

  /** Why the session this cookie value named is gone (session-ends.ts): for 401s only, never on a live session's call. */
  whyEnded(id: string | undefined): Promise<SessionEndReason> {
    if (!SessionStore.isId(id)) return Promise.resolve(SESSION_END_REASONS.noSession);
    return this.#ends.why(this.storageIdOf(id));
  }

  /**
   * Whether the session stored under `storageId` still exists and is before its absolute end,
   * without sliding its idle timeout (live connections are checked this way).
   */
  async isLive(storageId: string): Promise<boolean> {
    const record = parseRecord(await this.kv.get(redisKeys.session(storageId)));
    return record !== null && record.expiresAt > Date.now() / 1000;
  }

  /**
   * Ends a session named by its storage storageId (the user's sessions view knows storageIds, not ids).
   * Resolves with its last stored record, taken as it is deleted (GETDEL): a refresh that rotated
   * the refresh token after `record` was read is not missed. `record` when it was already gone.
   */
  async destroyByStorageId(storageId: string, record: SessionRecord | null, reason: SessionEndReason): Promise<SessionRecord | null> {
    const last = parseRecord(await this.kv.take(redisKeys.session(storageId))) ?? record;
    await this.#remove(storageId, last, reason);
    return last;
  }

  /**
   * Where every ending of a session lands: sign-out, revocation by the user ("Your sessions"),
   * back-channel logout, a refused refresh, undecryptable tokens, the absolute end found on a
   * read. Closing the session's live connections (WebSockets, event streams: the real-time issue)
   * attaches HERE, so no way of ending a session can miss it; it may run twice for one session
   * (koa-session destroys again after a sign-out), so what attaches must be idempotent. Idle
   * expiry runs no code (Redis drops the key): that issue has to notice it on its own.
   * With a `reason`, a session that existed leaves its tombstone first (session-ends.ts).
   */
  async #remove(storageId: string, record: SessionRecord | null, reason?: SessionEndReason): Promise<void> {
    if (reason && record) await this.#ends.ended(storageId, reason);
    await this.kv.del([redisKeys.session(storageId), redisKeys.lock(storageId)]);
    await this.sync.changed(storageId); // every instance drops its copy before we answer
    if (record?.opSid) await this.kv.removeFromSet(redisKeys.bySid(record.opSid), storageId);
    if (record) await this.#unindexUser(record, storageId);
  }

  /**
   * Ends every session the provider's `sid` or the user's `sub` names (the logout token's issuer
   * was checked: it is this BFF's provider); returns how many ended, each told `reason`.
   */
  async destroyByProviderSession(match: { sid?: string; sub?: string }, reason: SessionEndReason = 'ended_elsewhere'): Promise<number> {
    const { sid, sub } = match;
    if (!sid && !sub) return 0;
    const storageIds = sid ? await this.kv.members(redisKeys.bySid(sid)) : await this.#indexed({ sub: sub! });
    const records = await Promise.all(storageIds.map(async (storageId) => parseRecord(await this.kv.get(redisKeys.session(storageId)))));
    let ended = 0;
    for (const [i, storageId] of storageIds.entries()) {
      const record = records[i] ?? null;
      // With both sid and sub given, only sessions of that sid for that sub end (spec §2.4).
      if (sid && sub && record?.sub !== sub) continue;
      await this.#remove(storageId, record, reason);
      if (record !== null) ended++;
      // Expired meanwhile: prune the index it was found in.
      else if (sid) await this.kv.removeFromSet(redisKeys.bySid(sid), storageId);
      else await this.#unindexUser({ sub: sub! }, storageId);
    }
    return ended;
  }
}
