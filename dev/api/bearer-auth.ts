import type { Context, Middleware, Next } from 'koa';
import { InvalidTokenError, type AccessTokenClaims, type AccessTokenVerifier } from './token-verifier.js';

/** `ctx.state` after `bearerAuth`. */
export interface AuthState {
  auth: AccessTokenClaims;
}

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
 * a BFF does not throw away a session over an outage.
 */
export function bearerAuth(verifier: AccessTokenVerifier): Middleware<AuthState> {
  return async (ctx, next: Next) => {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(ctx.get('authorization'));
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
