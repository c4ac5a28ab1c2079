import * as client from 'openid-client';

/**
 * Why the provider refused a grant, as the kit must react to it (DESIGN "Providers that bend
 * the rules"): real, certified providers answer the same fault in different ways.
 * - `grant`: the grant itself is dead (`invalid_grant`, `invalid_request`, or a 400 with no error
 *   code at all, as Glewlwyd answers): the session ends.
 * - `target`: the provider will not issue a token for that resource or scope (`invalid_target`,
 *   `invalid_scope`): forbidden, session kept.
 * - `client`: the BFF's own registration is refused (`invalid_client`, `unauthorized_client`,
 *   other client-side codes, a 401): a configuration problem, session kept.
 * - `unavailable`: unreachable, timed out or a 5xx: try again later, session kept.
 */
export type GrantRefusal = 'grant' | 'target' | 'client' | 'unavailable';

const GRANT_CODES = new Set(['invalid_grant', 'invalid_request']);
const TARGET_CODES = new Set(['invalid_target', 'invalid_scope']);

export function classifyGrantFailure(error: unknown): GrantRefusal {
  if (error instanceof client.ResponseBodyError) {
    if (error.status >= 500) return 'unavailable';
    if (GRANT_CODES.has(error.error)) return 'grant';
    if (TARGET_CODES.has(error.error)) return 'target';
    return 'client';
  }
  if (error instanceof client.WWWAuthenticateChallengeError) return error.status >= 500 ? 'unavailable' : 'client';
  // An error status without an OAuth error body: openid-client keeps the Response as the cause.
  // Anything else (including a rejection with no object at all) is an outage, never a crash here.
  const cause = (error as { cause?: unknown } | null | undefined)?.cause;
  const status = cause instanceof Response ? cause.status : undefined;
  if (status === undefined || status >= 500) return 'unavailable';
  return status === 400 ? 'grant' : 'client';
}
