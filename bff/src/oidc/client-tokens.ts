import * as client from 'openid-client';
import { ERROR_CODES } from '../../../shared/src/index.js';
import type { TokenTarget } from '../api-routes.js';
import { describeError, forbidden, HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { OidcClient } from './client.js';
import { classifyGrantFailure, retryAfterMs } from './grant-refusal.js';
import { accessTiming, refreshDue, targetParams } from './token-timing.js';
import { traced, type Tracing } from '../tracing/tracing.js';
import { type TimedAccessToken, tokenTypeOf } from '../tokens.js';

/**
 * After a refused or failed grant, no new grant for this identity for this long (longer when the
 * provider's 429 says `Retry-After`): without it, every anonymous call on a `token=client` route
 * would be a grant at a provider that just said no (docs/budgets.md, grants).
 */
const GRANT_RETRY_MS = 10_000;

/** A refused grant, remembered: until when no new one is tried, and how callers are answered meanwhile. */
interface Refused {
  until: number;
  forbidden: boolean;
}

/**
 * The BFF's own access tokens (client_credentials grant) for `token=client` and `user-or-client`
 * routes. One token per identity (the route's resource and scope), kept in process memory only
 * (it speaks for no user, so it never goes to Redis) until the usual refresh rule says it is due,
 * and one grant in flight per identity. A route only ever gets the token of its own identity.
 */
export class ClientTokens {
  readonly #cache = new Map<string, TimedAccessToken>();
  readonly #inflight = new Map<string, Promise<TimedAccessToken>>();
  readonly #refused = new Map<string, Refused>();

  constructor(private readonly deps: { oidc: OidcClient; log: Logger; metrics: Metrics; tracing?: Tracing }) {}

  /**
   * A usable token for `target` (undefined: no resource or scope), fetched when missing, due, or
   * equal to `rejected` (an upstream refused it; the caller has checked the refusal cool-down,
   * see refusal-cooldown.ts). Within {@link GRANT_RETRY_MS} of a refused grant: 503 (403 when the
   * provider refused the resource or scope) without asking the provider again.
   */
  token(target: TokenTarget | undefined, rejected?: string): TimedAccessToken | Promise<TimedAccessToken> {
    const key = target?.id ?? '';
    const cached = this.#cache.get(key);
    if (cached && !refreshDue(cached) && cached.accessToken !== rejected) return cached;
    let pending = this.#inflight.get(key);
    if (!pending) {
      const refused = this.#refused.get(key);
      if (refused && Date.now() < refused.until) return Promise.reject(answerFor(refused));
      pending = this.#grant(key, target).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #grant(key: string, target: TokenTarget | undefined): Promise<TimedAccessToken> {
    const { oidc, log, metrics, tracing } = this.deps;
    try {
      // With DPoP the client token is sender-constrained too (a proof per grant).
      const response = await traced(tracing, 'oidc client_credentials', () =>
        client.clientCredentialsGrant(oidc.configuration, target ? targetParams(target) : {}, oidc.dpop),
      );
      const token: TimedAccessToken = {
        accessToken: response.access_token,
        ...tokenTypeOf(response.token_type),
        ...accessTiming(response.expires_in),
      };
      this.#cache.set(key, token);
      this.#refused.delete(key);
      metrics.clientTokens.inc({ result: 'ok' });
      return token;
    } catch (error) {
      metrics.clientTokens.inc({ result: 'failed' });
      const refusal = classifyGrantFailure(error);
      const wait = Math.max(GRANT_RETRY_MS, retryAfterMs(error) ?? 0);
      const refused: Refused = { until: Date.now() + wait, forbidden: refusal === 'target' };
      this.#refused.set(key, refused);
      if (refusal === 'target') {
        log.warn(
          { event: 'client_token_target_refused', resource: target?.resource, scope: target?.scope, err: describeError(error) },
          'the provider will not issue a client token for this resource or scope',
        );
      } else if (refusal !== 'unavailable') {
        log.error(
          { event: 'client_token_refused', err: describeError(error) },
          'the provider refused the client credentials grant; is it enabled for OIDC_CLIENT_ID?',
        );
      } else {
        log.warn({ event: 'client_token_failed', err: describeError(error), retryInMs: wait }, 'client credentials grant failed');
      }
      throw answerFor(refused, error);
    }
  }
}

/**
 * The answer to callers of a refused grant, and to everyone until it is tried again: 403 when the
 * provider refused the resource or scope, otherwise 503 saying when to try again.
 */
function answerFor(refused: Refused, cause?: unknown): HttpError {
  if (refused.forbidden) return forbidden('This API is not available to this application.', cause);
  const seconds = Math.max(1, Math.ceil((refused.until - Date.now()) / 1000));
  return new HttpError(503, ERROR_CODES.unavailable, 'The sign-in service is not available. Please try again shortly.', {
    cause,
    headers: { 'retry-after': String(seconds) },
  });
}
