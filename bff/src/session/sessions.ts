import { randomBytes } from 'node:crypto';
import type { KeyValueStore } from './kv.js';

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
}

/** The tokens, only ever in memory in clear. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Redis key layout. Every key of one session shares the `{id}` hash tag, so a Redis Cluster
 * keeps them in one slot; other records hash on their own identifier.
 */
export const keys = {
  session: (id: string) => `bff:{${id}}:session`,
  lock: (id: string) => `bff:{${id}}:refresh-lock`,
  login: (state: string) => `bff:login:{${state}}`,
  bySid: (sid: string) => `bff:by-sid:{${sid}}`,
  bySub: (sub: string) => `bff:by-sub:{${sub}}`,
  logoutJti: (jti: string) => `bff:logout-jti:{${jti}}`,
} as const;

/** Session persistence with the idle timeout (key TTL, slid on read) and the absolute deadline. */
export class SessionStore {
  constructor(
    readonly kv: KeyValueStore,
    readonly timeouts: { idleSeconds: number; absoluteSeconds: number },
  ) {}

  /** A new opaque session id: 256 random bits. */
  static newId(): string {
    return randomBytes(32).toString('base64url');
  }

  /** Whether `value` could be a session id (malformed cookies never reach Redis). */
  static isId(value: string | undefined): value is string {
    return value !== undefined && ID_PATTERN.test(value);
  }

  /** Loads a session and slides its idle timeout, in one round trip. Null when absent, expired or corrupt. */
  async load(id: string): Promise<SessionRecord | null> {
    const raw = await this.kv.getAndTouch(keys.session(id), this.timeouts.idleSeconds * 1000);
    if (raw === null) return null;
    let record: SessionRecord;
    try {
      record = JSON.parse(raw) as SessionRecord;
    } catch {
      await this.kv.del([keys.session(id)]);
      return null;
    }
    if (record.expiresAt <= Date.now() / 1000) {
      await this.destroy(id);
      return null;
    }
    return record;
  }

  /** Writes a new session and indexes it by provider sid and sub (for back-channel logout). */
  async create(id: string, record: SessionRecord): Promise<void> {
    const now = Date.now() / 1000;
    const idleMs = Math.min(this.timeouts.idleSeconds, record.expiresAt - now) * 1000;
    await this.kv.set(keys.session(id), JSON.stringify(record), Math.max(1, Math.ceil(idleMs)));
    const indexTtlMs = Math.ceil((record.expiresAt - now) * 1000);
    if (record.opSid) await this.kv.addToSet(keys.bySid(record.opSid), id, indexTtlMs);
    await this.kv.addToSet(keys.bySub(record.sub), id, indexTtlMs);
  }

  /** Replaces a live session's record, keeping its TTL; false if it ended meanwhile (never resurrects). */
  update(id: string, record: SessionRecord): Promise<boolean> {
    return this.kv.replace(keys.session(id), JSON.stringify(record));
  }

  async destroy(id: string): Promise<void> {
    await this.kv.del([keys.session(id), keys.lock(id)]);
  }

  /** Ends every session the provider's `sid` or the user's `sub` names; returns how many ids were indexed. */
  async destroyByProviderSession(match: { sid?: string; sub?: string }): Promise<number> {
    const indexKeys: string[] = [];
    if (match.sid) indexKeys.push(keys.bySid(match.sid));
    else if (match.sub) indexKeys.push(keys.bySub(match.sub));
    let ended = 0;
    for (const indexKey of indexKeys) {
      const ids = await this.kv.members(indexKey);
      // With both sid and sub given, only sessions of that sid for that sub end (spec §2.4).
      const records = match.sid && match.sub ? await Promise.all(ids.map((id) => this.kv.get(keys.session(id)))) : [];
      const targets = match.sid && match.sub ? ids.filter((_, i) => belongsTo(records[i] ?? null, match.sub!)) : ids;
      await this.kv.del(targets.flatMap((id) => [keys.session(id), keys.lock(id)]));
      ended += targets.length;
    }
    return ended;
  }
}

function belongsTo(raw: string | null, sub: string): boolean {
  if (raw === null) return false;
  try {
    return (JSON.parse(raw) as SessionRecord).sub === sub;
  } catch {
    return false;
  }
}
