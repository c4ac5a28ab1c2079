import * as client from 'openid-client';

/**
 * Why the provider refused a grant, as the kit must react to it (README "Providers" and
 * docs/token-lifecycle.md): real, certified providers answer the same fault in different ways.
 * - `grant`: the grant itself is dead (`invalid_grant`): the session ends.
 * - `request`: `invalid_request`, or a 400 with no error code at all (as Glewlwyd answers). For
 *   the sign-in token's refresh, the same as `grant` (LemonLDAP::NG says so of an unknown refresh
 *   token); for a route's own grant (`resource`/`scope`), a refusal of that request: forbidden,
 *   session kept.
 * - `target`: the provider will not issue a token for that resource or scope (`invalid_target`,
 *   `invalid_scope`): forbidden, session kept.
 * - `client`: the BFF's own registration is refused (`invalid_client`, `unauthorized_client`,
 *   other client-side codes, a 401): a configuration problem, session kept.
 * - `unavailable`: unreachable, timed out, rate limited (429) or a 5xx: try again later, session kept.
 */
export type GrantRefusal = 'grant' | 'request' | 'target' | 'client' | 'unavailable';

const TARGET_CODES = new Set(['invalid_target', 'invalid_scope']);
const TOO_MANY_REQUESTS = 429;

export function classifyGrantFailure(error: unknown): GrantRefusal {
  if (error instanceof client.ResponseBodyError) {
    if (error.status >= 500 || error.status === TOO_MANY_REQUESTS) return 'unavailable';
    if (error.error === 'invalid_grant') return 'grant';
    if (error.error === 'invalid_request') return 'request';
    if (TARGET_CODES.has(error.error)) return 'target';
    return 'client';
  }
  if (error instanceof client.WWWAuthenticateChallengeError)
    return error.status >= 500 || error.status === TOO_MANY_REQUESTS ? 'unavailable' : 'client';
  // An error status without an OAuth error body: openid-client keeps the Response as the cause.
  // Anything else (including a rejection with no object at all) is an outage, never a crash here.
  const status = responseOf(error)?.status;
  if (status === undefined || status >= 500 || status === TOO_MANY_REQUESTS) return 'unavailable';
  return status === 400 ? 'request' : 'client';
}

/** Longest wait a provider's `Retry-After` can impose: a broken header must not switch grants off for days. */
export const MAX_RETRY_AFTER_MS = 600_000;

/**
 * The wait a provider asked for with `Retry-After` on a 429 (RFC 9110 section 10.2.3: seconds or an
 * HTTP date), in milliseconds, at most {@link MAX_RETRY_AFTER_MS}; undefined without one.
 */
export function retryAfterMs(error: unknown, nowMs = Date.now()): number | undefined {
  const response = responseOf(error);
  if (response?.status !== TOO_MANY_REQUESTS) return undefined;
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** The provider's HTTP response behind an openid-client error, when there was one. */
function responseOf(error: unknown): Response | undefined {
  if (error instanceof client.ResponseBodyError || error instanceof client.WWWAuthenticateChallengeError) return error.response;
  const cause = (error as { cause?: unknown } | null | undefined)?.cause;
  return cause instanceof Response ? cause : undefined;
}
