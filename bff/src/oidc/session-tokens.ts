import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import type { Config } from '../config.js';

import { unauthenticated, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { KeyValueStore } from '../session/kv.js';
import { keys, type SessionRecord, type SessionStore, type TokenSet } from '../session/sessions.js';
import type { TokenVault } from '../session/vault.js';
import { describe, tokenEndpointParams, type OidcClient } from './client.js';

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
    const { kv } = this.deps;
    const owner = randomBytes(16).toString('base64url');
    const deadline = Date.now() + REFRESH_LOCK_MS + 2_000;
    while (Date.now() < deadline) {
      if (await kv.set(keys.lock(id), owner, REFRESH_LOCK_MS, 'ifAbsent')) {
        try {
          const current = await this.#current(id);
          // Another instance refreshed while we waited for the lock: use its tokens.
          if (current.sealedTokens !== seenTokens) return current;
          return await this.#refresh(id, current);
        } finally {
          await kv.delIfEquals(keys.lock(id), owner).catch(() => undefined);
        }
      }
      await sleep(POLL_MS);
      const current = await this.#current(id);
      if (current.sealedTokens !== seenTokens) return current;
    }
    throw unavailable('Token refresh is taking too long. Please try again.');
  }

  async #current(id: string): Promise<SessionRecord> {
    const raw = await this.deps.kv.get(keys.session(id));
    if (raw === null) throw unauthenticated('Your session has ended. Please sign in again.');
    return JSON.parse(raw) as SessionRecord;
  }

  async #refresh(id: string, record: SessionRecord): Promise<SessionRecord> {
    const { oidc, sessions, config, log, metrics } = this.deps;
    const tokens = this.open(record);
    if (!tokens.refreshToken) {
      await sessions.destroy(id);
      throw unauthenticated('Your session has expired. Please sign in again.');
    }
    let response: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      response = await client.refreshTokenGrant(oidc.configuration, tokens.refreshToken, tokenEndpointParams(config));
    } catch (error) {
      metrics.refreshes.inc({ result: 'failed' });
      if (error instanceof client.ResponseBodyError && error.error === 'invalid_grant') {
        log.info({ event: 'refresh_rejected' }, 'refresh token rejected by the provider; session ended');
        await sessions.destroy(id);
        throw unauthenticated('Your session has ended. Please sign in again.');
      }
      log.warn({ event: 'refresh_failed', err: describe(error) }, 'token refresh failed; session kept');
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
    if (!(await sessions.update(id, updated))) throw unauthenticated('Your session has ended. Please sign in again.');
    return updated;
  }
}
