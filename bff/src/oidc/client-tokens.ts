import * as client from 'openid-client';
import type { TokenTarget } from '../api-routes.js';
import { describeError, forbidden, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { OidcClient } from './client.js';
import { classifyGrantFailure } from './grant-refusal.js';
import { tokenTypeOf, type TokenSet } from '../session/sessions.js';
import { accessTiming, refreshDue, targetParams } from './session-tokens.js';
import { traced, type Tracing } from '../tracing/tracing.js';

interface CachedToken extends TokenSet {
  accessExpiresAt: number;
  accessLifetime: number;
  /** When it was issued (ms): a token refused right after its grant is not replaced at once. */
  obtainedAt: number;
}

/**
 * An upstream that refuses even a brand-new client token is misconfigured, not holding a stale
 * one: within this long after a grant, a refusal gets no new grant. Without it, anyone could turn
 * every call on a `token=client` route into a grant at the provider.
 */
const REFUSAL_COOLDOWN_MS = 10_000;

/**
 * The BFF's own access tokens (client_credentials grant) for `token=client` and `user-or-client`
 * routes. One token per identity (the route's resource and scope), kept in process memory only
 * (it speaks for no user, so it never goes to Redis) until the usual refresh rule says it is due,
 * and one grant in flight per identity. A route only ever gets the token of its own identity.
 */
export class ClientTokens {
  readonly #cache = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<CachedToken>>();

  constructor(private readonly deps: { oidc: OidcClient; log: Logger; metrics: Metrics; tracing?: Tracing }) {}

  /**
   * A usable token for `target` (undefined: no resource or scope), fetched when missing, due, or
   * equal to `rejected` (unless that one was issued less than 10 s ago).
   */
  token(target: TokenTarget | undefined, rejected?: string): TokenSet | Promise<TokenSet> {
    const key = target?.id ?? '';
    const cached = this.#cache.get(key);
    if (cached && !refreshDue(cached) && (cached.accessToken !== rejected || Date.now() - cached.obtainedAt < REFUSAL_COOLDOWN_MS)) return cached;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#grant(key, target).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #grant(key: string, target: TokenTarget | undefined): Promise<CachedToken> {
    const { oidc, log, metrics, tracing } = this.deps;
    try {
      // With DPoP the client token is sender-constrained too (a proof per grant).
      const response = await traced(tracing, 'oidc client_credentials', () => client.clientCredentialsGrant(oidc.configuration, target ? targetParams(target) : {}, oidc.dpop));
      const token: CachedToken = { accessToken: response.access_token, ...tokenTypeOf(response.token_type), ...accessTiming(response.expires_in), obtainedAt: Date.now() };
      this.#cache.set(key, token);
      metrics.clientTokens.inc({ result: 'ok' });
      return token;
    } catch (error) {
      metrics.clientTokens.inc({ result: 'failed' });
      const refusal = classifyGrantFailure(error);
      if (refusal === 'target') {
        log.warn({ event: 'client_token_target_refused', resource: target?.resource, scope: target?.scope, err: describeError(error) }, 'the provider will not issue a client token for this resource or scope');
        throw forbidden('This API is not available to this application.', error);
      }
      if (refusal !== 'unavailable') {
        log.error({ event: 'client_token_refused', err: describeError(error) }, 'the provider refused the client credentials grant; is it enabled for OIDC_CLIENT_ID?');
      } else {
        log.warn({ event: 'client_token_failed', err: describeError(error) }, 'client credentials grant failed');
      }
      throw unavailable('The sign-in service is not reachable. Please try again shortly.', error);
    }
  }
}
