import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import type { Config } from '../config.js';

import { describeError, sessionEnded, unauthenticated, unavailable } from '../errors.js';
import { classifyGrantFailure } from './grant-refusal.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { KeyValueStore } from '../session/kv.js';
import { keys, type SessionRecord, type SessionStore, type TokenSet } from '../session/sessions.js';
import type { TokenVault } from '../session/vault.js';
import { tokenEndpointParams, type OidcClient } from './client.js';

/** How long one instance may hold a session's refresh lock; a crashed holder blocks no longer. */
export const REFRESH_LOCK_MS = 10_000;
const POLL_MS = 40;
const OPENED_CACHE_SIZE = 5000;
/** Base64url characters of a sealed token set's end: its 128-bit authentication tag. */
const CACHE_KEY_CHARS = 22;

/**
 * Refresh is due when less than min(30 s, half the token's lifetime) remains.
 * A token that is already expired is always due.
 */
export function refreshDue(record: Pick<SessionRecord, 'accessExpiresAt' | 'accessLifetime'>, nowSeconds = Date.now() / 1000): boolean {
  return record.accessExpiresAt - nowSeconds < Math.min(30, record.accessLifetime / 2);
}

/** Access token lifetime from a token response; a missing `expires_in` counts as one hour. */
export function accessTiming(expiresIn: number | undefined, nowSeconds = Math.floor(Date.now() / 1000)) {
  const lifetime = expiresIn && expiresIn > 0 ? expiresIn : 3600;
  return { accessExpiresAt: nowSeconds + lifetime, accessLifetime: lifetime };
}

/**
 * Keeps access tokens fresh. Exactly one refresh per session at a time: in-process callers share
 * one promise, and instances share a Redis lock (SET NX PX). Waiters poll the session record and
 * reuse the tokens the winner stored; they never refresh again themselves.
 */
export class SessionTokens {
  readonly #inflight = new Map<string, Promise<SessionRecord>>();

  constructor(
    private readonly deps: {
      config: Config;
      kv: KeyValueStore;
      sessions: SessionStore;
      vault: TokenVault;
      oidc: OidcClient;
      log: Logger;
      metrics: Metrics;
      /** The refresh lock's lifetime (tests shorten it); extended while a refresh runs. */
      refreshLockMs?: number;
    },
  ) {}

  /**
   * Decrypts a record's tokens. The last few thousand results are kept in memory by ciphertext
   * (which changes whenever the tokens do), so a busy session costs one decryption, not one per
   * call. The cache is keyed by the ciphertext's tail (its GCM tag, unique per seal) because
   * hashing the whole 2 KB string showed in the profile; a hit is still checked in full.
   */
  open(record: SessionRecord): TokenSet {
    const key = record.sealedTokens.slice(-CACHE_KEY_CHARS);
    const cached = this.#opened.get(key);
    if (cached?.sealed === record.sealedTokens) return cached.tokens;
    const tokens = JSON.parse(this.deps.vault.open(record.sealedTokens)) as TokenSet;
    if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(key, { sealed: record.sealedTokens, tokens });
    return tokens;
  }
  readonly #opened = new Map<string, { sealed: string; tokens: TokenSet }>();

  seal(tokens: TokenSet): string {
    return this.deps.vault.seal(JSON.stringify(tokens));
  }

  /**
   * Returns a record whose access token is fresh, refreshing when due (or when `force`d after
   * the upstream rejected the token). Throws 401 when the session ended, 503 when the provider
   * is unreachable (the session is kept).
   */
  async fresh(id: string, record: SessionRecord, force = false): Promise<SessionRecord> {
    if (!force && !refreshDue(record)) return record;
    let pending = this.#inflight.get(id);
    if (!pending) {
      pending = this.#refreshOnce(id, record.sealedTokens).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, pending);
    }
    return pending;
  }

  async #refreshOnce(id: string, seenTokens: string): Promise<SessionRecord> {
    const { kv, sessions, config } = this.deps;
    const lockKey = keys.lock(sessions.handleOf(id));
    const owner = randomBytes(16).toString('base64url');
    // A holder may legitimately run as long as the provider call may take (OIDC_TIMEOUT_MS).
    const deadline = Date.now() + Math.max(this.#lockMs, config.oidcTimeoutMs) + 2_000;
    while (Date.now() < deadline) {
      if (await kv.set(lockKey, owner, this.#lockMs, 'ifAbsent')) {
        const keepAlive = this.#holdLock(lockKey, owner);
        try {
          const raw = await this.#currentRaw(id);
          const current = JSON.parse(raw) as SessionRecord;
          // Another instance refreshed while we waited for the lock: use its tokens.
          if (current.sealedTokens !== seenTokens) return current;
          return await this.#refresh(id, current, raw);
        } finally {
          clearInterval(keepAlive);
          await kv.delIfEquals(lockKey, owner).catch(() => undefined);
        }
      }
      await sleep(POLL_MS);
      const current = await this.#current(id);
      if (current.sealedTokens !== seenTokens) return current;
    }
    throw unavailable('Token refresh is taking too long. Please try again.');
  }

  /**
   * Extends the lock while the refresh runs, so a token endpoint slower than the lock's lifetime
   * never lets another instance in to spend the same (rotating) refresh token a second time.
   * A crashed holder stops extending, and its lock expires after one lifetime.
   */
  #holdLock(lockKey: string, owner: string): NodeJS.Timeout {
    return setInterval(() => {
      this.deps.kv.extendIfEquals(lockKey, owner, this.#lockMs).catch(() => undefined);
    }, this.#lockMs / 3).unref();
  }

  get #lockMs(): number {
    return this.deps.refreshLockMs ?? REFRESH_LOCK_MS;
  }

  async #current(id: string): Promise<SessionRecord> {
    return JSON.parse(await this.#currentRaw(id)) as SessionRecord;
  }

  async #currentRaw(id: string): Promise<string> {
    const raw = await this.deps.kv.get(keys.session(this.deps.sessions.handleOf(id)));
    if (raw === null) throw sessionEnded();
    return raw;
  }

  /** `raw` is the stored record the refresh starts from: the result is written only over exactly that. */
  async #refresh(id: string, record: SessionRecord, raw: string): Promise<SessionRecord> {
    const { oidc, sessions, config, log, metrics } = this.deps;
    const tokens = this.open(record);
    if (!tokens.refreshToken) {
      await sessions.destroy(id, record);
      throw unauthenticated('Your session has expired. Please sign in again.');
    }
    let response: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      response = await client.refreshTokenGrant(oidc.configuration, tokens.refreshToken, tokenEndpointParams(config));
    } catch (error) {
      const refusal = classifyGrantFailure(error);
      metrics.refreshes.inc({ result: refusal === 'grant' ? 'rejected' : 'failed' });
      if (refusal === 'grant') {
        log.info({ event: 'refresh_rejected' }, 'refresh token rejected by the provider; session ended');
        await sessions.destroy(id, record);
        throw sessionEnded();
      }
      if (refusal === 'client') {
        log.error({ event: 'refresh_client_refused', err: describeError(error) }, 'the provider refused the BFF\'s client registration at refresh; check OIDC_CLIENT_ID, the secret and OIDC_CLIENT_AUTH');
      } else {
        log.warn({ event: 'refresh_failed', err: describeError(error) }, 'token refresh failed; session kept');
      }
      throw unavailable('The sign-in service is not reachable. Please try again shortly.', error);
    }
    metrics.refreshes.inc({ result: 'ok' });
    const updated: SessionRecord = {
      ...record,
      sealedTokens: this.seal({
        accessToken: response.access_token,
        // RFC 6749 §6: no new refresh token means the old one stays valid.
        refreshToken: response.refresh_token ?? tokens.refreshToken,
        idToken: response.id_token ?? tokens.idToken,
      }),
      ...accessTiming(response.expires_in),
    };
    // Compare-and-set: should the lock ever have been lost (a Redis outage longer than its
    // lifetime), a slower refresh never overwrites a newer token set.
    if (!(await sessions.update(id, updated, raw))) return this.#current(id);
    return updated;
  }
}
