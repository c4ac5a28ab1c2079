import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { Middleware } from 'koa';
import { userSession, type RunningTransmitter } from '../ssf/transmitter.js';
import type { MemoryAdapter } from './memory-adapter.js';

/** Where the demo's "End my other sessions at the provider" lands (the demo routes `/provider` here). */
export const END_OTHER_SESSIONS_PATH = '/demo/end-other-sessions';

/**
 * Demo only: `POST /demo/end-other-sessions` with the user's access token (the BFF's proxy adds
 * it). Ends every other provider session of the token's user, keeping the one the token came from
 * (its `sid`), and has the SSF transmitter send a CAEP `session-revoked` for each: the BFF then ends
 * the sessions made through them, as it would for a real provider's security events.
 */
export function endOtherSessions(options: {
  issuer: string;
  /** The provider's signing key (its public members verify the access tokens). */
  signingJwk: JWK;
  audience: string;
  adapter: MemoryAdapter;
  transmitter: RunningTransmitter;
}): Middleware {
  const { kty, n, e, kid, alg } = options.signingJwk;
  const keys = createLocalJWKSet({ keys: [{ kty, n, e, kid, alg }] });
  return async function endOtherSessionsRoute(ctx, next) {
    if (ctx.path !== END_OTHER_SESSIONS_PATH) return next();
    ctx.set('Cache-Control', 'no-store');
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return;
    }
    const token = /^Bearer (\S+)$/.exec(ctx.get('authorization'))?.[1];
    const verified = token
      ? await jwtVerify(token, keys, { issuer: options.issuer, audience: options.audience }).catch(() => undefined)
      : undefined;
    const sub = verified?.payload.sub;
    if (!sub) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return;
    }
    const current = verified.payload.sid;
    // Without the token's own provider session, "the others" would be all of them.
    if (typeof current !== 'string') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request' };
      return;
    }
    let ended = 0;
    for (const { id, payload } of options.adapter.sessionsOf?.(sub) ?? []) {
      const sids = Object.values((payload.authorizations ?? {}) as Record<string, { sid?: unknown }>)
        .map((authorization) => authorization.sid)
        .filter((sid): sid is string => typeof sid === 'string');
      if (sids.includes(current)) continue;
      options.adapter.destroySession?.(id);
      for (const sid of sids) await options.transmitter.sessionRevoked(userSession(options.issuer, sub, sid));
      ended++;
    }
    ctx.body = { ended };
  };
}
