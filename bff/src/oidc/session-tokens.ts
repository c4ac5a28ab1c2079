import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { SESSION_END_REASONS } from '../../../shared/src/index.js';
import type { Config } from '../config.js';
import type { TokenTarget } from '../api-routes.js';
import { describeError, forbidden, unauthenticated, unavailable } from '../errors.js';
import { classifyGrantFailure } from './grant-refusal.js';
import { revokeRefreshToken } from './revocation.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { HotSession } from '../session/session-cache.js';
import type { RecordVersion, SessionRecord } from '../session/records.js';
import type { SessionStore } from '../session/sessions.js';
import type { TokenVault } from '../session/vault.js';
import { tokenEndpointParams, type OidcClient } from './client.js';
import { TokenExchange } from './token-exchange.js';
import { traced, type Tracing } from '../tracing/tracing.js';
import { type SealedToken, type TimedAccessToken, type TokenSet, tokenTypeOf, refreshTokenCap } from '../tokens.js';
import { accessTiming, refreshDue, targetParams } from './token-timing.js';

const POLL_MS = 40;
/** Decrypted token sets kept: the proxy reads tokens from the session cache, so this serves reads on a miss and grants. */
const OPENED_CACHE_SIZE = 1000;
/** Base64url characters of a sealed token set's end: its 128-bit authentication tag. */
const CACHE_KEY_CHARS = 22;

/**
 * Keeps a session's access tokens fresh: the sign-in token, and the tokens of routes with their
 * own `resource` or `scope`, which are obtained with the session's refresh token on first use.
 *
 * All grants of one session run one at a time, so a rotating refresh token is spent once: in
 * process, callers of one token share one promise; across tokens and instances, the session's
 * refresh lock (SessionStore.withRefreshLock) admits one grant at a time. Waiters poll the
 * session record and use what the holder stored; they grant only if their own token is still
 * missing or due.
 */
export class SessionTokens {
  readonly #inflight = new Map<string, Promise<TimedAccessToken>>();
  /** `token=exchange` routes' grants (RFC 8693), run under the same lock as every other grant. */
  readonly #exchange: TokenExchange;
  /** Claims that some route's `require` rules look at: the only ones the session cache keeps. */
  readonly #ruleClaims: readonly string[];

  constructor(
    private readonly deps: {
      config: Config;
      sessions: SessionStore;
      vault: TokenVault;
      oidc: OidcClient;
      log: Logger;
      metrics: Metrics;
      tracing?: Tracing;
    },
  ) {
    this.#exchange = new TokenExchange(deps);
    const names = deps.config.apiRoutes.flatMap((route) => route.access?.require.map((rule) => rule.path[0]!) ?? []);
    this.#ruleClaims = [...new Set(names)];
  }

  /** Decrypts a record's sign-in tokens. */
  open(record: SessionRecord): TokenSet {
    return this.#openSealed(record.sealedTokens);
  }

  /**
   * Decrypts a sealed token set. The last few thousand results are kept in memory by ciphertext
   * (which changes whenever the tokens do), so a busy session costs one decryption, not one per
   * call. The cache is keyed by the ciphertext's tail (its GCM tag, unique per seal) because
   * hashing the whole 2 KB string showed in the profile; a hit is still checked in full.
   * `keep: false` looks the set up but does not keep it (see {@link hotOf}).
   */
  #openSealed(sealed: string, keep = true): TokenSet {
    const key = sealed.slice(-CACHE_KEY_CHARS);
    const cached = this.#opened.get(key);
    if (cached?.sealed === sealed) return cached.tokens;
    const tokens = JSON.parse(this.deps.vault.open(sealed)) as TokenSet;
    if (!keep) return tokens;
    if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(key, { sealed, tokens });
    return tokens;
  }
  readonly #opened = new Map<string, { sealed: string; tokens: TokenSet }>();

  /**
   * What the session cache keeps of a record: its access tokens in clear, with their timing.
   * `keepOpened`: also keep the opened sets here. Only worth it with the session cache off (every
   * call then reads the record): with it on, the session cache is what keeps them, and keeping
   * them here too made every cache miss leave a whole token set and its ciphertext (~4 KB) to be
   * promoted to the old generation and collected there (at 100,000 sessions round robin, more
   * old-generation garbage than the cache's own entries).
   */
  hotOf(record: SessionRecord, keepOpened: boolean): HotSession {
    const open = (held: SealedToken): TimedAccessToken => {
      const { accessToken, tokenType } = this.#openSealed(held.sealedTokens, keepOpened);
      return {
        accessToken,
        ...(tokenType ? { tokenType } : {}),
        accessExpiresAt: held.accessExpiresAt,
        accessLifetime: held.accessLifetime,
      };
    };
    const tokens: Record<string, TimedAccessToken> = { '': open(record) };
    for (const id in record.routeTokens) tokens[id] = open(record.routeTokens[id]!);
    const hot: HotSession = { expiresAt: record.expiresAt, tokens, acr: record.acr, authTime: record.authTime };
    if (this.#ruleClaims.length > 0) {
      hot.claims = {};
      for (const name of this.#ruleClaims) if (name in record.claims) hot.claims[name] = record.claims[name];
    }
    return hot;
  }

  seal(tokens: TokenSet): string {
    return this.deps.vault.seal(JSON.stringify(tokens));
  }

  /**
   * The access token for `target` (undefined: the sign-in token), with its timing, when the
   * record holds one that is not due and is not `rejected`; undefined when a grant is needed
   * first. No I/O (the opened set is the cached one). The proxy's hot path does not come here:
   * it reads tokens from the session cache; this serves grants and their waiters.
   */
  ready(record: SessionRecord, target: TokenTarget | undefined, rejected?: string): TimedAccessToken | undefined {
    const held = target ? record.routeTokens?.[target.id] : record;
    if (!held || refreshDue(held)) return undefined;
    const { accessToken, tokenType } = this.#openSealed(held.sealedTokens);
    if (accessToken === rejected) return undefined;
    return { accessToken, ...(tokenType ? { tokenType } : {}), accessExpiresAt: held.accessExpiresAt, accessLifetime: held.accessLifetime };
  }

  /**
   * Obtains a fresh access token for `target` (undefined: the sign-in token) with the session's
   * refresh token: when it is missing, due, or equal to `rejected` (an upstream refused it; the
   * caller has checked the refusal cool-down, see refusal-cooldown.ts). Resolves with the token
   * and its timing. Throws 401 when the session ended, 403 when the provider will not issue that
   * resource or scope, 503 when the provider is unreachable (the session is kept in both).
   */
  obtain(id: string, target: TokenTarget | undefined, rejected?: string): Promise<TimedAccessToken> {
    const key = target ? `${id} ${target.id}` : id;
    let pending = this.#inflight.get(key);
    if (!pending) {
      // A refused exchange is not asked again for a while (token-exchange.ts): no lock, no grant.
      const refused = target?.exchange ? this.#exchange.refusal(key) : undefined;
      if (refused) return Promise.reject(refused);
      pending = this.#grantOnce(id, target, rejected).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #grantOnce(id: string, target: TokenTarget | undefined, rejected: string | undefined): Promise<TimedAccessToken> {
    const { sessions, config } = this.deps;
    // A holder may legitimately run as long as the provider call may take (OIDC_TIMEOUT_MS).
    const deadline = Date.now() + Math.max(sessions.refreshLockMs, config.oidcTimeoutMs) + 2_000;
    while (Date.now() < deadline) {
      const granted = await sessions.withRefreshLock(id, async () => {
        const { record, version } = await this.#current(id);
        // Another caller granted while we waited for the lock: use its token.
        return this.ready(record, target, rejected) ?? (await this.#grant(id, record, version, target));
      });
      if (granted !== undefined) return granted;
      await sleep(POLL_MS);
      const usable = this.ready((await this.#current(id)).record, target, rejected);
      if (usable !== undefined) return usable;
    }
    throw unavailable('Token refresh is taking too long. Please try again.');
  }

  async #current(id: string): Promise<{ record: SessionRecord; version: RecordVersion }> {
    const current = await this.deps.sessions.readForUpdate(id);
    if (current === null) throw unauthenticated(await this.deps.sessions.whyEnded(id));
    return current;
  }

  /**
   * One refresh_token grant, under the lock. `version` is the stored record it starts from: the
   * result is written only over exactly that. A route token's grant carries the route's
   * `resource`/`scope` and leaves the sign-in access and ID tokens as they are; either kind
   * stores the rotated refresh token, which every later grant of the session then uses.
   */
  async #grant(id: string, record: SessionRecord, version: RecordVersion, target: TokenTarget | undefined): Promise<TimedAccessToken> {
    if (target?.exchange) return this.#exchangeFor(id, record, version, target);
    const { oidc, sessions, config, log, metrics, tracing } = this.deps;
    const tokens = this.open(record);
    if (!tokens.refreshToken) {
      await sessions.destroy(id, record, SESSION_END_REASONS.refreshRefused);
      throw unauthenticated(SESSION_END_REASONS.refreshRefused);
    }
    let response: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      const { refreshToken } = tokens;
      // With DPoP the new access token is bound to the BFF's key (a proof per grant).
      response = await traced(tracing, 'oidc refresh', () =>
        client.refreshTokenGrant(oidc.configuration, refreshToken, target ? targetParams(target) : tokenEndpointParams(config), oidc.dpop),
      );
    } catch (error) {
      const refusal = classifyGrantFailure(error);
      // invalid_request or a bare 400 ends the session only for the sign-in token's own refresh
      // (LemonLDAP::NG answers so for an unknown refresh token). A route's grant carries its
      // resource/scope too, which a provider may refuse the same way: that route is forbidden,
      // and only invalid_grant says the refresh token itself is dead.
      const dead = refusal === 'grant' || (refusal === 'request' && !target);
      metrics.refreshes.inc({ result: dead ? 'rejected' : 'failed' });
      if (dead) {
        log.info({ event: 'refresh_rejected' }, 'refresh token rejected by the provider; session ended');
        await sessions.destroy(id, record, SESSION_END_REASONS.refreshRefused);
        throw unauthenticated(SESSION_END_REASONS.refreshRefused);
      }
      if (refusal === 'target' || refusal === 'request') {
        log.warn(
          { event: 'refresh_target_refused', resource: target?.resource, scope: target?.scope, err: describeError(error) },
          'the provider will not issue a token for this resource or scope; session kept',
        );
        throw forbidden('This API is not available to your account.', error);
      }
      if (refusal === 'client') {
        log.error(
          { event: 'refresh_client_refused', err: describeError(error) },
          "the provider refused the BFF's client registration at refresh; check OIDC_CLIENT_ID, the secret and OIDC_CLIENT_AUTH",
        );
      } else {
        log.warn({ event: 'refresh_failed', err: describeError(error) }, 'token refresh failed; session kept');
      }
      throw unavailable('The sign-in service is not reachable. Please try again shortly.', error);
    }
    metrics.refreshes.inc({ result: 'ok' });
    const timing = accessTiming(response.expires_in);
    const issued = { sealedTokens: '', ...timing };
    // RFC 6749 §6: no new refresh token means the old one stays valid.
    const refreshToken = response.refresh_token ?? tokens.refreshToken;
    const end = refreshTokenCap(response, record.createdAt + config.absoluteTimeout, Math.floor(Date.now() / 1000));
    let updated: SessionRecord;
    const access: TokenSet = { accessToken: response.access_token, ...tokenTypeOf(response.token_type) };
    if (target) {
      issued.sealedTokens = this.seal(access);
      updated = {
        ...record,
        ...(end === undefined ? {} : { expiresAt: end }),
        ...(refreshToken === tokens.refreshToken ? {} : { sealedTokens: this.seal({ ...tokens, refreshToken }) }),
        routeTokens: { ...record.routeTokens, [target.id]: issued },
      };
    } else {
      issued.sealedTokens = this.seal({ ...access, refreshToken, idToken: response.id_token ?? tokens.idToken });
      updated = { ...record, ...issued, ...(end === undefined ? {} : { expiresAt: end }) };
    }
    // Compare-and-set: should the lock ever have been lost (a Redis outage longer than its
    // lifetime), a slower refresh never overwrites a newer token set.
    if (!(await sessions.update(id, updated, version))) return this.#afterLostWrite(id, target, refreshToken);
    return { ...access, ...timing };
  }

  /**
   * One token exchange (RFC 8693) for an exchange route, under the lock: the sign-in access
   * token is the subject, refreshed first in the same hold of the lock when it is due. The
   * result is sealed in the session beside the per-resource tokens, under the route's identity.
   */
  async #exchangeFor(id: string, record: SessionRecord, version: RecordVersion, target: TokenTarget): Promise<TimedAccessToken> {
    let subject = this.ready(record, undefined);
    if (subject === undefined) {
      await this.#grant(id, record, version, undefined);
      ({ record, version } = await this.#current(id));
      subject = this.ready(record, undefined);
      if (subject === undefined) throw unavailable('Token refresh is taking too long. Please try again.');
    }
    const issued = await this.#exchange.exchange(`${id} ${target.id}`, subject, target);
    const { accessToken, tokenType, accessExpiresAt, accessLifetime } = issued;
    const sealed: SealedToken = {
      sealedTokens: this.seal({ accessToken, ...(tokenType ? { tokenType } : {}) }),
      accessExpiresAt,
      accessLifetime,
    };
    const updated = { ...record, routeTokens: { ...record.routeTokens, [target.id]: sealed } };
    if (!(await this.deps.sessions.update(id, updated, version))) return this.#afterLostWrite(id, target);
    return issued;
  }

  /**
   * A grant's result could not be written over the record it started from. Should the session
   * have ended while the grant ran (sign-out, logout, idle end), nobody will ever use or revoke
   * the refresh token we hold now (`refreshToken`), so it is revoked here. Otherwise another
   * writer got there first: its token is used.
   */
  async #afterLostWrite(id: string, target: TokenTarget | undefined, refreshToken?: string): Promise<TimedAccessToken> {
    const now = await this.deps.sessions.readForUpdate(id);
    if (now === null) {
      if (refreshToken !== undefined) await revokeRefreshToken(this.deps, refreshToken);
      throw unauthenticated(await this.deps.sessions.whyEnded(id));
    }
    const usable = this.ready(now.record, target);
    if (usable === undefined) throw unavailable('Token refresh is taking too long. Please try again.');
    return usable;
  }
}
