import type { Context, Middleware, Next } from 'koa';
import { InvalidTokenError, type AccessTokenClaims, type AccessTokenVerifier } from './token-verifier.js';

/** `ctx.state` after `bearerAuth`. */
export interface AuthState {
  auth: AccessTokenClaims;
}

/** `ctx.state` on a path where the token is optional: no `auth` when the call came without one. */
export type OptionalAuthState = Partial<AuthState>;

const REALM = 'demo-api';

function refuse(ctx: Context, challenge: string, message: string) {
  ctx.status = 401;
  ctx.set('WWW-Authenticate', challenge);
  ctx.body = { error: 'invalid_token', message };
}

/**
 * Requires `Authorization: Bearer <JWT access token>` (RFC 6750). A missing token gets a bare
 * challenge; a bad or expired one gets `error="invalid_token"`, which tells a BFF that refreshing
 * may help. If the provider cannot be reached to check a token, the answer is 503, not 401, so
 * a BFF does not throw away a session over an outage. Paths for which `tokenOptional` is true
 * also answer calls without any token.
 */
export function bearerAuth(verifier: AccessTokenVerifier, tokenOptional: (path: string) => boolean = () => false): Middleware<AuthState> {
  return async (ctx, next: Next) => {
    const authorization = ctx.get('authorization');
    // A public path answers a call without a token; a token it does get must still be valid.
    if (authorization === '' && tokenOptional(ctx.path)) return next();
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    if (!match) {
      refuse(ctx, `Bearer realm="${REALM}"`, 'an access token is required');
      return;
    }
    try {
      ctx.state.auth = await verifier.verify(match[1]!);
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        refuse(ctx, `Bearer realm="${REALM}", error="invalid_token", error_description="${error.description}"`, error.description);
        return;
      }
      ctx.status = 503;
      ctx.body = { error: 'unavailable', message: 'the access token cannot be checked right now' };
      return;
    }
    await next();
  };
}
