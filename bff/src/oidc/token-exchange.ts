import * as client from 'openid-client';
import type { TokenTarget } from '../api-routes.js';
import { describeError, forbidden, HttpError, unavailable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { OidcClient } from './client.js';
import { classifyGrantFailure, retryAfterMs } from './grant-refusal.js';
import { accessTiming } from './token-timing.js';
import { traced, type Tracing } from '../tracing/tracing.js';
import { type AccessToken, type TimedAccessToken, tokenTypeOf } from '../tokens.js';

/** RFC 8693's grant type, and the token type the BFF sends and asks for. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * After a refused or failed exchange, no new one for that session and route for this long
 * (longer when a 429 says `Retry-After`): without it, one session calling a route the provider
 * will not serve would turn every call into a grant at the provider (docs/budgets.md, grants).
 */
const RETRY_MS = 10_000;
/** Refusals remembered per instance; the oldest is forgotten first (it costs one more grant at most). */
const MAX_REFUSALS = 10_000;

/**
 * Refusals that say "not this token for this audience", never "the session is dead": the
 * provider's policy (RFC 8693 §2.2.2: `invalid_target`, `invalid_request`; `unauthorized_client`
 * for a client that may not exchange; `invalid_scope`; `invalid_grant` for a subject token it will
 * not exchange). The session is kept and the route answers 403.
 */
const FORBIDDEN = new Set(['invalid_target', 'invalid_request', 'unauthorized_client', 'invalid_scope', 'invalid_grant']);

/**
 * Token exchange (RFC 8693) for `token=exchange` routes: the session's sign-in access token is
 * traded at the token endpoint for one of the route's audience, resource and scope, with the
 * BFF's client authentication (secret or private_key_jwt) and, with DPoP, a proof, as every grant
 * of the kit. The caller (SessionTokens) holds the session's refresh lock, keeps the result
 * sealed in the session, and asks again only when it is due: this class makes the one call and
 * remembers refusals.
 */
export class TokenExchange {
  readonly #refused = new Map<string, { until: number; answer: HttpError }>();

  constructor(private readonly deps: { oidc: OidcClient; log: Logger; metrics: Metrics; tracing?: Tracing }) {}

  /** The answer of a refusal of `key` (session and route) that is still remembered; undefined: ask the provider. */
  refusal(key: string): HttpError | undefined {
    const refused = this.#refused.get(key);
    if (refused === undefined) return undefined;
    if (Date.now() < refused.until) return refused.answer;
    this.#refused.delete(key);
    return undefined;
  }

  /**
   * Exchanges `subject` for `target`'s token. Throws 403 when the provider refuses (see
   * {@link FORBIDDEN}), 503 when it fails otherwise; either is remembered under `key` for
   * {@link RETRY_MS}.
   */
  async exchange(key: string, subject: AccessToken, target: TokenTarget): Promise<TimedAccessToken> {
    const { oidc, log, metrics, tracing } = this.deps;
    const parameters: Record<string, string> = {
      subject_token: subject.accessToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      ...(target.audience ? { audience: target.audience } : {}),
      ...(target.resource ? { resource: target.resource } : {}),
      ...(target.scope ? { scope: target.scope } : {}),
    };
    try {
      const response = await traced(tracing, 'oidc token_exchange', () =>
        client.genericGrantRequest(oidc.configuration, TOKEN_EXCHANGE_GRANT, parameters, oidc.dpop),
      );
      this.#refused.delete(key);
      metrics.tokenExchanges.inc({ result: 'ok' });
      return { accessToken: response.access_token, ...tokenTypeOf(response.token_type), ...accessTiming(response.expires_in) };
    } catch (error) {
      const code = error instanceof client.ResponseBodyError ? error.error : undefined;
      const refusal = classifyGrantFailure(error);
      const policy = (code !== undefined && FORBIDDEN.has(code)) || (code === undefined && refusal === 'request');
      const fields = { audience: target.audience, resource: target.resource, scope: target.scope, err: describeError(error) };
      let answer: HttpError;
      metrics.tokenExchanges.inc({ result: policy ? 'forbidden' : 'failed' });
      if (policy) {
        log.warn(
          { event: 'token_exchange_refused', ...fields },
          'the provider will not exchange the token for this audience; session kept',
        );
        answer = forbidden('This API is not available to your account.', error);
      } else {
        if (refusal === 'unavailable') log.warn({ event: 'token_exchange_failed', ...fields }, 'token exchange failed; session kept');
        else
          log.error(
            { event: 'token_exchange_client_refused', ...fields },
            'the provider refused the token exchange; is the grant enabled for OIDC_CLIENT_ID?',
          );
        answer = unavailable('The sign-in service is not available. Please try again shortly.', error);
      }
      this.#remember(key, Date.now() + Math.max(RETRY_MS, retryAfterMs(error) ?? 0), answer);
      throw answer;
    }
  }

  #remember(key: string, until: number, answer: HttpError): void {
    this.#refused.delete(key);
    if (this.#refused.size >= MAX_REFUSALS) this.#refused.delete(this.#refused.keys().next().value!);
    this.#refused.set(key, { until, answer });
  }
}
