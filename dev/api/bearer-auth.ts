import type { Middleware, Next } from 'koa';
import type { RequestAuthenticator } from './request-auth.js';
import type { AccessTokenClaims } from './token-verifier.js';

/** `ctx.state` after `bearerAuth`. */
export interface AuthState {
  auth: AccessTokenClaims;
}

/** `ctx.state` on a path where the token is optional: no `auth` when the call came without one. */
export type OptionalAuthState = Partial<AuthState>;

/**
 * Requires an access token: `Authorization: Bearer <JWT>` (RFC 6750), or `Authorization: DPoP
 * <JWT>` with a `DPoP` proof (RFC 9449), see request-auth.ts. A missing token gets a bare
 * challenge; a bad or expired one gets `error="invalid_token"`, which tells a BFF that refreshing
 * may help; a proof without the API's current nonce gets `use_dpop_nonce` and `DPoP-Nonce`. If
 * the provider cannot be reached to check a token, the answer is 503, not 401, so a BFF does not
 * throw away a session over an outage. Paths for which `tokenOptional` is true also answer calls
 * without any token.
 */
export function bearerAuth(
  authenticate: RequestAuthenticator,
  tokenOptional: (path: string) => boolean = () => false,
): Middleware<AuthState> {
  return async (ctx, next: Next) => {
    const authorization = ctx.get('authorization');
    // A public path answers a call without a token; a token it does get must still be valid.
    if (authorization === '' && tokenOptional(ctx.path)) return next();
    const outcome = await authenticate({
      method: ctx.method,
      htu: `${ctx.protocol}://${ctx.host}${ctx.path}`,
      authorization,
      dpop: ctx.req.headers.dpop,
    });
    if (outcome.nonce) ctx.set('DPoP-Nonce', outcome.nonce);
    if (!outcome.ok) {
      ctx.status = outcome.status;
      if (outcome.challenge) ctx.set('WWW-Authenticate', outcome.challenge);
      ctx.body = { error: outcome.error, message: outcome.message };
      return;
    }
    ctx.state.auth = outcome.claims;
    await next();
  };
}
